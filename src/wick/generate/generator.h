#pragma once
// Text generation: prefill the prompt into a pre-allocated KV cache, then decode one token per
// step through the sampler chain until an eos id, a stop string or the token limit; text is
// streamed as it completes (whole UTF-8 characters, never past a possible stop string).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wick/generate/sampler.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::generate {

struct GenerateOptions {
  int64_t max_tokens = 256;
  SamplerOptions sampling;
  std::vector<int64_t> eos_ids;   // stop when one is generated (it is kept in `tokens`)
  std::vector<std::string> stop;  // stop when the text contains one (it is cut from the text)
};

enum class FinishReason : uint8_t { eos, stop, length };
/// "eos", "stop" or "length".
const char* finish_reason_name(FinishReason r);

struct GenerateResult {
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  // generated ids
  std::string text;             // generated text (without the eos token and a stop string)
  FinishReason finish_reason = FinishReason::length;
  double prefill_seconds = 0;  // prompt forward until its logits are on the host
  double decode_seconds = 0;   // every later forward and sampling step
  int64_t decode_steps = 0;    // forwards after the prefill
  /// Prompt tokens per second of the prefill.
  double prefill_tokens_per_second() const;
  /// Tokens per second of the decode steps.
  double decode_tokens_per_second() const;
};

/// Called with each piece of newly completed text.
using TextCallback = std::function<void(std::string_view)>;

/// eos ids of a model folder: generation_config.json's, else config.json's.
std::vector<int64_t> default_eos_ids(const std::filesystem::path& model_dir,
                                     const io::LlamaConfig& config);

/// Generates from `prompt` ids (batch 1). The cache holds prompt + max_tokens positions.
GenerateResult generate(models::CausalLM& model, const Tokenizer& tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options,
                        const TextCallback& on_text = {});

/// Greedy continuation without a cache (the whole sequence recomputed at every step): the
/// reference that generate() with temperature 0 must equal. Returns the generated ids.
std::vector<int32_t> greedy_no_cache(models::CausalLM& model, std::span<const int32_t> prompt,
                                     int64_t max_tokens);

}  // namespace wick::generate
