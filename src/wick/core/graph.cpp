#include "wick/core/graph.h"

#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "wick/core/primitive.h"

namespace wick {

namespace {
thread_local int g_retain_depth = 0;

bool& eager_flag() {
  static bool on = [] {
    const char* e = std::getenv("WICK_EAGER");
    return e && std::strcmp(e, "1") == 0;
  }();
  return on;
}
}  // namespace

void set_eager(bool on) { eager_flag() = on; }
bool eager() { return eager_flag(); }

RetainGraph::RetainGraph() { ++g_retain_depth; }
RetainGraph::~RetainGraph() { --g_retain_depth; }
bool retaining_graph() { return g_retain_depth > 0; }

void Primitive::eval_cuda(const std::vector<Tensor>& inputs, const Tensor& out) {
  fail<NotImplemented>(name(), "no CUDA kernel for dtype {}", dtype_name(out.dtype()));
}

std::vector<Tensor> Primitive::vjp(const std::vector<Tensor>&, const Tensor&, const Tensor&,
                                   const std::vector<bool>&) {
  fail<NotImplemented>(name(), "this op has no gradient");
}

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

void run_primitive(const Tensor& t) {
  for (const auto& in : t.inputs())
    if (in.is_pending())
      fail<ValueError>(t.primitive()->name(), "internal: input not evaluated before its consumer");
  if (t.device().type == DeviceType::cpu) {
    t.primitive()->eval_cpu(t.inputs(), t);
  } else {
    t.primitive()->eval_cuda(t.inputs(), t);
  }
  if (!t.is_evaluated())
    fail<ValueError>(t.primitive()->name(), "internal: kernel produced no output buffer");
}

void eval_eager(const Tensor& t) {
  run_primitive(t);
  if (!retaining_graph()) t.detach_graph();
}

}  // namespace detail

void eval(const std::vector<Tensor>& tensors) {
  std::vector<Tensor> order = topo_sort(tensors, false);
  // `order` gives up each node as it runs: afterwards a node is held only by its consumers' input
  // lists (or by the caller), so it is freed as soon as its last consumer ran and was detached.
  const bool retain = retaining_graph();
  for (size_t i = 0; i < order.size(); ++i) {
    Tensor t = std::move(order[i]);  // released at the end of this iteration
    detail::run_primitive(t);
    if (!retain) t.detach_graph();
  }
}

}  // namespace wick
