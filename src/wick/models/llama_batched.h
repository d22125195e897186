#pragma once
// A batched forward of the Llama family for continuous batching: rows of different lengths (each
// a prefill chunk or one decode token) are packed into one token axis [1, N, D], so every
// projection and MLP runs once over all N tokens; attention runs per row over that row's keys,
// which the caller holds as a list of key/value blocks (a paged cache: no padding, no
// pre-allocation). LoRA adapters are applied per row (low-rank paths of the row's adapter only,
// base weights shared, nothing merged). Matches LlamaForCausalLM::forward row by row.
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "wick/models/causal_lm.h"

namespace wick::models {

/// The LoRA factors of one adapter: per Linear path ("model.layers.0.self_attn.q_proj"),
/// A [R, In] and B [Out, R] (f32) and the scale alpha / R.
struct LoraFactors {
  struct Factor {
    Tensor A, B;
    double scale = 1;
  };
  std::map<std::string, Factor> layers;
};

/// Reads a PEFT adapter folder for `model` (the same checks as lora::load_adapter) without
/// attaching it to the model.
LoraFactors load_lora_factors(const CausalLM& model, const std::filesystem::path& dir);

/// One row of a batched forward.
struct BatchedRow {
  std::vector<int32_t> ids;  // new tokens, at least one
  int64_t start = 0;         // position of ids[0] (= keys already held)
  /// Keys/values already held, per layer a list of blocks [1, Hkv, n, Dh] in position order
  /// (empty lists when start == 0; their lengths sum to start).
  std::vector<std::vector<Tensor>> past_k, past_v;
  const LoraFactors* adapter = nullptr;  // null: the base model
  bool want_logits = false;              // logits of the last id of the row
};

/// Outputs of a batched forward (pending tensors; evaluate them together).
struct BatchedOutput {
  /// Per row, per layer: the row's new keys / values [1, Hkv, T, Dh] (contiguous).
  std::vector<std::vector<Tensor>> new_k, new_v;
  /// [R, V] logits of the rows with want_logits, in row order (invalid when R = 0).
  Tensor logits;
};

/// Runs `rows` through a LlamaForCausalLM (NotImplemented for other models; ValueError for an
/// empty row or ids outside the vocabulary).
BatchedOutput forward_batched(CausalLM& model, std::span<const BatchedRow> rows);

}  // namespace wick::models
