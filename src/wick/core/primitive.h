#pragma once
// Primitive: one class per op, known to the engine by its kind (one enum generated from
// primitives.def), its readable parameters and its declared effect. Backends evaluate a primitive
// through the kernel they registered for its kind (core/backend.h); a primitive itself holds no
// device code. Its vector-Jacobian product is built from public ops (so gradients are lazy graphs
// too, on any device).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// Every primitive kind wick defines, in the order of primitives.def.
enum class PrimitiveKind : uint16_t {
#define WICK_PRIMITIVE(name) name,
#include "wick/core/primitives.def"
#undef WICK_PRIMITIVE
};
/// Number of primitive kinds.
inline constexpr int kNumPrimitiveKinds = 0
#define WICK_PRIMITIVE(name) +1
#include "wick/core/primitives.def"
#undef WICK_PRIMITIVE
    ;
/// The kind's public name ("rms_norm").
const char* kind_name(PrimitiveKind k);

/// What a primitive does to memory, declared so that the scheduler, a compiler and graph capture
/// can order and replay it without looking inside.
enum class Effect : uint8_t {
  /// Computes fresh, row-major outputs from its inputs (the common case).
  none,
  /// Output 0 is a view of input 0: same buffer, strides and offset from `view_layout`, no kernel
  /// on any device.
  view,
  /// Writes into input 0's buffer (in place) and output 0 aliases it (the KV-cache write, an
  /// in-place optimizer update). Consumers of the old value must be ordered before it by the
  /// caller (chaining through the output does that).
  writes_input,
  /// Evaluated by the engine itself on any device through `eval_generic` (checkpoint's nested
  /// evaluation); no kernel.
  generic,
};

/// One readable parameter value of a primitive.
using ParamValue = std::variant<int64_t, double, std::string, std::vector<int64_t>>;
struct Param {
  const char* name;
  ParamValue value;
  bool operator==(const Param& o) const;
};
using Params = std::vector<Param>;

/// Strides (in elements) and element offset of a view, relative to its base's buffer.
struct Layout {
  Strides strides;
  int64_t offset = 0;
};

class Primitive {
 public:
  explicit Primitive(PrimitiveKind kind) : kind_(kind) {}
  virtual ~Primitive() = default;
  PrimitiveKind kind() const { return kind_; }
  /// The op's public name, used in errors and the op-coverage test.
  const char* name() const { return kind_name(kind_); }
  /// The primitive's parameters (axis, shape, scalar, dtype, ...) by name; with the kind they
  /// define it: two primitives with equal kind and parameters compute the same function.
  virtual Params params() const { return {}; }
  virtual Effect effect() const { return Effect::none; }
  /// Same kind and parameters (for common-subexpression elimination and compile caches).
  /// Primitives holding state that parameters cannot show (checkpoint) are equivalent only to
  /// themselves.
  virtual bool is_equivalent(const Primitive& o) const;
  /// Hash of kind and parameters, consistent with is_equivalent.
  size_t hash() const;
  /// "rms_norm(eps=1e-06)".
  std::string describe() const;

  /// Effect::view only: the layout of output 0 over input 0's buffer.
  virtual Layout view_layout(const std::vector<Tensor>& inputs, const Shape& out_shape) const;
  /// Effect::generic only: evaluates the outputs on whatever device they live.
  virtual void eval_generic(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);
  /// A fused primitive's reference composition of simpler primitives (same outputs, built lazily
  /// on the inputs' device); the engine runs it where a backend has no kernel for this kind.
  /// Empty when the primitive has none.
  virtual std::vector<Tensor> fallback(const std::vector<Tensor>& inputs) const;

  /// Gradients with respect to each input for which `wanted[i]` is true (others may be left
  /// empty). `out` is this primitive's output, `cotangent` has its shape. The default throws.
  virtual std::vector<Tensor> vjp(const std::vector<Tensor>& inputs, const Tensor& out,
                                  const Tensor& cotangent, const std::vector<bool>& wanted);
  /// The vjp of a multi-output primitive: `outputs` are its siblings and `cotangents` theirs (an
  /// empty Tensor where an output has none). The default calls vjp with output 0.
  virtual std::vector<Tensor> vjp_multi(const std::vector<Tensor>& inputs,
                                        const std::vector<Tensor>& outputs,
                                        const std::vector<Tensor>& cotangents,
                                        const std::vector<bool>& wanted);
  /// True when the op's output is never differentiated through (comparisons, argmax, ...).
  virtual bool non_differentiable() const { return false; }

 private:
  const PrimitiveKind kind_;
};

/// Names of every primitive wick defines (primitives.def order); the op-coverage test checks each
/// has a forward and a gradient test.
const std::vector<const char*>& all_primitive_names();

}  // namespace wick
