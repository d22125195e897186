// Batched Llama forward over a paged cache (see llama_batched.h).
#include "wick/models/llama_batched.h"

#include <cmath>
#include <set>

#include "wick/lora/lora.h"
#include "wick/models/llama.h"
#include "wick/ops.h"

namespace wick::models {

namespace {

constexpr const char* kBatchedOp = "forward_batched";

// The modules of a LlamaForCausalLM by checkpoint path.
struct LlamaParts {
  Embedding* embed = nullptr;
  std::vector<LlamaDecoderLayer*> layers;
  RMSNorm* norm = nullptr;
  nn::Linear* lm_head = nullptr;
};

LlamaParts llama_parts_of(CausalLM& model) {
  LlamaParts p;
  const int64_t L = model.config().num_hidden_layers;
  p.layers.assign(size_t(L), nullptr);
  for (auto& [path, m] : model.modules()) {
    if (path == "model.embed_tokens") p.embed = dynamic_cast<Embedding*>(m);
    if (path == "model.norm") p.norm = dynamic_cast<RMSNorm*>(m);
    if (path == "lm_head") p.lm_head = dynamic_cast<nn::Linear*>(m);
    const std::string pre = "model.layers.";
    if (path.rfind(pre, 0) == 0 && path.find('.', pre.size()) == std::string::npos) {
      const int64_t i = std::stoll(path.substr(pre.size()));
      if (i >= 0 && i < L) p.layers[size_t(i)] = dynamic_cast<LlamaDecoderLayer*>(m);
    }
  }
  bool ok = p.embed && p.norm && dynamic_cast<LlamaForCausalLM*>(&model);
  for (auto* l : p.layers) ok = ok && l;
  if (!ok)
    fail<NotImplemented>(
        kBatchedOp, "batched decoding needs a Llama-family model; got '{}'",
        model.config().architectures.empty() ? std::string("?") : model.config().architectures[0]);
  return p;
}

int64_t window_of_layer(const io::LlamaConfig& c, size_t i) {
  if (c.sliding_window && (c.layer_types.empty() || c.layer_types[i] == "sliding_attention"))
    return *c.sliding_window;
  return 0;
}

// Per-row adapter context: for each distinct adapter, a [1, N, 1] f32 mask of its tokens.
struct AdapterRows {
  std::vector<std::pair<const LoraFactors*, Tensor>> groups;
};

// base(x) plus, for every adapter of the batch, scale * (x A^T) B^T on that adapter's rows.
Tensor linear_rows(nn::Linear& l, const std::string& path, const Tensor& x, const AdapterRows& ar) {
  Tensor y = linear(x, l.weight, l.bias.valid() ? std::optional<Tensor>(l.bias) : std::nullopt);
  for (const auto& [factors, mask] : ar.groups) {
    auto it = factors->layers.find(path);
    if (it == factors->layers.end()) continue;
    const auto& f = it->second;
    // As LoraLinear: f32 adapter path, the result cast back to the base dtype.
    Tensor d = linear(linear(astype(x, DType::f32), f.A), f.B) * f.scale;
    y = y + astype(d * mask, y.dtype());
  }
  return y;
}

}  // namespace

LoraFactors load_lora_factors(const CausalLM& model, const std::filesystem::path& dir) {
  // A weightless copy of the module tree carries the adapter while it loads; the factors are then
  // taken out, so the served model stays unadapted.
  std::unique_ptr<CausalLM> shell = make_causal_lm(model.config(), model.compute_dtype());
  lora::load_adapter(*shell, dir);
  // The factors live where the served model does (read on the CPU, copied once).
  const Device dev = nn::module_device(model);
  LoraFactors out;
  for (auto& a : lora::adapted_layers(*shell))
    out.layers[a.path] = {a.adapter->lora_A.to(dev).eval(), a.adapter->lora_B.to(dev).eval(),
                          a.adapter->scale()};
  return out;
}

BatchedOutput forward_batched(CausalLM& model, std::span<const BatchedRow> rows) {
  const io::LlamaConfig& c = model.config();
  LlamaParts parts = llama_parts_of(model);
  const int64_t H = c.num_attention_heads;
  const int64_t Hkv = c.num_key_value_heads > 0 ? c.num_key_value_heads : H;
  const int64_t Dh = c.head_dim > 0 ? c.head_dim : c.hidden_size / H;
  const size_t L = parts.layers.size();
  if (rows.empty()) fail<ValueError>(kBatchedOp, "no rows");

  std::vector<int64_t> ids, positions, last_index, offsets;
  std::set<const LoraFactors*> adapters;
  for (const auto& r : rows) {
    if (r.ids.empty()) fail<ValueError>(kBatchedOp, "row {} has no tokens", offsets.size());
    if (r.start > 0 && (r.past_k.size() != L || r.past_v.size() != L))
      fail<ShapeError>(kBatchedOp, "row {} holds {} layers of keys; expected {}", offsets.size(),
                       r.past_k.size(), L);
    offsets.push_back(int64_t(ids.size()));
    for (size_t t = 0; t < r.ids.size(); ++t) {
      if (r.ids[t] < 0 || r.ids[t] >= c.vocab_size)
        fail<ValueError>(kBatchedOp, "id {} outside the vocabulary of {}", r.ids[t], c.vocab_size);
      ids.push_back(r.ids[t]);
      positions.push_back(r.start + int64_t(t));
    }
    if (r.want_logits) last_index.push_back(int64_t(ids.size()) - 1);
    if (r.adapter) adapters.insert(r.adapter);
  }
  const int64_t N = int64_t(ids.size());
  offsets.push_back(N);
  // Every tensor built here goes to the model's device.
  const Device dev = parts.embed->weight.device();

  AdapterRows ar;
  for (const LoraFactors* a : adapters) {
    std::vector<float> m(size_t(N), 0.0f);
    for (size_t i = 0; i < rows.size(); ++i)
      if (rows[i].adapter == a)
        for (int64_t t = offsets[i]; t < offsets[i + 1]; ++t) m[size_t(t)] = 1.0f;
    ar.groups.emplace_back(a, from_vector<float>(m, {1, N, 1}).to(dev));
  }

  const Tensor inv_freq = llama_inv_freq(c).to(dev);
  const Tensor pos = from_vector<int64_t>(positions, {1, N}).to(dev);
  Tensor h = parts.embed->forward(from_vector<int64_t>(ids, {1, N}).to(dev));
  BatchedOutput out;
  out.new_k.assign(rows.size(), {});
  out.new_v.assign(rows.size(), {});
  for (size_t li = 0; li < L; ++li) {
    LlamaDecoderLayer& layer = *parts.layers[li];
    LlamaAttention& at = layer.self_attn;
    const std::string p = "model.layers." + std::to_string(li);
    const int64_t window = window_of_layer(c, li);
    Tensor x = layer.input_layernorm.forward(h);
    Tensor q = reshape(linear_rows(at.q_proj, p + ".self_attn.q_proj", x, ar), {1, N, H, Dh});
    Tensor k = reshape(linear_rows(at.k_proj, p + ".self_attn.k_proj", x, ar), {1, N, Hkv, Dh});
    Tensor v = reshape(linear_rows(at.v_proj, p + ".self_attn.v_proj", x, ar), {1, N, Hkv, Dh});
    if (at.q_norm) {
      q = at.q_norm->forward(q);
      k = at.k_norm->forward(k);
    }
    q = rope_positions(transpose(q, 1, 2), inv_freq, pos, RopeLayout::rotate_half);
    k = rope_positions(transpose(k, 1, 2), inv_freq, pos, RopeLayout::rotate_half);
    v = transpose(v, 1, 2);
    std::vector<Tensor> outs;
    for (size_t i = 0; i < rows.size(); ++i) {
      const BatchedRow& r = rows[i];
      const int64_t T = offsets[i + 1] - offsets[i];
      Tensor qi = slice(q, 2, offsets[i], offsets[i + 1]);
      Tensor ki = contiguous(slice(k, 2, offsets[i], offsets[i + 1]));
      Tensor vi = contiguous(slice(v, 2, offsets[i], offsets[i + 1]));
      out.new_k[i].push_back(ki);
      out.new_v[i].push_back(vi);
      std::vector<Tensor> ks, vs;
      if (r.start > 0) {
        ks = r.past_k[li];
        vs = r.past_v[li];
      }
      ks.push_back(ki);
      vs.push_back(vi);
      Tensor K = ks.size() == 1 ? ki : concat(ks, 2);
      Tensor V = vs.size() == 1 ? vi : concat(vs, 2);
      const int64_t S = K.shape(2);
      if (S != r.start + T)
        fail<ShapeError>(kBatchedOp, "row {} holds {} keys at layer {}; expected {}", i, S - T, li,
                         r.start);
      if (T <= kCachedAttentionRows) {
        // As LlamaAttention: the fused kernel over the row's keys (same arithmetic as generate).
        outs.push_back(
            cached_attention(qi, K, V, scalar(double(S), DType::i64, K.device()).eval(), window));
      } else if (window > 0 && S > window) {
        // As LlamaAttention: the query at key index s0 sees keys s0 - window < s <= s0.
        Tensor qrows = reshape(arange(double(S - T), double(S), 1, DType::i64, dev), {T, 1});
        Tensor cols = reshape(arange(S, DType::i64, dev), {1, S});
        Tensor allowed =
            logical_and(less_equal(cols, qrows), greater(cols, qrows - double(window)));
        outs.push_back(scaled_dot_product_attention(qi, K, V, allowed, Causal::no));
      } else {
        outs.push_back(scaled_dot_product_attention(qi, K, V, std::nullopt, Causal::yes));
      }
    }
    Tensor o = outs.size() == 1 ? outs[0] : concat(outs, 2);
    o = reshape(transpose(o, 1, 2), {1, N, H * Dh});
    h = h + linear_rows(at.o_proj, p + ".self_attn.o_proj", o, ar);
    LlamaMLP& mlp = layer.mlp;
    Tensor y = layer.post_attention_layernorm.forward(h);
    Tensor g = linear_rows(mlp.gate_proj, p + ".mlp.gate_proj", y, ar);
    Tensor u = linear_rows(mlp.up_proj, p + ".mlp.up_proj", y, ar);
    h = h + linear_rows(mlp.down_proj, p + ".mlp.down_proj", silu(g) * u, ar);
  }
  if (!last_index.empty()) {
    const int64_t R = int64_t(last_index.size());
    Tensor hl = take(h, from_vector<int64_t>(last_index, {R}).to(dev), 1);  // [1, R, D]
    hl = parts.norm->forward(hl);
    Tensor logits = parts.lm_head ? linear_rows(*parts.lm_head, "lm_head", hl, AdapterRows{})
                                  : linear(hl, parts.embed->weight);
    out.logits = reshape(logits, {R, c.vocab_size});
  }
  return out;
}

}  // namespace wick::models
