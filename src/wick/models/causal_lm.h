#pragma once
// CausalLM: the interface every decoder-only language model implements (one forward over token ids
// with an optional key/value cache), the KV cache itself, and the registry that loads a model
// folder by its config's "architectures".
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/io/hf_config.h"
#include "wick/nn/module.h"

namespace wick::models {

/// A pre-allocated key/value cache: per layer k and v of shape [B, Hkv, max_T, Dh], written in
/// place as tokens are processed. `length` is the number of positions already filled.
struct KVCache {
  std::vector<Tensor> k, v;
  int64_t batch = 0;
  int64_t max_length = 0;
  int64_t length = 0;
  /// Bytes held by the cache.
  size_t nbytes() const;
};

/// Which positions get logits.
enum class LogitsFor : uint8_t { all, last };

/// Optional outputs of a forward pass.
struct ForwardTrace {
  /// hidden_states as transformers returns them with output_hidden_states=True: the embeddings,
  /// then each layer's output, the last one after the final norm (num_hidden_layers + 1 entries).
  std::vector<Tensor> hidden_states;
};

class CausalLM : public nn::Module {
 public:
  /// The parsed config.json.
  virtual const io::LlamaConfig& config() const = 0;
  /// Logits [B, T, V] (or [B, 1, V] for LogitsFor::last) for ids [B, T] (i32/i64) at positions
  /// cache->length ... (0 without a cache); the cache is extended by T. Compute dtype throughout.
  virtual Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                         LogitsFor which = LogitsFor::all, ForwardTrace* trace = nullptr) = 0;
  /// An empty cache for `batch` sequences of up to `max_length` positions.
  virtual KVCache make_cache(int64_t batch, int64_t max_length) const = 0;
  /// The dtype activations and weights are computed in.
  virtual DType compute_dtype() const = 0;
  /// When on, forward without a cache recomputes each decoder layer in the backward pass instead
  /// of keeping its activations (same values and gradients, less memory). NotImplemented by
  /// default.
  virtual void set_grad_checkpoint(bool on) {
    if (on) fail<NotImplemented>("grad_checkpoint", "this model does not support it");
  }
};

/// How to load a model.
struct LoadOptions {
  /// Compute dtype; empty keeps the checkpoint's dtype (weights are then used zero-copy).
  std::optional<DType> dtype;
};

/// The "architectures" names load_causal_lm accepts.
const std::vector<std::string>& supported_architectures();
/// Builds the model named by config.architectures[0] (ValueError listing the supported ones when
/// it is unknown), without weights.
std::unique_ptr<CausalLM> make_causal_lm(const io::LlamaConfig& config, DType dtype);
/// Reads config.json and the safetensors weights of a model folder. Every expected tensor must be
/// present with its shape and no unexpected tensor may be stored (IoError naming it).
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir,
                                         const LoadOptions& options = {});
/// Loads weights from `get` into `model` (the same checks as load_causal_lm); `names` are the
/// stored tensor names, used to reject extra tensors; `label` names the source in errors.
void load_weights(CausalLM& model, const std::vector<std::string>& names,
                  const std::function<Tensor(const std::string&)>& get, const std::string& label);

}  // namespace wick::models
