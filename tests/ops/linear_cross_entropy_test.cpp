#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "testing/testing.h"
#include "wick/core/buffer.h"
#include "wick/ops/linear_cross_entropy.h"

namespace wick {
namespace {

// Per-row loss in plain f64 loops.
std::vector<double> ref_rows(const std::vector<double>& h, const std::vector<double>& w,
                             const std::vector<int64_t>& t, int64_t N, int64_t D, int64_t V,
                             int64_t ignore) {
  std::vector<double> out(N, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    if (t[i] == ignore) continue;
    std::vector<double> z(V);
    double mx = -INFINITY;
    for (int64_t v = 0; v < V; ++v) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += h[i * D + d] * w[v * D + d];
      z[v] = s;
      mx = std::max(mx, s);
    }
    double se = 0;
    for (double x : z) se += std::exp(x - mx);
    out[i] = mx + std::log(se) - z[t[i]];
  }
  return out;
}

TEST(LinearCrossEntropy, MatchesLoopsAcrossChunkSizesAndDtypes) {
  for (auto [N, D, V] : {std::tuple<int64_t, int64_t, int64_t>{1, 3, 5}, {7, 4, 127}, {33, 8, 3}}) {
    Tensor h = testing::randn({N, D}, 1), w = testing::randn({V, D}, 2);
    std::vector<int64_t> t(N);
    for (int64_t i = 0; i < N; ++i) t[i] = (i * 7 + 1) % V;
    if (N > 2) t[1] = -100;
    Tensor tt = from_vector(t, {N});
    auto hv = h.to_vector<double>(), wv = w.to_vector<double>();
    auto rows = ref_rows(hv, wv, t, N, D, V, -100);
    double total = 0, count = 0;
    for (int64_t i = 0; i < N; ++i)
      if (t[i] != -100) total += rows[i], count += 1;
    for (int64_t chunk : {0, 1, 2, 5}) {
      EXPECT_TRUE(testing::allclose(linear_cross_entropy(h, w, tt, -100, Reduction::none, chunk),
                                    rows, 1e-12, 1e-12));
      EXPECT_TRUE(testing::allclose(linear_cross_entropy(h, w, tt, -100, Reduction::mean, chunk),
                                    {total / count}, 1e-12, 1e-12));
      EXPECT_TRUE(
          testing::allclose(linear_cross_entropy(astype(h, DType::f32), astype(w, DType::f32), tt,
                                                 -100, Reduction::sum, chunk),
                            {total}, 1e-5, 1e-5));
    }
    for (DType dt : {DType::bf16, DType::f16}) {
      Tensor hb = astype(h, dt), wb = astype(w, dt);
      auto rb = ref_rows(hb.to_vector<double>(), wb.to_vector<double>(), t, N, D, V, -100);
      double tb = 0;
      for (double x : rb) tb += x;
      Tensor got = linear_cross_entropy(hb, wb, tt, -100, Reduction::sum, 3);
      EXPECT_EQ(got.dtype(), dt);
      auto tol = testing::default_tol(dt);
      EXPECT_TRUE(testing::allclose(got, {tb}, tol.atol * N, tol.rtol));
    }
  }
}

TEST(LinearCrossEntropy, NonContiguousInputsAndNonFinite) {
  Tensor h = testing::randn({4, 6}, 3), w = testing::randn({6, 5}, 4);  // w^T is [5, 6]
  Tensor wt = mT(w);
  Tensor t = from_vector<int64_t>({0, 4, 2, 3}, {4});
  EXPECT_TRUE(testing::allclose(
      linear_cross_entropy(h, wt, t, -100, Reduction::none, 3),
      linear_cross_entropy_reference(h, contiguous(wt), t, -100, Reduction::none), 1e-12, 1e-12));
  auto hv = h.to_vector<double>();
  hv[0] = std::numeric_limits<double>::quiet_NaN();
  Tensor hn = from_vector(hv, {4, 6});
  auto r = linear_cross_entropy(hn, wt, t, -100, Reduction::none).to_vector<double>();
  EXPECT_TRUE(std::isnan(r[0]));
  EXPECT_TRUE(std::isfinite(r[1]));
}

TEST(LinearCrossEntropy, GradientsMatchFiniteDifferencesAndReference) {
  Tensor h = testing::randn({5, 3}, 5), w = testing::randn({7, 3}, 6);
  Tensor t = from_vector<int64_t>({1, -100, 6, 0, 3}, {5});
  for (auto red : {Reduction::mean, Reduction::sum, Reduction::none}) {
    EXPECT_TRUE(testing::check_grad(
        [&](const std::vector<Tensor>& in) {
          return linear_cross_entropy(in[0], in[1], t, -100, red, 2);
        },
        {h, w}));
  }
  // Fused vjp == reference vjp.
  auto f = [&](const std::vector<Tensor>& in) {
    return linear_cross_entropy(in[0], in[1], t, -100, Reduction::mean, 2);
  };
  auto fr = [&](const std::vector<Tensor>& in) {
    return linear_cross_entropy_reference(in[0], in[1], t, -100, Reduction::mean);
  };
  auto [v1, g1] = value_and_grad(f, {h, w});
  auto [v2, g2] = value_and_grad(fr, {h, w});
  EXPECT_TRUE(testing::allclose(v1, v2, 1e-12, 1e-12));
  EXPECT_TRUE(testing::allclose(g1[0], g2[0], 1e-12, 1e-12));
  EXPECT_TRUE(testing::allclose(g1[1], g2[1], 1e-12, 1e-12));
}

TEST(LinearCrossEntropy, SecondDerivativeThroughGradPrimitive) {
  Tensor h = testing::randn({3, 2}, 7), w = testing::randn({4, 2}, 8);
  Tensor t = from_vector<int64_t>({1, 3, 0}, {3});
  Tensor c = testing::randn({3, 2}, 9);
  // d/dh <grad_h(loss), c>: a Hessian-vector product through linear_cross_entropy_grad.
  auto hvp = [&](const std::vector<Tensor>& in) {
    auto f = [&](const std::vector<Tensor>& p) {
      return linear_cross_entropy(p[0], p[1], t, -100, Reduction::sum, 2);
    };
    auto g = value_and_grad(f, {in[0], in[1]}).second;
    return sum(g[0] * c) + sum(g[1] * g[1]);
  };
  EXPECT_TRUE(testing::check_grad(hvp, {h, w}, 1e-6, 1e-6, 1e-5));
}

TEST(LinearCrossEntropy, Errors) {
  Tensor h = zeros({2, 3}), w = zeros({4, 3});
  Tensor t = from_vector<int64_t>({0, 1}, {2});
  EXPECT_THROW(linear_cross_entropy(h, zeros({4, 2}), t), ShapeError);
  EXPECT_THROW(linear_cross_entropy(h, w, from_vector<int64_t>({0}, {1})), ShapeError);
  EXPECT_THROW(linear_cross_entropy(h, w, zeros({2})), DtypeError);
  EXPECT_THROW(linear_cross_entropy(h, zeros({4, 3}, DType::f64), t), DtypeError);
  EXPECT_THROW(linear_cross_entropy(zeros({2, 3, 1}), w, t), ShapeError);
  try {
    linear_cross_entropy(h, w, from_vector<int64_t>({0, 9}, {2})).eval();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("linear_cross_entropy"), std::string::npos);
  }
}

// The chunked loss + gradient keep only chunk_rows x V logits alive; the plain-op form holds the
// whole [N, V] logits (and its softmax) at once.
TEST(LinearCrossEntropy, PeakMemoryBelowMaterialisedLogits) {
  const int64_t N = 64, D = 16, V = 151936;
  Generator gen(10);
  Tensor h = random_uniform({N, D}, DType::f32, -1, 1, &gen);
  Tensor w = random_uniform({V, D}, DType::f32, -0.1, 0.1, &gen);
  w.eval();
  std::vector<int64_t> tv(N);
  for (int64_t i = 0; i < N; ++i) tv[i] = (i * 977) % V;
  Tensor t = from_vector(tv, {N});
  auto run = [&](bool fused) {
    reset_cpu_peak_bytes();
    const size_t base = cpu_peak_bytes();
    auto f = [&](const std::vector<Tensor>& in) {
      return fused ? linear_cross_entropy(in[0], w, t, -100, Reduction::mean, 8)
                   : linear_cross_entropy_reference(in[0], w, t, -100, Reduction::mean);
    };
    auto [v, g] = value_and_grad(f, {h});
    eval({v, g[0]});
    return std::make_pair(cpu_peak_bytes() - base, v.item<double>());
  };
  auto [fused_peak, fused_loss] = run(true);
  auto [plain_peak, plain_loss] = run(false);
  EXPECT_NEAR(fused_loss, plain_loss, 1e-4 * std::abs(plain_loss));
  const double logits_mib = double(N * V * 4) / (1 << 20);
  std::printf(
      "linear_cross_entropy N=%lld V=%lld: peak %.1f MiB fused vs %.1f MiB plain "
      "(logits %.1f MiB)\n",
      (long long)N, (long long)V, fused_peak / 1048576.0, plain_peak / 1048576.0, logits_mib);
  EXPECT_LT(double(fused_peak), 0.5 * double(N * V * 4));
  EXPECT_GT(double(plain_peak), double(N * V * 4));
}

}  // namespace
}  // namespace wick
