#pragma once
// Server metrics in the Prometheus text format (version 0.0.4): request counters by endpoint and
// status, token counters, latency histograms, and gauges read from the batch engine at scrape
// time (queue length, running sequences, batch size, KV blocks).
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "wick/generate/batch_engine.h"

namespace wick::serve {

/// A cumulative histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double x);
  /// The _bucket, _sum and _count lines of metric `name`.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, then +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);
  void latency(double seconds);
  void first_token(double seconds);
  void tokens(int64_t prompt, int64_t completion);
  /// The exposition text, with the engine's gauges.
  std::string render(const generate::EngineStats& engine, int64_t in_flight) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  Histogram latency_, ttft_;
};

}  // namespace wick::serve
