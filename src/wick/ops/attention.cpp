// scaled_dot_product_attention as a composition (matmul, softmax, where, add), so its gradient
// comes from those ops. GQA without copies: q [B, H, T, Dh] is viewed as [B, Hkv, G*T, Dh]
// (G = H / Hkv query heads per kv head, which are adjacent in q), so each kv head multiplies one
// stacked block of queries and k/v are never repeated.
#include "wick/ops/attention.h"

#include <cmath>

#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/matmul.h"
#include "wick/ops/primitives.h"
#include "wick/ops/softmax.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

constexpr const char* kSdpaOp = "scaled_dot_product_attention";

// Bool [T, S]: key s visible from query t when s <= t + (S - T).
Tensor causal_allowed(int64_t T, int64_t S, Device d) {
  Tensor rows = reshape(arange(double(S - T), double(S), 1, DType::i64, d), {T, 1});
  Tensor cols = reshape(arange(S, DType::i64, d), {1, S});
  return less_equal(cols, rows);
}

void check(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask) {
  for (const Tensor* t : {&q, &k, &v})
    if (t->ndim() != 4)
      fail<ShapeError>(kSdpaOp, "q, k, v must be 4-d ([B, H, T, Dh]); got {}",
                       shape_str(t->shape()));
  if (!is_floating(q.dtype()))
    fail<DtypeError>(kSdpaOp, "expected float inputs, got {}", dtype_name(q.dtype()));
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
    fail<DtypeError>(kSdpaOp, "q, k, v dtypes differ: {}, {}, {}", dtype_name(q.dtype()),
                     dtype_name(k.dtype()), dtype_name(v.dtype()));
  if (k.shape() != v.shape())
    fail<ShapeError>(kSdpaOp, "k {} and v {} shapes differ", shape_str(k.shape()),
                     shape_str(v.shape()));
  if (k.shape(0) != q.shape(0) || k.shape(3) != q.shape(3))
    fail<ShapeError>(kSdpaOp, "k {} does not match q {}; expected the same B and Dh",
                     shape_str(k.shape()), shape_str(q.shape()));
  if (k.shape(1) == 0 || q.shape(1) % k.shape(1) != 0)
    fail<ShapeError>(kSdpaOp, "q heads {} not a multiple of kv heads {}", q.shape(1), k.shape(1));
  if (mask) {
    if (mask->dtype() != DType::boolean && mask->dtype() != q.dtype())
      fail<DtypeError>(kSdpaOp, "mask dtype {}; expected bool or q's dtype {}",
                       dtype_name(mask->dtype()), dtype_name(q.dtype()));
    if (mask->ndim() > 4)
      fail<ShapeError>(kSdpaOp, "mask {} has more than 4 axes", shape_str(mask->shape()));
    Shape full = {q.shape(0), q.shape(1), q.shape(2), k.shape(2)};
    if (broadcast_shapes(mask->shape(), full, kSdpaOp) != full)
      fail<ShapeError>(kSdpaOp, "mask {} does not broadcast to {}", shape_str(mask->shape()),
                       shape_str(full));
  }
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& mask, Causal causal,
                                    std::optional<double> scale) {
  check(q, k, v, mask);
  const int64_t B = q.shape(0), H = q.shape(1), T = q.shape(2), Dh = q.shape(3);
  const int64_t Hkv = k.shape(1), S = k.shape(2), G = H / Hkv;
  if (causal == Causal::yes && T > S)
    fail<ShapeError>(kSdpaOp, "causal attention needs T <= S, got T {} and S {}", T, S);
  const double sc = scale ? *scale : 1.0 / std::sqrt(double(Dh));
  // [B, Hkv, G*T, S] scores; q's reshape is a view when its strides allow.
  Tensor qg = G == 1 ? q : reshape(q, {B, Hkv, G * T, Dh});
  Tensor scores = matmul(qg, mT(k)) * sc;
  scores = reshape(scores, {B, Hkv, G, T, S});
  const Tensor neg_inf = full({}, -INFINITY, q.dtype(), q.device());
  if (mask) {
    // Pad to [b, h, t, s] and split h into (Hkv, G) when it is not broadcast.
    Tensor m = *mask;
    while (m.ndim() < 4) m = unsqueeze(m, 0);
    const int64_t mh = m.shape(1);
    Shape split = {m.shape(0), mh == 1 ? 1 : Hkv, mh == 1 ? 1 : G, m.shape(2), m.shape(3)};
    m = reshape(m, split);
    scores = m.dtype() == DType::boolean ? where(m, scores, neg_inf) : scores + m;
  }
  if (causal == Causal::yes) scores = where(causal_allowed(T, S, q.device()), scores, neg_inf);
  Tensor p = reshape(softmax(scores, -1), {B, Hkv, G * T, S});
  return reshape(matmul(p, v), {B, H, T, Dh});
}

namespace prims {
// The same attention over every slot of the cache, with the positions past `length` masked.
std::vector<Tensor> CachedAttention::fallback(const Inputs& in) const {
  const Tensor &q = in[0], &k = in[1], &v = in[2], &length = in[3];
  const int64_t T = q.shape(2), S = k.shape(2);
  const Device d = q.device();
  Tensor last = reshape(arange(T, DType::i64, d), {T, 1}) + (reshape(length, {}) - double(T));
  Tensor cols = reshape(arange(S, DType::i64, d), {1, S});
  Tensor allowed = less_equal(cols, last);
  if (window > 0) allowed = logical_and(allowed, greater(cols, last - double(window)));
  return {scaled_dot_product_attention(q, k, v, allowed, Causal::no, scale)};
}
}  // namespace prims

Tensor cached_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        const Tensor& length, int64_t window, std::optional<double> scale) {
  const char* op = "cached_attention";
  check(q, k_cache, v_cache, std::nullopt);
  if (length.numel() != 1 || length.dtype() != DType::i64 || length.device() != q.device())
    fail<ShapeError>(op, "length must be one i64 value on {}, got {} {}", device_name(q.device()),
                     dtype_name(length.dtype()), shape_str(length.shape()));
  if (!k_cache.is_contiguous() || !v_cache.is_contiguous())
    fail<ValueError>(op, "k and v caches must be row-major");
  if (window < 0) fail<ValueError>(op, "window must be >= 0, got {}", window);
  const double sc = scale ? *scale : 1.0 / std::sqrt(double(q.shape(3)));
  return Tensor::make(q.shape(), q.dtype(), q.device(),
                      std::make_shared<prims::CachedAttention>(sc, window),
                      {q, k_cache, v_cache, length});
}

}  // namespace wick
