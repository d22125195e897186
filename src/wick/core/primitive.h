#pragma once
// Primitive: one class per op. It evaluates on each device and builds its vector-Jacobian product
// from public ops (so gradients are lazy graphs too).
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

class Primitive {
 public:
  virtual ~Primitive() = default;
  /// The op's public name, used in errors and the op-coverage test.
  virtual const char* name() const = 0;
  /// Computes `out` (a pending tensor with known shape/dtype) from evaluated CPU inputs.
  virtual void eval_cpu(const std::vector<Tensor>& inputs, const Tensor& out) = 0;
  /// Same on CUDA. The default throws NotImplemented naming the op and dtype.
  virtual void eval_cuda(const std::vector<Tensor>& inputs, const Tensor& out);
  /// Gradients with respect to each input for which `wanted[i]` is true (others may be left
  /// empty). `out` is this primitive's output, `cotangent` has its shape. The default throws.
  virtual std::vector<Tensor> vjp(const std::vector<Tensor>& inputs, const Tensor& out,
                                  const Tensor& cotangent, const std::vector<bool>& wanted);
  /// True when the op's output is never differentiated through (comparisons, argmax, ...).
  virtual bool non_differentiable() const { return false; }
};

/// Names of every primitive wick defines (one list, in ops/registry.cpp); the op-coverage test
/// checks each has a forward and a gradient test.
const std::vector<const char*>& all_primitive_names();

}  // namespace wick
