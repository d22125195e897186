// Reductions against plain f64 loops: sum/max/min/mean/var/logsumexp/argmax over single, multiple,
// negative and leading axes (the column-sum path), full reductions, keepdims, non-contiguous and
// broadcast inputs, every dtype, NaN/Inf, argmax ties; and the vjps by finite differences.
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

enum class Kind { sum, max, min, mean, var0, var1, lse };

// Reduces row-major `v` of `shape` over `axes` (any sign, empty = all) with plain loops.
std::vector<double> reduce_ref(const std::vector<double>& v, const Shape& shape,
                               std::vector<int> axes, Kind k) {
  const int nd = int(shape.size());
  std::vector<bool> red(size_t(nd), axes.empty());
  for (int a : axes) red[size_t(a < 0 ? a + nd : a)] = true;
  int64_t n_out = 1, n_red = 1;
  for (int d = 0; d < nd; ++d) (red[size_t(d)] ? n_red : n_out) *= shape[size_t(d)];
  // Gather each output's members in order.
  std::vector<std::vector<double>> groups(static_cast<size_t>(n_out));
  for (int64_t i = 0; i < int64_t(v.size()); ++i) {
    int64_t r = i, o = 0, mul = 1;
    for (int d = nd - 1; d >= 0; --d) {
      int64_t id = r % shape[size_t(d)];
      r /= shape[size_t(d)];
      if (!red[size_t(d)]) {
        o += id * mul;
        mul *= shape[size_t(d)];
      }
    }
    groups[size_t(o)].push_back(v[size_t(i)]);
  }
  std::vector<double> out;
  for (const auto& g : groups) {
    double s = 0, m = k == Kind::min ? kInf : -kInf;
    bool nan = false;
    for (double x : g) {
      s += x;
      nan |= std::isnan(x);
      m = k == Kind::min ? std::min(m, x) : std::max(m, x);
    }
    double mean = s / double(n_red), ss = 0;
    for (double x : g) ss += (x - mean) * (x - mean);
    double lse = 0;
    if (std::isfinite(m)) {
      for (double x : g) lse += std::exp(x - m);
      lse = std::log(lse) + m;
    } else {
      lse = m;  // all -inf, or +inf present
    }
    switch (k) {
      case Kind::sum:
        out.push_back(s);
        break;
      case Kind::max:
      case Kind::min:
        out.push_back(nan ? kNaN : m);
        break;
      case Kind::mean:
        out.push_back(mean);
        break;
      case Kind::var0:
        out.push_back(ss / double(n_red));
        break;
      case Kind::var1:
        out.push_back(ss / double(n_red - 1));
        break;
      case Kind::lse:
        out.push_back(nan ? kNaN : lse);
        break;
    }
  }
  return out;
}

Tensor apply(Kind k, const Tensor& x, const std::vector<int>& axes, bool keep) {
  switch (k) {
    case Kind::sum:
      return sum(x, axes, keep);
    case Kind::max:
      return max(x, axes, keep);
    case Kind::min:
      return min(x, axes, keep);
    case Kind::mean:
      return mean(x, axes, keep);
    case Kind::var0:
      return var(x, axes, keep, 0);
    case Kind::var1:
      return var(x, axes, keep, 1);
    case Kind::lse:
      return logsumexp(x, axes, keep);
  }
  return {};
}
const char* kind_name(Kind k) {
  static const char* n[] = {"sum", "max", "min", "mean", "var0", "var1", "logsumexp"};
  return n[int(k)];
}

Shape expected_shape(const Shape& s, std::vector<int> axes, bool keep) {
  const int nd = int(s.size());
  std::vector<bool> red(size_t(nd), axes.empty());
  for (int a : axes) red[size_t(a < 0 ? a + nd : a)] = true;
  Shape out;
  for (int d = 0; d < nd; ++d)
    if (!red[size_t(d)]) {
      out.push_back(s[size_t(d)]);
    } else if (keep) {
      out.push_back(1);
    }
  return out;
}

struct Input {
  std::string name;
  Tensor x;
};
// Inputs of several layouts; every axes list below is valid for each of their ranks.
std::vector<Input> inputs3(DType dt, uint64_t seed) {
  std::vector<Input> r;
  r.push_back({"contiguous [3,127,5]", ref::rand_as({3, 127, 5}, seed, dt)});
  r.push_back(
      {"permuted [5,127,3]", permute(ref::rand_as({3, 127, 5}, seed + 1, dt), {2, 1, 0}).eval()});
  r.push_back(
      {"strided [3,64,5]", slice(ref::rand_as({3, 127, 5}, seed + 2, dt), 1, 1, 127, 2).eval()});
  r.push_back({"broadcast [4,127,3]",
               broadcast_to(ref::rand_as({127, 1}, seed + 3, dt), {4, 127, 3}).eval()});
  r.push_back({"ones [1,1,1]", ref::rand_as({1, 1, 1}, seed + 4, dt)});
  return r;
}

const std::vector<std::vector<int>> kAxes3 = {{},     {0},    {1},    {2},      {-1},
                                              {0, 1}, {0, 2}, {1, 2}, {-3, -1}, {0, 1, 2}};

TEST(Reduce, EveryKindAxesDtypeLayout) {
  uint64_t seed = 100;
  for (Kind k : {Kind::sum, Kind::max, Kind::min, Kind::mean, Kind::var0, Kind::var1, Kind::lse})
    for (DType dt : ref::kFloatTypes)
      for (const auto& in : inputs3(dt, seed += 10))
        for (const auto& axes : kAxes3)
          for (bool keep : {false, true}) {
            if (k == Kind::var1 && in.x.numel() == 1) continue;  // 0/0
            std::string ax;
            for (int a : axes) ax += std::to_string(a) + ",";
            SCOPED_TRACE(std::string(kind_name(k)) + " " + dtype_name(dt) + " " + in.name +
                         " axes {" + ax + "} keep " + std::to_string(keep));
            Tensor y = apply(k, in.x, axes, keep);
            ASSERT_EQ(y.shape(), expected_shape(in.x.shape(), axes, keep));
            ASSERT_EQ(y.dtype(), dt);
            auto tol = default_tol(dt);
            auto want = reduce_ref(in.x.to_vector<double>(), in.x.shape(), axes, k);
            if (k == Kind::max || k == Kind::min) tol = {0, 0};  // exact
            EXPECT_TRUE(allclose(y, want, tol.atol, tol.rtol));
          }
}

TEST(Reduce, AwkwardLengthsIncludingColumnSumPath) {
  uint64_t seed = 300;
  for (DType dt : ref::kFloatTypes)
    for (int64_t n : ref::kSizes) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      auto tol = default_tol(dt);
      // [n, 3] over the leading axis (column sums), [3, n] over the last, [n] in full.
      for (Shape s : {Shape{n, 3}, Shape{3, n}, Shape{n}, Shape{2, n, 3}}) {
        Tensor x = ref::rand_as(s, seed++, dt);
        auto v = x.to_vector<double>();
        for (std::vector<int> axes : {std::vector<int>{0}, std::vector<int>{-1}}) {
          EXPECT_TRUE(
              allclose(sum(x, axes), reduce_ref(v, s, axes, Kind::sum), tol.atol, tol.rtol));
          EXPECT_TRUE(allclose(max(x, axes), reduce_ref(v, s, axes, Kind::max), 0, 0));
          EXPECT_TRUE(allclose(min(x, axes), reduce_ref(v, s, axes, Kind::min), 0, 0));
        }
        if (s.size() == 3) {
          EXPECT_TRUE(
              allclose(sum(x, {0, 1}), reduce_ref(v, s, {0, 1}, Kind::sum), tol.atol, tol.rtol));
        }
      }
    }
}

TEST(Reduce, NonFinite) {
  for (DType dt : ref::kFloatTypes) {
    SCOPED_TRACE(dtype_name(dt));
    // Rows: NaN late, NaN first, +inf, all -inf, mixed inf.
    Tensor x = from_vector<double>(
        {1, 2, kNaN, kNaN, 5, 0, 1, kInf, 2, -kInf, -kInf, -kInf, kInf, -kInf, 0}, {5, 3}, dt);
    EXPECT_TRUE(allclose(max(x, {1}), {kNaN, kNaN, kInf, -kInf, kInf}, 0, 0, true));
    EXPECT_TRUE(allclose(min(x, {1}), {kNaN, kNaN, 1, -kInf, -kInf}, 0, 0, true));
    EXPECT_TRUE(allclose(sum(x, {1}), {kNaN, kNaN, kInf, -kInf, kNaN}, 0, 0, true));
    EXPECT_TRUE(allclose(logsumexp(x, {1}), {kNaN, kNaN, kInf, -kInf, kInf}, 0, 0, true));
    // Column direction (the column-sum path for sum).
    EXPECT_TRUE(allclose(sum(x, {0}), {kNaN, kNaN, kNaN}, 0, 0, true));
    EXPECT_TRUE(allclose(max(x, {0}), {kNaN, kInf, kNaN}, 0, 0, true));
  }
}

TEST(Reduce, IntegerDtypes) {
  for (DType dt : {DType::i32, DType::i64}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = from_vector<int64_t>({-5, -3, -9, -2, -7, -4}, {2, 3}, dt);
    // All-negative rows: max is not 0 (the identity must be the type's lowest value).
    EXPECT_TRUE(allclose(max(x, {1}), {-3, -2}, 0, 0));
    EXPECT_TRUE(allclose(max(x), {-2}, 0, 0));
    EXPECT_TRUE(allclose(min(from_vector<int64_t>({5, 3, 9}, {3}, dt)), {3}, 0, 0));
    EXPECT_TRUE(allclose(sum(x, {1}), {-17, -13}, 0, 0));
    EXPECT_TRUE(allclose(sum(x, {0}), {-7, -10, -13}, 0, 0));  // column-sum path
    EXPECT_TRUE(allclose(sum(transpose(x, 0, 1), {1}), {-7, -10, -13}, 0, 0));
    EXPECT_EQ(sum(x).dtype(), dt);
  }
  // i64 sums are exact beyond 2^53 on both the generic and the column path.
  const int64_t big = int64_t(1) << 53;
  Tensor b = from_vector<int64_t>({big, 1, 1, big, 1, 1}, {3, 2});
  auto all = sum(b).item<int64_t>();
  EXPECT_EQ(all, 2 * big + 4);
  auto cols = sum(b, {0}).to_vector<int64_t>();
  EXPECT_EQ(cols[0], big + 2);
  EXPECT_EQ(cols[1], big + 2);
  auto rows = sum(transpose(b, 0, 1), {1}).to_vector<int64_t>();
  EXPECT_EQ(rows[0], big + 2);
}

TEST(Reduce, EmptyAxisSumIsZeroAndNoAxesIsIdentity) {
  Tensor e = zeros({0, 3});
  EXPECT_TRUE(allclose(sum(e, {0}), {0, 0, 0}, 0, 0));
  EXPECT_TRUE(allclose(sum(e), {0}, 0, 0));
  EXPECT_EQ(sum(e, {1}).shape(), (Shape{0}));
  Tensor s = scalar(2.5);
  EXPECT_TRUE(sum(s).same(s));  // a 0-d tensor has nothing to reduce
}

TEST(ArgMax, AxesDtypesLayoutsTiesAndNaN) {
  uint64_t seed = 700;
  auto grid = [](double x) { return std::round(2 * x); };  // many ties
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64})
    for (const auto& in : inputs3(dt, seed += 10)) {
      Tensor x = in.x.dtype() == dt && is_floating(dt)
                     ? in.x
                     : astype(astype(in.x, DType::f64) * 3.0, dt).eval();
      if (is_floating(dt)) x = from_vector(x.to_vector<double>(), x.shape(), dt);
      Tensor xg = from_vector(
          [&] {
            auto v = x.to_vector<double>();
            for (auto& e : v) e = grid(e);
            return v;
          }(),
          x.shape(), dt);
      for (const Tensor& t : {x, permute(xg, {1, 2, 0}).eval()})
        for (int axis : {0, 1, 2, -1})
          for (bool keep : {false, true}) {
            SCOPED_TRACE(std::string(dtype_name(dt)) + " " + in.name + " axis " +
                         std::to_string(axis));
            const Shape& s = t.shape();
            int a = axis < 0 ? axis + 3 : axis;
            auto v = t.to_vector<double>();
            std::vector<double> want;
            // First index of the maximum, plain loops over the other two axes.
            int64_t st[3] = {s[1] * s[2], s[2], 1};
            int o1 = a == 0 ? 1 : 0, o2 = a == 2 ? 1 : 2;
            for (int64_t i = 0; i < s[size_t(o1)]; ++i)
              for (int64_t j = 0; j < s[size_t(o2)]; ++j) {
                int64_t best = 0;
                double bv = -kInf;
                for (int64_t q = 0; q < s[size_t(a)]; ++q) {
                  double e = v[size_t(i * st[o1] + j * st[o2] + q * st[a])];
                  if (q == 0 || e > bv) {
                    bv = e;
                    best = q;
                  }
                }
                want.push_back(double(best));
              }
            Tensor y = argmax(t, axis, keep);
            EXPECT_EQ(y.dtype(), DType::i64);
            EXPECT_EQ(y.shape(), expected_shape(s, {axis}, keep));
            EXPECT_TRUE(allclose(y, want, 0, 0));
          }
    }
  // Ties pick the first index; NaN wins at its first occurrence (as torch.argmax).
  Tensor t = from_vector<float>({1, 3, 3, 2, kNaN, 5, kNaN, 0, 7}, {3, 3});
  EXPECT_TRUE(allclose(argmax(t, 1), {1, 1, 0}, 0, 0));
  EXPECT_TRUE(allclose(argmax(t, 0), {2, 1, 2}, 0, 0));
  EXPECT_TRUE(allclose(argmax(from_vector<double>({-kInf, -kInf}, {2}, DType::f32), 0), {0}, 0, 0));
  EXPECT_TRUE(allclose(argmax(from_vector<float>({4, 1, 9, 9}, {4}), 0, true), {2}, 0, 0));
}

TEST(Reduce, MaxGradientIsSharedAmongTies) {
  // Three-way tie: each gets a third (torch.amax semantics); a unique maximum gets all of it.
  Tensor x = from_vector<double>({2, 5, 5, 5, 1, 0, 3, 4}, {2, 4});
  auto [v, g] =
      value_and_grad([&](const std::vector<Tensor>& p) { return sum(max(p[0], {1})); }, {x});
  EXPECT_TRUE(allclose(g[0], {0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0, 1}, 1e-15, 0));
  auto [v2, g2] =
      value_and_grad([&](const std::vector<Tensor>& p) { return sum(min(p[0], {0}) * 2.0); }, {x});
  EXPECT_TRUE(allclose(g2[0], {0, 0, 0, 0, 2, 2, 2, 2}, 0, 0));
}

TEST(ReduceGrad, SumMaxMinOverAxes) {
  Tensor x = ref::rand_as({3, 4, 5}, 41, DType::f64);
  for (const auto& axes : kAxes3)
    for (bool keep : {false, true}) {
      SCOPED_TRACE(::testing::PrintToString(axes) + (keep ? " keep" : ""));
      auto fs = [axes, keep](const std::vector<Tensor>& in) { return sum(in[0], axes, keep); };
      auto fm = [axes, keep](const std::vector<Tensor>& in) { return max(in[0], axes, keep); };
      auto fn = [axes, keep](const std::vector<Tensor>& in) { return min(in[0], axes, keep); };
      EXPECT_TRUE(check_grad(fs, {x}));
      EXPECT_TRUE(check_grad(fm, {x}));
      EXPECT_TRUE(check_grad(fn, {x}));
    }
  // Strided input and a two-way tie (central differences see half the slope at a tie).
  EXPECT_TRUE(check_grad(
      [](const std::vector<Tensor>& in) {
        return max(slice(transpose(in[0], 0, 2), 1, 0, 4, 2), {0, 2});
      },
      {x}));
  Tensor t = from_vector<double>({1, 4, 4, 0, -2, 3}, {2, 3});
  EXPECT_TRUE(check_grad([](const std::vector<Tensor>& in) { return max(in[0], {1}); }, {t}));
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return min(in[0] * -1.0, {-1}); }, {t}));
}

TEST(ReduceGrad, MeanVarLogsumexp) {
  Tensor x = ref::rand_as({3, 4, 5}, 43, DType::f64);
  for (const auto& axes : {std::vector<int>{}, std::vector<int>{1}, std::vector<int>{0, -1}})
    for (bool keep : {false, true}) {
      EXPECT_TRUE(
          check_grad([&](const std::vector<Tensor>& in) { return mean(in[0], axes, keep); }, {x}));
      EXPECT_TRUE(check_grad(
          [&](const std::vector<Tensor>& in) { return var(in[0], axes, keep, 1); }, {x}));
      EXPECT_TRUE(check_grad(
          [&](const std::vector<Tensor>& in) { return logsumexp(in[0], axes, keep); }, {x}));
    }
}

}  // namespace
}  // namespace wick
