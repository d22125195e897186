#pragma once
// Shared by the model commands (generate, chat, perplexity, info --model): loading a model folder
// with its tokenizer and generation defaults.
#include <memory>
#include <string>
#include <vector>

#include "wick/generate/sampler.h"
#include "wick/io/hf_config.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::cli {

struct LoadedModel {
  std::unique_ptr<models::CausalLM> model;
  Tokenizer tokenizer;
  io::GenerationConfig generation;
  std::vector<int64_t> eos_ids;
};

/// "f32" / "bf16" / "f16" (or "" for none) as a dtype; ValueError otherwise.
std::optional<DType> parse_compute_dtype(const std::string& s);
/// Loads model, tokenizer and generation config of `dir`; applies `adapter` when non-empty.
LoadedModel load_model_for_cli(const std::string& dir, const std::string& dtype,
                               const std::string& adapter);
/// Sampling defaults from generation_config.json (greedy unless it sets do_sample).
generate::SamplerOptions default_sampling(const io::GenerationConfig& g);
/// Ids of a one-turn user prompt rendered with the model's chat template.
std::vector<int32_t> encode_chat_prompt(const LoadedModel& m, const std::string& user_text);

}  // namespace wick::cli
