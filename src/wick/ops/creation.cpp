#include "wick/ops/creation.h"

#include <cmath>
#include <cstring>

#include "wick/core/backend.h"
#include "wick/core/dtype_dispatch.h"
#include "wick/ops/primitives.h"
#include "wick/ops/views.h"

namespace wick {

namespace {
void check_shape(const Shape& shape, const char* op) {
  for (auto d : shape)
    if (d < 0) fail<ShapeError>(op, "negative dimension in shape {}", shape_str(shape));
}

// A host tensor holding `data` (row-major, `dtype`), copied to `device`.
Tensor host_tensor(const void* data, const Shape& shape, DType dtype, Device device,
                   const char* op) {
  check_shape(shape, op);
  auto buf = allocator_for(Device::cpu()).allocate(size_t(numel_of(shape)) * size_of(dtype));
  Tensor t = Tensor::from_buffer(std::move(buf), shape, dtype);
  if (t.nbytes()) std::memcpy(t.raw_data(), data, t.nbytes());
  return device.type == DeviceType::cpu ? t : t.to(device);
}

}  // namespace

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  check_shape(shape, "full");
  return Tensor::make(shape, dtype, device, std::make_shared<prims::Full>(value), {});
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

Tensor arange(double start, double stop, double step, DType dtype, Device device) {
  if (step == 0) fail<ValueError>("arange", "step must be non-zero");
  double n = std::ceil((stop - start) / step);
  int64_t count = n > 0 ? int64_t(n) : 0;
  return Tensor::make({count}, dtype, device, std::make_shared<prims::Arange>(start, step), {});
}
Tensor arange(int64_t n, DType dtype, Device device) {
  return arange(0, double(n), 1, dtype, device);
}

Tensor from_data(const void* data, const Shape& shape, DType dtype, Device device) {
  return host_tensor(data, shape, dtype, device, "from_data");
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
  check_shape(shape, "from_vector");
  auto buf = allocator_for(Device::cpu()).allocate(v.size() * size_of(dtype));
  dispatch_all(dtype, "from_vector", [&](auto tag) {
    using S = decltype(tag);
    S* p = static_cast<S*>(buf->data());
    for (size_t i = 0; i < v.size(); ++i) p[i] = saturate_cast<S>(double(v[i]));
  });
  return Tensor::from_buffer(std::move(buf), shape, dtype);
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, DType);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, DType);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, DType);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, DType);

Tensor random_key(Generator& gen, int64_t draws) {
  const uint64_t seed = gen.seed(), c0 = gen.counter();
  gen.set_state(seed, c0 + uint64_t(draws));
  // The key's two u64 words stored as i64 (bit-identical).
  std::vector<int64_t> k = {int64_t(seed), int64_t(c0)};
  return from_data(k.data(), {2}, DType::i64);
}

Tensor random_normal(const Shape& shape, DType dtype, double mean, double std, Generator* gen,
                     Device device) {
  if (!is_floating(dtype))
    fail<DtypeError>("random_normal", "expected a float dtype, got {}", dtype_name(dtype));
  check_shape(shape, "random_normal");
  Generator& g = gen ? *gen : default_generator();
  Tensor key = random_key(g, 2 * numel_of(shape)).to(device);
  return Tensor::make(shape, dtype, device,
                      std::make_shared<prims::Random>(prims::Distribution::normal, mean, std),
                      {key});
}

Tensor random_uniform(const Shape& shape, DType dtype, double lo, double hi, Generator* gen,
                      Device device) {
  if (!is_floating(dtype))
    fail<DtypeError>("random_uniform", "expected a float dtype, got {}", dtype_name(dtype));
  check_shape(shape, "random_uniform");
  Generator& g = gen ? *gen : default_generator();
  Tensor key = random_key(g, numel_of(shape)).to(device);
  return Tensor::make(shape, dtype, device,
                      std::make_shared<prims::Random>(prims::Distribution::uniform, lo, hi), {key});
}

}  // namespace wick

namespace wick {

namespace prims {

void ToDevice::eval_generic(const Inputs& in, const std::vector<Tensor>& outs) {
  const Tensor& out = outs[0];
  Tensor x = in[0];
  if (!x.is_contiguous() || x.offset() != 0) {
    EagerMode lazy(false);
    x = contiguous(x);
    x.eval();
  }
  out.alloc_contiguous();
  const size_t n = out.nbytes();
  if (n == 0) return;
  Backend& src = backend_for(x.device().type);
  Backend& dst = backend_for(out.device().type);
  if (dst.host_accessible()) {
    src.copy_to_host(*x.buffer(), 0, out.buffer()->data(), n);
  } else if (src.host_accessible()) {
    dst.copy_from_host(x.buffer()->data(), *out.buffer(), 0, n);
  } else {
    std::vector<char> staging(n);
    src.copy_to_host(*x.buffer(), 0, staging.data(), n);
    dst.copy_from_host(staging.data(), *out.buffer(), 0, n);
  }
}

std::vector<Tensor> ToDevice::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  return {g.to(in[0].device())};
}

}  // namespace prims

Tensor Tensor::to(Device device) const {
  if (this->device() == device) return *this;
  backend_for(device.type).allocator(device.index);  // a clear error for a device not present
  return Tensor::make(shape(), dtype(), device, std::make_shared<prims::ToDevice>(), {*this});
}

}  // namespace wick
