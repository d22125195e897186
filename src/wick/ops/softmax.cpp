// softmax / log_softmax: fused primitives (backend/cpu/softmax.cpp) whose vjps are built from
// public ops, plus the plain-op compositions they are tested against.
#include "wick/ops/softmax.h"

#include "wick/backend/cpu/softmax.h"
#include "wick/core/autograd.h"
#include "wick/core/primitive.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/reduce.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

class Softmax final : public Primitive {
 public:
  Softmax(cpu::SoftmaxKind kind, int axis) : kind_(kind), axis_(axis) {}
  const char* name() const override {
    return kind_ == cpu::SoftmaxKind::softmax ? "softmax" : "log_softmax";
  }
  void eval_cpu(const std::vector<Tensor>& in, const Tensor& out) override {
    cpu::softmax(kind_, in[0], axis_, out);
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor& out, const Tensor& g,
                          const std::vector<bool>&) override {
    if (kind_ == cpu::SoftmaxKind::softmax)  // y * (g - sum(g * y))
      return {out * (g - sum(g * out, {axis_}, true))};
    return {g - exp(out) * sum(g, {axis_}, true)};  // g - softmax * sum(g)
  }

 private:
  const cpu::SoftmaxKind kind_;
  const int axis_;
};

Tensor softmax_op(cpu::SoftmaxKind kind, const Tensor& x, int axis) {
  const char* op = kind == cpu::SoftmaxKind::softmax ? "softmax" : "log_softmax";
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (x.ndim() == 0) fail<ShapeError>(op, "expected at least 1 axis, got a 0-d tensor");
  int a = normalize_axis(axis, x.ndim(), op);
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<Softmax>(kind, a), {x});
}

void check_reference(const Tensor& x, int axis, const char* op) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (x.ndim() == 0) fail<ShapeError>(op, "expected at least 1 axis, got a 0-d tensor");
  normalize_axis(axis, x.ndim(), op);
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) { return softmax_op(cpu::SoftmaxKind::softmax, x, axis); }

Tensor log_softmax(const Tensor& x, int axis) {
  return softmax_op(cpu::SoftmaxKind::log_softmax, x, axis);
}

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
