#pragma once
// The Llama family of decoders, one config-driven implementation matching transformers'
// LlamaForCausalLM (modeling_llama.py); the other architectures are options of it:
//  - MistralForCausalLM: Llama plus an optional sliding attention window (modeling_mistral.py).
//  - Qwen2ForCausalLM: bias on q/k/v projections, optional per-layer sliding window
//    (modeling_qwen2.py).
//  - Qwen3ForCausalLM: RMSNorm over head_dim on q and k (q_norm, k_norm) before rope, no q/k/v
//    bias (modeling_qwen3.py).
// Deviations from the reference: none in the maths; attention is softmax(q k^T / sqrt(Dh)) v in the
// compute dtype (transformers' eager path) and rope's cos/sin are computed in f32.
#include <memory>
#include <optional>
#include <vector>

#include "wick/models/causal_lm.h"
#include "wick/nn/module.h"

namespace wick::models {

/// Rotary inverse frequencies [Dh / 2] (f32) of a config: 1 / theta^(2i / Dh), then scaled by
/// rope_scaling (linear: divided by factor; llama3: the wavelength-banded rule of Llama 3.1).
Tensor llama_inv_freq(const io::LlamaConfig& c);

/// x * rsqrt(mean(x^2) + eps) * weight over the last axis (LlamaRMSNorm).
class RMSNorm : public nn::Module {
 public:
  RMSNorm(int64_t dim, double eps);
  /// x [..., dim] -> same shape and dtype.
  Tensor forward(const Tensor& x) const;
  Tensor weight;

 private:
  double eps_;
};

/// Token embedding table: weight [V, D].
class Embedding : public nn::Module {
 public:
  Embedding(int64_t vocab, int64_t dim);
  /// ids [...] (i32/i64) -> [..., D] in weight's dtype.
  Tensor forward(const Tensor& ids) const;
  Tensor weight;
};

/// The position tensors of one forward against a KV cache: the write offset and the filled length
/// after it (i64 scalars) and the rope positions offset..offset+T-1 ([T]). They are evaluated
/// leaves, so a decode step builds the same graph for every token.
struct CacheStep {
  Tensor offset, length, positions;
  static CacheStep make(int64_t offset, int64_t T, Device device);
};

/// Query rows up to which a forward against a KV cache attends through the fused cached_attention
/// kernel (one graph per decode step); longer prompts take the matmul composition over the filled
/// prefix. Every cache path (generation, the batch engine) follows the same rule, so their
/// results agree bit for bit.
inline constexpr int64_t kCachedAttentionRows = 8;

/// Multi-head attention with grouped kv heads and rotary positions (LlamaAttention /
/// Qwen3Attention).
class LlamaAttention : public nn::Module {
 public:
  explicit LlamaAttention(const io::LlamaConfig& c);
  /// x [B, T, D] at positions offset.. -> [B, T, D]. With cache slots k/v ([B, Hkv, max_T, Dh]),
  /// the new keys/values are written there (the slots then hold the writes' results, so later
  /// writes are ordered after them) and attention sees all offset + T positions.
  /// `window` > 0 limits each query to the last `window` keys (sliding attention).
  /// inputs.positions [B, T] replace offset + t for rope; inputs.mask (bool or additive, to
  /// [B, H, T, S]) is combined with the causal/sliding mask (see ForwardInputs).
  /// `step` (with a cache) gives offset, length and positions as tensors; built here when null.
  Tensor forward(const Tensor& x, const Tensor& inv_freq, int64_t offset, Tensor* cache_k,
                 Tensor* cache_v, int64_t window, const ForwardInputs& inputs = {},
                 const CacheStep* step = nullptr);
  nn::Linear q_proj, k_proj, v_proj, o_proj;
  std::optional<RMSNorm> q_norm, k_norm;

 private:
  int64_t heads_, kv_heads_, head_dim_;
};

/// down(silu(gate(x)) * up(x)) (LlamaMLP).
class LlamaMLP : public nn::Module {
 public:
  explicit LlamaMLP(const io::LlamaConfig& c);
  /// x [..., D] -> [..., D].
  Tensor forward(const Tensor& x);
  nn::Linear gate_proj, up_proj, down_proj;
};

/// Pre-norm residual block (LlamaDecoderLayer).
class LlamaDecoderLayer : public nn::Module {
 public:
  LlamaDecoderLayer(const io::LlamaConfig& c, int64_t window);
  /// x [B, T, D] -> [B, T, D]; `inputs` as in LlamaAttention::forward.
  Tensor forward(const Tensor& x, const Tensor& inv_freq, int64_t offset, Tensor* cache_k,
                 Tensor* cache_v, const ForwardInputs& inputs = {},
                 const CacheStep* step = nullptr);
  LlamaAttention self_attn;
  LlamaMLP mlp;
  RMSNorm input_layernorm, post_attention_layernorm;

 private:
  int64_t window_;  // 0: full attention
};

/// LlamaModel + lm_head; parameter paths equal the checkpoint keys.
class LlamaForCausalLM : public CausalLM {
 public:
  /// Builds the module tree for `config` (ValueError for unsupported settings); weights empty.
  LlamaForCausalLM(io::LlamaConfig config, DType dtype);
  const io::LlamaConfig& config() const override { return config_; }
  Tensor forward(const Tensor& ids, KVCache* cache = nullptr, LogitsFor which = LogitsFor::all,
                 ForwardTrace* trace = nullptr, const ForwardInputs& inputs = {}) override;
  KVCache make_cache(int64_t batch, int64_t max_length) const override;
  DType compute_dtype() const override { return dtype_; }
  /// Checkpoints every decoder layer of a forward without a cache (training).
  void set_grad_checkpoint(bool on) override { grad_checkpoint_ = on; }

 private:
  // The "model." subtree (LlamaModel).
  class Body : public nn::Module {
   public:
    explicit Body(const io::LlamaConfig& c);
    Embedding embed_tokens;
    std::vector<std::unique_ptr<LlamaDecoderLayer>> layers;
    RMSNorm norm;
  };
  io::LlamaConfig config_;
  DType dtype_;
  Body model_;
  std::optional<nn::Linear> lm_head_;  // absent when tied to the embeddings
  Tensor inv_freq_;
  void move_buffers(Device d) override { inv_freq_ = inv_freq_.to(d).eval(); }
  bool grad_checkpoint_ = false;
};

}  // namespace wick::models
