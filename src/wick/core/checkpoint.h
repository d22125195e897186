#pragma once
// Gradient checkpointing: a function whose intermediates are recomputed in the backward pass
// instead of being kept alive between the forward and the backward.
#include <functional>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// A function of tensors to checkpoint: it builds its outputs from its inputs (and from tensors it
/// captures) with ordinary lazy ops.
using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// fn(inputs) with fn's intermediates recomputed in the backward pass: each output has fn's shape,
/// dtype and value; evaluating it keeps only the outputs. fn is traced once here (lazily, nothing
/// runs); tensors it captures (weights, adapters) become inputs too, so they get gradients, and
/// tensors it creates (dropout masks) are reused, so the recomputation equals the forward. The
/// backward rebuilds fn's graph after the output's cotangent is computed and differentiates it.
/// fn is not kept. A tensor fn evaluates while it is traced counts as a constant (no gradient).
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs);
/// Single-output form: fn(inputs) -> one tensor.
Tensor checkpoint(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                  const std::vector<Tensor>& inputs);
/// x (same shape, dtype, buffer) evaluated only after every tensor in `after`: an ordering edge for
/// the scheduler. The gradient flows to x only.
Tensor depend(const Tensor& x, const std::vector<Tensor>& after);

}  // namespace wick
