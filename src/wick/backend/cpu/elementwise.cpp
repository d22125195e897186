// Elementwise CPU kernels. Each op is a template instantiation so the inner loop over a
// contiguous run vectorises; 16-bit floats are widened to f32 per element.
#include "wick/backend/cpu/elementwise.h"

#include <cmath>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

// Signed integer arithmetic wraps (through the unsigned type) instead of being undefined.
template <class C>
using Wide = std::make_unsigned_t<std::conditional_t<std::is_integral_v<C>, C, int>>;
template <class C>
constexpr bool kWraps = (std::is_integral_v<C> && std::is_signed_v<C>);

template <UnaryOp O, class C>
inline C apply_unary(C x) {
  if constexpr (kWraps<C> && O == UnaryOp::neg) return C(Wide<C>(0) - Wide<C>(x));
  if constexpr (kWraps<C> && O == UnaryOp::abs) return x < 0 ? C(Wide<C>(0) - Wide<C>(x)) : x;
  if constexpr (kWraps<C> && O == UnaryOp::square) return C(Wide<C>(x) * Wide<C>(x));
  if constexpr (O == UnaryOp::neg) return -x;
  if constexpr (O == UnaryOp::abs) return std::abs(x);
  if constexpr (O == UnaryOp::exp) return std::exp(x);
  if constexpr (O == UnaryOp::log) return std::log(x);
  if constexpr (O == UnaryOp::sqrt) return std::sqrt(x);
  if constexpr (O == UnaryOp::rsqrt) return C(1) / std::sqrt(x);
  if constexpr (O == UnaryOp::sin) return std::sin(x);
  if constexpr (O == UnaryOp::cos) return std::cos(x);
  if constexpr (O == UnaryOp::tanh) return std::tanh(x);
  if constexpr (O == UnaryOp::sigmoid) return C(1) / (C(1) + std::exp(-x));
  if constexpr (O == UnaryOp::relu) return x > C(0) ? x : (x == x ? C(0) : x);
  if constexpr (O == UnaryOp::silu) return x / (C(1) + std::exp(-x));
  if constexpr (O == UnaryOp::gelu)
    return C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440)));
  if constexpr (O == UnaryOp::gelu_tanh) {
    const C k = C(0.79788456080286535588);  // sqrt(2/pi)
    return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
  }
  if constexpr (O == UnaryOp::square) return x * x;
  if constexpr (O == UnaryOp::log1p) return std::log1p(x);
  if constexpr (O == UnaryOp::expm1) return std::expm1(x);
  if constexpr (O == UnaryOp::sign) return x > C(0) ? C(1) : (x < C(0) ? C(-1) : x);
  if constexpr (O == UnaryOp::logical_not) return C(x == C(0));
  if constexpr (O == UnaryOp::erf) return std::erf(x);
}

template <UnaryOp O, class T>
void unary_typed(const Tensor& x, const Tensor& out) {
  using L = Compute<T>;
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  strided_runs<2>(
      x.shape(), {x.strides(), out.strides()},
      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
        const T* a = xp + off[0];
        T* o = op + off[1];
        if (st[0] == 1) {
          for (int64_t i = 0; i < n; ++i) o[i] = L::store(apply_unary<O>(L::load(a[i])));
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = L::store(apply_unary<O>(L::load(a[i * st[0]])));
        }
      });
}

template <class F>
void dispatch_unary(UnaryOp op, F&& f) {
#define WICK_CASE(name) \
  case UnaryOp::name:   \
    return f.template operator()<UnaryOp::name>()
  switch (op) {
    WICK_CASE(neg);
    WICK_CASE(abs);
    WICK_CASE(exp);
    WICK_CASE(log);
    WICK_CASE(sqrt);
    WICK_CASE(rsqrt);
    WICK_CASE(sin);
    WICK_CASE(cos);
    WICK_CASE(tanh);
    WICK_CASE(sigmoid);
    WICK_CASE(relu);
    WICK_CASE(silu);
    WICK_CASE(gelu);
    WICK_CASE(gelu_tanh);
    WICK_CASE(square);
    WICK_CASE(log1p);
    WICK_CASE(expm1);
    WICK_CASE(sign);
    WICK_CASE(logical_not);
    WICK_CASE(erf);
  }
#undef WICK_CASE
}

template <BinaryOp O, class C>
inline auto apply_binary(C a, C b) {
  if constexpr (kWraps<C> && O == BinaryOp::add) return C(Wide<C>(a) + Wide<C>(b));
  if constexpr (kWraps<C> && O == BinaryOp::sub) return C(Wide<C>(a) - Wide<C>(b));
  if constexpr (kWraps<C> && O == BinaryOp::mul) return C(Wide<C>(a) * Wide<C>(b));
  // Integer division truncates; x / 0 is 0 and MIN / -1 wraps to MIN (no trap).
  if constexpr (kWraps<C> && O == BinaryOp::div)
    return b == 0 ? C(0) : (b == C(-1) ? C(Wide<C>(0) - Wide<C>(a)) : C(a / b));
  if constexpr (O == BinaryOp::add) return C(a + b);
  if constexpr (O == BinaryOp::sub) return C(a - b);
  if constexpr (O == BinaryOp::mul) return C(a * b);
  if constexpr (O == BinaryOp::div) return C(a / b);
  if constexpr (O == BinaryOp::maximum) return (a != a || b != b) ? C(a + b) : (a > b ? a : b);
  if constexpr (O == BinaryOp::minimum) return (a != a || b != b) ? C(a + b) : (a < b ? a : b);
  if constexpr (O == BinaryOp::pow) return C(std::pow(a, b));
  if constexpr (O == BinaryOp::eq) return a == b;
  if constexpr (O == BinaryOp::ne) return a != b;
  if constexpr (O == BinaryOp::lt) return a < b;
  if constexpr (O == BinaryOp::le) return a <= b;
  if constexpr (O == BinaryOp::gt) return a > b;
  if constexpr (O == BinaryOp::ge) return a >= b;
  if constexpr (O == BinaryOp::logical_and) return a != C(0) && b != C(0);
  if constexpr (O == BinaryOp::logical_or) return a != C(0) || b != C(0);
}

template <BinaryOp O, class T, class R>
void binary_typed(const Tensor& a, const Tensor& b, const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  R* op = out.data<R>();
  strided_runs<3>(
      out.shape(), {a.strides(), b.strides(), out.strides()},
      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
        const T* x = ap + off[0];
        const T* y = bp + off[1];
        R* o = op + off[2];
        auto store = [](auto v) {
          if constexpr (std::is_same_v<R, bool>) {
            return bool(v);
          } else {
            return Compute<R>::store(C(v));
          }
        };
        if (st[0] == 1 && st[1] == 1) {
          for (int64_t i = 0; i < n; ++i)
            o[i] = store(apply_binary<O, C>(L::load(x[i]), L::load(y[i])));
        } else if (st[0] == 1 && st[1] == 0) {
          const C yv = L::load(y[0]);
          for (int64_t i = 0; i < n; ++i) o[i] = store(apply_binary<O, C>(L::load(x[i]), yv));
        } else {
          for (int64_t i = 0; i < n; ++i)
            o[i] = store(apply_binary<O, C>(L::load(x[i * st[0]]), L::load(y[i * st[1]])));
        }
      });
}

template <class F>
void dispatch_binary(BinaryOp op, F&& f) {
#define WICK_CASE(name) \
  case BinaryOp::name:  \
    return f.template operator()<BinaryOp::name>()
  switch (op) {
    WICK_CASE(add);
    WICK_CASE(sub);
    WICK_CASE(mul);
    WICK_CASE(div);
    WICK_CASE(maximum);
    WICK_CASE(minimum);
    WICK_CASE(pow);
    WICK_CASE(eq);
    WICK_CASE(ne);
    WICK_CASE(lt);
    WICK_CASE(le);
    WICK_CASE(gt);
    WICK_CASE(ge);
    WICK_CASE(logical_and);
    WICK_CASE(logical_or);
  }
#undef WICK_CASE
}

constexpr bool is_predicate(BinaryOp op) { return op >= BinaryOp::eq; }

}  // namespace

void unary(UnaryOp op, const Tensor& x, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_all(x.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    dispatch_unary(op, [&]<UnaryOp O>() {
      if constexpr (std::is_same_v<T, bool>) {
        if constexpr (O == UnaryOp::logical_not) unary_typed<O, T>(x, out);
      } else {
        unary_typed<O, T>(x, out);
      }
    });
  });
}

void pow_scalar(const Tensor& x, double p, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_float(x.dtype(), "pow", [&](auto tag) {
    using T = decltype(tag);
    using L = Compute<T>;
    using C = typename L::type;
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    const C pc = C(p);
    strided_runs<2>(
        x.shape(), {x.strides(), out.strides()},
        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
          for (int64_t i = 0; i < n; ++i) {
            C v = L::load(xp[off[0] + i * st[0]]);
            op[off[1] + i * st[1]] = L::store(p == 2 ? v * v : std::pow(v, pc));
          }
        });
  });
}

void clamp(const Tensor& x, double lo, double hi, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_all(x.dtype(), "clamp", [&](auto tag) {
    using T = decltype(tag);
    using L = Compute<T>;
    using C = typename L::type;
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    // Integer bounds saturate to the type's range (a bound like -inf means "none").
    const C l = saturate_cast<C>(lo), h = saturate_cast<C>(hi);
    strided_runs<2>(
        x.shape(), {x.strides(), out.strides()},
        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
          for (int64_t i = 0; i < n; ++i) {
            C v = L::load(xp[off[0] + i * st[0]]);
            if (v == v) v = v < l ? l : (v > h ? h : v);
            op[off[1] + i * st[1]] = L::store(v);
          }
        });
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_all(a.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    dispatch_binary(op, [&]<BinaryOp O>() {
      if constexpr (is_predicate(O)) {
        binary_typed<O, T, bool>(a, b, out);
      } else if constexpr (!std::is_same_v<T, bool>) {
        binary_typed<O, T, T>(a, b, out);
      } else {
        fail<DtypeError>("binary", "arithmetic on bool tensors is not supported");
      }
    });
  });
}

void where(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& out) {
  out.alloc_contiguous();
  const bool* cp = c.data<bool>();
  dispatch_all(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* op = out.data<T>();
    strided_runs<4>(
        out.shape(), {c.strides(), a.strides(), b.strides(), out.strides()},
        [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& st) {
          for (int64_t i = 0; i < n; ++i)
            op[off[3] + i * st[3]] =
                cp[off[0] + i * st[0]] ? ap[off[1] + i * st[1]] : bp[off[2] + i * st[2]];
        });
  });
}

}  // namespace wick::cpu
