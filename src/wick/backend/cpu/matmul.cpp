// Matrix products through OpenBLAS (OpenMP build, so BLAS and wick's kernels share one pool).
// Each operand's last two axes must be row- or column-major for BLAS; anything else is copied.
// When b has no batch (stride 0 on every batch axis) and a's rows are contiguous, the whole batch
// becomes a single [batch*M, K] x [K, N] product.
#include "wick/backend/cpu/matmul.h"

#include <cblas.h>

#include <vector>

#include "wick/backend/cpu/copy.h"
#include "wick/backend/cpu/cpu_utils.h"

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
