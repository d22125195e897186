// Copies, casts, slice_scatter, kv_cache_write and creation kernels: the Tensor side.
#include "wick/backend/cuda/register.h"
#include "wick/backend/cuda/register_common.h"
#include "wick/ops/primitives.h"

namespace wick::cuda {

namespace {

char* byte_ptr(const Tensor& t) { return static_cast<char*>(t.buffer()->data()); }

// Copies x (any layout) into `dst_base` (elements of dst's dtype) at element offset `off`, laid
// out by `dst_strides` over x's shape. False when the layout has too many axes.
bool copy_into(const Tensor& x, const Tensor& dst, const Strides& dst_strides, int64_t off) {
  auto d = describe_strides({&x.strides(), &dst_strides}, x.shape());
  if (!d) return false;
  char* base = byte_ptr(dst) + (dst.offset() + off) * int64_t(size_of(dst.dtype()));
  launch_copy_cast(x.dtype(), dst.dtype(), dptr(x), (*d)[0], base, (*d)[1], x.numel(),
                   stream_of(dst));
  check_launch("copy");
  return true;
}

void k_copy_cast(const Primitive& p, const Ins& in, const Ins& out) {
  const Tensor& x = in[0];
  const Tensor& o = out[0];
  o.alloc_contiguous();
  // Walk x's shape; out may have another shape with the same row-major order (reshape).
  if (!copy_into(x, o, contiguous_strides(x.shape()), 0)) host_fallback(p, in, out);
}

void k_slice_scatter(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& s = prim_as<prims::SliceScatter>(p);
  const Tensor& o = out[0];
  o.alloc_contiguous();
  launch_fill(o.dtype(), 0.0, dptr_mut(o), o.numel(), stream_of(o));
  Strides st = o.strides();
  const int64_t off = s.start * st[size_t(s.axis)];
  st[size_t(s.axis)] *= s.step;
  if (!copy_into(in[0], o, st, off)) host_fallback(p, in, out);
}

void k_kv_cache_write(const Primitive& p, const Ins& in, const Ins& out) {
  const Tensor &cache = in[0], &x = in[1], &offset = in[2];
  if (offset.dtype() != DType::i64 || cache.dtype() != x.dtype()) return host_fallback(p, in, out);
  const Strides& cs = cache.strides();
  auto d = describe_strides({&x.strides(), &cs}, x.shape());
  if (!d) return host_fallback(p, in, out);
  // out[0] shares the cache's buffer (the engine set it); write at the buffer's start like the CPU.
  launch_copy_at_offset(x.dtype(), dptr(x), (*d)[0], byte_ptr(out[0]), (*d)[1],
                        static_cast<const int64_t*>(dptr(offset)), cs[2], x.shape(2),
                        cache.shape(2), error_flag(x), x.numel(), stream_of(x));
  check_launch("kv_cache_write");
}

void k_full(const Primitive& p, const Ins&, const Ins& out) {
  out[0].alloc_contiguous();
  launch_fill(out[0].dtype(), prim_as<prims::Full>(p).value, dptr_mut(out[0]), out[0].numel(),
              stream_of(out[0]));
  check_launch("full");
}

void k_arange(const Primitive& p, const Ins&, const Ins& out) {
  const auto& a = prim_as<prims::Arange>(p);
  out[0].alloc_contiguous();
  launch_arange(out[0].dtype(), a.start, a.step, dptr_mut(out[0]), out[0].numel(),
                stream_of(out[0]));
  check_launch("arange");
}

void k_random(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& r = prim_as<prims::Random>(p);
  const Tensor key = contiguous_on_device(in[0]);
  out[0].alloc_contiguous();
  launch_random(r.dist == prims::Distribution::normal, r.a, r.b,
                static_cast<const int64_t*>(dptr(key)), out[0].dtype(), dptr_mut(out[0]),
                out[0].numel(), stream_of(out[0]));
  check_launch("random");
}

void k_dropout(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& d = prim_as<prims::Dropout>(p);
  const Tensor x = contiguous_on_device(in[0]);
  const Tensor key = contiguous_on_device(in[1]);
  out[0].alloc_contiguous();
  launch_dropout(x.dtype(), dptr(x), static_cast<const int64_t*>(dptr(key)), d.p, d.scale,
                 dptr_mut(out[0]), x.numel(), stream_of(x));
  check_launch("dropout");
}

void k_tri(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& t = prim_as<prims::Tri>(p);
  const Tensor x = contiguous_on_device(in[0]);
  out[0].alloc_contiguous();
  const int64_t rows = x.shape(-2), cols = x.shape(-1);
  const int64_t batch = (rows > 0 && cols > 0) ? x.numel() / (rows * cols) : 0;
  launch_tri(x.dtype(), dptr(x), batch, rows, cols, t.k, t.upper, dptr_mut(out[0]), stream_of(x));
  check_launch("tri");
}

void k_concat(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& c = prim_as<prims::Concat>(p);
  const Tensor& o = out[0];
  o.alloc_contiguous();
  const size_t axis = size_t(c.axis);
  if (!c.new_axis) {
    int64_t start = 0;
    for (const auto& x : in) {
      if (x.numel() > 0 && !copy_into(x, o, o.strides(), start * o.strides()[axis]))
        return host_fallback(p, in, out);
      start += x.shape()[axis];
    }
    return;
  }
  Strides st = o.strides();
  const int64_t step = st[axis];
  st.erase(st.begin() + c.axis);
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k].numel() > 0 && !copy_into(in[k], o, st, int64_t(k) * step))
      return host_fallback(p, in, out);
}

}  // namespace

void register_copies(Backend& b) {
  b.register_kernel(K::contiguous, k_copy_cast);
  b.register_kernel(K::astype, k_copy_cast);
  b.register_kernel(K::slice_scatter, k_slice_scatter);
  b.register_kernel(K::kv_cache_write, k_kv_cache_write);
  b.register_kernel(K::full, k_full);
  b.register_kernel(K::arange, k_arange);
  b.register_kernel(K::random_normal, k_random);
  b.register_kernel(K::random_uniform, k_random);
  b.register_kernel(K::dropout, k_dropout);
  b.register_kernel(K::tril, k_tri);
  b.register_kernel(K::triu, k_tri);
  b.register_kernel(K::concat, k_concat);
  b.register_kernel(K::stack, k_concat);
}

}  // namespace wick::cuda
