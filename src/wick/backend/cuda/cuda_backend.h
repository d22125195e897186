#pragma once
// The CUDA backend (built with WICK_CUDA=ON): one compute stream per device, a caching allocator
// over cudaMalloc, cuBLAS for products, and a kernel per primitive kind. A kind without a CUDA
// kernel (or a dtype a kernel does not take) runs the CPU kernel on host copies of its inputs
// (counted: host_fallbacks()), so every graph runs on the GPU while native kernels cover the hot
// paths. Plain C++: nvcc never sees this header.
#include <cstdint>
#include <memory>

#include "wick/core/backend.h"

namespace wick::cuda {

/// The CUDA backend; device_count() is 0 when no usable GPU (or driver) is present.
std::unique_ptr<Backend> make_backend();

/// Primitive evaluations that ran on the CPU through host copies since start (per kind name via
/// host_fallback_report()).
int64_t host_fallbacks();
std::string host_fallback_report();

}  // namespace wick::cuda
