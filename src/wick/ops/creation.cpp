#include "wick/ops/creation.h"

#include <cmath>
#include <cstring>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick {

namespace {
Tensor empty_cpu(const Shape& shape, DType dtype, Device device, const char* op) {
  if (device.type != DeviceType::cpu)
    fail<NotImplemented>(op, "creating tensors on {} is not supported in this build",
                         device_name(device));
  for (auto d : shape)
    if (d < 0) fail<ShapeError>(op, "negative dimension in shape {}", shape_str(shape));
  auto buf = allocator_for(device).allocate(size_t(numel_of(shape)) * size_of(dtype));
  return Tensor::from_buffer(std::move(buf), shape, dtype);
}

template <class T>
T convert(double v) {
  return cpu::saturate_cast<T>(v);
}

template <class Fn>
Tensor fill_with(const Shape& shape, DType dtype, Device device, const char* op, Fn&& value_at) {
  Tensor t = empty_cpu(shape, dtype, device, op);
  int64_t n = t.numel();
  cpu::dispatch_all(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = convert<T>(value_at(i));
  });
  return t;
}
}  // namespace

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty_cpu(shape, dtype, device, "full");
  cpu::dispatch_all(dtype, "full", [&](auto tag) {
    using T = decltype(tag);
    T v = convert<T>(value);
    T* p = t.data<T>();
    cpu::parallel_for(t.numel(), cpu::kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = v;
    });
  });
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0, dtype, device);
}
Tensor ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1, dtype, device);
}
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double v) { return full(t.shape(), v, t.dtype(), t.device()); }
Tensor scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0) fail<ValueError>("arange", "step must be non-zero");
  double n = std::ceil((stop - start) / step);
  int64_t count = n > 0 ? int64_t(n) : 0;
  return fill_with({count}, dtype, Device::cpu(), "arange",
                   [&](int64_t i) { return start + double(i) * step; });
}
Tensor arange(int64_t n, DType dtype) { return arange(0, double(n), 1, dtype); }

Tensor from_data(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = empty_cpu(shape, dtype, device, "from_data");
  if (t.nbytes()) std::memcpy(t.raw_data(), data, t.nbytes());
  return t;
}

template <class T>
Tensor from_vector(const std::vector<T>& v, const Shape& shape) {
  if (int64_t(v.size()) != numel_of(shape))
    fail<ShapeError>("from_vector", "{} values do not fill shape {}", v.size(), shape_str(shape));
  return from_data(v.data(), shape, dtype_of<T>());
}
template <class T>
Tensor from_vector(const std::vector<T>& v, const Shape& shape, DType dtype) {
  if (int64_t(v.size()) != numel_of(shape))
    fail<ShapeError>("from_vector", "{} values do not fill shape {}", v.size(), shape_str(shape));
  if (dtype == dtype_of<T>()) return from_data(v.data(), shape, dtype);  // exact (i64 > 2^53)
  return fill_with(shape, dtype, Device::cpu(), "from_vector",
                   [&](int64_t i) { return double(v[size_t(i)]); });
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, DType);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, DType);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, DType);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, DType);

Tensor random_normal(const Shape& shape, DType dtype, double mean, double std, Generator* gen) {
  if (!is_floating(dtype))
    fail<DtypeError>("random_normal", "expected a float dtype, got {}", dtype_name(dtype));
  Generator& g = gen ? *gen : default_generator();
  return fill_with(shape, dtype, Device::cpu(), "random_normal",
                   [&](int64_t) { return mean + std * g.next_normal(); });
}

Tensor random_uniform(const Shape& shape, DType dtype, double lo, double hi, Generator* gen) {
  if (!is_floating(dtype))
    fail<DtypeError>("random_uniform", "expected a float dtype, got {}", dtype_name(dtype));
  Generator& g = gen ? *gen : default_generator();
  return fill_with(shape, dtype, Device::cpu(), "random_uniform",
                   [&](int64_t) { return lo + (hi - lo) * g.next_double(); });
}

}  // namespace wick
