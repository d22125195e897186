// linear_cross_entropy: a fused primitive producing per-row losses [N] (chunked, see
// backend/cpu/linear_cross_entropy.cpp) whose vjp is a second fused primitive per wanted input
// (hidden or weight), each recomputing logits chunk-wise. The gradient primitive's own vjp goes
// through the plain-op reference, so second derivatives work too.
#include "wick/ops/linear_cross_entropy.h"

#include "wick/core/autograd.h"
#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/matmul.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

constexpr int64_t kChunkElems = int64_t(1) << 22;  // 4M logits (16 MiB in f32) per chunk

// Per-row losses [N] and the not-ignored mask [N] as plain ops.
std::pair<Tensor, Tensor> reference_rows(const Tensor& h, const Tensor& w, const Tensor& targets,
                                         int64_t ignore) {
  const int64_t N = h.shape(0), V = w.shape(0);
  const DType dt = h.dtype();
  Tensor logits = linear(h, w);
  Tensor t = astype(targets, DType::i64);
  Tensor valid = not_equal(t, full({N}, double(ignore), DType::i64, t.device()));
  Tensor hit =
      logical_and(equal(reshape(arange(V, DType::i64, t.device()), {1, V}), reshape(t, {N, 1})),
                  reshape(valid, {N, 1}));
  Tensor picked = sum(where(hit, logits, scalar(0, dt, logits.device())), {-1});
  Tensor rows = where(valid, logsumexp(logits, {-1}) - picked, scalar(0, dt, logits.device()));
  return {rows, valid};
}

}  // namespace

// Second order: the first-order gradients rebuilt from the reference composition over
// stop_gradient leaves, differentiated again against the cotangents of the outputs present.
std::vector<Tensor> prims::LinearCrossEntropyGrad::vjp_multi(const prims::Inputs& in,
                                                             const std::vector<Tensor>& outs,
                                                             const std::vector<Tensor>& cts,
                                                             const prims::Wanted& wanted) {
  std::vector<Tensor> leaves;
  for (size_t i : {0, 1, 3}) leaves.push_back(stop_gradient(in[i]));
  Tensor rows = reference_rows(leaves[0], leaves[1], in[2], ignore).first;
  Tensor f = sum(rows * leaves[2]);
  std::vector<Tensor> wrt_leaves;
  if (wrt != Wrt::weight) wrt_leaves.push_back(leaves[0]);
  if (wrt != Wrt::hidden) wrt_leaves.push_back(leaves[1]);
  std::vector<Tensor> grads = wick::vjp({f}, {ones_like(f)}, wrt_leaves);
  std::vector<Tensor> used, used_cts;
  for (size_t k = 0; k < grads.size(); ++k)
    if (cts[k].valid()) {
      used.push_back(grads[k]);
      used_cts.push_back(cts[k]);
    }
  auto gs = wick::vjp(used, used_cts, leaves);
  std::vector<Tensor> out(4);
  if (wanted[0]) out[0] = gs[0];
  if (wanted[1]) out[1] = gs[1];
  if (wanted[3]) out[3] = gs[2];
  return out;
}

std::vector<Tensor> prims::LinearCrossEntropyGrad::vjp(const prims::Inputs& in, const Tensor& out,
                                                       const Tensor& ct,
                                                       const prims::Wanted& wanted) {
  return vjp_multi(in, {out}, {ct}, wanted);
}

namespace {}  // namespace

std::vector<Tensor> prims::LinearCrossEntropy::vjp(const prims::Inputs& in, const Tensor&,
                                                   const Tensor& g, const prims::Wanted& wanted) {
  using Wrt = prims::LinearCrossEntropyGrad::Wrt;
  std::vector<Tensor> out(3);
  Tensor gc = contiguous(g);
  const std::vector<Tensor> ins = {in[0], in[1], in[2], gc};
  if (wanted[0] && wanted[1]) {  // both from one pass over the logits
    auto prim = std::make_shared<prims::LinearCrossEntropyGrad>(ignore, chunk, Wrt::both);
    auto gs = Tensor::make_multi({in[0].shape(), in[1].shape()}, {in[0].dtype(), in[1].dtype()},
                                 in[0].device(), prim, ins);
    out[0] = gs[0];
    out[1] = gs[1];
    return out;
  }
  for (int k = 0; k < 2; ++k) {
    if (!wanted[k]) continue;
    auto prim = std::make_shared<prims::LinearCrossEntropyGrad>(ignore, chunk,
                                                                k == 0 ? Wrt::hidden : Wrt::weight);
    out[k] = Tensor::make(in[k].shape(), in[k].dtype(), in[k].device(), prim, ins);
  }
  return out;
}

namespace {

void check_inputs(const Tensor& h, const Tensor& w, const Tensor& t, const char* op) {
  if (h.ndim() != 2) fail<ShapeError>(op, "hidden must be [N, D], got {}", shape_str(h.shape()));
  if (w.ndim() != 2 || w.shape(1) != h.shape(1))
    fail<ShapeError>(op, "weight must be [V, {}], got {}", h.shape(1), shape_str(w.shape()));
  if (!is_floating(h.dtype()) || h.dtype() != w.dtype())
    fail<DtypeError>(op, "hidden and weight must share a float dtype, got {} and {}",
                     dtype_name(h.dtype()), dtype_name(w.dtype()));
  if (!is_integral(t.dtype()))
    fail<DtypeError>(op, "targets must be i32 or i64, got {}", dtype_name(t.dtype()));
  if (t.ndim() != 1 || t.shape(0) != h.shape(0))
    fail<ShapeError>(op, "targets shape {}; expected [{}]", shape_str(t.shape()), h.shape(0));
  if (h.device() != w.device() || t.device() != h.device())
    fail<ValueError>(op, "hidden, weight and targets must be on one device");
}

Tensor reduce_rows(const Tensor& rows, const Tensor& valid, Reduction reduction) {
  if (reduction == Reduction::none) return rows;
  if (reduction == Reduction::sum) return sum(rows);
  return sum(rows) / sum(astype(valid, rows.dtype()));
}

}  // namespace

Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                            int64_t ignore_index, Reduction reduction, int64_t chunk_rows) {
  check_inputs(hidden, weight, targets, "linear_cross_entropy");
  if (chunk_rows < 0)
    fail<ValueError>("linear_cross_entropy", "chunk_rows must be >= 0, got {}", chunk_rows);
  const int64_t N = hidden.shape(0), V = weight.shape(0);
  const int64_t chunk = chunk_rows > 0 ? chunk_rows : std::max<int64_t>(1, kChunkElems / V);
  const DType dt = hidden.dtype();
  const DType ct = dt == DType::f64 ? DType::f64 : DType::f32;
  Tensor h = contiguous(astype(hidden, ct)), w = contiguous(astype(weight, ct));
  Tensor t = contiguous(astype(targets, DType::i64));
  Tensor rows =
      Tensor::make({N}, ct, hidden.device(),
                   std::make_shared<prims::LinearCrossEntropy>(ignore_index, chunk), {h, w, t});
  Tensor valid = not_equal(t, full({N}, double(ignore_index), DType::i64, t.device()));
  return astype(reduce_rows(rows, valid, reduction), dt);
}

Tensor linear_cross_entropy_reference(const Tensor& hidden, const Tensor& weight,
                                      const Tensor& targets, int64_t ignore_index,
                                      Reduction reduction) {
  check_inputs(hidden, weight, targets, "linear_cross_entropy_reference");
  auto [rows, valid] = reference_rows(hidden, weight, targets, ignore_index);
  return reduce_rows(rows, valid, reduction);
}

}  // namespace wick
