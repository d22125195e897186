#pragma once
// The CPU backend (allocator, host copies, kernel table).
#include <memory>

#include "wick/core/backend.h"

namespace wick::cpu {

/// Registers every CPU kernel in `b`'s table (the checked device reuses the table).
void register_kernels(Backend& b);
/// A CPU backend with every kernel registered.
std::unique_ptr<Backend> make_backend();

}  // namespace wick::cpu
