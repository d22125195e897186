// Chunked linear + cross-entropy. For each block of C rows: logits [C, V] = h_c W^T by one BLAS
// gemm into a scratch buffer, then per row (parallel over rows) the max, log-sum-exp and target
// logit; the loss is lse - logit[target]. The gradient recomputes the block's logits, turns each
// row into g_i * (softmax - onehot) in place, then dh_c = P W or dW += P^T h_c (gemm). Scratch
// memory is C * V elements; accumulation is in the compute dtype (f32 or f64). f32 rows take the
// vectorised exp_f32 (about 1 ulp) and sum it in double lanes; f64 rows use std::exp.
#include "wick/backend/cpu/linear_cross_entropy.h"

#include <cblas.h>

#include <cmath>
#include <limits>
#include <vector>

#include "wick/core/buffer.h"

#include "wick/backend/cpu/cpu_utils.h"
#include "wick/backend/cpu/softmax.h"

namespace wick::cpu {

namespace {

template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  auto A = ta ? CblasTrans : CblasNoTrans, B = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, A, B, int(M), int(N), int(K), 1.0f, a, int(lda), b, int(ldb), beta,
                c, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, A, B, int(M), int(N), int(K), 1.0, a, int(lda), b, int(ldb), beta, c,
                int(ldc));
}

void check_targets(const int64_t* t, int64_t n, int64_t V, int64_t ignore) {
  for (int64_t i = 0; i < n; ++i)
    if (t[i] != ignore && (t[i] < 0 || t[i] >= V))
      fail<ValueError>("linear_cross_entropy", "target {} at row {} is out of range [0, {})", t[i],
                       i, V);
}

// Row-wise log-sum-exp of x [V] (NaN if any x is NaN; +-inf when the max is infinite).
template <class T>
double row_lse(const T* x, int64_t V) {
  const T mx = row_max(x, V);
  if (!std::isfinite(mx)) return double(mx);  // all -inf, or a +inf/NaN: propagate
  double lane[kRowLanes] = {};
  int64_t j = 0;
  for (; j + kRowLanes <= V; j += kRowLanes)
    for (int k = 0; k < kRowLanes; ++k) lane[k] += double(exp_c<T>(x[j + k] - mx));
  for (; j < V; ++j) lane[0] += double(exp_c<T>(x[j] - mx));
  double s = 0;
  for (int k = 0; k < kRowLanes; ++k) s += lane[k];
  return double(mx) + std::log(s);
}

// x <- g * exp(x - lse) over a row of V (the scaled softmax).
template <class T>
void row_scaled_softmax(T* x, int64_t V, double lse, double g) {
  for (int64_t j = 0; j < V; ++j) x[j] = T(g * double(exp_c<T>(T(double(x[j]) - lse))));
}

// Chunk scratch from the CPU allocator, so cpu_peak_bytes() accounts for it.
template <class T>
struct Scratch {
  explicit Scratch(int64_t n)
      : buf(allocator_for(Device::cpu()).allocate(size_t(std::max<int64_t>(n, 1)) * sizeof(T))),
        n_(n) {}
  T* data() { return static_cast<T*>(buf->data()); }
  T* begin() { return data(); }
  T* end() { return data() + n_; }
  std::shared_ptr<Buffer> buf;
  int64_t n_;
};

}  // namespace

void linear_cross_entropy(const Tensor& h, const Tensor& w, const Tensor& targets, int64_t ignore,
                          int64_t chunk_rows, const Tensor& out) {
  out.alloc_contiguous();
  const int64_t N = h.shape(0), D = h.shape(1), V = w.shape(0);
  const int64_t* tg = ptr<int64_t>(targets);
  check_targets(tg, N, V, ignore);
  dispatch_float(h.dtype(), "linear_cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      const T *hp = ptr<T>(h), *wp = ptr<T>(w);
      T* op = ptr<T>(out);
      const int64_t C = std::max<int64_t>(1, std::min(chunk_rows, N));
      Scratch<T> logits(C * V);
      for (int64_t r0 = 0; r0 < N; r0 += C) {
        const int64_t rows = std::min(C, N - r0);
        if (D > 0)
          gemm<T>(false, true, rows, V, D, hp + r0 * D, D, wp, D, T(0), logits.data(), V);
        else
          std::fill(logits.begin(), logits.end(), T(0));
        parallel_for(rows, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            const int64_t t = tg[r0 + i];
            const T* x = logits.data() + i * V;
            op[r0 + i] = t == ignore ? T(0) : T(row_lse(x, V) - double(x[t]));
          }
        });
      }
    } else {
      fail<DtypeError>("linear_cross_entropy", "kernel needs f32 or f64");
    }
  });
}

void linear_cross_entropy_grad(const Tensor& h, const Tensor& w, const Tensor& targets,
                               const Tensor& g, int64_t ignore, int64_t chunk_rows,
                               const Tensor* grad_h, const Tensor* grad_w) {
  if (grad_h) grad_h->alloc_contiguous();
  if (grad_w) grad_w->alloc_contiguous();
  const int64_t N = h.shape(0), D = h.shape(1), V = w.shape(0);
  const int64_t* tg = ptr<int64_t>(targets);
  check_targets(tg, N, V, ignore);
  dispatch_float(h.dtype(), "linear_cross_entropy_grad", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      const T *hp = ptr<T>(h), *wp = ptr<T>(w), *gp = ptr<T>(g);
      T* ghp = grad_h ? ptr<T>(*grad_h) : nullptr;
      T* gwp = grad_w ? ptr<T>(*grad_w) : nullptr;
      const int64_t C = std::max<int64_t>(1, std::min(chunk_rows, N));
      Scratch<T> P(C * V);
      if (gwp) std::fill(gwp, gwp + V * D, T(0));
      for (int64_t r0 = 0; r0 < N; r0 += C) {
        const int64_t rows = std::min(C, N - r0);
        if (D > 0)
          gemm<T>(false, true, rows, V, D, hp + r0 * D, D, wp, D, T(0), P.data(), V);
        else
          std::fill(P.begin(), P.end(), T(0));
        parallel_for(rows, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            const int64_t t = tg[r0 + i];
            T* x = P.data() + i * V;
            if (t == ignore) {
              std::fill(x, x + V, T(0));
              continue;
            }
            const double lse = row_lse(x, V), gi = double(gp[r0 + i]);
            row_scaled_softmax(x, V, lse, gi);
            x[t] = T(double(x[t]) - gi);
          }
        });
        if (D == 0) continue;
        // dlogits P [rows, V]: grad_h rows = P W, grad_w += P^T h rows.
        if (ghp) gemm<T>(false, false, rows, D, V, P.data(), V, wp, D, T(0), ghp + r0 * D, D);
        if (gwp) gemm<T>(true, false, V, D, rows, P.data(), V, hp + r0 * D, D, T(1), gwp, D);
      }
    } else {
      fail<DtypeError>("linear_cross_entropy_grad", "kernel needs f32 or f64");
    }
  });
}

}  // namespace wick::cpu
