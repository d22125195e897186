// Elementwise CUDA kernels: one thread per output element (grid-stride), operands read through
// their strides (broadcasts are zero strides), 16-bit floats widened to f32, f64 in f64, integers
// in their own type. The op is a runtime switch (uniform across a warp), so each dtype compiles
// one kernel rather than one per op.
#include "wick/backend/cuda/common.cuh"

namespace wick::cuda {

namespace {

// Unary op codes follow wick::UnaryOp's order.
enum U : int {
  u_neg,
  u_abs,
  u_exp,
  u_log,
  u_sqrt,
  u_rsqrt,
  u_sin,
  u_cos,
  u_tanh,
  u_sigmoid,
  u_relu,
  u_silu,
  u_gelu,
  u_gelu_tanh,
  u_square,
  u_log1p,
  u_expm1,
  u_sign,
  u_logical_not,
  u_erf
};
// Binary op codes follow wick::BinaryOp's order.
enum B : int {
  b_add,
  b_sub,
  b_mul,
  b_div,
  b_max,
  b_min,
  b_pow,
  b_eq,
  b_ne,
  b_lt,
  b_le,
  b_gt,
  b_ge,
  b_and,
  b_or
};

template <class C>
__device__ __forceinline__ C unary_float(int op, C x) {
  switch (op) {
    case u_neg:
      return -x;
    case u_abs:
      return x < C(0) ? -x : x;
    case u_exp:
      return exp(x);
    case u_log:
      return log(x);
    case u_sqrt:
      return sqrt(x);
    case u_rsqrt:
      return C(1) / sqrt(x);
    case u_sin:
      return sin(x);
    case u_cos:
      return cos(x);
    case u_tanh:
      return tanh(x);
    case u_sigmoid:
      return C(1) / (C(1) + exp(-x));
    case u_relu:
      return x > C(0) ? x : (x == x ? C(0) : x);
    case u_silu:
      return x / (C(1) + exp(-x));
    case u_gelu:
      return C(0.5) * x * (C(1) + erf(x * C(0.70710678118654752440)));
    case u_gelu_tanh: {
      const C k = C(0.79788456080286535588);
      return C(0.5) * x * (C(1) + tanh(k * (x + C(0.044715) * x * x * x)));
    }
    case u_square:
      return x * x;
    case u_log1p:
      return log1p(x);
    case u_expm1:
      return expm1(x);
    case u_sign:
      return x > C(0) ? C(1) : (x < C(0) ? C(-1) : x);
    case u_logical_not:
      return C(x == C(0));
    case u_erf:
      return erf(x);
  }
  return x;
}

// Integers wrap through the unsigned type as on the CPU.
template <class C>
__device__ __forceinline__ C unary_int(int op, C x) {
  using W = std::make_unsigned_t<C>;
  switch (op) {
    case u_neg:
      return C(W(0) - W(x));
    case u_abs:
      return x < 0 ? C(W(0) - W(x)) : x;
    case u_square:
      return C(W(x) * W(x));
    case u_sign:
      return x > 0 ? C(1) : (x < 0 ? C(-1) : C(0));
    case u_logical_not:
      return C(x == 0);
  }
  return x;
}

template <class T>
__global__ void unary_kernel(int op, const T* x, Strided xs, T* out, int64_t n) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const C v = load(x, strided_offset(xs, i));
    if constexpr (std::is_same_v<C, bool>) {
      out[i] = !v;  // logical_not, the one unary op on bool
    } else if constexpr (std::is_integral_v<C>) {
      store(out, i, unary_int(op, v));
    } else {
      store(out, i, unary_float(op, v));
    }
  }
}

template <class C>
__device__ __forceinline__ C binary_arith(int op, C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using W = std::make_unsigned_t<C>;
    switch (op) {
      case b_add:
        return C(W(a) + W(b));
      case b_sub:
        return C(W(a) - W(b));
      case b_mul:
        return C(W(a) * W(b));
      case b_max:
        return a > b ? a : b;
      case b_min:
        return a < b ? a : b;
    }
    return a;
  } else {
    switch (op) {
      case b_add:
        return a + b;
      case b_sub:
        return a - b;
      case b_mul:
        return a * b;
      case b_div:
        return a / b;
      // NaN propagates as on the CPU.
      case b_max:
        return (a != a || b != b) ? a + b : (a > b ? a : b);
      case b_min:
        return (a != a || b != b) ? a + b : (a < b ? a : b);
      case b_pow:
        return pow(a, b);
    }
    return a;
  }
}

template <class C>
__device__ __forceinline__ bool binary_compare(int op, C a, C b) {
  switch (op) {
    case b_eq:
      return a == b;
    case b_ne:
      return a != b;
    case b_lt:
      return a < b;
    case b_le:
      return a <= b;
    case b_gt:
      return a > b;
    case b_ge:
      return a >= b;
    case b_and:
      return a != C(0) && b != C(0);
    case b_or:
      return a != C(0) || b != C(0);
  }
  return false;
}

template <class T, class R>
__global__ void binary_kernel(int op, const T* a, Strided as, const T* b, Strided bs, R* out,
                              int64_t n) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const C x = load(a, strided_offset(as, i));
    const C y = load(b, strided_offset(bs, i));
    if constexpr (std::is_same_v<R, bool>) {
      out[i] = binary_compare(op, x, y);
    } else {
      store(out, i, binary_arith(op, x, y));
    }
  }
}

template <class T>
__global__ void pow_scalar_kernel(const T* x, Strided xs, double p, T* out, int64_t n) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const C v = load(x, strided_offset(xs, i));
    store(out, i, p == 2.0 ? v * v : pow(v, C(p)));
  }
}

template <class T>
__global__ void clamp_kernel(const T* x, Strided xs, double lo, double hi, T* out, int64_t n) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    C v = load(x, strided_offset(xs, i));
    if (v == v) {
      if (v < C(lo)) v = C(lo);
      if (v > C(hi)) v = C(hi);
    }
    store(out, i, v);
  }
}

template <class T>
__global__ void where_kernel(const bool* c, Strided cs, const T* a, Strided as, const T* b,
                             Strided bs, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = c[strided_offset(cs, i)] ? a[strided_offset(as, i)] : b[strided_offset(bs, i)];
}

bool is_16bit_or_f32(DType dt) {
  return dt == DType::f32 || dt == DType::bf16 || dt == DType::f16 || dt == DType::f64;
}

}  // namespace

bool unary_supported(int op, DType dt) {
  if (is_16bit_or_f32(dt)) return true;
  if (dt == DType::i32 || dt == DType::i64)
    return op == u_neg || op == u_abs || op == u_square || op == u_sign || op == u_logical_not;
  return dt == DType::boolean && op == u_logical_not;
}

void launch_unary(int op, DType dt, const void* x, const Strided& xs, void* out, int64_t n,
                  cudaStream_t s) {
  if (n == 0) return;
  auto go = [&](auto tag) {
    using T = decltype(tag);
    unary_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(op, static_cast<const T*>(x), xs,
                                                          static_cast<T*>(out), n);
  };
  switch (dt) {
    case DType::i32:
      return go(int32_t{});
    case DType::i64:
      return go(int64_t{});
    case DType::boolean:
      return go(bool{});
    default:
      return dispatch_float_types(dt, go);
  }
}

bool binary_supported(int op, DType in, DType out) {
  const bool compare = op >= b_eq;
  if (compare != (out == DType::boolean)) return false;
  if (is_16bit_or_f32(in)) return true;
  if (in == DType::i32 || in == DType::i64)
    return compare || op == b_add || op == b_sub || op == b_mul || op == b_max || op == b_min;
  if (in == DType::boolean) return compare;
  return false;
}

void launch_binary(int op, DType in, DType out_dt, const void* a, const Strided& as, const void* b,
                   const Strided& bs, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  auto go = [&](auto tag) {
    using T = decltype(tag);
    if (out_dt == DType::boolean) {
      binary_kernel<T, bool><<<blocks_for(n, 4), kThreads, 0, s>>>(op, static_cast<const T*>(a), as,
                                                                   static_cast<const T*>(b), bs,
                                                                   static_cast<bool*>(out), n);
    } else if constexpr (!std::is_same_v<T, bool>) {
      binary_kernel<T, T><<<blocks_for(n, 4), kThreads, 0, s>>>(
          op, static_cast<const T*>(a), as, static_cast<const T*>(b), bs, static_cast<T*>(out), n);
    }
  };
  dispatch_all_types(in, go);
}

void launch_pow_scalar(DType dt, const void* x, const Strided& xs, double p, void* out, int64_t n,
                       cudaStream_t s) {
  if (n == 0) return;
  dispatch_float_types(dt, [&](auto tag) {
    using T = decltype(tag);
    pow_scalar_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const T*>(x), xs, p,
                                                               static_cast<T*>(out), n);
  });
}

void launch_clamp(DType dt, const void* x, const Strided& xs, double lo, double hi, void* out,
                  int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_float_types(dt, [&](auto tag) {
    using T = decltype(tag);
    clamp_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const T*>(x), xs, lo, hi,
                                                          static_cast<T*>(out), n);
  });
}

void launch_where(DType dt, const void* c, const Strided& cs, const void* a, const Strided& as,
                  const void* b, const Strided& bs, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_all_types(dt, [&](auto tag) {
    using T = decltype(tag);
    where_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(
        static_cast<const bool*>(c), cs, static_cast<const T*>(a), as, static_cast<const T*>(b), bs,
        static_cast<T*>(out), n);
  });
}

}  // namespace wick::cuda
