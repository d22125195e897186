// The elementwise family's Tensor side: operand descriptors over the output's shape, then one
// launch. Layouts beyond kMaxDims axes after merging, or dtypes without a CUDA kernel, run the
// host fallback.
#include "wick/backend/cuda/register.h"
#include "wick/backend/cuda/register_common.h"
#include "wick/ops/primitives.h"

namespace wick::cuda {

namespace {

// Descriptors of `ins` read over out's shape (out itself is row-major).
std::optional<std::vector<Strided>> operands(const Ins& ins, const Tensor& out) {
  std::vector<const Tensor*> ts;
  for (const auto& t : ins) ts.push_back(&t);
  ts.push_back(&out);
  return describe_together(ts, out.shape());
}

void ew_unary(const Primitive& p, const Ins& in, const Ins& out) {
  const int op = int(prim_as<prims::Unary>(p).op);
  const Tensor& x = in[0];
  if (!unary_supported(op, x.dtype())) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  auto d = operands(in, out[0]);
  if (!d) return host_fallback(p, in, out);
  launch_unary(op, x.dtype(), dptr(x), (*d)[0], dptr_mut(out[0]), out[0].numel(), stream_of(x));
  check_launch("unary");
}

void ew_binary(const Primitive& p, const Ins& in, const Ins& out) {
  const int op = int(prim_as<prims::Binary>(p).op);
  if (!binary_supported(op, in[0].dtype(), out[0].dtype())) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  auto d = operands(in, out[0]);
  if (!d) return host_fallback(p, in, out);
  launch_binary(op, in[0].dtype(), out[0].dtype(), dptr(in[0]), (*d)[0], dptr(in[1]), (*d)[1],
                dptr_mut(out[0]), out[0].numel(), stream_of(in[0]));
  check_launch("binary");
}

bool float_dtype(DType dt) {
  return dt == DType::f32 || dt == DType::f64 || dt == DType::bf16 || dt == DType::f16;
}

void ew_pow_scalar(const Primitive& p, const Ins& in, const Ins& out) {
  if (!float_dtype(in[0].dtype())) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  auto d = operands(in, out[0]);
  if (!d) return host_fallback(p, in, out);
  launch_pow_scalar(in[0].dtype(), dptr(in[0]), (*d)[0], prim_as<prims::PowScalar>(p).p,
                    dptr_mut(out[0]), out[0].numel(), stream_of(in[0]));
  check_launch("pow_scalar");
}

void ew_clamp(const Primitive& p, const Ins& in, const Ins& out) {
  if (!float_dtype(in[0].dtype())) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  auto d = operands(in, out[0]);
  if (!d) return host_fallback(p, in, out);
  const auto& c = prim_as<prims::Clamp>(p);
  launch_clamp(in[0].dtype(), dptr(in[0]), (*d)[0], c.lo, c.hi, dptr_mut(out[0]), out[0].numel(),
               stream_of(in[0]));
  check_launch("clamp");
}

void ew_where(const Primitive& p, const Ins& in, const Ins& out) {
  if (in[0].dtype() != DType::boolean) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  auto d = operands(in, out[0]);
  if (!d) return host_fallback(p, in, out);
  launch_where(out[0].dtype(), dptr(in[0]), (*d)[0], dptr(in[1]), (*d)[1], dptr(in[2]), (*d)[2],
               dptr_mut(out[0]), out[0].numel(), stream_of(in[0]));
  check_launch("where");
}

}  // namespace

void register_elementwise(Backend& b) {
  for (K k : {K::neg,    K::abs,   K::exp,     K::log,  K::sqrt,        K::rsqrt, K::sin,
              K::cos,    K::tanh,  K::sigmoid, K::relu, K::silu,        K::gelu,  K::gelu_tanh,
              K::square, K::log1p, K::expm1,   K::sign, K::logical_not, K::erf})
    b.register_kernel(k, ew_unary);
  for (K k :
       {K::add, K::sub, K::mul, K::div, K::maximum, K::minimum, K::pow, K::equal, K::not_equal,
        K::less, K::less_equal, K::greater, K::greater_equal, K::logical_and, K::logical_or})
    b.register_kernel(k, ew_binary);
  b.register_kernel(K::pow_scalar, ew_pow_scalar);
  b.register_kernel(K::clamp, ew_clamp);
  b.register_kernel(K::where, ew_where);
}

}  // namespace wick::cuda
