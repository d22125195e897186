#pragma once
// A fused chain of f32 elementwise ops (built by compile()'s fusion pass), evaluated in one pass.
#include <cstdint>
#include <vector>

#include "wick/core/primitive.h"
#include "wick/core/tensor.h"

namespace wick::cpu {

/// One step of a fused chain: register `a` (and `b` for binary kinds) -> a new register.
/// Registers 0..inputs-1 are the chain's inputs; step i writes register inputs + i.
struct FusedStep {
  PrimitiveKind kind;
  int a = 0, b = -1;
};

/// The program of a fused chain; the last step's register is the output.
struct FusedChain {
  int num_inputs = 0;
  std::vector<FusedStep> steps;
};

/// True when `kind` can be a step of a fused chain (f32 unary and binary arithmetic).
bool fusable_kind(PrimitiveKind kind);

/// Evaluates `chain` over f32 inputs that are either row-major with `shape` (any offset) or a
/// single broadcast element (all strides 0): tiles of 1024 elements, each step one loop over the
/// tile with the formula of the unfused kernel (so results are bitwise those of the unfused
/// graph), tiles in parallel. Returns a fresh row-major f32 tensor of `shape`.
Tensor run_fused(const FusedChain& chain, const std::vector<Tensor>& inputs, const Shape& shape);

}  // namespace wick::cpu
