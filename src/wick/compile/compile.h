#pragma once
// compile(fn): trace a function of tensors once per input signature into a graph, optimise it
// (dead code, common subexpressions, exact simplifications, folding of literal constants and,
// opt-in, fusion of f32 elementwise chains on the CPU) and replay the optimised graph on every
// later call with the same signature, without calling fn.
//
// Rules (docs/architecture.md, "compile()"):
//  - Inputs are the tensors passed in the call. fn is traced on placeholders of their shape,
//    dtype, device and layout, so fn must not read input values while it is traced (evaluating a
//    tensor that depends on an input throws ValueError).
//  - Every other tensor fn reads (weights, module buffers, a KV cache it captured) is a constant
//    held by reference: its node is read again at each replay, so writes into its buffer are seen,
//    but rebinding the handle (optim::Optimizer::step replaces each parameter's Tensor) is not.
//    Anything that changes between calls (trained parameters, optimizer state, the KV-cache
//    offset, random keys) must be an input.
//  - Random keys drawn from a generator while tracing, and KV-cache write offsets fixed then, would
//    be frozen into the graph, so a random op whose key or a kv_cache_write whose offset does not
//    depend on an input is refused (ValueError); pass them (random_key, models::CacheStep) in.
//  - Outputs are evaluated tensors. Gradients are taken inside fn (value_and_grad in fn traces
//    the backward graph); a compiled call under a gradient trace is refused (NotImplemented).
//  - In eager mode (WICK_EAGER=1 or EagerMode(true)) a call runs fn uncompiled.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

using CompileFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Which passes run on a traced graph (all by default).
struct CompileOptions {
  bool simplify = true;  // reshape/permute chains, x*1, x/1, x-0, x+(-0)
  bool cse = true;       // common subexpressions (Primitive::is_equivalent over the same inputs)
  bool fold = true;      // subgraphs of literals (full, arange) evaluated once at trace time
  bool dce = true;       // nodes no output depends on
  bool fuse = false;     // chains of f32 elementwise ops on the CPU run as one pass over tiles
};

/// What the passes did to one traced graph (counts of nodes).
struct PassStats {
  int64_t traced = 0;      // nodes (one per primitive application) fn built
  int64_t simplified = 0;  // nodes replaced by an input or a cheaper equivalent
  int64_t cse = 0;         // nodes replaced by an equivalent earlier one
  int64_t folded = 0;      // nodes evaluated at trace time (now constants)
  int64_t dead = 0;        // nodes removed because no output needs them
  int64_t fused = 0;       // nodes now run inside a fused chain
  int64_t kept = 0;        // nodes each replay runs
};

/// A compiled function: call it like fn. Not thread-safe (one caller at a time).
class CompiledFn {
 public:
  CompiledFn(CompileFn fn, CompileOptions options);
  /// fn(inputs), from the stored graph of the inputs' signature (traced on a miss).
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs);
  /// Single-tensor form: fn({x}), which must return one tensor.
  Tensor call(const Tensor& x);
  /// How many times fn was traced (one per distinct signature seen).
  int64_t traces() const { return traces_; }
  /// Calls answered by replaying a stored graph without tracing.
  int64_t hits() const { return hits_; }
  /// Pass statistics of the graph used by the last call.
  const PassStats& last_stats() const;
  /// The optimised graph of the last call, one line per node (id, kind and parameters, dtype and
  /// shape, inputs), preceded by what each pass removed.
  std::string dump() const;
  /// The same graph in Graphviz dot.
  std::string dump_dot() const;

 private:
  struct Entry;
  CompileFn fn_;
  CompileOptions options_;
  std::vector<std::unique_ptr<Entry>> cache_;
  Entry* last_ = nullptr;
  int64_t traces_ = 0, hits_ = 0;

 public:
  ~CompiledFn();
  CompiledFn(CompiledFn&&) noexcept;
  CompiledFn& operator=(CompiledFn&&) noexcept;
};

/// fn compiled: traced once per input signature (shapes, dtypes, devices, strides), replayed after.
CompiledFn compile(CompileFn fn, CompileOptions options = {});
/// Single-tensor convenience: fn(x) -> y (call it with call(x)).
CompiledFn compile(const std::function<Tensor(const Tensor&)>& fn, CompileOptions options = {});

}  // namespace wick
