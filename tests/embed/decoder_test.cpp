// Decoder models as sentence embedders: last-token and mean pooling against transformers' hidden
// states (tests/fixtures/models/{llama,qwen2,qwen3,mistral}/golden), batch invariance with right
// padding, and the Qwen3-Embedding folder layout (bare body keys, Qwen3Model, lasttoken Pooling).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "embed/embed_test_util.h"
#include "testing/testing.h"
#include "wick/embed/embedder.h"
#include "wick/io/safetensors.h"

namespace wick::embed {
namespace {

using namespace wick::embed::testing;
namespace fs = std::filesystem;

// transformers ran in f32 with torch's summation order; the brief asks for 1e-5.
constexpr double kDecoderAtol = 1e-5;

// The golden prompt's ids and transformers' final-norm hidden states [T, D] (f64).
struct DecoderGolden {
  std::vector<int32_t> ids;
  std::vector<double> last;  // hidden_states[-1], [T, D] row-major
  int64_t T = 0, D = 0;
};

DecoderGolden load_decoder_golden(const std::string& name) {
  auto f = io::SafeTensorsFile::open(model_dir(name) / "golden" / "logits.safetensors");
  DecoderGolden g;
  for (int64_t id : f.tensor("input_ids").to_vector<int64_t>()) g.ids.push_back(int32_t(id));
  const Tensor h = f.tensor("hidden_states", DType::f64);  // [L + 1, T, D]
  g.T = h.shape(1);
  g.D = h.shape(2);
  const auto all = h.to_vector<double>();
  g.last.assign(all.end() - g.T * g.D, all.end());
  return g;
}

// The reference for a prefix of `len` golden tokens: causal attention makes hidden states of the
// prefix equal the full sequence's first `len` rows.
std::vector<double> reference(const DecoderGolden& g, int64_t len, Pooling p, bool normalize) {
  std::vector<double> v(size_t(g.D), 0.0);
  for (int64_t d = 0; d < g.D; ++d) {
    if (p == Pooling::last) {
      v[size_t(d)] = g.last[size_t((len - 1) * g.D + d)];
    } else {
      for (int64_t t = 0; t < len; ++t) v[size_t(d)] += g.last[size_t(t * g.D + d)];
      v[size_t(d)] /= double(len);
    }
  }
  if (normalize) {
    double n = 0;
    for (double x : v) n += x * x;
    n = std::max(std::sqrt(n), 1e-12);
    for (double& x : v) x /= n;
  }
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

// Prefix lengths of the golden prompt, unsorted on purpose (encode sorts and restores order).
const std::vector<int64_t> kLengths = {24, 3, 17, 1, 10, 24, 6};

class DecoderGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(DecoderGoldens, DefaultsAreLastTokenNormalised) {
  const Embedder e = Embedder::load(model_dir(GetParam()));
  EXPECT_EQ(e.pooling(), Pooling::last);
  EXPECT_TRUE(e.normalize());
  EXPECT_EQ(e.dim(), 64);
  EXPECT_EQ(e.max_length(), 512);
}

TEST_P(DecoderGoldens, PoolingMatchesTransformersHiddenStates) {
  const DecoderGolden g = load_decoder_golden(GetParam());
  std::vector<std::vector<int32_t>> rows;
  for (int64_t len : kLengths) rows.emplace_back(g.ids.begin(), g.ids.begin() + len);
  for (Pooling p : {Pooling::last, Pooling::mean}) {
    for (bool normalize : {true, false}) {
      // All rows in one right-padded batch, and each row alone.
      for (int64_t budget : {1 << 20, 1}) {
        EmbedOptions o;
        o.pooling = p;
        o.normalize = normalize;
        o.batch_tokens = budget;
        const Tensor out = Embedder::load(model_dir(GetParam()), o).encode_ids(rows);
        ASSERT_EQ(out.shape(), (Shape{int64_t(rows.size()), g.D}));
        const auto v = out.to_vector<float>();
        double worst = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
          const std::vector<float> row(v.begin() + long(i * size_t(g.D)),
                                       v.begin() + long((i + 1) * size_t(g.D)));
          const double err = max_abs_diff(row, reference(g, kLengths[i], p, normalize));
          worst = std::max(worst, err);
          EXPECT_LE(err, kDecoderAtol) << pooling_name(p) << " normalize " << normalize
                                       << " budget " << budget << " length " << kLengths[i];
        }
        std::printf("[ figures  ] %s %s normalize=%d budget=%lld max|diff| = %.3g\n",
                    GetParam().c_str(), pooling_name(p), int(normalize),
                    static_cast<long long>(budget), worst);
      }
    }
  }
}

TEST_P(DecoderGoldens, BatchCompositionDoesNotChangeResults) {
  const DecoderGolden g = load_decoder_golden(GetParam());
  std::vector<std::vector<int32_t>> rows;
  for (int64_t len : kLengths) rows.emplace_back(g.ids.begin(), g.ids.begin() + len);
  EmbedOptions one, all;
  one.batch_tokens = 1;
  all.batch_tokens = 1 << 20;
  const auto a = Embedder::load(model_dir(GetParam()), one).encode_ids(rows).to_vector<float>();
  const auto b = Embedder::load(model_dir(GetParam()), all).encode_ids(rows).to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  std::printf("[ figures  ] %s alone vs padded batch max|diff| = %.3g\n", GetParam().c_str(),
              worst);
  EXPECT_LE(worst, 1e-6);
  // Texts: order preserved, duplicates equal, same as their token ids.
  const Embedder e = Embedder::load(model_dir(GetParam()), all);
  const std::vector<std::string> texts = {"a longer sentence about the quick brown fox", "hi",
                                          "the fox", "hi"};
  const auto t = e.encode(texts).to_vector<float>();
  const auto ids = e.token_ids(texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto alone = e.encode_ids({ids[i]}).to_vector<float>();
    for (int64_t d = 0; d < g.D; ++d)
      EXPECT_NEAR(t[i * size_t(g.D) + size_t(d)], alone[size_t(d)], 1e-6) << "text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Embed, DecoderGoldens,
                         ::testing::Values("llama", "qwen2", "qwen3", "mistral"));

// A Qwen3-Embedding-style folder built from the qwen3 fixture: keys without "model.", no lm_head,
// architectures ["Qwen3Model"], modules.json with a lasttoken Pooling and Normalize.
void make_embedding_folder(const fs::path& dir, const std::string& pooling_flag,
                           const std::vector<std::pair<std::string, std::string>>& rename = {}) {
  const fs::path src = model_dir("qwen3");
  fs::create_directories(dir / "1_Pooling");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / f, dir / f);
  auto config = io::read_json_file(src / "config.json");
  config["architectures"] = {"Qwen3Model"};
  io::write_json_file(dir / "config.json", config);
  io::Checkpoint ckpt = io::load_checkpoint(src);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& n : ckpt.names()) {
    if (!n.starts_with("model.")) continue;  // lm_head (if any) dropped
    std::string key = n.substr(6);
    for (const auto& [from, to] : rename)
      if (key == from) key = to;
    if (!key.empty()) tensors.emplace_back(key, ckpt.tensor(n));
  }
  io::write_safetensors(dir / "model.safetensors", tensors);
  write_text(
      dir / "modules.json",
      R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])");
  write_text(dir / "1_Pooling" / "config.json",
             R"({"word_embedding_dimension": 64, "pooling_mode_cls_token": false, ")" +
                 pooling_flag + R"(": true})");
}

TEST(DecoderEmbedder, Qwen3EmbeddingFolderMatchesTheCausalLmFolder) {
  TempDir tmp;
  make_embedding_folder(tmp / "emb", "pooling_mode_lasttoken");
  const Embedder st = Embedder::load(tmp / "emb");
  const Embedder plain = Embedder::load(model_dir("qwen3"));
  EXPECT_EQ(st.pooling(), Pooling::last);
  EXPECT_TRUE(st.normalize());
  const DecoderGolden g = load_decoder_golden("qwen3");
  std::vector<std::vector<int32_t>> rows;
  for (int64_t len : kLengths) rows.emplace_back(g.ids.begin(), g.ids.begin() + len);
  const auto a = st.encode_ids(rows).to_vector<float>();
  const auto b = plain.encode_ids(rows).to_vector<float>();
  EXPECT_EQ(a, b);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<float> row(a.begin() + long(i * size_t(g.D)),
                                 a.begin() + long((i + 1) * size_t(g.D)));
    EXPECT_LE(max_abs_diff(row, reference(g, kLengths[i], Pooling::last, true)), kDecoderAtol);
  }
  const std::vector<std::string> texts = {"the quick brown fox", "hello"};
  EXPECT_EQ(st.encode(texts).to_vector<float>(), plain.encode(texts).to_vector<float>());
}

TEST(DecoderEmbedder, TokenizerTemplateAppendsEndOfText) {
  // Qwen3-Embedding's tokenizer.json appends <|endoftext|> (id 0 in the fixture) to every text,
  // and truncation keeps it, as sentence-transformers tokenises.
  TempDir tmp;
  make_embedding_folder(tmp / "emb", "pooling_mode_lasttoken");
  auto tok = io::read_json_file(tmp / "emb" / "tokenizer.json");
  tok["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
    "single": [{"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
             {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
    "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [0],
                                         "tokens": ["<|endoftext|>"]}}})");
  io::write_json_file(tmp / "emb" / "tokenizer.json", tok);
  const Embedder st = Embedder::load(tmp / "emb");
  const Embedder plain = Embedder::load(model_dir("qwen3"));
  const std::string text = "the quick brown fox";
  auto want = plain.token_ids({text})[0];
  want.push_back(0);
  EXPECT_EQ(st.token_ids({text})[0], want);
  EXPECT_EQ(st.encode({text}).to_vector<float>(), plain.encode_ids({want}).to_vector<float>());
  EmbedOptions o;
  o.max_length = 4;
  const auto cut = Embedder::load(tmp / "emb", o).token_ids({text})[0];
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(cut.back(), 0);
}

TEST(DecoderEmbedder, HalfPrecisionWeightsAreComputedInF32) {
  // bf16 weights are widened once at load: the vectors equal those of an f32 copy of the weights.
  TempDir tmp;
  const fs::path src = model_dir("llama_bf16"), f32 = tmp / "f32";
  copy_model(src, f32);
  io::Checkpoint ckpt = io::load_checkpoint(src);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& n : ckpt.names()) {
    ASSERT_EQ(ckpt.tensor(n).dtype(), DType::bf16) << n;
    tensors.emplace_back(n, ckpt.tensor(n, DType::f32));
  }
  io::write_safetensors(f32 / "model.safetensors", tensors);
  const std::vector<std::string> texts = {"the quick brown fox", "hello", ""};
  const auto a = Embedder::load(src).encode(texts);
  EXPECT_EQ(a.dtype(), DType::f32);
  EXPECT_EQ(a.to_vector<float>(), Embedder::load(f32).encode(texts).to_vector<float>());
}

TEST(DecoderEmbedder, PoolingModuleOverridesTheDecoderDefault) {
  TempDir tmp;
  make_embedding_folder(tmp / "emb", "pooling_mode_mean_tokens");
  const Embedder e = Embedder::load(tmp / "emb");
  EXPECT_EQ(e.pooling(), Pooling::mean);
  const DecoderGolden g = load_decoder_golden("qwen3");
  const auto v = e.encode_ids({g.ids}).to_vector<float>();
  EXPECT_LE(max_abs_diff(v, reference(g, g.T, Pooling::mean, true)), kDecoderAtol);
}

// sentence-transformers 6 on the Qwen3-Embedding-style folder that tools/golden/make_goldens.py
// (section qwen3_embedding) writes: left padding with an attention mask there, right padding and
// no mask here; <|endoftext|> appended by the tokenizer; the query prompt as a prefix.
TEST(DecoderEmbedder, Qwen3EmbeddingMatchesSentenceTransformers) {
  const fs::path dir = model_dir("qwen3_embedding");
  if (!fs::exists(dir / "golden" / "golden.json"))
    GTEST_SKIP() << "fixture models/qwen3_embedding not generated yet (make_goldens.py --only "
                    "qwen3_embedding on the GPU host)";
  const auto j = io::read_json_file(dir / "golden" / "golden.json");
  const auto texts = j["texts"].get<std::vector<std::string>>();
  auto f = io::SafeTensorsFile::open(dir / "golden" / "embeddings.safetensors");
  const Embedder e = Embedder::load(dir);
  EXPECT_EQ(e.pooling(), Pooling::last);
  EXPECT_TRUE(e.normalize());
  EXPECT_EQ(e.max_length(), j["loaded_max_seq_length"].get<int64_t>());
  EXPECT_EQ(e.token_ids(texts), (j["token_ids"].get<std::vector<std::vector<int32_t>>>()));
  for (int64_t budget : {1 << 20, 100, 1}) {
    EmbedOptions o;
    o.batch_tokens = budget;
    const Tensor out = Embedder::load(dir, o).encode(texts);
    EXPECT_TRUE(wick::testing::allclose(out, f.tensor("batch"), kDecoderAtol, 0))
        << "budget " << budget;
    EXPECT_TRUE(wick::testing::allclose(out, f.tensor("single"), kDecoderAtol, 0))
        << "budget " << budget;
  }
  EmbedOptions q;
  q.prefix = j["query_prompt"].get<std::string>();
  const Embedder qe = Embedder::load(dir, q);
  EXPECT_EQ(qe.token_ids(texts), (j["query_token_ids"].get<std::vector<std::vector<int32_t>>>()));
  EXPECT_TRUE(wick::testing::allclose(qe.encode(texts), f.tensor("query"), kDecoderAtol, 0));
}

template <typename E>
void expect_error_naming(const fs::path& dir, const std::string& needle) {
  try {
    Embedder::load(dir);
    ADD_FAILURE() << "no error for " << dir;
  } catch (const E& err) {
    EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
  }
}

TEST(DecoderEmbedder, BadFoldersNameTheTensorOrArchitecture) {
  TempDir tmp;
  // A stored tensor that is no parameter of the body.
  make_embedding_folder(tmp / "extra", "pooling_mode_lasttoken", {{"norm.weight", "final.scale"}});
  expect_error_naming<IoError>(tmp / "extra", "final.scale");
  // A missing one: dropped norm.weight.
  make_embedding_folder(tmp / "missing", "pooling_mode_lasttoken", {{"norm.weight", ""}});
  expect_error_naming<IoError>(tmp / "missing", "'norm.weight'");
  // An architecture the embedder does not run.
  make_embedding_folder(tmp / "arch", "pooling_mode_lasttoken");
  auto config = io::read_json_file(tmp / "arch" / "config.json");
  config["architectures"] = {"Qwen3ForSequenceClassification"};
  io::write_json_file(tmp / "arch" / "config.json", config);
  expect_error_naming<ValueError>(tmp / "arch", "Qwen3ForSequenceClassification");
  // Token ids longer than the maximum length.
  EmbedOptions o;
  o.max_length = 8;
  const Embedder e = Embedder::load(model_dir("qwen3"), o);
  EXPECT_THROW(e.encode_ids({std::vector<int32_t>(9, 5)}), ValueError);
  EXPECT_EQ(e.token_ids({std::string(200, 'a')})[0].size(), 8u);
}

}  // namespace
}  // namespace wick::embed
