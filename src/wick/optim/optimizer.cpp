#include "wick/optim/optimizer.h"

#include <array>
#include <cmath>
#include <map>
#include <numbers>

#include "wick/ops.h"

namespace wick::optim {

namespace {

DType math_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

Tensor as(const Tensor& t, DType d) { return t.dtype() == d ? t : astype(t, d); }

void check_args(const char* op, const std::vector<Tensor*>& params,
                const std::vector<Tensor>& grads) {
  if (params.size() != grads.size())
    fail<ValueError>(op, "{} parameters but {} gradients", params.size(), grads.size());
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i]->shape() != grads[i].shape())
      fail<ShapeError>(op, "gradient {} has shape {}; expected {}", i, shape_str(grads[i].shape()),
                       shape_str(params[i]->shape()));
}

// Copies into fresh buffers, so state never aliases a parameter or a checkpoint mapping.
Tensor owned(const Tensor& t) {
  Tensor c = t * 1.0;
  c.eval();
  return c;
}

void restore(const char* op, const StateDict& s, const std::string& slot,
             std::vector<Tensor>& into) {
  into.clear();
  for (size_t i = 0;; ++i) {
    const std::string key = std::to_string(i) + "." + slot;
    auto it = std::find_if(s.begin(), s.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == s.end()) break;
    into.push_back(owned(it->second));
  }
}

int64_t restore_step(const char* op, const StateDict& s) {
  for (const auto& [k, v] : s)
    if (k == "step") return int64_t(v.item<double>());
  fail<ValueError>(op, "optimizer state has no 'step' entry");
}

}  // namespace

AdamW::AdamW(double weight_decay, double beta1, double beta2, double eps)
    : wd_(weight_decay), b1_(beta1), b2_(beta2), eps_(eps) {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    fail<ValueError>("adamw", "betas must be in [0, 1), got ({}, {})", beta1, beta2);
  if (!(eps >= 0)) fail<ValueError>("adamw", "eps must be >= 0, got {}", eps);
}

void AdamW::step(const std::vector<Tensor*>& params, const std::vector<Tensor>& grads, double lr) {
  check_args("adamw", params, grads);
  if (m_.empty()) {
    for (auto* p : params) {
      m_.push_back(zeros(p->shape(), math_dtype(p->dtype()), p->device()));
      v_.push_back(zeros(p->shape(), math_dtype(p->dtype()), p->device()));
    }
  }
  if (m_.size() != params.size())
    fail<ValueError>("adamw", "state holds {} parameters, step got {}", m_.size(), params.size());
  ++t_;
  const double bc1 = 1 - std::pow(b1_, double(t_));
  const double bc2 = 1 - std::pow(b2_, double(t_));
  const double step_size = lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  // The step's time-varying scalars are evaluated inputs (one per dtype and device), not
  // parameters of the graph: every step then builds the same graph.
  std::map<std::pair<DType, Device>, std::array<Tensor, 3>> step_scalars;
  auto scalars_for = [&](DType md, Device d) -> const std::array<Tensor, 3>& {
    auto key = std::make_pair(md, d);
    auto it = step_scalars.find(key);
    if (it == step_scalars.end()) {
      std::array<Tensor, 3> v = {scalar(1 - lr * wd_, md, d).eval(), scalar(bc2_sqrt, md, d).eval(),
                                 scalar(step_size, md, d).eval()};
      it = step_scalars.emplace(key, v).first;
    }
    return it->second;
  };
  std::vector<Tensor> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const DType md = math_dtype(params[i]->dtype());
    const auto& [decay, bc2_t, step_t] = scalars_for(md, params[i]->device());
    Tensor p = as(*params[i], md), g = as(grads[i], md);
    if (wd_ != 0) p = p * decay;
    m_[i] = m_[i] * b1_ + g * (1 - b1_);
    v_[i] = v_[i] * b2_ + square(g) * (1 - b2_);
    Tensor denom = sqrt(v_[i]) / bc2_t + eps_;
    p = p - (m_[i] / denom) * step_t;
    *params[i] = as(p, params[i]->dtype());
    out.push_back(*params[i]);
    out.push_back(m_[i]);
    out.push_back(v_[i]);
  }
  eval(out);
}

StateDict AdamW::state() const {
  StateDict s;
  s.emplace_back("step", scalar(double(t_), DType::f64));
  for (size_t i = 0; i < m_.size(); ++i) {
    s.emplace_back(std::to_string(i) + ".exp_avg", m_[i]);
    s.emplace_back(std::to_string(i) + ".exp_avg_sq", v_[i]);
  }
  return s;
}

void AdamW::load_state(const StateDict& s) {
  t_ = restore_step("adamw", s);
  restore("adamw", s, "exp_avg", m_);
  restore("adamw", s, "exp_avg_sq", v_);
  if (m_.size() != v_.size())
    fail<ValueError>("adamw", "state has {} exp_avg but {} exp_avg_sq tensors", m_.size(),
                     v_.size());
}

SGD::SGD(double weight_decay, double momentum) : wd_(weight_decay), momentum_(momentum) {
  if (!(momentum >= 0)) fail<ValueError>("sgd", "momentum must be >= 0, got {}", momentum);
}

void SGD::step(const std::vector<Tensor*>& params, const std::vector<Tensor>& grads, double lr) {
  check_args("sgd", params, grads);
  const bool first = buf_.empty();
  if (momentum_ != 0 && !first && buf_.size() != params.size())
    fail<ValueError>("sgd", "state holds {} parameters, step got {}", buf_.size(), params.size());
  ++t_;
  std::vector<Tensor> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const DType md = math_dtype(params[i]->dtype());
    Tensor p = as(*params[i], md), g = as(grads[i], md);
    if (wd_ != 0) g = g + p * wd_;
    if (momentum_ != 0) {
      if (first)
        buf_.push_back(g);
      else
        buf_[i] = buf_[i] * momentum_ + g;
      g = buf_[i];
      out.push_back(buf_[i]);
    }
    *params[i] = as(p - g * lr, params[i]->dtype());
    out.push_back(*params[i]);
  }
  eval(out);
}

StateDict SGD::state() const {
  StateDict s;
  s.emplace_back("step", scalar(double(t_), DType::f64));
  for (size_t i = 0; i < buf_.size(); ++i)
    s.emplace_back(std::to_string(i) + ".momentum_buffer", buf_[i]);
  return s;
}

void SGD::load_state(const StateDict& s) {
  t_ = restore_step("sgd", s);
  restore("sgd", s, "momentum_buffer", buf_);
}

Schedule parse_schedule(const std::string& s) {
  if (s == "constant") return Schedule::constant;
  if (s == "linear") return Schedule::linear;
  if (s == "cosine") return Schedule::cosine;
  fail<ValueError>("lr_schedule", "unknown schedule '{}'; expected constant, linear or cosine", s);
}

double lr_lambda(Schedule s, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return double(step) / double(std::max<int64_t>(1, warmup));
  switch (s) {
    case Schedule::constant:
      return 1.0;
    case Schedule::linear:
      return std::max(0.0, double(total - step) / double(std::max<int64_t>(1, total - warmup)));
    case Schedule::cosine: {
      const double progress = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
      // transformers: num_cycles = 0.5 -> 0.5 * (1 + cos(pi * 2 * 0.5 * progress)).
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
    }
  }
  return 1.0;
}

Tensor global_norm_squared(const std::vector<Tensor>& grads) {
  // Per-tensor sums in the math dtype, added in f64 on the grads' device: one value to read.
  Tensor total;
  for (const auto& g : grads) {
    Tensor part = astype(sum(square(as(g, math_dtype(g.dtype())))), DType::f64);
    total = total.valid() ? total + part : part;
  }
  return total.valid() ? total : scalar(0, DType::f64);
}

double global_norm(const std::vector<Tensor>& grads) {
  return std::sqrt(global_norm_squared(grads).item<double>());
}

double clip_grad_norm(std::vector<Tensor>& grads, double max_norm) {
  eval(grads);
  const double norm = global_norm(grads);
  if (max_norm > 0 && std::isfinite(norm)) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1) {
      for (auto& g : grads) g = g * coef;
      eval(grads);
    }
  }
  return norm;
}

}  // namespace wick::optim
