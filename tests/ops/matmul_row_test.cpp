// Single-row matrix products (the decode-time linear layer): the gemv path for f32/f64 and the
// widening-in-registers path for bf16/f16, against f64 loops from the same rounded inputs.
#include <gtest/gtest.h>

#include "testing/testing.h"

namespace wick::testing {
namespace {

// x [1, K] @ w^T for w [N, K] (or x @ w for w [K, N] when transposed_weight is false).
std::vector<double> reference(const Tensor& x, const Tensor& w, bool weight_nk) {
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const int64_t K = x.shape(-1), N = weight_nk ? w.shape(0) : w.shape(1);
  std::vector<double> out(size_t(N), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      out[size_t(n)] += xv[size_t(k)] * wv[size_t(weight_nk ? n * K + k : k * N + n)];
  return out;
}

TEST(MatmulRow, SingleRowAllLayoutsAndDtypes) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    const Tol tol = default_tol(dt);
    for (int64_t K : {1, 3, 127, 4097}) {
      for (int64_t N : {1, 5, 33}) {
        Tensor x = astype(randn({1, K}, uint64_t(K + N)), dt).eval();
        Tensor w_nk = astype(randn({N, K}, uint64_t(7 * K + N)), dt).eval();
        Tensor w_kn = astype(randn({K, N}, uint64_t(3 * K + N)), dt).eval();
        // Sums of K products: the f32 accumulation error grows like sqrt(K) * eps * |terms|.
        const double atol = (dt == DType::f64 ? 1e-12 : 1e-4) * std::sqrt(double(K)) + tol.atol;
        auto check = [&](const Tensor& y, const std::vector<double>& e, const char* what) {
          // bf16/f16 outputs are rounded once: relative tolerance of the dtype.
          EXPECT_TRUE(allclose(astype(y, DType::f64), e, atol, tol.rtol))
              << dtype_name(dt) << " K=" << K << " N=" << N << " " << what;
        };
        check(matmul(x, mT(w_nk)), reference(x, w_nk, true), "x @ w^T (linear)");
        check(linear(reshape(x, {1, 1, K}), w_nk), reference(x, w_nk, true), "linear 3-d");
        check(matmul(x, w_kn), reference(x, w_kn, false), "x @ w");
        // A strided row: every other element of a [1, 2K] row.
        Tensor wide = astype(randn({1, 2 * K}, uint64_t(K)), dt).eval();
        Tensor xs = slice(wide, 1, 0, 2 * K, 2);
        check(matmul(xs, mT(w_nk)), reference(contiguous(xs), w_nk, true), "strided x");
      }
    }
  }
}

TEST(MatmulRow, NanPropagates) {
  Tensor x = from_vector<float>({1.0f, NAN, 2.0f}, {1, 3});
  Tensor w = ones({4, 3});
  auto y = matmul(x, mT(w)).to_vector<float>();
  for (float v : y) EXPECT_TRUE(std::isnan(v));
  auto yb = matmul(astype(x, DType::bf16), mT(astype(w, DType::bf16))).to_vector<float>();
  for (float v : yb) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace wick::testing
