// Packed rows through the models' forward: several documents in one row with positions restarting
// at each document and a block-diagonal causal mask give, at every document's tokens, the logits
// of that document run alone (fixture models, and the tiny sliding-window Mistral); explicit
// positions equal the implicit ones; bad positions or masks are typed errors.
#include <gtest/gtest.h>

#include <limits>

#include "tiny_model.h"
#include "wick/models/llama.h"

namespace wick::testing {
namespace {

using Docs = std::vector<std::vector<int64_t>>;

std::unique_ptr<models::CausalLM> fixture_model(const std::string& name) {
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  return models::load_causal_lm(fixtures_dir() / "models" / name, lo);
}

std::unique_ptr<models::CausalLM> tiny(const std::string& arch) {
  auto m = models::make_causal_lm(io::parse_llama_config(tiny_config_json(arch), arch), DType::f32);
  auto w = tiny_weights(*m, 3);
  std::vector<std::string> names;
  for (auto& [k, v] : w) names.push_back(k);
  models::load_weights(
      *m, names, [&](const std::string& k) { return w.at(k); }, "tiny");
  return m;
}

// One packed batch built by plain loops: rows of documents, right-padded with `pad` to the longest
// row; positions restart per document; mask[r, 0, q, k] = 0 when k <= q in the same document (a
// padding token sees only itself), else -inf (or the same as bool when `as_bool`).
struct Packed {
  Tensor ids, positions, mask;
  int64_t T = 0;
};
Packed pack_rows(const std::vector<Docs>& rows, int64_t pad, bool as_bool = false) {
  Packed p;
  for (const auto& r : rows) {
    int64_t n = 0;
    for (const auto& d : r) n += int64_t(d.size());
    p.T = std::max(p.T, n);
  }
  const int64_t B = int64_t(rows.size()), T = p.T;
  std::vector<int64_t> ids(size_t(B * T), pad), pos(size_t(B * T), 0), doc(size_t(B * T), -1);
  for (int64_t r = 0; r < B; ++r) {
    int64_t t = 0;
    for (size_t d = 0; d < rows[size_t(r)].size(); ++d)
      for (size_t i = 0; i < rows[size_t(r)][d].size(); ++i, ++t) {
        ids[size_t(r * T + t)] = rows[size_t(r)][d][i];
        pos[size_t(r * T + t)] = int64_t(i);
        doc[size_t(r * T + t)] = int64_t(d);
      }
  }
  std::vector<float> add(size_t(B * T * T), -std::numeric_limits<float>::infinity());
  std::vector<float> keep(size_t(B * T * T), 0);
  for (int64_t r = 0; r < B; ++r)
    for (int64_t q = 0; q < T; ++q)
      for (int64_t k = 0; k <= q; ++k) {
        const int64_t dq = doc[size_t(r * T + q)], dk = doc[size_t(r * T + k)];
        if (dq == dk && (dq >= 0 || q == k)) {
          add[size_t((r * T + q) * T + k)] = 0;
          keep[size_t((r * T + q) * T + k)] = 1;
        }
      }
  p.ids = from_vector(ids, {B, T});
  p.positions = from_vector(pos, {B, T});
  p.mask =
      as_bool ? from_vector(keep, {B, 1, T, T}, DType::boolean) : from_vector(add, {B, 1, T, T});
  return p;
}

// Max |packed logits - logits of each document alone| over every document token.
double packed_vs_alone(models::CausalLM& m, const std::vector<Docs>& rows, bool as_bool = false) {
  const Packed p = pack_rows(rows, 0, as_bool);
  models::ForwardInputs in;
  in.positions = p.positions;
  in.mask = p.mask;
  const Tensor logits = m.forward(p.ids, nullptr, models::LogitsFor::all, nullptr, in);
  const int64_t V = logits.shape(2);
  EXPECT_EQ(logits.shape(), (Shape{int64_t(rows.size()), p.T, V}));
  const auto got = logits.to_vector<double>();
  double worst = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    int64_t t0 = 0;
    for (const auto& d : rows[r]) {
      const int64_t n = int64_t(d.size());
      const auto alone = m.forward(from_vector(d, {1, n})).to_vector<double>();
      for (int64_t t = 0; t < n; ++t)
        for (int64_t v = 0; v < V; ++v) {
          const double e =
              std::abs(got[size_t((int64_t(r) * p.T + t0 + t) * V + v)] - alone[size_t(t * V + v)]);
          if (!(e <= worst)) worst = e;  // NaN propagates
        }
      t0 += n;
    }
  }
  return worst;
}

const Docs kDocs = {{1, 57, 203, 9, 9, 88, 140},
                    {1, 12, 300, 45, 6},
                    {1, 77, 31, 250},
                    {1, 5, 6, 7, 8, 9, 10, 11, 12}};

class PackedFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(PackedFixture, EachDocumentGetsItsLogitsAlone) {
  auto m = fixture_model(GetParam());
  // Row 0: three documents; row 1: two documents then padding.
  const std::vector<Docs> rows = {{kDocs[0], kDocs[1], kDocs[2]}, {kDocs[3], kDocs[1]}};
  const double additive = packed_vs_alone(*m, rows);
  const double boolean = packed_vs_alone(*m, rows, true);
  // f32 throughout; measured ~1e-6 on logits of magnitude ~1.
  EXPECT_LT(additive, 1e-5) << GetParam();
  EXPECT_LT(boolean, 1e-5) << GetParam();
  RecordProperty("max_abs", fmt::format("additive {:.2e}, bool {:.2e}", additive, boolean));
}

TEST_P(PackedFixture, WithoutTheMaskDocumentsDoSeeEachOther) {
  // The check above can fail: restarted positions alone leave the second document attending to
  // the first one, which changes its logits.
  auto m = fixture_model(GetParam());
  const Packed p = pack_rows({{kDocs[0], kDocs[1]}}, 0);
  models::ForwardInputs in;
  in.positions = p.positions;
  const auto got = m->forward(p.ids, nullptr, models::LogitsFor::all, nullptr, in);
  const int64_t n0 = int64_t(kDocs[0].size()), n1 = int64_t(kDocs[1].size());
  const Tensor alone = m->forward(from_vector(kDocs[1], {1, n1}));
  const auto d = (slice(got, 1, n0, n0 + n1) - alone).to_vector<double>();
  double worst = 0;
  for (double x : d) worst = std::max(worst, std::abs(x));
  EXPECT_GT(worst, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Models, PackedFixture,
                         ::testing::Values("llama", "qwen2", "qwen3", "mistral"));

TEST(Packed, SlidingWindowAppliesInsideEachDocument) {
  // The tiny Mistral has a window of 5: documents of 9 and 7 tokens use it, and packed they still
  // get their own logits (the window counts row indices; inside a document those are positions).
  auto m = tiny("mistral");
  const Docs docs = {{0, 5, 17, 3, 3, 29, 8, 2, 11}, {0, 30, 4, 4, 12, 19, 7}, {0, 9, 9}};
  EXPECT_LT(packed_vs_alone(*m, {{docs[0], docs[1], docs[2]}, {docs[2], docs[0]}}), 1e-5);
  EXPECT_LT(packed_vs_alone(*m, {{docs[1], docs[0]}}, true), 1e-5);
}

TEST(Packed, TinyArchitecturesWithRopeScaling) {
  // llama3 and linear rope scaling with explicit positions.
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    auto m = tiny(arch);
    const Docs docs = {{0, 5, 17, 3, 3, 29}, {0, 30, 4, 4, 12, 19, 7, 8, 2, 1}};
    EXPECT_LT(packed_vs_alone(*m, {{docs[0], docs[1]}, {docs[1]}}), 1e-5) << arch;
  }
}

TEST(Packed, Bf16ComputeCastsTheAdditiveMask) {
  // The f32 mask is cast to the bf16 compute dtype (-inf and 0 are exact in bf16).
  models::LoadOptions lo;
  lo.dtype = DType::bf16;
  auto m = models::load_causal_lm(fixtures_dir() / "models/qwen2", lo);
  const double err = packed_vs_alone(*m, {{kDocs[0], kDocs[1]}, {kDocs[2]}});
  EXPECT_LT(err, 0.05);
  RecordProperty("max_abs", fmt::format("{:.2e}", err));
}

TEST(Packed, ExplicitPositionsEqualImplicitOnes) {
  auto m = fixture_model("qwen3");
  const Tensor ids = from_vector<int64_t>({1, 57, 203, 9, 9, 88, 1, 12, 300, 45, 6, 7}, {2, 6});
  models::ForwardInputs in;
  in.positions = from_vector<int32_t>({0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, {2, 6});
  EXPECT_TRUE(allclose(m->forward(ids, nullptr, models::LogitsFor::all, nullptr, in),
                       m->forward(ids), 0, 0));
  // With a cache: explicit positions 3..5 after a 3-token prefix equal the implicit offset.
  models::KVCache ca = m->make_cache(2, 9), cb = m->make_cache(2, 9);
  m->forward(slice(ids, 1, 0, 3), &ca);
  m->forward(slice(ids, 1, 0, 3), &cb);
  models::ForwardInputs shifted;
  shifted.positions = from_vector<int64_t>({3, 4, 5, 3, 4, 5}, {2, 3});
  const Tensor a = m->forward(slice(ids, 1, 3, 6), &ca);
  const Tensor b = m->forward(slice(ids, 1, 3, 6), &cb, models::LogitsFor::all, nullptr, shifted);
  EXPECT_TRUE(allclose(b, a, 0, 0));
}

TEST(Packed, BadPositionsAndMasksAreTypedErrors) {
  auto m = fixture_model("llama");
  const Tensor ids = from_vector<int64_t>({1, 2, 3, 4}, {1, 4});
  auto run = [&](std::optional<Tensor> pos, std::optional<Tensor> mask) {
    models::ForwardInputs in;
    in.positions = pos;
    in.mask = mask;
    return m->forward(ids, nullptr, models::LogitsFor::all, nullptr, in);
  };
  EXPECT_THROW(run(from_vector<int64_t>({0, 1, 2}, {1, 3}), std::nullopt), ShapeError);
  EXPECT_THROW(run(from_vector<float>({0, 1, 2, 3}, {1, 4}), std::nullopt), DtypeError);
  EXPECT_THROW(run(std::nullopt, zeros({1, 1, 4, 3})), ShapeError);
  EXPECT_THROW(run(std::nullopt, zeros({2, 1, 4, 4})), ShapeError);
  EXPECT_THROW(run(std::nullopt, zeros({1, 1, 1, 4, 4})), ShapeError);
  EXPECT_THROW(run(std::nullopt, zeros({1, 1, 4, 4}, DType::i32)), DtypeError);
  // Broadcast masks are accepted: a zero [T, S] mask changes nothing.
  EXPECT_TRUE(allclose(run(std::nullopt, zeros({4, 4})), m->forward(ids), 0, 0));
}

}  // namespace
}  // namespace wick::testing
