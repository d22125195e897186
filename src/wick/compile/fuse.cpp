// Elementwise fusion: chains of f32 unary/binary nodes on the CPU whose intermediates have one
// reader each become one instruction (backend/cpu/fused.h) that runs at the chain's last node,
// so intermediates never take a buffer. A chain's other inputs must be row-major with the output
// shape or a broadcast element. Chains do not span an in-place write or a generic node (the
// chain's reads move to its last node, which must not cross a write).
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "wick/compile/program.h"

namespace wick::compile_detail {

namespace {

bool all_zero(const Strides& s) {
  return std::all_of(s.begin(), s.end(), [](int64_t x) { return x == 0; });
}

}  // namespace

void fuse(Program& p) {
  std::vector<int> readers(p.values.size(), 0);
  for (const auto& in : p.instrs)
    if (in.alive)
      for (int v : in.inputs) ++readers[size_t(v)];
  for (int v : p.outputs) readers[size_t(v)] += 2;  // never internal to a chain
  auto f32_cpu = [&](int v) {
    const Tensor& t = p.values[size_t(v)].proto;
    return t.dtype() == DType::f32 && t.device() == Device::cpu();
  };
  auto external_ok = [&](int v, const Shape& shape) {
    const Tensor& t = p.values[size_t(v)].proto;
    return f32_cpu(v) && t.shape() == shape &&
           (t.strides() == contiguous_strides(shape) || all_zero(t.strides()));
  };
  std::vector<std::vector<int>> groups;     // instruction indices, in order
  std::unordered_map<int, size_t> tail_of;  // open chain's last value -> group
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    const Instr& in = p.instrs[i];
    if (!in.alive) continue;
    const Effect e = in.prim->effect();
    if (e == Effect::writes_input || e == Effect::generic) {
      tail_of.clear();  // no chain reads across this node
      continue;
    }
    if (in.multi || !cpu::fusable_kind(in.prim->kind()) || in.dtypes[0] != DType::f32 ||
        !(in.device == Device::cpu()) || !f32_cpu(in.outputs[0]))
      continue;
    int join = -1;
    bool ok = true;
    for (int v : in.inputs) {
      auto it = tail_of.find(v);
      if (join < 0 && it != tail_of.end() && readers[size_t(v)] == 1) {
        join = int(it->second);
        tail_of.erase(it);
      } else if (!external_ok(v, in.shapes[0])) {
        ok = false;
      }
    }
    if (!ok) {
      if (join >= 0) tail_of.clear();  // the chain we unlinked cannot continue
      continue;
    }
    if (join < 0) {
      join = int(groups.size());
      groups.emplace_back();
    }
    groups[size_t(join)].push_back(int(i));
    tail_of[in.outputs[0]] = size_t(join);
  }
  for (const auto& g : groups) {
    if (g.size() < 2) continue;
    auto chain = std::make_shared<cpu::FusedChain>();
    std::vector<int> externals;
    std::unordered_map<int, int> reg;  // value -> register
    // Registers: externals first (collected in a first walk), then one per step.
    for (int idx : g)
      for (int v : p.instrs[size_t(idx)].inputs) {
        const Value& val = p.values[size_t(v)];
        const bool internal =
            val.source == Source::instr && std::find(g.begin(), g.end(), val.index) != g.end();
        if (!internal && !reg.count(v)) {
          reg[v] = int(externals.size());
          externals.push_back(v);
        }
      }
    chain->num_inputs = int(externals.size());
    std::vector<std::string> kinds;
    for (size_t s = 0; s < g.size(); ++s) {
      Instr& in = p.instrs[size_t(g[s])];
      cpu::FusedStep st{in.prim->kind(), reg.at(in.inputs[0]),
                        in.inputs.size() > 1 ? reg.at(in.inputs[1]) : -1};
      chain->steps.push_back(st);
      reg[in.outputs[0]] = chain->num_inputs + int(s);
      kinds.push_back(in.prim->name());
      if (s + 1 < g.size()) in.alive = false;
    }
    Instr& tail = p.instrs[size_t(g.back())];
    tail.inputs = externals;
    tail.prim = nullptr;
    tail.fused = chain;
    p.stats.fused += int64_t(g.size());
    p.log.push_back(fmt::format("fuse: %{} <- [{}] over {} inputs", tail.outputs[0],
                                fmt::join(kinds, ", "), externals.size()));
  }
}

}  // namespace wick::compile_detail
