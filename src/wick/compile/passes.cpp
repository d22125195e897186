// The passes over a traced Program, in the order optimize() runs them: exact simplifications,
// common-subexpression elimination, dead-code elimination, folding of literal subgraphs, and
// dead-code elimination again. A pass
// never deletes a rewritten node itself: it redirects the node's uses (through a forwarding table
// resolved as the pass walks forwards, so a chain of rewrites costs one lookup each) and leaves
// the dead node to DCE. Instructions stay in their traced order, which is eval()'s order.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "wick/compile/program.h"
#include "wick/ops/primitives.h"

namespace wick::compile_detail {

namespace {

// Literal subgraphs whose result is at most this large are evaluated at trace time (views of a
// literal always are: they cost no memory). Larger ones stay in the graph, so that folding never
// keeps a big buffer alive that the uncompiled graph would have freed.
constexpr size_t kFoldMaxBytes = 64 * 1024;

// Forwarding table: uses of value v read value fwd[v].
struct Forward {
  std::vector<int> fwd;
  explicit Forward(const Program& p) : fwd(p.values.size()) {
    for (size_t i = 0; i < fwd.size(); ++i) fwd[i] = int(i);
  }
  int resolve(int v) {
    while (fwd[size_t(v)] != v) v = fwd[size_t(v)] = fwd[size_t(fwd[size_t(v)])];
    return v;
  }
  void grow(size_t n) {
    while (fwd.size() < n) fwd.push_back(int(fwd.size()));
  }
  // Rewrites every use in the program (after a pass).
  void apply(Program& p) {
    grow(p.values.size());
    for (auto& in : p.instrs)
      for (int& v : in.inputs) v = resolve(v);
    for (int& v : p.outputs) v = resolve(v);
  }
};

std::string vname(const Program& p, int v) {
  const Value& val = p.values[size_t(v)];
  if (val.source == Source::input) return fmt::format("%in{}", val.index);
  if (val.source == Source::constant) return fmt::format("%c{}", v);
  return fmt::format("%{}", v);
}

const Instr* producer(const Program& p, int v) {
  const Value& val = p.values[size_t(v)];
  return val.source == Source::instr ? &p.instrs[size_t(val.index)] : nullptr;
}

// The value of a literal fill reached through views (broadcast_to(full(c)) of a scalar), if any.
bool literal_value(const Program& p, int v, double& out) {
  for (const Instr* in = producer(p, v); in; in = producer(p, in->inputs[0])) {
    const PrimitiveKind k = in->prim->kind();
    if (k == PrimitiveKind::full) {
      out = static_cast<const prims::Full&>(*in->prim).value;
      return true;
    }
    if (k != PrimitiveKind::broadcast_to && k != PrimitiveKind::reshape) return false;
  }
  return false;
}

bool same_layout(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.device() == b.device() &&
         a.strides() == b.strides() && a.offset() == b.offset();
}

// The layout `prim` gives over `x` when it yields `like`'s shape, or false when it cannot.
bool view_matches(const Primitive& prim, const Tensor& x, const Tensor& like) {
  try {
    Layout l = prim.view_layout({x}, like.shape());
    return l.strides == like.strides() && l.offset == like.offset();
  } catch (const Error&) {
    return false;
  }
}

// Values that must keep a buffer of their own: written in place, or handed to the caller.
std::vector<char> must_stay_fresh(const Program& p) {
  std::vector<char> fresh(p.values.size(), 0);
  for (const auto& in : p.instrs)
    if (in.alive && in.prim->effect() == Effect::writes_input) fresh[size_t(in.inputs[0])] = 1;
  for (int v : p.outputs) fresh[size_t(v)] = 1;
  return fresh;
}

void simplify(Program& p) {
  Forward f(p);
  const std::vector<char> fresh = must_stay_fresh(p);
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    Instr& in = p.instrs[i];
    if (!in.alive || in.multi) continue;
    for (int& v : in.inputs) v = f.resolve(v);
    const int out = in.outputs[0];
    const Tensor& y = p.values[size_t(out)].proto;
    const PrimitiveKind k = in.prim->kind();
    auto replace = [&](int by, const char* why) {
      f.fwd[size_t(out)] = by;
      ++p.stats.simplified;
      p.log.push_back(fmt::format("simplify: {} {} -> {} ({})", vname(p, out), in.prim->describe(),
                                  vname(p, by), why));
    };
    if (k == PrimitiveKind::reshape || k == PrimitiveKind::broadcast_to ||
        k == PrimitiveKind::permute) {
      const int x = in.inputs[0];
      const Tensor& xt = p.values[size_t(x)].proto;
      if (same_layout(xt, y)) {
        replace(x, "identity view");
        continue;
      }
      // A view of a view of the same kind: one view over the grandparent when its layout agrees.
      const Instr* up = producer(p, x);
      if (!up || up->prim->kind() != k) continue;
      const int gx = f.resolve(up->inputs[0]);
      const Tensor& gt = p.values[size_t(gx)].proto;
      std::shared_ptr<Primitive> prim = in.prim;
      if (k == PrimitiveKind::permute) {
        const auto& a = static_cast<const prims::Permute&>(*up->prim).axes;
        const auto& b = static_cast<const prims::Permute&>(*in.prim).axes;
        std::vector<int> c(b.size());
        for (size_t j = 0; j < b.size(); ++j) c[j] = a[size_t(b[j])];
        prim = std::make_shared<prims::Permute>(c);
      }
      if (same_layout(gt, y)) {
        replace(gx, "view chain is the identity");
      } else if (view_matches(*prim, gt, y)) {
        p.log.push_back(fmt::format("simplify: {} {} of {} -> {} of {} (one view)", vname(p, out),
                                    in.prim->describe(), vname(p, x), prim->describe(),
                                    vname(p, gx)));
        in.prim = prim;
        in.inputs[0] = gx;
        ++p.stats.simplified;
      }
      continue;
    }
    // x*1, 1*x, x/1, x-(+0), x+(-0), (-0)+x are x bit for bit (x+(+0) is not: -0 becomes +0).
    if (in.inputs.size() != 2 || fresh[size_t(out)]) continue;
    auto try_identity = [&](int keep, int lit, double want, bool negative_zero) {
      double c;
      if (!literal_value(p, lit, c) || c != want || std::signbit(c) != negative_zero) return false;
      if (!same_layout(p.values[size_t(keep)].proto, y)) return false;
      replace(keep, "exact identity");
      return true;
    };
    const int a = in.inputs[0], b = in.inputs[1];
    switch (k) {
      case PrimitiveKind::mul:
        if (!try_identity(a, b, 1.0, false)) try_identity(b, a, 1.0, false);
        break;
      case PrimitiveKind::div:
        try_identity(a, b, 1.0, false);
        break;
      case PrimitiveKind::sub:
        try_identity(a, b, 0.0, false);
        break;
      case PrimitiveKind::add:
        if (!try_identity(a, b, 0.0, true)) try_identity(b, a, 0.0, true);
        break;
      default:
        break;
    }
  }
  f.apply(p);
}

// Merging B into an earlier equivalent A keeps A's buffer alive until B's last reader. That is
// done only while A is still read after B runs (or for views, which own no buffer), so that CSE
// never extends a lifetime: a replay's peak memory stays at most the uncompiled one's.
void cse(Program& p) {
  Forward f(p);
  constexpr int kForever = std::numeric_limits<int>::max();
  std::vector<int> last(p.values.size(), -1);  // index of the last instruction reading a value
  for (size_t i = 0; i < p.instrs.size(); ++i)
    if (p.instrs[i].alive)
      for (int v : p.instrs[i].inputs) last[size_t(v)] = int(i);
  for (int v : p.outputs) last[size_t(v)] = kForever;
  std::unordered_multimap<size_t, int> seen;  // hash -> instruction
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    Instr& in = p.instrs[i];
    if (!in.alive) continue;
    for (int& v : in.inputs) v = f.resolve(v);
    const Effect e = in.prim->effect();
    if (e != Effect::none && e != Effect::view) continue;  // in-place writes, nested evaluation
    size_t h = in.prim->hash();
    for (int v : in.inputs) h = h * 1000003u ^ size_t(v);
    for (const auto& s : in.shapes) h = h * 1000003u ^ std::hash<std::string>()(shape_str(s));
    bool merged = false;
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi && !merged; ++it) {
      const Instr& o = p.instrs[size_t(it->second)];
      if (o.inputs != in.inputs || o.shapes != in.shapes || o.dtypes != in.dtypes ||
          !(o.device == in.device) || o.multi != in.multi || !in.prim->is_equivalent(*o.prim))
        continue;
      bool ok = true;  // every output used here exists there and is still alive here
      for (size_t k = 0; k < in.outputs.size(); ++k)
        if (in.outputs[k] >= 0)
          ok &= o.outputs[k] >= 0 && (e == Effect::view || last[size_t(o.outputs[k])] > int(i));
      if (!ok) continue;
      for (size_t k = 0; k < in.outputs.size(); ++k)
        if (in.outputs[k] >= 0) {
          const size_t a = size_t(o.outputs[k]), b = size_t(in.outputs[k]);
          f.fwd[b] = int(a);
          last[a] = std::max(last[a], last[b]);
          p.log.push_back(fmt::format("cse: {} {} -> {}", vname(p, int(b)), in.prim->describe(),
                                      vname(p, int(a))));
        }
      ++p.stats.cse;
      merged = true;
    }
    if (!merged) seen.emplace(h, int(i));
  }
  f.apply(p);
}

// Evaluates, once, the instructions that depend only on literals (full, arange and what is
// computed from them) and turns their outputs into constants. Captured tensors are not literals:
// they are read by reference at each replay (compile.h), so nothing computed from them is frozen.
void fold(Program& p) {
  Forward f(p);
  std::vector<char> folded(p.values.size(), 0);  // value is now a constant from folding
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    Instr& in = p.instrs[i];
    if (!in.alive) continue;
    for (int& v : in.inputs) v = f.resolve(v);
    const Effect e = in.prim->effect();
    if (e != Effect::none && e != Effect::view) continue;
    const PrimitiveKind k = in.prim->kind();
    if (k == PrimitiveKind::dropout || k == PrimitiveKind::random_normal ||
        k == PrimitiveKind::random_uniform)
      continue;
    bool all = true;
    for (int v : in.inputs) all &= v < int(folded.size()) && folded[size_t(v)];
    if (!all) continue;
    size_t bytes = 0;
    for (size_t j = 0; j < in.shapes.size(); ++j)
      bytes += size_t(numel_of(in.shapes[j])) * size_of(in.dtypes[j]);
    if (e != Effect::view && bytes > kFoldMaxBytes) continue;
    std::vector<Tensor> ins;
    for (int v : in.inputs) ins.push_back(p.constants[size_t(p.values[size_t(v)].index)]);
    std::vector<Tensor> outs = run_instr(in, ins);
    for (size_t j = 0; j < outs.size(); ++j) {
      if (in.outputs[j] < 0) continue;
      const int c = int(p.values.size());
      p.values.push_back(make_value(Source::constant, int(p.constants.size()), 0, outs[j]));
      p.constants.push_back(outs[j]);
      folded.push_back(1);
      f.grow(p.values.size());
      f.fwd[size_t(in.outputs[j])] = c;
      p.log.push_back(fmt::format("fold: {} {} -> constant {}", vname(p, in.outputs[j]),
                                  in.prim->describe(), vname(p, c)));
    }
    in.alive = false;
    ++p.stats.folded;
  }
  f.apply(p);
}

void dce(Program& p) {
  std::vector<char> live(p.values.size(), 0);
  for (int v : p.outputs) live[size_t(v)] = 1;
  for (size_t i = p.instrs.size(); i-- > 0;) {
    Instr& in = p.instrs[i];
    if (!in.alive) continue;
    bool needed = false;
    for (int v : in.outputs) needed |= v >= 0 && live[size_t(v)];
    if (!needed) {
      in.alive = false;
      ++p.stats.dead;
      p.log.push_back(fmt::format("dce: {} {}", in.outputs[0] >= 0 ? vname(p, in.outputs[0]) : "-",
                                  in.prim->describe()));
      continue;
    }
    for (int v : in.inputs) live[size_t(v)] = 1;
  }
}

}  // namespace

void optimize(Program& p, const CompileOptions& o) {
  if (o.simplify) simplify(p);
  if (o.cse) cse(p);
  if (o.dce) dce(p);  // first, so that folding never evaluates what nothing reads
  if (o.fold) fold(p);
  if (o.dce) dce(p);
  if (o.fuse) fuse(p);
}

}  // namespace wick::compile_detail
