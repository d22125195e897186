#pragma once
// LoRA adapters (Hu et al. 2021) with PEFT semantics: y = base(x) + scale * dropout(x) A^T B^T,
// A [R, In] Kaiming-uniform (a = sqrt(5), i.e. U(-1/sqrt(In), 1/sqrt(In))), B [Out, R] zeros,
// scale = alpha / R (alpha / sqrt(R) with rsLoRA). Adapter weights are f32 whatever the base
// dtype (PEFT's autocast_adapter_dtype); the adapter input is cast to f32 and the result back.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/random.h"
#include "wick/io/safetensors.h"
#include "wick/nn/module.h"

namespace wick::lora {

/// Which layers get adapters and how they are shaped (PEFT LoraConfig field names).
struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 16;
  double lora_dropout = 0;
  /// Names of Linear modules (last path component, e.g. "q_proj"), or {"all-linear"}.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  /// When set, a regular expression matched against the full module path instead (PEFT's
  /// string form of target_modules).
  std::string target_regex;
  bool use_rslora = false;
  /// Layer indices to adapt (the number after "layers."); empty = all layers.
  std::vector<int64_t> layers_to_transform;
  /// PEFT rank_pattern / alpha_pattern, in file order: a key matches a module path when the
  /// path equals it or fully matches the regex (.*\.)?(key); the first matching key (an exact
  /// match first) gives that layer's rank / alpha instead of r / lora_alpha.
  std::vector<std::pair<std::string, int64_t>> rank_pattern;
  std::vector<std::pair<std::string, double>> alpha_pattern;
  /// Seed of the A initialisation (layers are initialised in parameter-path order).
  uint64_t init_seed = 0;
  std::string base_model_name_or_path;
  /// alpha / r, or alpha / sqrt(r) with rsLoRA.
  double scale() const;
  /// The rank of the layer at `path` (rank_pattern, else r).
  int64_t rank_for(const std::string& path) const;
  /// The scale of the layer at `path` (alpha_pattern / rank_pattern applied, else scale()).
  double scale_for(const std::string& path) const;
  /// Throws ValueError when r <= 0, dropout outside [0, 1) or no target is given.
  void validate() const;
};

/// The LoRA adapter of one Linear layer; its parameters are "lora_A.weight" [R, In] and
/// "lora_B.weight" [Out, R] under the layer's path (PEFT's keys).
class LoraLinear : public nn::LinearAdapter {
 public:
  /// A ~ U(-1/sqrt(In), 1/sqrt(In)) from `init`, B = 0. `dropout_gen` (may be null: the default
  /// generator) draws dropout masks and must outlive the adapter.
  LoraLinear(int64_t in_features, int64_t out_features, int64_t r, double scale, double dropout,
             Generator& init, Generator* dropout_gen);
  /// base_out [..., Out] + scale * (dropout(x) A^T) B^T for x [..., In]; base_out unchanged while
  /// merged. Dropout applies only in training mode.
  Tensor forward(const Tensor& x, const Tensor& base_out) override;
  /// weight + scale * B A, in weight's dtype (computed in f32, f64 for f64).
  Tensor merged_weight(const Tensor& weight) const override;
  /// weight - scale * B A (undoes merged_weight up to rounding).
  Tensor unmerged_weight(const Tensor& weight) const;
  void set_training(bool on) { training_ = on; }
  bool merged() const { return merged_; }
  void set_merged(bool on) { merged_ = on; }
  double scale() const { return scale_; }
  int64_t rank() const { return r_; }

  Tensor lora_A;  // [R, In]
  Tensor lora_B;  // [Out, R]

 private:
  int64_t r_;
  double scale_, dropout_;
  Generator* dropout_gen_;
  bool training_ = true;
  bool merged_ = false;
};

/// One adapted layer: its path (e.g. "model.layers.0.self_attn.q_proj") and the adapter.
struct AdaptedLayer {
  std::string path;
  nn::Linear* layer;
  std::shared_ptr<LoraLinear> adapter;
};

/// Freezes every parameter of `root`, then attaches a LoraLinear to every matching Linear
/// (all-linear: every Linear except one named "lm_head", as PEFT). Throws ValueError when nothing
/// matches. Returns the adapted layers in path order.
std::vector<AdaptedLayer> apply_lora(nn::Module& root, const LoraConfig& config,
                                     Generator* dropout_gen = nullptr);
/// The layers of `root` carrying a LoraLinear adapter.
std::vector<AdaptedLayer> adapted_layers(nn::Module& root);
/// Switches dropout on or off in every adapter.
void set_training(nn::Module& root, bool on);
/// Folds every adapter into its layer's weight (adapters stay attached, marked merged).
void merge(nn::Module& root);
/// Subtracts merged adapters again.
void unmerge(nn::Module& root);
/// Merges every adapter and detaches it, leaving plain Linear layers.
void merge_and_unload(nn::Module& root);

/// Writes adapter_config.json and adapter_model.safetensors (keys
/// "base_model.model.<path>.lora_A.weight") into `dir` (created if needed), atomically per file.
void save_adapter(nn::Module& root, const LoraConfig& config, const std::filesystem::path& dir);
/// Reads adapter_config.json (IoError naming the file and key when malformed).
LoraConfig read_adapter_config(const std::filesystem::path& dir);
/// Applies the adapter stored in `dir` (PEFT or wick) to `root`: reads its config, attaches
/// adapters and loads their weights, validating shapes; unknown or missing tensors are named in
/// the IoError. Returns the config.
LoraConfig load_adapter(nn::Module& root, const std::filesystem::path& dir,
                        Generator* dropout_gen = nullptr);
/// Loads adapter weights from `dir` into already attached adapters (same checks).
void load_adapter_weights(nn::Module& root, const std::filesystem::path& dir);

}  // namespace wick::lora

namespace wick::lora {

/// The adapted weights of the checkpoint `ck` (of the folder `model_dir`, named in errors): for
/// every layer of the adapter in `adapter_dir`, "<path>.weight" = W + scale * B A, evaluated, in
/// W's stored dtype (computed in f32, f64 for f64). IoError / DtypeError naming the layer when the
/// adapter does not fit the checkpoint.
std::map<std::string, Tensor> merged_weights(const io::Checkpoint& ck,
                                             const std::filesystem::path& model_dir,
                                             const std::filesystem::path& adapter_dir);

/// Merges the adapter in `adapter_dir` into the weights of the model folder `model_dir` and
/// writes a complete model folder to `out_dir`: merged weights in their stored dtype (computed in
/// f32, f64 for f64), every other tensor copied as is, and every other file of the model folder
/// (config.json, generation_config.json, tokenizer files) copied. The folder is built under a
/// temporary name and renamed into place; `out_dir` must not exist or be empty. Returns the
/// number of merged weights.
int64_t merge_adapter_into_checkpoint(const std::filesystem::path& model_dir,
                                      const std::filesystem::path& adapter_dir,
                                      const std::filesystem::path& out_dir);

}  // namespace wick::lora
