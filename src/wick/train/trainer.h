#pragma once
// Trainer: LoRA or full fine-tuning of a causal language model. Loss = mean cross-entropy over
// the non-masked shifted targets of all micro-batches of an optimizer step (normalised by their
// total count, as transformers >= 4.46 does, so accumulating N micro-batches equals one batch of
// N times the size). Checkpoints hold the adapter (or trainable weights), optimizer state, RNG
// state, step and data position, written to a temporary folder and renamed (atomic).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/random.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"
#include "wick/nn/module.h"
#include "wick/optim/optimizer.h"
#include "wick/train/dataset.h"

namespace wick::train {

/// What the trainer needs from a causal language model.
class CausalLM {
 public:
  virtual ~CausalLM() = default;
  /// The parameter tree (paths = checkpoint keys).
  virtual nn::Module& module() = 0;
  /// Final (normed) hidden states [B, T, D] for ids [B, T] i64 at positions [B, T] i64; mask is
  /// an additive [B, 1, T, T] attention mask (packed batches), causal attention when absent.
  virtual Tensor hidden_states(const Tensor& ids, const Tensor& positions,
                               const std::optional<Tensor>& mask) = 0;
  /// The output projection [V, D] as used by the forward pass (tied or not, adapters folded in).
  virtual Tensor lm_head_weight() = 0;
  /// Recompute each layer in the backward pass instead of keeping its activations.
  virtual void set_grad_checkpoint(bool on) {
    if (on) fail<NotImplemented>("train", "this model does not support gradient checkpointing");
  }
};

struct TrainConfig {
  std::filesystem::path data;  // a .jsonl file or a folder with train.jsonl (+ valid.jsonl)
  // Adapter (ignored with full).
  lora::LoraConfig lora;
  bool full = false;  // full fine-tuning: every parameter is trained
  // Optimizer and schedule.
  std::string optimizer = "adamw";  // adamw | sgd
  double lr = 1e-4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // 0: no clipping
  std::string lr_schedule = "constant";
  int64_t warmup = 0;
  // Length of training: iters optimizer steps, or epochs over the data (iters wins when > 0).
  int64_t iters = 0;
  int64_t epochs = 0;
  int64_t batch_size = 1;
  int64_t grad_accum = 1;
  size_t max_seq_len = 2048;
  bool mask_prompt = false;  // the CLI turns it on (TRL's default); the library keeps it opt-in
  DataKeys keys;             // field names of text and prompt/completion records
  bool add_eos = true;       // append the model's eos id to each example (train_from_folder)
  bool shuffle = true;
  bool pack = false;  // pack each micro-batch's examples into rows of up to max_seq_len tokens
  uint64_t seed = 0;
  int64_t save_every = 0;    // 0: only the final result
  int64_t eval_every = 0;    // 0: only at the end (when there is validation data)
  int64_t eval_batches = 0;  // 0: the whole validation set
  bool initial_eval = true;  // evaluate before the first step (step 0) when there is valid data
  bool keep_best = false;    // keep OUT/checkpoint-best: the step with the lowest validation loss
  int64_t early_stop = 0;    // stop after this many evaluations without improvement (0: off)
  bool grad_checkpoint = false;
  // Where the model, its adapters, the batches and the optimizer state live; absent: where the
  // model's parameters are. Checkpoints and results are written from host copies.
  std::optional<Device> device;
  std::filesystem::path out;
  bool overwrite = false;  // train_from_folder: reuse a non-empty out (see output_guard.h)
  std::optional<std::filesystem::path> metrics;  // default out/metrics.jsonl
  std::optional<std::filesystem::path> resume;   // a checkpoint folder
  std::optional<std::filesystem::path> resume_adapter;
  std::string base_model_name_or_path;
  // Written as wick_base_model.json beside every adapter (so a mismatched base is refused later).
  std::optional<lora::BaseInfo> base_info;
  // Full fine-tuning: the model folder whose other files (config.json, generation_config.json,
  // tokenizer files) are copied next to the trained model.safetensors, making a complete folder.
  std::optional<std::filesystem::path> model_dir;
};

/// One optimizer step, as logged.
struct StepInfo {
  int64_t step = 0;  // 1-based
  int64_t total_steps = 0;
  int64_t epoch = 0;
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  int64_t tokens = 0;        // input tokens of this step
  int64_t total_tokens = 0;  // since the start (including before a resume)
  double tokens_per_s = 0;
  double elapsed_s = 0;
  double eta_s = 0;
};

struct EvalInfo {
  int64_t step = 0;
  double loss = 0;
  int64_t tokens = 0;
};

/// What a run will do, reported before the first step.
struct RunSummary {
  int64_t trainable_params = 0, total_params = 0;
  DataStats train;
  std::optional<DataStats> valid;
  size_t max_seq_len = 0;
  int64_t total_steps = 0, start_step = 0;
  std::optional<double> initial_eval_loss;  // step 0 validation loss (fresh runs with valid data)
};

/// Callbacks for progress display (the library never prints).
struct TrainCallbacks {
  std::function<void(const RunSummary&)> on_start;
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EvalInfo&)> on_eval;
  std::function<void(const std::string&)> on_message;
};

struct TrainResult {
  int64_t steps = 0;
  double final_loss = 0;
  std::optional<double> final_eval_loss;
  std::vector<StepInfo> history;
  std::vector<EvalInfo> evals;
  double elapsed_s = 0;    // wall time of this run() (after any resume)
  int64_t run_tokens = 0;  // input tokens processed by this run()
  bool stopped_early = false;
  std::optional<EvalInfo> best;                          // lowest validation loss seen
  std::optional<std::filesystem::path> best_checkpoint;  // with keep_best
};

class Trainer {
 public:
  /// Prepares training: attaches adapters (unless full), loads --resume-adapter, tokenizes the
  /// data. `eos_id` is appended to each example; `pad_id` fills padding.
  Trainer(CausalLM& model, const Tokenizer& tok, TrainConfig config, std::optional<int32_t> eos_id,
          int32_t pad_id, ChatRenderer chat = {});
  ~Trainer();
  /// Runs to the end (or resumes); writes the final adapter (or weights), metrics and plot.
  TrainResult run(const TrainCallbacks& cb = {});
  /// Mean loss over the validation set (dropout off).
  double evaluate(const std::vector<Sample>& data, int64_t* tokens = nullptr);
  /// Mean loss of one batch without updating anything.
  double batch_loss(const Batch& b);
  /// Parameter counts and data statistics (RunSummary without the initial loss).
  RunSummary summary() const;
  const std::vector<Sample>& train_samples() const { return train_; }
  const std::vector<Sample>& valid_samples() const { return valid_; }
  int64_t total_steps() const { return total_steps_; }
  /// The trainable parameters, in a fixed order.
  const std::vector<nn::ParamRef>& trainable() const { return params_; }

 private:
  struct State;
  Batch make_batch(const std::vector<const Sample*>& s) const;
  std::vector<const Sample*> next_micro_batch();
  void save_checkpoint(const std::filesystem::path& dir);
  void load_checkpoint(const std::filesystem::path& dir);
  void save_final();
  void write_metrics();

  CausalLM& model_;
  TrainConfig cfg_;
  int32_t pad_id_;
  Device device_;
  std::vector<Sample> train_, valid_;
  std::vector<nn::ParamRef> params_;
  std::unique_ptr<optim::Optimizer> opt_;
  Generator dropout_gen_;
  int64_t total_steps_ = 0;
  int64_t step_ = 0, epoch_ = 0, pos_ = 0, tokens_seen_ = 0;
  std::vector<int64_t> order_;
  std::vector<std::string> metric_lines_;
  std::vector<StepInfo> history_;
  std::vector<EvalInfo> evals_;
};

/// TensorBoard-style debiased exponential moving average of `values` (weight in [0, 1); non-finite
/// values are skipped). Used for the smoothed train curve of the loss plot.
std::vector<double> smooth_losses(const std::vector<double>& values, double weight);
/// Whole-step tick positions in [first, last], every 1, 2, 5, 10, 20, ... steps, at most
/// max_ticks of them.
std::vector<int64_t> step_ticks(int64_t first, int64_t last, int max_ticks);
/// Writes an SVG line plot of training loss (raw and smoothed) and eval points per step (atomic).
void write_loss_svg(const std::filesystem::path& file, const std::vector<StepInfo>& steps,
                    const std::vector<EvalInfo>& evals, const std::string& title);

}  // namespace wick::train
