// Checkpointing in the lazy engine. checkpoint() traces fn once into a template graph (pending
// nodes, never evaluated themselves) whose boundary is every tensor fn did not build: its explicit
// inputs and whatever it captured. The checkpoint node takes the boundary as inputs. Evaluating it
// clones the template over the (evaluated) boundary and evaluates the clone in a nested eval, so
// fn's intermediates are freed before the outer walk goes on. Its vjp clones the template again,
// over depend(input, cotangent) nodes: the recomputation then cannot start before the cotangent is
// known, which is what keeps about one layer's activations alive in the backward pass.
#include "wick/core/checkpoint.h"

#include <unordered_map>
#include <unordered_set>

#include "wick/core/autograd.h"
#include "wick/core/graph.h"
#include "wick/core/primitive.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

// A view of input 0 that the scheduler runs after its other inputs.
class Depend final : public Primitive {
 public:
  Depend() : Primitive(PrimitiveKind::depend) {}
  Effect effect() const override { return Effect::view; }
  Layout view_layout(const std::vector<Tensor>& in, const Shape&) const override {
    return {in[0].strides(), in[0].offset()};
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& g,
                          const std::vector<bool>&) override {
    std::vector<Tensor> r(in.size());
    r[0] = g;
    return r;
  }
};

// fn's traced graph: `order` lists the nodes fn built (inputs before consumers), `boundary` the
// tensors they read that fn did not build (the explicit inputs first).
struct Template {
  std::vector<Tensor> outputs;
  std::vector<Tensor> boundary;
  std::vector<Tensor> order;
};

Template trace(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  Template t;
  const uint64_t first = next_node_serial();
  {
    EagerMode lazy(false);  // the template must stay a graph
    t.outputs = fn(inputs);
  }
  if (t.outputs.empty()) fail<ValueError>("checkpoint", "fn returned no tensors");
  for (const auto& o : t.outputs)
    if (!o.valid()) fail<ValueError>("checkpoint", "fn returned an empty tensor");
  std::unordered_set<Node*> seen;
  for (const auto& x : inputs) {
    if (!x.valid()) fail<ValueError>("checkpoint", "an input is an empty tensor");
    if (seen.insert(x.id()).second) t.boundary.push_back(x);
  }
  auto built_by_fn = [&](const Tensor& x) {
    return x.is_pending() && x.id()->serial >= first && !seen.count(x.id());
  };
  // Iterative post-order over the nodes fn built; everything else is boundary.
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Tensor, size_t>> stack;
  for (const auto& root : t.outputs) {
    if (!built_by_fn(root)) {
      if (seen.insert(root.id()).second) t.boundary.push_back(root);
      continue;
    }
    if (!visited.insert(root.id()).second) continue;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node.inputs().size()) {
        const Tensor in = node.inputs()[next++];
        if (built_by_fn(in)) {
          if (visited.insert(in.id()).second) stack.emplace_back(in, 0);
        } else if (seen.insert(in.id()).second) {
          t.boundary.push_back(in);
        }
        continue;
      }
      t.order.push_back(node);
      stack.pop_back();
    }
  }
  return t;
}

// The template's outputs rebuilt with boundary[i] replaced by subs[i].
std::vector<Tensor> clone(const Template& t, const std::vector<Tensor>& subs) {
  std::unordered_map<Node*, Tensor> map;
  for (size_t i = 0; i < t.boundary.size(); ++i) map.emplace(t.boundary[i].id(), subs[i]);
  for (const auto& n : t.order) {
    if (map.count(n.id())) continue;  // a sibling cloned with an earlier one
    std::vector<Tensor> ins;
    ins.reserve(n.inputs().size());
    for (const auto& in : n.inputs()) ins.push_back(map.at(in.id()));
    if (const auto& g = n.id()->group) {
      std::vector<Tensor> outs =
          Tensor::make_multi(g->shapes, g->dtypes, n.device(), n.primitive(), ins);
      for (size_t k = 0; k < outs.size(); ++k)
        if (auto sib = g->nodes[k].lock()) map.emplace(sib.get(), outs[k]);
      map.emplace(n.id(), outs[size_t(n.output_index())]);
      continue;
    }
    map.emplace(n.id(), Tensor::make(n.shape(), n.dtype(), n.device(), n.primitive(), ins));
  }
  std::vector<Tensor> outs;
  outs.reserve(t.outputs.size());
  for (const auto& o : t.outputs) outs.push_back(map.at(o.id()));
  return outs;
}

struct CheckpointState {
  Template tmpl;
  // Outputs of the last evaluation that siblings have not picked up yet, and its inputs.
  std::vector<Tensor> cached_inputs;
  std::vector<Tensor> cached;
};

// Output `k` of a checkpointed function; the siblings share one state.
class Checkpoint final : public Primitive {
 public:
  Checkpoint(std::shared_ptr<CheckpointState> s, size_t k)
      : Primitive(PrimitiveKind::checkpoint), s_(std::move(s)), k_(k) {}
  Effect effect() const override { return Effect::generic; }
  // The traced function is state parameters cannot show: equivalent only to itself.
  bool is_equivalent(const Primitive& o) const override { return this == &o; }
  Params params() const override { return {{"output", int64_t(k_)}}; }
  void eval_generic(const std::vector<Tensor>& in, const std::vector<Tensor>& outs) override {
    const Tensor& out = outs[0];
    Tensor r = take_cached(in);
    if (!r.valid()) {
      std::vector<Tensor> outs = clone(s_->tmpl, in);
      eval(outs);
      for (const auto& o : outs) o.detach_graph();  // under RetainGraph too: only values matter
      r = outs[k_];
      if (outs.size() > 1) {
        s_->cached_inputs = in;
        outs[k_] = Tensor();
        s_->cached = std::move(outs);
      }
    }
    // The node was built row-major; a view returned by fn is copied into that layout.
    if (!r.is_contiguous() || r.offset() != 0) {
      Tensor c = contiguous(r);
      c.eval();
      r = c;
    }
    out.share_buffer(r);
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& g,
                          const std::vector<bool>& wanted) override {
    std::vector<Tensor> subs;
    subs.reserve(in.size());
    for (const auto& x : in) subs.push_back(depend(x, {g}));
    std::vector<Tensor> outs;
    {
      RetainGraph keep;  // in eager mode the recomputed graph must stay differentiable
      outs = clone(s_->tmpl, subs);
    }
    std::vector<Tensor> params;
    std::vector<size_t> which;
    for (size_t i = 0; i < in.size(); ++i)
      if (wanted[i]) {
        params.push_back(subs[i]);
        which.push_back(i);
      }
    std::vector<Tensor> grads = detail::vjp_to_leaves({outs[k_]}, {g}, params, subs);
    // Tie the gradients together so that whichever the scheduler reaches first brings the others
    // (the parameter gradients of this layer) along, and the recomputed activations die at once.
    if (grads.size() > 1) {
      std::vector<Tensor> rest(grads.begin() + 1, grads.end());
      grads[0] = depend(grads[0], rest);
      for (size_t j = 1; j < grads.size(); ++j) grads[j] = depend(grads[j], {grads[0]});
    }
    std::vector<Tensor> result(in.size());
    for (size_t j = 0; j < which.size(); ++j) result[which[j]] = grads[j];
    return result;
  }

 private:
  Tensor take_cached(const std::vector<Tensor>& in) {
    if (s_->cached.empty() || !s_->cached[k_].valid() || s_->cached_inputs.size() != in.size())
      return Tensor();
    for (size_t i = 0; i < in.size(); ++i)
      if (!s_->cached_inputs[i].same(in[i])) return Tensor();
    Tensor r = std::move(s_->cached[k_]);
    s_->cached[k_] = Tensor();
    bool any = false;
    for (const auto& c : s_->cached) any |= c.valid();
    if (!any) {
      s_->cached.clear();
      s_->cached_inputs.clear();
    }
    return r;
  }
  std::shared_ptr<CheckpointState> s_;
  size_t k_;
};

}  // namespace

Tensor depend(const Tensor& x, const std::vector<Tensor>& after) {
  std::vector<Tensor> ins{x};
  for (const auto& a : after) {
    if (!a.valid()) fail<ValueError>("depend", "an `after` tensor is empty");
    ins.push_back(a);
  }
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<Depend>(), std::move(ins));
}

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  auto s = std::make_shared<CheckpointState>();
  s->tmpl = trace(fn, inputs);
  std::vector<Tensor> outs;
  outs.reserve(s->tmpl.outputs.size());
  for (size_t k = 0; k < s->tmpl.outputs.size(); ++k) {
    const Tensor& o = s->tmpl.outputs[k];
    outs.push_back(Tensor::make(o.shape(), o.dtype(), o.device(),
                                std::make_shared<Checkpoint>(s, k), s->tmpl.boundary));
  }
  return outs;
}

Tensor checkpoint(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                  const std::vector<Tensor>& inputs) {
  return checkpoint(
      CheckpointFn([&fn](const std::vector<Tensor>& x) { return std::vector<Tensor>{fn(x)}; }),
      inputs)[0];
}

}  // namespace wick
