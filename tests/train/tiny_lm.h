#pragma once
// A tiny causal LM for trainer tests: embedding, one single-head attention layer (q_proj, v_proj;
// keys are the embeddings), an MLP (up_proj, down_proj) and an untied lm_head, with
// Llama-style parameter paths. A character tokenizer (a-z, space, punctuation) goes with it.
#include <cmath>
#include <string>

#include "wick/ops.h"
#include "wick/tokenizer/tokenizer.h"
#include "wick/train/trainer.h"

namespace wick::testing {

class TinyAttention : public nn::Module {
 public:
  explicit TinyAttention(int64_t D) : q_proj(D, D, false), v_proj(D, D, false) {
    register_module("q_proj", &q_proj);
    register_module("v_proj", &v_proj);
  }
  nn::Linear q_proj, v_proj;
};

class TinyMlp : public nn::Module {
 public:
  explicit TinyMlp(int64_t D) : up_proj(D, 2 * D, false), down_proj(2 * D, D, false) {
    register_module("up_proj", &up_proj);
    register_module("down_proj", &down_proj);
  }
  nn::Linear up_proj, down_proj;
};

class TinyLayer : public nn::Module {
 public:
  explicit TinyLayer(int64_t D) : self_attn(D), mlp(D) {
    register_module("self_attn", &self_attn);
    register_module("mlp", &mlp);
  }
  TinyAttention self_attn;
  TinyMlp mlp;
};

class TinyModel : public nn::Module {
 public:
  TinyModel(int64_t V, int64_t D) : l0(D), l1(D) {
    register_parameter("embed_tokens.weight", &embed, {V, D});
    register_module("layers.0", &l0);
    register_module("layers.1", &l1);
  }
  Tensor embed;
  TinyLayer l0, l1;
};

class TinyLM : public nn::Module, public train::CausalLM {
 public:
  TinyLM(int64_t V, int64_t D, uint64_t seed, DType dt = DType::f32)
      : V_(V), D_(D), model(V, D), lm_head(D, V, false) {
    register_module("model", &model);
    register_module("lm_head", &lm_head);
    Generator g(seed);
    for (auto& p : parameters())
      *p.tensor = astype(random_uniform(p.shape, DType::f64, -0.5, 0.5, &g), dt);
  }
  nn::Module& module() override { return *this; }
  Tensor hidden_states(const Tensor& ids, const Tensor& positions,
                       const std::optional<Tensor>& mask) override {
    const int64_t B = ids.shape(0), T = ids.shape(1);
    Tensor x = embedding(model.embed, ids);  // [B, T, D]
    for (TinyLayer* l : {&model.l0, &model.l1}) {
      Tensor q = reshape(l->self_attn.q_proj.forward(x), {B, 1, T, D_});
      Tensor k = reshape(x, {B, 1, T, D_});
      Tensor v = reshape(l->self_attn.v_proj.forward(x), {B, 1, T, D_});
      Tensor a = mask ? scaled_dot_product_attention(q, k, v, *mask)
                      : scaled_dot_product_attention(q, k, v, std::nullopt, Causal::yes);
      x = x + reshape(a, {B, T, D_});
      x = x + l->mlp.down_proj.forward(silu(l->mlp.up_proj.forward(x)));
    }
    return x;
  }
  Tensor lm_head_weight() override {
    return lm_head.adapter() ? lm_head.adapter()->merged_weight(lm_head.weight) : lm_head.weight;
  }
  int64_t V_, D_;
  TinyModel model;
  nn::Linear lm_head;
};

/// Character-level BPE tokenizer (no merges): ids 0 = "<s>" (special, prepended), 1 = "</s>",
/// then ' ', a-z, '.', ',', '?', '!', digits.
inline Tokenizer char_tokenizer() {
  std::string chars = " abcdefghijklmnopqrstuvwxyz.,?!0123456789:";
  std::string vocab = "\"<s>\": 0, \"</s>\": 1";
  for (size_t i = 0; i < chars.size(); ++i)
    vocab += ", \"" + std::string(1, chars[i]) + "\": " + std::to_string(i + 2);
  std::string json = R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": true},
      {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": true}],
    "normalizer": null, "pre_tokenizer": null,
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
    "decoder": null,
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
      "vocab": {)" + vocab +
                     R"(}, "merges": []}})";
  return Tokenizer::from_json_string(json, "char_tokenizer");
}

inline int64_t char_vocab_size() { return 2 + 43; }

}  // namespace wick::testing
