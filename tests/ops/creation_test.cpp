// Creation: full/zeros/ones/scalar in every dtype, arange variants, from_vector/from_data, and
// seeded random_normal/random_uniform (determinism, dtype, rough moments).
#include <gtest/gtest.h>

#include <cmath>

#include "ops/ref_util.h"

namespace wick {
namespace {

using testing::allclose;

TEST(Creation, FullZerosOnesScalarEveryDtype) {
  for (DType dt :
       {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::boolean}) {
    SCOPED_TRACE(dtype_name(dt));
    for (int64_t n : testing::ref::kSizes) {
      Tensor f = full({n, 2}, 3, dt);
      EXPECT_EQ(f.shape(), (Shape{n, 2}));
      EXPECT_EQ(f.dtype(), dt);
      EXPECT_EQ(f.is_pending(), !eager());  // a lazy primitive, evaluated on its device
      EXPECT_TRUE(
          allclose(f, std::vector<double>(size_t(2 * n), dt == DType::boolean ? 1 : 3), 0, 0));
      EXPECT_TRUE(allclose(zeros({n}, dt), std::vector<double>(size_t(n), 0), 0, 0));
      EXPECT_TRUE(allclose(ones({n}, dt), std::vector<double>(size_t(n), 1), 0, 0));
    }
    Tensor s = scalar(1, dt);
    EXPECT_EQ(s.ndim(), 0);
    EXPECT_EQ(s.item<double>(), 1.0);
    Tensor like = zeros({2, 3}, dt);
    EXPECT_EQ(ones_like(like).shape(), like.shape());
    EXPECT_EQ(full_like(like, 1).dtype(), dt);
    EXPECT_TRUE(allclose(ones_like(like), std::vector<double>(6, 1), 0, 0));
  }
  EXPECT_EQ(zeros({0, 5}).numel(), 0);
  // Values are converted to the dtype: rounding for 16-bit floats, truncation for integers.
  EXPECT_EQ(full({1}, 1.0 / 3, DType::bf16).item<double>(), 0.333984375);
  EXPECT_EQ(full({1}, -2.7, DType::i32).item<int32_t>(), -2);
  EXPECT_TRUE(std::isinf(full({1}, 1e6, DType::f16).item<double>()));
}

TEST(Creation, Arange) {
  EXPECT_TRUE(allclose(arange(5), {0, 1, 2, 3, 4}, 0, 0));
  EXPECT_EQ(arange(5).dtype(), DType::i64);
  EXPECT_EQ(arange(0).numel(), 0);
  EXPECT_TRUE(allclose(arange(2, 11, 3), {2, 5, 8}, 0, 0));
  EXPECT_TRUE(allclose(arange(2, 12, 3), {2, 5, 8, 11}, 0, 0));
  EXPECT_TRUE(allclose(arange(5, 0, -2), {5, 3, 1}, 0, 0));
  EXPECT_EQ(arange(5, 0, 1).numel(), 0);
  EXPECT_TRUE(allclose(arange(0, 1, 0.25, DType::f32), {0, 0.25, 0.5, 0.75}, 0, 0));
  EXPECT_TRUE(allclose(arange(-1, 1, 0.5, DType::f64), {-1, -0.5, 0, 0.5}, 0, 0));
  EXPECT_TRUE(allclose(arange(4, DType::bf16), {0, 1, 2, 3}, 0, 0));
  EXPECT_EQ(arange(3, DType::i32).dtype(), DType::i32);
  Tensor big = arange(4097, DType::f32);
  auto v = big.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], double(i));
  EXPECT_THROW(arange(0, 1, 0), ValueError);
}

TEST(Creation, FromVectorAndFromData) {
  Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.dtype(), DType::f32);
  EXPECT_TRUE(allclose(a, {1, 2, 3, 4, 5, 6}, 0, 0));
  EXPECT_EQ(from_vector<int32_t>({7}, {}).item<int32_t>(), 7);
  EXPECT_EQ(from_vector<int64_t>({7, 8}, {2}).dtype(), DType::i64);
  EXPECT_TRUE(allclose(from_vector<double>({0.1, 0.2}, {2}, DType::bf16),
                       {0.10009765625, 0.2001953125}, 0, 0));
  EXPECT_TRUE(allclose(from_vector<int32_t>({-1, 0, 2}, {3}, DType::boolean), {1, 0, 1}, 0, 0));
  // Same-dtype conversion is exact even where a double cannot hold the value.
  const int64_t big = (int64_t(1) << 60) + 1;
  EXPECT_EQ(from_vector<int64_t>({big}, {1}, DType::i64).item<int64_t>(), big);
  const uint16_t raw[3] = {0x3c00, 0xc000, 0x7c00};  // f16 1, -2, inf
  EXPECT_TRUE(allclose(from_data(raw, {3}, DType::f16), {1, -2, INFINITY}, 0, 0, true));
  EXPECT_THROW(from_vector<float>({1, 2, 3}, {2, 2}), ShapeError);
}

TEST(Creation, RandomIsSeededAndHasTheRightMoments) {
  for (DType dt : testing::ref::kFloatTypes) {
    SCOPED_TRACE(dtype_name(dt));
    Generator g1(42), g2(42), g3(43);
    Tensor a = random_normal({4097}, dt, 1.5, 2.0, &g1);
    Tensor b = random_normal({4097}, dt, 1.5, 2.0, &g2);
    Tensor c = random_normal({4097}, dt, 1.5, 2.0, &g3);
    EXPECT_EQ(a.dtype(), dt);
    auto av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
    EXPECT_EQ(av, bv);
    EXPECT_NE(av, cv);
    double m = 0, s2 = 0;
    for (double x : av) m += x;
    m /= double(av.size());
    for (double x : av) s2 += (x - m) * (x - m);
    s2 /= double(av.size());
    // Standard error of the mean is 2/64 = 0.03; of the std ~0.022. Allow ~5 sigma.
    EXPECT_NEAR(m, 1.5, 0.15);
    EXPECT_NEAR(std::sqrt(s2), 2.0, 0.12);
    Tensor u = random_uniform({4097}, dt, -1, 3, &g1);
    auto uv = u.to_vector<double>();
    double um = 0, lo = 1e9, hi = -1e9;
    for (double x : uv) {
      um += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    um /= double(uv.size());
    EXPECT_NEAR(um, 1.0, 0.1);  // std of the mean 4/sqrt(12)/64 = 0.018
    EXPECT_GE(lo, -1.0);
    EXPECT_LE(hi, 3.0);  // bf16/f16 rounding can reach the upper bound
    EXPECT_LT(lo, -0.9);
    EXPECT_GT(hi, 2.9);
  }
  // The default generator follows manual_seed.
  manual_seed(7);
  auto x = random_normal({5}).to_vector<double>();
  manual_seed(7);
  EXPECT_EQ(random_normal({5}).to_vector<double>(), x);
  EXPECT_THROW(random_normal({2}, DType::i32), DtypeError);
  EXPECT_THROW(random_uniform({2}, DType::boolean), DtypeError);
}

}  // namespace
}  // namespace wick
