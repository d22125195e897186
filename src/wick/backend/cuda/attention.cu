// Cached attention: q [B, H, T, Dh] (strided) against row-major caches k, v [B, Hkv, S, Dh] over
// positions the causal rule allows, the cache length read on the device (one graph serves every
// decode step). One block (kAttnThreads threads) per query row (b, h, t), grid stride over rows;
// kv head h / (H / Hkv) (GQA by index, no copies). The scaled q row (f32, q * float(scale) as the
// CPU rounds it) and the output accumulator live in dynamic shared memory (2 * Dh floats). Keys
// are taken in tiles of kAttnTile: each warp computes whole dot products (lanes over Dh, warp
// shuffle sum) into a shared score tile, then an online softmax step: running max m, rescale of
// the running sum and accumulator by exp(m_old - m_new), p = exp(score - m_new), acc[d] += p v.
// f32 accumulation for every dtype; the output is acc / sum in q's dtype.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

constexpr int kAttnThreads = 128;
constexpr int kAttnTile = 64;
// The default shared memory limit of a block, less the static score tile.
constexpr int64_t kAttnSharedBytes = 48 * 1024 - kAttnTile * int64_t(sizeof(float));

struct AttnArgs {
  int64_t qst[4];
  int64_t B, H, Hkv, T, S, Dh;
  float scale;
  int64_t window;
};

template <class T>
__global__ void cached_attention_kernel(const T* q, AttnArgs a, const T* k, const T* v,
                                        const int64_t* length, T* out, int* error) {
  extern __shared__ float attn_shared[];
  float* qs = attn_shared;          // [Dh] scaled query
  float* acc = attn_shared + a.Dh;  // [Dh] output accumulator (thread d owns acc[d])
  __shared__ float score[kAttnTile];
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  const int nwarps = int(blockDim.x) >> 5;
  const int64_t len = *length;
  const bool bad_length = len < a.T || len > a.S;
  const int64_t rows = a.B * a.H * a.T, group = a.H / a.Hkv;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t t = row % a.T, bh = row / a.T;
    const int64_t h = bh % a.H, b = bh / a.H, kvh = h / group;
    T* o = out + row * a.Dh;
    if (bad_length) {  // uniform across the grid
      for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) store(o, d, 0.0f);
      if (threadIdx.x == 0) atomicCAS(error, 0, kErrAttentionLength);
      continue;
    }
    const int64_t last = len - a.T + t;
    const int64_t first = a.window > 0 ? (last - a.window + 1 > 0 ? last - a.window + 1 : 0) : 0;
    const T* qr = q + b * a.qst[0] + h * a.qst[1] + t * a.qst[2];
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) {
      qs[d] = load(qr, d * a.qst[3]) * a.scale;
      acc[d] = 0.0f;
    }
    __syncthreads();
    const T* kb = k + (b * a.Hkv + kvh) * a.S * a.Dh;
    const T* vb = v + (b * a.Hkv + kvh) * a.S * a.Dh;
    float m = -INFINITY, sum = 0.0f;  // identical in every thread
    for (int64_t s0 = first; s0 <= last; s0 += kAttnTile) {
      const int n = int(last - s0 + 1 < kAttnTile ? last - s0 + 1 : kAttnTile);
      for (int j = warp; j < n; j += nwarps) {
        const T* kr = kb + (s0 + j) * a.Dh;
        float dot = 0.0f;
        for (int64_t d = lane; d < a.Dh; d += 32) dot += qs[d] * load(kr, d);
        dot = warp_reduce(dot, LayerSum{});
        if (lane == 0) score[j] = dot;
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
      for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) {
        float ad = acc[d] * alpha;
        for (int j = 0; j < n; ++j) ad += score[j] * load(vb, (s0 + j) * a.Dh + d);
        acc[d] = ad;
      }
      __syncthreads();  // the tile's probabilities are read before the next tile's scores
    }
    const float inv = 1.0f / sum;
    for (int64_t d = threadIdx.x; d < a.Dh; d += blockDim.x) store(o, d, acc[d] * inv);
    __syncthreads();  // every warp is done with qs before the next row rewrites it
  }
}

}  // namespace

bool cached_attention_supported(int64_t Dh) {
  return Dh > 0 && 2 * Dh * int64_t(sizeof(float)) <= kAttnSharedBytes;
}

void launch_cached_attention(DType dt, const void* q, const int64_t* qst, const void* k,
                             const void* v, const int64_t* length, int64_t B, int64_t H,
                             int64_t Hkv, int64_t T, int64_t S, int64_t Dh, double scale,
                             int64_t window, void* out, int* error, cudaStream_t s) {
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
  dispatch_layer_floats(dt, [&](auto tag) {
    using T_ = decltype(tag);
    cached_attention_kernel<T_><<<row_blocks(rows), kAttnThreads, shared, s>>>(
        static_cast<const T_*>(q), a, static_cast<const T_*>(k), static_cast<const T_*>(v), length,
        static_cast<T_*>(out), error);
  });
}

}  // namespace wick::cuda
