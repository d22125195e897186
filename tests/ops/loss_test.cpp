// cross_entropy: f64 loop reference, every float dtype, ignore_index, all reductions, strided
// logits, NaN rows, gradients (first and second order), fused vs composition, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::allclose;

std::vector<double> ref_ce(const std::vector<double>& x, int64_t N, int64_t V,
                           const std::vector<int64_t>& t, int64_t ignore, Reduction red) {
  std::vector<double> loss(size_t(N), 0.0);
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (t[size_t(i)] == ignore) continue;
    double m = -INFINITY;
    for (int64_t j = 0; j < V; ++j) m = std::max(m, x[size_t(i * V + j)]);
    double s = 0;
    for (int64_t j = 0; j < V; ++j) s += std::exp(x[size_t(i * V + j)] - m);
    loss[size_t(i)] = m + std::log(s) - x[size_t(i * V + t[size_t(i)])];
    total += loss[size_t(i)];
    ++count;
  }
  if (red == Reduction::none) return loss;
  if (red == Reduction::sum) return {total};
  return {total / double(count)};
}

std::vector<int64_t> make_targets(int64_t N, int64_t V, int64_t ignore, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> t(static_cast<size_t>(N));
  for (auto& v : t) v = (g.next_u64() % 4 == 0) ? ignore : int64_t(g.next_u64() % uint64_t(V));
  return t;
}

TEST(CrossEntropy, MatchesLoopReferenceAllDtypesAndReductions) {
  struct Size {
    int64_t N, V;
  } sizes[] = {{1, 1}, {3, 5}, {127, 3}, {4, 4097}, {2, 3000}};
  int seed = 0;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (const auto& sz : sizes)
      for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
        for (int64_t ignore : {int64_t(-100), int64_t(0)}) {
          Tensor x = astype(testing::randn({sz.N, sz.V}, ++seed) * 3.0, dt);
          auto tv = make_targets(sz.N, sz.V, ignore, uint64_t(seed));
          tv[0] = std::min<int64_t>(sz.V - 1, 0 == ignore ? sz.V - 1 : 0);  // >= 1 valid row
          if (tv[0] == ignore) continue;
          Tensor t = from_vector(tv, {sz.N});
          auto ref = ref_ce(x.to_vector<double>(), sz.N, sz.V, tv, ignore, red);
          Tensor y = cross_entropy(x, t, ignore, red);
          EXPECT_EQ(y.dtype(), dt);
          auto tol = testing::default_tol(dt);
          // f32 sums of up to 4097 exps: relative error ~1e-6 on values near log(V).
          double atol = dt == DType::f32 ? 1e-5 : tol.atol;
          EXPECT_TRUE(allclose(y, ref, atol, tol.rtol))
              << dtype_name(dt) << " N " << sz.N << " V " << sz.V << " red " << int(red);
        }
}

TEST(CrossEntropy, I32TargetsStridedLogitsAndNaN) {
  Tensor base = testing::randn({6, 10}, 5, DType::f32);
  base.eval();
  Tensor xt = transpose(base, 0, 1);  // [10, 6] with column stride 10
  std::vector<int64_t> tv = {0, 5, 3, -100, 2, 1, 4, 4, 0, 5};
  Tensor t32 = astype(from_vector(tv, {10}), DType::i32);
  auto ref = ref_ce(contiguous(xt).to_vector<double>(), 10, 6, tv, -100, Reduction::none);
  EXPECT_TRUE(allclose(cross_entropy(xt, t32, -100, Reduction::none), ref, 1e-5, 1e-5));
  // NaN in a used row poisons it; in an ignored row it contributes nothing (torch).
  std::vector<double> v = {1, NAN, 2, 0, 1, 2, NAN, 0, 0};
  Tensor x = from_vector(v, {3, 3});
  auto none = cross_entropy(x, from_vector<int64_t>({0, 1, -100}, {3}), -100, Reduction::none)
                  .to_vector<double>();
  EXPECT_TRUE(std::isnan(none[0]));
  EXPECT_TRUE(std::isfinite(none[1]));
  EXPECT_EQ(none[2], 0.0);
  auto m = cross_entropy(x, from_vector<int64_t>({-100, 1, -100}, {3})).item<double>();
  EXPECT_TRUE(std::isfinite(m));
  // Every target ignored: mean is 0/0 = NaN, as in torch; sum is 0.
  Tensor all_ign = from_vector<int64_t>({-100, -100, -100}, {3});
  EXPECT_TRUE(std::isnan(cross_entropy(x, all_ign).item<double>()));
  EXPECT_EQ(cross_entropy(x, all_ign, -100, Reduction::sum).item<double>(), 0.0);
}

TEST(CrossEntropy, GradientsWithIgnoredTargets) {
  Tensor x = testing::randn({5, 7}, 51);
  Tensor t = from_vector<int64_t>({3, -100, 0, 6, -100}, {5});
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    EXPECT_TRUE(testing::check_grad(
        [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], -100, red); },
        {x, t}, 1e-6, 1e-7, 1e-6, {0}));
  // Second order through the fused backward, for logits and for the cotangent.
  for (Reduction red : {Reduction::mean, Reduction::none}) {
    Tensor g = red == Reduction::none ? testing::randn({5}, 52) : scalar(0.7, DType::f64);
    EXPECT_TRUE(testing::check_grad(
        [&](const std::vector<Tensor>& in) {
          return vjp({cross_entropy(in[0], in[1], -100, red)}, {in[2]}, {in[0]})[0];
        },
        {x, t, g}, 1e-6, 1e-7, 1e-6, {0, 2}));
  }
}

TEST(CrossEntropy, FusedMatchesCompositionForwardAndGradient) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Tensor x = astype(testing::randn({9, 301}, 61) * 2.0, dt);
    Tensor t = from_vector<int64_t>({1, 300, -100, 0, 17, 17, 250, -100, 99}, {9});
    double tol = dt == DType::f64 ? 1e-12 : (dt == DType::f32 ? 1e-5 : 2e-2);
    for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none}) {
      Tensor yf = cross_entropy(x, t, -100, red), yr = cross_entropy_reference(x, t, -100, red);
      EXPECT_TRUE(allclose(yf, yr, tol, tol)) << dtype_name(dt);
      Tensor g = astype(red == Reduction::none ? testing::randn({9}, 62) : scalar(1.3), dt);
      Tensor gf = vjp({yf}, {g}, {x})[0], gr = vjp({yr}, {g}, {x})[0];
      EXPECT_EQ(gf.dtype(), dt);
      EXPECT_TRUE(allclose(gf, gr, tol, tol)) << dtype_name(dt) << " red " << int(red);
    }
  }
}

TEST(CrossEntropy, BadInputsNameTheOp) {
  Tensor x = zeros({3, 4});
  auto expect_msg = [](auto&& f, const char* op) {
    try {
      f();
      ADD_FAILURE() << "no throw for " << op;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
    }
  };
  EXPECT_THROW(cross_entropy(x, from_vector<int64_t>({0, 1}, {2})), ShapeError);
  EXPECT_THROW(cross_entropy(x, zeros({3})), DtypeError);
  EXPECT_THROW(cross_entropy(arange(12), arange(12)), ShapeError);
  EXPECT_THROW(cross_entropy(reshape(arange(12), {3, 4}), arange(3)), DtypeError);
  // Out-of-range targets fail at eval time, naming the op.
  Tensor bad = from_vector<int64_t>({0, 4, 1}, {3});
  EXPECT_THROW(cross_entropy(x, bad).eval(), ValueError);
  expect_msg([&] { cross_entropy(x, bad).eval(); }, "[cross_entropy]");
  expect_msg(
      [&] {
        cross_entropy(x, from_vector<int64_t>({0, -1, 1}, {3})).eval();
      },
      "[cross_entropy]");
}

}  // namespace
}  // namespace wick
