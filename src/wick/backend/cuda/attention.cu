// Cached attention: q [B, H, T, Dh] (strided) against row-major caches k, v [B, Hkv, S, Dh] over
// positions the causal rule allows, the cache length read on the device (one graph serves every
// decode step). kv head h / (H / Hkv) (GQA by index, no copies). A block (kAttnThreads threads)
// attends one query row (b, h, t) to a range of keys: the scaled q row (f32, q * float(scale) as
// the CPU rounds it) and the output accumulator live in dynamic shared memory (2 * Dh floats).
// Keys are taken in tiles of kAttnTile: each warp computes whole dot products (lanes over Dh,
// warp shuffle sum; kKeysPerWarp keys at once) into a shared score tile, then an online softmax
// step: running max m, rescale of the running sum and accumulator by exp(m_old - m_new),
// p = exp(score - m_new), acc[d] += p v[d]. f32 accumulation for every dtype.
//
// Many rows (prefill): one block per row over all its keys, writing acc / sum in q's dtype.
// Few rows (decode): each row's keys are split into `splits` ranges, one block each, writing
// (m, sum, acc) partials to scratch; a combine kernel rescales them to the common max and writes
// the output (flash-decoding), so a decode step fills the GPU instead of B * H blocks.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

constexpr int kAttnThreads = 128;
constexpr int kAttnTile = 64;
constexpr int kKeysPerWarp = 4;
// The default shared memory limit of a block, less the static score tile.
constexpr int64_t kAttnSharedBytes = 48 * 1024 - kAttnTile * int64_t(sizeof(float));
constexpr int64_t kAttnBusyBlocks = 264;  // about two blocks per SM of an H100: no split above
constexpr int64_t kAttnMinSplitKeys = 256;
constexpr int64_t kAttnMaxSplits = 64;

struct AttnArgs {
  int64_t qst[4];
  int64_t B, H, Hkv, T, S, Dh;
  float scale;
  int64_t window;
};

// Where query row `row` = (b * H + h) * T + t reads.
struct AttnRow {
  const void* q;  // first element of the q row (strided by qst[3])
  int64_t kv;     // element offset of its kv head's cache rows
  int64_t first, last;
};

template <class T>
__device__ __forceinline__ AttnRow attn_row(const T* q, const AttnArgs& a, int64_t len,
                                            int64_t row) {
  const int64_t t = row % a.T, bh = row / a.T;
  const int64_t h = bh % a.H, b = bh / a.H, kvh = h / (a.H / a.Hkv);
  AttnRow r;
  r.q = q + b * a.qst[0] + h * a.qst[1] + t * a.qst[2];
  r.kv = (b * a.Hkv + kvh) * a.S * a.Dh;
  r.last = len - a.T + t;
  r.first = a.window > 0 ? (r.last - a.window + 1 > 0 ? r.last - a.window + 1 : 0) : 0;
  return r;
}

// Loads the scaled q row into qs and zeroes acc (thread d owns acc[d]), then synchronises.
template <class T>
__device__ void attn_load_q(const T* qr, const AttnArgs& a, float* qs, float* acc) {
  for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) {
    qs[d] = load(qr, d * a.qst[3]) * a.scale;
    acc[d] = 0.0f;
  }
  __syncthreads();
}

// Online softmax of the q row in qs over keys [s_begin, s_end] (empty when s_begin > s_end):
// returns m and sum (identical in every thread) and leaves acc[d] = sum_s exp(score_s - m) v_s[d].
// Ends synchronised (qs, acc and score may be reused).
template <class T>
__device__ void attn_range(const float* qs, float* acc, float* score, const T* kb, const T* vb,
                           int64_t Dh, int64_t s_begin, int64_t s_end, float& m_out,
                           float& sum_out) {
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  const int nwarps = int(blockDim.x) >> 5;
  float m = -INFINITY, sum = 0.0f;
  for (int64_t s0 = s_begin; s0 <= s_end; s0 += kAttnTile) {
    const int n = int(s_end - s0 + 1 < kAttnTile ? s_end - s0 + 1 : kAttnTile);
    // Each warp takes kKeysPerWarp keys at a time, so their loads are in flight together (a key
    // past the tile's end reads key j0 again and is dropped).
    for (int j0 = warp * kKeysPerWarp; j0 < n; j0 += nwarps * kKeysPerWarp) {
      float dot[kKeysPerWarp];
      const T* kr[kKeysPerWarp];
#pragma unroll
      for (int u = 0; u < kKeysPerWarp; ++u) {
        dot[u] = 0.0f;
        kr[u] = kb + (s0 + (j0 + u < n ? j0 + u : j0)) * Dh;
      }
      for (int64_t d = lane; d < Dh; d += 32) {
        const float qd = qs[d];
#pragma unroll
        for (int u = 0; u < kKeysPerWarp; ++u) dot[u] += qd * load(kr[u], d);
      }
#pragma unroll
      for (int u = 0; u < kKeysPerWarp; ++u) {
        const float sc = warp_reduce(dot[u], LayerSum{});
        if (lane == 0 && j0 + u < n) score[j0 + u] = sc;
      }
    }
    __syncthreads();
    float tile_max = -INFINITY;
    for (int j = 0; j < n; ++j) tile_max = fmaxf(tile_max, score[j]);
    const float m_new = fmaxf(m, tile_max);
    const float alpha = expf(m - m_new);  // 0 on the first tile (m = -inf)
    __syncthreads();                      // every thread has read the raw scores
    if (int(threadIdx.x) < n) score[threadIdx.x] = expf(score[threadIdx.x] - m_new);
    __syncthreads();
    float tile_sum = 0.0f;
    for (int j = 0; j < n; ++j) tile_sum += score[j];
    sum = sum * alpha + tile_sum;
    m = m_new;
    for (int64_t d = threadIdx.x; d < Dh; d += blockDim.x) {
      float ad = acc[d] * alpha;
      const T* vcol = vb + s0 * Dh + d;
#pragma unroll 8
      for (int j = 0; j < n; ++j) ad += score[j] * load(vcol, j * Dh);
      acc[d] = ad;
    }
    __syncthreads();  // the tile's probabilities are read before the next tile's scores
  }
  m_out = m;
  sum_out = sum;
}

// One block per row over all its keys.
template <class T>
__global__ void cached_attention_kernel(const T* q, AttnArgs a, const T* k, const T* v,
                                        const int64_t* length, T* out, int* error) {
  extern __shared__ float attn_shared[];
  float* qs = attn_shared;          // [Dh] scaled query
  float* acc = attn_shared + a.Dh;  // [Dh] output accumulator
  __shared__ float score[kAttnTile];
  const int64_t len = *length;
  const bool bad_length = len < a.T || len > a.S;
  const int64_t rows = a.B * a.H * a.T;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    T* o = out + row * a.Dh;
    if (bad_length) {  // uniform across the grid
      for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) store(o, d, 0.0f);
      if (threadIdx.x == 0) atomicCAS(error, 0, kErrAttentionLength);
      continue;
    }
    const AttnRow r = attn_row(q, a, len, row);
    attn_load_q(static_cast<const T*>(r.q), a, qs, acc);
    float m, sum;
    attn_range(qs, acc, score, k + r.kv, v + r.kv, a.Dh, r.first, r.last, m, sum);
    const float inv = 1.0f / sum;
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) store(o, d, acc[d] * inv);
    __syncthreads();  // every thread is done with acc before the next row zeroes it
  }
}

// Item = row * splits + split: the split-th of `splits` near-equal ranges of the row's keys;
// writes part[item * (Dh + 2) + ...] = m, sum, acc[0..Dh) (an empty range: -inf, 0, zeros).
template <class T>
__global__ void cached_attention_split_kernel(const T* q, AttnArgs a, const T* k, const T* v,
                                              const int64_t* length, int64_t splits, float* part) {
  extern __shared__ float attn_shared[];
  float* qs = attn_shared;
  float* acc = attn_shared + a.Dh;
  __shared__ float score[kAttnTile];
  const int64_t len = *length;
  if (len < a.T || len > a.S) return;  // the combine kernel reports it
  const int64_t items = a.B * a.H * a.T * splits;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const int64_t row = item / splits, split = item % splits;
    const AttnRow r = attn_row(q, a, len, row);
    const int64_t per = (r.last - r.first + 1 + splits - 1) / splits;
    const int64_t b0 = r.first + split * per;
    const int64_t b1 = b0 + per - 1 < r.last ? b0 + per - 1 : r.last;
    attn_load_q(static_cast<const T*>(r.q), a, qs, acc);
    float m, sum;
    attn_range(qs, acc, score, k + r.kv, v + r.kv, a.Dh, b0, b1, m, sum);
    float* p = part + item * (a.Dh + 2);
    if (threadIdx.x == 0) {
      p[0] = m;
      p[1] = sum;
    }
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) p[2 + d] = acc[d];
    __syncthreads();
  }
}

// One block per row: out = sum_k acc_k e^(m_k - M) / sum_k sum_k e^(m_k - M), M = max_k m_k.
template <class T>
__global__ void cached_attention_combine_kernel(AttnArgs a, const int64_t* length, int64_t splits,
                                                const float* part, T* out, int* error) {
  const int64_t len = *length;
  const bool bad_length = len < a.T || len > a.S;
  const int64_t rows = a.B * a.H * a.T;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    T* o = out + row * a.Dh;
    if (bad_length) {
      for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) store(o, d, 0.0f);
      if (threadIdx.x == 0) atomicCAS(error, 0, kErrAttentionLength);
      continue;
    }
    const float* p = part + row * splits * (a.Dh + 2);
    float M = -INFINITY;
    for (int64_t k = 0; k < splits; ++k) M = fmaxf(M, p[k * (a.Dh + 2)]);
    float total = 0.0f;
    for (int64_t k = 0; k < splits; ++k) {
      const float mk = p[k * (a.Dh + 2)];
      if (mk != -INFINITY) total += p[k * (a.Dh + 2) + 1] * expf(mk - M);
    }
    const float inv = 1.0f / total;
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) {
      float acc = 0.0f;
      for (int64_t k = 0; k < splits; ++k) {
        const float mk = p[k * (a.Dh + 2)];
        if (mk != -INFINITY) acc += p[k * (a.Dh + 2) + 2 + d] * expf(mk - M);
      }
      store(o, d, acc * inv);
    }
  }
}

// Key ranges per row: 1 when the rows alone fill the GPU, else enough to make about
// kAttnBusyBlocks blocks, each with at least kAttnMinSplitKeys keys of the cache.
int64_t attn_splits(int64_t rows, int64_t S) {
  if (rows >= kAttnBusyBlocks) return 1;
  int64_t sp = (kAttnBusyBlocks + rows - 1) / rows;
  const int64_t by_keys = S / kAttnMinSplitKeys;
  if (sp > by_keys) sp = by_keys;
  if (sp > kAttnMaxSplits) sp = kAttnMaxSplits;
  return sp < 1 ? 1 : sp;
}

}  // namespace

bool cached_attention_supported(int64_t Dh) {
  return Dh > 0 && 2 * Dh * int64_t(sizeof(float)) <= kAttnSharedBytes;
}

size_t cached_attention_scratch_bytes(int64_t rows, int64_t S, int64_t Dh) {
  const int64_t sp = attn_splits(rows, S);
  return sp > 1 ? size_t(rows * sp * (Dh + 2)) * sizeof(float) : 0;
}

void launch_cached_attention(DType dt, const void* q, const int64_t* qst, const void* k,
                             const void* v, const int64_t* length, int64_t B, int64_t H,
                             int64_t Hkv, int64_t T, int64_t S, int64_t Dh, double scale,
                             int64_t window, void* out, void* scratch, int* error, cudaStream_t s) {
  const int64_t rows = B * H * T;
  if (rows <= 0 || Dh <= 0 || Hkv <= 0) return;
  AttnArgs a{};
  for (int d = 0; d < 4; ++d) a.qst[d] = qst[d];
  a.B = B;
  a.H = H;
  a.Hkv = Hkv;
  a.T = T;
  a.S = S;
  a.Dh = Dh;
  a.scale = float(scale);
  a.window = window;
  const size_t shared = size_t(2 * Dh) * sizeof(float);
  const int64_t splits = attn_splits(rows, S);
  dispatch_layer_floats(dt, [&](auto tag) {
    using T_ = decltype(tag);
    const T_* qp = static_cast<const T_*>(q);
    const T_* kp = static_cast<const T_*>(k);
    const T_* vp = static_cast<const T_*>(v);
    T_* op = static_cast<T_*>(out);
    if (splits == 1) {
      cached_attention_kernel<T_>
          <<<row_blocks(rows), kAttnThreads, shared, s>>>(qp, a, kp, vp, length, op, error);
      return;
    }
    float* part = static_cast<float*>(scratch);
    cached_attention_split_kernel<T_><<<row_blocks(rows * splits), kAttnThreads, shared, s>>>(
        qp, a, kp, vp, length, splits, part);
    cached_attention_combine_kernel<T_>
        <<<row_blocks(rows), kAttnThreads, 0, s>>>(a, length, splits, part, op, error);
  });
}

}  // namespace wick::cuda
