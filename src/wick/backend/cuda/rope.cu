// RoPE of x [B, H, T, Dh] (any strides) into row-major out. One thread per rotated pair
// (b, h, t, i), i < Dh/2, grid stride. As the CPU kernel (and transformers): the angle
// f = float(pos) * inv_freq[i] in f32, cos/sin in f32 rounded to x's dtype (sin negated for the
// inverse rotation), then out1 = r(x1 * c) + r(-x2 * s), out2 = r(x2 * c) + r(x1 * s), every
// product and the sum rounded to x's dtype. The products and sums use __fmul_rn / __fadd_rn,
// which nvcc never contracts into a fused multiply-add, so no -fmad=false is needed. cosf/sinf
// are the accurate (non-intrinsic) versions with full range reduction.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

struct RopeArgs {
  int64_t xst[4];
  int64_t B, H, T, Dh;
  const float* inv_freq;
  int64_t fs;
  DType pos_dt;
  const void* pos;
  int pos_ndim;
  int64_t pst[2];
  int64_t offset;
  bool interleaved;
  float sign;  // -1 for the inverse rotation
};

template <class T>
__global__ void rope_kernel(const T* x, RopeArgs a, T* out) {
  const int64_t half = a.Dh / 2;
  const int64_t n = a.B * a.H * a.T * half;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    // e = ((b * H + h) * T + t) * half + i
    const int64_t i = e % half;
    const int64_t row = e / half;  // (b * H + h) * T + t
    const int64_t t = row % a.T;
    const int64_t bh = row / a.T;
    const int64_t h = bh % a.H, b = bh / a.H;
    int64_t pos = a.offset + t;
    if (a.pos) {
      pos = a.pos_ndim == 1 ? load_index(a.pos_dt, a.pos, t * a.pst[0])
                            : load_index(a.pos_dt, a.pos, b * a.pst[0] + t * a.pst[1]);
    }
    const float f = __fmul_rn(float(pos), a.inv_freq[i * a.fs]);
    const float c = round_to<T>(cosf(f));
    const float s = a.sign * round_to<T>(sinf(f));
    const int64_t step = a.interleaved ? 2 : 1;
    const int64_t other = a.interleaved ? 1 : half;
    const int64_t i1 = i * step, i2 = i1 + other;
    const T* xr = x + b * a.xst[0] + h * a.xst[1] + t * a.xst[2];
    const float x1 = load(xr, i1 * a.xst[3]), x2 = load(xr, i2 * a.xst[3]);
    T* orow = out + row * a.Dh;
    store(orow, i1, __fadd_rn(round_to<T>(__fmul_rn(x1, c)), round_to<T>(__fmul_rn(-x2, s))));
    store(orow, i2, __fadd_rn(round_to<T>(__fmul_rn(x2, c)), round_to<T>(__fmul_rn(x1, s))));
  }
}

}  // namespace

void launch_rope(DType dt, const void* x, const int64_t* xst, int64_t B, int64_t H, int64_t T,
                 int64_t Dh, const float* inv_freq, int64_t fs, DType pos_dt, const void* pos,
                 int pos_ndim, const int64_t* pst, int64_t offset, bool interleaved, bool inverse,
                 void* out, cudaStream_t s) {
  const int64_t n = B * H * T * (Dh / 2);
  if (n <= 0) return;
  RopeArgs a{};
  for (int d = 0; d < 4; ++d) a.xst[d] = xst[d];
  a.B = B;
  a.H = H;
  a.T = T;
  a.Dh = Dh;
  a.inv_freq = inv_freq;
  a.fs = fs;
  a.pos_dt = pos_dt;
  a.pos = pos;
  a.pos_ndim = pos_ndim;
  if (pos)
    for (int d = 0; d < pos_ndim && d < 2; ++d) a.pst[d] = pst[d];
  a.offset = offset;
  a.interleaved = interleaved;
  a.sign = inverse ? -1.0f : 1.0f;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T_ = decltype(tag);
    rope_kernel<T_>
        <<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T_*>(x), a, static_cast<T_*>(out));
  });
}

}  // namespace wick::cuda
