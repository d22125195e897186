// Text and Graphviz dumps of a compiled Program: the pass summary and log, then one line per
// value the replay uses (inputs, constants, instructions in schedule order).
#include <fmt/format.h>

#include "wick/compile/program.h"

namespace wick::compile_detail {

namespace {

std::string name_of(const Program& p, int v) {
  const Value& val = p.values[size_t(v)];
  if (val.source == Source::input) return fmt::format("%in{}", val.index);
  if (val.source == Source::constant) return fmt::format("%c{}", v);
  return fmt::format("%{}", v);
}

std::string type_of(const Program& p, int v) {
  const Value& val = p.values[size_t(v)];
  return fmt::format("{}{}", dtype_name(val.dtype), shape_str(val.shape));
}

// Inputs and constants some live instruction or output reads, in value order.
std::vector<int> leaves_used(const Program& p) {
  std::vector<char> used(p.values.size(), 0);
  for (int i : p.schedule)
    for (int v : p.instrs[size_t(i)].inputs) used[size_t(v)] = 1;
  for (int v : p.outputs) used[size_t(v)] = 1;
  std::vector<int> r;
  for (size_t v = 0; v < p.values.size(); ++v)
    if (used[v] && p.values[v].source != Source::instr) r.push_back(int(v));
  return r;
}

// "matmul()", or "fused[silu, mul, add]" for a fused chain.
std::string describe(const Instr& in) {
  if (!in.fused) return in.prim->describe();
  std::vector<std::string> k;
  for (const auto& s : in.fused->steps) k.push_back(kind_name(s.kind));
  return fmt::format("fused[{}]", fmt::join(k, ", "));
}

}  // namespace

std::string dump_text(const Program& p) {
  const PassStats& s = p.stats;
  std::string r =
      fmt::format("# traced {} nodes; simplify {}, cse {}, fold {}, dce {}; replay runs {}\n",
                  s.traced, s.simplified, s.cse, s.folded, s.dead, s.kept);
  for (const auto& line : p.log) r += "# " + line + "\n";
  for (int v : leaves_used(p))
    r += fmt::format("{} = {} {}\n", name_of(p, v),
                     p.values[size_t(v)].source == Source::input ? "input" : "constant",
                     type_of(p, v));
  for (int i : p.schedule) {
    const Instr& in = p.instrs[size_t(i)];
    std::vector<std::string> outs, ins;
    for (int v : in.outputs) outs.push_back(v >= 0 ? name_of(p, v) : "_");
    for (int v : in.inputs) ins.push_back(name_of(p, v));
    std::vector<std::string> types;
    for (size_t k = 0; k < in.shapes.size(); ++k)
      types.push_back(fmt::format("{}{}", dtype_name(in.dtypes[k]), shape_str(in.shapes[k])));
    r += fmt::format("{} = {} {} ({})\n", fmt::join(outs, ", "), describe(in),
                     fmt::join(types, ", "), fmt::join(ins, ", "));
  }
  std::vector<std::string> outs;
  for (int v : p.outputs) outs.push_back(name_of(p, v));
  r += fmt::format("return {}\n", fmt::join(outs, ", "));
  return r;
}

std::string dump_dot(const Program& p) {
  std::string r = "digraph compiled {\n  node [shape=box, fontname=monospace];\n";
  for (int v : leaves_used(p))
    r += fmt::format("  v{} [label=\"{} {}\", shape=ellipse];\n", v, name_of(p, v), type_of(p, v));
  for (int i : p.schedule) {
    const Instr& in = p.instrs[size_t(i)];
    std::string label = describe(in);
    std::string esc;
    for (char c : label) esc += c == '"' ? std::string("\\\"") : std::string(1, c);
    r += fmt::format("  i{} [label=\"{}\\n{}{}\"];\n", i, esc, dtype_name(in.dtypes[0]),
                     shape_str(in.shapes[0]));
    for (int v : in.inputs) {
      const Value& val = p.values[size_t(v)];
      if (val.source == Source::instr)
        r += fmt::format("  i{} -> i{};\n", val.index, i);
      else
        r += fmt::format("  v{} -> i{};\n", v, i);
    }
  }
  for (size_t k = 0; k < p.outputs.size(); ++k) {
    const Value& val = p.values[size_t(p.outputs[k])];
    r += fmt::format("  out{} [label=\"output {}\", shape=plaintext];\n", k, k);
    if (val.source == Source::instr)
      r += fmt::format("  i{} -> out{};\n", val.index, k);
    else
      r += fmt::format("  v{} -> out{};\n", p.outputs[k], k);
  }
  return r + "}\n";
}

}  // namespace wick::compile_detail
