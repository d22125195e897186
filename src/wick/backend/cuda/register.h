#pragma once
// The CUDA backend's kernel families, registered by make_backend (runtime.cpp). Each family lives
// in register_<family>.cpp (the Tensor side) over launchers in <family>.cu (the device side).
#include "wick/core/backend.h"

namespace wick::cuda {

void register_elementwise(Backend& b);  // elementwise, where, clamp, pow_scalar
void register_copies(Backend& b);       // contiguous, astype, slice_scatter, kv_cache_write,
                                        // full, arange, random, dropout, tril/triu
void register_indexing(Backend& b);     // take, take_along_axis, scatter_add, concat, stack
void register_matmul(Backend& b);       // matmul (cuBLAS)
void register_layers(Backend& b);       // reductions, argmax, softmax, norms, rope, losses,
                                        // cached_attention

}  // namespace wick::cuda
