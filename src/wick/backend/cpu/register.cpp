// The CPU backend: its allocator, host copies, and one kernel per primitive kind (the table the
// engine dispatches through). Kernels read their primitive's parameters from its public class
// (ops/primitives.h); the kernel bodies live in this folder, one file per op family.
#include <cstring>

#include "wick/backend/cpu/attention.h"
#include "wick/backend/cpu/copy.h"
#include "wick/backend/cpu/cpu_backend.h"
#include "wick/backend/cpu/creation.h"
#include "wick/backend/cpu/elementwise.h"
#include "wick/backend/cpu/indexing.h"
#include "wick/backend/cpu/linear_cross_entropy.h"
#include "wick/backend/cpu/loss.h"
#include "wick/backend/cpu/matmul.h"
#include "wick/backend/cpu/norm.h"
#include "wick/backend/cpu/reduce.h"
#include "wick/backend/cpu/rope.h"
#include "wick/backend/cpu/softmax.h"
#include "wick/core/backend.h"
#include "wick/ops/primitives.h"

namespace wick {

namespace detail {
Allocator& cpu_allocator();
}  // namespace detail

namespace cpu {

namespace {

using K = PrimitiveKind;
using Ins = std::vector<Tensor>;
template <class P>
const P& as(const Primitive& p) {
  return static_cast<const P&>(p);
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  int device_count() const override { return 1; }
  Allocator& allocator(int) override { return detail::cpu_allocator(); }
  void synchronize(int) override {}
  bool host_accessible() const override { return true; }
  void copy_from_host(const void* src, Buffer& dst, size_t offset, size_t nbytes) override {
    if (nbytes) std::memcpy(static_cast<char*>(dst.data()) + offset, src, nbytes);
  }
  void copy_to_host(const Buffer& src, size_t offset, void* dst, size_t nbytes) override {
    if (nbytes) std::memcpy(dst, static_cast<const char*>(src.data()) + offset, nbytes);
  }
};

void register_elementwise(Backend& b) {
  for (K k : {K::neg,    K::abs,   K::exp,     K::log,  K::sqrt,        K::rsqrt, K::sin,
              K::cos,    K::tanh,  K::sigmoid, K::relu, K::silu,        K::gelu,  K::gelu_tanh,
              K::square, K::log1p, K::expm1,   K::sign, K::logical_not, K::erf})
    b.register_kernel(k, [](const Primitive& p, const Ins& in, const Ins& out) {
      unary(as<prims::Unary>(p).op, in[0], out[0]);
    });
  for (K k :
       {K::add, K::sub, K::mul, K::div, K::maximum, K::minimum, K::pow, K::equal, K::not_equal,
        K::less, K::less_equal, K::greater, K::greater_equal, K::logical_and, K::logical_or})
    b.register_kernel(k, [](const Primitive& p, const Ins& in, const Ins& out) {
      binary(as<prims::Binary>(p).op, in[0], in[1], out[0]);
    });
  b.register_kernel(K::pow_scalar, [](const Primitive& p, const Ins& in, const Ins& out) {
    pow_scalar(in[0], as<prims::PowScalar>(p).p, out[0]);
  });
  b.register_kernel(K::clamp, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& c = as<prims::Clamp>(p);
    clamp(in[0], c.lo, c.hi, out[0]);
  });
  b.register_kernel(K::where, [](const Primitive&, const Ins& in, const Ins& out) {
    where(in[0], in[1], in[2], out[0]);
  });
}

void register_creation(Backend& b) {
  b.register_kernel(K::full, [](const Primitive& p, const Ins&, const Ins& out) {
    full(as<prims::Full>(p).value, out[0]);
  });
  b.register_kernel(K::arange, [](const Primitive& p, const Ins&, const Ins& out) {
    const auto& a = as<prims::Arange>(p);
    arange(a.start, a.step, out[0]);
  });
  for (K k : {K::random_normal, K::random_uniform})
    b.register_kernel(k, [](const Primitive& p, const Ins& in, const Ins& out) {
      const auto& r = as<prims::Random>(p);
      random(r.dist == prims::Distribution::normal, r.a, r.b, in[0], out[0]);
    });
  b.register_kernel(K::dropout, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& d = as<prims::Dropout>(p);
    dropout_keyed(in[0], in[1], d.p, d.scale, out[0]);
  });
}

void register_copies(Backend& b) {
  for (K k : {K::contiguous, K::astype})
    b.register_kernel(
        k, [](const Primitive&, const Ins& in, const Ins& out) { copy_cast(in[0], out[0]); });
  b.register_kernel(K::slice_scatter, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& s = as<prims::SliceScatter>(p);
    const Tensor& o = out[0];
    o.alloc_contiguous();
    if (o.nbytes()) std::memset(o.raw_data(), 0, o.nbytes());  // zero bits are 0 in every dtype
    Strides st = o.strides();
    const int64_t off = s.start * st[size_t(s.axis)];
    st[size_t(s.axis)] *= s.step;
    copy_into(in[0], o, st, off);
  });
  b.register_kernel(K::kv_cache_write, [](const Primitive&, const Ins& in, const Ins& out) {
    const Tensor &cache = in[0], &x = in[1];
    const int64_t offset = in[2].item<int64_t>();
    if (offset < 0 || offset + x.shape(2) > cache.shape(2))
      fail<ShapeError>("kv_cache_write", "positions [{}, {}) outside the cache's {} slots", offset,
                       offset + x.shape(2), cache.shape(2));
    const Strides& cs = cache.strides();
    copy_into(x, out[0], cs, offset * cs[2]);  // out aliases the cache
  });
}

void register_reductions(Backend& b) {
  b.register_kernel(K::sum, [](const Primitive& p, const Ins& in, const Ins& out) {
    reduce(ReduceKind::sum, in[0], as<prims::Reduce>(p).axes, out[0]);
  });
  b.register_kernel(K::max, [](const Primitive& p, const Ins& in, const Ins& out) {
    reduce(ReduceKind::max, in[0], as<prims::Reduce>(p).axes, out[0]);
  });
  b.register_kernel(K::min, [](const Primitive& p, const Ins& in, const Ins& out) {
    reduce(ReduceKind::min, in[0], as<prims::Reduce>(p).axes, out[0]);
  });
  b.register_kernel(K::argmax, [](const Primitive& p, const Ins& in, const Ins& out) {
    argmax(in[0], as<prims::ArgMax>(p).axis, out[0]);
  });
  b.register_kernel(K::softmax, [](const Primitive& p, const Ins& in, const Ins& out) {
    softmax(SoftmaxKind::softmax, in[0], as<prims::Softmax>(p).axis, out[0]);
  });
  b.register_kernel(K::log_softmax, [](const Primitive& p, const Ins& in, const Ins& out) {
    softmax(SoftmaxKind::log_softmax, in[0], as<prims::Softmax>(p).axis, out[0]);
  });
}

void register_layers(Backend& b) {
  b.register_kernel(K::rms_norm, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& n = as<prims::RmsNorm>(p);
    rms_norm(in[0], n.has_weight ? &in[1] : nullptr, n.eps, out[0]);
  });
  b.register_kernel(K::layer_norm, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& n = as<prims::LayerNorm>(p);
    const Tensor* w = n.has_weight ? &in[1] : nullptr;
    const Tensor* bias = n.has_bias ? &in[n.has_weight ? 2 : 1] : nullptr;
    layer_norm(in[0], w, bias, n.eps, out[0]);
  });
  b.register_kernel(K::rope, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& r = as<prims::Rope>(p);
    rope(in[0], in[1], r.has_positions ? &in[2] : nullptr, r.offset, r.layout, r.inverse, out[0]);
  });
  b.register_kernel(K::cached_attention, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& a = as<prims::CachedAttention>(p);
    cached_attention(in[0], in[1], in[2], in[3].item<int64_t>(), a.scale, a.window, out[0]);
  });
  b.register_kernel(K::matmul, [](const Primitive&, const Ins& in, const Ins& out) {
    matmul(in[0], in[1], out[0]);
  });
}

void register_indexing(Backend& b) {
  b.register_kernel(K::take, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& t = as<prims::Take>(p);
    take(in[0], in[1], t.axis, out[0], t.op);
  });
  b.register_kernel(K::take_along_axis, [](const Primitive& p, const Ins& in, const Ins& out) {
    take_along_axis(in[0], in[1], as<prims::TakeAlongAxis>(p).axis, out[0]);
  });
  b.register_kernel(K::scatter_add, [](const Primitive& p, const Ins& in, const Ins& out) {
    scatter_add(in[0], in[1], in[2], as<prims::ScatterAdd>(p).axis, out[0]);
  });
  b.register_kernel(K::concat, [](const Primitive& p, const Ins& in, const Ins& out) {
    concat(in, as<prims::Concat>(p).axis, out[0]);
  });
  b.register_kernel(K::stack, [](const Primitive& p, const Ins& in, const Ins& out) {
    stack(in, as<prims::Concat>(p).axis, out[0]);
  });
  for (K k : {K::tril, K::triu})
    b.register_kernel(k, [](const Primitive& p, const Ins& in, const Ins& out) {
      const auto& t = as<prims::Tri>(p);
      tri(in[0], t.k, t.upper, out[0]);
    });
}

void register_losses(Backend& b) {
  b.register_kernel(K::cross_entropy, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& c = as<prims::CrossEntropy>(p);
    cross_entropy(in[0], in[1], c.ignore, c.reduction, out[0]);
  });
  b.register_kernel(K::cross_entropy_grad, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& c = as<prims::CrossEntropyGrad>(p);
    cross_entropy_grad(in[0], in[1], in[2], c.ignore, c.reduction, out[0]);
  });
  b.register_kernel(K::linear_cross_entropy, [](const Primitive& p, const Ins& in, const Ins& out) {
    const auto& c = as<prims::LinearCrossEntropy>(p);
    linear_cross_entropy(in[0], in[1], in[2], c.ignore, c.chunk, out[0]);
  });
  b.register_kernel(
      K::linear_cross_entropy_grad, [](const Primitive& p, const Ins& in, const Ins& out) {
        const auto& c = as<prims::LinearCrossEntropyGrad>(p);
        using Wrt = prims::LinearCrossEntropyGrad::Wrt;
        const Tensor* gh = c.wrt == Wrt::weight ? nullptr : &out[0];
        const Tensor* gw = c.wrt == Wrt::hidden ? nullptr : &out[c.wrt == Wrt::weight ? 0 : 1];
        linear_cross_entropy_grad(in[0], in[1], in[2], in[3], c.ignore, c.chunk, gh, gw);
      });
}

}  // namespace

void register_kernels(Backend& b) {
  register_elementwise(b);
  register_creation(b);
  register_copies(b);
  register_reductions(b);
  register_layers(b);
  register_indexing(b);
  register_losses(b);
}

std::unique_ptr<Backend> make_backend() {
  auto b = std::make_unique<CpuBackend>();
  register_kernels(*b);
  return b;
}

}  // namespace cpu

}  // namespace wick
