// Cross-entropy over rows of logits [N, V]. One task per group of rows. The forward makes one
// pass over a row in chunks of kChunk columns (widened to the compute type in a small scratch):
// each chunk's max updates a running max m (rescaling the running sum by exp(m_old - m_new)),
// then the chunk's exp(x - m) are added, so a 151936-wide row is read once; the target's logit
// is picked on the way. The backward recomputes (m, sum) the same way and writes
// (exp(x - m) / sum - onehot) * w in one more pass. f32/bf16/f16 accumulate in f32, f64 in f64;
// the reduction over rows is summed in f64.
#include "wick/backend/cpu/loss.h"

#include <cmath>
#include <limits>
#include <vector>

#include "wick/backend/cpu/cpu_utils.h"
#include "wick/backend/cpu/softmax.h"

namespace wick::cpu {

namespace {

constexpr int64_t kChunk = 1024;

int64_t target_at(const Tensor& targets, int64_t i) {
  int64_t st = targets.strides()[0];
  if (targets.dtype() == DType::i32) return targets.data<int32_t>()[i * st];
  return targets.data<int64_t>()[i * st];
}

// Running (max, sum of exp(x - max)) over a strided row, chunk by chunk.
template <class T, class C>
void row_lse(const T* x, int64_t n, int64_t cs, C* buf, C& m, C& s) {
  using L = Compute<T>;
  m = -std::numeric_limits<C>::infinity();
  s = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t len = std::min(kChunk, n - c0);
    const C* chunk;
    if constexpr (std::is_same_v<T, C>) {
      if (cs == 1) {
        chunk = x + c0;
      } else {
        for (int64_t i = 0; i < len; ++i) buf[i] = x[(c0 + i) * cs];
        chunk = buf;
      }
    } else {
      for (int64_t i = 0; i < len; ++i) buf[i] = L::load(x[(c0 + i) * cs]);
      chunk = buf;
    }
    C cm = row_max(chunk, len);
    if (cm != cm) {  // NaN logits give a NaN loss
      m = s = cm;
      return;
    }
    if (cm > m) {
      s *= exp_c<C>(m - cm);
      m = cm;
    }
    if (m == -std::numeric_limits<C>::infinity()) continue;  // all -inf so far
    s += row_exp_sum<C>(chunk, len, m, nullptr);
  }
}

template <class T>
void forward_typed(const Tensor& logits, const Tensor& targets, int64_t ignore, Reduction reduction,
                   const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const int64_t N = logits.shape()[0], V = logits.shape()[1];
  const int64_t rs = logits.strides()[0], cs = logits.strides()[1];
  const T* xp = logits.data<T>();
  std::vector<double> loss(size_t(N), 0.0);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(V, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<C> buf(size_t(std::min(kChunk, V)) + 1);
                 for (int64_t i = b; i < e; ++i) {
                   int64_t t = target_at(targets, i);
                   if (t == ignore) continue;
                   C m, s;
                   row_lse<T, C>(xp + i * rs, V, cs, buf.data(), m, s);
                   C picked = L::load(xp[i * rs + t * cs]);
                   loss[size_t(i)] = double(m + std::log(s) - picked);
                 }
               });
  T* op = out.data<T>();
  if (reduction == Reduction::none) {
    for (int64_t i = 0; i < N; ++i) op[i] = L::store(C(loss[size_t(i)]));
    return;
  }
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (target_at(targets, i) == ignore) continue;
    total += loss[size_t(i)];
    ++count;
  }
  // mean over zero targets is 0/0 = NaN, as in torch.
  if (reduction == Reduction::mean) total = count ? total / double(count) : std::nan("");
  op[0] = L::store(C(total));
}

template <class T>
void backward_typed(const Tensor& logits, const Tensor& targets, const Tensor& g, int64_t ignore,
                    Reduction reduction, int64_t count, const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const int64_t N = logits.shape()[0], V = logits.shape()[1];
  const int64_t rs = logits.strides()[0], cs = logits.strides()[1];
  const T* xp = logits.data<T>();
  const T* gp = g.data<T>();
  const int64_t gs = g.ndim() ? g.strides()[0] : 0;
  T* op = out.data<T>();
  const C scale = reduction == Reduction::mean ? C(1) / C(std::max<int64_t>(count, 1)) : C(1);
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(V, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<C> buf(size_t(std::min(kChunk, V)) + 1);
                 for (int64_t i = b; i < e; ++i) {
                   T* orow = op + i * V;
                   int64_t t = target_at(targets, i);
                   if (t == ignore) {
                     for (int64_t j = 0; j < V; ++j) orow[j] = L::store(C(0));
                     continue;
                   }
                   C m, s;
                   const T* xr = xp + i * rs;
                   row_lse<T, C>(xr, V, cs, buf.data(), m, s);
                   const C w = C(L::load(gp[reduction == Reduction::none ? i * gs : 0])) * scale;
                   const C winv = w / s;
                   if (cs == 1) {
                     for (int64_t j = 0; j < V; ++j)
                       orow[j] = L::store(exp_c<C>(C(L::load(xr[j])) - m) * winv);
                   } else {
                     for (int64_t j = 0; j < V; ++j)
                       orow[j] = L::store(exp_c<C>(C(L::load(xr[j * cs])) - m) * winv);
                   }
                   orow[t] = L::store(exp_c<C>(C(L::load(xr[t * cs])) - m) * winv - w);
                 }
               });
}

}  // namespace

int64_t count_valid_targets(const Tensor& targets, int64_t V, int64_t ignore, const char* op) {
  const int64_t N = targets.shape()[0];
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    int64_t t = target_at(targets, i);
    if (t == ignore) continue;
    if (t < 0 || t >= V)
      fail<ValueError>(op,
                       "target {} at row {} is out of range; expected [0, {}) or ignore_index {}",
                       t, i, V, ignore);
    ++count;
  }
  return count;
}

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore, Reduction reduction,
                   const Tensor& out) {
  count_valid_targets(targets, logits.shape()[1], ignore, "cross_entropy");
  out.alloc_contiguous();
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    forward_typed<decltype(tag)>(logits, targets, ignore, reduction, out);
  });
}

void cross_entropy_grad(const Tensor& logits, const Tensor& targets, const Tensor& g,
                        int64_t ignore, Reduction reduction, const Tensor& out) {
  int64_t count = count_valid_targets(targets, logits.shape()[1], ignore, "cross_entropy_grad");
  out.alloc_contiguous();
  dispatch_float(logits.dtype(), "cross_entropy_grad", [&](auto tag) {
    backward_typed<decltype(tag)>(logits, targets, g, ignore, reduction, count, out);
  });
}

}  // namespace wick::cpu
