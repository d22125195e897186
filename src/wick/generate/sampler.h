#pragma once
// The sampler chain of Hugging Face generate(), on one row of logits on the host:
//   repetition penalty -> presence/frequency penalties -> temperature -> top-k -> top-p -> min-p
//   -> draw (or argmax when temperature is 0).
// Each step follows the transformers LogitsProcessor of the same name; presence and frequency
// penalties follow OpenAI's definition (counts of generated tokens).
#include <cstdint>
#include <span>
#include <vector>

#include "wick/core/random.h"

namespace wick::generate {

struct SamplerOptions {
  double temperature = 1.0;         // 0: greedy (argmax)
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // 1: off
  double min_p = 0.0;               // 0: off
  double repetition_penalty = 1.0;  // 1: off; applies to prompt and generated tokens
  double presence_penalty = 0.0;    // subtracted once from tokens generated at least once
  double frequency_penalty = 0.0;   // subtracted per occurrence among generated tokens
  uint64_t seed = 0;
};

/// transformers RepetitionPenaltyLogitsProcessor: for each distinct token in `context`, a positive
/// logit is divided by `penalty`, a negative one multiplied.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context,
                              double penalty);
/// OpenAI: logit -= presence * (count > 0) + frequency * count over `generated`.
void apply_presence_frequency(std::span<float> logits, std::span<const int32_t> generated,
                              double presence, double frequency);
/// TopKLogitsWarper: logits below the k-th largest become -inf (ties with it are kept).
void apply_top_k(std::span<float> logits, int64_t k);
/// TopPLogitsWarper: with probabilities sorted ascending, tokens whose cumulative probability is
/// <= 1 - top_p become -inf (the most likely token always stays).
void apply_top_p(std::span<float> logits, double top_p);
/// MinPLogitsWarper: tokens with probability < min_p * max probability become -inf.
void apply_min_p(std::span<float> logits, double min_p);
/// Index of the first maximum.
int32_t argmax(std::span<const float> logits);

/// ValueError naming the option when one is NaN or out of range (temperature >= 0, top_k >= 0,
/// top_p in (0, 1], min_p in [0, 1], repetition_penalty > 0, all finite).
void validate_sampler_options(const SamplerOptions& o);
/// ValueError naming the first NaN or +inf logit (the model's forward pass broke).
void check_finite_logits(std::span<const float> logits);

/// The chain with its own seeded random stream; the constructor validates the options.
class Sampler {
 public:
  explicit Sampler(SamplerOptions o);
  /// Picks the next token from `logits` [V] (modified in place) given the prompt and the tokens
  /// generated so far.
  int32_t sample(std::span<float> logits, std::span<const int32_t> prompt,
                 std::span<const int32_t> generated);
  const SamplerOptions& options() const { return opt_; }

 private:
  SamplerOptions opt_;
  Generator rng_;
};

}  // namespace wick::generate
