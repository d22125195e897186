#pragma once
// Every primitive class, public: its kind, its parameters (public const members, also readable by
// name through params()), its declared effect and its vjp. Backends include this header to read
// parameters in their kernels; a compiler uses it to recognise and rewrite ops. Frontends that
// validate arguments and build these nodes live in ops/<family>.cpp, next to the vjps.
#include <memory>
#include <vector>

#include "wick/core/primitive.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/loss.h"
#include "wick/ops/rope.h"

namespace wick::prims {

using Inputs = std::vector<Tensor>;
using Wanted = std::vector<bool>;

#define WICK_VJP_DECL                                                           \
  std::vector<Tensor> vjp(const Inputs& in, const Tensor& out, const Tensor& g, \
                          const Wanted& wanted) override

// ---- creation and randomness (ops/creation.cpp, ops/random.cpp) ----

/// out[...] = value (converted to the dtype). No inputs.
class Full final : public Primitive {
 public:
  explicit Full(double value) : Primitive(PrimitiveKind::full), value(value) {}
  Params params() const override { return {{"value", value}}; }
  bool non_differentiable() const override { return true; }
  const double value;
};

/// out[i] = start + i * step. No inputs.
class Arange final : public Primitive {
 public:
  Arange(double start, double step) : Primitive(PrimitiveKind::arange), start(start), step(step) {}
  Params params() const override { return {{"start", start}, {"step", step}}; }
  bool non_differentiable() const override { return true; }
  const double start, step;
};

enum class Distribution : uint8_t { uniform, normal };
/// Random numbers from a counter-based generator: element i uses counter key[1] + i (uniform) or
/// key[1] + 2i, key[1] + 2i + 1 (normal, Box-Muller) under seed key[0]. Input: key, i64 [2].
/// The key is an input, so a replayed graph with a new key draws new numbers.
class Random final : public Primitive {
 public:
  Random(Distribution dist, double a, double b)
      : Primitive(dist == Distribution::normal ? PrimitiveKind::random_normal
                                               : PrimitiveKind::random_uniform),
        dist(dist),
        a(a),
        b(b) {}
  Params params() const override { return {{"a", a}, {"b", b}}; }
  bool non_differentiable() const override { return true; }
  const Distribution dist;
  const double a, b;  // uniform: [a, b); normal: mean a, std b
};

/// out = x * (u_i >= p ? scale : 0), u_i uniform from `key` as in Random. Inputs: x, key.
/// The mask is recomputed from the key in the backward pass, never stored.
class Dropout final : public Primitive {
 public:
  Dropout(double p, double scale) : Primitive(PrimitiveKind::dropout), p(p), scale(scale) {}
  Params params() const override { return {{"p", p}, {"scale", scale}}; }
  WICK_VJP_DECL;
  const double p, scale;
};

/// A copy of input 0 on another device (the output's). Evaluated by the engine through the
/// backends' host copies.
class ToDevice final : public Primitive {
 public:
  ToDevice() : Primitive(PrimitiveKind::to_device) {}
  Effect effect() const override { return Effect::generic; }
  void eval_generic(const Inputs& in, const std::vector<Tensor>& out) override;
  WICK_VJP_DECL;
};

// ---- elementwise (ops/elementwise.cpp) ----

class Unary final : public Primitive {
 public:
  explicit Unary(UnaryOp op);
  bool non_differentiable() const override {
    return op == UnaryOp::sign || op == UnaryOp::logical_not;
  }
  Params params() const override { return {}; }
  WICK_VJP_DECL;
  const UnaryOp op;
};

class Binary final : public Primitive {
 public:
  explicit Binary(BinaryOp op);
  bool non_differentiable() const override { return op >= BinaryOp::eq; }
  WICK_VJP_DECL;
  const BinaryOp op;
};

class PowScalar final : public Primitive {
 public:
  explicit PowScalar(double p) : Primitive(PrimitiveKind::pow_scalar), p(p) {}
  Params params() const override { return {{"exponent", p}}; }
  WICK_VJP_DECL;
  const double p;
};

class Clamp final : public Primitive {
 public:
  Clamp(double lo, double hi) : Primitive(PrimitiveKind::clamp), lo(lo), hi(hi) {}
  Params params() const override { return {{"lo", lo}, {"hi", hi}}; }
  WICK_VJP_DECL;
  const double lo, hi;
};

class Where final : public Primitive {
 public:
  Where() : Primitive(PrimitiveKind::where) {}
  WICK_VJP_DECL;
};

// ---- views and copies (ops/views.cpp) ----

/// A reshape whose layout is a view of its input (decided when built; otherwise the frontend
/// copies first).
class Reshape final : public Primitive {
 public:
  Reshape() : Primitive(PrimitiveKind::reshape) {}
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const Inputs& in, const Shape& out_shape) const override;
  WICK_VJP_DECL;
};

class Permute final : public Primitive {
 public:
  explicit Permute(std::vector<int> axes)
      : Primitive(PrimitiveKind::permute), axes(std::move(axes)) {}
  Params params() const override;
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const Inputs& in, const Shape& out_shape) const override;
  WICK_VJP_DECL;
  const std::vector<int> axes;
};

class Slice final : public Primitive {
 public:
  Slice(int axis, int64_t start, int64_t step)
      : Primitive(PrimitiveKind::slice), axis(axis), start(start), step(step) {}
  Params params() const override { return {{"axis", axis}, {"start", start}, {"step", step}}; }
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const Inputs& in, const Shape& out_shape) const override;
  WICK_VJP_DECL;
  const int axis;
  const int64_t start, step;
};

/// Zeros of the output's shape with input 0 written at the slice positions.
class SliceScatter final : public Primitive {
 public:
  SliceScatter(int axis, int64_t start, int64_t step)
      : Primitive(PrimitiveKind::slice_scatter), axis(axis), start(start), step(step) {}
  Params params() const override { return {{"axis", axis}, {"start", start}, {"step", step}}; }
  WICK_VJP_DECL;
  const int axis;
  const int64_t start, step;
};

class BroadcastTo final : public Primitive {
 public:
  BroadcastTo() : Primitive(PrimitiveKind::broadcast_to) {}
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const Inputs& in, const Shape& out_shape) const override;
  WICK_VJP_DECL;
};

/// A row-major copy (kind contiguous).
class Copy final : public Primitive {
 public:
  Copy() : Primitive(PrimitiveKind::contiguous) {}
  WICK_VJP_DECL;
};

class AsType final : public Primitive {
 public:
  AsType() : Primitive(PrimitiveKind::astype) {}
  WICK_VJP_DECL;
};

// ---- reductions, softmax, norms, rope, matmul ----

/// sum, max or min over `axes` (sorted, non-negative); the output keeps no reduced axes.
class Reduce final : public Primitive {
 public:
  Reduce(PrimitiveKind kind, std::vector<int> axes) : Primitive(kind), axes(std::move(axes)) {}
  Params params() const override;
  WICK_VJP_DECL;
  const std::vector<int> axes;
};

class ArgMax final : public Primitive {
 public:
  explicit ArgMax(int axis) : Primitive(PrimitiveKind::argmax), axis(axis) {}
  Params params() const override { return {{"axis", axis}}; }
  bool non_differentiable() const override { return true; }
  WICK_VJP_DECL;
  const int axis;
};

/// softmax or log_softmax over `axis`.
class Softmax final : public Primitive {
 public:
  Softmax(bool log, int axis)
      : Primitive(log ? PrimitiveKind::log_softmax : PrimitiveKind::softmax), axis(axis) {}
  Params params() const override { return {{"axis", axis}}; }
  std::vector<Tensor> fallback(const Inputs& in) const override;
  WICK_VJP_DECL;
  const int axis;
};

class RmsNorm final : public Primitive {
 public:
  RmsNorm(double eps, bool has_weight)
      : Primitive(PrimitiveKind::rms_norm), eps(eps), has_weight(has_weight) {}
  Params params() const override { return {{"eps", eps}, {"has_weight", int64_t(has_weight)}}; }
  std::vector<Tensor> fallback(const Inputs& in) const override;
  WICK_VJP_DECL;
  const double eps;
  const bool has_weight;
};

class LayerNorm final : public Primitive {
 public:
  LayerNorm(double eps, bool has_weight, bool has_bias)
      : Primitive(PrimitiveKind::layer_norm),
        eps(eps),
        has_weight(has_weight),
        has_bias(has_bias) {}
  Params params() const override {
    return {{"eps", eps}, {"has_weight", int64_t(has_weight)}, {"has_bias", int64_t(has_bias)}};
  }
  WICK_VJP_DECL;
  const double eps;
  const bool has_weight, has_bias;
};

/// Rotary embedding of x [B, H, T, Dh] with inv_freq [Dh/2]; positions are offset + t, or the
/// optional third input positions [B, T] (or [T]).
class Rope final : public Primitive {
 public:
  Rope(RopeLayout layout, int64_t offset, bool inverse, bool has_positions)
      : Primitive(PrimitiveKind::rope),
        layout(layout),
        offset(offset),
        inverse(inverse),
        has_positions(has_positions) {}
  Params params() const override {
    return {{"layout", int64_t(layout)},
            {"offset", offset},
            {"inverse", int64_t(inverse)},
            {"has_positions", int64_t(has_positions)}};
  }
  WICK_VJP_DECL;
  const RopeLayout layout;
  const int64_t offset;
  const bool inverse, has_positions;
};

class Matmul final : public Primitive {
 public:
  Matmul() : Primitive(PrimitiveKind::matmul) {}
  WICK_VJP_DECL;
};

// ---- indexing (ops/indexing.cpp) ----

class Take final : public Primitive {
 public:
  Take(int axis, const char* op) : Primitive(PrimitiveKind::take), axis(axis), op(op) {}
  Params params() const override { return {{"axis", axis}}; }
  WICK_VJP_DECL;
  const int axis;
  const char* const op;  // the public op that built it (take, index_select, embedding)
};

class TakeAlongAxis final : public Primitive {
 public:
  explicit TakeAlongAxis(int axis) : Primitive(PrimitiveKind::take_along_axis), axis(axis) {}
  Params params() const override { return {{"axis", axis}}; }
  WICK_VJP_DECL;
  const int axis;
};

class ScatterAdd final : public Primitive {
 public:
  explicit ScatterAdd(int axis) : Primitive(PrimitiveKind::scatter_add), axis(axis) {}
  Params params() const override { return {{"axis", axis}}; }
  WICK_VJP_DECL;
  const int axis;
};

/// concat (along an existing axis) or stack (along a new one).
class Concat final : public Primitive {
 public:
  Concat(int axis, bool new_axis)
      : Primitive(new_axis ? PrimitiveKind::stack : PrimitiveKind::concat),
        axis(axis),
        new_axis(new_axis) {}
  Params params() const override { return {{"axis", axis}}; }
  WICK_VJP_DECL;
  const int axis;
  const bool new_axis;
};

class Tri final : public Primitive {
 public:
  Tri(int64_t k, bool upper)
      : Primitive(upper ? PrimitiveKind::triu : PrimitiveKind::tril), k(k), upper(upper) {}
  Params params() const override { return {{"k", k}}; }
  WICK_VJP_DECL;
  const int64_t k;
  const bool upper;
};

/// Writes x [B, Hkv, T, Dh] into the cache [B, Hkv, S, Dh] at positions offset..offset+T, in
/// place; the output aliases the cache. Inputs: cache, x, offset (an i64 scalar tensor, so one
/// graph serves every decode step).
class KvCacheWrite final : public Primitive {
 public:
  KvCacheWrite() : Primitive(PrimitiveKind::kv_cache_write) {}
  Effect effect() const override { return Effect::writes_input; }
  bool non_differentiable() const override { return true; }
};

// ---- losses (ops/loss.cpp, ops/linear_cross_entropy.cpp) ----

class CrossEntropy final : public Primitive {
 public:
  CrossEntropy(int64_t ignore, Reduction reduction)
      : Primitive(PrimitiveKind::cross_entropy), ignore(ignore), reduction(reduction) {}
  Params params() const override {
    return {{"ignore_index", ignore}, {"reduction", int64_t(reduction)}};
  }
  WICK_VJP_DECL;
  const int64_t ignore;
  const Reduction reduction;
};

class CrossEntropyGrad final : public Primitive {
 public:
  CrossEntropyGrad(int64_t ignore, Reduction reduction)
      : Primitive(PrimitiveKind::cross_entropy_grad), ignore(ignore), reduction(reduction) {}
  Params params() const override {
    return {{"ignore_index", ignore}, {"reduction", int64_t(reduction)}};
  }
  WICK_VJP_DECL;
  const int64_t ignore;
  const Reduction reduction;
};

class LinearCrossEntropy final : public Primitive {
 public:
  LinearCrossEntropy(int64_t ignore, int64_t chunk)
      : Primitive(PrimitiveKind::linear_cross_entropy), ignore(ignore), chunk(chunk) {}
  Params params() const override { return {{"ignore_index", ignore}, {"chunk", chunk}}; }
  WICK_VJP_DECL;
  const int64_t ignore, chunk;
};

/// The gradients of linear_cross_entropy with respect to hidden, weight, or both: with both it
/// has two outputs (siblings), computed from one pass over the logits chunks. Inputs: hidden,
/// weight, targets, the loss's cotangent.
class LinearCrossEntropyGrad final : public Primitive {
 public:
  enum class Wrt : uint8_t { hidden, weight, both };
  LinearCrossEntropyGrad(int64_t ignore, int64_t chunk, Wrt wrt)
      : Primitive(PrimitiveKind::linear_cross_entropy_grad),
        ignore(ignore),
        chunk(chunk),
        wrt(wrt) {}
  Params params() const override {
    return {{"ignore_index", ignore}, {"chunk", chunk}, {"wrt", int64_t(wrt)}};
  }
  WICK_VJP_DECL;
  std::vector<Tensor> vjp_multi(const Inputs& in, const std::vector<Tensor>& outs,
                                const std::vector<Tensor>& cts, const Wanted& wanted) override;
  const int64_t ignore, chunk;
  const Wrt wrt;
};

/// Attention of q [B, H, T, Dh] against row-major caches k, v [B, Hkv, S, Dh] over their first
/// `length` positions (input 3, an i64 scalar tensor): query t sees keys s <= length - T + t, and
/// s > that - window when window > 0. The output's shape does not depend on `length`, so one
/// decode-step graph serves every token.
class CachedAttention final : public Primitive {
 public:
  CachedAttention(double scale, int64_t window)
      : Primitive(PrimitiveKind::cached_attention), scale(scale), window(window) {}
  Params params() const override { return {{"scale", scale}, {"window", window}}; }
  bool non_differentiable() const override { return true; }
  std::vector<Tensor> fallback(const Inputs& in) const override;
  const double scale;
  const int64_t window;
};

#undef WICK_VJP_DECL

}  // namespace wick::prims
