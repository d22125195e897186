// BertModel loading (prefix, dtypes, missing / misshapen tensors) and pool() against loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "embed/embed_test_util.h"
#include "testing/testing.h"
#include "wick/embed/embedder.h"
#include "wick/models/bert.h"
#include "wick/ops.h"

namespace wick::embed {
namespace {

using namespace wick::embed::testing;

// Rewrites bert_mean's weights into `dir` through `edit(name, tensor)` (return an invalid Tensor
// to drop one), plus extra tensors.
void rewrite(const std::filesystem::path& dir,
             const std::function<std::pair<std::string, Tensor>(const std::string&, Tensor)>& edit,
             std::vector<std::pair<std::string, Tensor>> extra = {}) {
  copy_model(model_dir("bert_mean"), dir);
  auto ck = io::load_checkpoint(model_dir("bert_mean"));
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& n : ck.names()) {
    auto [name, t] = edit(n, ck.tensor(n));
    if (t.valid()) out.emplace_back(name, t);
  }
  for (auto& e : extra) out.push_back(e);
  io::write_safetensors(dir / "model.safetensors", out);
}

TEST(Bert, PrefixedKeysAndPoolerAreAccepted) {
  TempDir tmp;
  // The fixture stores the pooler too (pooler.dense.*): it is ignored, with or without "bert.".
  ASSERT_TRUE(io::load_checkpoint(model_dir("bert_mean")).contains("pooler.dense.weight"));
  rewrite(tmp / "m", [](const std::string& n, Tensor t) { return std::pair{"bert." + n, t}; });
  const Golden g = load_golden("bert_mean");
  EXPECT_TRUE(
      wick::testing::allclose(Embedder::load(tmp / "m").encode(g.texts), to_f64(g.batch), 1e-5, 0));
}

TEST(Bert, HalfPrecisionWeightsAreWidened) {
  const Golden g = load_golden("bert_mean");
  for (DType dt : {DType::bf16, DType::f16}) {
    TempDir tmp;
    rewrite(tmp / "m", [dt](const std::string& n, Tensor t) {
      return std::pair{n, astype(t, dt)};
    });
    // Weights rounded to 8 (bf16) or 11 (f16) bits: the vectors move by up to ~1e-2 / ~1e-3.
    const double tol = dt == DType::bf16 ? 5e-2 : 5e-3;
    EXPECT_TRUE(
        wick::testing::allclose(Embedder::load(tmp / "m").encode(g.texts), to_f64(g.batch), tol, 0))
        << dtype_name(dt);
  }
}

TEST(Bert, MissingOrMisshapenTensorIsNamed) {
  TempDir tmp;
  const std::string key = "encoder.layer.1.output.dense.bias";
  rewrite(tmp / "a", [&](const std::string& n, Tensor t) {
    return std::pair{n, n == key ? Tensor() : t};
  });
  try {
    models::BertModel::load(tmp / "a");
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor '" + key + "'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  rewrite(tmp / "b", [&](const std::string& n, Tensor t) {
    return std::pair{n, n == key ? zeros({31}) : t};
  });
  try {
    models::BertModel::load(tmp / "b");
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + key + "' has shape [31]; expected [32]"),
              std::string::npos)
        << e.what();
  }
}

TEST(Pool, EveryModeAgainstLoops) {
  const int64_t B = 3, T = 5, D = 4;
  std::vector<double> h = wick::testing::randn({B, T, D}, 7).to_vector<double>();
  // Row 1 padded after 2 tokens, row 2 after 1; a NaN in a padded position must not leak.
  const std::vector<int32_t> m = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  h[size_t((1 * T + 3) * D + 2)] = std::numeric_limits<double>::quiet_NaN();
  const Tensor hidden = astype(from_vector(h, {B, T, D}), DType::f32);
  const Tensor mask = from_vector(m, {B, T});
  for (Pooling p : {Pooling::cls, Pooling::mean, Pooling::max, Pooling::last}) {
    std::vector<double> want(size_t(B * D));
    for (int64_t b = 0; b < B; ++b) {
      int64_t n = 0, last = 0;
      for (int64_t t = 0; t < T; ++t)
        if (m[size_t(b * T + t)]) ++n, last = t;
      for (int64_t d = 0; d < D; ++d) {
        auto at = [&](int64_t t) { return double(float(h[size_t((b * T + t) * D + d)])); };
        double v = 0;
        if (p == Pooling::cls) v = at(0);
        if (p == Pooling::last) v = at(last);
        if (p == Pooling::mean) {
          for (int64_t t = 0; t < n; ++t) v += at(t) / double(n);
        }
        if (p == Pooling::max) {
          v = -1e300;
          for (int64_t t = 0; t < n; ++t) v = std::max(v, at(t));
        }
        want[size_t(b * D + d)] = v;
      }
    }
    EXPECT_TRUE(wick::testing::allclose(pool(hidden, mask, p), want, 1e-6, 1e-6))
        << pooling_name(p);
  }
  EXPECT_THROW(pool(hidden, from_vector(m, {T, B}), Pooling::mean), ShapeError);
  EXPECT_THROW(parse_pooling("median"), ValueError);
}

TEST(Folder, UnsupportedModulesAndPoolingAreErrors) {
  TempDir tmp;
  copy_model(model_dir("bert_mean"), tmp / "m");
  write_text(tmp / "m" / "1_Pooling" / "config.json", R"({"pooling_mode": "weightedmean"})");
  EXPECT_THROW(Embedder::load(tmp / "m"), NotImplemented);
  write_text(tmp / "m" / "1_Pooling" / "config.json", R"({"pooling_mode_cls_token": "yes"})");
  EXPECT_THROW(Embedder::load(tmp / "m"), IoError);
  write_text(tmp / "m" / "1_Pooling" / "config.json", R"({"pooling_mode": "max"})");
  EXPECT_EQ(Embedder::load(tmp / "m").pooling(), Pooling::max);
  write_text(tmp / "m" / "modules.json",
             R"([{"type": "sentence_transformers.models.Transformer", "path": ""},
                 {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
                 {"type": "sentence_transformers.models.Dense", "path": "2_Dense"}])");
  EXPECT_THROW(Embedder::load(tmp / "m"), NotImplemented);
  EXPECT_THROW(Embedder::load(tmp / "nothing"), IoError);
}

}  // namespace
}  // namespace wick::embed
