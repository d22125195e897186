#pragma once
// Graph evaluation: iterative topological sort, per-device dispatch, freeing intermediates as soon
// as their last consumer has run, and detaching evaluated nodes.
#include <unordered_set>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// While alive, evaluated nodes keep their primitive and inputs (a gradient trace needs them).
class RetainGraph {
 public:
  RetainGraph();
  ~RetainGraph();
  RetainGraph(const RetainGraph&) = delete;
  RetainGraph& operator=(const RetainGraph&) = delete;
};
bool retaining_graph();

/// Pending nodes reachable from `roots`, inputs before consumers (explicit stack, no recursion).
/// Evaluated nodes are leaves unless `through_evaluated` (used by autograd on retained graphs).
/// Nodes in `stop` (may be null) are neither expanded nor listed.
std::vector<Tensor> topo_sort(const std::vector<Tensor>& roots, bool through_evaluated,
                              const std::unordered_set<Node*>* stop = nullptr);

namespace detail {
/// Evaluates a freshly built node at once (eager mode).
void eval_eager(const Tensor& t);
/// Runs one node's primitive on its device.
void run_primitive(const Tensor& t);
}  // namespace detail

}  // namespace wick
