// Reverse-mode autograd over the lazy graph: walk the graph from the outputs in reverse
// topological order, asking each primitive for the vjp of the inputs that lead to a parameter.
#include "wick/core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "wick/core/graph.h"
#include "wick/core/primitive.h"
#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

// Identity view whose vjp is empty.
class StopGradient final : public Primitive {
 public:
  StopGradient() : Primitive(PrimitiveKind::stop_gradient) {}
  bool non_differentiable() const override { return true; }
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const std::vector<Tensor>& in, const Shape&) const override {
    return {in[0].strides(), in[0].offset()};
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor&,
                          const std::vector<bool>&) override {
    return {Tensor()};
  }
};

}  // namespace

Tensor stop_gradient(const Tensor& x) {
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<StopGradient>(), {x});
}

namespace {

std::vector<Tensor> vjp_impl(const std::vector<Tensor>& outputs,
                             const std::vector<Tensor>& cotangents,
                             const std::vector<Tensor>& params,
                             const std::unordered_set<Node*>* stop) {
  if (outputs.size() != cotangents.size())
    fail<ValueError>("vjp", "{} outputs but {} cotangents", outputs.size(), cotangents.size());
  std::unordered_set<Node*> param_ids;
  for (const auto& p : params) param_ids.insert(p.id());
  std::vector<Tensor> order = topo_sort(outputs, true, stop);
  // A multi-output node's vjp runs once, at the sibling earliest in the order: every consumer of
  // every sibling comes after it, so all their cotangents are complete by then.
  std::unordered_map<OutputGroup*, size_t> group_first;
  for (size_t i = 0; i < order.size(); ++i)
    if (const auto& g = order[i].id()->group) group_first.try_emplace(g.get(), i);
  // Forward pass: which nodes depend on a parameter.
  std::unordered_set<Node*> needs;
  for (const auto& t : order) {
    if (t.primitive()->non_differentiable()) continue;
    for (const auto& in : t.inputs())
      if (param_ids.count(in.id()) || needs.count(in.id())) {
        needs.insert(t.id());
        break;
      }
  }
  std::unordered_map<Node*, Tensor> grads;
  auto accumulate = [&](const Tensor& node, const Tensor& g) {
    if (g.shape() != node.shape())
      fail<ShapeError>("vjp", "internal: gradient shape {} for a {} tensor", shape_str(g.shape()),
                       shape_str(node.shape()));
    auto it = grads.find(node.id());
    if (it == grads.end()) {
      grads.emplace(node.id(), g.dtype() == node.dtype() ? g : astype(g, node.dtype()));
    } else {
      it->second = it->second + (g.dtype() == node.dtype() ? g : astype(g, node.dtype()));
    }
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (cotangents[i].shape() != outputs[i].shape())
      fail<ShapeError>("vjp", "cotangent {} does not match output {}",
                       shape_str(cotangents[i].shape()), shape_str(outputs[i].shape()));
    if (param_ids.count(outputs[i].id()) || needs.count(outputs[i].id()))
      accumulate(outputs[i], cotangents[i]);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Tensor& t = *it;
    if (!needs.count(t.id())) continue;
    const auto& group = t.id()->group;
    if (group && group_first.at(group.get()) != size_t(order.rend() - it - 1)) continue;
    // The cotangents of the node (of each sibling for a multi-output node).
    std::vector<Tensor> outs = group ? t.siblings() : std::vector<Tensor>{t};
    std::vector<Tensor> cts(outs.size());
    bool any_ct = false;
    for (size_t k = 0; k < outs.size(); ++k) {
      auto git = grads.find(outs[k].id());
      if (git == grads.end()) continue;
      cts[k] = git->second;
      any_ct = true;
      // A parameter that is itself an op output keeps its gradient; otherwise free it now.
      if (!param_ids.count(outs[k].id())) grads.erase(git);
    }
    if (!any_ct) continue;
    const auto& ins = t.inputs();
    std::vector<bool> wanted(ins.size());
    bool any = false;
    for (size_t k = 0; k < ins.size(); ++k) {
      wanted[k] =
          (param_ids.count(ins[k].id()) || needs.count(ins[k].id())) && is_floating(ins[k].dtype());
      any |= wanted[k];
    }
    if (!any) continue;
    std::vector<Tensor> gi = group ? t.primitive()->vjp_multi(ins, outs, cts, wanted)
                                   : t.primitive()->vjp(ins, t, cts[0], wanted);
    for (size_t k = 0; k < ins.size(); ++k)
      if (wanted[k] && k < gi.size() && gi[k].valid()) accumulate(ins[k], gi[k]);
  }
  std::vector<Tensor> result;
  result.reserve(params.size());
  for (const auto& p : params) {
    auto it = grads.find(p.id());
    result.push_back(it != grads.end() ? it->second : zeros_like(p));
  }
  return result;
}

}  // namespace

std::vector<Tensor> vjp(const std::vector<Tensor>& outputs, const std::vector<Tensor>& cotangents,
                        const std::vector<Tensor>& params) {
  return vjp_impl(outputs, cotangents, params, nullptr);
}

namespace detail {
std::vector<Tensor> vjp_to_leaves(const std::vector<Tensor>& outputs,
                                  const std::vector<Tensor>& cotangents,
                                  const std::vector<Tensor>& params,
                                  const std::vector<Tensor>& leaves) {
  std::unordered_set<Node*> stop;
  for (const auto& l : leaves) stop.insert(l.id());
  return vjp_impl(outputs, cotangents, params, &stop);
}
}  // namespace detail

std::pair<Tensor, std::vector<Tensor>> value_and_grad(
    const std::function<Tensor(const std::vector<Tensor>&)>& fn,
    const std::vector<Tensor>& params) {
  Tensor value;
  {
    RetainGraph keep;  // eager ops must keep their inputs for the backward walk
    value = fn(params);
  }
  if (value.numel() != 1)
    fail<ShapeError>("value_and_grad", "function must return one element, got shape {}",
                     shape_str(value.shape()));
  auto grads = vjp({value}, {ones_like(value)}, params);
  return {value, std::move(grads)};
}

}  // namespace wick
