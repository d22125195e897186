// rms_norm / layer_norm: f64 loop references, every float dtype and mixed x/weight dtypes,
// awkward sizes, non-contiguous inputs, NaN rows, gradients for x, weight and bias, fused vs
// composition, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::allclose;

// Rows of the last axis; weight/bias may be empty.
std::vector<double> ref_rms(const std::vector<double>& x, int64_t D, const std::vector<double>& w,
                            double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r * size_t(D) < x.size(); ++r) {
    double ss = 0;
    for (int64_t i = 0; i < D; ++i)
      ss += x[r * size_t(D) + size_t(i)] * x[r * size_t(D) + size_t(i)];
    double inv = 1 / std::sqrt(ss / double(D) + eps);
    for (int64_t i = 0; i < D; ++i) {
      size_t k = r * size_t(D) + size_t(i);
      y[k] = x[k] * inv * (w.empty() ? 1.0 : w[size_t(i)]);
    }
  }
  return y;
}

std::vector<double> ref_layer(const std::vector<double>& x, int64_t D, const std::vector<double>& w,
                              const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r * size_t(D) < x.size(); ++r) {
    const double* xr = x.data() + r * size_t(D);
    double mu = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mu += xr[i];
    mu /= double(D);
    for (int64_t i = 0; i < D; ++i) var += (xr[i] - mu) * (xr[i] - mu);
    var /= double(D);
    for (int64_t i = 0; i < D; ++i) {
      double v = (xr[i] - mu) / std::sqrt(var + eps);
      if (!w.empty()) v *= w[size_t(i)];
      if (!b.empty()) v += b[size_t(i)];
      y[r * size_t(D) + size_t(i)] = v;
    }
  }
  return y;
}

const DType kNormFloats[] = {DType::f32, DType::f64, DType::bf16, DType::f16};
const Shape kShapes[] = {{1, 1}, {3, 127}, {2, 3, 4097}, {5}};

TEST(RmsNorm, MatchesLoopReferenceAllDtypes) {
  int seed = 0;
  for (DType dt : kNormFloats)
    for (const auto& s : kShapes)
      for (bool with_w : {true, false}) {
        const int64_t D = s.back();
        Tensor x = astype(testing::randn(s, ++seed) * 2.0 + 0.5, dt);
        Tensor w = astype(testing::randn({D}, ++seed), dt);
        auto ref = ref_rms(x.to_vector<double>(), D,
                           with_w ? w.to_vector<double>() : std::vector<double>{}, 1e-6);
        auto y = rms_norm(x, with_w ? std::optional<Tensor>(w) : std::nullopt, 1e-6);
        EXPECT_EQ(y.dtype(), dt);
        auto tol = testing::default_tol(dt);
        EXPECT_TRUE(allclose(y, ref, tol.atol, tol.rtol)) << dtype_name(dt) << shape_str(s);
      }
}

TEST(RmsNorm, MixedDtypesPromoteLikeTorchAndRoundLikeTransformers) {
  Tensor x32 = testing::randn({4, 65}, 5, DType::f32);
  Tensor w32 = testing::randn({65}, 6, DType::f32);
  struct Mix {
    DType x, w, out;
  } mixes[] = {{DType::bf16, DType::f32, DType::f32},
               {DType::f32, DType::bf16, DType::f32},
               {DType::f16, DType::bf16, DType::f32},
               {DType::f16, DType::f64, DType::f64}};
  for (const auto& m : mixes) {
    Tensor x = astype(x32, m.x), w = astype(w32, m.w);
    Tensor y = rms_norm(x, w, 1e-5);
    EXPECT_EQ(y.dtype(), m.out);
    // transformers: the normalised value is rounded to x's dtype before the weight multiply.
    Tensor h = astype(from_vector(ref_rms(x.to_vector<double>(), 65, {}, 1e-5), {4, 65}), m.x);
    auto hv = h.to_vector<double>(), wv = w.to_vector<double>();
    std::vector<double> ref(hv.size());
    for (size_t i = 0; i < hv.size(); ++i) ref[i] = hv[i] * wv[i % 65];
    // One ulp of x's dtype in h (f32 vs f64 rounding of the norm) is the only difference.
    double rt = m.x == DType::f32 ? 1e-5 : (m.x == DType::bf16 ? 8e-3 : 1e-3);
    EXPECT_TRUE(allclose(y, ref, 1e-6, rt)) << dtype_name(m.x) << "/" << dtype_name(m.w);
    EXPECT_TRUE(allclose(y, rms_norm_reference(x, w, 1e-5), 1e-6, rt));
  }
}

TEST(RmsNorm, NonContiguousInputsAndNaNRows) {
  Tensor base = testing::randn({9, 6}, 8, DType::f32);
  base.eval();
  Tensor xt = transpose(base, 0, 1);  // [6, 9] strided
  Tensor wb = testing::randn({18}, 9, DType::f32);
  wb.eval();
  Tensor w = slice(wb, 0, 0, 18, 2);  // [9] strided
  auto ref =
      ref_rms(contiguous(xt).to_vector<double>(), 9, contiguous(w).to_vector<double>(), 1e-6);
  EXPECT_TRUE(allclose(rms_norm(xt, w, 1e-6), ref, 1e-6, 1e-5));
  // A NaN or Inf poisons its row only.
  std::vector<double> v = {1, 2, NAN, 4, 1, 2, 3, 4, INFINITY, 0, 1, 2};
  for (DType dt : kNormFloats) {
    auto y = rms_norm(astype(from_vector(v, {3, 4}), dt), std::nullopt, 1e-6).to_vector<double>();
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isnan(y[size_t(i)])) << dtype_name(dt);
    for (int i = 4; i < 8; ++i) EXPECT_TRUE(std::isfinite(y[size_t(i)])) << dtype_name(dt);
    EXPECT_TRUE(std::isnan(y[8]));
  }
}

TEST(LayerNorm, MatchesLoopReferenceAllDtypes) {
  int seed = 100;
  for (DType dt : kNormFloats)
    for (const auto& s : kShapes)
      for (int variant = 0; variant < 3; ++variant) {  // weight+bias, weight only, neither
        const int64_t D = s.back();
        Tensor x = astype(testing::randn(s, ++seed) * 3.0 + 1.0, dt);
        Tensor w = astype(testing::randn({D}, ++seed), dt);
        Tensor b = astype(testing::randn({D}, ++seed), dt);
        std::optional<Tensor> ow, ob;
        if (variant < 2) ow = w;
        if (variant == 0) ob = b;
        auto ref =
            ref_layer(x.to_vector<double>(), D, ow ? w.to_vector<double>() : std::vector<double>{},
                      ob ? b.to_vector<double>() : std::vector<double>{}, 1e-5);
        auto tol = testing::default_tol(dt);
        // f32: two-pass variance in f32 over 4097 elements; measured error ~3e-6 abs.
        double atol = dt == DType::f32 ? 1e-5 : tol.atol;
        EXPECT_TRUE(allclose(layer_norm(x, ow, ob, 1e-5), ref, atol, tol.rtol))
            << dtype_name(dt) << shape_str(s) << " variant " << variant;
      }
}

TEST(LayerNorm, NonContiguousInputAndNaNRows) {
  Tensor base = testing::randn({7, 5}, 21, DType::f32);
  base.eval();
  Tensor xt = transpose(base, 0, 1);
  Tensor w = testing::randn({7}, 22, DType::f32), b = testing::randn({7}, 23, DType::f32);
  auto ref = ref_layer(contiguous(xt).to_vector<double>(), 7, w.to_vector<double>(),
                       b.to_vector<double>(), 1e-5);
  EXPECT_TRUE(allclose(layer_norm(xt, w, b, 1e-5), ref, 1e-5, 1e-5));
  auto y = layer_norm(from_vector<double>({NAN, 1, 2, 3, 4, 5}, {2, 3}), std::nullopt, std::nullopt,
                      1e-5)
               .to_vector<double>();
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[2]));
  EXPECT_TRUE(std::isfinite(y[3]) && std::isfinite(y[5]));
}

TEST(Norm, GradientsForXWeightAndBias) {
  Tensor x = testing::randn({3, 7}, 31), w = testing::randn({7}, 32), b = testing::randn({7}, 33);
  EXPECT_GRAD([](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1], 1e-6); },
              (std::vector<Tensor>{x, w}));
  EXPECT_GRAD([](const std::vector<Tensor>& in) { return rms_norm(in[0], std::nullopt, 1e-6); },
              std::vector<Tensor>{x});
  EXPECT_GRAD([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5); },
              (std::vector<Tensor>{x, w, b}));
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) { return layer_norm(in[0], std::nullopt, in[1], 1e-5); },
      (std::vector<Tensor>{x, b}));
  // Weight broadcast over a 3-d input, and second order (the vjps are public-op graphs).
  Tensor x3 = testing::randn({2, 2, 5}, 34), w5 = testing::randn({5}, 35);
  EXPECT_GRAD([](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1], 1e-6); },
              (std::vector<Tensor>{x3, w5}));
  Tensor g3 = testing::randn({2, 2, 5}, 36);
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) {
        return vjp({rms_norm(in[0], in[1], 1e-6)}, {in[2]}, {in[0], in[1]})[0];
      },
      (std::vector<Tensor>{x3, w5, g3}));
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) {
        return vjp({layer_norm(in[0], in[1], std::nullopt, 1e-5)}, {in[2]}, {in[1]})[0];
      },
      (std::vector<Tensor>{x3, w5, g3}));
}

TEST(Norm, FusedMatchesCompositionForwardAndGradient) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Tensor x = astype(testing::randn({5, 96}, 41) * 2.0, dt);
    Tensor w = astype(testing::randn({96}, 42), dt), b = astype(testing::randn({96}, 43), dt);
    Tensor g = astype(testing::randn({5, 96}, 44), dt);
    double tol = dt == DType::f64 ? 1e-12 : (dt == DType::f32 ? 2e-5 : 2e-2);
    Tensor yf = rms_norm(x, w, 1e-6), yr = rms_norm_reference(x, w, 1e-6);
    EXPECT_TRUE(allclose(yf, yr, tol, tol)) << dtype_name(dt);
    auto gf = vjp({rms_norm(x, w, 1e-6)}, {g}, {x, w});
    auto gr = vjp({rms_norm_reference(x, w, 1e-6)}, {g}, {x, w});
    EXPECT_TRUE(allclose(gf[0], gr[0], tol, tol)) << dtype_name(dt);
    EXPECT_TRUE(allclose(gf[1], gr[1], 10 * tol, tol)) << dtype_name(dt);
    EXPECT_TRUE(allclose(layer_norm(x, w, b, 1e-5), layer_norm_reference(x, w, b, 1e-5), tol, tol));
    auto lf = vjp({layer_norm(x, w, b, 1e-5)}, {g}, {x, w, b});
    auto lr = vjp({layer_norm_reference(x, w, b, 1e-5)}, {g}, {x, w, b});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(allclose(lf[size_t(i)], lr[size_t(i)], 10 * tol, tol));
  }
}

TEST(Norm, BadInputsNameTheOp) {
  Tensor x = zeros({2, 4});
  auto expect_msg = [](auto&& f, const char* op) {
    try {
      f();
      ADD_FAILURE() << "no throw for " << op;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { rms_norm(x, zeros({3}), 1e-6); }, "[rms_norm]");
  expect_msg([&] { rms_norm(arange(4), std::nullopt, 1e-6); }, "[rms_norm]");
  expect_msg([&] { rms_norm(x, zeros({4}), -1); }, "[rms_norm]");
  expect_msg([&] { layer_norm(x, zeros({4}, DType::bf16), std::nullopt, 1e-5); }, "[layer_norm]");
  expect_msg([&] { layer_norm(x, std::nullopt, zeros({2, 4}), 1e-5); }, "[layer_norm]");
  EXPECT_THROW(rms_norm(x, zeros({3}), 1e-6), ShapeError);
  EXPECT_THROW(rms_norm(arange(4), std::nullopt, 1e-6), DtypeError);
  EXPECT_THROW(layer_norm(x, zeros({4}, DType::f16), std::nullopt, 1e-5), DtypeError);
}

}  // namespace
}  // namespace wick
