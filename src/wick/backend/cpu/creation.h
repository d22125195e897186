#pragma once
// CPU kernels of lazy creation (full, arange, random numbers, keyed dropout masks).
#include "wick/core/tensor.h"

namespace wick::cpu {

void full(double value, const Tensor& out);
/// out[i] = start + i * step.
void arange(double start, double step, const Tensor& out);
/// Uniform in [a, b) or normal (mean a, std b) from key = (seed, first counter), i64 [2].
void random(bool normal, double a, double b, const Tensor& key, const Tensor& out);
/// out = x * (u_i >= p ? scale : 0) with u_i uniform from `key`.
void dropout_keyed(const Tensor& x, const Tensor& key, double p, double scale, const Tensor& out);

}  // namespace wick::cpu
