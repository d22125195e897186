#pragma once
// NumPy .npy files (format version 1.0): the magic "\x93NUMPY", version bytes, a little-endian
// uint16 header length, a Python-dict header padded with spaces and ended by '\n' so that the
// data starts at a multiple of 64 bytes, then the row-major data.
#include <cstdint>
#include <string>

#include "wick/core/tensor.h"

namespace wick::embed {

/// The header of an f32 ('<f4') C-order array of `shape` (magic through the '\n').
std::string npy_header_f32(const Shape& shape);
/// A whole .npy file image of an f32 tensor (evaluated here; any strides).
std::string npy_bytes(const Tensor& t);

}  // namespace wick::embed
