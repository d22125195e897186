#pragma once
// Decoder models (Llama, Mistral, Qwen2, Qwen3) as sentence encoders. Reads both folder layouts:
// a causal-LM checkpoint (architectures "Qwen3ForCausalLM", keys "model.*" plus an optional
// lm_head) and a bare-body checkpoint as Qwen3-Embedding ships it (architectures "Qwen3Model",
// keys without the "model." prefix, no lm_head). The language-model head is never loaded or run.
#include <filesystem>
#include <memory>
#include <string>

#include "wick/core/tensor.h"
#include "wick/models/causal_lm.h"

namespace wick::embed {

/// True when a config.json's model_type names a decoder the embedder runs (llama, mistral, qwen2,
/// qwen3).
bool is_decoder_model_type(const std::string& model_type);

/// Loads the decoder body of `dir` in f32 (IoError naming the stored tensor that does not fit,
/// ValueError for an unknown architecture).
std::unique_ptr<models::CausalLM> load_decoder_encoder(const std::filesystem::path& dir);

/// ids [B, T] (i32/i64) -> final-norm hidden states [B, T, D] (compute dtype). Causal attention:
/// position t sees positions 0..t only, so with right padding the states of a sequence's real
/// tokens equal those of the sequence alone.
Tensor decoder_hidden_states(models::CausalLM& model, const Tensor& ids);

}  // namespace wick::embed
