#pragma once
#include "wick/core/tensor.h"
#include "wick/ops/elementwise.h"

namespace wick::cpu {

/// out = op(x); out allocated here. Float ops compute in f32 (f64 for f64).
void unary(UnaryOp op, const Tensor& x, const Tensor& out);
/// out = x ** p.
void pow_scalar(const Tensor& x, double p, const Tensor& out);
/// out = min(max(x, lo), hi).
void clamp(const Tensor& x, double lo, double hi, const Tensor& out);
/// out = op(a, b) for same-shape (possibly broadcast-strided) inputs.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
/// out = c ? a : b.
void where(const Tensor& c, const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace wick::cpu
