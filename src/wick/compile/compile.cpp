// compile(): signature cache, tracing on placeholders into a Program, and replay. A replay walks
// the stored schedule, builds one node per instruction over the slot tensors (the kernel
// interface needs output nodes) and runs it at once; each slot is released after its last reader,
// so intermediates are freed as early as eval() frees them. fn is not called and nothing is
// sorted or validated again.
#include "wick/compile/compile.h"

#include <unordered_map>
#include <unordered_set>

#include "wick/compile/program.h"
#include "wick/core/graph.h"
#include "wick/core/primitive.h"

namespace wick {

namespace compile_detail {
namespace {

// A traced function's input: a pending leaf with the input's shape, dtype, device and layout.
// It has no kernel (the kind is reused only to fit the kind table; the compiler knows the class):
// evaluating it means fn read an input's value while being traced, which a graph cannot replay.
class Placeholder final : public Primitive {
 public:
  explicit Placeholder(int index) : Primitive(PrimitiveKind::depend), index(index) {}
  Effect effect() const override { return Effect::generic; }
  bool is_equivalent(const Primitive& o) const override { return this == &o; }
  Params params() const override { return {{"input", int64_t(index)}}; }
  void eval_generic(const std::vector<Tensor>&, const std::vector<Tensor>&) override {
    fail<ValueError>("compile",
                     "fn evaluated a tensor that depends on input {} while being traced; a "
                     "compiled function must build its graph without reading input values",
                     index);
  }
  const int index;
};

// The input of a primitive that must change from call to call, or -1: a random key (a replay
// with the traced key would redraw the same numbers) and the KV-cache write offset (a replay
// would write every token at the traced position).
int per_call_input(PrimitiveKind k) {
  switch (k) {
    case PrimitiveKind::dropout:
      return 1;
    case PrimitiveKind::random_normal:
    case PrimitiveKind::random_uniform:
      return 0;
    case PrimitiveKind::kv_cache_write:
      return 2;
    default:
      return -1;
  }
}

}  // namespace

std::vector<Tensor> run_instr(const Instr& in, const std::vector<Tensor>& ins) {
  if (in.fused) return {cpu::run_fused(*in.fused, ins, in.shapes[0])};
  std::vector<Tensor> outs;
  {
    EagerMode lazy(false);  // built here, run below
    if (in.multi)
      outs = Tensor::make_multi(in.shapes, in.dtypes, in.device, in.prim, ins);
    else
      outs.push_back(Tensor::make(in.shapes[0], in.dtypes[0], in.device, in.prim, ins));
  }
  detail::run_primitive(outs[0]);
  for (const auto& o : outs) o.detach_graph();
  return outs;
}

namespace {

// Traces fn on placeholders of `inputs` and converts the graph it built into a Program.
Program trace(const CompileFn& fn, const std::vector<Tensor>& inputs) {
  Program p;
  p.num_inputs = int(inputs.size());
  std::unordered_map<Node*, int> value_of;
  std::vector<char> from_input(inputs.size(), 1);  // per value: depends on an input
  std::vector<Tensor> placeholders;
  std::vector<Tensor> outs;
  uint64_t first = 0;
  {
    EagerMode lazy(false);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& x = inputs[i];
      Tensor ph =
          Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<Placeholder>(int(i)), {});
      // Generic nodes are built row-major; the placeholder takes the input's layout so that fn's
      // layout decisions (is a reshape a view?) are the ones its inputs lead to.
      ph.id()->strides = x.strides();
      ph.id()->offset = x.offset();
      value_of.emplace(ph.id(), int(p.values.size()));
      p.values.push_back(make_value(Source::input, int(i), 0, ph));
      placeholders.push_back(ph);
    }
    first = next_node_serial();
    outs = fn(placeholders);
  }
  if (outs.empty()) fail<ValueError>("compile", "fn returned no tensors");
  for (const auto& o : outs)
    if (!o.valid()) fail<ValueError>("compile", "fn returned an empty tensor");

  // A tensor fn did not build is a constant (evaluated now if it is still pending).
  auto constant = [&](const Tensor& t) {
    if (t.is_pending()) t.eval();
    const int v = int(p.values.size());
    value_of.emplace(t.id(), v);
    p.values.push_back(make_value(Source::constant, int(p.constants.size()), 0, t));
    p.constants.push_back(t);
    return v;
  };
  auto traced = [&](const Tensor& t) {
    return t.is_pending() && t.primitive() && t.id()->serial >= first;
  };
  // Iterative post-order from the outputs (the order eval() would run them in).
  std::vector<std::pair<Tensor, size_t>> stack;
  for (const auto& root : outs) {
    if (value_of.count(root.id())) continue;
    if (!traced(root)) {
      constant(root);
      continue;
    }
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node.inputs().size()) {
        const Tensor in = node.inputs()[next++];
        if (value_of.count(in.id())) continue;
        if (traced(in))
          stack.emplace_back(in, 0);
        else
          constant(in);
        continue;
      }
      const Tensor t = node;
      stack.pop_back();
      if (value_of.count(t.id())) continue;  // a sibling emitted with an earlier one
      Instr ins;
      ins.prim = t.primitive();
      ins.device = t.device();
      for (const auto& x : t.inputs()) ins.inputs.push_back(value_of.at(x.id()));
      const int idx = int(p.instrs.size());
      auto add_output = [&](const Tensor& o, int k) {
        const int v = int(p.values.size());
        value_of.emplace(o.id(), v);
        p.values.push_back(make_value(Source::instr, idx, k, o));
        return v;
      };
      if (const auto& g = t.id()->group) {
        ins.multi = true;
        ins.shapes = g->shapes;
        ins.dtypes = g->dtypes;
        for (size_t k = 0; k < g->nodes.size(); ++k) {
          auto n = g->nodes[k].lock();
          if (!n) {
            ins.outputs.push_back(-1);
            continue;
          }
          const Tensor sib = t.siblings()[k];
          ins.outputs.push_back(add_output(sib, int(k)));
        }
      } else {
        ins.shapes = {t.shape()};
        ins.dtypes = {t.dtype()};
        ins.outputs = {add_output(t, 0)};
      }
      from_input.resize(p.values.size(), 0);  // constants and this node's outputs so far: no
      bool any_input = false;
      for (int v : ins.inputs) any_input |= from_input[size_t(v)] != 0;
      const int must = per_call_input(ins.prim->kind());
      if (must >= 0 && !from_input[size_t(ins.inputs[size_t(must)])])
        fail<ValueError>("compile",
                         "the {} of {} does not depend on fn's inputs, so every replay would "
                         "reuse the traced value; pass it as an input (random_key, "
                         "models::CacheStep)",
                         must == 2 ? "offset" : "random key", ins.prim->name());
      for (int v : ins.outputs)
        if (v >= 0) from_input[size_t(v)] = any_input;
      p.instrs.push_back(std::move(ins));
    }
  }
  for (const auto& o : outs) p.outputs.push_back(value_of.at(o.id()));
  p.stats.traced = int64_t(p.instrs.size());
  return p;
}

}  // namespace

void finalize(Program& p) {
  p.schedule.clear();
  p.last_use.assign(p.values.size(), -1);
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    if (!p.instrs[i].alive) continue;
    const int pos = int(p.schedule.size());
    p.schedule.push_back(int(i));
    for (int v : p.instrs[i].inputs) p.last_use[size_t(v)] = pos;
  }
  p.stats.kept = int64_t(p.schedule.size());
}

namespace {

// Runs a finalized program on evaluated inputs.
std::vector<Tensor> replay(const Program& p, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> slots(p.values.size());
  std::vector<char> is_output(p.values.size(), 0);
  for (int v : p.outputs) is_output[size_t(v)] = 1;
  for (size_t v = 0; v < p.values.size(); ++v) {
    const Value& val = p.values[v];
    if (val.source == Source::input) slots[v] = inputs[size_t(val.index)];
    if (val.source == Source::constant) slots[v] = p.constants[size_t(val.index)];
  }
  std::vector<Tensor> ins;
  for (size_t pos = 0; pos < p.schedule.size(); ++pos) {
    const Instr& in = p.instrs[size_t(p.schedule[pos])];
    ins.clear();
    for (int v : in.inputs) ins.push_back(slots[size_t(v)]);
    std::vector<Tensor> outs = run_instr(in, ins);
    ins.clear();
    for (size_t k = 0; k < outs.size(); ++k) {
      const int v = in.outputs[k];
      if (v >= 0 && (p.last_use[size_t(v)] >= 0 || is_output[size_t(v)]))
        slots[size_t(v)] = std::move(outs[k]);
    }
    outs.clear();
    for (int v : in.inputs)
      if (p.last_use[size_t(v)] == int(pos) && !is_output[size_t(v)]) slots[size_t(v)] = Tensor();
  }
  std::vector<Tensor> result;
  result.reserve(p.outputs.size());
  for (int v : p.outputs) result.push_back(slots[size_t(v)]);
  return result;
}

}  // namespace

}  // namespace compile_detail

namespace compile_detail {
// What a trace depends on, per input.
struct InputSig {
  Shape shape;
  DType dtype;
  Device device;
  Strides strides;
  bool operator==(const InputSig& o) const {
    return shape == o.shape && dtype == o.dtype && device == o.device && strides == o.strides;
  }
};
}  // namespace compile_detail

struct CompiledFn::Entry {
  std::vector<compile_detail::InputSig> sig;
  compile_detail::Program program;
};

CompiledFn::CompiledFn(CompileFn fn, CompileOptions options)
    : fn_(std::move(fn)), options_(options) {}
CompiledFn::~CompiledFn() = default;
CompiledFn::CompiledFn(CompiledFn&&) noexcept = default;
CompiledFn& CompiledFn::operator=(CompiledFn&&) noexcept = default;

std::vector<Tensor> CompiledFn::operator()(const std::vector<Tensor>& inputs) {
  if (eager()) return fn_(inputs);
  if (retaining_graph())
    fail<NotImplemented>("compile",
                         "a compiled function's outputs carry no gradient graph; call "
                         "value_and_grad inside the compiled function instead");
  std::vector<compile_detail::InputSig> sig;
  sig.reserve(inputs.size());
  for (const auto& x : inputs) {
    if (!x.valid()) fail<ValueError>("compile", "an input is an empty tensor");
    sig.push_back({x.shape(), x.dtype(), x.device(), x.strides()});
  }
  eval(inputs);
  Entry* e = nullptr;
  for (const auto& c : cache_)
    if (c->sig == sig) e = c.get();
  if (e) {
    ++hits_;
  } else {
    auto fresh = std::make_unique<Entry>();
    fresh->sig = std::move(sig);
    fresh->program = compile_detail::trace(fn_, inputs);
    compile_detail::optimize(fresh->program, options_);
    compile_detail::finalize(fresh->program);
    // The traced nodes were needed by the passes only; dropping them frees the traced graph.
    for (auto& v : fresh->program.values) v.proto = Tensor();
    ++traces_;
    e = fresh.get();
    cache_.push_back(std::move(fresh));
  }
  last_ = e;
  return compile_detail::replay(e->program, inputs);
}

Tensor CompiledFn::call(const Tensor& x) {
  std::vector<Tensor> r = (*this)(std::vector<Tensor>{x});
  if (r.size() != 1) fail<ValueError>("compile", "fn returned {} tensors, expected 1", r.size());
  return r[0];
}

const PassStats& CompiledFn::last_stats() const {
  if (!last_) fail<ValueError>("compile", "the function has not been called yet");
  return last_->program.stats;
}

std::string CompiledFn::dump() const {
  if (!last_) fail<ValueError>("compile", "the function has not been called yet");
  return compile_detail::dump_text(last_->program);
}

std::string CompiledFn::dump_dot() const {
  if (!last_) fail<ValueError>("compile", "the function has not been called yet");
  return compile_detail::dump_dot(last_->program);
}

CompiledFn compile(CompileFn fn, CompileOptions options) {
  return CompiledFn(std::move(fn), options);
}

CompiledFn compile(const std::function<Tensor(const Tensor&)>& fn, CompileOptions options) {
  return CompiledFn([fn](const std::vector<Tensor>& x) { return std::vector<Tensor>{fn(x[0])}; },
                    options);
}

}  // namespace wick
