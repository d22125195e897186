#pragma once
// Tensor: a cheap value handle to a node of the lazy graph. A node is either pending (a primitive
// and its inputs) or evaluated (a buffer). Shape, dtype, device and layout (strides and element
// offset) are known as soon as the op is built: computing ops write row-major outputs, and views
// derive their layout from their input's, so whether a reshape is a view is decided at build time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wick/core/buffer.h"
#include "wick/core/device.h"
#include "wick/core/dtype.h"
#include "wick/core/errors.h"

namespace wick {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;  // in elements, not bytes

class Primitive;
class Tensor;
struct Node;

/// The outputs of one multi-output node (siblings: one primitive, evaluated together). Nodes are
/// held weakly, so an output nobody uses can be dropped; its shape and dtype stay known.
struct OutputGroup {
  std::vector<std::weak_ptr<Node>> nodes;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
};

/// Number of elements of a shape.
int64_t numel_of(const Shape& s);
/// Row-major strides of a shape.
Strides contiguous_strides(const Shape& s);
/// "[2, 3, 4]".
std::string shape_str(const Shape& s);

struct Node {
  Shape shape;
  DType dtype = DType::f32;
  Device device;
  // Layout (known when built) and, once evaluated, the buffer.
  std::shared_ptr<Buffer> buffer;
  Strides strides;
  int64_t offset = 0;
  // Pending state (kept after evaluation only while a gradient trace needs it).
  std::shared_ptr<Primitive> prim;
  std::vector<Tensor> inputs;
  // Creation number of a node built by Tensor::make (0 otherwise): checkpoint() tells the nodes
  // its function built from the ones it captured.
  uint64_t serial = 0;
  // Set on the outputs of a multi-output primitive (null for single-output nodes).
  std::shared_ptr<OutputGroup> group;
  int output_index = 0;
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Releases the inputs iteratively, so dropping a long unevaluated chain cannot overflow the
  /// stack.
  ~Node();
};

class Tensor {
 public:
  Tensor() = default;
  /// A pending tensor: the result of `prim` applied to `inputs` (used by op builders).
  static Tensor make(Shape shape, DType dtype, Device device, std::shared_ptr<Primitive> prim,
                     std::vector<Tensor> inputs);
  /// The outputs of a primitive with several (siblings: evaluated together by one kernel call).
  static std::vector<Tensor> make_multi(std::vector<Shape> shapes, std::vector<DType> dtypes,
                                        Device device, std::shared_ptr<Primitive> prim,
                                        std::vector<Tensor> inputs);
  /// An evaluated tensor over an existing buffer.
  static Tensor from_buffer(std::shared_ptr<Buffer> buffer, Shape shape, DType dtype,
                            Strides strides = {}, int64_t offset = 0);

  bool valid() const { return node_ != nullptr; }
  const Shape& shape() const { return node().shape; }
  /// Size of axis `axis` (negative counts from the end).
  int64_t shape(int axis) const;
  int ndim() const { return int(node().shape.size()); }
  int64_t numel() const { return numel_of(node().shape); }
  DType dtype() const { return node().dtype; }
  Device device() const { return node().device; }
  size_t nbytes() const { return size_t(numel()) * size_of(dtype()); }

  bool is_evaluated() const { return node().buffer != nullptr; }
  bool is_pending() const { return !is_evaluated(); }
  /// Evaluates this tensor (and whatever it depends on); a no-op when already evaluated.
  const Tensor& eval() const;

  // Layout (known from build time) and buffer (after eval()).
  const Strides& strides() const { return node().strides; }
  int64_t offset() const { return node().offset; }
  const std::shared_ptr<Buffer>& buffer() const { return node().buffer; }
  bool is_contiguous() const;
  /// Pointer to the first element (offset applied); evaluates a pending tensor first. Reading a
  /// tensor on a device the host cannot address is a ValueError (copy it with to(Device::cpu())).
  template <class T>
  T* data() const {
    return reinterpret_cast<T*>(raw_data());
  }
  void* raw_data() const;

  /// This tensor on `device` (a lazy copy; itself when it is there already). Differentiable.
  Tensor to(Device device) const;

  /// Value of a one-element tensor, converted to T (evaluates).
  template <class T>
  T item() const;
  /// All elements in row-major order, converted to T (evaluates; copies to the host).
  template <class T>
  std::vector<T> to_vector() const;

  // Graph state.
  const std::shared_ptr<Primitive>& primitive() const { return node().prim; }
  const std::vector<Tensor>& inputs() const { return node().inputs; }
  Node* id() const { return node_.get(); }
  /// Which output of its primitive this is (0 for single-output nodes).
  int output_index() const { return node().output_index; }
  /// Every output of this tensor's primitive, in order (itself for a single-output node). An
  /// output that was dropped comes back as a fresh pending node of its shape and dtype.
  std::vector<Tensor> siblings() const;
  bool same(const Tensor& o) const { return node_ == o.node_; }

  // Used by kernels to set the output of a primitive.
  /// Allocates a fresh row-major buffer for this (pending) tensor.
  void alloc_contiguous() const;
  /// Makes this tensor a view of `base`'s buffer with the given strides and element offset.
  void set_view(const Tensor& base, Strides strides, int64_t offset) const;
  /// Points this tensor at `base`'s buffer, keeping the layout it was built with.
  void share_buffer(const Tensor& base) const;
  /// Drops the primitive and inputs of an evaluated tensor (its graph is no longer needed).
  void detach_graph() const;

 private:
  Node& node() const {
    if (!node_) throw ValueError("[tensor] use of an empty (default-constructed) Tensor");
    return *node_;
  }
  std::shared_ptr<Node> node_;
};

/// The serial the next node built by Tensor::make will get (serials only grow).
uint64_t next_node_serial();

/// Evaluates several tensors in one graph walk (shared work is done once).
void eval(const std::vector<Tensor>& tensors);

/// Eager mode evaluates every op as it is built (for debugging and the lazy-vs-eager benchmark).
/// The process default starts on when the environment variable WICK_EAGER=1 is set; set_eager
/// changes the default, and an EagerMode guard overrides it for the current thread while alive.
void set_eager(bool on);
bool eager();
class EagerMode {
 public:
  explicit EagerMode(bool on);
  ~EagerMode();
  EagerMode(const EagerMode&) = delete;
  EagerMode& operator=(const EagerMode&) = delete;

 private:
  int saved_;
};

namespace detail {
/// While alive, kernels running on this thread may read device buffers of host-addressable
/// backends (the checked device's kernels are the CPU's).
class KernelScope {
 public:
  KernelScope();
  ~KernelScope();
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
};
bool in_kernel();
}  // namespace detail

}  // namespace wick
