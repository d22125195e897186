#pragma once
// The trainer's view of a models::CausalLM (Llama, Mistral, Qwen2, Qwen3): final hidden states
// from the model's forward trace and the output projection (lm_head, or the tied embeddings).
#include <optional>

#include "wick/models/causal_lm.h"
#include "wick/train/trainer.h"

namespace wick::train {

class ModelBridge : public CausalLM {
 public:
  /// Wraps `model` (which must outlive the bridge).
  explicit ModelBridge(models::CausalLM& model);
  nn::Module& module() override { return model_; }
  /// Final-norm hidden states [B, T, D] for ids [B, T] at positions [B, T] (rope), attending under
  /// the causal mask combined with `mask` (additive [B, 1, T, T], packed batches; the sliding
  /// window of Mistral/Qwen2 applies inside each document).
  Tensor hidden_states(const Tensor& ids, const Tensor& positions,
                       const std::optional<Tensor>& mask) override;
  /// lm_head.weight (with a LoRA adapter folded in when lm_head carries one), or the embedding
  /// table for tied models: [V, D].
  Tensor lm_head_weight() override;
  /// Recomputes each decoder layer in the backward pass (models::CausalLM::set_grad_checkpoint).
  void set_grad_checkpoint(bool on) override;

 private:
  models::CausalLM& model_;
  nn::Linear* lm_head_ = nullptr;  // null when tied
  Tensor* embed_ = nullptr;
};

}  // namespace wick::train

namespace wick::train {

/// The token ids training uses for a model folder: eos from generation_config.json (else
/// config.json), pad from config.json's pad_token_id (else generation_config's, else eos, else 0).
struct SpecialIds {
  std::optional<int32_t> eos;
  int32_t pad = 0;
};
/// Reads the special ids of the model folder `dir` with the parsed `config`.
SpecialIds special_ids(const std::filesystem::path& dir, const io::LlamaConfig& config);

/// The renderer of {"messages"} data with the chat template of `model_dir`: the prompt is every
/// turn before the last assistant turn (with the generation prompt), the full text all turns.
/// Empty when the folder has no chat template.
ChatRenderer chat_renderer(const std::filesystem::path& model_dir);

/// Loads the model folder `model_dir` (f32 compute) and its tokenizer, trains with `config`
/// (config.model_dir and base_model_name_or_path are filled in when empty) and returns the result.
TrainResult train_from_folder(const std::filesystem::path& model_dir, TrainConfig config,
                              const TrainCallbacks& callbacks = {});

}  // namespace wick::train
