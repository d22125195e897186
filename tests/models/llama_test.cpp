// Llama-family models against an independent f64 reference, KV-cache decoding against full
// recomputation, and loading errors.
#include <gtest/gtest.h>

#include <fstream>

#include "tiny_model.h"
#include "wick/generate/generator.h"
#include "wick/models/llama.h"

namespace wick::testing {
namespace {

struct Tiny {
  io::LlamaConfig config;
  std::unique_ptr<models::CausalLM> model;
  std::map<std::string, Tensor> weights;
};

Tiny make_tiny(const std::string& arch, DType dtype = DType::f32, uint64_t seed = 1) {
  Tiny t;
  t.config = io::parse_llama_config(tiny_config_json(arch), arch);
  t.model = models::make_causal_lm(t.config, dtype);
  t.weights = tiny_weights(*t.model, seed);
  std::vector<std::string> names;
  for (auto& [k, v] : t.weights) names.push_back(k);
  models::load_weights(
      *t.model, names, [&](const std::string& k) { return t.weights.at(k); }, "tiny");
  return t;
}

Tensor ids_of(const std::vector<int64_t>& ids) {
  return from_vector<int64_t>(ids, {1, int64_t(ids.size())});
}

const std::vector<int64_t> kIds = {0, 5, 17, 3, 3, 29, 8, 2, 11, 30, 4};

class Arch : public ::testing::TestWithParam<std::string> {};

TEST_P(Arch, ForwardMatchesF64Reference) {
  Tiny t = make_tiny(GetParam());
  auto ref = reference_logits(t.config, t.weights, kIds);
  Tensor logits = t.model->forward(ids_of(kIds));
  ASSERT_EQ(logits.shape(), (Shape{1, int64_t(kIds.size()), t.config.vocab_size}));
  // f32 compute against f64 loops: measured max abs error ~1e-6 on logits of magnitude ~5.
  EXPECT_TRUE(allclose(logits, ref, 2e-5, 1e-5));
}

TEST_P(Arch, Bf16ForwardWithinBf16Tolerance) {
  Tiny t = make_tiny(GetParam(), DType::bf16);
  // The reference uses the f32 weights; bf16 rounds weights and activations (~3 digits).
  auto ref = reference_logits(t.config, t.weights, kIds);
  Tensor logits = t.model->forward(ids_of(kIds));
  EXPECT_EQ(logits.dtype(), DType::bf16);
  EXPECT_TRUE(allclose(astype(logits, DType::f32), ref, 0.15, 0.05));
}

TEST_P(Arch, CachedDecodeEqualsFullRecompute) {
  Tiny t = make_tiny(GetParam());
  models::KVCache cache = t.model->make_cache(1, 16);
  // Prefill 4 tokens, then one token at a time; each step's logits equal the full forward's.
  Tensor full = t.model->forward(ids_of(kIds));
  const int64_t V = t.config.vocab_size;
  std::vector<int64_t> first(kIds.begin(), kIds.begin() + 4);
  Tensor pre = t.model->forward(ids_of(first), &cache);
  EXPECT_TRUE(allclose(pre, slice(full, 1, 0, 4), 1e-5, 1e-5));
  for (size_t i = 4; i < kIds.size(); ++i) {
    Tensor step = t.model->forward(ids_of({kIds[i]}), &cache, models::LogitsFor::last);
    ASSERT_EQ(step.shape(), (Shape{1, 1, V}));
    EXPECT_TRUE(allclose(step, slice(full, 1, int64_t(i), int64_t(i) + 1), 1e-5, 1e-5))
        << "step " << i;
  }
  EXPECT_EQ(cache.length, int64_t(kIds.size()));
  // The cache rejects more tokens than it holds.
  EXPECT_THROW(t.model->forward(ids_of(std::vector<int64_t>(6, 2)), &cache), ValueError);
}

TEST_P(Arch, HiddenStatesFollowTransformersLayout) {
  Tiny t = make_tiny(GetParam());
  models::ForwardTrace trace;
  Tensor logits = t.model->forward(ids_of(kIds), nullptr, models::LogitsFor::last, &trace);
  ASSERT_EQ(trace.hidden_states.size(), size_t(t.config.num_hidden_layers + 1));
  EXPECT_EQ(logits.shape(1), 1);
  // The last hidden state is the final norm's output: the lm head of it gives the logits.
  Tensor head = t.config.tie_word_embeddings ? t.weights.at("model.embed_tokens.weight")
                                             : t.weights.at("lm_head.weight");
  Tensor last =
      slice(trace.hidden_states.back(), 1, int64_t(kIds.size()) - 1, int64_t(kIds.size()));
  EXPECT_TRUE(allclose(logits, matmul(last, mT(head)), 1e-5, 1e-5));
}

TEST_P(Arch, GreedyGenerateEqualsNoCacheGreedy) {
  Tiny t = make_tiny(GetParam());
  Tokenizer tok = Tokenizer::from_json_string(tiny_tokenizer_json());
  std::vector<int32_t> prompt = {0, 7, 4, 11, 11, 14};
  generate::GenerateOptions o;
  o.max_tokens = 12;
  o.sampling.temperature = 0;
  auto r = generate::generate(*t.model, tok, prompt, o);
  EXPECT_EQ(r.finish_reason, generate::FinishReason::length);
  EXPECT_EQ(r.tokens, generate::greedy_no_cache(*t.model, prompt, 12));
  EXPECT_EQ(r.decode_steps, 11);
}

INSTANTIATE_TEST_SUITE_P(Models, Arch, ::testing::Values("llama", "mistral", "qwen2", "qwen3"));

TEST(Llama, SlidingWindowChangesLongContextsOnly) {
  // Mistral's window (5) must matter past 5 tokens: the same weights without a window differ there.
  Tiny t = make_tiny("mistral");
  auto j = tiny_config_json("mistral");
  j.erase("sliding_window");
  auto full_cfg = io::parse_llama_config(j, "no-window");
  auto no_window = reference_logits(full_cfg, t.weights, kIds);
  auto logits = t.model->forward(ids_of(kIds)).to_vector<double>();
  const size_t V = size_t(t.config.vocab_size);
  double early = 0, late = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    (i < 5 * V ? early : late) =
        std::max(i < 5 * V ? early : late, std::abs(logits[i] - no_window[i]));
  EXPECT_LT(early, 2e-5);
  EXPECT_GT(late, 1e-3);
}

TEST(Llama, InvFreqScaling) {
  auto c = io::parse_llama_config(tiny_config_json("qwen2"), "qwen2");
  auto f = models::llama_inv_freq(c).to_vector<double>();  // linear, factor 2, theta 1e6, Dh 8
  ASSERT_EQ(f.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(f[i], 0.5 / std::pow(1e6, double(2 * i) / 8.0), 1e-7 * f[i]);
  auto l = io::parse_llama_config(tiny_config_json("llama"), "llama");
  auto g = models::llama_inv_freq(l).to_vector<double>();  // llama3: old length 16, factor 8
  // i=0: wavelength 2*pi lies between 16/4 and 16/1 -> smoothed; i=3: wavelength
  // 2*pi*10000^(3/4) > 16 -> divided by 8.
  const double smooth = (16.0 / (2 * M_PI) - 1.0) / 3.0;
  EXPECT_NEAR(g[0], (1 - smooth) / 8.0 + smooth, 1e-6);
  EXPECT_NEAR(g[3], std::pow(1e4, -0.75) / 8.0, 1e-9);
}

TEST(Loading, ErrorsNameTheTensor) {
  Tiny t = make_tiny("qwen3");
  auto dir = temp_dir("models_load");
  auto j = tiny_config_json("qwen3");
  auto write = [&](std::map<std::string, Tensor> w) { write_tiny_model(dir, j, w); };
  auto expect_error = [&](const std::string& needle) {
    try {
      models::load_causal_lm(dir);
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  write(t.weights);
  auto ok = models::load_causal_lm(dir);  // loads, zero-copy f32
  EXPECT_EQ(ok->compute_dtype(), DType::f32);
  EXPECT_TRUE(allclose(ok->forward(ids_of(kIds)), t.model->forward(ids_of(kIds)), 0, 0));

  auto missing = t.weights;
  missing.erase("model.layers.1.self_attn.k_norm.weight");
  write(missing);
  expect_error("missing tensor 'model.layers.1.self_attn.k_norm.weight'");

  auto extra = t.weights;
  extra["model.layers.0.self_attn.q_proj.bias"] = zeros({64});
  write(extra);
  expect_error("unexpected tensor 'model.layers.0.self_attn.q_proj.bias'");

  auto shaped = t.weights;
  shaped["model.layers.0.mlp.up_proj.weight"] = zeros({48, 31});
  write(shaped);
  expect_error("model.layers.0.mlp.up_proj.weight");

  write(t.weights);
  j["architectures"] = {"GPT2LMHeadModel"};
  write(t.weights);
  expect_error("unsupported architecture 'GPT2LMHeadModel'; supported: LlamaForCausalLM");

  j = tiny_config_json("qwen3");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  write(t.weights);
  expect_error("yarn");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wick::testing
