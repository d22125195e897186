#include "wick/backend/cpu/copy.h"

#include <cstring>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {
// Float -> integer casts saturate and send NaN to 0 (a bare static_cast is undefined there).
template <class S, class D>
D cast_one(S v) {
  using CS = typename Compute<S>::type;
  CS c = Compute<S>::load(v);
  if constexpr (std::is_same_v<D, bf16>) {
    return to_bf16(float(c));
  } else if constexpr (std::is_same_v<D, f16>) {
    return to_f16(float(c));
  } else if constexpr (std::is_same_v<D, bool>) {
    return c != CS(0);
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<CS>) {
    return saturate_cast<D>(double(c));
  } else {
    return static_cast<D>(c);
  }
}

template <class S, class D>
void copy_typed(const Tensor& in, D* out_base, const Strides& out_strides, int64_t out_off) {
  const S* ip = in.data<S>();
  if constexpr (std::is_same_v<S, D>) {
    if (in.is_contiguous() && out_strides == contiguous_strides(in.shape())) {
      std::memcpy(out_base + out_off, ip, in.nbytes());
      return;
    }
  }
  strided_runs<2>(
      in.shape(), {in.strides(), out_strides},
      [&](const std::array<int64_t, 2>& off, int64_t len, const std::array<int64_t, 2>& st) {
        const S* a = ip + off[0];
        D* o = out_base + out_off + off[1];
        for (int64_t i = 0; i < len; ++i) o[i * st[1]] = cast_one<S, D>(a[i * st[0]]);
      });
}
}  // namespace

void copy_cast(const Tensor& in, const Tensor& out) {
  out.alloc_contiguous();
  // Walk `in`'s shape: `out` may have another shape with the same row-major order (reshape).
  copy_into(in, out, contiguous_strides(in.shape()), 0);
}

void copy_into(const Tensor& src, const Tensor& dst, const Strides& dst_strides,
               int64_t dst_offset) {
  dispatch_all(src.dtype(), "copy", [&](auto s) {
    using S = decltype(s);
    dispatch_all(dst.dtype(), "copy", [&](auto d) {
      using D = decltype(d);
      copy_typed<S, D>(src, static_cast<D*>(dst.buffer()->data()) + dst.offset(), dst_strides,
                       dst_offset);
    });
  });
}

}  // namespace wick::cpu
