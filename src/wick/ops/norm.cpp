// rms_norm / layer_norm: fused primitives (backend/cpu/norm.cpp) whose vjps are the analytic
// gradients written with public ops (so second derivatives work), plus plain-op references.
#include "wick/ops/norm.h"

#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

// torch's type promotion restricted to float dtypes.
DType promote_float(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::f64 || b == DType::f64) return DType::f64;
  return DType::f32;
}

// Precision of the normalisation: f64 for f64 inputs, f32 otherwise.
DType norm_compute(DType x) { return x == DType::f64 ? DType::f64 : DType::f32; }

}  // namespace

std::vector<Tensor> prims::RmsNorm::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                        const prims::Wanted& wanted) {
  const Tensor& x = in[0];
  const DType c = norm_compute(x.dtype());
  Tensor xf = astype(x, c), gf = astype(g, c);
  Tensor r = rsqrt(mean(square(xf), {-1}, true) + eps);
  Tensor n = xf * r;
  Tensor gw = has_weight ? gf * astype(in[1], c) : gf;
  std::vector<Tensor> grads(in.size());
  if (wanted[0])  // r * (g w - n * mean(g w n))
    grads[0] = astype(r * (gw - n * mean(gw * n, {-1}, true)), x.dtype());
  if (has_weight && wanted[1]) {
    // The forward multiplies the weight by n rounded to x's dtype.
    Tensor nr = astype(astype(n, x.dtype()), c);
    grads[1] = astype(sum_to_shape(gf * nr, in[1].shape()), in[1].dtype());
  }
  return grads;
}

namespace {}  // namespace

std::vector<Tensor> prims::LayerNorm::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                          const prims::Wanted& wanted) {
  const Tensor& x = in[0];
  const DType c = norm_compute(x.dtype());
  Tensor xf = astype(x, c), gf = astype(g, c);
  Tensor d = xf - mean(xf, {-1}, true);
  Tensor r = rsqrt(mean(square(d), {-1}, true) + eps);
  Tensor xhat = d * r;
  Tensor gh = has_weight ? gf * astype(in[1], c) : gf;
  std::vector<Tensor> grads(in.size());
  if (wanted[0])  // r * (gh - mean(gh) - xhat * mean(gh * xhat))
    grads[0] =
        astype(r * (gh - mean(gh, {-1}, true) - xhat * mean(gh * xhat, {-1}, true)), x.dtype());
  if (has_weight && wanted[1])
    grads[1] = astype(sum_to_shape(gf * xhat, in[1].shape()), in[1].dtype());
  size_t bi = has_weight ? 2 : 1;
  if (has_bias && wanted[bi]) grads[bi] = astype(sum_to_shape(gf, in[bi].shape()), in[bi].dtype());
  return grads;
}

namespace {

void check_x(const Tensor& x, double eps, const char* op) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float input, got {}", dtype_name(x.dtype()));
  if (x.ndim() < 1) fail<ShapeError>(op, "expected at least 1 axis, got a 0-d tensor");
  if (!(eps >= 0)) fail<ValueError>(op, "eps must be >= 0, got {}", eps);
}

void check_param(const Tensor& p, const Tensor& x, const char* what, const char* op) {
  if (!is_floating(p.dtype()))
    fail<DtypeError>(op, "{} must be a float tensor, got {}", what, dtype_name(p.dtype()));
  if (p.ndim() != 1 || p.shape(0) != x.shape(-1))
    fail<ShapeError>(op, "{} shape {}; expected [{}] (the last axis of x {})", what,
                     shape_str(p.shape()), x.shape(-1), shape_str(x.shape()));
  if (p.device() != x.device()) fail<ValueError>(op, "{} is on another device than x", what);
}

}  // namespace

Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& weight, double eps) {
  check_x(x, eps, "rms_norm");
  std::vector<Tensor> ins = {x};
  DType out = x.dtype();
  if (weight) {
    check_param(*weight, x, "weight", "rms_norm");
    ins.push_back(*weight);
    out = promote_float(x.dtype(), weight->dtype());
  }
  return Tensor::make(x.shape(), out, x.device(),
                      std::make_shared<prims::RmsNorm>(eps, weight.has_value()), std::move(ins));
}

Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  check_x(x, eps, "layer_norm");
  std::vector<Tensor> ins = {x};
  for (const auto* p : {&weight, &bias}) {
    if (!*p) continue;
    const char* what = p == &weight ? "weight" : "bias";
    check_param(**p, x, what, "layer_norm");
    if ((*p)->dtype() != x.dtype())
      fail<DtypeError>("layer_norm", "{} dtype {}; expected x's dtype {}", what,
                       dtype_name((*p)->dtype()), dtype_name(x.dtype()));
    ins.push_back(**p);
  }
  return Tensor::make(x.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::LayerNorm>(eps, weight.has_value(), bias.has_value()),
                      std::move(ins));
}

Tensor rms_norm_reference(const Tensor& x, const std::optional<Tensor>& weight, double eps) {
  check_x(x, eps, "rms_norm_reference");
  Tensor xf = astype(x, norm_compute(x.dtype()));
  Tensor h = astype(xf * rsqrt(mean(square(xf), {-1}, true) + eps), x.dtype());
  if (!weight) return h;
  check_param(*weight, x, "weight", "rms_norm_reference");
  DType out = promote_float(x.dtype(), weight->dtype());
  return astype(*weight, out) * astype(h, out);
}

Tensor layer_norm_reference(const Tensor& x, const std::optional<Tensor>& weight,
                            const std::optional<Tensor>& bias, double eps) {
  check_x(x, eps, "layer_norm_reference");
  const DType c = norm_compute(x.dtype());
  Tensor xf = astype(x, c);
  Tensor d = xf - mean(xf, {-1}, true);
  Tensor y = d * rsqrt(mean(square(d), {-1}, true) + eps);
  if (weight) {
    check_param(*weight, x, "weight", "layer_norm_reference");
    y = y * astype(*weight, c);
  }
  if (bias) {
    check_param(*bias, x, "bias", "layer_norm_reference");
    y = y + astype(*bias, c);
  }
  return astype(y, x.dtype());
}

}  // namespace wick

namespace wick::prims {
std::vector<Tensor> RmsNorm::fallback(const Inputs& in) const {
  return {rms_norm_reference(in[0], has_weight ? std::optional<Tensor>(in[1]) : std::nullopt, eps)};
}
}  // namespace wick::prims
