// Indexing kernels. Gathers walk the output in row-major order and map each position to an input
// offset through collapsed (shape, stride) lists, so transposed, sliced and broadcast (0-stride)
// inputs need no copy; rows of the output are split among threads. Scatter-add splits the
// positions off the indexed axis among threads; each task adds its columns in index order, so
// no two threads touch one output element and the result does not depend on the thread count.
// Indices are range-checked serially before any parallel region (exceptions must not cross it).
#include "wick/backend/cpu/indexing.h"

#include <algorithm>
#include <cstring>

#include "wick/backend/cpu/copy.h"
#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

// Row-major linear index -> element offset over the axes [begin, end) of a (shape, strides)
// pair; unit axes are dropped and axes that step evenly are merged.
class Walk {
 public:
  Walk(const Shape& shape, const Strides& strides, size_t begin, size_t end) {
    for (size_t d = begin; d < end; ++d) {
      if (shape[d] == 1) continue;
      if (!sh_.empty() && st_.back() == strides[d] * shape[d]) {
        sh_.back() *= shape[d];
        st_.back() = strides[d];
      } else {
        sh_.push_back(shape[d]);
        st_.push_back(strides[d]);
      }
    }
  }
  int64_t operator()(int64_t i) const {
    if (sh_.empty()) return 0;
    if (sh_.size() == 1) return i * st_[0];
    int64_t off = 0;
    for (size_t d = sh_.size(); d-- > 0;) {
      off += (i % sh_[d]) * st_[d];
      i /= sh_[d];
    }
    return off;
  }
  /// True when the offset of i is i * stride().
  bool linear() const { return sh_.size() <= 1; }
  int64_t stride() const { return sh_.empty() ? 0 : st_[0]; }

 private:
  Shape sh_;
  Strides st_;
};

template <class F>
void dispatch_index(DType t, const char* op, F&& f) {
  if (t == DType::i32) return f(int32_t{});
  if (t == DType::i64) return f(int64_t{});
  fail<DtypeError>(op, "indices must be i32 or i64, got {}", dtype_name(t));
}

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

template <class T, class I>
void take_typed(const Tensor& x, const Tensor& idx, size_t a, const Tensor& out) {
  const Shape& xs = x.shape();
  const Walk outer(xs, x.strides(), 0, a), inner(xs, x.strides(), a + 1, xs.size());
  const Walk iw(idx.shape(), idx.strides(), 0, idx.shape().size());
  const int64_t n_idx = idx.numel(), n_inner = prod(xs, a + 1, xs.size());
  const int64_t rows = out.numel() / n_inner, ax_st = x.strides()[a];
  const T* xp = x.data<T>();
  const I* ip = idx.data<I>();
  T* yp = out.data<T>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / n_inner), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t o = r / n_idx, j = r % n_idx;
      const T* src = xp + outer(o) + int64_t(ip[iw(j)]) * ax_st;
      T* dst = yp + r * n_inner;
      if (inner.linear() && inner.stride() == 1) {
        std::memcpy(dst, src, size_t(n_inner) * sizeof(T));
      } else if (inner.linear()) {
        const int64_t s = inner.stride();
        for (int64_t i = 0; i < n_inner; ++i) dst[i] = src[i * s];
      } else {
        for (int64_t i = 0; i < n_inner; ++i) dst[i] = src[inner(i)];
      }
    }
  });
}

template <class T, class I>
void take_along_typed(const Tensor& x, const Tensor& idx, size_t a, const Tensor& out) {
  const Shape& is = idx.shape();
  const size_t nd = is.size();
  const Walk x_outer(is, x.strides(), 0, a), x_inner(is, x.strides(), a + 1, nd);
  const Walk i_outer(is, idx.strides(), 0, a), i_inner(is, idx.strides(), a + 1, nd);
  const int64_t n_ax = is[a], n_inner = prod(is, a + 1, nd);
  const int64_t rows = out.numel() / n_inner;
  const int64_t x_ax = x.strides()[a], i_ax = idx.strides()[a];
  const T* xp = x.data<T>();
  const I* ip = idx.data<I>();
  T* yp = out.data<T>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / n_inner), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t o = r / n_ax, j = r % n_ax;
      const T* xrow = xp + x_outer(o);
      const I* irow = ip + i_outer(o) + j * i_ax;
      T* dst = yp + r * n_inner;
      for (int64_t i = 0; i < n_inner; ++i)
        dst[i] = xrow[int64_t(irow[i_inner(i)]) * x_ax + x_inner(i)];
    }
  });
}

// acc[p with p[a] = idx[p]] += src[p] for p in idx's shape; acc has strides acc_st.
template <class T, class A, class I>
void scatter_typed(const Tensor& idx, const Tensor& src, size_t a, A* acc, const Strides& acc_st) {
  const Shape& is = idx.shape();
  const size_t nd = is.size();
  const Walk a_outer(is, acc_st, 0, a), a_inner(is, acc_st, a + 1, nd);
  const Walk s_outer(is, src.strides(), 0, a), s_inner(is, src.strides(), a + 1, nd);
  const Walk i_outer(is, idx.strides(), 0, a), i_inner(is, idx.strides(), a + 1, nd);
  const int64_t n_ax = is[a], n_inner = prod(is, a + 1, nd), n_outer = prod(is, 0, a);
  const int64_t a_ax = acc_st[a], s_ax = src.strides()[a], i_ax = idx.strides()[a];
  const T* sp = src.data<T>();
  const I* ip = idx.data<I>();
  parallel_for(n_outer * n_inner, std::max<int64_t>(1, kGrain / n_ax), [&](int64_t b, int64_t e) {
    for (int64_t o = b / n_inner; o * n_inner < e; ++o) {
      const int64_t i0 = std::max<int64_t>(b - o * n_inner, 0);
      const int64_t i1 = std::min<int64_t>(e - o * n_inner, n_inner);
      A* arow = acc + a_outer(o);
      const T* srow = sp + s_outer(o);
      const I* irow = ip + i_outer(o);
      if (a_inner.linear() && s_inner.linear() && i_inner.linear()) {
        // The common case (row-major rows, broadcast indices): plain strided loops.
        const int64_t as = a_inner.stride(), ss = s_inner.stride(), is_ = i_inner.stride();
        for (int64_t j = 0; j < n_ax; ++j) {
          const I* ij = irow + j * i_ax;
          const T* sj = srow + j * s_ax;
          for (int64_t i = i0; i < i1; ++i)
            arow[int64_t(ij[i * is_]) * a_ax + i * as] += A(Compute<T>::load(sj[i * ss]));
        }
        continue;
      }
      for (int64_t j = 0; j < n_ax; ++j) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t k = int64_t(irow[j * i_ax + i_inner(i)]);
          arow[k * a_ax + a_inner(i)] += A(Compute<T>::load(srow[j * s_ax + s_inner(i)]));
        }
      }
    }
  });
}

}  // namespace

void check_index_range(const Tensor& idx, int64_t limit, const char* op) {
  if (idx.numel() == 0) return;
  // Broadcast (0-stride) axes repeat the same stored values: check each stored value once.
  Shape sh = idx.shape();
  for (size_t d = 0; d < sh.size(); ++d)
    if (idx.strides()[d] == 0) sh[d] = 1;
  const Walk w(sh, idx.strides(), 0, sh.size());
  const int64_t n = numel_of(sh);
  dispatch_index(idx.dtype(), op, [&](auto tag) {
    using I = decltype(tag);
    const I* p = idx.data<I>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = int64_t(p[w(i)]);
      if (v < 0 || v >= limit)
        fail<ValueError>(op, "index {} out of range; expected 0 <= index < {}", v, limit);
    }
  });
}

void take(const Tensor& x, const Tensor& idx, int axis, const Tensor& out, const char* op) {
  check_index_range(idx, x.shape()[size_t(axis)], op);
  out.alloc_contiguous();
  if (out.numel() == 0) return;
  dispatch_index(idx.dtype(), op, [&](auto itag) {
    dispatch_all(x.dtype(), op, [&](auto tag) {
      take_typed<decltype(tag), decltype(itag)>(x, idx, size_t(axis), out);
    });
  });
}

void take_along_axis(const Tensor& x, const Tensor& idx, int axis, const Tensor& out) {
  const char* op = "take_along_axis";
  check_index_range(idx, x.shape()[size_t(axis)], op);
  out.alloc_contiguous();
  if (out.numel() == 0) return;
  dispatch_index(idx.dtype(), op, [&](auto itag) {
    dispatch_all(x.dtype(), op, [&](auto tag) {
      take_along_typed<decltype(tag), decltype(itag)>(x, idx, size_t(axis), out);
    });
  });
}

void scatter_add(const Tensor& base, const Tensor& idx, const Tensor& src, int axis,
                 const Tensor& out) {
  const char* op = "scatter_add";
  check_index_range(idx, base.shape()[size_t(axis)], op);
  out.alloc_contiguous();
  if (out.numel() == 0) return;
  copy_into(base, out, out.strides(), 0);
  if (idx.numel() == 0) return;
  dispatch_index(idx.dtype(), op, [&](auto itag) {
    using I = decltype(itag);
    dispatch_float(out.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      using C = typename Compute<T>::type;
      T* yp = out.data<T>();
      if constexpr (std::is_same_v<C, T>) {
        scatter_typed<T, T, I>(idx, src, size_t(axis), yp, out.strides());
      } else {
        // 16-bit floats: add in an f32 copy so repeated indices do not round at every step.
        const int64_t n = out.numel();
        std::vector<float> acc(static_cast<size_t>(n));
        parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) acc[size_t(i)] = Compute<T>::load(yp[i]);
        });
        scatter_typed<T, float, I>(idx, src, size_t(axis), acc.data(), out.strides());
        parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) yp[i] = Compute<T>::store(acc[size_t(i)]);
        });
      }
    });
  });
}

void concat(const std::vector<Tensor>& xs, int axis, const Tensor& out) {
  out.alloc_contiguous();
  int64_t start = 0;
  for (const auto& x : xs) {
    if (x.numel() > 0) copy_into(x, out, out.strides(), start * out.strides()[size_t(axis)]);
    start += x.shape()[size_t(axis)];
  }
}

void stack(const std::vector<Tensor>& xs, int axis, const Tensor& out) {
  out.alloc_contiguous();
  Strides st = out.strides();
  const int64_t step = st[size_t(axis)];
  st.erase(st.begin() + axis);
  for (size_t k = 0; k < xs.size(); ++k)
    if (xs[k].numel() > 0) copy_into(xs[k], out, st, int64_t(k) * step);
}

void tri(const Tensor& x, int64_t k, bool upper, const Tensor& out) {
  out.alloc_contiguous();
  if (out.numel() == 0) return;
  const Shape& xs = x.shape();
  const size_t nd = xs.size();
  const int64_t m = xs[nd - 2], n = xs[nd - 1];
  const int64_t rs = x.strides()[nd - 2], cs = x.strides()[nd - 1];
  const Walk batch(xs, x.strides(), 0, nd - 2);
  const int64_t rows = out.numel() / n;
  dispatch_all(x.dtype(), upper ? "triu" : "tril", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    parallel_for(rows, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t i = r % m;
        const T* src = xp + batch(r / m) + i * rs;
        T* dst = yp + r * n;
        // Lower keeps j <= i + k, upper keeps j >= i + k.
        const int64_t edge = std::clamp<int64_t>(upper ? i + k : i + k + 1, 0, n);
        const int64_t keep_b = upper ? edge : 0, keep_e = upper ? n : edge;
        for (int64_t j = 0; j < n; ++j) dst[j] = (j >= keep_b && j < keep_e) ? src[j * cs] : T{};
      }
    });
  });
}

void dropout(const Tensor& x, const Tensor& keep, double scale, const Tensor& out) {
  out.alloc_contiguous();
  if (out.numel() == 0) return;
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    using L = Compute<T>;
    using C = typename L::type;
    const C s = C(scale);
    const T* xp = x.data<T>();
    const bool* kp = keep.data<bool>();
    T* yp = out.data<T>();
    strided_runs<3>(
        x.shape(), {x.strides(), keep.strides(), out.strides()},
        [&](const std::array<int64_t, 3>& off, int64_t len, const std::array<int64_t, 3>& st) {
          const T* a = xp + off[0];
          const bool* m = kp + off[1];
          T* o = yp + off[2];
          // A multiply (not a select) so NaN and Inf propagate as in torch's x * mask / (1 - p).
          for (int64_t i = 0; i < len; ++i)
            o[i * st[2]] = L::store(L::load(a[i * st[0]]) * (m[i * st[1]] ? s : C(0)));
        });
  });
}

}  // namespace wick::cpu
