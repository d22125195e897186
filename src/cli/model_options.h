#pragma once
// Shared by the model commands (generate, chat, perplexity, info --model): loading a model folder
// with its tokenizer and generation defaults.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "wick/generate/sampler.h"
#include "wick/io/hf_config.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::cli {

struct LoadedModel {
  std::string dir;
  std::unique_ptr<models::CausalLM> model;
  Tokenizer tokenizer;
  io::GenerationConfig generation;
  std::vector<int64_t> eos_ids;
};

/// "f32" / "bf16" / "f16" (or "" for none) as a dtype; ValueError otherwise.
std::optional<DType> parse_compute_dtype(const std::string& s);
/// Loads model, tokenizer and generation config of `dir`; applies `adapter` when non-empty; puts
/// the model on `device` (weights are read on the CPU and copied once).
LoadedModel load_model_for_cli(const std::string& dir, const std::string& dtype,
                               const std::string& adapter, Device device);
/// Sampling defaults from generation_config.json (greedy unless it sets do_sample).
generate::SamplerOptions default_sampling(const io::GenerationConfig& g);
/// Whether the model folder `dir` has a chat template (tokenizer_config.json or
/// chat_template.jinja).
bool folder_has_chat_template(const std::string& dir);
/// The number of new tokens to generate after a prompt of `prompt_tokens`: `max_tokens`, or less
/// when prompt + max_tokens would pass the model's context (`context` positions; at least 1 token
/// is still generated). Prints one warning with the counts to stderr the first time it clamps
/// (`*warned` tracks that).
int64_t fit_to_context(int64_t prompt_tokens, int64_t max_tokens, int64_t context, bool* warned);
/// Checks the sampling flags (NaN and out-of-range values are errors naming the flag).
void check_sampling_flags(const std::optional<double>& temperature,
                          const std::optional<int64_t>& top_k, const std::optional<double>& top_p,
                          const std::optional<double>& min_p,
                          const std::optional<double>& repeat_penalty);
/// Ids of `messages` ([{"role", "content"}, ...]) rendered with the model folder's chat template
/// and a generation prompt, tokenised without added special tokens (as apply_chat_template does).
std::vector<int32_t> encode_chat(const LoadedModel& m, const nlohmann::json& messages);

}  // namespace wick::cli
