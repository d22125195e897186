#pragma once
// Functional autograd: gradients are built as lazy graphs from each primitive's vjp.
#include <functional>
#include <utility>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// Evaluates fn(params) (a scalar) and builds the gradient of it with respect to each param.
/// fn may ignore its argument and use the same tensors directly: params are found by identity.
/// Returns the (lazy) value and one (lazy) gradient per param (zeros if it does not contribute).
std::pair<Tensor, std::vector<Tensor>> value_and_grad(
    const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& params);
/// Vector-Jacobian product: gradients of <outputs, cotangents> with respect to params.
std::vector<Tensor> vjp(const std::vector<Tensor>& outputs, const std::vector<Tensor>& cotangents,
                        const std::vector<Tensor>& params);
namespace detail {
/// vjp that treats every node in `leaves` as a leaf (no gradient flows past it); each param must be
/// one of `leaves` (used by checkpoint, whose inputs may depend on each other).
std::vector<Tensor> vjp_to_leaves(const std::vector<Tensor>& outputs,
                                  const std::vector<Tensor>& cotangents,
                                  const std::vector<Tensor>& params,
                                  const std::vector<Tensor>& leaves);
}  // namespace detail
/// Identity whose gradient is zero.
Tensor stop_gradient(const Tensor& x);

}  // namespace wick
