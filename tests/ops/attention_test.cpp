// scaled_dot_product_attention: f64 loop reference with GQA, causal offset and additive/bool
// masks in several broadcast shapes, every float dtype, non-contiguous q, gradients, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::allclose;

// mask(b, h, t, s) additive (may be -inf); causal with offset S - T.
std::vector<double> ref_attn(
    const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
    int64_t B, int64_t H, int64_t Hkv, int64_t T, int64_t S, int64_t Dh, bool causal, double scale,
    const std::function<double(int64_t, int64_t, int64_t, int64_t)>& mask) {
  std::vector<double> out(size_t(B * H * T * Dh));
  const int64_t G = H / Hkv;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t kh = h / G;
        std::vector<double> sc(static_cast<size_t>(S));
        double m = -INFINITY;
        for (int64_t s = 0; s < S; ++s) {
          double d = 0;
          for (int64_t i = 0; i < Dh; ++i)
            d += q[size_t(((b * H + h) * T + t) * Dh + i)] *
                 k[size_t(((b * Hkv + kh) * S + s) * Dh + i)];
          d = d * scale + mask(b, h, t, s);
          if (causal && s > t + S - T) d = -INFINITY;
          sc[size_t(s)] = d;
          m = std::max(m, d);
        }
        double z = 0;
        for (auto& x : sc) z += (x = std::exp(x - m));
        for (int64_t i = 0; i < Dh; ++i) {
          double acc = 0;
          for (int64_t s = 0; s < S; ++s)
            acc += sc[size_t(s)] / z * v[size_t(((b * Hkv + kh) * S + s) * Dh + i)];
          out[size_t(((b * H + h) * T + t) * Dh + i)] = acc;
        }
      }
  return out;
}

TEST(Attention, MatchesLoopReferenceWithGqaCausalAndMasks) {
  struct Dims {
    int64_t B, H, Hkv, T, S, Dh;
  } dims[] = {{2, 4, 2, 3, 5, 7}, {1, 3, 3, 1, 1, 4}, {1, 6, 1, 4, 4, 8}, {2, 2, 1, 5, 9, 3}};
  int seed = 0;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (const auto& d : dims)
      for (int variant = 0; variant < 4; ++variant) {
        Tensor q = astype(testing::randn({d.B, d.H, d.T, d.Dh}, ++seed), dt);
        Tensor k = astype(testing::randn({d.B, d.Hkv, d.S, d.Dh}, ++seed), dt);
        Tensor v = astype(testing::randn({d.B, d.Hkv, d.S, d.Dh}, ++seed), dt);
        bool causal = variant % 2 == 1;
        std::optional<Tensor> mask;
        std::function<double(int64_t, int64_t, int64_t, int64_t)> mf = [](int64_t, int64_t, int64_t,
                                                                          int64_t) { return 0.0; };
        std::vector<double> mv;
        if (variant == 2) {  // per-head additive mask [B, H, T, S]
          mask = astype(testing::randn({d.B, d.H, d.T, d.S}, ++seed), dt);
          mv = mask->to_vector<double>();
          mf = [&, d](int64_t b, int64_t h, int64_t t, int64_t s) {
            return mv[size_t(((b * d.H + h) * d.T + t) * d.S + s)];
          };
        } else if (variant == 3) {  // padding-style bool mask [B, 1, 1, S]: last key of batch 0 off
          std::vector<int64_t> keep(size_t(d.B * d.S), 1);
          if (d.S > 1) keep[size_t(d.S - 1)] = 0;
          mask = equal(from_vector(keep, {d.B, 1, 1, d.S}), ones({}, DType::i64));
          mf = [keep, d](int64_t b, int64_t, int64_t, int64_t s) {
            return keep[size_t(b * d.S + s)] ? 0.0 : -INFINITY;
          };
        }
        double scale = variant == 2 ? 0.3 : 1.0 / std::sqrt(double(d.Dh));
        auto ref = ref_attn(q.to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(),
                            d.B, d.H, d.Hkv, d.T, d.S, d.Dh, causal, scale, mf);
        Tensor y =
            scaled_dot_product_attention(q, k, v, mask, causal ? Causal::yes : Causal::no,
                                         variant == 2 ? std::optional<double>(0.3) : std::nullopt);
        EXPECT_EQ(y.shape(), (Shape{d.B, d.H, d.T, d.Dh}));
        auto tol = testing::default_tol(dt);
        // f32: matmul + softmax + matmul, measured error ~1e-6.
        double atol = dt == DType::f32 ? 1e-5 : tol.atol, rtol = dt == DType::f32 ? 1e-4 : tol.rtol;
        if (dt == DType::bf16 || dt == DType::f16) atol *= 4;  // three rounded stages
        EXPECT_TRUE(allclose(y, ref, atol, rtol))
            << dtype_name(dt) << " dims " << d.H << "/" << d.Hkv << " T" << d.T << " S" << d.S
            << " variant " << variant;
      }
}

TEST(Attention, NonContiguousQueryAndTwoDimMask) {
  // q from a [B, T, H, Dh] projection, viewed as [B, H, T, Dh]; mask [T, S] broadcast.
  Tensor qb = testing::randn({1, 3, 4, 5}, 71, DType::f32);
  qb.eval();
  Tensor q = transpose(qb, 1, 2);
  Tensor k = testing::randn({1, 2, 6, 5}, 72, DType::f32),
         v = testing::randn({1, 2, 6, 5}, 73, DType::f32);
  Tensor m = testing::randn({3, 6}, 74, DType::f32);
  auto mv = m.to_vector<double>();
  auto ref =
      ref_attn(contiguous(q).to_vector<double>(), k.to_vector<double>(), v.to_vector<double>(), 1,
               4, 2, 3, 6, 5, true, 1 / std::sqrt(5.0),
               [&](int64_t, int64_t, int64_t t, int64_t s) { return mv[size_t(t * 6 + s)]; });
  EXPECT_TRUE(allclose(scaled_dot_product_attention(q, k, v, m, Causal::yes), ref, 1e-5, 1e-4));
}

TEST(Attention, GradientsThroughGqaCausalAndMask) {
  Tensor q = testing::randn({1, 4, 3, 3}, 81), k = testing::randn({1, 2, 4, 3}, 82);
  Tensor v = testing::randn({1, 2, 4, 3}, 83), m = testing::randn({1, 4, 3, 4}, 84);
  EXPECT_TRUE(testing::check_grad(
      [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], in[3], Causal::yes);
      },
      {q, k, v, m}));
}

TEST(Attention, BadInputsNameTheOp) {
  Tensor q = zeros({1, 4, 3, 8}), k = zeros({1, 2, 5, 8});
  auto expect_msg = [](auto&& f) {
    try {
      f();
      ADD_FAILURE() << "no throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("[scaled_dot_product_attention]"), std::string::npos)
          << e.what();
    }
  };
  expect_msg([&] { scaled_dot_product_attention(q, zeros({1, 3, 5, 8}), zeros({1, 3, 5, 8})); });
  expect_msg([&] { scaled_dot_product_attention(q, k, zeros({1, 2, 4, 8})); });
  expect_msg([&] { scaled_dot_product_attention(q, zeros({1, 2, 5, 7}), zeros({1, 2, 5, 7})); });
  expect_msg([&] { scaled_dot_product_attention(q, astype(k, DType::f64), k); });
  expect_msg([&] { scaled_dot_product_attention(zeros({4, 3, 8}), k, k); });
  expect_msg([&] { scaled_dot_product_attention(q, k, k, zeros({2, 5})); });
  expect_msg([&] { scaled_dot_product_attention(q, k, k, zeros({3, 5}, DType::f16)); });
  expect_msg([&] {
    scaled_dot_product_attention(zeros({1, 2, 6, 8}), k, k, std::nullopt, Causal::yes);
  });
}

}  // namespace
}  // namespace wick
