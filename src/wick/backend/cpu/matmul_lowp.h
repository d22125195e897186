#pragma once
// bf16/f16 matrix products with several rows, in the weights' stored 16-bit layout, and the
// choice of instruction set for the CPU kernels (detected at run time, forcible for tests).
#include <optional>

#include "wick/core/tensor.h"

namespace wick::cpu {

/// Instruction-set levels of the CPU kernels. generic: no kernel of our own (bf16/f16 products
/// widen both operands to f32 for BLAS). avx2: AVX2 + FMA + F16C. avx512: AVX-512 F/BW/VL + BF16.
enum class CpuIsa : uint8_t { generic, avx2, avx512 };

const char* cpu_isa_name(CpuIsa isa);
/// The best level this CPU supports.
CpuIsa cpu_isa_supported();
/// The level in use: the forced one, else WICK_CPU_ISA (generic|avx2|avx512), else the best.
/// Throws ValueError when WICK_CPU_ISA names an unknown level or one this CPU lacks.
CpuIsa cpu_isa();
/// Forces a level (nullopt: back to the default). Throws ValueError when this CPU lacks it.
void force_cpu_isa(std::optional<CpuIsa> isa);

/// out [..., M, N] = a [..., M, K] @ b [..., K, N] for bf16/f16 (a and b broadcast to out's batch
/// shape). Blocked kernels: AVX-512 BF16 dot products on the stored bf16 values, or 16-bit values
/// widened in registers with f32 FMA (AVX2/F16C). b is read as [N, K] rows (a linear layer's
/// weight seen transposed); other layouts are transposed into a scratch copy first. Returns false
/// (nothing written) when the level is generic or K is 0.
bool lowp_matmul(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace wick::cpu
