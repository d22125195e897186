#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "testing/testing.h"
#include "wick/optim/optimizer.h"

namespace wick::optim {
namespace {

std::vector<double> to_d(const Tensor& t) { return t.to_vector<double>(); }

// Gradients that change every step: g_k = sin(k + i) * (1 + p_i).
std::vector<double> fake_grad(const std::vector<double>& p, int k) {
  std::vector<double> g(p.size());
  for (size_t i = 0; i < p.size(); ++i) g[i] = std::sin(double(k) + double(i)) * (1 + p[i]);
  return g;
}

TEST(AdamW, MatchesTorchFormulaOverSteps) {
  const double wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> p0 = {0.5, -1.25, 2.0, 0.0, 3.5, -0.75, 1e-3};
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor p = astype(from_vector(p0, {7}), dt);
    AdamW opt(wd, b1, b2, eps);
    // Reference in plain f64 loops.
    std::vector<double> rp = p0, m(7, 0), v(7, 0);
    for (int k = 1; k <= 6; ++k) {
      const double lr = 1e-2 * k;  // a changing lr (schedule)
      auto g = fake_grad(rp, k);
      for (size_t i = 0; i < 7; ++i) {
        rp[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const double bc1 = 1 - std::pow(b1, k), bc2 = 1 - std::pow(b2, k);
        rp[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
      }
      Tensor gt = astype(from_vector(fake_grad(to_d(p), k), {7}), dt);
      opt.step({&p}, {gt}, lr);
      const auto tol = dt == DType::f64 ? 1e-12 : 2e-6;
      EXPECT_TRUE(testing::allclose(to_d(p), rp, tol, tol)) << "step " << k;
    }
    EXPECT_EQ(opt.steps(), 6);
    EXPECT_EQ(p.dtype(), dt);
  }
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  Tensor a = from_vector<double>({1, 2, 3}, {3}), b = from_vector<double>({1, 2, 3}, {3});
  AdamW o1(0.01), o2(0.01);
  for (int k = 1; k <= 3; ++k) o1.step({&a}, {from_vector(fake_grad(to_d(a), k), {3})}, 0.1);
  for (int k = 1; k <= 3; ++k) o2.step({&b}, {from_vector(fake_grad(to_d(b), k), {3})}, 0.1);
  AdamW o3(0.01);
  o3.load_state(o2.state());
  EXPECT_EQ(o3.steps(), 3);
  for (int k = 4; k <= 6; ++k) {
    o1.step({&a}, {from_vector(fake_grad(to_d(a), k), {3})}, 0.1);
    o3.step({&b}, {from_vector(fake_grad(to_d(b), k), {3})}, 0.1);
  }
  EXPECT_EQ(to_d(a), to_d(b));
}

TEST(AdamW, RejectsBadArguments) {
  EXPECT_THROW(AdamW(0.0, 1.0), ValueError);
  AdamW o;
  Tensor p = zeros({3}, DType::f64);
  EXPECT_THROW(o.step({&p}, {zeros({2}, DType::f64)}, 0.1), ShapeError);
  EXPECT_THROW(o.step({&p}, {}, 0.1), ValueError);
}

TEST(SGD, MatchesTorchFormulaWithMomentumAndDecay) {
  const double wd = 0.05, mu = 0.9;
  std::vector<double> p0 = {0.5, -1.0, 2.0};
  Tensor p = from_vector(p0, {3});
  SGD opt(wd, mu);
  std::vector<double> rp = p0, buf(3, 0);
  for (int k = 1; k <= 4; ++k) {
    auto g = fake_grad(rp, k);
    for (size_t i = 0; i < 3; ++i) {
      double gi = g[i] + wd * rp[i];
      buf[i] = k == 1 ? gi : mu * buf[i] + gi;
      rp[i] -= 0.1 * buf[i];
    }
    opt.step({&p}, {from_vector(fake_grad(to_d(p), k), {3})}, 0.1);
    EXPECT_TRUE(testing::allclose(to_d(p), rp, 1e-12, 1e-12));
  }
  Tensor q = from_vector(p0, {3});
  SGD plain;
  plain.step({&q}, {from_vector<double>({1, 2, 3}, {3})}, 0.5);
  EXPECT_EQ(to_d(q), (std::vector<double>{0.0, -2.0, 0.5}));
}

TEST(Schedule, MatchesTransformersFormulas) {
  // get_linear_schedule_with_warmup(warmup=10, total=110).
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 0, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 5, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 10, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 60, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 110, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 200, 10, 110), 0.0);
  // get_cosine_schedule_with_warmup: 0.5 * (1 + cos(pi * progress)).
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::cosine, 60, 10, 110), 0.5);
  EXPECT_NEAR(lr_lambda(Schedule::cosine, 35, 10, 110),
              0.5 * (1 + std::cos(std::numbers::pi * 0.25)), 1e-15);
  EXPECT_NEAR(lr_lambda(Schedule::cosine, 110, 10, 110), 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::cosine, 3, 10, 110), 0.3);
  // get_constant_schedule_with_warmup.
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::constant, 2, 4, 100), 0.5);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::constant, 50, 4, 100), 1.0);
  // No warmup: the first step uses the full rate.
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 0, 0, 10), 1.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 5, 0, 10), 0.5);
  EXPECT_THROW(parse_schedule("exp"), ValueError);
  EXPECT_EQ(parse_schedule("cosine"), Schedule::cosine);
}

TEST(Clip, ScalesByGlobalNorm) {
  std::vector<Tensor> g = {from_vector<double>({3, 0}, {2}), from_vector<double>({4}, {1})};
  EXPECT_DOUBLE_EQ(global_norm(g), 5.0);
  double n = clip_grad_norm(g, 1.0);
  EXPECT_DOUBLE_EQ(n, 5.0);
  const double c = 1.0 / (5.0 + 1e-6);
  EXPECT_TRUE(testing::allclose(to_d(g[0]), {3 * c, 0}, 1e-15, 1e-15));
  EXPECT_TRUE(testing::allclose(to_d(g[1]), {4 * c}, 1e-15, 1e-15));
  std::vector<Tensor> small = {from_vector<double>({0.3}, {1})};
  clip_grad_norm(small, 1.0);
  EXPECT_EQ(to_d(small[0]), std::vector<double>{0.3});
}

}  // namespace
}  // namespace wick::optim
