// cross_entropy: a fused primitive (per-row logsumexp and the target's logit in one pass, see
// backend/cpu/loss.cpp) whose vjp is a second fused primitive writing softmax - onehot. That
// backward's own vjp is built from public ops, so second derivatives work too.
#include "wick/ops/loss.h"

#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"
#include "wick/ops/softmax.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

// onehot [N, V] (bool) of targets that are not ignored, and the not-ignored mask [N] (bool).
std::pair<Tensor, Tensor> onehot_and_valid(const Tensor& targets, int64_t V, int64_t ignore) {
  const int64_t N = targets.shape(0);
  Tensor t = astype(targets, DType::i64);
  Tensor valid = not_equal(t, full({N}, double(ignore), DType::i64, t.device()));
  Tensor hit = equal(reshape(arange(V, DType::i64, t.device()), {1, V}), reshape(t, {N, 1}));
  return {logical_and(hit, reshape(valid, {N, 1})), valid};
}

}  // namespace

std::vector<Tensor> prims::CrossEntropyGrad::vjp(const prims::Inputs& in, const Tensor&,
                                                 const Tensor& h, const prims::Wanted& wanted) {
  const Tensor &logits = in[0], &targets = in[1], &g = in[2];
  const int64_t N = logits.shape(0), V = logits.shape(1);
  const DType dt = logits.dtype();
  auto [onehot, valid] = onehot_and_valid(targets, V, ignore);
  Tensor vf = astype(valid, dt);
  Tensor count = maximum(sum(vf), scalar(1, dt, g.device()));
  Tensor p = softmax(logits, -1);
  std::vector<Tensor> grads(3);
  if (wanted[0]) {
    Tensor w = vf * g;  // g is [N] (none) or [] (broadcast)
    if (reduction == Reduction::mean) w = w / count;
    Tensor w2 = reshape(w, {N, 1});
    grads[0] = w2 * p * (h - sum(h * p, {-1}, true));
  }
  if (wanted[2]) {
    Tensor q = vf * sum(h * (p - astype(onehot, dt)), {-1});
    if (reduction == Reduction::none) {
      grads[2] = q;
    } else {
      grads[2] = sum(q);
      if (reduction == Reduction::mean) grads[2] = grads[2] / count;
    }
  }
  return grads;
}

namespace {}  // namespace

std::vector<Tensor> prims::CrossEntropy::vjp(const prims::Inputs& in, const Tensor&,
                                             const Tensor& g, const prims::Wanted& wanted) {
  if (!wanted[0]) return {Tensor(), Tensor()};
  auto prim = std::make_shared<prims::CrossEntropyGrad>(ignore, reduction);
  return {Tensor::make(in[0].shape(), in[0].dtype(), in[0].device(), prim, {in[0], in[1], g}),
          Tensor()};
}

namespace {

void check_inputs(const Tensor& logits, const Tensor& targets, const char* op) {
  if (logits.ndim() != 2)
    fail<ShapeError>(op, "logits must be [N, V], got {}", shape_str(logits.shape()));
  if (!is_floating(logits.dtype()))
    fail<DtypeError>(op, "logits must be a float tensor, got {}", dtype_name(logits.dtype()));
  if (!is_integral(targets.dtype()))
    fail<DtypeError>(op, "targets must be i32 or i64, got {}", dtype_name(targets.dtype()));
  if (targets.ndim() != 1 || targets.shape(0) != logits.shape(0))
    fail<ShapeError>(op, "targets shape {}; expected [{}] for logits {}",
                     shape_str(targets.shape()), logits.shape(0), shape_str(logits.shape()));
  if (targets.device() != logits.device())
    fail<ValueError>(op, "targets and logits are on different devices");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                     Reduction reduction) {
  check_inputs(logits, targets, "cross_entropy");
  Shape out = reduction == Reduction::none ? Shape{logits.shape(0)} : Shape{};
  return Tensor::make(out, logits.dtype(), logits.device(),
                      std::make_shared<prims::CrossEntropy>(ignore_index, reduction),
                      {logits, targets});
}

Tensor cross_entropy_reference(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                               Reduction reduction) {
  check_inputs(logits, targets, "cross_entropy_reference");
  const DType dt = logits.dtype();
  auto [onehot, valid] = onehot_and_valid(targets, logits.shape(1), ignore_index);
  Tensor lp = log_softmax_reference(logits, -1);
  Tensor picked = sum(where(onehot, lp, scalar(0, dt, lp.device())), {-1});
  Tensor loss = where(valid, neg(picked), scalar(0, dt, lp.device()));
  if (reduction == Reduction::none) return loss;
  if (reduction == Reduction::sum) return sum(loss);
  return sum(loss) / sum(astype(valid, dt));
}

}  // namespace wick
