// Matrix products through OpenBLAS (OpenMP build, so BLAS and wick's kernels share one pool);
// bf16/f16 with several rows go to matmul_lowp.cpp, and widen to f32 for BLAS only without AVX2.
// Each operand's last two axes must be row- or column-major for BLAS; anything else is copied.
// When b has no batch (stride 0 on every batch axis) and a's rows are contiguous, the whole batch
// becomes a single [batch*M, K] x [K, N] product.
#include "wick/backend/cpu/matmul.h"

#include <cblas.h>

#include <vector>

#include "wick/backend/cpu/copy.h"
#include "wick/backend/cpu/cpu_utils.h"
#include "wick/backend/cpu/matmul_lowp.h"

namespace wick::cpu {

namespace {

struct MatView {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};

// How BLAS can read a matrix with strides (rs, cs); nullopt-like flag when it cannot.
bool blas_view(int64_t rows, int64_t cols, int64_t rs, int64_t cs, MatView& v) {
  if (cs == 1 && (rs >= std::max<int64_t>(cols, 1) || rows == 1)) {
    v = {CblasNoTrans, std::max<int64_t>(rows == 1 ? cols : rs, 1)};
    return true;
  }
  if (rs == 1 && (cs >= std::max<int64_t>(rows, 1) || cols == 1)) {
    v = {CblasTrans, std::max<int64_t>(cols == 1 ? rows : cs, 1)};
    return true;
  }
  return false;
}

Tensor to_f32(const Tensor& t) {
  Tensor f = Tensor::from_buffer(allocator_for(Device::cpu()).allocate(size_t(t.numel()) * 4),
                                 t.shape(), DType::f32);
  copy_into(t, f, f.strides(), 0);
  return f;
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda,
          const T* b, int64_t ldb, T* c, int64_t ldc) {
  auto ta = trans_a ? CblasTrans : CblasNoTrans;
  auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), 1.0f, a, int(lda), b, int(ldb), 0.0f,
                c, int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), 1.0, a, int(lda), b, int(ldb), 0.0,
                c, int(ldc));
  }
}

// c[1, N] = a[1, K] @ op(b): one matrix-vector product. gemm with M = 1 would pack (copy) all of
// b on every call, which dominates decoding (a weight is read once per token).
template <class T>
void gemv_row(const MatView& va, const MatView& vb, int64_t N, int64_t K, const T* a, const T* b,
              T* c) {
  const int inc_a = va.trans == CblasTrans ? int(va.ld) : 1;
  // b NoTrans is [K, N] row-major: c = b^T a. b Trans is stored [N, K]: c = b a.
  const bool stored_nk = vb.trans == CblasTrans;
  const int rows = int(stored_nk ? N : K), cols = int(stored_nk ? K : N);
  const auto t = stored_nk ? CblasNoTrans : CblasTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, t, rows, cols, 1.0f, b, int(vb.ld), a, inc_a, 0.0f, c, 1);
  } else {
    cblas_dgemv(CblasRowMajor, t, rows, cols, 1.0, b, int(vb.ld), a, inc_a, 0.0, c, 1);
  }
}

template <class T>
void matmul_typed(Tensor a, Tensor b, const Tensor& out) {
  const int nd = out.ndim();
  const int64_t M = out.shape()[size_t(nd - 2)], N = out.shape()[size_t(nd - 1)];
  const int64_t K = a.shape()[size_t(nd - 1)];
  T* cp = out.data<T>();
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill(cp, cp + out.numel(), T(0));
    return;
  }
  MatView va, vb;
  if (!blas_view(M, K, a.strides()[size_t(nd - 2)], a.strides()[size_t(nd - 1)], va)) {
    Tensor c = Tensor::from_buffer(allocator_for(Device::cpu()).allocate(a.nbytes()), a.shape(),
                                   a.dtype());
    copy_into(a, c, c.strides(), 0);
    a = c;
    blas_view(M, K, a.strides()[size_t(nd - 2)], a.strides()[size_t(nd - 1)], va);
  }
  if (!blas_view(K, N, b.strides()[size_t(nd - 2)], b.strides()[size_t(nd - 1)], vb)) {
    Tensor c = Tensor::from_buffer(allocator_for(Device::cpu()).allocate(b.nbytes()), b.shape(),
                                   b.dtype());
    copy_into(b, c, c.strides(), 0);
    b = c;
    blas_view(K, N, b.strides()[size_t(nd - 2)], b.strides()[size_t(nd - 1)], vb);
  }
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  const int64_t nb = numel_of(batch);
  // Fold the batch into M when b is shared and a's batch rows are stacked evenly: row r of the
  // folded [nb*M, K] matrix must sit at r * lda. (With M == 1, lda is K, not a's row stride.)
  bool b_shared = true, a_stacked = va.trans == CblasNoTrans;
  int64_t expect = M * va.ld;
  for (int d = nd - 3; d >= 0; --d) {
    b_shared &= b.strides()[size_t(d)] == 0 || b.shape()[size_t(d)] == 1;
    a_stacked &= a.shape()[size_t(d)] == 1 || a.strides()[size_t(d)] == expect;
    expect *= a.shape()[size_t(d)];
  }
  if (nb == 1 || (b_shared && a_stacked)) {
    if (M * nb == 1) return gemv_row<T>(va, vb, N, K, a.data<T>(), b.data<T>(), cp);
    gemm<T>(va.trans == CblasTrans, vb.trans == CblasTrans, M * nb, N, K, a.data<T>(), va.ld,
            b.data<T>(), vb.ld, cp, N);
    return;
  }
  for (int64_t i = 0; i < nb; ++i) {
    int64_t oa = 0, ob = 0, r = i;
    for (int d = int(batch.size()) - 1; d >= 0; --d) {
      int64_t k = r % batch[size_t(d)];
      r /= batch[size_t(d)];
      oa += k * a.strides()[size_t(d)];
      ob += k * b.strides()[size_t(d)];
    }
    gemm<T>(va.trans == CblasTrans, vb.trans == CblasTrans, M, N, K, a.data<T>() + oa, va.ld,
            b.data<T>() + ob, vb.ld, cp + i * M * N, N);
  }
}

// out[1, N] = a[1, K] @ b where b is a [N, K] row-major weight seen transposed (the decode-time
// linear layer): one dot product per output, 16-bit values widened in registers, f32 sums, rows
// split across threads. Returns false for any other layout (the caller then widens to f32).
template <class T>
bool lowp_row_typed(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int nd = out.ndim();
  const int64_t N = out.shape()[size_t(nd - 1)], K = a.shape()[size_t(nd - 1)];
  if (out.numel() != N || K == 0) return false;
  const Strides &as = a.strides(), &bs = b.strides();
  if (as[size_t(nd - 1)] != 1 || bs[size_t(nd - 2)] != 1 || bs[size_t(nd - 1)] < K) return false;
  const int64_t ldb = bs[size_t(nd - 1)];
  std::vector<float> x(static_cast<size_t>(K));
  const T* ap = a.data<T>();
  for (int64_t k = 0; k < K; ++k) x[size_t(k)] = Compute<T>::load(ap[k]);
  const T* bp = b.data<T>();
  out.alloc_contiguous();
  T* op = out.data<T>();
  parallel_for(N, std::max<int64_t>(1, kGrain / K), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* w = bp + n * ldb;
      float acc[16] = {};
      int64_t k = 0;
      for (; k + 16 <= K; k += 16)
        for (int j = 0; j < 16; ++j) acc[j] += x[size_t(k + j)] * Compute<T>::load(w[k + j]);
      float s = 0;
      for (; k < K; ++k) s += x[size_t(k)] * Compute<T>::load(w[k]);
      for (int j = 0; j < 16; ++j) s += acc[j];
      op[n] = Compute<T>::store(s);
    }
  });
  return true;
}

bool lowp_row_product(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (out.dtype() == DType::bf16) return lowp_row_typed<bf16>(a, b, out);
  return lowp_row_typed<f16>(a, b, out);
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (out.dtype()) {
    case DType::f32:
      out.alloc_contiguous();
      return matmul_typed<float>(a, b, out);
    case DType::f64:
      out.alloc_contiguous();
      return matmul_typed<double>(a, b, out);
    case DType::bf16:
    case DType::f16: {
      // bf16 single rows: the dot-product loop below. Everything else goes to the blocked kernels
      // (matmul_lowp.cpp), f16 single rows included: their F16C widening is ~25x faster than this
      // loop's scalar f16 conversion (bench/gemm_bench, M=1). The loop remains for generic CPUs.
      if (out.dtype() == DType::bf16 && lowp_row_product(a, b, out)) return;
      if (lowp_matmul(a, b, out)) return;
      if (lowp_row_product(a, b, out)) return;
      Tensor o32 = Tensor::from_buffer(
          allocator_for(Device::cpu()).allocate(size_t(out.numel()) * 4), out.shape(), DType::f32);
      matmul_typed<float>(to_f32(a), to_f32(b), o32);
      copy_cast(o32, out);
      return;
    }
    default:
      fail<DtypeError>("matmul", "expected a float dtype, got {}", dtype_name(out.dtype()));
  }
}

}  // namespace wick::cpu
