#pragma once
// Optimizers with PyTorch semantics (torch.optim.AdamW / SGD), learning-rate schedules matching
// transformers' get_*_schedule_with_warmup, and clipping by global norm (clip_grad_norm_).
// Updates are built as lazy graphs and evaluated together; the math runs in f32 (f64 for f64
// parameters) and the result is stored in the parameter's dtype.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wick/core/tensor.h"

namespace wick::optim {

/// Named optimizer state tensors (for checkpoints): "<param index>.<slot>" -> tensor.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Updates every params[i] in place from grads[i] (same shapes) with learning rate lr; the new
  /// parameters and state are evaluated before returning.
  virtual void step(const std::vector<Tensor*>& params, const std::vector<Tensor>& grads,
                    double lr) = 0;
  /// The state to save (moments, step counter).
  virtual StateDict state() const = 0;
  /// Restores a saved state (ValueError when names or shapes do not fit).
  virtual void load_state(const StateDict& s) = 0;
  /// Optimizer steps taken so far.
  virtual int64_t steps() const = 0;
};

/// AdamW (Loshchilov & Hutter) as torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g;
/// v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
class AdamW final : public Optimizer {
 public:
  explicit AdamW(double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999,
                 double eps = 1e-8);
  void step(const std::vector<Tensor*>& params, const std::vector<Tensor>& grads,
            double lr) override;
  StateDict state() const override;
  void load_state(const StateDict& s) override;
  int64_t steps() const override { return t_; }

 private:
  double wd_, b1_, b2_, eps_;
  int64_t t_ = 0;
  std::vector<Tensor> m_, v_;
};

/// SGD as torch.optim.SGD: g += wd p (coupled); with momentum mu: buf = mu buf + g (buf = g at the
/// first step); p -= lr * buf (or g without momentum).
class SGD final : public Optimizer {
 public:
  explicit SGD(double weight_decay = 0, double momentum = 0);
  void step(const std::vector<Tensor*>& params, const std::vector<Tensor>& grads,
            double lr) override;
  StateDict state() const override;
  void load_state(const StateDict& s) override;
  int64_t steps() const override { return t_; }

 private:
  double wd_, momentum_;
  int64_t t_ = 0;
  std::vector<Tensor> buf_;
};

enum class Schedule : uint8_t { constant, linear, cosine };
/// "constant" | "linear" | "cosine" (ValueError otherwise).
Schedule parse_schedule(const std::string& s);

/// The multiplier of the base learning rate at optimizer step `step` (0-based, the step about to
/// be taken), as transformers' LambdaLR schedules: linear warmup step/warmup, then constant,
/// linear decay to 0 at total_steps, or half-cosine decay to 0.
double lr_lambda(Schedule s, int64_t step, int64_t warmup, int64_t total_steps);

/// Global L2 norm of all grads (computed in f64 from f32 partial sums), like clip_grad_norm_.
/// The square of it as a lazy f64 scalar on the grads' device (read it once per step).
Tensor global_norm_squared(const std::vector<Tensor>& grads);
double global_norm(const std::vector<Tensor>& grads);
/// Scales grads in place by min(1, max_norm / (norm + 1e-6)) when max_norm > 0; returns the norm
/// before clipping (evaluates the grads).
double clip_grad_norm(std::vector<Tensor>& grads, double max_norm);

}  // namespace wick::optim
