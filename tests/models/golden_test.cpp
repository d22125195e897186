// Parity with transformers on the tiny models of tests/fixtures (see tests/fixtures/README.md):
// logits, per-layer hidden states, 32-token greedy continuations (with and without the KV cache),
// windowed perplexity, bf16, and a PEFT adapter.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/testing.h"
#include "wick/generate/generator.h"
#include "wick/generate/perplexity.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"

namespace wick::testing {
namespace {

std::filesystem::path fixture(const std::string& rel) {
  return source_path("tests/fixtures/" + rel);
}

nlohmann::json golden_json(const std::string& folder) {
  return io::read_json_file(fixture(folder + "/golden/golden.json"));
}

// Max |a - b| over two tensors of the same shape (as f64).
double max_abs(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  EXPECT_EQ(x.size(), y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(x[i] - y[i]);
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

struct Case {
  const char* model;   // folder under models/
  const char* golden;  // folder whose golden/ holds its references
};

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, LogitsAndHiddenStates) {
  const Case c = GetParam();
  auto model = models::load_causal_lm(fixture(std::string("models/") + c.model));
  auto g = io::SafeTensorsFile::open(
      fixture(std::string("models/") + c.golden + "/golden/logits.safetensors"));
  Tensor ids = g.tensor("input_ids");
  const int64_t T = ids.shape(0);
  models::ForwardTrace trace;
  Tensor logits = model->forward(reshape(ids, {1, T}), nullptr, models::LogitsFor::all, &trace);
  Tensor ref_hidden = g.tensor("hidden_states");  // [L + 1, T, D]
  ASSERT_EQ(int64_t(trace.hidden_states.size()), ref_hidden.shape(0));
  // Name the first layer that diverges, so a failure points at its cause.
  for (size_t l = 0; l < trace.hidden_states.size(); ++l) {
    const double err = max_abs(reshape(trace.hidden_states[l], {T, -1}),
                               reshape(slice(ref_hidden, 0, int64_t(l), int64_t(l) + 1), {T, -1}));
    ASSERT_LE(err, 1e-4) << c.model << ": hidden state " << l << (l == 0 ? " (embeddings)" : "")
                         << " diverges first; max abs err " << err;
  }
  const double err = max_abs(reshape(logits, {T, -1}), g.tensor("logits"));
  EXPECT_LE(err, 1e-4) << c.model << " logits max abs err " << err;
  RecordProperty(std::string(c.model) + "_logits_max_abs_err", std::to_string(err));
}

TEST_P(Golden, GreedyContinuationWithAndWithoutCache) {
  const Case c = GetParam();
  const std::string dir = fixture(std::string("models/") + c.model).string();
  auto model = models::load_causal_lm(dir);
  auto j = golden_json(std::string("models/") + c.golden);
  auto prompt = j["input_ids"].get<std::vector<int32_t>>();
  auto expect = j["greedy"]["new_ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(expect.size(), 32u);
  Tokenizer tok = Tokenizer::from_file(dir);
  generate::GenerateOptions o;
  o.max_tokens = 32;
  o.sampling.temperature = 0;  // eos not set: transformers' golden does not stop on eos either
  auto r = generate::generate(*model, tok, prompt, o);
  EXPECT_EQ(r.tokens, expect) << c.model << " (KV cache)";
  EXPECT_EQ(r.text, j["greedy"]["text"].get<std::string>());
  EXPECT_EQ(generate::greedy_no_cache(*model, prompt, 8),
            std::vector<int32_t>(expect.begin(), expect.begin() + 8))
      << c.model << " (no cache)";
}

TEST_P(Golden, Perplexity) {
  const Case c = GetParam();
  auto model = models::load_causal_lm(fixture(std::string("models/") + c.model));
  auto p = golden_json(std::string("models/") + c.golden)["perplexity"];
  auto ids = p["ids"].get<std::vector<int32_t>>();
  auto r = generate::perplexity(*model, ids, p["window"].get<int64_t>());
  EXPECT_EQ(r.tokens, p["tokens_scored"].get<int64_t>());
  const double ref = p["nll"].get<double>();
  EXPECT_LE(std::abs(r.nll - ref) / ref, 1e-5) << c.model << " nll " << r.nll << " vs " << ref;
}

INSTANTIATE_TEST_SUITE_P(Models, Golden,
                         ::testing::Values(Case{"llama", "llama"}, Case{"llama_tied", "llama_tied"},
                                           Case{"llama_rope_llama3", "llama_rope_llama3"},
                                           Case{"llama_rope_linear", "llama_rope_linear"},
                                           Case{"mistral", "mistral"}, Case{"qwen2", "qwen2"},
                                           Case{"qwen3", "qwen3"}, Case{"llama_cfg4x", "llama"},
                                           Case{"llama_cfg5x", "llama"},
                                           Case{"llama_rope_llama3_cfg4x", "llama_rope_llama3"},
                                           Case{"llama_rope_llama3_cfg5x", "llama_rope_llama3"}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(GoldenBf16, StoredBf16ModelWithinBf16Tolerance) {
  // The bf16 folder loads zero-copy in bf16 and computes in bf16, as transformers does.
  auto model = models::load_causal_lm(fixture("models/llama_bf16"));
  EXPECT_EQ(model->compute_dtype(), DType::bf16);
  auto g = io::SafeTensorsFile::open(fixture("models/llama_bf16/golden/logits.safetensors"));
  Tensor ids = g.tensor("input_ids");
  Tensor logits = model->forward(reshape(ids, {1, ids.shape(0)}));
  EXPECT_EQ(logits.dtype(), DType::bf16);
  // Logits are O(1); bf16 keeps 8 bits: rounding of activations through 2 layers.
  EXPECT_TRUE(allclose(reshape(astype(logits, DType::f32), {ids.shape(0), -1}), g.tensor("logits"),
                       0.05, 0.02));
}

TEST(GoldenAdapter, PeftAdapterLogits) {
  auto model = models::load_causal_lm(fixture("models/llama"));
  lora::load_adapter(*model, fixture("adapters/llama_lora_qv"));
  auto g = io::SafeTensorsFile::open(fixture("adapters/llama_lora_qv/golden/logits.safetensors"));
  Tensor ids = g.tensor("input_ids");
  Tensor logits = model->forward(reshape(ids, {1, ids.shape(0)}));
  EXPECT_LE(max_abs(reshape(logits, {ids.shape(0), -1}), g.tensor("logits")), 1e-4);
}

}  // namespace
}  // namespace wick::testing
