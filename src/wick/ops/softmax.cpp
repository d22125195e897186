// softmax / log_softmax: fused primitives (backend/cpu/softmax.cpp) whose vjps are built from
// public ops, plus the plain-op compositions they are tested against.
#include "wick/ops/softmax.h"

#include "wick/core/autograd.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"
#include "wick/ops/views.h"

namespace wick {

namespace {}  // namespace

std::vector<Tensor> prims::Softmax::vjp(const prims::Inputs&, const Tensor& out, const Tensor& g,
                                        const prims::Wanted&) {
  if (kind() == PrimitiveKind::softmax)  // y * (g - sum(g * y))
    return {out * (g - sum(g * out, {axis}, true))};
  return {g - exp(out) * sum(g, {axis}, true)};  // g - softmax * sum(g)
}

std::vector<Tensor> prims::Softmax::fallback(const prims::Inputs& in) const {
  return {kind() == PrimitiveKind::softmax ? softmax_reference(in[0], axis)
                                           : log_softmax_reference(in[0], axis)};
}

namespace {

Tensor softmax_op(bool log, const Tensor& x, int axis) {
  const char* op = log ? "log_softmax" : "softmax";
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (x.ndim() == 0) fail<ShapeError>(op, "expected at least 1 axis, got a 0-d tensor");
  int a = normalize_axis(axis, x.ndim(), op);
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Softmax>(log, a),
                      {x});
}

void check_reference(const Tensor& x, int axis, const char* op) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (x.ndim() == 0) fail<ShapeError>(op, "expected at least 1 axis, got a 0-d tensor");
  normalize_axis(axis, x.ndim(), op);
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) { return softmax_op(false, x, axis); }

Tensor log_softmax(const Tensor& x, int axis) { return softmax_op(true, x, axis); }

Tensor softmax_reference(const Tensor& x, int axis) {
  check_reference(x, axis, "softmax_reference");
  Tensor e = exp(x - stop_gradient(max(x, {axis}, true)));
  return e / sum(e, {axis}, true);
}

Tensor log_softmax_reference(const Tensor& x, int axis) {
  check_reference(x, axis, "log_softmax_reference");
  return x - logsumexp(x, {axis}, true);
}

}  // namespace wick
