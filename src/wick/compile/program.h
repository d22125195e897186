#pragma once
// The compiler's graph (internal to src/wick/compile): values (inputs, constants, instruction
// outputs) and instructions in a topological order, plus the passes over it.
#include <memory>
#include <string>
#include <vector>

#include "wick/backend/cpu/fused.h"
#include "wick/compile/compile.h"
#include "wick/core/primitive.h"

namespace wick::compile_detail {

enum class Source : uint8_t { input, constant, instr };

struct Value {
  Source source = Source::instr;
  int index = 0;   // input index, constant index or instruction index
  int output = 0;  // which output of the instruction
  // A tensor with this value's shape, dtype, device and layout: the traced node (or the input's
  // placeholder, or the constant). Passes use it to ask primitives about layouts; it is dropped
  // (with the traced graph it holds) once the program is final, keeping shape and dtype.
  Tensor proto;
  Shape shape;
  DType dtype = DType::f32;
};

inline Value make_value(Source source, int index, int output, Tensor proto) {
  Value v;
  v.source = source;
  v.index = index;
  v.output = output;
  v.shape = proto.shape();
  v.dtype = proto.dtype();
  v.proto = std::move(proto);
  return v;
}

struct Instr {
  std::shared_ptr<Primitive> prim;
  std::vector<int> inputs;   // value ids
  std::vector<int> outputs;  // value ids, -1 for an output nobody uses
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  Device device;
  bool multi = false;  // built with Tensor::make_multi
  bool alive = true;
  // Set on a fused elementwise chain (prim is null): its steps over `inputs`; `kinds` lists them.
  std::shared_ptr<cpu::FusedChain> fused;
};

struct Program {
  std::vector<Value> values;
  std::vector<Instr> instrs;
  std::vector<Tensor> constants;
  int num_inputs = 0;
  std::vector<int> outputs;  // value ids
  PassStats stats;
  // One line per rewrite a pass made ("cse: %12 mul -> %7"), for the dump.
  std::vector<std::string> log;
  // Filled by finalize(): the live instructions in order and, per value, the position in that
  // list of its last reader (-1: never read; outputs are never released).
  std::vector<int> schedule;
  std::vector<int> last_use;
};

/// Runs the enabled passes in order: simplify, cse, dce, fold, dce, fuse.
void optimize(Program& p, const CompileOptions& o);
/// Replaces chains of f32 elementwise nodes on the CPU by fused instructions.
void fuse(Program& p);
/// Computes the schedule and the last uses.
void finalize(Program& p);
/// Runs an instruction on tensors `ins` and returns its outputs (evaluated).
std::vector<Tensor> run_instr(const Instr& in, const std::vector<Tensor>& ins);
/// Text and dot dumps.
std::string dump_text(const Program& p);
std::string dump_dot(const Program& p);

}  // namespace wick::compile_detail
