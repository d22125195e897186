// Prometheus metrics (see metrics.h).
#include "wick/serve/metrics.h"

#include <fmt/format.h>

namespace wick::serve {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double x) {
  size_t i = 0;
  while (i < bounds_.size() && x > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += x;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cum);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
  return out;
}

Metrics::Metrics()
    : latency_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::latency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_.observe(seconds);
}

void Metrics::first_token(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.observe(seconds);
}

void Metrics::tokens(int64_t prompt, int64_t completion) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += prompt;
  completion_tokens_ += completion;
}

std::string Metrics::render(const generate::EngineStats& e, int64_t in_flight) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out =
      "# HELP wick_requests_total HTTP requests by endpoint and status.\n"
      "# TYPE wick_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("wick_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, n);
  auto one = [&out](const char* name, const char* type, const char* help, int64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  one("wick_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", prompt_tokens_);
  one("wick_completion_tokens_total", "counter", "Generated tokens of finished requests.",
      completion_tokens_);
  one("wick_requests_in_flight", "gauge", "Generation requests being served.", in_flight);
  one("wick_queue_length", "gauge", "Sequences waiting to join the batch.", e.waiting);
  one("wick_running_sequences", "gauge", "Sequences in the running batch.", e.running);
  one("wick_batch_size", "gauge", "Rows of the last engine step.", e.last_batch);
  one("wick_engine_steps_total", "counter", "Engine steps (one forward each).", e.steps);
  one("wick_kv_blocks_in_use", "gauge", "KV blocks referenced by sequences.", e.blocks_in_use);
  one("wick_kv_blocks_cached", "gauge", "Unreferenced KV blocks kept for prefix reuse.",
      e.blocks_cached);
  one("wick_kv_blocks_capacity", "gauge", "KV blocks in the pool.", e.blocks_capacity);
  one("wick_prefix_cache_hit_tokens_total", "counter", "Prompt tokens read from the prefix cache.",
      e.prefix_hit_tokens);
  out += latency_.render("wick_request_latency_seconds", "Time from request to last byte.");
  out += ttft_.render("wick_time_to_first_token_seconds", "Time from request to first token.");
  return out;
}

}  // namespace wick::serve
