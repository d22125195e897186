// Reductions: each output element walks its reduced sub-space through strides (no copies).
// Reductions over the leading axes of a row-major tensor (bias gradients, say) use a column-sum
// loop instead, which reads memory in order.
#include "wick/backend/cpu/reduce.h"

#include <cmath>
#include <limits>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

struct Plan {
  Shape kept_shape, red_shape;
  Strides kept_strides, red_strides;
};

Plan make_plan(const Tensor& x, const std::vector<int>& axes) {
  Plan p;
  std::vector<bool> is_red(size_t(x.ndim()), false);
  for (int a : axes) is_red[size_t(a)] = true;
  for (int d = 0; d < x.ndim(); ++d) {
    auto& sh = is_red[size_t(d)] ? p.red_shape : p.kept_shape;
    auto& st = is_red[size_t(d)] ? p.red_strides : p.kept_strides;
    sh.push_back(x.shape()[size_t(d)]);
    st.push_back(x.strides()[size_t(d)]);
  }
  return p;
}

template <class T, class Acc, class Init, class Step>
void reduce_generic(const Tensor& x, const Plan& p, const Tensor& out, Init init, Step step) {
  using L = Compute<T>;
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  const int64_t n_out = numel_of(p.kept_shape);
  const int nr = int(p.red_shape.size());
  const int64_t inner = nr ? p.red_shape.back() : 1;
  const int64_t inner_st = nr ? p.red_strides.back() : 0;
  const int64_t outer = nr ? numel_of(p.red_shape) / std::max<int64_t>(inner, 1) : 1;
  const int64_t n_red = numel_of(p.red_shape);
  parallel_for(n_out, std::max<int64_t>(1, kGrain / std::max<int64_t>(n_red, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<int64_t> idx;
                 for (int64_t o = b; o < e; ++o) {
                   int64_t base = 0, r = o;
                   for (int d = int(p.kept_shape.size()) - 1; d >= 0; --d) {
                     base += (r % p.kept_shape[size_t(d)]) * p.kept_strides[size_t(d)];
                     r /= p.kept_shape[size_t(d)];
                   }
                   Acc acc = init();
                   idx.assign(size_t(std::max(nr - 1, 0)), 0);
                   int64_t off = base;
                   for (int64_t q = 0; q < outer && n_red > 0; ++q) {
                     const T* row = xp + off;
                     if (inner_st == 1) {
                       for (int64_t i = 0; i < inner; ++i) step(acc, Acc(L::load(row[i])));
                     } else {
                       for (int64_t i = 0; i < inner; ++i)
                         step(acc, Acc(L::load(row[i * inner_st])));
                     }
                     for (int d = nr - 2; d >= 0; --d) {
                       if (++idx[size_t(d)] < p.red_shape[size_t(d)]) {
                         off += p.red_strides[size_t(d)];
                         break;
                       }
                       off -= p.red_strides[size_t(d)] * (p.red_shape[size_t(d)] - 1);
                       idx[size_t(d)] = 0;
                     }
                   }
                   op[o] = L::store(typename L::type(acc));
                 }
               });
}

// Sum over the leading `lead` axes of a row-major tensor: out[j] = sum_i x[i, j].
template <class T, class Acc>
void column_sum(const Tensor& x, int64_t rows, int64_t cols, const Tensor& out) {
  using L = Compute<T>;
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  parallel_for(cols, 256, [&](int64_t b, int64_t e) {
    std::vector<Acc> acc(size_t(e - b), Acc(0));
    for (int64_t i = 0; i < rows; ++i) {
      const T* row = xp + i * cols;
      for (int64_t j = b; j < e; ++j) acc[size_t(j - b)] += Acc(L::load(row[j]));
    }
    for (int64_t j = b; j < e; ++j) op[j] = L::store(typename L::type(acc[size_t(j - b)]));
  });
}

}  // namespace

void reduce(ReduceKind kind, const Tensor& x, const std::vector<int>& axes, const Tensor& out) {
  out.alloc_contiguous();
  Plan p = make_plan(x, axes);
  bool leading = x.is_contiguous() && !axes.empty();
  for (size_t i = 0; i < axes.size() && leading; ++i) leading = axes[i] == int(i);
  dispatch_all(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail<DtypeError>("reduce", "reductions of bool tensors are not supported");
    } else {
      using C = typename Compute<T>::type;
      // Floats sum in f64; integers exactly, modulo 2^64 (unsigned, so overflow wraps instead of
      // being undefined), then wrap to the output type.
      using SumAcc = std::conditional_t<std::is_floating_point_v<C>, double, uint64_t>;
      // The identity of max/min: -inf/+inf for floats, the type's extremes for integers.
      constexpr C lowest = std::numeric_limits<C>::has_infinity
                               ? -std::numeric_limits<C>::infinity()
                               : std::numeric_limits<C>::lowest();
      constexpr C highest = std::numeric_limits<C>::has_infinity
                                ? std::numeric_limits<C>::infinity()
                                : std::numeric_limits<C>::max();
      if (kind == ReduceKind::sum) {
        if (leading && !p.kept_shape.empty() && numel_of(p.kept_shape) > 1) {
          column_sum<T, SumAcc>(x, numel_of(p.red_shape), numel_of(p.kept_shape), out);
        } else {
          reduce_generic<T, SumAcc>(
              x, p, out, [] { return SumAcc(0); }, [](SumAcc& a, SumAcc v) { a += v; });
        }
      } else if (kind == ReduceKind::max) {
        reduce_generic<T, C>(
            x, p, out, [] { return lowest; }, [](C& a, C v) { a = (v > a || v != v) ? v : a; });
      } else {
        reduce_generic<T, C>(
            x, p, out, [] { return highest; }, [](C& a, C v) { a = (v < a || v != v) ? v : a; });
      }
    }
  });
}

void argmax(const Tensor& x, int axis, const Tensor& out) {
  out.alloc_contiguous();
  Plan p = make_plan(x, {axis});
  int64_t n = x.shape()[size_t(axis)], st = x.strides()[size_t(axis)];
  int64_t* op = out.data<int64_t>();
  dispatch_all(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail<DtypeError>("argmax", "argmax of bool tensors is not supported");
    } else {
      using L = Compute<T>;
      const T* xp = x.data<T>();
      parallel_for(numel_of(p.kept_shape), 64, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          int64_t base = 0, r = o;
          for (int d = int(p.kept_shape.size()) - 1; d >= 0; --d) {
            base += (r % p.kept_shape[size_t(d)]) * p.kept_strides[size_t(d)];
            r /= p.kept_shape[size_t(d)];
          }
          int64_t best = 0;
          auto bv = L::load(xp[base]);
          for (int64_t i = 1; i < n; ++i) {
            auto v = L::load(xp[base + i * st]);
            if (bv != bv) break;  // NaN wins (first NaN), as in PyTorch
            if (v > bv || v != v) {
              bv = v;
              best = i;
            }
          }
          op[o] = best;
        }
      });
    }
  });
}

}  // namespace wick::cpu
