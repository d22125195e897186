// wick train: LoRA (or full) fine-tuning of a model folder on JSONL data. Settings come from
// --config (YAML/JSON) first, then the command-line flags that were given override them.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/omp_wait.h"
#include "cli/train_checks.h"
#include "cli/train_summary.h"
#include "wick/io/hf_cache.h"
#include "wick/train/config_file.h"
#include "wick/train/model_bridge.h"

namespace wick::cli {

namespace {

struct TrainArgs {
  std::string model, data, out, config, metrics, resume, resume_adapter;
  int64_t lora_rank = 0;
  double lora_alpha = 0, lora_dropout = 0;
  std::string target_modules, optimizer, lr_schedule;
  double lr = 0, weight_decay = 0, max_grad_norm = 0;
  int64_t warmup = 0, iters = 0, epochs = 0, batch_size = 0, grad_accum = 0, seed = 0;
  int64_t save_every = 0, eval_every = 0, early_stop = 0;
  size_t max_seq_len = 0;
  bool mask_prompt = false, no_shuffle = false, full = false, grad_checkpoint = false;
  bool no_eos = false, pack = false, no_mask_prompt = false, keep_best = false, overwrite = false;
  std::string text_key, prompt_key, completion_key;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

/// One progress line: a bar on a terminal (redrawn in place), plain lines otherwise.
void print_step(const train::StepInfo& s, bool tty) {
  const std::string stats = fmt::format(
      "step {}/{} | loss {:.4f} | lr {:.2e} | grad {:.3f} | {:.0f} tok/s | ETA {}", s.step,
      s.total_steps, s.loss, s.lr, s.grad_norm, s.tokens_per_s, format_duration(s.eta_s));
  if (!tty) {
    std::printf("%s\n", stats.c_str());
    std::fflush(stdout);
    return;
  }
  constexpr int kWidth = 24;
  const int filled =
      int(double(kWidth) * double(s.step) / double(std::max<int64_t>(1, s.total_steps)));
  std::string bar(size_t(filled), '#');
  bar.resize(kWidth, '.');
  std::printf("\r\033[K[%s] %s", bar.c_str(), stats.c_str());
  if (s.step == s.total_steps) std::printf("\n");
  std::fflush(stdout);
}

void run(const TrainArgs& a, CLI::App* sub) {
  ensure_passive_omp_wait();
  auto given = [&](const char* flag) { return sub->get_option(flag)->count() > 0; };
  train::TrainConfig c;
  c.mask_prompt = true;  // loss on completions only by default (TRL); --no-mask-prompt turns it off
  std::filesystem::path model_dir;
  if (!a.config.empty()) train::apply_config_file(a.config, c, &model_dir);
  if (given("--model")) model_dir = a.model;
  if (!model_dir.empty()) model_dir = io::resolve_model_path(model_dir.string());
  if (given("--data")) c.data = a.data;
  if (given("--out")) c.out = a.out;
  if (model_dir.empty())
    fail<ValueError>("train", "no model given (--model or 'model' in --config)");
  if (c.data.empty()) fail<ValueError>("train", "no data given (--data or 'data' in --config)");
  if (c.out.empty())
    fail<ValueError>("train", "no output folder given (--out or 'out' in --config)");
  if (given("--lora-rank")) c.lora.r = a.lora_rank;
  if (given("--lora-alpha")) c.lora.lora_alpha = a.lora_alpha;
  if (given("--lora-dropout")) c.lora.lora_dropout = a.lora_dropout;
  if (given("--target-modules")) c.lora.target_modules = split_list(a.target_modules);
  if (given("--optimizer")) c.optimizer = a.optimizer;
  if (given("--lr")) c.lr = a.lr;
  if (given("--weight-decay")) c.weight_decay = a.weight_decay;
  if (given("--max-grad-norm")) c.max_grad_norm = a.max_grad_norm;
  if (given("--lr-schedule")) c.lr_schedule = a.lr_schedule;
  if (given("--warmup")) c.warmup = a.warmup;
  if (given("--iters")) c.iters = a.iters;
  if (given("--epochs")) c.epochs = a.epochs;
  if (given("--batch-size")) c.batch_size = a.batch_size;
  if (given("--grad-accum")) c.grad_accum = a.grad_accum;
  if (given("--max-seq-len")) c.max_seq_len = a.max_seq_len;
  if (a.mask_prompt) c.mask_prompt = true;
  if (a.no_mask_prompt) c.mask_prompt = false;
  if (given("--text-key")) c.keys.text = a.text_key;
  if (given("--prompt-key")) c.keys.prompt = a.prompt_key;
  if (given("--completion-key")) c.keys.completion = a.completion_key;
  if (a.keep_best) c.keep_best = true;
  if (given("--early-stop")) c.early_stop = a.early_stop;
  if (a.no_shuffle) c.shuffle = false;
  if (a.no_eos) c.add_eos = false;
  if (a.pack) c.pack = true;
  if (given("--seed")) c.seed = uint64_t(a.seed);
  if (given("--save-every")) c.save_every = a.save_every;
  if (given("--eval-every")) c.eval_every = a.eval_every;
  if (given("--metrics")) c.metrics = a.metrics;
  if (given("--resume")) c.resume = a.resume;
  if (given("--resume-adapter")) c.resume_adapter = a.resume_adapter;
  if (a.full) c.full = true;
  if (a.grad_checkpoint) c.grad_checkpoint = true;
  c.lora.init_seed = c.seed;
  c.overwrite = a.overwrite;
  c.device = selected_device();
  check_train_settings(c, given);

  const bool tty = isatty(STDOUT_FILENO) != 0;
  train::TrainCallbacks cb;
  cb.on_step = [tty](const train::StepInfo& s) { print_step(s, tty); };
  cb.on_eval = [tty](const train::EvalInfo& e) {
    std::printf("%seval step %lld | loss %.4f | %lld tokens\n", tty ? "\r\033[K" : "",
                static_cast<long long>(e.step), e.loss, static_cast<long long>(e.tokens));
    std::fflush(stdout);
  };
  cb.on_start = [&c](const train::RunSummary& s) {
    std::printf("%s", format_run_summary(s, c.full).c_str());
    std::fflush(stdout);
  };
  cb.on_message = [tty](const std::string& m) {
    std::printf("%s%s\n", tty ? "\r\033[K" : "", m.c_str());
    std::fflush(stdout);
  };
  const train::TrainResult r = train::train_from_folder(model_dir, c, cb);
  std::printf("%s", format_run_end(r, c).c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Fine-tune a model (LoRA by default, or --full)");
  static TrainArgs a;
  sub->add_option("--model", a.model, "Model folder (config.json + safetensors + tokenizer)");
  sub->add_option("--data", a.data, "JSONL file, or folder with train.jsonl (+ valid.jsonl)");
  sub->add_option("--out", a.out, "Output folder (adapter or model, checkpoints, metrics)");
  sub->add_option("--lora-rank", a.lora_rank, "LoRA rank r (default 8)");
  sub->add_option("--lora-alpha", a.lora_alpha, "LoRA alpha (default 16)");
  sub->add_option("--lora-dropout", a.lora_dropout, "LoRA dropout (default 0)");
  sub->add_option("--target-modules", a.target_modules,
                  "Comma-separated layer names, or all-linear (default q_proj,v_proj)");
  sub->add_option("--optimizer", a.optimizer, "adamw (default) or sgd");
  sub->add_option("--lr", a.lr, "Peak learning rate (default 1e-4)");
  sub->add_option("--weight-decay", a.weight_decay, "Decoupled weight decay (default 0)");
  sub->add_option("--max-grad-norm", a.max_grad_norm, "Clip the gradient norm (default 1; 0: off)");
  sub->add_option("--lr-schedule", a.lr_schedule, "constant (default), linear or cosine");
  sub->add_option("--warmup", a.warmup, "Linear warmup steps (default 0)");
  auto* iters = sub->add_option("--iters", a.iters, "Optimizer steps");
  auto* epochs = sub->add_option("--epochs", a.epochs, "Epochs over the data (default 1)");
  iters->excludes(epochs);
  sub->add_option("--batch-size", a.batch_size, "Examples per micro-batch (default 1)");
  sub->add_option("--grad-accum", a.grad_accum, "Micro-batches per optimizer step (default 1)");
  sub->add_option("--max-seq-len", a.max_seq_len,
                  fmt::format("Truncate examples to this many tokens (default {})",
                              train::TrainConfig{}.max_seq_len));
  auto* mask = sub->add_flag("--mask-prompt", a.mask_prompt,
                             "Loss on the completion only (the default; kept for compatibility)");
  sub->add_flag("--no-mask-prompt", a.no_mask_prompt,
                "Train on the prompt tokens too (prompt/completion and chat data)")
      ->excludes(mask);
  sub->add_option("--text-key", a.text_key, "Field of plain-text records (default text)");
  sub->add_option("--prompt-key", a.prompt_key, "Field of the prompt (default prompt)");
  sub->add_option("--completion-key", a.completion_key,
                  "Field of the completion (default completion)");
  sub->add_flag("--no-shuffle", a.no_shuffle, "Keep the file order");
  sub->add_flag("--no-eos", a.no_eos, "Do not append the eos token to each example");
  sub->add_flag("--pack", a.pack,
                "Pack each micro-batch's examples into rows of up to --max-seq-len tokens "
                "(positions restart and attention stays inside each example)");
  sub->add_option("--seed", a.seed, "Seed for shuffling, LoRA init and dropout (default 0)");
  sub->add_option("--save-every", a.save_every, "Write a checkpoint every N steps");
  sub->add_option("--eval-every", a.eval_every,
                  "Evaluate on valid.jsonl every N steps (needs validation data)");
  sub->add_flag("--keep-best", a.keep_best,
                "Keep OUT/checkpoint-best, the checkpoint with the lowest validation loss");
  sub->add_option("--early-stop", a.early_stop,
                  "Stop after N evaluations without a lower validation loss (needs --eval-every)");
  sub->add_option("--metrics", a.metrics, "Metrics JSONL file (default OUT/metrics.jsonl)");
  sub->add_option("--resume", a.resume, "Continue exactly from a checkpoint folder");
  sub->add_option("--resume-adapter", a.resume_adapter, "Start from an existing adapter");
  sub->add_flag("--full", a.full, "Train every weight instead of a LoRA adapter");
  sub->add_flag("--grad-checkpoint", a.grad_checkpoint,
                "Recompute activations in the backward pass (saves memory)");
  sub->add_flag("--overwrite", a.overwrite,
                "Reuse a non-empty --out (an earlier run's files are replaced, its checkpoints "
                "removed)");
  sub->add_option("--config", a.config, "YAML or JSON file of settings (flag names as keys)");
  add_runner(sub, [sub] { run(a, sub); });
}

}  // namespace wick::cli
