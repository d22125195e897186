// rope: f64 loop reference, both layouts, offsets and explicit positions, every float dtype,
// non-contiguous x, bit-exact agreement with the transformers-style composition, gradients,
// errors.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::allclose;

// pos(b, t) -> position; angles in f32 like transformers, the rotation in f64.
std::vector<double> ref_rope(const std::vector<double>& x, const Shape& s,
                             const std::vector<float>& inv, RopeLayout layout,
                             const std::function<int64_t(int64_t, int64_t)>& pos) {
  const int64_t B = s[0], H = s[1], T = s[2], Dh = s[3], half = Dh / 2;
  std::vector<double> y(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        size_t base = size_t(((b * H + h) * T + t) * Dh);
        for (int64_t i = 0; i < half; ++i) {
          float f = float(pos(b, t)) * inv[size_t(i)];
          double c = std::cos(f), sn = std::sin(f);
          int64_t i1 = layout == RopeLayout::rotate_half ? i : 2 * i;
          int64_t i2 = layout == RopeLayout::rotate_half ? i + half : 2 * i + 1;
          double x1 = x[base + size_t(i1)], x2 = x[base + size_t(i2)];
          y[base + size_t(i1)] = x1 * c - x2 * sn;
          y[base + size_t(i2)] = x2 * c + x1 * sn;
        }
      }
  return y;
}

const RopeLayout kLayouts[] = {RopeLayout::rotate_half, RopeLayout::interleaved};

TEST(Rope, MatchesLoopReferenceAllDtypesLayoutsAndPositions) {
  const Shape shapes[] = {{2, 3, 5, 8}, {1, 1, 127, 2}, {1, 2, 3, 64}};
  int seed = 0;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (const auto& s : shapes)
      for (RopeLayout layout : kLayouts) {
        Tensor x = astype(testing::randn(s, ++seed), dt);
        Tensor inv = rope_inv_freq(s[3], 10000.0);
        auto iv = inv.to_vector<float>();
        auto xv = x.to_vector<double>();
        auto tol = testing::default_tol(dt);
        // f32: cos/sin of angles up to ~4000 rad in f32 vs the same in f64: ~3e-7 abs.
        double atol = dt == DType::f32 ? 2e-6 : tol.atol;
        const int64_t offset = 4000;
        EXPECT_TRUE(
            allclose(rope(x, inv, offset, layout),
                     ref_rope(xv, s, iv, layout, [&](int64_t, int64_t t) { return offset + t; }),
                     atol, tol.rtol))
            << dtype_name(dt) << shape_str(s) << int(layout);
        std::vector<int64_t> p1(static_cast<size_t>(s[2])), p2(static_cast<size_t>(s[0] * s[2]));
        for (size_t i = 0; i < p1.size(); ++i) p1[i] = int64_t(3 * i + 1);
        for (size_t i = 0; i < p2.size(); ++i) p2[i] = int64_t(i % 7) - 2;  // negative too
        EXPECT_TRUE(
            allclose(rope_positions(x, inv, from_vector(p1, {s[2]}), layout),
                     ref_rope(xv, s, iv, layout, [&](int64_t, int64_t t) { return p1[size_t(t)]; }),
                     atol, tol.rtol));
        Tensor pb = astype(from_vector(p2, {s[0], s[2]}), DType::i32);
        EXPECT_TRUE(
            allclose(rope_positions(x, inv, pb, layout),
                     ref_rope(xv, s, iv, layout,
                              [&](int64_t b, int64_t t) { return p2[size_t(b * s[2] + t)]; }),
                     atol, tol.rtol));
      }
}

TEST(Rope, FusedEqualsTransformersCompositionBitForBit) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (RopeLayout layout : kLayouts) {
      Tensor x = astype(testing::randn({2, 4, 9, 16}, 7) * 4.0, dt);
      Tensor inv = rope_inv_freq(16, 500000.0);
      Tensor pos = astype(arange(100, 109), DType::i64);
      EXPECT_TRUE(allclose(rope(x, inv, 100, layout), rope_reference(x, inv, pos, layout), 0, 0))
          << dtype_name(dt) << int(layout);
      Tensor pb = from_vector<int64_t>(
          {0, 0, 0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17}, {2, 9});
      EXPECT_TRUE(
          allclose(rope_positions(x, inv, pb, layout), rope_reference(x, inv, pb, layout), 0, 0));
    }
}

TEST(Rope, NonContiguousInputAndNaN) {
  // [B, T, H, Dh] projection output viewed as [B, H, T, Dh].
  Tensor base = testing::randn({2, 6, 3, 8}, 9, DType::f32);
  base.eval();
  Tensor x = transpose(base, 1, 2);
  Tensor inv = rope_inv_freq(8, 10000.0);
  for (RopeLayout layout : kLayouts)
    EXPECT_TRUE(
        allclose(rope(x, inv, 2, layout),
                 ref_rope(contiguous(x).to_vector<double>(), {2, 3, 6, 8}, inv.to_vector<float>(),
                          layout, [](int64_t, int64_t t) { return t + 2; }),
                 2e-6, 1e-5));
  // A NaN reaches only its rotation pair.
  std::vector<double> v(8, 1.0);
  v[1] = NAN;
  auto y = rope(from_vector(v, {1, 1, 1, 8}), inv, 3, RopeLayout::rotate_half).to_vector<double>();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(std::isnan(y[size_t(i)]), i == 1 || i == 5) << i;
}

TEST(Rope, Gradients) {
  Tensor x = testing::randn({2, 2, 3, 6}, 13);
  Tensor inv = rope_inv_freq(6, 10000.0);
  Tensor pb = from_vector<int64_t>({5, 1, 0, 2, 7, 3}, {2, 3});
  for (RopeLayout layout : kLayouts) {
    EXPECT_TRUE(testing::check_grad(
        [&](const std::vector<Tensor>& in) { return rope(in[0], inv, 11, layout); }, {x}));
    EXPECT_TRUE(testing::check_grad(
        [&](const std::vector<Tensor>& in) { return rope_positions(in[0], inv, pb, layout); },
        {x}));
    // Fused vjp equals the composition's vjp.
    Tensor g = testing::randn({2, 2, 3, 6}, 14);
    Tensor gf = vjp({rope_positions(x, inv, pb, layout)}, {g}, {x})[0];
    Tensor gr = vjp({rope_reference(x, inv, pb, layout)}, {g}, {x})[0];
    EXPECT_TRUE(allclose(gf, gr, 1e-12, 1e-12));
  }
}

TEST(Rope, InvFreqMatchesFormula) {
  auto f = rope_inv_freq(64, 10000.0).to_vector<double>();
  ASSERT_EQ(f.size(), 32u);
  for (size_t i = 0; i < f.size(); ++i)
    EXPECT_NEAR(f[i], 1.0 / std::pow(10000.0, double(2 * i) / 64.0), 1e-6 * f[i]) << i;
  EXPECT_EQ(rope_inv_freq(64, 10000.0).dtype(), DType::f32);
  EXPECT_THROW(rope_inv_freq(7, 10000.0), ValueError);
  EXPECT_THROW(rope_inv_freq(8, 0.0), ValueError);
}

TEST(Rope, BadInputsNameTheOp) {
  Tensor x = zeros({1, 2, 3, 8});
  Tensor inv = rope_inv_freq(8, 10000.0);
  auto expect_msg = [](auto&& f) {
    try {
      f();
      ADD_FAILURE() << "no throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("[rope]"), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { rope(zeros({2, 3, 8}), inv, 0, RopeLayout::rotate_half); });
  expect_msg([&] { rope(zeros({1, 2, 3, 7}), inv, 0, RopeLayout::rotate_half); });
  expect_msg([&] { rope(x, rope_inv_freq(6, 10000.0), 0, RopeLayout::rotate_half); });
  expect_msg([&] { rope(x, astype(inv, DType::f64), 0, RopeLayout::rotate_half); });
  expect_msg([&] { rope_positions(x, inv, arange(4), RopeLayout::rotate_half); });
  expect_msg([&] { rope_positions(x, inv, zeros({3}), RopeLayout::rotate_half); });
  expect_msg([&] { rope_positions(x, inv, arange(6), RopeLayout::interleaved); });
  EXPECT_THROW(rope(arange(24), inv, 0, RopeLayout::rotate_half), ShapeError);
}

}  // namespace
}  // namespace wick
