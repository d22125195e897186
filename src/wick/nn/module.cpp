#include "wick/nn/module.h"

#include <algorithm>

#include "wick/ops.h"

namespace wick::nn {

Device module_device(const Module& m) {
  for (const auto& p : m.parameters())
    if (p.tensor->valid()) return p.tensor->device();
  return Device::cpu();
}

void Module::to(Device device) {
  for (auto& [path, m] : modules()) {
    for (auto& p : m->params_)
      if (p.tensor->valid() && p.tensor->device() != device)
        *p.tensor = p.tensor->to(device).eval();
    m->move_buffers(device);
  }
}

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  if (name.empty()) return prefix;
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

std::vector<ParamRef> Module::parameters(const std::string& prefix) const {
  std::vector<ParamRef> out;
  // Explicit stack: depth-first, registration order.
  std::vector<std::pair<std::string, const Module*>> stack{{prefix, this}};
  while (!stack.empty()) {
    auto [p, m] = stack.back();
    stack.pop_back();
    for (const auto& prm : m->params_)
      out.push_back({join(p, prm.name), prm.tensor, prm.trainable, prm.shape});
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join(p, it->first), it->second);
  }
  return out;
}

std::vector<ParamRef> Module::trainable_parameters(const std::string& prefix) const {
  auto all = parameters(prefix);
  std::vector<ParamRef> out;
  for (auto& p : all)
    if (p.trainable) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::modules(const std::string& prefix) {
  std::vector<std::pair<std::string, Module*>> out;
  std::vector<std::pair<std::string, Module*>> stack{{prefix, this}};
  while (!stack.empty()) {
    auto [p, m] = stack.back();
    stack.pop_back();
    out.emplace_back(p, m);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join(p, it->first), it->second);
  }
  return out;
}

void Module::set_trainable(bool on) {
  for (auto& [path, m] : modules())
    for (auto& prm : m->params_) prm.trainable = on;
}

void Module::register_parameter(const std::string& name, Tensor* t, Shape shape, bool trainable) {
  params_.push_back({name, t, trainable, std::move(shape)});
}

void Module::register_module(const std::string& name, Module* m) {
  children_.emplace_back(name, m);
}

void Module::unregister(const std::string& name) {
  std::erase_if(params_, [&](const Param& p) { return p.name == name; });
  std::erase_if(children_, [&](const auto& c) { return c.first == name; });
}

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias)
    : in_(in_features), out_(out_features) {
  register_parameter("weight", &weight, {out_features, in_features});
  if (has_bias) register_parameter("bias", &bias, {out_features});
}

Tensor Linear::forward(const Tensor& x) {
  Tensor y = linear(x, weight, bias.valid() ? std::optional<Tensor>(bias) : std::nullopt);
  return adapter_ ? adapter_->forward(x, y) : y;
}

void Linear::set_adapter(std::shared_ptr<LinearAdapter> adapter) {
  if (adapter_) unregister("");
  adapter_ = std::move(adapter);
  if (adapter_) register_module("", adapter_.get());
}

void load_parameters(Module& m, const std::function<Tensor(const std::string&)>& get,
                     const std::string& prefix) {
  for (auto& p : m.parameters(prefix)) {
    Tensor t = get(p.path);
    if (!t.valid()) fail<IoError>("load", "missing tensor '{}'", p.path);
    if (!p.shape.empty() && p.shape != t.shape())
      fail<IoError>("load", "tensor '{}' has shape {}; expected {}", p.path, shape_str(t.shape()),
                    shape_str(p.shape));
    *p.tensor = t;
  }
}

}  // namespace wick::nn
