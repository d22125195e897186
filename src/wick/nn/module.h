#pragma once
// Module: a node of the named parameter tree. Parameter paths equal checkpoint keys
// ("model.layers.3.mlp.gate_proj.weight"), so loading and saving need no name tables.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wick/core/tensor.h"

namespace wick::nn {

/// A parameter slot: the tensor lives in the module; optimizers and loaders assign through it.
struct ParamRef {
  std::string path;
  Tensor* tensor;
  bool trainable;
  Shape shape;  // the shape a loaded tensor must have (empty when not declared)
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Every parameter below this module, depth first in registration order, with full paths.
  std::vector<ParamRef> parameters(const std::string& prefix = "") const;
  /// Parameters whose `trainable` flag is set.
  std::vector<ParamRef> trainable_parameters(const std::string& prefix = "") const;
  /// Every submodule with its full path (this one first, with path `prefix`).
  std::vector<std::pair<std::string, Module*>> modules(const std::string& prefix = "");
  /// Marks every parameter below this module trainable or frozen.
  void set_trainable(bool on);
  /// Moves every parameter below this module to `device` (copied once, evaluated there), and each
  /// module's own buffers through move_buffers.
  void to(Device device);

 protected:
  /// Moves tensors a module holds that are not parameters (rope frequencies, ...). Default: none.
  virtual void move_buffers(Device) {}

 public:
 protected:
  /// Registers a parameter slot named `name` (the tensor must outlive the module: a member) with
  /// the shape a checkpoint must provide.
  void register_parameter(const std::string& name, Tensor* t, Shape shape, bool trainable = false);
  /// Registers a child module named `name` (a member or an owned pointer); an empty name puts the
  /// child's parameters directly under this module's path.
  void register_module(const std::string& name, Module* m);
  /// Drops a registration (used when a child is replaced, e.g. by an adapter).
  void unregister(const std::string& name);

 private:
  struct Param {
    std::string name;
    Tensor* tensor;
    bool trainable;
    Shape shape;
  };
  std::vector<Param> params_;
  std::vector<std::pair<std::string, Module*>> children_;
};

/// Something that adds to a linear layer's output (LoRA). It is registered as an unnamed child of
/// the layer, so its parameters ("lora_A.weight", ...) sit directly under the layer's path, as in
/// PEFT's files.
class LinearAdapter : public Module {
 public:
  /// Returns base_out plus the adapter's contribution for input x [..., In].
  virtual Tensor forward(const Tensor& x, const Tensor& base_out) = 0;
  /// Folds the adapter into `weight` [Out, In] (returns the merged weight).
  virtual Tensor merged_weight(const Tensor& weight) const = 0;
};

/// y = x W^T (+ b): weight [Out, In], optional bias [Out] (torch.nn.Linear).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias);
  /// x [..., In] -> [..., Out], through the adapter when one is attached.
  Tensor forward(const Tensor& x);
  /// Attaches an adapter (registered as child modules of this layer, e.g. "lora_A").
  void set_adapter(std::shared_ptr<LinearAdapter> adapter);
  const std::shared_ptr<LinearAdapter>& adapter() const { return adapter_; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  Tensor weight;
  Tensor bias;  // empty when the layer has none

 private:
  int64_t in_, out_;
  std::shared_ptr<LinearAdapter> adapter_;
};

/// Where a model lives: the device of `m`'s first parameter (the CPU when it has none). Inputs
/// built for a forward pass go there.
Device module_device(const Module& m);

/// Loads parameters from `get(path)` into every slot of `m` (below `prefix`); throws IoError
/// naming a missing or wrongly shaped tensor. `get` returns an invalid Tensor when absent.
/// (Checking for extra tensors in a checkpoint is the caller's job: it knows the file's keys.)
void load_parameters(Module& m, const std::function<Tensor(const std::string&)>& get,
                     const std::string& prefix = "");

}  // namespace wick::nn
