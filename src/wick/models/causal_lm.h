#pragma once
// CausalLM: the interface every decoder-only language model implements (one forward over token ids
// with an optional key/value cache, optional per-token positions and an optional attention mask),
// the KV cache itself, and the registry that loads a model folder by its config's "architectures".
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

/// Optional inputs of a forward pass beyond the ids, e.g. for packed rows (several documents in one
/// row, positions restarting at 0 at each document, a block-diagonal mask).
struct ForwardInputs {
  /// Rotary positions [B, T] (i32/i64) of the ids; absent: offset + 0..T-1 in every row (offset =
  /// the cache length, 0 without a cache).
  std::optional<Tensor> positions;
  /// Attention mask broadcastable to [B, H, T, S] (S = keys seen: offset + T with a cache, else
  /// T): bool (true = may attend) or additive float (0 or -inf; cast to the compute dtype). It is
  /// combined with, never replaces, the model's own causal (and sliding-window) mask, so a query
  /// sees a key only when both allow it. The sliding window counts key indices in the row, not
  /// positions (as transformers' masks do); inside one packed document the two are the same.
  std::optional<Tensor> mask;
};

class CausalLM : public nn::Module {
 public:
  /// The parsed config.json.
  virtual const io::LlamaConfig& config() const = 0;
  /// Logits [B, T, V] (or [B, 1, V] for LogitsFor::last) for ids [B, T] (i32/i64) at positions
  /// cache->length ... (0 without a cache) unless inputs.positions gives them, attending under the
  /// causal mask combined with inputs.mask; the cache is extended by T. Compute dtype throughout.
  virtual Tensor forward(const Tensor& ids, KVCache* cache = nullptr,
                         LogitsFor which = LogitsFor::all, ForwardTrace* trace = nullptr,
                         const ForwardInputs& inputs = {}) = 0;
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
