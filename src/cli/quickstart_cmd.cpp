// wick quickstart: the built-in demo (tokenizer + pretraining + LoRA + merge on Debian data).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/omp_wait.h"
#include "wick/quickstart/quickstart.h"

namespace wick::cli {

namespace {

struct QuickstartArgs {
  std::string out = "wick-quickstart";
  uint64_t seed = 0;
  bool tiny = false;
  int64_t pretrain_steps = 0, finetune_steps = 0;
};

// The first line of a generation, shortened for the summary.
std::string one_line(std::string s, size_t max_chars = 90) {
  for (auto& ch : s)
    if (ch == '\n') ch = ' ';
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

void run(const QuickstartArgs& a) {
  check_int_flag("--pretrain-steps", a.pretrain_steps, 0, 1 << 24);
  check_int_flag("--finetune-steps", a.finetune_steps, 0, 1 << 24);
  ensure_passive_omp_wait();
  quickstart::QuickstartOptions o;
  o.out = a.out;
  o.seed = a.seed;
  o.device = selected_device();
  o.sizes = quickstart::QuickstartSizes::defaults(a.tiny);
  if (a.pretrain_steps > 0) o.sizes.pretrain_steps = a.pretrain_steps;
  if (a.finetune_steps > 0) o.sizes.finetune_steps = a.finetune_steps;
  const bool tty = isatty(STDOUT_FILENO) != 0;
  quickstart::QuickstartCallbacks cb;
  cb.on_message = [tty](const std::string& m) {
    std::printf("%s==> %s\n", tty ? "\r\033[K" : "", m.c_str());
    std::fflush(stdout);
  };
  cb.on_step = [tty](const std::string& stage, const train::StepInfo& s) {
    // Every step on a terminal (redrawn), about 10 lines per stage otherwise.
    const int64_t every = std::max<int64_t>(1, s.total_steps / 10);
    if (!tty && s.step % every != 0 && s.step != 1 && s.step != s.total_steps) return;
    std::printf("%s  %s step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %.0fs%s",
                tty ? "\r\033[K" : "", stage.c_str(), static_cast<long long>(s.step),
                static_cast<long long>(s.total_steps), s.loss, s.lr, s.tokens_per_s, s.eta_s,
                tty && s.step != s.total_steps ? "" : "\n");
    std::fflush(stdout);
  };
  const quickstart::QuickstartResult r = quickstart::run_quickstart(o, cb);

  std::printf("\npretraining loss: %.3f -> %.3f (%lld parameters, %.0f s)\n", r.pretrain_first_loss,
              r.pretrain_last_loss, static_cast<long long>(r.parameters), r.seconds_pretrain);
  std::printf("fine-tuning loss: %.3f -> %.3f; held-out definitions %.3f -> %.3f (%.0f s)\n",
              r.finetune_first_loss, r.finetune_last_loss, r.finetune_eval_loss_base,
              r.finetune_eval_loss, r.seconds_finetune);
  std::printf(
      "held-out bits per byte: base model on %zu KJV documents (%zu bytes) %.3f; "
      "definitions, base %.3f -> adapter %.3f\n",
      r.heldout_documents, r.heldout_bytes, r.bible_bits_per_byte, r.definitions_bits_per_byte_base,
      r.definitions_bits_per_byte);
  std::printf("\nsampled with temperature %.2g, top-p %.2g, seed %llu\n", o.sizes.temperature,
              o.sizes.top_p, static_cast<unsigned long long>(o.seed));
  std::printf("base model, \"%s\" -> %s\n", r.bible_prompt.c_str(),
              one_line(r.bible_continuation, 200).c_str());
  std::printf("\ndefinitions, base model | with the adapter:\n");
  for (const auto& g : r.generations) {
    std::printf("  %s\n", one_line(g.prompt).c_str());
    std::printf("    base:    %s\n", one_line(g.base).c_str());
    std::printf("    adapted: %s\n", one_line(g.adapted).c_str());
  }
  std::printf("\nmerged model vs base + adapter: max |logit difference| %.2e\n",
              r.merged_max_abs_diff);
  std::printf("\nresults (Hugging Face folders) in %s:\n", o.out.string().c_str());
  std::printf("  tokenizer/     byte-level BPE, vocab %zu\n", r.vocab_size);
  std::printf("  base-model/    pretrained Llama (+ metrics.jsonl, loss.svg)\n");
  std::printf("  adapter/       PEFT LoRA adapter (+ metrics.jsonl, loss.svg)\n");
  std::printf("  merged-model/  base with the adapter merged in\n");
  std::printf("  data/          the training data (JSONL); summary.json\n");
  std::printf("total %.0f s\n", r.seconds_total);
}

}  // namespace

void register_quickstart(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "quickstart", "Demo: train a tokenizer and a small Llama, LoRA-fine-tune, generate, merge");
  static QuickstartArgs a;
  sub->add_option("--out", a.out, "Output folder (default wick-quickstart)");
  sub->add_option("--seed", a.seed, "Seed (default 0)");
  sub->add_flag("--tiny", a.tiny, "A scaled-down run (seconds; for tests)");
  sub->add_option("--pretrain-steps", a.pretrain_steps, "Override the pretraining steps");
  sub->add_option("--finetune-steps", a.finetune_steps, "Override the fine-tuning steps");
  add_runner(sub, [] { run(a); });
}

}  // namespace wick::cli
