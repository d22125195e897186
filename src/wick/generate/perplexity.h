#pragma once
// Perplexity over consecutive non-overlapping windows of a token sequence.
#include <cstdint>
#include <span>

#include "wick/models/causal_lm.h"

namespace wick::generate {

struct PerplexityResult {
  int64_t tokens = 0;  // tokens scored
  double nll = 0;      // mean negative log-likelihood (nats)
  double ppl = 0;      // exp(nll)
};

/// Cuts `ids` into windows of `context` tokens (the last may be shorter); in each window every
/// token after the first is scored given the ones before it. Log-probabilities in f32 from logits
/// upcast to f32 (as transformers' loss), summed in f64.
PerplexityResult perplexity(models::CausalLM& model, std::span<const int32_t> ids,
                            int64_t context = 512);

}  // namespace wick::generate
