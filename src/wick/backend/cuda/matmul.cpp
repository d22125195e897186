// Matrix products through cuBLAS: row-major operands in any layout whose last two axes have a
// unit stride (transposes are flags, not copies), batch axes as strided batches (broadcast batch
// axes are stride 0), f32 accumulation for bf16/f16, exact f32 (no tf32).
#include "wick/backend/cuda/register.h"
#include "wick/backend/cuda/register_common.h"

namespace wick::cuda {

void gemm(DeviceState& d, DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          float alpha, const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb,
          int64_t sb, float beta, void* c, int64_t ldc, int64_t sc, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (dt == DType::f64) {
    const double al = alpha, be = beta;
    check_blas(cublasDgemmStridedBatched(d.blas, ob, oa, int(n), int(m), int(k), &al,
                                         static_cast<const double*>(b), int(ldb), sb,
                                         static_cast<const double*>(a), int(lda), sa, &be,
                                         static_cast<double*>(c), int(ldc), sc, int(batch)),
               "matmul (f64)");
    return;
  }
  cudaDataType_t t = CUDA_R_32F;
  if (dt == DType::bf16) t = CUDA_R_16BF;
  if (dt == DType::f16) t = CUDA_R_16F;
  check_blas(cublasGemmStridedBatchedEx(d.blas, ob, oa, int(n), int(m), int(k), &alpha, b, t,
                                        int(ldb), sb, a, t, int(lda), sa, &beta, c, t, int(ldc), sc,
                                        int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             "matmul");
}

namespace {

// How the last two axes (rows x cols) of an operand are read: row-major with leading dimension
// ld (trans false) or column-major (trans true). nullopt when neither axis has a unit stride.
struct Mat {
  bool trans;
  int64_t ld;
};
std::optional<Mat> mat_layout(const Tensor& t) {
  const int64_t r = t.shape(-2), c = t.shape(-1);
  const int64_t sr = t.strides()[size_t(t.ndim() - 2)], sc = t.strides()[size_t(t.ndim() - 1)];
  if (c == 1 || sc == 1) {
    const int64_t ld = r == 1 ? c : sr;
    if (ld >= c && ld >= 1) return Mat{false, ld};
  }
  if (r == 1 || sr == 1) {
    const int64_t ld = c == 1 ? r : sc;
    if (ld >= r && ld >= 1) return Mat{true, ld};
  }
  return std::nullopt;
}

bool blas_dtype(DType d) {
  return d == DType::f32 || d == DType::f64 || d == DType::bf16 || d == DType::f16;
}

void k_matmul(const Primitive& p, const Ins& in, const Ins& out) {
  Tensor a = in[0], b = in[1];
  const Tensor& o = out[0];
  if (!blas_dtype(a.dtype()) || a.dtype() != b.dtype()) return host_fallback(p, in, out);
  o.alloc_contiguous();
  const int64_t m = o.shape(-2), n = o.shape(-1), k = a.shape(-1);
  if (o.numel() == 0) return;
  DeviceState& d = state(o.device().index);
  if (k == 0) {
    launch_fill(o.dtype(), 0.0, dptr_mut(o), o.numel(), d.stream);
    check_launch("matmul");
    return;
  }
  auto la = mat_layout(a), lb = mat_layout(b);
  if (!la) {
    a = contiguous_on_device(a);
    la = mat_layout(a);
  }
  if (!lb) {
    b = contiguous_on_device(b);
    lb = mat_layout(b);
  }
  // Batch axes: merged where a, b and out all allow; the innermost merged axis is the cuBLAS
  // batch, the outer ones (rare) a host loop.
  const size_t nb = size_t(o.ndim() - 2);
  Shape batch(o.shape().begin(), o.shape().begin() + long(nb));
  Strides sa(a.strides().begin(), a.strides().begin() + long(nb));
  Strides sb(b.strides().begin(), b.strides().begin() + long(nb));
  Strides so(o.strides().begin(), o.strides().begin() + long(nb));
  auto desc = describe_strides({&sa, &sb, &so}, batch);
  if (!desc) return host_fallback(p, in, out);
  const Strided &da = (*desc)[0], &db = (*desc)[1], &dc = (*desc)[2];
  const int nd = da.ndim;
  const int64_t count = nd ? da.shape[nd - 1] : 1;
  const int64_t bsa = nd ? da.stride[nd - 1] : 0, bsb = nd ? db.stride[nd - 1] : 0,
                bsc = nd ? dc.stride[nd - 1] : m * n;
  int64_t outer = 1;
  for (int i = 0; i + 1 < nd; ++i) outer *= da.shape[i];
  const size_t es = size_of(o.dtype());
  const char* ap = static_cast<const char*>(dptr(a));
  const char* bp = static_cast<const char*>(dptr(b));
  char* cp = static_cast<char*>(dptr_mut(o));
  for (int64_t q = 0; q < outer; ++q) {
    int64_t oa = 0, ob = 0, oc = 0, rem = q;
    for (int i = nd - 2; i >= 0; --i) {
      const int64_t c = rem % da.shape[i];
      rem /= da.shape[i];
      oa += c * da.stride[i];
      ob += c * db.stride[i];
      oc += c * dc.stride[i];
    }
    gemm(d, o.dtype(), la->trans, lb->trans, m, n, k, 1.0f, ap + oa * int64_t(es), la->ld, bsa,
         bp + ob * int64_t(es), lb->ld, bsb, 0.0f, cp + oc * int64_t(es), n, bsc, count);
  }
}

}  // namespace

void register_matmul(Backend& b) { b.register_kernel(K::matmul, k_matmul); }

}  // namespace wick::cuda
