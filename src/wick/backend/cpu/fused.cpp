// Fused f32 elementwise chains. Algorithm: the output is cut into tiles of kTile elements; each
// thread takes whole tiles; per tile, every step runs as one loop over tile-sized f32 registers
// (kept in a thread-local scratch that stays in L1/L2), so an intermediate never goes to memory.
// Each step applies exactly the scalar formula of the unfused CPU kernel in f32 and steps are
// separate loops (no contraction across them), so the result is bitwise the unfused one.
#include "wick/backend/cpu/fused.h"

#include <cmath>
#include <cstring>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

constexpr int64_t kTile = 1024;

template <class F>
void unary_loop(const float* a, float* o, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
}
template <class F>
void binary_loop(const float* a, const float* b, float* o, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}

void run_step(PrimitiveKind k, const float* a, const float* b, float* o, int64_t n) {
  using K = PrimitiveKind;
  switch (k) {
    case K::neg:
      return unary_loop(a, o, n, [](float x) { return -x; });
    case K::abs:
      return unary_loop(a, o, n, [](float x) { return std::abs(x); });
    case K::exp:
      return unary_loop(a, o, n, [](float x) { return std::exp(x); });
    case K::log:
      return unary_loop(a, o, n, [](float x) { return std::log(x); });
    case K::sqrt:
      return unary_loop(a, o, n, [](float x) { return std::sqrt(x); });
    case K::rsqrt:
      return unary_loop(a, o, n, [](float x) { return 1.0f / std::sqrt(x); });
    case K::tanh:
      return unary_loop(a, o, n, [](float x) { return std::tanh(x); });
    case K::sigmoid:
      return unary_loop(a, o, n, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
    case K::relu:
      return unary_loop(a, o, n, [](float x) { return x > 0.0f ? x : (x == x ? 0.0f : x); });
    case K::silu:
      return unary_loop(a, o, n, [](float x) { return x / (1.0f + std::exp(-x)); });
    case K::square:
      return unary_loop(a, o, n, [](float x) { return x * x; });
    case K::add:
      return binary_loop(a, b, o, n, [](float x, float y) { return x + y; });
    case K::sub:
      return binary_loop(a, b, o, n, [](float x, float y) { return x - y; });
    case K::mul:
      return binary_loop(a, b, o, n, [](float x, float y) { return x * y; });
    case K::div:
      return binary_loop(a, b, o, n, [](float x, float y) { return x / y; });
    case K::maximum:
      return binary_loop(a, b, o, n, [](float x, float y) {
        return (x != x || y != y) ? x + y : (x > y ? x : y);
      });
    case K::minimum:
      return binary_loop(a, b, o, n, [](float x, float y) {
        return (x != x || y != y) ? x + y : (x < y ? x : y);
      });
    default:
      fail<ValueError>("fused", "internal: {} is not fusable", kind_name(k));
  }
}

}  // namespace

bool fusable_kind(PrimitiveKind k) {
  using K = PrimitiveKind;
  switch (k) {
    case K::neg:
    case K::abs:
    case K::exp:
    case K::log:
    case K::sqrt:
    case K::rsqrt:
    case K::tanh:
    case K::sigmoid:
    case K::relu:
    case K::silu:
    case K::square:
    case K::add:
    case K::sub:
    case K::mul:
    case K::div:
    case K::maximum:
    case K::minimum:
      return true;
    default:
      return false;
  }
}

Tensor run_fused(const FusedChain& chain, const std::vector<Tensor>& inputs, const Shape& shape) {
  const int64_t n = numel_of(shape);
  const size_t regs = size_t(chain.num_inputs) + chain.steps.size();
  std::vector<const float*> ptr(inputs.size());
  std::vector<char> scalar(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ptr[i] = inputs[i].data<float>();
    scalar[i] = inputs[i].strides() != contiguous_strides(shape);  // else a broadcast element
  }
  Tensor out = Tensor::from_buffer(allocator_for(Device::cpu()).allocate(size_t(n) * sizeof(float)),
                                   shape, DType::f32);
  float* op = out.data<float>();
  const int64_t tiles = (n + kTile - 1) / kTile;
  detail::KernelScope scope;
  parallel_for(tiles, std::max<int64_t>(1, kGrain / kTile), [&](int64_t t0, int64_t t1) {
    std::vector<float> scratch(regs * size_t(kTile));
    std::vector<const float*> reg(regs);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t begin = t * kTile, len = std::min(kTile, n - begin);
      for (int i = 0; i < chain.num_inputs; ++i) {
        float* r = scratch.data() + size_t(i) * size_t(kTile);
        if (scalar[size_t(i)]) {
          for (int64_t j = 0; j < len; ++j) r[j] = ptr[size_t(i)][0];
          reg[size_t(i)] = r;
        } else {
          reg[size_t(i)] = ptr[size_t(i)] + begin;
        }
      }
      for (size_t s = 0; s < chain.steps.size(); ++s) {
        const FusedStep& st = chain.steps[s];
        const bool last = s + 1 == chain.steps.size();
        float* dst =
            last ? op + begin : scratch.data() + size_t(chain.num_inputs + int(s)) * size_t(kTile);
        run_step(st.kind, reg[size_t(st.a)], st.b >= 0 ? reg[size_t(st.b)] : nullptr, dst, len);
        reg[size_t(chain.num_inputs) + s] = dst;
      }
    }
  });
  return out;
}

}  // namespace wick::cpu
