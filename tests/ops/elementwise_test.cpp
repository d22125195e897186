// Elementwise ops against plain f64 loops: every unary/binary op, pow_scalar, clamp, where, in
// every float dtype at awkward sizes on contiguous, strided, transposed and broadcast inputs;
// integer and bool dtypes; NaN/Inf propagation; and every vjp by finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/ref_util.h"

namespace wick {
namespace {

using testing::allclose;
using testing::check_grad;
using testing::default_tol;
namespace ref = testing::ref;

using testing::kInf;
using testing::kNaN;

struct UnaryCase {
  const char* name;
  Tensor (*op)(const Tensor&);
  double (*ref)(double);
  double (*domain)(double);  // maps N(0,1) samples into the op's domain
};

double ident(double x) { return x; }
double positive(double x) { return std::abs(x) + 0.05; }
double scaled(double x) { return 3 * x; }

const UnaryCase kUnary[] = {
    {"neg", neg, [](double x) { return -x; }, ident},
    {"abs", abs, [](double x) { return std::abs(x); }, ident},
    {"exp", exp, [](double x) { return std::exp(x); }, [](double x) { return 2 * x; }},
    {"log", log, [](double x) { return std::log(x); }, positive},
    {"sqrt", sqrt, [](double x) { return std::sqrt(x); }, positive},
    {"rsqrt", rsqrt, [](double x) { return 1 / std::sqrt(x); }, positive},
    {"sin", sin, [](double x) { return std::sin(x); }, scaled},
    {"cos", cos, [](double x) { return std::cos(x); }, scaled},
    {"tanh", tanh, [](double x) { return std::tanh(x); }, scaled},
    {"sigmoid", sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, scaled},
    {"relu", relu, [](double x) { return x > 0 ? x : (x == x ? 0.0 : x); }, ident},
    {"silu", silu, [](double x) { return x / (1 + std::exp(-x)); }, scaled},
    {"gelu", gelu, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, scaled},
    {"gelu_tanh", gelu_tanh,
     [](double x) {
       return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
     },
     scaled},
    {"square", square, [](double x) { return x * x; }, scaled},
    {"log1p", log1p, [](double x) { return std::log1p(x); }, positive},
    {"expm1", expm1, [](double x) { return std::expm1(x); }, ident},
    {"erf", erf, [](double x) { return std::erf(x); }, ident},
    {"sign", sign, [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); }, ident},
};

std::vector<double> map_ref(const std::vector<double>& v, double (*f)(double)) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = f(v[i]);
  return r;
}

TEST(Unary, EveryFloatOpDtypeSizeAndLayout) {
  uint64_t seed = 1;
  for (const auto& c : kUnary)
    for (DType dt : ref::kFloatTypes)
      for (int64_t n : ref::kSizes)
        for (const auto& lay : ref::layouts(n, seed++, dt, c.domain)) {
          SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + " n=" + std::to_string(n) +
                       " " + lay.name);
          auto tol = default_tol(dt);
          Tensor y = c.op(lay.t);
          ASSERT_EQ(y.shape(), lay.t.shape());
          ASSERT_EQ(y.dtype(), dt);
          EXPECT_TRUE(allclose(y, map_ref(lay.t.to_vector<double>(), c.ref), tol.atol, tol.rtol));
        }
}

TEST(Unary, NonFiniteInputsPropagate) {
  const std::vector<double> x = {kInf, -kInf, kNaN, 0.0, -0.0, -1.0, 1.0};
  for (DType dt : ref::kFloatTypes)
    for (const auto& c : kUnary) {
      SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt));
      Tensor t = from_vector(x, {7}, dt);
      auto tol = default_tol(dt);
      EXPECT_TRUE(allclose(c.op(t), map_ref(x, c.ref), tol.atol, tol.rtol, true));
    }
  // Spot checks that do not lean on the reference functions.
  Tensor t = from_vector<double>({kInf, 0.0, kNaN, -kInf}, {4}, DType::f32);
  EXPECT_EQ(exp(t).to_vector<double>()[0], kInf);
  EXPECT_EQ(exp(t).to_vector<double>()[3], 0.0);
  EXPECT_EQ(log(t).to_vector<double>()[1], -kInf);
  EXPECT_TRUE(std::isnan(relu(t).to_vector<double>()[2]));
  EXPECT_EQ(sigmoid(t).to_vector<double>()[3], 0.0);
  EXPECT_EQ(tanh(t).to_vector<double>()[0], 1.0);
  EXPECT_TRUE(std::isnan(sqrt(from_vector<float>({-1}, {1})).item<double>()));
}

TEST(Unary, IntegerDtypes) {
  const std::vector<int64_t> v = {-7, -1, 0, 1, 5, 300};
  for (DType dt : {DType::i32, DType::i64}) {
    Tensor x = from_vector(v, {6}, dt);
    EXPECT_TRUE(allclose(neg(x), {7, 1, 0, -1, -5, -300}, 0, 0));
    EXPECT_TRUE(allclose(abs(x), {7, 1, 0, 1, 5, 300}, 0, 0));
    EXPECT_TRUE(allclose(square(x), {49, 1, 0, 1, 25, 90000}, 0, 0));
    EXPECT_TRUE(allclose(sign(x), {-1, -1, 0, 1, 1, 1}, 0, 0));
    EXPECT_TRUE(allclose(clamp(x, -2, 4), {-2, -1, 0, 1, 4, 4}, 0, 0));
    // Infinite bounds mean "no bound" (they saturate to the type's range).
    EXPECT_TRUE(allclose(clamp(x, -kInf, 2), {-7, -1, 0, 1, 2, 2}, 0, 0));
    EXPECT_EQ(neg(x).dtype(), dt);
  }
  // Wrapping instead of undefined behaviour at the edge of the range.
  Tensor m = from_vector<int32_t>({std::numeric_limits<int32_t>::min()}, {1});
  EXPECT_EQ(neg(m).item<int32_t>(), std::numeric_limits<int32_t>::min());
}

TEST(Unary, LogicalNot) {
  Tensor a = greater(from_vector<float>({1, -1, 0, -2}, {4}), scalar(0));
  EXPECT_TRUE(allclose(logical_not(a), {0, 1, 1, 1}, 0, 0));
  EXPECT_EQ(logical_not(a).dtype(), DType::boolean);
  // Strided bool input.
  Tensor s = slice(a, 0, 0, 4, 3);
  EXPECT_TRUE(allclose(logical_not(s), {0, 1}, 0, 0));
}

TEST(PowScalar, EveryExponentDtypeAndLayout) {
  uint64_t seed = 500;
  for (double p : {2.0, 3.0, 0.5, -1.0, 0.0, -2.5})
    for (DType dt : ref::kFloatTypes)
      for (int64_t n : {int64_t(1), int64_t(127), int64_t(4097)})
        for (const auto& lay : ref::layouts(n, seed++, dt, positive)) {
          SCOPED_TRACE(std::to_string(p) + " " + dtype_name(dt) + " " + lay.name);
          auto tol = default_tol(dt);
          auto v = lay.t.to_vector<double>();
          for (auto& x : v) x = std::pow(x, p);
          EXPECT_TRUE(allclose(pow(lay.t, p), v, tol.atol, tol.rtol));
        }
  // x ** 1 is x itself; NaN and inf propagate.
  Tensor x = from_vector<double>({kNaN, kInf, 0.0}, {3});
  EXPECT_TRUE(pow(x, 1.0).same(x));
  EXPECT_TRUE(allclose(pow(x, 2.0), {kNaN, kInf, 0.0}, 0, 0, true));
  EXPECT_TRUE(allclose(pow(x, -1.0), {kNaN, 0.0, kInf}, 0, 0, true));
}

TEST(Clamp, FloatDtypesLayoutsAndNaN) {
  uint64_t seed = 900;
  for (DType dt : ref::kFloatTypes)
    for (int64_t n : ref::kSizes)
      for (const auto& lay : ref::layouts(n, seed++, dt)) {
        auto v = lay.t.to_vector<double>();
        for (auto& x : v) x = std::min(std::max(x, -0.5), 0.75);
        // Bounds are exact in every dtype, so clamp is exact.
        EXPECT_TRUE(allclose(clamp(lay.t, -0.5, 0.75), v, 0, 0)) << dtype_name(dt) << lay.name;
      }
  Tensor x = from_vector<double>({kNaN, -kInf, kInf, 0.3}, {4});
  EXPECT_TRUE(allclose(clamp(x, -1, 1), {kNaN, -1, 1, 0.3}, 0, 0, true));
  EXPECT_TRUE(allclose(clamp(x, 0.5, 0.5), {kNaN, 0.5, 0.5, 0.5}, 0, 0, true));
}

// ---------------------------------------------------------------------------------------------
// Binary ops.

struct BinaryCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  double (*ref)(double, double);
  double (*da)(double);  // domain of a
  double (*db)(double);  // domain of b
};

double away_from_zero(double x) { return x >= 0 ? x + 0.5 : x - 0.5; }
double small(double x) { return 0.7 * x; }

const BinaryCase kBinary[] = {
    {"add", add, [](double a, double b) { return a + b; }, ident, ident},
    {"sub", sub, [](double a, double b) { return a - b; }, ident, ident},
    {"mul", mul, [](double a, double b) { return a * b; }, ident, ident},
    {"div", div, [](double a, double b) { return a / b; }, ident, away_from_zero},
    {"maximum", maximum, [](double a, double b) { return a > b ? a : b; }, ident, ident},
    {"minimum", minimum, [](double a, double b) { return a < b ? a : b; }, ident, ident},
    {"pow", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(pow),
     [](double a, double b) { return std::pow(a, b); }, positive, small},
};

// Input pairs of one logical output shape for size n: same-shape pairs in mixed layouts, and
// broadcasting ([n, 1] x [1, 3], [n] x 0-d, [n, 3] transposed x [3]).
struct Pair {
  std::string name;
  Tensor a, b;
};
std::vector<Pair> pairs(int64_t n, uint64_t seed, DType dt, double (*da)(double),
                        double (*db)(double)) {
  auto la = ref::layouts(n, seed, dt, da), lb = ref::layouts(n, seed + 10, dt, db);
  std::vector<Pair> out;
  for (size_t i = 0; i < la.size(); ++i)
    out.push_back({la[i].name + "/" + lb[(i + 1) % 2].name, la[i].t,
                   la[i].t.ndim() == 1 ? lb[(i + 1) % 2].t : lb[i].t});
  out.push_back({"col x row", ref::rand_as({n, 1}, seed + 20, dt, da),
                 ref::rand_as({1, 3}, seed + 21, dt, db)});
  out.push_back({"vector x scalar", ref::rand_as({n}, seed + 22, dt, da),
                 ref::rand_as({}, seed + 23, dt, db)});
  out.push_back({"scalar x transposed", ref::rand_as({}, seed + 24, dt, da), la[2].t});
  out.push_back({"transposed x row", la[2].t, ref::rand_as({3}, seed + 25, dt, db)});
  return out;
}

std::vector<double> binary_ref(const Tensor& a, const Tensor& b, const Shape& out,
                               const std::function<double(double, double)>& f) {
  auto av = ref::expand(a.to_vector<double>(), a.shape(), out);
  auto bv = ref::expand(b.to_vector<double>(), b.shape(), out);
  std::vector<double> r(av.size());
  for (size_t i = 0; i < r.size(); ++i) r[i] = f(av[i], bv[i]);
  return r;
}

Shape bshape(const Shape& a, const Shape& b) { return broadcast_shapes(a, b, "test"); }

TEST(Binary, EveryFloatOpDtypeSizeAndLayout) {
  uint64_t seed = 2000;
  for (const auto& c : kBinary)
    for (DType dt : ref::kFloatTypes)
      for (int64_t n : ref::kSizes)
        for (const auto& p : pairs(n, seed += 50, dt, c.da, c.db)) {
          SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + " n=" + std::to_string(n) +
                       " " + p.name);
          Shape sh = bshape(p.a.shape(), p.b.shape());
          Tensor y = c.op(p.a, p.b);
          ASSERT_EQ(y.shape(), sh);
          auto tol = default_tol(dt);
          EXPECT_TRUE(allclose(y, binary_ref(p.a, p.b, sh, c.ref), tol.atol, tol.rtol));
        }
}

TEST(Binary, NonFinitePropagation) {
  const std::vector<double> av = {kNaN, 1.0, kInf, kInf, 1.0, 0.0, -1.0, kNaN};
  const std::vector<double> bv = {1.0, kNaN, -kInf, 2.0, 0.0, -1.0, 0.0, kNaN};
  for (DType dt : ref::kFloatTypes) {
    Tensor a = from_vector(av, {8}, dt), b = from_vector(bv, {8}, dt);
    // maximum/minimum propagate a NaN from either side (as torch.maximum).
    EXPECT_TRUE(allclose(maximum(a, b), {kNaN, kNaN, kInf, kInf, 1, 0, 0, kNaN}, 0, 0, true));
    EXPECT_TRUE(allclose(minimum(a, b), {kNaN, kNaN, -kInf, 2, 0, -1, -1, kNaN}, 0, 0, true));
    EXPECT_TRUE(allclose(add(a, b), {kNaN, kNaN, kNaN, kInf, 1, -1, -1, kNaN}, 0, 0, true));
    EXPECT_TRUE(allclose(div(a, b), {kNaN, kNaN, kNaN, kInf, kInf, -0.0, -kInf, kNaN}, 0, 0, true));
    // Comparisons with NaN are false, except not_equal.
    EXPECT_TRUE(allclose(less(a, b), {0, 0, 0, 0, 0, 0, 1, 0}, 0, 0));
    EXPECT_TRUE(allclose(equal(a, b), {0, 0, 0, 0, 0, 0, 0, 0}, 0, 0));
    EXPECT_TRUE(allclose(not_equal(a, b), {1, 1, 1, 1, 1, 1, 1, 1}, 0, 0));
  }
  Tensor z = from_vector<float>({0, 0, 4}, {3}), e = from_vector<float>({-1, 0, 0.5}, {3});
  EXPECT_TRUE(allclose(pow(z, e), {kInf, 1, 2}, 0, 0, true));
}

TEST(Binary, IntegerArithmetic) {
  const std::vector<int64_t> av = {7, -7, 7, -7, 0, 5, 12};
  const std::vector<int64_t> bv = {2, 2, -2, -2, 3, 0, 12};
  for (DType dt : {DType::i32, DType::i64}) {
    Tensor a = from_vector(av, {7}, dt), b = from_vector(bv, {7}, dt);
    std::vector<double> s, d, m, q, mx, mn;
    for (size_t i = 0; i < av.size(); ++i) {
      s.push_back(double(av[i] + bv[i]));
      d.push_back(double(av[i] - bv[i]));
      m.push_back(double(av[i] * bv[i]));
      q.push_back(bv[i] == 0 ? 0.0 : double(av[i] / bv[i]));  // truncation; x / 0 is 0
      mx.push_back(double(std::max(av[i], bv[i])));
      mn.push_back(double(std::min(av[i], bv[i])));
    }
    EXPECT_TRUE(allclose(a + b, s, 0, 0));
    EXPECT_TRUE(allclose(a - b, d, 0, 0));
    EXPECT_TRUE(allclose(a * b, m, 0, 0));
    EXPECT_TRUE(allclose(a / b, q, 0, 0));
    EXPECT_TRUE(allclose(maximum(a, b), mx, 0, 0));
    EXPECT_TRUE(allclose(minimum(a, b), mn, 0, 0));
    EXPECT_EQ((a + b).dtype(), dt);
    // Broadcast integer operands (a column against a row), and a scalar.
    Tensor col = from_vector<int64_t>({1, 2, 3}, {3, 1}, dt),
           row = from_vector<int64_t>({10, 20}, {1, 2}, dt);
    EXPECT_TRUE(allclose(col * row, {10, 20, 20, 40, 30, 60}, 0, 0));
    EXPECT_TRUE(allclose(col + 1.0, {2, 3, 4}, 0, 0));
  }
  // Overflow and MIN / -1 wrap instead of trapping.
  const int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  Tensor a = from_vector<int32_t>({lo, hi}, {2}), b = from_vector<int32_t>({-1, 1}, {2});
  EXPECT_EQ(div(a, b).to_vector<int32_t>()[0], lo);
  EXPECT_EQ(add(a, b).to_vector<int32_t>()[1], lo);
  // i64 values beyond 2^53 stay exact.
  const int64_t big = (int64_t(1) << 53) + 1;
  Tensor x = from_vector<int64_t>({big}, {1});
  EXPECT_EQ((x + x).item<int64_t>(), 2 * big);
}

struct CmpCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  bool (*ref)(double, double);
};
const CmpCase kCmp[] = {
    {"equal", equal, [](double a, double b) { return a == b; }},
    {"not_equal", not_equal, [](double a, double b) { return a != b; }},
    {"less", less, [](double a, double b) { return a < b; }},
    {"less_equal", less_equal, [](double a, double b) { return a <= b; }},
    {"greater", greater, [](double a, double b) { return a > b; }},
    {"greater_equal", greater_equal, [](double a, double b) { return a >= b; }},
};

TEST(Compare, EveryDtypeWithTiesAndBroadcast) {
  // Values on a coarse grid so that ties are common.
  auto grid = [](double x) { return std::round(2 * x) / 2; };
  uint64_t seed = 7000;
  for (const auto& c : kCmp)
    for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64})
      for (int64_t n : {int64_t(1), int64_t(3), int64_t(127), int64_t(4097)}) {
        auto la = ref::layouts(n, seed++, dt, grid), lb = ref::layouts(n, seed++, dt, grid);
        std::vector<Pair> ps = {{"strided/contiguous", la[1].t, lb[0].t},
                                {"transposed/row", la[2].t, ref::rand_as({3}, seed++, dt, grid)},
                                {"broadcast/scalar", la[3].t, ref::rand_as({}, seed++, dt, grid)}};
        for (const auto& p : ps) {
          SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + " " + p.name);
          Shape sh = bshape(p.a.shape(), p.b.shape());
          Tensor y = c.op(p.a, p.b);
          ASSERT_EQ(y.dtype(), DType::boolean);
          EXPECT_TRUE(allclose(y, binary_ref(p.a, p.b, sh, c.ref), 0, 0));
        }
      }
}

TEST(Compare, BoolAndLogicalOps) {
  Tensor a = greater(from_vector<float>({1, 1, -1, -1}, {4}), scalar(0));
  Tensor b = greater(from_vector<float>({1, -1, 1, -1}, {4}), scalar(0));
  EXPECT_TRUE(allclose(logical_and(a, b), {1, 0, 0, 0}, 0, 0));
  EXPECT_TRUE(allclose(logical_or(a, b), {1, 1, 1, 0}, 0, 0));
  EXPECT_TRUE(allclose(equal(a, b), {1, 0, 0, 1}, 0, 0));
  EXPECT_TRUE(allclose(not_equal(a, b), {0, 1, 1, 0}, 0, 0));
  // Broadcast and strided bool operands.
  Tensor col = reshape(slice(a, 0, 0, 4, 2), {2, 1});  // [1, 0]
  Tensor row = reshape(b, {1, 4});
  EXPECT_TRUE(allclose(logical_and(col, row), {1, 0, 1, 0, 0, 0, 0, 0}, 0, 0));
  EXPECT_TRUE(allclose(logical_or(col, row), {1, 1, 1, 1, 1, 0, 1, 0}, 0, 0));
}

TEST(Where, DtypesLayoutsAndBroadcast) {
  uint64_t seed = 9000;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64})
    for (int64_t n : ref::kSizes) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      auto grid = [](double x) { return std::round(4 * x); };
      // cond [n, 1] (from a strided view), a [n, 3] transposed, b 0-d.
      Tensor base = ref::rand_as({2 * n}, seed++, DType::f32);
      Tensor cond = greater(reshape(slice(base, 0, 0, 2 * n, 2), {n, 1}), scalar(0));
      Tensor a = transpose(ref::rand_as({3, n}, seed++, dt, grid), 0, 1).eval();
      Tensor b = ref::rand_as({}, seed++, dt, grid);
      Tensor y = where(cond, a, b);
      ASSERT_EQ(y.shape(), (Shape{n, 3}));
      Shape sh = {n, 3};
      auto cv = ref::expand(cond.to_vector<double>(), cond.shape(), sh);
      auto av = ref::expand(a.to_vector<double>(), a.shape(), sh);
      auto bv = ref::expand(b.to_vector<double>(), b.shape(), sh);
      std::vector<double> r(cv.size());
      for (size_t i = 0; i < r.size(); ++i) r[i] = cv[i] != 0 ? av[i] : bv[i];
      EXPECT_TRUE(allclose(y, r, 0, 0));
    }
  // Bool branches, and NaN in the unselected branch does not leak.
  Tensor c = greater(from_vector<float>({1, -1}, {2}), scalar(0));
  EXPECT_TRUE(allclose(where(c, logical_not(c), c), {0, 0}, 0, 0));
  Tensor x = from_vector<float>({kNaN, 2}, {2}), z = from_vector<float>({1, kNaN}, {2});
  EXPECT_TRUE(allclose(where(logical_not(c), x, z), {1, 2}, 0, 0));
}

TEST(Operators, ScalarOverloadsKeepTheTensorDtype) {
  for (DType dt : ref::kFloatTypes) {
    Tensor x = from_vector<double>({1, 2, 4}, {3}, dt);
    EXPECT_TRUE(allclose(x + 1.0, {2, 3, 5}, 0, 0));
    EXPECT_TRUE(allclose(1.0 - x, {0, -1, -3}, 0, 0));
    EXPECT_TRUE(allclose(x * 0.5, {0.5, 1, 2}, 0, 0));
    EXPECT_TRUE(allclose(2.0 / x, {2, 1, 0.5}, 0, 0));
    EXPECT_TRUE(allclose(x / 2.0, {0.5, 1, 2}, 0, 0));
    EXPECT_TRUE(allclose(-x, {-1, -2, -4}, 0, 0));
    EXPECT_TRUE(allclose(2.0 * x - x, {1, 2, 4}, 0, 0));
    EXPECT_EQ((x * 2.0).dtype(), dt);
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients (f64, central differences, random cotangent).

TEST(ElementwiseGrad, EveryDifferentiableUnary) {
  for (const auto& c : kUnary) {
    if (std::string(c.name) == "sign") continue;  // piecewise constant: no gradient
    SCOPED_TRACE(c.name);
    // relu/abs: keep samples away from the kink at 0.
    Tensor x = ref::rand_as({3, 4}, 11, DType::f64, [&](double v) {
      double d = c.domain(v);
      return std::abs(d) < 0.05 ? d + 0.1 : d;
    });
    auto op = c.op;
    EXPECT_TRUE(check_grad([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x}));
  }
}

TEST(ElementwiseGrad, UnaryOnStridedInput) {
  Tensor x = ref::rand_as({4, 6}, 12, DType::f64);
  EXPECT_TRUE(check_grad(
      [](const std::vector<Tensor>& in) { return tanh(slice(transpose(in[0], 0, 1), 0, 1, 6, 2)); },
      {x}));
}

TEST(ElementwiseGrad, PowScalarAndClamp) {
  Tensor x = ref::rand_as({2, 5}, 13, DType::f64, positive);
  for (double p : {2.0, 3.0, 0.5, -1.5, 0.0}) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(check_grad([p](const std::vector<Tensor>& in) { return pow(in[0], p); }, {x}));
  }
  // Samples at least 0.01 away from the bounds (finite differences straddle no kink).
  Tensor y = ref::rand_as({3, 7}, 14, DType::f64, [](double v) {
    return std::abs(v + 0.3) < 0.01 || std::abs(v - 0.4) < 0.01 ? v + 0.05 : v;
  });
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return clamp(in[0], -0.3, 0.4); }, {y}));
}

TEST(ElementwiseGrad, EveryBinaryWithBroadcast) {
  for (const auto& c : kBinary) {
    SCOPED_TRACE(c.name);
    Tensor a = ref::rand_as({2, 3}, 21, DType::f64, c.da);
    Tensor b = ref::rand_as({3}, 22, DType::f64, c.db);
    Tensor s = ref::rand_as({}, 23, DType::f64, c.db);
    auto op = c.op;
    EXPECT_TRUE(
        check_grad([op](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, b}));
    EXPECT_TRUE(check_grad(
        [op](const std::vector<Tensor>& in) { return op(in[1], in[0]); },
        {ref::rand_as({4, 1}, 24, DType::f64, c.db), ref::rand_as({1, 2}, 25, DType::f64, c.da)}));
    EXPECT_TRUE(
        check_grad([op](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, s}));
  }
}

TEST(ElementwiseGrad, MaximumMinimumSplitTiesInHalf) {
  // Central differences at a tie see exactly half the slope on each side, like the vjp.
  Tensor a = from_vector<double>({1, 2, 3, -1, 0.5, 7}, {2, 3});
  Tensor b = from_vector<double>({1, 0, 4, -1, 0.5, 6}, {2, 3});
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return minimum(in[0], in[1]); }, {a, b}));
  auto [v, g] = value_and_grad(
      [&](const std::vector<Tensor>& p) { return sum(maximum(p[0], p[1])); }, {a, b});
  EXPECT_TRUE(allclose(g[0], {0.5, 1, 0, 0.5, 0.5, 1}, 0, 0));
  EXPECT_TRUE(allclose(g[1], {0.5, 0, 1, 0.5, 0.5, 0}, 0, 0));
  // A broadcast operand collects its halves from every position.
  Tensor r = from_vector<double>({1}, {1});
  auto [v2, g2] = value_and_grad(
      [&](const std::vector<Tensor>& p) { return sum(minimum(p[0], p[1])); }, {a, r});
  EXPECT_TRUE(allclose(g2[1], {0.5 + 1 + 1 + 0 + 0 + 1}, 0, 0));
}

TEST(ElementwiseGrad, WhereBothBranchesAndBroadcast) {
  Tensor a = ref::rand_as({3, 4}, 31, DType::f64), b = ref::rand_as({4}, 32, DType::f64);
  Tensor cond = greater(ref::rand_as({3, 1}, 33, DType::f64), scalar(0, DType::f64));
  EXPECT_TRUE(check_grad(
      [cond](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); }, {a, b}));
  // The condition may depend on the input itself (no gradient through the comparison).
  EXPECT_TRUE(check_grad(
      [](const std::vector<Tensor>& in) {
        return where(greater(in[0], scalar(0, DType::f64)), in[0] * 2.0, exp(in[0]));
      },
      {a}));
}

TEST(ElementwiseGrad, Composition) {
  Tensor a = ref::rand_as({2, 3}, 41, DType::f64),
         b = ref::rand_as({2, 3}, 42, DType::f64, positive);
  EXPECT_TRUE(check_grad(
      [](const std::vector<Tensor>& in) {
        return sigmoid(in[0]) * log(in[1]) - square(in[0] / in[1]) + gelu(in[0] * in[1]);
      },
      {a, b}));
}

}  // namespace
}  // namespace wick
