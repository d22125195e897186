#pragma once
// Tiny random Llama-family models for tests: a config per architecture, random weights, a small
// character-level tokenizer, a model folder on disk, and an independent f64 reference forward
// written as plain loops (no wick ops).
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cmath>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "testing/testing.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"
#include "wick/models/causal_lm.h"
#include "wick/models/llama.h"

namespace wick::testing {

/// A character tokenizer: ids 0 "<s>", 1 "</s>", then one id per character of kTinyChars.
inline constexpr const char* kTinyChars = "abcdefghijklmnopqrstuvwxyz .,!?";

inline std::string tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["<s>"] = 0;
  vocab["</s>"] = 1;
  std::string chars = kTinyChars;
  for (size_t i = 0; i < chars.size(); ++i) vocab[std::string(1, chars[i])] = int(i + 2);
  nlohmann::json j = {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 0},
         {"content", "<s>"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}},
        {{"id", 1},
         {"content", "</s>"},
         {"single_word", false},
         {"lstrip", false},
         {"rstrip", false},
         {"normalized", false},
         {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "Fuse"}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", nlohmann::json::array()}}}};
  return j.dump();
}

inline int64_t tiny_vocab() { return int64_t(std::string(kTinyChars).size()) + 2; }

/// config.json of a tiny model of architecture `arch` ("llama", "mistral", "qwen2", "qwen3").
inline nlohmann::json tiny_config_json(const std::string& arch) {
  nlohmann::json j = {{"hidden_size", 32},
                      {"intermediate_size", 48},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},
                      {"vocab_size", tiny_vocab()},
                      {"max_position_embeddings", 128},
                      {"rms_norm_eps", 1e-5},
                      {"rope_theta", 10000.0},
                      {"hidden_act", "silu"},
                      {"bos_token_id", 0},
                      {"eos_token_id", 1},
                      {"torch_dtype", "float32"},
                      {"tie_word_embeddings", false}};
  if (arch == "llama") {
    j["architectures"] = {"LlamaForCausalLM"};
    j["model_type"] = "llama";
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 16}};
  } else if (arch == "mistral") {
    j["architectures"] = {"MistralForCausalLM"};
    j["model_type"] = "mistral";
    j["sliding_window"] = 5;
    j["tie_word_embeddings"] = true;
  } else if (arch == "qwen2") {
    j["architectures"] = {"Qwen2ForCausalLM"};
    j["model_type"] = "qwen2";
    j["rope_theta"] = 1000000.0;
    j["tie_word_embeddings"] = true;
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  } else if (arch == "qwen3") {
    j["architectures"] = {"Qwen3ForCausalLM"};
    j["model_type"] = "qwen3";
    j["head_dim"] = 16;  // != hidden_size / heads, as in real Qwen3 models
    j["rms_norm_eps"] = 1e-6;
  }
  return j;
}

/// Random weights for every parameter of `m` (norm weights near 1), as f32 tensors.
inline std::map<std::string, Tensor> tiny_weights(const models::CausalLM& m, uint64_t seed) {
  std::map<std::string, Tensor> w;
  for (const auto& p : m.parameters()) {
    const bool norm = p.path.ends_with("norm.weight");
    Tensor t = randn(p.shape, seed++) * (norm ? 0.1 : 0.3);
    if (norm) t = t + 1.0;
    w[p.path] = astype(t, DType::f32).eval();
  }
  return w;
}

/// Writes config.json, model.safetensors and tokenizer.json into `dir`.
inline void write_tiny_model(const std::filesystem::path& dir, const nlohmann::json& config,
                             const std::map<std::string, Tensor>& weights) {
  std::filesystem::create_directories(dir);
  io::write_json_file(dir / "config.json", config);
  std::vector<std::pair<std::string, Tensor>> ts(weights.begin(), weights.end());
  io::write_safetensors(dir / "model.safetensors", ts);
  std::ofstream(dir / "tokenizer.json") << tiny_tokenizer_json();
}

/// Independent f64 forward of a Llama-family model: logits [T * V] for one sequence `ids`.
/// Plain loops; rope inverse frequencies computed here in f64 (with linear / llama3 scaling).
inline std::vector<double> reference_logits(const io::LlamaConfig& c,
                                            const std::map<std::string, Tensor>& weights,
                                            const std::vector<int64_t>& ids) {
  auto W = [&](const std::string& k) { return weights.at(k).to_vector<double>(); };
  const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const int64_t Dh = c.head_dim > 0 ? c.head_dim : D / H, F = c.intermediate_size;
  const int64_t V = c.vocab_size, T = int64_t(ids.size());
  const double eps = c.rms_norm_eps;
  // y[t][o] = sum_i x[t][i] w[o][i] (+ b[o]).
  auto lin = [&](const std::vector<double>& x, int64_t in, int64_t out, const std::string& name,
                 bool bias) {
    auto w = W(name + ".weight");
    std::vector<double> b = bias ? W(name + ".bias") : std::vector<double>(size_t(out), 0.0);
    std::vector<double> y(size_t(T * out));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < out; ++o) {
        double s = b[size_t(o)];
        for (int64_t i = 0; i < in; ++i) s += x[size_t(t * in + i)] * w[size_t(o * in + i)];
        y[size_t(t * out + o)] = s;
      }
    return y;
  };
  // RMSNorm over consecutive groups of n values.
  auto rms = [&](std::vector<double> x, int64_t n, const std::string& name) {
    auto w = W(name);
    for (size_t g = 0; g < x.size() / size_t(n); ++g) {
      double ss = 0;
      for (int64_t i = 0; i < n; ++i)
        ss += x[g * size_t(n) + size_t(i)] * x[g * size_t(n) + size_t(i)];
      const double r = 1.0 / std::sqrt(ss / double(n) + eps);
      for (int64_t i = 0; i < n; ++i) x[g * size_t(n) + size_t(i)] *= r * w[size_t(i)];
    }
    return x;
  };
  std::vector<double> inv(size_t(Dh / 2));
  for (int64_t i = 0; i < Dh / 2; ++i) {
    double f = 1.0 / std::pow(c.rope_theta, double(2 * i) / double(Dh));
    const auto& s = c.rope_scaling;
    if (s.type == io::RopeScaling::Type::linear) f /= s.factor;
    if (s.type == io::RopeScaling::Type::llama3) {
      const double wl = 2 * M_PI / f, old = double(s.original_max_position_embeddings);
      if (wl > old / s.low_freq_factor) {
        f /= s.factor;
      } else if (wl >= old / s.high_freq_factor) {
        const double sm = (old / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - sm) * f / s.factor + sm * f;
      }
    }
    inv[size_t(i)] = f;
  }
  auto rope = [&](std::vector<double>& x, int64_t heads) {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < Dh / 2; ++i) {
          double* p = &x[size_t((t * heads + h) * Dh)];
          const double a = double(t) * inv[size_t(i)], c0 = std::cos(a), s0 = std::sin(a);
          const double x1 = p[i], x2 = p[i + Dh / 2];
          p[i] = x1 * c0 - x2 * s0;
          p[i + Dh / 2] = x2 * c0 + x1 * s0;
        }
  };
  auto emb = W("model.embed_tokens.weight");
  std::vector<double> h(size_t(T * D));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d) h[size_t(t * D + d)] = emb[size_t(ids[size_t(t)] * D + d)];
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto x = rms(h, D, p + "input_layernorm.weight");
    auto q = lin(x, D, H * Dh, p + "self_attn.q_proj", c.qkv_bias);
    auto k = lin(x, D, Hkv * Dh, p + "self_attn.k_proj", c.qkv_bias);
    auto v = lin(x, D, Hkv * Dh, p + "self_attn.v_proj", c.qkv_bias);
    if (c.qk_norm) {
      q = rms(q, Dh, p + "self_attn.q_norm.weight");
      k = rms(k, Dh, p + "self_attn.k_norm.weight");
    }
    rope(q, H);
    rope(k, Hkv);
    const bool sliding = c.sliding_window &&
                         (c.layer_types.empty() || c.layer_types[size_t(l)] == "sliding_attention");
    std::vector<double> att(size_t(T * H * Dh), 0.0);
    for (int64_t hh = 0; hh < H; ++hh) {
      const int64_t g = hh / (H / Hkv);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> sc(size_t(t + 1), -INFINITY);
        double mx = -INFINITY;
        for (int64_t s = 0; s <= t; ++s) {
          if (sliding && t - s >= *c.sliding_window) continue;
          double d = 0;
          for (int64_t i = 0; i < Dh; ++i)
            d += q[size_t((t * H + hh) * Dh + i)] * k[size_t((s * Hkv + g) * Dh + i)];
          sc[size_t(s)] = d / std::sqrt(double(Dh));
          mx = std::max(mx, sc[size_t(s)]);
        }
        double z = 0;
        for (auto& e : sc) z += (e = std::exp(e - mx));
        for (int64_t s = 0; s <= t; ++s)
          for (int64_t i = 0; i < Dh; ++i)
            att[size_t((t * H + hh) * Dh + i)] +=
                sc[size_t(s)] / z * v[size_t((s * Hkv + g) * Dh + i)];
      }
    }
    auto o = lin(att, H * Dh, D, p + "self_attn.o_proj", c.o_bias);
    for (size_t i = 0; i < h.size(); ++i) h[i] += o[i];
    x = rms(h, D, p + "post_attention_layernorm.weight");
    auto gt = lin(x, D, F, p + "mlp.gate_proj", c.mlp_bias);
    auto up = lin(x, D, F, p + "mlp.up_proj", c.mlp_bias);
    for (size_t i = 0; i < gt.size(); ++i) gt[i] = gt[i] / (1 + std::exp(-gt[i])) * up[i];
    auto dn = lin(gt, F, D, p + "mlp.down_proj", c.mlp_bias);
    for (size_t i = 0; i < h.size(); ++i) h[i] += dn[i];
  }
  h = rms(h, D, "model.norm.weight");
  return lin(h, D, V, c.tie_word_embeddings ? "model.embed_tokens" : "lm_head", false);
}

}  // namespace wick::testing
