// View ops: zero-copy where promised (buffer identity after eval), values against plain index
// loops, reshape of non-contiguous tensors, slices with steps and negative bounds, broadcasting,
// contiguous/astype copies and casts in every dtype; and every vjp by finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/ref_util.h"

namespace wick {
namespace {

using testing::allclose;
using testing::check_grad;
namespace ref = testing::ref;

const std::vector<DType> kAllTypes = {DType::f32, DType::f64, DType::bf16,
                                      DType::f16, DType::i32, DType::i64};

// Evaluated x with integer-valued entries (exact in every dtype).
Tensor iota_as(const Shape& s, DType dt) {
  return astype(reshape(arange(numel_of(s), DType::f64), s), dt).eval();
}

// Row-major values of x [d0, d1, d2] permuted by p, by plain loops.
std::vector<double> permute_ref(const std::vector<double>& v, const Shape& s, const int p[3]) {
  Shape o = {s[size_t(p[0])], s[size_t(p[1])], s[size_t(p[2])]};
  Strides st = contiguous_strides(s);
  std::vector<double> r;
  for (int64_t i = 0; i < o[0]; ++i)
    for (int64_t j = 0; j < o[1]; ++j)
      for (int64_t k = 0; k < o[2]; ++k)
        r.push_back(v[size_t(i * st[size_t(p[0])] + j * st[size_t(p[1])] + k * st[size_t(p[2])])]);
  return r;
}

bool shares(const Tensor& view, const Tensor& base) {
  view.eval();
  return view.buffer() == base.buffer();
}

TEST(Views, ZeroCopyWherePromised) {
  for (DType dt : kAllTypes) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = iota_as({2, 3, 4}, dt);
    Tensor t = transpose(x, 0, 2);
    EXPECT_TRUE(shares(reshape(x, {6, 4}), x));
    EXPECT_TRUE(shares(reshape(x, {-1}), x));
    EXPECT_TRUE(shares(permute(x, {1, 2, 0}), x));
    EXPECT_TRUE(shares(t, x));
    EXPECT_TRUE(shares(mT(x), x));
    EXPECT_TRUE(shares(slice(x, 1, -2, 3), x));
    EXPECT_TRUE(shares(slice(x, 2, 0, 4, 3), x));
    EXPECT_TRUE(shares(broadcast_to(x, {5, 2, 3, 4}), x));
    EXPECT_TRUE(shares(expand(slice(x, 0, 0, 1), {7, 3, 4}), x));
    EXPECT_TRUE(shares(squeeze(slice(x, 0, 1, 2), 0), x));
    EXPECT_TRUE(shares(unsqueeze(x, 1), x));
    EXPECT_TRUE(shares(flatten(x, 1, 2), x));
    EXPECT_TRUE(shares(stop_gradient(x), x));
    // Reshapes a strided tensor allows without a copy: size-1 axes in and out of a transposed
    // view, splitting one of its axes, and regrouping a broadcast axis.
    EXPECT_TRUE(shares(unsqueeze(t, 0), x));
    EXPECT_TRUE(shares(squeeze(unsqueeze(t, 3), 3), x));
    EXPECT_TRUE(shares(reshape(t, {2, 2, 3, 2}), x));
    EXPECT_TRUE(shares(reshape(broadcast_to(x, {4, 2, 3, 4}), {2, 2, 6, 4}), x));
    // These must copy.
    EXPECT_FALSE(shares(reshape(t, {24}), x));
    EXPECT_FALSE(shares(contiguous(t), x));
  }
}

TEST(Views, ReshapeAndFlattenOfNonContiguousCopyCorrectly) {
  for (DType dt : kAllTypes) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = iota_as({3, 4, 5}, dt);
    auto v = x.to_vector<double>();
    const int perms[][3] = {{2, 1, 0}, {1, 0, 2}, {0, 2, 1}, {2, 0, 1}};
    for (const auto& p : perms) {
      Tensor t = permute(x, {p[0], p[1], p[2]});
      auto want = permute_ref(v, x.shape(), p);
      EXPECT_TRUE(allclose(reshape(t, {-1}), want, 0, 0));
      EXPECT_TRUE(allclose(flatten(t), want, 0, 0));
      EXPECT_TRUE(allclose(flatten(t, 0, 1), want, 0, 0));
      EXPECT_TRUE(allclose(reshape(t, {2, -1, 6}), want, 0, 0));  // 60 = 2 * 5 * 6
      EXPECT_TRUE(allclose(contiguous(t), want, 0, 0));
      // A pending permute feeding reshape (views of views).
      EXPECT_TRUE(allclose(reshape(permute(x * 1.0, {p[0], p[1], p[2]}), {60}), want, 0, 0));
    }
    // Strided slice then reshape.
    Tensor s = slice(x, 2, 1, 5, 2);  // [3, 4, 2]
    std::vector<double> want;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j)
        for (int k = 1; k < 5; k += 2) want.push_back(v[size_t(i * 20 + j * 5 + k)]);
    EXPECT_TRUE(allclose(reshape(s, {4, 6}), want, 0, 0));
    // Broadcast view reshaped with a copy.
    Tensor b = broadcast_to(reshape(arange(3, dt), {3, 1}), {3, 4});
    EXPECT_TRUE(allclose(reshape(b, {12}), {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 0, 0));
  }
}

TEST(Views, SliceStepsAndNegativeBounds) {
  for (int64_t n : ref::kSizes) {
    Tensor x = iota_as({n}, DType::f32);
    for (int64_t start : {int64_t(0), int64_t(1), int64_t(-3), -n, n + 5, -n - 5})
      for (int64_t stop : {n, int64_t(-1), int64_t(2), n + 10, -n - 10})
        for (int64_t step : {int64_t(1), int64_t(2), int64_t(3), int64_t(5000)}) {
          int64_t b = start < 0 ? std::max<int64_t>(start + n, 0) : std::min(start, n);
          int64_t e = stop < 0 ? std::max<int64_t>(stop + n, 0) : std::min(stop, n);
          std::vector<double> want;
          for (int64_t i = b; i < e; i += step) want.push_back(double(i));
          Tensor y = slice(x, 0, start, stop, step);
          ASSERT_EQ(y.shape(), (Shape{int64_t(want.size())}))
              << n << " " << start << ":" << stop << ":" << step;
          if (!want.empty()) {
            EXPECT_TRUE(allclose(y, want, 0, 0)) << start << ":" << stop << ":" << step;
          }
        }
  }
  // Middle axis with a step, slice of a slice, and of a transposed view.
  Tensor x = iota_as({3, 7, 2}, DType::i64);
  std::vector<double> want;  // axis 1: 1:-1:2 gives {1, 3, 5}, then 1:3 gives {3, 5}
  for (int i = 0; i < 3; ++i)
    for (int jj : {3, 5})
      for (int k = 0; k < 2; ++k) want.push_back(double(i * 14 + jj * 2 + k));
  EXPECT_TRUE(allclose(slice(slice(x, 1, 1, -1, 2), 1, 1, 3), want, 0, 0));
  Tensor t = slice(transpose(x, 0, 1), 0, -2, 7);  // rows 5, 6 of the [7, 3, 2] view
  std::vector<double> w2;
  for (int j = 5; j < 7; ++j)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 2; ++k) w2.push_back(double(i * 14 + j * 2 + k));
  EXPECT_TRUE(allclose(t, w2, 0, 0));
  EXPECT_TRUE(slice(x, 1, 0, 7).same(x));  // the whole axis is x itself
}

TEST(Views, BroadcastSqueezeUnsqueezeAndToVectorOfBroadcastViews) {
  Tensor x = from_vector<float>({1, 2, 3}, {3, 1});
  Tensor b = broadcast_to(x, {2, 3, 4});
  auto want = ref::expand({1, 2, 3}, {3, 1}, {2, 3, 4});
  EXPECT_TRUE(allclose(b, want, 0, 0));
  b.eval();
  EXPECT_EQ(b.strides()[0], 0);
  EXPECT_EQ(b.strides()[2], 0);
  EXPECT_EQ(b.to_vector<double>(), want);  // to_vector walks 0-strides
  EXPECT_TRUE(broadcast_to(x, {3, 1}).same(x));
  Tensor s = scalar(4.0);
  EXPECT_TRUE(allclose(broadcast_to(s, {2, 2}), {4, 4, 4, 4}, 0, 0));
  EXPECT_EQ(unsqueeze(x, 0).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{3, 1, 1}));
  EXPECT_EQ(squeeze(x, -1).shape(), (Shape{3}));
  EXPECT_TRUE(allclose(squeeze(x, 1), {1, 2, 3}, 0, 0));
  EXPECT_EQ(flatten(iota_as({2, 3, 4, 5}, DType::f32), 1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(flatten(s).shape(), (Shape{1}));
  EXPECT_EQ(reshape(s, {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(reshape(zeros({0, 3}), {3, -1, 2}).shape(), (Shape{3, 0, 2}));
}

TEST(Views, AstypeEveryPair) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> v = {0, 1, -2, 3.75, -3.75, 1000, 65504, 1e10};
  for (DType from : {DType::f32, DType::f64})
    for (DType to : kAllTypes) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      Tensor x = from_vector(v, {8}, from);
      std::vector<double> want;
      for (double e : v) {
        if (to == DType::i32) {
          want.push_back(e >= 2147483648.0 ? 2147483647.0 : std::trunc(e));  // saturates
        } else if (is_integral(to)) {
          want.push_back(std::trunc(e));
        } else {
          want.push_back(e);
        }
      }
      auto tol = testing::default_tol(to);
      if (to == DType::f16) want[7] = INFINITY;  // 1e10 overflows f16
      EXPECT_TRUE(allclose(astype(x, to), want, is_integral(to) ? 0 : tol.atol,
                           is_integral(to) ? 0 : tol.rtol, true));
      EXPECT_EQ(astype(x, to).dtype(), to);
      // Through a transposed view.
      Tensor m = transpose(reshape(x, {2, 4}), 0, 1);
      auto mv = ref::expand(want, {8}, {8});
      std::vector<double> tw;
      for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 2; ++i) tw.push_back(mv[size_t(i * 4 + j)]);
      EXPECT_TRUE(allclose(astype(m, to), tw, is_integral(to) ? 0 : tol.atol,
                           is_integral(to) ? 0 : tol.rtol, true));
    }
  // NaN/inf to integers: NaN -> 0, infinities saturate (defined, unlike a C cast).
  Tensor nf = from_vector<double>({kNaN, INFINITY, -INFINITY}, {3});
  EXPECT_EQ(astype(nf, DType::i32).to_vector<int32_t>(),
            (std::vector<int32_t>{0, std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::min()}));
  EXPECT_TRUE(allclose(astype(nf, DType::bf16), {kNaN, INFINITY, -INFINITY}, 0, 0, true));
  EXPECT_TRUE(allclose(astype(nf, DType::f16), {kNaN, INFINITY, -INFINITY}, 0, 0, true));
  // To and from bool; integer to float; identity is a no-op.
  Tensor bo = astype(from_vector<float>({0, 2, -0.5}, {3}), DType::boolean);
  EXPECT_TRUE(allclose(astype(bo, DType::f32), {0, 1, 1}, 0, 0));
  EXPECT_TRUE(allclose(astype(from_vector<int64_t>({-3, 7}, {2}), DType::bf16), {-3, 7}, 0, 0));
  EXPECT_TRUE(astype(bo, DType::boolean).same(bo));
}

TEST(Views, Float16RoundTrips) {
  // f16: normals, subnormals, rounding ties to even, overflow; bf16: ties to even.
  const std::vector<double> v = {
      1.0,           1.0 + 1.0 / 2048, 1.0 + 3.0 / 2048,       65504, 65519,
      65520,         6.103515625e-05,  5.9604644775390625e-08, 1e-8,  -2.5e-06,
      0.333251953125};
  const std::vector<double> f16 = {1.0,
                                   1.0,
                                   1.0 + 2.0 / 1024,
                                   65504,
                                   65504,
                                   INFINITY,
                                   6.103515625e-05,
                                   5.9604644775390625e-08,
                                   0,
                                   -2.5033950805664062e-06,
                                   0.333251953125};
  EXPECT_TRUE(allclose(astype(from_vector(v, {11}), DType::f16), f16, 0, 0, true));
  const std::vector<double> b = {1.0, 1.0 + 1.0 / 256, 1.0 + 3.0 / 256, -3.0e38};
  EXPECT_TRUE(allclose(astype(from_vector(b, {4}), DType::bf16),
                       {1.0, 1.0, 1.0 + 4.0 / 256, -std::ldexp(226.0, 120)}, 0,
                       0));  // 3e38 = 225.7 * 2^120
}

// ---------------------------------------------------------------------------------------------
// Gradients.

TEST(ViewsGrad, EveryViewPrimitive) {
  Tensor x = ref::rand_as({3, 4, 5}, 1, DType::f64);
  auto f = [](auto fn) { return std::function<Tensor(const std::vector<Tensor>&)>(fn); };
  EXPECT_TRUE(check_grad(f([](const std::vector<Tensor>& in) {
                           return reshape(in[0], {4, -1});
                         }),
                         {x}));
  EXPECT_TRUE(check_grad(f([](const std::vector<Tensor>& in) {
                           return reshape(transpose(in[0], 0, 2), {20, 3});
                         }),
                         {x}));
  EXPECT_TRUE(check_grad(f([](const std::vector<Tensor>& in) {
                           return permute(in[0], {2, 0, 1});
                         }),
                         {x}));
  EXPECT_TRUE(
      check_grad(f([](const std::vector<Tensor>& in) { return slice(in[0], 1, -3, 4, 2); }), {x}));
  EXPECT_TRUE(check_grad(
      f([](const std::vector<Tensor>& in) { return slice(slice(in[0], 2, 1, 5, 3), 0, 1, 3); }),
      {x}));
  EXPECT_TRUE(check_grad(f([](const std::vector<Tensor>& in) {
                           return broadcast_to(slice(in[0], 1, 0, 1), {2, 3, 4, 5});
                         }),
                         {x}));
  EXPECT_TRUE(
      check_grad(f([](const std::vector<Tensor>& in) { return contiguous(mT(in[0])); }), {x}));
  EXPECT_TRUE(check_grad(f([](const std::vector<Tensor>& in) {
                           return flatten(unsqueeze(squeeze(slice(in[0], 0, 1, 2), 0), 1));
                         }),
                         {x}));
}

TEST(ViewsGrad, SliceScatterIsTheVjpOfSlice) {
  // slice_scatter is built by slice's vjp; as a function of the cotangent it is linear and its own
  // vjp is a slice. Check it directly by differentiating through it.
  Tensor x = ref::rand_as({4, 6}, 2, DType::f64);
  Tensor g = ref::rand_as({4, 2}, 3, DType::f64);
  auto scatter = [x](const std::vector<Tensor>& in) {
    return vjp({slice(x, 1, 1, -1, 3)}, {in[0]}, {x})[0];
  };
  Tensor s = scatter({g});
  std::vector<double> want(24, 0.0);
  auto gv = g.to_vector<double>();
  for (int i = 0; i < 4; ++i) {
    want[size_t(i * 6 + 1)] = gv[size_t(i * 2)];
    want[size_t(i * 6 + 4)] = gv[size_t(i * 2 + 1)];
  }
  EXPECT_TRUE(allclose(s, want, 0, 0));
  EXPECT_TRUE(check_grad(scatter, {g}));
}

TEST(ViewsGrad, AstypeThroughF32) {
  // f64 -> f64 is no cast, so go through f32. The forward rounds to f32 (relative 6e-8), so take
  // wide steps (eps 1e-2, exact for this linear function) and a tolerance of 1e-5: measured error
  // of the numeric gradient 3e-6.
  Tensor x = ref::rand_as({3, 4}, 4, DType::f64);
  EXPECT_TRUE(check_grad(
      [](const std::vector<Tensor>& in) {
        return astype(astype(in[0], DType::f32) * 3.0, DType::f64);
      },
      {x}, 1e-2, 1e-5, 1e-5));
}

TEST(ViewsGrad, StopGradientBlocksTheGradient) {
  Tensor x = from_vector<double>({1, 2, 3}, {3});
  EXPECT_TRUE(allclose(stop_gradient(x * 2.0), {2, 4, 6}, 0, 0));
  auto [v, g] = value_and_grad(
      [&](const std::vector<Tensor>& p) { return sum(p[0] * stop_gradient(p[0])); }, {x});
  EXPECT_TRUE(allclose(g[0], {1, 2, 3}, 0, 0));  // not 2x
  EXPECT_TRUE(allclose(v, {14}, 0, 0));
}

}  // namespace
}  // namespace wick
