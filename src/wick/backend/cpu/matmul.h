#pragma once
#include "wick/core/tensor.h"

namespace wick::cpu {

/// out [..., M, N] = a [..., M, K] @ b [..., K, N]; a and b already broadcast to out's batch
/// shape (batch strides may be 0). f32/f64 through BLAS; bf16/f16 through matmul_lowp.h.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace wick::cpu
