// Gathers and scatter-adds: the Tensor side.
#include "wick/backend/cuda/register.h"
#include "wick/backend/cuda/register_common.h"
#include "wick/ops/primitives.h"

namespace wick::cuda {

namespace {

bool index_dtype(DType d) { return d == DType::i32 || d == DType::i64; }

int64_t product(const Shape& s, size_t b, size_t e) {
  int64_t n = 1;
  for (size_t i = b; i < e; ++i) n *= s[i];
  return n;
}

void k_take(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& t = prim_as<prims::Take>(p);
  if (!index_dtype(in[1].dtype())) return host_fallback(p, in, out);
  const Tensor x = contiguous_on_device(in[0]);
  const Tensor idx = contiguous_on_device(in[1]);
  out[0].alloc_contiguous();
  const size_t a = size_t(t.axis);
  const Shape& xs = x.shape();
  launch_take(x.dtype(), dptr(x), product(xs, 0, a), xs[a], product(xs, a + 1, xs.size()),
              idx.dtype(), dptr(idx), idx.numel(), dptr_mut(out[0]), error_flag(x), stream_of(x));
  check_launch("take");
}

// The index space of idx with the strides of `x` (the indexed tensor), idx and src.
std::optional<Coords> coords(const Tensor& idx, const Strides& xs, const Strides* ss, int axis) {
  if (idx.ndim() > kMaxDims) return std::nullopt;
  Coords c;
  c.ndim = idx.ndim();
  c.axis = axis;
  for (int d = 0; d < c.ndim; ++d) {
    c.shape[d] = idx.shape()[size_t(d)];
    c.x_stride[d] = xs[size_t(d)];
    c.i_stride[d] = idx.strides()[size_t(d)];
    c.s_stride[d] = ss ? (*ss)[size_t(d)] : 0;
  }
  return c;
}

void k_take_along_axis(const Primitive& p, const Ins& in, const Ins& out) {
  const int axis = prim_as<prims::TakeAlongAxis>(p).axis;
  const Tensor &x = in[0], &idx = in[1];
  auto c = coords(idx, x.strides(), nullptr, axis);
  if (!index_dtype(idx.dtype()) || !c) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  launch_take_along_axis(x.dtype(), dptr(x), idx.dtype(), dptr(idx), *c, x.shape()[size_t(axis)],
                         dptr_mut(out[0]), error_flag(x), stream_of(x));
  check_launch("take_along_axis");
}

void k_scatter_add(const Primitive& p, const Ins& in, const Ins& out) {
  const int axis = prim_as<prims::ScatterAdd>(p).axis;
  const Tensor &base = in[0], &idx = in[1], &src = in[2];
  const DType dt = base.dtype();
  const bool f16ish = dt == DType::bf16 || dt == DType::f16;
  if (!index_dtype(idx.dtype()) || !is_floating(dt) || src.dtype() != dt)
    return host_fallback(p, in, out);
  const Strides acc_strides = contiguous_strides(base.shape());
  auto c = coords(idx, acc_strides, &src.strides(), axis);
  if (!c) return host_fallback(p, in, out);
  const Tensor& o = out[0];
  o.alloc_contiguous();
  cudaStream_t s = stream_of(base);
  auto all = describe(base);
  if (!all) return host_fallback(p, in, out);
  const int64_t n = base.numel();
  if (!f16ish) {
    launch_copy_cast(dt, dt, dptr(base), *all, dptr_mut(o), flat(n), n, s);
    launch_scatter_add(dt, dptr(src), idx.dtype(), dptr(idx), *c, base.shape()[size_t(axis)],
                       dptr_mut(o), false, error_flag(base), s);
  } else {
    // 16-bit floats: add in an f32 copy so repeated indices do not round at every step.
    auto acc = allocator_for(base.device()).allocate(size_t(n) * 4);
    launch_copy_cast(dt, DType::f32, dptr(base), *all, acc->data(), flat(n), n, s);
    launch_scatter_add(dt, dptr(src), idx.dtype(), dptr(idx), *c, base.shape()[size_t(axis)],
                       acc->data(), true, error_flag(base), s);
    launch_copy_cast(DType::f32, dt, acc->data(), flat(n), dptr_mut(o), flat(n), n, s);
  }
  check_launch("scatter_add");
}

}  // namespace

void register_indexing(Backend& b) {
  b.register_kernel(K::take, k_take);
  b.register_kernel(K::take_along_axis, k_take_along_axis);
  b.register_kernel(K::scatter_add, k_scatter_add);
}

}  // namespace wick::cuda
