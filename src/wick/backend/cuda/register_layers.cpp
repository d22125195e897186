// The layers family's Tensor side: reductions, argmax, softmax, norms, rope, cross-entropy,
// linear cross-entropy and cached attention. Each kernel reads its primitive's parameters, checks
// the dtypes and layouts its launcher takes (anything else, f64 included, runs the CPU kernel
// through host_fallback), allocates the outputs and enqueues on the input's stream. Nothing here
// synchronises or reads device memory: bad targets and a bad attention length raise through the
// device error flag at the next synchronisation.
#include <algorithm>

#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/register.h"
#include "wick/backend/cuda/register_common.h"
#include "wick/ops/primitives.h"

namespace wick::cuda {

static_assert(kLayersErrTarget == kErrTarget, "layers.h's target error code must match runtime.h");

namespace {

bool layer_float(DType dt) { return dt == DType::f32 || dt == DType::bf16 || dt == DType::f16; }
bool layer_index(DType dt) { return dt == DType::i32 || dt == DType::i64; }
// Kernels read every operand through a device pointer: all on x's device.
bool layer_same_device(const Ins& in) {
  for (const auto& t : in)
    if (t.device() != in[0].device()) return false;
  return true;
}

// A tensor's index space split into kept axes (the output rows, row-major over them) and
// selected axes (the elements of a row, row-major over them): one descriptor each, size-1 axes
// dropped and axes of one group merged where their strides allow (two axes of a group merge when
// the outer stride equals the inner stride times the inner size, adjacent in x or not, since
// each group's index space is row-major over its own axes).
struct LayerSplit {
  Strided kept, sel;
  int64_t rows = 1, n = 1;
};

bool layer_push_axis(Strided& s, int64_t size, int64_t stride) {
  if (s.ndim > 0 && s.stride[s.ndim - 1] == stride * size) {
    s.shape[s.ndim - 1] *= size;
    s.stride[s.ndim - 1] = stride;
    return true;
  }
  if (s.ndim == kMaxDims) return false;
  s.shape[s.ndim] = size;
  s.stride[s.ndim] = stride;
  ++s.ndim;
  return true;
}

std::optional<LayerSplit> layer_split(const Shape& shape, const Strides& strides,
                                      const std::vector<bool>& selected) {
  LayerSplit r;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (selected[d]) {
      r.n *= shape[d];
    } else {
      r.rows *= shape[d];
    }
    if (shape[d] == 1) continue;
    if (!layer_push_axis(selected[d] ? r.sel : r.kept, shape[d], strides[d])) return std::nullopt;
  }
  return r;
}
std::optional<LayerSplit> layer_split(const Tensor& t, const std::vector<bool>& selected) {
  return layer_split(t.shape(), t.strides(), selected);
}

std::vector<bool> layer_axes_mask(int ndim, const std::vector<int>& axes) {
  std::vector<bool> m(size_t(ndim), false);
  for (int a : axes) m[size_t(a)] = true;
  return m;
}

// ---- reductions ----

void layer_reduce(const Primitive& p, const Ins& in, const Ins& out) {
  const Tensor& x = in[0];
  if (!reduce_supported(x.dtype()) || out[0].dtype() != x.dtype()) return host_fallback(p, in, out);
  auto sp = layer_split(x, layer_axes_mask(x.ndim(), prim_as<prims::Reduce>(p).axes));
  if (!sp) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  const LayerReduce kind = p.kind() == K::sum   ? LayerReduce::sum
                           : p.kind() == K::max ? LayerReduce::max
                                                : LayerReduce::min;
  const size_t scratch_bytes = reduce_scratch_bytes(sp->kept, sp->rows, sp->n);
  std::shared_ptr<Buffer> scratch;  // stream-ordered: released after the launches are enqueued
  if (scratch_bytes) scratch = allocator_for(x.device()).allocate(scratch_bytes);
  launch_reduce(kind, x.dtype(), dptr(x), sp->kept, sp->sel, sp->rows, sp->n, dptr_mut(out[0]),
                scratch ? scratch->data() : nullptr, stream_of(x));
  check_launch(p.name());
}

void layer_argmax(const Primitive& p, const Ins& in, const Ins& out) {
  const Tensor& x = in[0];
  const int axis = prim_as<prims::ArgMax>(p).axis;
  if (!reduce_supported(x.dtype()) || out[0].dtype() != DType::i64)
    return host_fallback(p, in, out);
  auto sp = layer_split(x, layer_axes_mask(x.ndim(), {axis}));
  if (!sp) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  launch_argmax(x.dtype(), dptr(x), sp->kept, x.shape(axis), x.strides()[size_t(axis)], sp->rows,
                static_cast<int64_t*>(dptr_mut(out[0])), stream_of(x));
  check_launch("argmax");
}

// ---- softmax ----

void layer_softmax(const Primitive& p, const Ins& in, const Ins& out) {
  const Tensor& x = in[0];
  const int axis = prim_as<prims::Softmax>(p).axis;
  if (!layer_float(x.dtype()) || out[0].dtype() != x.dtype()) return host_fallback(p, in, out);
  const std::vector<bool> mask = layer_axes_mask(x.ndim(), {axis});
  const Strides ostr = contiguous_strides(x.shape());  // out is allocated row-major
  auto xs = layer_split(x, mask);
  auto os = layer_split(x.shape(), ostr, mask);
  if (!xs || !os) return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  launch_softmax(p.kind() == K::log_softmax, x.dtype(), dptr(x), xs->kept,
                 x.strides()[size_t(axis)], dptr_mut(out[0]), os->kept, ostr[size_t(axis)],
                 xs->rows, xs->n, stream_of(x));
  check_launch(p.name());
}

// ---- norms ----

void layer_rms_norm(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& n = prim_as<prims::RmsNorm>(p);
  const Tensor& x0 = in[0];
  const DType od = out[0].dtype();
  if (!layer_same_device(in) || x0.ndim() < 1 || !layer_float(x0.dtype()) || !layer_float(od) ||
      (n.has_weight && !layer_float(in[1].dtype())) || (!n.has_weight && od != x0.dtype()))
    return host_fallback(p, in, out);
  const Tensor x = contiguous_on_device(x0);
  const Tensor w = n.has_weight ? contiguous_on_device(in[1]) : Tensor();
  out[0].alloc_contiguous();
  const int64_t D = x.shape().back();
  const int64_t rows = D > 0 ? x.numel() / D : 0;
  launch_rms_norm(x.dtype(), dptr(x), n.has_weight ? w.dtype() : x.dtype(),
                  n.has_weight ? dptr(w) : nullptr, n.eps, od, dptr_mut(out[0]), rows, D,
                  stream_of(x));
  check_launch("rms_norm");
}

void layer_layer_norm(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& n = prim_as<prims::LayerNorm>(p);
  const Tensor& x0 = in[0];
  const DType dt = x0.dtype();
  const Tensor* w0 = n.has_weight ? &in[1] : nullptr;
  const Tensor* b0 = n.has_bias ? &in[n.has_weight ? 2 : 1] : nullptr;
  if (!layer_same_device(in) || x0.ndim() < 1 || !layer_float(dt) || out[0].dtype() != dt ||
      (w0 && w0->dtype() != dt) || (b0 && b0->dtype() != dt))
    return host_fallback(p, in, out);
  const Tensor x = contiguous_on_device(x0);
  const Tensor w = w0 ? contiguous_on_device(*w0) : Tensor();
  const Tensor b = b0 ? contiguous_on_device(*b0) : Tensor();
  out[0].alloc_contiguous();
  const int64_t D = x.shape().back();
  const int64_t rows = D > 0 ? x.numel() / D : 0;
  launch_layer_norm(dt, dptr(x), w0 ? dptr(w) : nullptr, b0 ? dptr(b) : nullptr, n.eps,
                    dptr_mut(out[0]), rows, D, stream_of(x));
  check_launch("layer_norm");
}

// ---- rope ----

void layer_rope(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& r = prim_as<prims::Rope>(p);
  const Tensor &x = in[0], &f = in[1];
  const Tensor* pos = r.has_positions ? &in[2] : nullptr;
  if (!layer_same_device(in) || x.ndim() != 4 || !layer_float(x.dtype()) ||
      out[0].dtype() != x.dtype() || f.dtype() != DType::f32 || f.ndim() != 1 ||
      (pos && (!layer_index(pos->dtype()) || pos->ndim() < 1 || pos->ndim() > 2)))
    return host_fallback(p, in, out);
  out[0].alloc_contiguous();
  const Strides& xs = x.strides();
  const int64_t xst[4] = {xs[0], xs[1], xs[2], xs[3]};
  int64_t pst[2] = {0, 0};
  if (pos)
    for (int d = 0; d < pos->ndim(); ++d) pst[d] = pos->strides()[size_t(d)];
  launch_rope(x.dtype(), dptr(x), xst, x.shape(0), x.shape(1), x.shape(2), x.shape(3),
              static_cast<const float*>(dptr(f)), f.strides()[0], pos ? pos->dtype() : DType::i64,
              pos ? dptr(*pos) : nullptr, pos ? pos->ndim() : 0, pst, r.offset,
              r.layout == RopeLayout::interleaved, r.inverse, dptr_mut(out[0]), stream_of(x));
  check_launch("rope");
}

// ---- cross-entropy ----

// Device scratch of n elements of T (at least one) from the tensor's device allocator. The
// allocator is stream-ordered: dropping the buffer after the last launch using it is enqueued is
// safe.
template <class T>
std::shared_ptr<Buffer> layer_scratch(const Tensor& t, int64_t n) {
  return allocator_for(t.device()).allocate(size_t(std::max<int64_t>(n, 1)) * sizeof(T));
}

bool layer_ce_inputs_ok(const Tensor& logits, const Tensor& targets) {
  return logits.ndim() == 2 && layer_float(logits.dtype()) && targets.ndim() == 1 &&
         layer_index(targets.dtype()) && targets.shape(0) == logits.shape(0);
}

void layer_cross_entropy(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& c = prim_as<prims::CrossEntropy>(p);
  const Tensor &x = in[0], &t = in[1];
  if (!layer_same_device(in) || !layer_ce_inputs_ok(x, t) || out[0].dtype() != x.dtype())
    return host_fallback(p, in, out);
  const int64_t N = x.shape(0), V = x.shape(1);
  out[0].alloc_contiguous();
  cudaStream_t s = stream_of(x);
  auto rows = layer_scratch<float>(x, N);
  float* rp = static_cast<float*>(rows->data());
  launch_cross_entropy_rows(x.dtype(), dptr(x), x.strides()[0], x.strides()[1], N, V, t.dtype(),
                            dptr(t), t.strides()[0], c.ignore, rp, error_flag(x), s);
  check_launch("cross_entropy");
  launch_cross_entropy_reduce(int(c.reduction), rp, N, t.dtype(), dptr(t), t.strides()[0], c.ignore,
                              x.dtype(), dptr_mut(out[0]), s);
  check_launch("cross_entropy");
}

void layer_cross_entropy_grad(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& c = prim_as<prims::CrossEntropyGrad>(p);
  const Tensor &x = in[0], &t = in[1], &g = in[2];
  if (!layer_same_device(in) || !layer_ce_inputs_ok(x, t) || g.dtype() != x.dtype() ||
      out[0].dtype() != x.dtype() || g.ndim() > 1)
    return host_fallback(p, in, out);
  const int64_t N = x.shape(0), V = x.shape(1);
  out[0].alloc_contiguous();
  cudaStream_t s = stream_of(x);
  auto count = layer_scratch<int64_t>(x, 1);
  int64_t* cp = static_cast<int64_t*>(count->data());
  launch_count_valid(t.dtype(), dptr(t), t.strides()[0], N, c.ignore, cp, s);
  check_launch("cross_entropy_grad");
  launch_cross_entropy_grad(int(c.reduction), x.dtype(), dptr(x), x.strides()[0], x.strides()[1], N,
                            V, t.dtype(), dptr(t), t.strides()[0], c.ignore, dptr(g),
                            g.ndim() ? g.strides()[0] : 0, cp, dptr_mut(out[0]), error_flag(x), s);
  check_launch("cross_entropy_grad");
}

// ---- linear cross-entropy: chunks of rows, logits by gemm, never the full [N, V] ----

bool layer_lce_inputs_ok(const Tensor& h, const Tensor& w, const Tensor& t) {
  return h.ndim() == 2 && w.ndim() == 2 && h.dtype() == DType::f32 && w.dtype() == DType::f32 &&
         w.shape(1) == h.shape(1) && t.ndim() == 1 && layer_index(t.dtype()) &&
         t.shape(0) == h.shape(0);
}

const void* layer_index_at(const Tensor& t, int64_t i) {
  return static_cast<const char*>(dptr(t)) + i * int64_t(size_of(t.dtype()));
}

void layer_lce(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& c = prim_as<prims::LinearCrossEntropy>(p);
  if (!layer_same_device(in) || !layer_lce_inputs_ok(in[0], in[1], in[2]) ||
      out[0].dtype() != DType::f32)
    return host_fallback(p, in, out);
  const Tensor h = contiguous_on_device(in[0]), w = contiguous_on_device(in[1]);
  const Tensor t = contiguous_on_device(in[2]);
  const int64_t N = h.shape(0), D = h.shape(1), V = w.shape(0);
  out[0].alloc_contiguous();
  if (N == 0) return;
  DeviceState& d = state(h.device().index);
  const int64_t C = std::max<int64_t>(1, std::min(c.chunk, N));
  auto logits = layer_scratch<float>(h, C * V);
  float* lp = static_cast<float*>(logits->data());
  const float* hp = static_cast<const float*>(dptr(h));
  float* op = static_cast<float*>(dptr_mut(out[0]));
  for (int64_t r0 = 0; r0 < N; r0 += C) {
    const int64_t rows = std::min(C, N - r0);
    if (D > 0) {
      gemm(d, DType::f32, false, true, rows, V, D, 1.0f, hp + r0 * D, D, 0, dptr(w), D, 0, 0.0f, lp,
           V, 0);
    } else {
      check(cudaMemsetAsync(lp, 0, size_t(rows * V) * sizeof(float), d.stream),
            "linear_cross_entropy");
    }
    launch_lce_rows(lp, rows, V, t.dtype(), layer_index_at(t, r0), c.ignore, op + r0, error_flag(h),
                    d.stream);
    check_launch("linear_cross_entropy");
  }
}

void layer_lce_grad(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& c = prim_as<prims::LinearCrossEntropyGrad>(p);
  using Wrt = prims::LinearCrossEntropyGrad::Wrt;
  const Tensor* gh = c.wrt == Wrt::weight ? nullptr : &out[0];
  const Tensor* gw = c.wrt == Wrt::hidden ? nullptr : &out[c.wrt == Wrt::weight ? 0 : 1];
  if (!layer_same_device(in) || !layer_lce_inputs_ok(in[0], in[1], in[2]) ||
      in[3].dtype() != DType::f32 || in[3].ndim() != 1 || in[3].shape(0) != in[0].shape(0) ||
      (gh && gh->dtype() != DType::f32) || (gw && gw->dtype() != DType::f32))
    return host_fallback(p, in, out);
  const Tensor h = contiguous_on_device(in[0]), w = contiguous_on_device(in[1]);
  const Tensor t = contiguous_on_device(in[2]), g = contiguous_on_device(in[3]);
  const int64_t N = h.shape(0), D = h.shape(1), V = w.shape(0);
  if (gh) gh->alloc_contiguous();
  if (gw) gw->alloc_contiguous();
  DeviceState& d = state(h.device().index);
  if (gw && (N == 0 || D == 0)) {  // no chunk writes it
    check(cudaMemsetAsync(dptr_mut(*gw), 0, gw->nbytes(), d.stream), "linear_cross_entropy_grad");
  }
  if (N == 0 || D == 0) return;  // gh is empty when D == 0
  const int64_t C = std::max<int64_t>(1, std::min(c.chunk, N));
  auto scratch = layer_scratch<float>(h, C * V);
  float* P = static_cast<float*>(scratch->data());
  const float* hp = static_cast<const float*>(dptr(h));
  const float* gp = static_cast<const float*>(dptr(g));
  for (int64_t r0 = 0; r0 < N; r0 += C) {
    const int64_t rows = std::min(C, N - r0);
    gemm(d, DType::f32, false, true, rows, V, D, 1.0f, hp + r0 * D, D, 0, dptr(w), D, 0, 0.0f, P, V,
         0);
    // P <- g_i * (softmax - onehot) per row, in place.
    launch_lce_grad_rows(P, rows, V, t.dtype(), layer_index_at(t, r0), c.ignore, gp + r0,
                         error_flag(h), d.stream);
    check_launch("linear_cross_entropy_grad");
    // grad_h rows = P W; grad_w (+)= P^T h rows (beta 0 on the first chunk overwrites).
    if (gh)
      gemm(d, DType::f32, false, false, rows, D, V, 1.0f, P, V, 0, dptr(w), D, 0, 0.0f,
           static_cast<float*>(dptr_mut(*gh)) + r0 * D, D, 0);
    if (gw)
      gemm(d, DType::f32, true, false, V, D, rows, 1.0f, P, V, 0, hp + r0 * D, D, 0,
           r0 == 0 ? 0.0f : 1.0f, dptr_mut(*gw), D, 0);
  }
}

// ---- cached attention ----

void layer_cached_attention(const Primitive& p, const Ins& in, const Ins& out) {
  const auto& a = prim_as<prims::CachedAttention>(p);
  const Tensor& q = in[0];
  const Tensor& len = in[3];
  if (q.ndim() != 4 || in[1].ndim() != 4 || in[2].ndim() != 4 || !layer_float(q.dtype()) ||
      in[1].dtype() != q.dtype() || in[2].dtype() != q.dtype() || out[0].dtype() != q.dtype() ||
      len.dtype() != DType::i64 || len.numel() != 1 || !layer_same_device(in) ||
      !cached_attention_supported(q.shape(3)))
    return host_fallback(p, in, out);
  const int64_t B = q.shape(0), H = q.shape(1), T = q.shape(2), Dh = q.shape(3);
  const int64_t Hkv = in[1].shape(1), S = in[1].shape(2);
  if (Hkv <= 0 || H % Hkv != 0) return host_fallback(p, in, out);
  const Tensor k = contiguous_on_device(in[1]), v = contiguous_on_device(in[2]);
  out[0].alloc_contiguous();
  const Strides& qs = q.strides();
  const int64_t qst[4] = {qs[0], qs[1], qs[2], qs[3]};
  const size_t scratch_bytes = cached_attention_scratch_bytes(B * H * T, S, Dh);
  std::shared_ptr<Buffer> scratch;  // stream-ordered: released after the launches are enqueued
  if (scratch_bytes) scratch = allocator_for(q.device()).allocate(scratch_bytes);
  launch_cached_attention(q.dtype(), dptr(q), qst, dptr(k), dptr(v),
                          static_cast<const int64_t*>(dptr(len)), B, H, Hkv, T, S, Dh, a.scale,
                          a.window, dptr_mut(out[0]), scratch ? scratch->data() : nullptr,
                          error_flag(q), stream_of(q));
  check_launch("cached_attention");
}

}  // namespace

void register_layers(Backend& b) {
  for (K k : {K::sum, K::max, K::min}) b.register_kernel(k, layer_reduce);
  b.register_kernel(K::argmax, layer_argmax);
  for (K k : {K::softmax, K::log_softmax}) b.register_kernel(k, layer_softmax);
  b.register_kernel(K::rms_norm, layer_rms_norm);
  b.register_kernel(K::layer_norm, layer_layer_norm);
  b.register_kernel(K::rope, layer_rope);
  b.register_kernel(K::cross_entropy, layer_cross_entropy);
  b.register_kernel(K::cross_entropy_grad, layer_cross_entropy_grad);
  b.register_kernel(K::linear_cross_entropy, layer_lce);
  b.register_kernel(K::linear_cross_entropy_grad, layer_lce_grad);
  b.register_kernel(K::cached_attention, layer_cached_attention);
}

}  // namespace wick::cuda
