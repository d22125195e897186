// bf16/f16 products with several rows (backend/cpu/matmul_lowp.cpp) against f64 loops over the same
// rounded inputs, at each instruction-set level this CPU has (forced through force_cpu_isa):
// awkward shapes, the linear layout and the transposed-copy fallbacks, strided and batched inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"
#include "wick/backend/cpu/matmul_lowp.h"

namespace wick::testing {
namespace {

using cpu::CpuIsa;

// Forces a level for one scope; skips the test when this CPU lacks it.
struct IsaScope {
  explicit IsaScope(CpuIsa isa) { cpu::force_cpu_isa(isa); }
  ~IsaScope() { cpu::force_cpu_isa(std::nullopt); }
};

#define WICK_REQUIRE_ISA(isa)                                                         \
  if (cpu::cpu_isa_supported() < (isa))                                               \
    GTEST_SKIP() << "this CPU lacks " << cpu::cpu_isa_name(isa)                       \
                 << " (best: " << cpu::cpu_isa_name(cpu::cpu_isa_supported()) << ")"; \
  IsaScope isa_scope_(isa)

// x [M, K] @ w^T for w [N, K] (weight_nk) or x @ w for w [K, N], from the rounded values.
std::vector<double> lowp_reference(const Tensor& x, const Tensor& w, bool weight_nk) {
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const int64_t M = x.shape(0), K = x.shape(1), N = weight_nk ? w.shape(0) : w.shape(1);
  std::vector<double> out(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += xv[size_t(m * K + k)] * wv[size_t(weight_nk ? n * K + k : k * N + n)];
      out[size_t(m * N + n)] = s;
    }
  return out;
}

// The output is rounded once to the dtype (half an ulp: 2^-9 bf16, 2^-12 f16 relative; twice that
// here), on top of f32 sums whose error grows like sqrt(K). Tighter than default_tol: a dropped or
// doubled term of size ~1 fails it.
Tol lowp_tol(DType dt, int64_t K) {
  return {2e-5 * std::sqrt(double(K)) + 1e-6, dt == DType::bf16 ? 1.0 / 256 : 1.0 / 2048};
}

void lowp_check_shapes(CpuIsa isa) {
  for (DType dt : {DType::bf16, DType::f16})
    for (int64_t M : {1, 2, 3, 7, 8, 9, 33, 127})
      for (int64_t K : {1, 7, 127, 129, 4097})
        for (int64_t N : {1, 7, 17, 127, 129}) {
          const uint64_t seed = uint64_t(M * 1000003 + K * 101 + N);
          Tensor x = astype(randn({M, K}, seed), dt).eval();
          Tensor w = astype(randn({N, K}, seed + 1), dt).eval();
          const Tol tol = lowp_tol(dt, K);
          EXPECT_TRUE(allclose(astype(matmul(x, mT(w)), DType::f64), lowp_reference(x, w, true),
                               tol.atol, tol.rtol))
              << cpu_isa_name(isa) << " " << dtype_name(dt) << " M=" << M << " K=" << K
              << " N=" << N;
        }
}

TEST(MatmulLowp, AwkwardShapesAvx512) {
  WICK_REQUIRE_ISA(CpuIsa::avx512);
  lowp_check_shapes(CpuIsa::avx512);
}
TEST(MatmulLowp, AwkwardShapesAvx2) {
  WICK_REQUIRE_ISA(CpuIsa::avx2);
  lowp_check_shapes(CpuIsa::avx2);
}
TEST(MatmulLowp, AwkwardShapesGeneric) {
  WICK_REQUIRE_ISA(CpuIsa::generic);
  lowp_check_shapes(CpuIsa::generic);
}

// Layouts: [K, N] weights (transposed into a scratch copy), a with a non-unit column stride,
// row-strided a, batched a with a shared weight (folded), per-batch b, broadcast b.
void lowp_check_layouts(CpuIsa isa) {
  for (DType dt : {DType::bf16, DType::f16})
    for (auto [M, K, N] : {std::array<int64_t, 3>{9, 129, 17}, {33, 7, 127}, {2, 4097, 7}}) {
      const Tol tol = lowp_tol(dt, K);
      const std::string what =
          fmt::format("{} {} M={} K={} N={}", cpu_isa_name(isa), dtype_name(dt), M, K, N);
      auto check = [&](const Tensor& y, const std::vector<double>& e, const char* layout) {
        EXPECT_TRUE(allclose(astype(y, DType::f64), e, tol.atol, tol.rtol))
            << what << " " << layout;
      };
      Tensor x = astype(randn({M, K}, uint64_t(M + K)), dt).eval();
      Tensor w_nk = astype(randn({N, K}, uint64_t(K + N)), dt).eval();
      Tensor w_kn = astype(randn({K, N}, uint64_t(K * N)), dt).eval();
      check(matmul(x, w_kn), lowp_reference(x, w_kn, false), "x @ w[K,N]");
      Tensor xt = astype(randn({K, M}, uint64_t(3 * M + K)), dt).eval();
      check(matmul(mT(xt), mT(w_nk)), lowp_reference(contiguous(mT(xt)), w_nk, true), "x^T view");
      Tensor wide = astype(randn({M, 2 * K + 3}, uint64_t(5 * M + K)), dt).eval();
      Tensor xs = slice(wide, 1, 1, K + 1);
      check(matmul(xs, mT(w_nk)), lowp_reference(contiguous(xs), w_nk, true), "row-strided x");
      Tensor xk = slice(wide, 1, 0, 2 * K, 2);
      check(matmul(xk, mT(w_nk)), lowp_reference(contiguous(xk), w_nk, true), "column-strided x");

      // Batched: [2, 3, M, K] @ w^T (shared weight, folded rows) and through linear().
      Tensor xb = astype(randn({2, 3, M, K}, uint64_t(7 * M + K)), dt).eval();
      std::vector<double> eb;
      for (int64_t i = 0; i < 6; ++i) {
        Tensor xi = reshape(slice(reshape(xb, {6, M, K}), 0, i, i + 1), {M, K});
        auto e = lowp_reference(contiguous(xi), w_nk, true);
        eb.insert(eb.end(), e.begin(), e.end());
      }
      check(matmul(xb, mT(w_nk)), eb, "batched x, shared w");
      check(linear(xb, w_nk), eb, "linear 4-d");
      // Batch axes swapped: rows no longer stacked evenly, so one product per batch entry.
      Tensor xp = transpose(astype(randn({3, 2, M, K}, uint64_t(M + 11 * K)), dt).eval(), 0, 1);
      std::vector<double> ep;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          Tensor xi = reshape(slice(slice(xp, 0, i, i + 1), 1, j, j + 1), {M, K});
          auto e = lowp_reference(contiguous(xi), w_nk, true);
          ep.insert(ep.end(), e.begin(), e.end());
        }
      check(matmul(xp, mT(w_nk)), ep, "permuted batch, shared w");
      // Per-batch b in both layouts: [2, N, K] seen transposed, and [2, K, N] row-major.
      Tensor bn = astype(randn({2, N, K}, uint64_t(13 * N + K)), dt).eval();
      Tensor bk = astype(randn({2, K, N}, uint64_t(17 * N + K)), dt).eval();
      Tensor x2 = slice(reshape(xb, {6, M, K}), 0, 0, 2);
      std::vector<double> en, ek;
      for (int64_t i = 0; i < 2; ++i) {
        Tensor xi = contiguous(reshape(slice(x2, 0, i, i + 1), {M, K}));
        auto e1 = lowp_reference(xi, contiguous(reshape(slice(bn, 0, i, i + 1), {N, K})), true);
        auto e2 = lowp_reference(xi, contiguous(reshape(slice(bk, 0, i, i + 1), {K, N})), false);
        en.insert(en.end(), e1.begin(), e1.end());
        ek.insert(ek.end(), e2.begin(), e2.end());
      }
      check(matmul(x2, mT(bn)), en, "per-batch b [N,K]");
      check(matmul(x2, bk), ek, "per-batch b [K,N]");
      // A broadcast [K, N] weight: transposed once, reused by every batch entry.
      std::vector<double> ekn;
      for (int64_t i = 0; i < 2; ++i) {
        auto e = lowp_reference(contiguous(reshape(slice(x2, 0, i, i + 1), {M, K})), w_kn, false);
        ekn.insert(ekn.end(), e.begin(), e.end());
      }
      check(matmul(x2, w_kn), ekn, "batched x, shared w[K,N]");
    }
}

TEST(MatmulLowp, LayoutsAndBatchesAvx512) {
  WICK_REQUIRE_ISA(CpuIsa::avx512);
  lowp_check_layouts(CpuIsa::avx512);
}
TEST(MatmulLowp, LayoutsAndBatchesAvx2) {
  WICK_REQUIRE_ISA(CpuIsa::avx2);
  lowp_check_layouts(CpuIsa::avx2);
}

TEST(MatmulLowp, NanPropagatesAtEveryLevel) {
  for (CpuIsa isa : {CpuIsa::generic, CpuIsa::avx2, CpuIsa::avx512}) {
    if (cpu::cpu_isa_supported() < isa) continue;
    IsaScope scope(isa);
    Tensor x = astype(randn({5, 40}, 3), DType::bf16).eval();
    std::vector<float> xv = x.to_vector<float>();
    xv[size_t(2 * 40 + 37)] = NAN;  // row 2, in the K tail of every kernel
    Tensor xn = astype(from_vector<float>(xv, {5, 40}), DType::bf16);
    auto y = matmul(xn, mT(astype(ones({6, 40}), DType::bf16))).to_vector<float>();
    for (int64_t m = 0; m < 5; ++m)
      for (int64_t n = 0; n < 6; ++n)
        EXPECT_EQ(std::isnan(y[size_t(m * 6 + n)]), m == 2) << cpu_isa_name(isa) << m << "," << n;
  }
}

TEST(MatmulLowp, ForcingAnUnsupportedLevelFails) {
  if (cpu::cpu_isa_supported() == CpuIsa::avx512) GTEST_SKIP() << "this CPU supports every level";
  expect_error<ValueError>([] { cpu::force_cpu_isa(CpuIsa::avx512); }, "force_cpu_isa");
}

}  // namespace
}  // namespace wick::testing
