#pragma once
// The checked device: a second CPU-memory device that proves the device plumbing without a GPU.
// It has its own caching allocator whose freed blocks are poisoned (0xFF bytes: NaN in every float
// dtype), it refuses host reads outside kernels (so code that forgets to copy to the CPU fails as
// on a GPU), and its kernels are the CPU's.
#include <memory>

#include "wick/core/backend.h"

namespace wick::checked {

/// A checked backend running `cpu`'s kernels.
std::unique_ptr<Backend> make_backend(const Backend& cpu);

}  // namespace wick::checked
