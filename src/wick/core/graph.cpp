#include "wick/core/graph.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "wick/core/backend.h"
#include "wick/core/primitive.h"

namespace wick {

namespace {
thread_local int g_retain_depth = 0;
thread_local int g_eager_override = -1;  // -1: the process default
thread_local int g_kernel_depth = 0;

std::atomic<bool>& eager_default() {
  static std::atomic<bool> on = [] {
    const char* e = std::getenv("WICK_EAGER");
    return e && std::strcmp(e, "1") == 0;
  }();
  return on;
}
}  // namespace

void set_eager(bool on) { eager_default() = on; }
bool eager() { return g_eager_override >= 0 ? g_eager_override == 1 : eager_default().load(); }
EagerMode::EagerMode(bool on) : saved_(g_eager_override) { g_eager_override = on ? 1 : 0; }
EagerMode::~EagerMode() { g_eager_override = saved_; }

namespace detail {
KernelScope::KernelScope() { ++g_kernel_depth; }
KernelScope::~KernelScope() { --g_kernel_depth; }
bool in_kernel() { return g_kernel_depth > 0; }
}  // namespace detail

RetainGraph::RetainGraph() { ++g_retain_depth; }
RetainGraph::~RetainGraph() { --g_retain_depth; }
bool retaining_graph() { return g_retain_depth > 0; }

std::vector<Tensor> topo_sort(const std::vector<Tensor>& roots, bool through_evaluated,
                              const std::unordered_set<Node*>* stop) {
  std::vector<Tensor> order;
  std::unordered_set<Node*> visited;
  // Each stack entry: a node and the index of the next input to visit.
  std::vector<std::pair<Tensor, size_t>> stack;
  auto expandable = [&](const Tensor& t) {
    return t.primitive() != nullptr && (through_evaluated || t.is_pending()) &&
           !(stop && stop->count(t.id()));
  };
  for (const auto& r : roots) {
    if (!r.valid() || !expandable(r) || visited.count(r.id())) continue;
    visited.insert(r.id());
    stack.emplace_back(r, 0);
    while (!stack.empty()) {
      auto& [t, next] = stack.back();
      const auto& ins = t.inputs();
      if (next < ins.size()) {
        const Tensor& in = ins[next++];
        if (expandable(in) && !visited.count(in.id())) {
          visited.insert(in.id());
          stack.emplace_back(in, 0);
        }
        continue;
      }
      order.push_back(t);
      stack.pop_back();
    }
  }
  return order;
}

namespace detail {

namespace {
// A fused primitive without a kernel on this device: evaluate its reference composition.
void run_fallback(Primitive& p, const Tensor& t, const std::vector<Tensor>& outs) {
  std::vector<Tensor> rs;
  {
    EagerMode lazy(false);
    rs = p.fallback(t.inputs());
  }
  if (rs.empty())
    fail<NotImplemented>(p.name(), "no kernel on {} for dtype {}", device_name(t.device()),
                         dtype_name(t.dtype()));
  if (rs.size() != outs.size())
    fail<ValueError>(p.name(), "internal: fallback gives {} outputs, expected {}", rs.size(),
                     outs.size());
  eval(rs);
  for (size_t i = 0; i < rs.size(); ++i) {
    const Tensor &r = rs[i], &o = outs[i];
    if (r.shape() != o.shape() || r.dtype() != o.dtype())
      fail<ValueError>(p.name(), "internal: fallback gives {} {}, expected {} {}",
                       dtype_name(r.dtype()), shape_str(r.shape()), dtype_name(o.dtype()),
                       shape_str(o.shape()));
    if (!r.is_contiguous() || r.offset() != 0)
      fail<ValueError>(p.name(), "internal: fallback output is not row-major");
    o.share_buffer(r);
  }
}

// Drops the graph of a node and of its siblings (they were evaluated together).
void detach_all(const Tensor& t) {
  if (const auto& g = t.id()->group)
    for (const auto& w : g->nodes)
      if (auto n = w.lock()) {
        n->prim.reset();
        n->inputs.clear();
      }
  t.detach_graph();
}
}  // namespace

void run_primitive(const Tensor& t) {
  Primitive& p = *t.primitive();
  const std::vector<Tensor> outs = t.id()->group ? t.siblings() : std::vector<Tensor>{t};
  for (const auto& in : t.inputs())
    if (in.is_pending())
      fail<ValueError>(p.name(), "internal: input not evaluated before its consumer");
  switch (p.effect()) {
    case Effect::view:
      t.share_buffer(t.inputs()[0]);
      return;
    case Effect::generic:
      p.eval_generic(t.inputs(), outs);
      break;
    case Effect::writes_input:
    case Effect::none: {
      static Backend* const cpu = &backend_for(DeviceType::cpu);
      Backend* b = t.device().type == DeviceType::cpu ? cpu : &backend_for(t.device().type);
      Kernel k = b->kernel(p.kind());
      if (!k) {
        run_fallback(p, t, outs);
        break;
      }
      if (p.effect() == Effect::writes_input) t.share_buffer(t.inputs()[0]);
      KernelScope scope;
      k(p, t.inputs(), outs);
      break;
    }
  }
  for (const auto& o : outs)
    if (!o.is_evaluated()) fail<ValueError>(p.name(), "internal: kernel produced no output buffer");
}

void eval_eager(const Tensor& t) {
  // Inputs built while lazy (another thread's mode, an EagerMode(false) scope) run first.
  for (const auto& in : t.inputs())
    if (in.is_pending()) {
      wick::eval({t});
      return;
    }
  run_primitive(t);
  if (!retaining_graph()) detach_all(t);
}

}  // namespace detail

void eval(const std::vector<Tensor>& tensors) {
  std::vector<Tensor> order = topo_sort(tensors, false);
  // `order` gives up each node as it runs: afterwards a node is held only by its consumers' input
  // lists (or by the caller), so it is freed as soon as its last consumer ran and was detached.
  const bool retain = retaining_graph();
  for (size_t i = 0; i < order.size(); ++i) {
    Tensor t = std::move(order[i]);  // released at the end of this iteration
    if (t.is_evaluated()) {          // a sibling of a node that ran earlier in this walk
      if (!retain) t.detach_graph();
      continue;
    }
    detail::run_primitive(t);
    if (!retain) detail::detach_all(t);
  }
}

}  // namespace wick
