#pragma once
// The kernel launchers of the CUDA backend's "layers" family: reductions, argmax, softmax, norms,
// rope, losses and cached attention. Plain C++ over device pointers (implemented in reduce.cu,
// softmax.cu, norm.cu, rope.cu, loss.cu, attention.cu; called from register_layers.cpp). Every
// launcher enqueues on `s` and returns at once; none synchronises. Float kernels take f32, bf16
// and f16 (accumulating in f32 unless said otherwise); the Tensor side sends f64 to the host
// fallback. Sizes are element counts, strides element strides.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "wick/backend/cuda/launch.h"
#include "wick/core/dtype.h"

namespace wick::cuda {

/// Device error codes the .cu files write (they cannot include runtime.h): kLayersErrTarget equals
/// runtime.h's kErrTarget (checked in register_layers.cpp). kErrAttentionLength: cached_attention's
/// length scalar is outside [T, S] (runtime.h's error_text() has no line for it yet, so it reads
/// "a kernel reported an error").
constexpr int kLayersErrTarget = 3;
constexpr int kErrAttentionLength = 4;

// ---- reductions (reduce.cu) ----
enum class LayerReduce : int { sum, max, min };
/// True when launch_reduce takes this dtype (f32, bf16, f16, i32, i64).
bool reduce_supported(DType dt);
/// out[r] = reduce of x over the reduced sub-space, for each of `rows` output rows (out
/// row-major). Row r starts at x + strided_offset(kept, r); element j of its `n` reduced elements
/// is at strided_offset(red, j) from there. Float sums accumulate in f64 (as the CPU), integer
/// sums modulo 2^64; max/min propagate NaN. An empty reduction gives 0, -inf or +inf (the
/// integer extremes for integers).
/// Device scratch bytes launch_reduce needs for this layout (0: none; pass null).
size_t reduce_scratch_bytes(const Strided& kept, int64_t rows, int64_t n);
void launch_reduce(LayerReduce kind, DType dt, const void* x, const Strided& kept,
                   const Strided& red, int64_t rows, int64_t n, void* out, void* scratch,
                   cudaStream_t s);
/// out[r] (i64) = index of the first maximum of x's row r (n elements, `stride` apart, row start
/// at strided_offset(kept, r)); the first NaN wins, as on the CPU.
void launch_argmax(DType dt, const void* x, const Strided& kept, int64_t n, int64_t stride,
                   int64_t rows, int64_t* out, cudaStream_t s);

// ---- softmax (softmax.cu) ----
/// softmax (or log_softmax) of rows of n elements: row r of x starts at strided_offset(xk, r),
/// elements `xs` apart; the output row at strided_offset(ok, r), elements `os` apart.
void launch_softmax(bool log, DType dt, const void* x, const Strided& xk, int64_t xs, void* out,
                    const Strided& ok, int64_t os, int64_t rows, int64_t n, cudaStream_t s);

// ---- norms (norm.cu); x and out row-major [rows, D] ----
/// RMSNorm: out = x / sqrt(mean(x^2) + eps), rounded to x's dtype, then times weight [D] (when
/// given) in f32, stored in out's dtype (transformers' LlamaRMSNorm rounding).
void launch_rms_norm(DType dt, const void* x, DType w_dt, const void* w, double eps, DType out_dt,
                     void* out, int64_t rows, int64_t D, cudaStream_t s);
/// LayerNorm over the last axis (two passes: mean, then squared deviations); weight and bias [D]
/// of x's dtype, each optional (null).
void launch_layer_norm(DType dt, const void* x, const void* w, const void* b, double eps, void* out,
                       int64_t rows, int64_t D, cudaStream_t s);

// ---- rope (rope.cu) ----
/// Rotary embedding of x [B, H, T, Dh] (element strides xst[4]) into out row-major;
/// inv_freq f32 [Dh/2] with stride fs; positions (i32/i64 per pos_dt, null for offset + t) of
/// rank pos_ndim (1: [T], 2: [B, T]) with strides pst. `interleaved` pairs (2i, 2i+1), else
/// (i, i + Dh/2). Every product and the sum are rounded to x's dtype, without contraction.
void launch_rope(DType dt, const void* x, const int64_t* xst, int64_t B, int64_t H, int64_t T,
                 int64_t Dh, const float* inv_freq, int64_t fs, DType pos_dt, const void* pos,
                 int pos_ndim, const int64_t* pst, int64_t offset, bool interleaved, bool inverse,
                 void* out, cudaStream_t s);

// ---- cross-entropy (loss.cu); logits [N, V] strided (rs, cs), targets i32/i64 [N] stride ts ----
/// Per-row losses m + log(sum exp(x - m)) - x[target] into f32 `rows_out` [N] (0 for ignored
/// rows); a target outside [0, V) that is not `ignore` sets *error to kLayersErrTarget.
void launch_cross_entropy_rows(DType dt, const void* logits, int64_t rs, int64_t cs, int64_t N,
                               int64_t V, DType t_dt, const void* targets, int64_t ts,
                               int64_t ignore, float* rows_out, int* error, cudaStream_t s);
/// out (dtype dt): none: out[i] = rows[i]; sum / mean (reduction 0 mean, 1 sum, 2 none, as
/// wick::Reduction): one element, the f64 sum of the non-ignored rows (over their count for
/// mean: NaN when there are none).
void launch_cross_entropy_reduce(int reduction, const float* rows, int64_t N, DType t_dt,
                                 const void* targets, int64_t ts, int64_t ignore, DType dt,
                                 void* out, cudaStream_t s);
/// Number of targets not equal to `ignore` into *count (i64, device).
void launch_count_valid(DType t_dt, const void* targets, int64_t ts, int64_t N, int64_t ignore,
                        int64_t* count, cudaStream_t s);
/// out [N, V] row-major = (softmax(x) - onehot(target)) * g_i, g_i = g[i * gs] (none) or g[0]
/// divided by *count (mean) or g[0] (sum); ignored rows are 0. g has the logits' dtype.
void launch_cross_entropy_grad(int reduction, DType dt, const void* logits, int64_t rs, int64_t cs,
                               int64_t N, int64_t V, DType t_dt, const void* targets, int64_t ts,
                               int64_t ignore, const void* g, int64_t gs, const int64_t* count,
                               void* out, int* error, cudaStream_t s);

// ---- linear cross-entropy rows (loss.cu); f32 logits chunk [rows, V] row-major ----
/// out[i] = lse(logits row i) - logits[i, t_i] (f64 sum of f32 exponentials, as the CPU), 0 for
/// ignored rows; targets (i32/i64, contiguous) of this chunk.
void launch_lce_rows(const float* logits, int64_t rows, int64_t V, DType t_dt, const void* targets,
                     int64_t ignore, float* out, int* error, cudaStream_t s);
/// In place: logits row i <- g_i * softmax(row i) - g_i * onehot(t_i) (g f32 contiguous, this
/// chunk's rows); ignored rows become 0.
void launch_lce_grad_rows(float* logits, int64_t rows, int64_t V, DType t_dt, const void* targets,
                          int64_t ignore, const float* g, int* error, cudaStream_t s);

// ---- cached attention (attention.cu) ----
/// True when launch_cached_attention takes head dim Dh (its q row and accumulator fit in shared
/// memory).
bool cached_attention_supported(int64_t Dh);
/// Device scratch bytes launch_cached_attention needs for rows = B * H * T query rows over a
/// cache of S positions (0: none; pass null): decode steps split each row's keys over blocks.
size_t cached_attention_scratch_bytes(int64_t rows, int64_t S, int64_t Dh);
/// out [B, H, T, Dh] row-major = softmax(q k^T * scale) v per (b, h, t) over keys s with
/// first <= s <= last, last = length - T + t, first = max(0, last - window + 1) when window > 0
/// else 0; q strided (qst[4]), k and v row-major [B, Hkv, S, Dh] (head h reads kv head
/// h / (H / Hkv)); `length` is a device i64 scalar (outside [T, S]: *error = kErrAttentionLength
/// and the output is zero).
void launch_cached_attention(DType dt, const void* q, const int64_t* qst, const void* k,
                             const void* v, const int64_t* length, int64_t B, int64_t H,
                             int64_t Hkv, int64_t T, int64_t S, int64_t Dh, double scale,
                             int64_t window, void* out, void* scratch, int* error, cudaStream_t s);

}  // namespace wick::cuda
