// wick train's run summaries.
#include "cli/train_summary.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <cmath>

namespace wick::cli {

std::string with_commas(int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v), o;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) o += ',';
    o += d[i];
  }
  return v < 0 ? "-" + o : o;
}

int64_t peak_rss_bytes() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return int64_t(u.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string human_bytes(int64_t b) {
  const double x = double(b);
  if (x >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", x / (1024.0 * 1024 * 1024));
  if (x >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", x / (1024.0 * 1024));
  return fmt::format("{:.1f} KiB", x / 1024.0);
}

namespace {

std::string data_line(const char* name, const train::DataStats& d, size_t max_seq_len) {
  std::string s = fmt::format("{} data: {} examples, {} tokens ({} scored), longest {}", name,
                              with_commas(d.examples), with_commas(d.tokens),
                              with_commas(d.targets), with_commas(d.longest));
  if (d.truncated > 0)
    s += fmt::format("; {} truncated to --max-seq-len {}", with_commas(d.truncated), max_seq_len);
  else
    s += fmt::format("; none truncated (--max-seq-len {})", max_seq_len);
  return s + "\n";
}

}  // namespace

std::string format_run_summary(const train::RunSummary& s, bool full) {
  const double pct =
      s.total_params > 0 ? 100.0 * double(s.trainable_params) / double(s.total_params) : 0.0;
  std::string o = fmt::format("{} parameters: {} trainable of {} ({:.4f}%)\n",
                              full ? "full fine-tuning" : "LoRA", with_commas(s.trainable_params),
                              with_commas(s.total_params), pct);
  o += data_line("training", s.train, s.max_seq_len);
  if (s.valid)
    o += data_line("validation", *s.valid, s.max_seq_len);
  else
    o += "validation data: none (no valid.jsonl)\n";
  o += fmt::format("steps: {}", s.total_steps);
  if (s.start_step > 0) o += fmt::format(" (resuming after step {})", s.start_step);
  o += "\n";
  if (s.initial_eval_loss)
    o += fmt::format("initial validation loss: {:.4f} (perplexity {:.2f})\n", *s.initial_eval_loss,
                     std::exp(*s.initial_eval_loss));
  return o;
}

std::string format_run_end(const train::TrainResult& r, const train::TrainConfig& c) {
  std::string o;
  const double tps = r.elapsed_s > 0 ? double(r.run_tokens) / r.elapsed_s : 0.0;
  o += fmt::format("trained {} steps{} in {:.1f} s, {:.0f} tokens/s, peak memory {}\n", r.steps,
                   r.stopped_early ? " (stopped early)" : "", r.elapsed_s, tps,
                   human_bytes(peak_rss_bytes()));
  o += fmt::format("final train loss {:.4f}", r.final_loss);
  if (r.final_eval_loss) o += fmt::format(", validation loss {:.4f}", *r.final_eval_loss);
  if (r.best) o += fmt::format(" (best {:.4f} at step {})", r.best->loss, r.best->step);
  o += "\n";
  o += fmt::format("{}: {}\n", c.full ? "model" : "adapter", c.out.string());
  if (r.best_checkpoint) o += fmt::format("best checkpoint: {}\n", r.best_checkpoint->string());
  o += fmt::format("metrics: {}\n", c.metrics.value_or(c.out / "metrics.jsonl").string());
  o += fmt::format("loss plot: {}\n", (c.out / "loss.svg").string());
  return o;
}

}  // namespace wick::cli
