// Dropout: the mask equals the generator's draw, the gradient reuses it, edge probabilities.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "testing/testing.h"

namespace wick {
namespace {

// keep[i] = (i-th next_double() of Generator(seed) >= p): the documented draw, done serially.
std::vector<bool> reference_keep(uint64_t seed, int64_t n, double p) {
  Generator g(seed);
  std::vector<bool> keep(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keep[size_t(i)] = g.next_double() >= p;
  return keep;
}

using testing::expect_error;

TEST(Dropout, EqualsXTimesMaskOverKeepProbability) {
  const double p = 0.3;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    for (Shape s : {Shape{1}, Shape{3, 127}, Shape{100003}}) {
      Tensor x = astype(testing::randn(s, 1), dt);
      x.eval();
      Generator g(42);
      Tensor y = dropout(x, p, &g);
      EXPECT_EQ(g.counter(), uint64_t(x.numel()));  // one draw per element
      auto keep = reference_keep(42, x.numel(), p);
      auto xv = x.to_vector<double>();
      std::vector<double> want(xv.size());
      for (size_t i = 0; i < xv.size(); ++i) want[i] = keep[i] ? xv[i] / (1 - p) : 0.0;
      auto tol = testing::default_tol(dt);
      EXPECT_TRUE(testing::allclose(y, want, tol.atol, tol.rtol)) << dtype_name(dt);
    }
  }
}

TEST(Dropout, StridedInputUsesTheMaskInLogicalOrder) {
  Tensor x = transpose(testing::randn({7, 5}, 6, DType::f32), 0, 1);  // [5, 7], strided
  x.eval();
  Generator g(8);
  Tensor y = dropout(x, 0.5, &g);
  auto keep = reference_keep(8, 35, 0.5);
  auto xv = x.to_vector<double>();
  std::vector<double> want(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) want[i] = keep[i] ? xv[i] * 2 : 0.0;
  EXPECT_TRUE(testing::allclose(y, want, 1e-6, 1e-6));
}

TEST(Dropout, KeepsAboutOneMinusPAndIsDeterministicPerGeneratorState) {
  Tensor x = ones({200000}, DType::f32);
  Generator a(7), b(7);
  auto ya = dropout(x, 0.25, &a).to_vector<float>();
  auto yb = dropout(x, 0.25, &b).to_vector<float>();
  EXPECT_EQ(ya, yb);
  double kept = 0;
  for (float v : ya) kept += v != 0;
  EXPECT_NEAR(kept / double(ya.size()), 0.75, 0.005);
  // The generator moved on: the next draw differs.
  auto yc = dropout(x, 0.25, &a).to_vector<float>();
  EXPECT_NE(ya, yc);
  // The default generator is used when none is given and obeys manual_seed.
  manual_seed(3);
  auto d1 = dropout(x, 0.5).to_vector<float>();
  manual_seed(3);
  auto d2 = dropout(x, 0.5).to_vector<float>();
  EXPECT_EQ(d1, d2);
}

TEST(Dropout, GradientReusesTheForwardMask) {
  const double p = 0.4;
  Tensor x = testing::randn({5, 33}, 2);
  Tensor c = testing::randn({5, 33}, 3);
  Generator g(11);
  Tensor y = dropout(x, p, &g);
  auto grads = vjp({y}, {c}, {x});
  // The backward node consumes the very mask tensor the forward consumed.
  ASSERT_EQ(grads[0].inputs().size(), 2u);
  EXPECT_TRUE(grads[0].inputs()[1].same(y.inputs()[1]));
  auto keep = reference_keep(11, x.numel(), p);
  auto cv = c.to_vector<double>(), xv = x.to_vector<double>();
  std::vector<double> want_g(cv.size()), want_y(cv.size());
  for (size_t i = 0; i < cv.size(); ++i) {
    want_g[i] = keep[i] ? cv[i] / (1 - p) : 0.0;
    want_y[i] = keep[i] ? xv[i] / (1 - p) : 0.0;
  }
  EXPECT_TRUE(testing::allclose(grads[0], want_g, 1e-15, 1e-15));
  EXPECT_TRUE(testing::allclose(y, want_y, 1e-15, 1e-15));
  // Finite differences with the same draw every call.
  EXPECT_GRAD(
      [&](const std::vector<Tensor>& in) {
        Generator fixed(5);
        return dropout(in[0], p, &fixed);
      },
      std::vector<Tensor>{testing::randn({4, 7}, 4)});
}

TEST(Dropout, EdgeProbabilitiesAndNonFiniteInputs) {
  Tensor x = testing::randn({3, 4}, 5, DType::f32);
  EXPECT_TRUE(dropout(x, 0.0).same(x));
  Generator g(1);
  Tensor z = dropout(x, 1.0, &g);
  EXPECT_TRUE(testing::allclose(z, std::vector<double>(12, 0.0), 0, 0));
  EXPECT_EQ(g.counter(), 0u);  // nothing to draw
  auto [v, grads] = value_and_grad(
      [&](const std::vector<Tensor>& in) { return sum(dropout(in[0], 1.0) * 3.0); }, {x});
  EXPECT_TRUE(testing::allclose(grads[0], std::vector<double>(12, 0.0), 0, 0));
  // NaN and Inf propagate like torch's x * mask / (1 - p): dropped ones give NaN (x * 0).
  const double inf = std::numeric_limits<double>::infinity();
  Tensor bad = from_vector<double>({std::nan(""), inf, -inf, std::nan("")}, {4}, DType::f32);
  Generator h(9);
  auto keep = reference_keep(9, 4, 0.5);
  std::vector<double> want = {std::nan(""), keep[1] ? inf : std::nan(""),
                              keep[2] ? -inf : std::nan(""), std::nan("")};
  EXPECT_TRUE(testing::allclose(dropout(bad, 0.5, &h), want, 0, 0, true));
}

TEST(Dropout, Errors) {
  Tensor x = ones({3});
  expect_error<ValueError>([&] { dropout(x, -0.1); }, "dropout");
  expect_error<ValueError>([&] { dropout(x, 1.5); }, "dropout");
  expect_error<ValueError>([&] { dropout(x, std::nan("")); }, "dropout");
  expect_error<DtypeError>([&] { dropout(ones({3}, DType::i32), 0.5); }, "dropout");
}

}  // namespace
}  // namespace wick
