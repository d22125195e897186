// Llama-family decoder (see llama.h for the transformers classes it matches).
#include "wick/models/llama.h"

#include <cmath>
#include <numbers>
#include <string>

#include "wick/ops.h"
#include "wick/ops/kv_cache.h"

namespace wick::models {

namespace {

constexpr const char* kLlamaOp = "llama";

// transformers' default: head_dim = hidden_size / num_attention_heads unless given.
int64_t head_dim_of(const io::LlamaConfig& c) {
  return c.head_dim > 0 ? c.head_dim : c.hidden_size / c.num_attention_heads;
}
int64_t kv_heads_of(const io::LlamaConfig& c) {
  return c.num_key_value_heads > 0 ? c.num_key_value_heads : c.num_attention_heads;
}

void validate(const io::LlamaConfig& c) {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) fail<ValueError>(kLlamaOp, "config '{}' must be positive, got {}", key, v);
  };
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.vocab_size, "vocab_size");
  if (c.num_attention_heads % kv_heads_of(c) != 0)
    fail<ValueError>(kLlamaOp, "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                     c.num_attention_heads, kv_heads_of(c));
  if (c.head_dim <= 0 && c.hidden_size % c.num_attention_heads != 0)
    fail<ValueError>(kLlamaOp, "hidden_size {} is not a multiple of num_attention_heads {}",
                     c.hidden_size, c.num_attention_heads);
  if (head_dim_of(c) % 2 != 0)
    fail<ValueError>(kLlamaOp, "head_dim must be even for rotary embeddings, got {}",
                     head_dim_of(c));
  if (c.hidden_act != "silu")
    fail<NotImplemented>(kLlamaOp, "hidden_act '{}' is not supported; expected silu", c.hidden_act);
}

// Build-time checks of ForwardInputs against ids [B, T] and S keys, naming the model.
void check_forward_inputs(const ForwardInputs& in, int64_t B, int64_t T, int64_t S, int64_t H) {
  if (in.positions) {
    const Tensor& p = *in.positions;
    if (!is_integral(p.dtype()))
      fail<DtypeError>(kLlamaOp, "positions must be i32 or i64, got {}", dtype_name(p.dtype()));
    if (p.shape() != Shape{B, T})
      fail<ShapeError>(kLlamaOp, "positions shape {}; expected [{}, {}] (the ids' shape)",
                       shape_str(p.shape()), B, T);
  }
  if (in.mask) {
    const Tensor& m = *in.mask;
    if (m.dtype() != DType::boolean && !is_floating(m.dtype()))
      fail<DtypeError>(kLlamaOp, "mask must be bool or an additive float mask, got {}",
                       dtype_name(m.dtype()));
    const Shape full = {B, H, T, S};
    bool ok = m.ndim() <= 4;
    for (int64_t i = 0; ok && i < m.ndim(); ++i) {
      const int64_t d = m.shape(m.ndim() - 1 - i), f = full[size_t(3 - i)];
      ok = d == f || d == 1;
    }
    if (!ok)
      fail<ShapeError>(kLlamaOp, "mask shape {} does not broadcast to [B, H, T, S] = {}",
                       shape_str(m.shape()), shape_str(full));
  }
}

}  // namespace

Tensor llama_inv_freq(const io::LlamaConfig& c) {
  const int64_t dim = head_dim_of(c);
  std::vector<float> f(size_t(dim / 2));
  // f32 throughout, in transformers' order of operations, so the angles match bit for bit.
  for (int64_t i = 0; i < dim / 2; ++i)
    f[size_t(i)] = 1.0f / std::pow(float(c.rope_theta), float(2 * i) / float(dim));
  const auto& s = c.rope_scaling;
  if (s.type == io::RopeScaling::Type::linear) {
    for (auto& x : f) x = x / float(s.factor);
  } else if (s.type == io::RopeScaling::Type::llama3) {
    const float old_len = float(s.original_max_position_embeddings);
    const float low = float(s.low_freq_factor), high = float(s.high_freq_factor);
    const float factor = float(s.factor);
    const float low_wavelen = old_len / low, high_wavelen = old_len / high;
    for (auto& x : f) {
      const float wavelen = 2.0f * std::numbers::pi_v<float> / x;
      float scaled = wavelen > low_wavelen ? x / factor : x;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      if (medium) {
        const float smooth = (old_len / wavelen - low) / (high - low);
        scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
      }
      x = scaled;
    }
  }
  return from_vector<float>(f, {dim / 2});
}

RMSNorm::RMSNorm(int64_t dim, double eps) : eps_(eps) {
  register_parameter("weight", &weight, {dim});
}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight, eps_); }

Embedding::Embedding(int64_t vocab, int64_t dim) {
  register_parameter("weight", &weight, {vocab, dim});
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight, ids); }

LlamaAttention::LlamaAttention(const io::LlamaConfig& c)
    : q_proj(c.hidden_size, c.num_attention_heads * head_dim_of(c), c.qkv_bias),
      k_proj(c.hidden_size, kv_heads_of(c) * head_dim_of(c), c.qkv_bias),
      v_proj(c.hidden_size, kv_heads_of(c) * head_dim_of(c), c.qkv_bias),
      o_proj(c.num_attention_heads * head_dim_of(c), c.hidden_size, c.o_bias),
      heads_(c.num_attention_heads),
      kv_heads_(kv_heads_of(c)),
      head_dim_(head_dim_of(c)) {
  register_module("q_proj", &q_proj);
  register_module("k_proj", &k_proj);
  register_module("v_proj", &v_proj);
  register_module("o_proj", &o_proj);
  if (c.qk_norm) {
    // Qwen3Attention: RMSNorm over each head's Dh features of q and k, before rope.
    q_norm.emplace(head_dim_, c.rms_norm_eps);
    k_norm.emplace(head_dim_, c.rms_norm_eps);
    register_module("q_norm", &*q_norm);
    register_module("k_norm", &*k_norm);
  }
}

CacheStep CacheStep::make(int64_t offset, int64_t T, Device device) {
  std::vector<int64_t> pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[size_t(t)] = offset + t;
  return {scalar(double(offset), DType::i64, device).eval(),
          scalar(double(offset + T), DType::i64, device).eval(),
          from_vector(pos, {T}).to(device).eval()};
}

Tensor LlamaAttention::forward(const Tensor& x, const Tensor& inv_freq, int64_t offset,
                               Tensor* cache_k, Tensor* cache_v, int64_t window,
                               const ForwardInputs& inputs, const CacheStep* step) {
  const int64_t B = x.shape(0), T = x.shape(1);
  CacheStep local;
  if (cache_k && !step) {
    local = CacheStep::make(offset, T, x.device());
    step = &local;
  }
  Tensor q = reshape(q_proj.forward(x), {B, T, heads_, head_dim_});
  Tensor k = reshape(k_proj.forward(x), {B, T, kv_heads_, head_dim_});
  Tensor v = reshape(v_proj.forward(x), {B, T, kv_heads_, head_dim_});
  if (q_norm) {
    q = q_norm->forward(q);
    k = k_norm->forward(k);
  }
  // [B, T, H, Dh] -> [B, H, T, Dh] views; rope writes row-major outputs.
  if (inputs.positions) {
    q = rope_positions(transpose(q, 1, 2), inv_freq, *inputs.positions, RopeLayout::rotate_half);
    k = rope_positions(transpose(k, 1, 2), inv_freq, *inputs.positions, RopeLayout::rotate_half);
  } else if (step) {
    q = rope_positions(transpose(q, 1, 2), inv_freq, step->positions, RopeLayout::rotate_half);
    k = rope_positions(transpose(k, 1, 2), inv_freq, step->positions, RopeLayout::rotate_half);
  } else {
    q = rope(transpose(q, 1, 2), inv_freq, offset, RopeLayout::rotate_half);
    k = rope(transpose(k, 1, 2), inv_freq, offset, RopeLayout::rotate_half);
  }
  v = transpose(v, 1, 2);
  int64_t S = T;
  if (cache_k) {
    // Append to the cache in place; attention reads the filled prefix (a view).
    S = offset + T;
    *cache_k = kv_cache_write(*cache_k, k, step->offset);
    *cache_v = kv_cache_write(*cache_v, v, step->offset);
    if (!inputs.mask && T <= kCachedAttentionRows) {
      Tensor out = cached_attention(q, *cache_k, *cache_v, step->length, window);
      return o_proj.forward(reshape(transpose(out, 1, 2), {B, T, heads_ * head_dim_}));
    }
    k = slice(*cache_k, 2, 0, S);
    v = slice(*cache_v, 2, 0, S);
  }
  // The caller's mask, in the compute dtype when additive (sdpa takes bool or q's dtype).
  std::optional<Tensor> mask = inputs.mask;
  if (mask && mask->dtype() != DType::boolean) mask = astype(*mask, q.dtype());
  Tensor out;
  if (window > 0 && S > window) {
    // Sliding attention (Mistral/Qwen2): the query at row index p (of S keys) sees keys
    // p - window < s <= p. Row indices, not positions: in a packed row the caller's
    // block-diagonal mask removes other documents, and inside one document index and position
    // differences agree.
    Tensor rows = reshape(arange(double(S - T), double(S), 1, DType::i64, q.device()), {T, 1});
    Tensor cols = reshape(arange(S, DType::i64, q.device()), {1, S});
    Tensor allowed = logical_and(less_equal(cols, rows), greater(cols, rows - double(window)));
    if (!mask)
      mask = allowed;
    else if (mask->dtype() == DType::boolean)
      mask = logical_and(allowed, *mask);
    else
      mask = where(allowed, *mask, full({}, -INFINITY, q.dtype(), q.device()));
    out = scaled_dot_product_attention(q, k, v, mask, Causal::no);
  } else {
    out = scaled_dot_product_attention(q, k, v, mask, Causal::yes);
  }
  return o_proj.forward(reshape(transpose(out, 1, 2), {B, T, heads_ * head_dim_}));
}

LlamaMLP::LlamaMLP(const io::LlamaConfig& c)
    : gate_proj(c.hidden_size, c.intermediate_size, c.mlp_bias),
      up_proj(c.hidden_size, c.intermediate_size, c.mlp_bias),
      down_proj(c.intermediate_size, c.hidden_size, c.mlp_bias) {
  register_module("gate_proj", &gate_proj);
  register_module("up_proj", &up_proj);
  register_module("down_proj", &down_proj);
}

Tensor LlamaMLP::forward(const Tensor& x) {
  return down_proj.forward(silu(gate_proj.forward(x)) * up_proj.forward(x));
}

LlamaDecoderLayer::LlamaDecoderLayer(const io::LlamaConfig& c, int64_t window)
    : self_attn(c),
      mlp(c),
      input_layernorm(c.hidden_size, c.rms_norm_eps),
      post_attention_layernorm(c.hidden_size, c.rms_norm_eps),
      window_(window) {
  register_module("self_attn", &self_attn);
  register_module("mlp", &mlp);
  register_module("input_layernorm", &input_layernorm);
  register_module("post_attention_layernorm", &post_attention_layernorm);
}

Tensor LlamaDecoderLayer::forward(const Tensor& x, const Tensor& inv_freq, int64_t offset,
                                  Tensor* cache_k, Tensor* cache_v, const ForwardInputs& inputs,
                                  const CacheStep* step) {
  Tensor h = x + self_attn.forward(input_layernorm.forward(x), inv_freq, offset, cache_k, cache_v,
                                   window_, inputs, step);
  return h + mlp.forward(post_attention_layernorm.forward(h));
}

LlamaForCausalLM::Body::Body(const io::LlamaConfig& c)
    : embed_tokens(c.vocab_size, c.hidden_size), norm(c.hidden_size, c.rms_norm_eps) {
  register_module("embed_tokens", &embed_tokens);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    int64_t window = 0;
    if (c.sliding_window &&
        (c.layer_types.empty() || c.layer_types[size_t(i)] == std::string("sliding_attention")))
      window = *c.sliding_window;
    layers.push_back(std::make_unique<LlamaDecoderLayer>(c, window));
    register_module("layers." + std::to_string(i), layers.back().get());
  }
  register_module("norm", &norm);
}

LlamaForCausalLM::LlamaForCausalLM(io::LlamaConfig config, DType dtype)
    : config_((validate(config), std::move(config))), dtype_(dtype), model_(config_) {
  if (!is_floating(dtype) || dtype == DType::f64)
    fail<DtypeError>(kLlamaOp, "compute dtype must be f32, bf16 or f16, got {}", dtype_name(dtype));
  register_module("model", &model_);
  if (!config_.tie_word_embeddings) {
    lm_head_.emplace(config_.hidden_size, config_.vocab_size, false);
    register_module("lm_head", &*lm_head_);
  }
  inv_freq_ = llama_inv_freq(config_);
}

KVCache LlamaForCausalLM::make_cache(int64_t batch, int64_t max_length) const {
  if (batch <= 0 || max_length <= 0)
    fail<ValueError>(kLlamaOp, "cache needs a positive batch and length, got {} and {}", batch,
                     max_length);
  KVCache c;
  c.batch = batch;
  c.max_length = max_length;
  const Shape s = {batch, kv_heads_of(config_), max_length, head_dim_of(config_)};
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const Device d =
        model_.embed_tokens.weight.valid() ? model_.embed_tokens.weight.device() : Device::cpu();
    c.k.push_back(zeros(s, dtype_, d).eval());
    c.v.push_back(zeros(s, dtype_, d).eval());
  }
  return c;
}

Tensor LlamaForCausalLM::forward(const Tensor& ids, KVCache* cache, LogitsFor which,
                                 ForwardTrace* trace, const ForwardInputs& inputs) {
  if (ids.ndim() != 2 || !is_integral(ids.dtype()))
    fail<ShapeError>(kLlamaOp, "ids must be a 2-d integer tensor [B, T], got {} {}",
                     dtype_name(ids.dtype()), shape_str(ids.shape()));
  const int64_t B = ids.shape(0), T = ids.shape(1);
  if (T == 0) fail<ShapeError>(kLlamaOp, "ids has no tokens");
  const int64_t offset = cache ? cache->length : 0;
  if (cache) {
    if (cache->batch != B || int64_t(cache->k.size()) != config_.num_hidden_layers)
      fail<ShapeError>(kLlamaOp,
                       "cache made for batch {} and {} layers; got batch {} for {} layers",
                       cache->batch, cache->k.size(), B, config_.num_hidden_layers);
    if (offset + T > cache->max_length)
      fail<ValueError>(kLlamaOp, "cache full: {} + {} tokens exceed its {} positions", offset, T,
                       cache->max_length);
  }
  check_forward_inputs(inputs, B, T, offset + T, config_.num_attention_heads);
  Tensor h = model_.embed_tokens.forward(ids);
  if (trace) trace->hidden_states = {h};
  std::optional<CacheStep> step;
  if (cache) step = CacheStep::make(offset, T, h.device());
  const size_t L = model_.layers.size();
  for (size_t i = 0; i < L; ++i) {
    Tensor *ck = nullptr, *cv = nullptr;
    if (cache) {
      // The write's output replaces the cache slot, so the next write depends on this one.
      ck = &cache->k[i];
      cv = &cache->v[i];
    }
    auto layer = [&](const Tensor& x) {
      return model_.layers[i]->forward(x, inv_freq_, offset, ck, cv, inputs,
                                       step ? &*step : nullptr);
    };
    // Training: the layer's activations are recomputed in the backward pass (see checkpoint.h);
    // positions and mask are captured as inputs of the checkpoint.
    h = grad_checkpoint_ && !cache
            ? checkpoint([&](const std::vector<Tensor>& in) { return layer(in[0]); }, {h})
            : layer(h);
    if (trace && i + 1 < L) trace->hidden_states.push_back(h);
  }
  if (which == LogitsFor::last && !trace) h = slice(h, 1, T - 1, T);
  h = model_.norm.forward(h);
  if (trace) {
    trace->hidden_states.push_back(h);
    if (which == LogitsFor::last) h = slice(h, 1, T - 1, T);
  }
  if (cache) cache->length += T;
  return lm_head_ ? lm_head_->forward(h) : linear(h, model_.embed_tokens.weight);
}

}  // namespace wick::models
