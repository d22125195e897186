// matmul and linear against a plain f64 triple loop: 2-d, batched, broadcast batch, transposed
// and strided operands (BLAS trans / ld paths, and the copy fallback), the folded linear path,
// the backend's shared-b batch fold, bf16/f16 through f32, and K=0 / M=1 / M=0 edges; and vjps.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/ref_util.h"

namespace wick {
namespace {

using testing::allclose;
using testing::check_grad;
using testing::default_tol;
namespace ref = testing::ref;

// a [..., M, K] @ b [..., K, N] with NumPy batch broadcasting, by index arithmetic.
std::vector<double> matmul_ref(const Tensor& a, const Tensor& b) {
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  const Shape &as = a.shape(), &bs = b.shape();
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes(ab, bb, "test");
  std::vector<double> out;
  for (int64_t i = 0; i < numel_of(batch); ++i) {
    size_t ia = ref::broadcast_index(i, ab, batch), ib = ref::broadcast_index(i, bb, batch);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += av[ia * size_t(M * K) + size_t(m * K + k)] *
               bv[ib * size_t(K * N) + size_t(k * N + n)];
        out.push_back(s);
      }
  }
  return out;
}

// BLAS sums K products in the working precision, so the error grows with K. Measured worst abs
// error over 20 draws of N(0,1) [8, K] @ [K, 8]: f32 1.3e-5 at K=127 (|y| up to 37) and 9.4e-5 at
// K=4097 (|y| up to 223); f64 1.1e-14 and 6.8e-13. atol = c * sqrt(K) covers these with margin.
testing::Tol mm_tol(DType dt, int64_t K) {
  auto t = default_tol(dt);
  if (dt == DType::f32) return {2e-6 * std::sqrt(double(std::max<int64_t>(K, 1))), 1e-5};
  if (dt == DType::f64) return {1e-13 * std::sqrt(double(std::max<int64_t>(K, 1))), 1e-10};
  return t;
}

struct MKN {
  int64_t m, k, n;
};
const MKN kSizes[] = {{1, 1, 1}, {1, 3, 127}, {3, 127, 1}, {127, 3, 3}, {3, 4097, 3}, {1, 127, 1}};

TEST(Matmul, TwoDimEveryDtypeSizeAndOperandLayout) {
  uint64_t seed = 1;
  for (DType dt : ref::kFloatTypes)
    for (auto [M, K, N] : kSizes) {
      // Operand variants: row-major, transposed view (BLAS Trans), row-strided (ld > cols),
      // column-strided (not BLAS-readable: copied first).
      std::vector<std::pair<std::string, Tensor>> as = {
          {"a", ref::rand_as({M, K}, seed++, dt)},
          {"a^T", mT(ref::rand_as({K, M}, seed++, dt)).eval()},
          {"a rows", slice(ref::rand_as({2 * M, K}, seed++, dt), 0, 1, 2 * M, 2).eval()},
          {"a cols", slice(ref::rand_as({M, 2 * K}, seed++, dt), 1, 0, 2 * K, 2).eval()}};
      std::vector<std::pair<std::string, Tensor>> bs = {
          {"b", ref::rand_as({K, N}, seed++, dt)},
          {"b^T", mT(ref::rand_as({N, K}, seed++, dt)).eval()},
          {"b cols", slice(ref::rand_as({K, 3 * N}, seed++, dt), 1, 2, 3 * N, 3).eval()}};
      for (const auto& [an, a] : as)
        for (const auto& [bn, b] : bs) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(M) + "x" +
                       std::to_string(K) + "x" + std::to_string(N) + " " + an + " @ " + bn);
          Tensor y = matmul(a, b);
          ASSERT_EQ(y.shape(), (Shape{M, N}));
          ASSERT_EQ(y.dtype(), dt);
          auto tol = mm_tol(dt, K);
          EXPECT_TRUE(allclose(y, matmul_ref(a, b), tol.atol, tol.rtol));
        }
    }
}

TEST(Matmul, BatchedAndBroadcastBatch) {
  uint64_t seed = 100;
  for (DType dt : ref::kFloatTypes) {
    auto tol = mm_tol(dt, 7);
    struct Case {
      Shape a, b;
    };
    for (const auto& c :
         {Case{{2, 3, 4, 7}, {2, 3, 7, 5}}, Case{{2, 1, 4, 7}, {3, 7, 5}}, Case{{4, 7}, {3, 7, 5}},
          Case{{5, 4, 7}, {1, 7, 5}}, Case{{1, 4, 7}, {5, 7, 2}}, Case{{3, 1, 7}, {1, 7, 6}}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + shape_str(c.a) + " @ " + shape_str(c.b));
      Tensor a = ref::rand_as(c.a, seed++, dt), b = ref::rand_as(c.b, seed++, dt);
      EXPECT_TRUE(allclose(matmul(a, b), matmul_ref(a, b), tol.atol, tol.rtol));
      // Transposed operands in the batch.
      Tensor at = mT(mT(a).eval());  // same values, column-major storage
      EXPECT_TRUE(allclose(matmul(at, b), matmul_ref(at, b), tol.atol, tol.rtol));
      Tensor bt = mT(mT(b).eval());
      EXPECT_TRUE(allclose(matmul(a, bt), matmul_ref(a, bt), tol.atol, tol.rtol));
    }
  }
}

TEST(Matmul, SharedBFoldWithOneRowSlicedMatrices) {
  // a [4, 1, K] cut from a wider buffer: its single row has stride K + 2, while a folded
  // [4, K] matrix must have ld == row spacing. b [1, K, N] is shared across the batch.
  const int64_t K = 5, N = 3;
  for (DType dt : ref::kFloatTypes) {
    Tensor wide = ref::rand_as({4, 1, K + 2}, 7, dt);
    Tensor a = slice(wide, -1, 0, K).eval();
    Tensor b = ref::rand_as({1, K, N}, 8, dt);
    auto tol = mm_tol(dt, K);
    EXPECT_TRUE(allclose(matmul(a, b), matmul_ref(a, b), tol.atol, tol.rtol)) << dtype_name(dt);
    // The stacked (foldable) case: contiguous a [4, 3, K] with a shared b.
    Tensor c = ref::rand_as({4, 3, K}, 9, dt);
    EXPECT_TRUE(allclose(matmul(c, b), matmul_ref(c, b), tol.atol, tol.rtol));
    // Rows stacked with a gap between batches (not foldable).
    Tensor d = slice(ref::rand_as({4, 4, K}, 10, dt), 1, 0, 3).eval();
    EXPECT_TRUE(allclose(matmul(d, b), matmul_ref(d, b), tol.atol, tol.rtol));
  }
}

TEST(Matmul, FoldedLinearPath) {
  uint64_t seed = 300;
  for (DType dt : ref::kFloatTypes) {
    auto tol = mm_tol(dt, 127);
    Tensor a = ref::rand_as({2, 3, 127}, seed++, dt), b = ref::rand_as({127, 5}, seed++, dt);
    EXPECT_TRUE(allclose(matmul(a, b), matmul_ref(a, b), tol.atol, tol.rtol));
    // Non-contiguous batched a (batch axes swapped) and a transposed b.
    Tensor ap = transpose(ref::rand_as({3, 2, 127}, seed++, dt), 0, 1).eval();
    Tensor bt = mT(ref::rand_as({5, 127}, seed++, dt)).eval();
    EXPECT_TRUE(allclose(matmul(ap, bt), matmul_ref(ap, bt), tol.atol, tol.rtol));
    EXPECT_EQ(matmul(ap, bt).shape(), (Shape{2, 3, 5}));
  }
}

TEST(Matmul, EmptyAndDegenerateSizes) {
  for (DType dt : ref::kFloatTypes) {
    // K = 0: a sum over nothing is 0 (2-d, batched, folded).
    EXPECT_TRUE(
        allclose(matmul(zeros({3, 0}, dt), zeros({0, 4}, dt)), std::vector<double>(12, 0), 0, 0));
    EXPECT_TRUE(allclose(matmul(zeros({2, 3, 0}, dt), zeros({2, 0, 4}, dt)),
                         std::vector<double>(24, 0), 0, 0));
    EXPECT_TRUE(allclose(matmul(zeros({2, 3, 0}, dt), zeros({0, 4}, dt)),
                         std::vector<double>(24, 0), 0, 0));
    // M = 0 / N = 0 give empty results of the right shape.
    EXPECT_EQ(matmul(zeros({0, 3}, dt), ones({3, 4}, dt)).eval().shape(), (Shape{0, 4}));
    EXPECT_EQ(matmul(ones({2, 3}, dt), zeros({3, 0}, dt)).eval().shape(), (Shape{2, 0}));
    EXPECT_EQ(matmul(zeros({2, 0, 3}, dt), ones({3, 4}, dt)).eval().numel(), 0);
  }
}

TEST(Matmul, NonFinitePropagates) {
  Tensor a = from_vector<float>({1, NAN, 0, 1}, {2, 2}),
         b = from_vector<float>({1, 2, 3, INFINITY}, {2, 2});
  // Row 0: [1, nan] -> nan everywhere; row 1: [0, 1] -> [3, inf].
  EXPECT_TRUE(allclose(matmul(a, b), {NAN, NAN, 3, INFINITY}, 0, 0, true));
}

TEST(Linear, WithAndWithoutBias) {
  uint64_t seed = 500;
  for (DType dt : ref::kFloatTypes) {
    auto tol = mm_tol(dt, 127);
    Tensor w = ref::rand_as({5, 127}, seed++, dt), bias = ref::rand_as({5}, seed++, dt);
    for (Shape xs : {Shape{127}, Shape{3, 127}, Shape{2, 3, 127}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + shape_str(xs));
      Tensor x = ref::rand_as(xs, seed++, dt);
      Tensor x2 = xs.size() == 1 ? reshape(x, {1, 127}) : x;
      auto want = matmul_ref(x2, mT(w).eval());
      Shape ys = xs;
      ys.back() = 5;
      Tensor y = linear(x, w);
      EXPECT_EQ(y.shape(), ys);
      EXPECT_TRUE(allclose(y, want, tol.atol, tol.rtol));
      auto bv = bias.to_vector<double>();
      // The bias is added in the tensor's dtype, after rounding the product to it.
      auto yv = y.to_vector<double>();
      for (size_t i = 0; i < want.size(); ++i) want[i] = yv[i] + bv[i % 5];
      auto t = default_tol(dt);
      EXPECT_TRUE(allclose(linear(x, w, bias), want, t.atol, t.rtol));
    }
  }
}

TEST(MatmulGrad, TwoDimBatchedBroadcastFoldedAndTransposed) {
  auto mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  EXPECT_TRUE(
      check_grad(mm, {ref::rand_as({3, 4}, 1, DType::f64), ref::rand_as({4, 2}, 2, DType::f64)}));
  EXPECT_TRUE(check_grad(
      mm, {ref::rand_as({2, 1, 3, 4}, 3, DType::f64), ref::rand_as({3, 4, 2}, 4, DType::f64)}));
  // Folded path: a [B, T, K] @ b [K, N].
  EXPECT_TRUE(check_grad(
      mm, {ref::rand_as({2, 3, 4}, 5, DType::f64), ref::rand_as({4, 2}, 6, DType::f64)}));
  // Shared b with a batch of one-row matrices.
  EXPECT_TRUE(check_grad(
      mm, {ref::rand_as({3, 1, 4}, 7, DType::f64), ref::rand_as({1, 4, 2}, 8, DType::f64)}));
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return matmul(mT(in[0]), mT(in[1])); },
                 {ref::rand_as({4, 3}, 9, DType::f64), ref::rand_as({2, 4}, 10, DType::f64)}));
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                 {ref::rand_as({2, 3, 4}, 11, DType::f64), ref::rand_as({5, 4}, 12, DType::f64),
                  ref::rand_as({5}, 13, DType::f64)}));
  EXPECT_TRUE(
      check_grad([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                 {ref::rand_as({4}, 14, DType::f64), ref::rand_as({3, 4}, 15, DType::f64)}));
}

}  // namespace
}  // namespace wick
