#pragma once
// Tensor creation: constants, ranges, host data and seeded random numbers. Constants, ranges and
// random numbers are lazy primitives evaluated on the target device; host data is copied.
#include <cstdint>
#include <vector>

#include "wick/core/random.h"
#include "wick/core/tensor.h"

namespace wick {

/// Tensor of `shape` filled with `value` (converted to dtype).
Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
            Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
/// 0-d tensor holding `value`.
Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu());
/// [start, stop) with `step`: shape [ceil((stop-start)/step)].
Tensor arange(double start, double stop, double step = 1, DType dtype = DType::i64,
              Device device = Device::cpu());
Tensor arange(int64_t n, DType dtype = DType::i64, Device device = Device::cpu());
/// Copies host data of `dtype` (numel(shape) elements) into a new tensor.
Tensor from_data(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());
/// Copies a host vector into a tensor of `shape` (its dtype from T, or converted to `dtype`).
template <class T>
Tensor from_vector(const std::vector<T>& v, const Shape& shape);
template <class T>
Tensor from_vector(const std::vector<T>& v, const Shape& shape, DType dtype);
/// Samples from N(mean, std^2); uses `gen` or the default generator, which advances by the
/// draws at once (the numbers themselves are computed lazily on `device` from the key).
Tensor random_normal(const Shape& shape, DType dtype = DType::f32, double mean = 0, double std = 1,
                     Generator* gen = nullptr, Device device = Device::cpu());
/// Samples from U[lo, hi).
Tensor random_uniform(const Shape& shape, DType dtype = DType::f32, double lo = 0, double hi = 1,
                      Generator* gen = nullptr, Device device = Device::cpu());
/// The key of the next `draws` numbers of `gen` (an i64 [2] host tensor: seed, first counter),
/// advancing it: the input of random primitives.
Tensor random_key(Generator& gen, int64_t draws);

}  // namespace wick
