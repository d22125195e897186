// Sampler chain (see sampler.h). Probabilities are computed in f64 from the f32 logits.
#include "wick/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "wick/core/errors.h"

namespace wick::generate {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// softmax in f64 (-inf logits get probability 0).
std::vector<double> probabilities(std::span<const float> logits) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = logits[i] == kNegInf ? 0.0 : std::exp(double(logits[i]) - double(mx));
    sum += p[i];
  }
  for (auto& x : p) x /= sum;
  return p;
}

void check_token(int32_t t, size_t V, const char* op) {
  if (t < 0 || size_t(t) >= V)
    fail<ValueError>(op, "token id {} outside the vocabulary of {}", t, V);
}

}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context,
                              double penalty) {
  if (penalty == 1.0) return;
  if (!(penalty > 0))
    fail<ValueError>("sampler", "repetition_penalty must be > 0, got {}", penalty);
  std::unordered_set<int32_t> seen;
  for (int32_t t : context) {
    check_token(t, logits.size(), "sampler");
    if (!seen.insert(t).second) continue;
    float& l = logits[size_t(t)];
    l = l < 0 ? float(l * penalty) : float(l / penalty);
  }
}

void apply_presence_frequency(std::span<float> logits, std::span<const int32_t> generated,
                              double presence, double frequency) {
  if (presence == 0 && frequency == 0) return;
  std::unordered_map<int32_t, int64_t> counts;
  for (int32_t t : generated) {
    check_token(t, logits.size(), "sampler");
    ++counts[t];
  }
  for (auto [t, n] : counts)
    logits[size_t(t)] = float(logits[size_t(t)] - presence - frequency * double(n));
}

void apply_top_k(std::span<float> logits, int64_t k) {
  if (k <= 0 || size_t(k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[size_t(k - 1)];
  for (auto& l : logits)
    if (l < kth) l = kNegInf;
}

void apply_top_p(std::span<float> logits, double top_p) {
  if (top_p >= 1.0) return;
  if (!(top_p > 0)) fail<ValueError>("sampler", "top_p must be in (0, 1], got {}", top_p);
  auto p = probabilities(logits);
  std::vector<size_t> order(logits.size());
  std::iota(order.begin(), order.end(), size_t(0));
  // Ascending by logit; stable so that ties keep index order, as torch.sort does on CPU.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return logits[a] < logits[b]; });
  double cum = 0;
  for (size_t r = 0; r + 1 < order.size(); ++r) {  // the last (most likely) always stays
    cum += p[order[r]];
    if (cum <= 1.0 - top_p) logits[order[r]] = kNegInf;
  }
}

void apply_min_p(std::span<float> logits, double min_p) {
  if (min_p <= 0) return;
  if (min_p > 1) fail<ValueError>("sampler", "min_p must be in [0, 1], got {}", min_p);
  auto p = probabilities(logits);
  const double threshold = min_p * *std::max_element(p.begin(), p.end());
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] < threshold) logits[i] = kNegInf;
}

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) fail<ValueError>("sampler", "empty logits");
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void validate_sampler_options(const SamplerOptions& o) {
  // Written as !(in range) so that NaN fails every check.
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    fail<ValueError>("sampler", "temperature must be a finite number >= 0, got {}", o.temperature);
  if (o.top_k < 0) fail<ValueError>("sampler", "top_k must be >= 0 (0: off), got {}", o.top_k);
  if (!(o.top_p > 0 && o.top_p <= 1))
    fail<ValueError>("sampler", "top_p must be in (0, 1] (1: off), got {}", o.top_p);
  if (!(o.min_p >= 0 && o.min_p <= 1))
    fail<ValueError>("sampler", "min_p must be in [0, 1] (0: off), got {}", o.min_p);
  if (!(o.repetition_penalty > 0) || !std::isfinite(o.repetition_penalty))
    fail<ValueError>("sampler", "repetition_penalty must be a finite number > 0 (1: off), got {}",
                     o.repetition_penalty);
  if (!std::isfinite(o.presence_penalty) || !std::isfinite(o.frequency_penalty))
    fail<ValueError>("sampler", "presence and frequency penalties must be finite, got {} and {}",
                     o.presence_penalty, o.frequency_penalty);
}

void check_finite_logits(std::span<const float> logits) {
  // -inf is a legitimate "never" (masks); NaN and +inf mean the forward pass broke.
  for (size_t i = 0; i < logits.size(); ++i)
    if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
      fail<ValueError>("sampler",
                       "the model produced a non-finite logit ({}) for token {}; the weights or "
                       "the computation contain NaN/Inf",
                       logits[i], i);
  if (std::all_of(logits.begin(), logits.end(), [](float l) { return l == kNegInf; }))
    fail<ValueError>("sampler", "every logit is -inf; no token can be sampled");
}

Sampler::Sampler(SamplerOptions o) : opt_(o), rng_(o.seed) { validate_sampler_options(opt_); }

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> prompt,
                        std::span<const int32_t> generated) {
  if (logits.empty()) fail<ValueError>("sampler", "empty logits");
  check_finite_logits(logits);
  if (opt_.repetition_penalty != 1.0) {
    std::vector<int32_t> context(prompt.begin(), prompt.end());
    context.insert(context.end(), generated.begin(), generated.end());
    apply_repetition_penalty(logits, context, opt_.repetition_penalty);
  }
  apply_presence_frequency(logits, generated, opt_.presence_penalty, opt_.frequency_penalty);
  if (opt_.temperature == 0) return argmax(logits);
  if (opt_.temperature != 1.0)
    for (auto& l : logits) l = float(l / opt_.temperature);
  apply_top_k(logits, opt_.top_k);
  apply_top_p(logits, opt_.top_p);
  apply_min_p(logits, opt_.min_p);
  auto p = probabilities(logits);
  const double u = rng_.next_double();
  double cum = 0;
  int32_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    last = int32_t(i);
    cum += p[i];
    if (u < cum) return int32_t(i);
  }
  return last;  // rounding left u above the total
}

}  // namespace wick::generate
