// softmax / log_softmax: f64 loop references, every float dtype, awkward sizes, any axis,
// non-contiguous inputs, NaN/Inf rows, gradients, fused vs composition, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::allclose;

// Loop reference over rows of `axis` of a row-major array.
std::vector<double> ref_softmax(const std::vector<double>& x, const Shape& s, int axis, bool log) {
  int64_t outer = 1, inner = 1, n = s[size_t(axis)];
  for (int d = 0; d < axis; ++d) outer *= s[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < s.size(); ++d) inner *= s[d];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return size_t((o * n + j) * inner + i); };
      double m = -INFINITY;
      bool nan = false;
      for (int64_t j = 0; j < n; ++j) {
        nan |= std::isnan(x[at(j)]);
        m = std::max(m, x[at(j)]);
      }
      if (nan) m = NAN;
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += std::exp(x[at(j)] - m);
      for (int64_t j = 0; j < n; ++j)
        y[at(j)] = log ? x[at(j)] - m - std::log(sum) : std::exp(x[at(j)] - m) / sum;
    }
  return y;
}

struct Case {
  Shape shape;
  int axis;
};

const DType kSoftmaxFloats[] = {DType::f32, DType::f64, DType::bf16, DType::f16};

TEST(Softmax, MatchesLoopReferenceAllDtypesAndAxes) {
  const Case cases[] = {{{1}, 0},        {{3, 5}, -1},   {{127, 3}, 0},
                        {{2, 4097}, -1}, {{4, 3, 5}, 1}, {{3, 1, 7}, 1}};
  int seed = 0;
  for (DType dt : kSoftmaxFloats)
    for (const auto& c : cases)
      for (bool log : {false, true}) {
        Tensor x = astype(testing::randn(c.shape, ++seed) * 3.0, dt);
        auto ref = ref_softmax(x.to_vector<double>(), c.shape,
                               c.axis < 0 ? int(c.shape.size()) + c.axis : c.axis, log);
        auto tol = testing::default_tol(dt);
        Tensor y = log ? log_softmax(x, c.axis) : softmax(x, c.axis);
        EXPECT_EQ(y.dtype(), dt);
        EXPECT_TRUE(allclose(y, ref, tol.atol, tol.rtol))
            << dtype_name(dt) << " " << shape_str(c.shape) << " axis " << c.axis << " log " << log;
      }
}

TEST(Softmax, NonContiguousAndBroadcastInputs) {
  Tensor base = testing::randn({6, 9}, 7, DType::f32);
  base.eval();
  for (bool log : {false, true}) {
    // Transposed: rows of the softmax axis are strided.
    Tensor xt = transpose(base, 0, 1);  // [9, 6]
    Tensor yt = log ? log_softmax(xt, -1) : softmax(xt, -1);
    EXPECT_TRUE(
        allclose(yt, ref_softmax(contiguous(xt).to_vector<double>(), {9, 6}, 1, log), 1e-6, 1e-5));
    // Strided slice along the axis, and a broadcast (stride-0) input.
    Tensor xs = slice(base, 1, 1, 9, 2);  // [6, 4]
    Tensor ys = log ? log_softmax(xs, 1) : softmax(xs, 1);
    EXPECT_TRUE(
        allclose(ys, ref_softmax(contiguous(xs).to_vector<double>(), {6, 4}, 1, log), 1e-6, 1e-5));
    Tensor xb = broadcast_to(slice(base, 0, 0, 1), {5, 9});
    Tensor yb = log ? log_softmax(xb, 0) : softmax(xb, 0);
    EXPECT_TRUE(
        allclose(yb, ref_softmax(contiguous(xb).to_vector<double>(), {5, 9}, 0, log), 1e-6, 1e-5));
  }
}

TEST(Softmax, LargeMagnitudesNaNAndInfRows) {
  const double inf = INFINITY, nan = NAN;
  // rows: huge values (stable), one -inf entry, a NaN, all -inf (NaN like PyTorch), +inf.
  std::vector<double> v = {1000, 999, -1000, 5, -inf, 1, 0, nan, 2, -inf, -inf, -inf, inf, 1, 2};
  for (DType dt : kSoftmaxFloats) {
    Tensor x = astype(from_vector(v, {5, 3}), dt);
    for (bool log : {false, true}) {
      auto ref = ref_softmax(x.to_vector<double>(), {5, 3}, 1, log);
      Tensor y = log ? log_softmax(x) : softmax(x);
      auto tol = testing::default_tol(dt);
      EXPECT_TRUE(allclose(y, ref, tol.atol, tol.rtol, /*allow_nonfinite=*/true)) << dtype_name(dt);
      auto got = y.to_vector<double>();
      EXPECT_TRUE(std::isnan(got[6]) && std::isnan(got[9]) && std::isnan(got[12]));
      EXPECT_FALSE(std::isnan(got[0]));
    }
  }
}

TEST(Softmax, FusedMatchesCompositionForwardAndGradient) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = astype(testing::randn({7, 33}, 3) * 2.0, dt);
    Tensor gy = astype(testing::randn({7, 33}, 4), dt);
    for (int axis : {0, 1}) {
      for (bool log : {false, true}) {
        auto f = [&](const Tensor& t) { return log ? log_softmax(t, axis) : softmax(t, axis); };
        auto r = [&](const Tensor& t) {
          return log ? log_softmax_reference(t, axis) : softmax_reference(t, axis);
        };
        double tol = dt == DType::f64 ? 1e-12 : 2e-6;
        EXPECT_TRUE(allclose(f(x), r(x), tol, tol));
        Tensor gf = vjp({f(x)}, {gy}, {x})[0];
        Tensor gr = vjp({r(x)}, {gy}, {x})[0];
        EXPECT_TRUE(allclose(gf, gr, tol, 10 * tol));
      }
    }
  }
}

TEST(Softmax, GradientsByFiniteDifferences) {
  Tensor x = testing::randn({4, 5}, 11);
  for (int axis : {0, -1}) {
    EXPECT_GRAD([axis](const std::vector<Tensor>& in) { return softmax(in[0], axis); },
                std::vector<Tensor>{x});
    EXPECT_GRAD([axis](const std::vector<Tensor>& in) { return log_softmax(in[0], axis); },
                std::vector<Tensor>{x});
  }
  // Second order: the vjp is built from public ops.
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) { return vjp({softmax(in[0], -1)}, {in[1]}, {in[0]})[0]; },
      (std::vector<Tensor>{x, testing::randn({4, 5}, 12)}));
}

TEST(Softmax, BadInputsNameTheOp) {
  Tensor i = arange(6);
  EXPECT_THROW(softmax(i), DtypeError);
  EXPECT_THROW(log_softmax(i), DtypeError);
  Tensor x = zeros({2, 3});
  try {
    softmax(x, 2);
    FAIL() << "no throw";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[softmax]"), std::string::npos) << e.what();
  }
  try {
    log_softmax(scalar(1.0));
    FAIL() << "no throw";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[log_softmax]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wick
