// matmul and linear: frontend, primitive and vjp.
#include "wick/ops/matmul.h"

#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"
#include "wick/ops/views.h"

namespace wick {

namespace {}  // namespace

std::vector<Tensor> prims::Matmul::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                       const prims::Wanted& wanted) {
  // in[0] and in[1] are already broadcast to the output's batch shape.
  const Tensor &a = in[0], &b = in[1];
  Tensor ga, gb;
  if (wanted[0]) ga = matmul(g, mT(b));
  if (wanted[1]) gb = matmul(mT(a), g);
  return {ga, gb};
}

namespace {}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.ndim() < 2 || b.ndim() < 2)
    fail<ShapeError>("matmul", "expected inputs with at least 2 axes, got {} and {}",
                     shape_str(a.shape()), shape_str(b.shape()));
  if (a.dtype() != b.dtype())
    fail<DtypeError>("matmul", "dtypes differ: {} and {}", dtype_name(a.dtype()),
                     dtype_name(b.dtype()));
  if (!is_floating(a.dtype()))
    fail<DtypeError>("matmul", "expected a float dtype, got {}", dtype_name(a.dtype()));
  if (a.device() != b.device()) fail<ValueError>("matmul", "inputs on different devices");
  int64_t K = a.shape(-1);
  if (b.shape(-2) != K)
    fail<ShapeError>("matmul", "inner sizes differ: {} @ {}; expected b.shape[-2] == {}",
                     shape_str(a.shape()), shape_str(b.shape()), K);
  // A 2-d b against a batched, row-major a: fold the batch into one product (the linear-layer
  // case); its gradient for b is then one [K, rows] x [rows, N] product, not a batch and a sum.
  if (b.ndim() == 2 && a.ndim() > 2) {
    Shape out = a.shape();
    out.back() = b.shape(-1);
    Tensor flat = reshape(a, {numel_of(Shape(a.shape().begin(), a.shape().end() - 1)), K});
    return reshape(matmul(flat, b), out);
  }
  Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(ab, bb, "matmul");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {a.shape(-2), K});
  sb.insert(sb.end(), {K, b.shape(-1)});
  so.insert(so.end(), {a.shape(-2), b.shape(-1)});
  return Tensor::make(so, a.dtype(), a.device(), std::make_shared<prims::Matmul>(),
                      {broadcast_to(a, sa), broadcast_to(b, sb)});
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
  if (weight.ndim() != 2)
    fail<ShapeError>("linear", "weight must be [out, in], got {}", shape_str(weight.shape()));
  if (x.ndim() < 1 || x.shape(-1) != weight.shape(1))
    fail<ShapeError>("linear", "input {} does not match weight {}; expected last axis {}",
                     shape_str(x.shape()), shape_str(weight.shape()), weight.shape(1));
  Tensor x2 = x.ndim() == 1 ? reshape(x, {1, x.shape(0)}) : x;
  Tensor y = matmul(x2, mT(weight));
  if (bias) {
    if (bias->ndim() != 1 || bias->shape(0) != weight.shape(0))
      fail<ShapeError>("linear", "bias {} does not match {} outputs", shape_str(bias->shape()),
                       weight.shape(0));
    y = y + *bias;
  }
  return x.ndim() == 1 ? reshape(y, {weight.shape(0)}) : y;
}

}  // namespace wick
