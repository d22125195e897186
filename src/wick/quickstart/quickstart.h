#pragma once
// wick quickstart: the built-in end-to-end demo. From Debian's King James Bible it trains a
// byte-level BPE tokenizer and pretrains a small Llama model from scratch; then it LoRA-fine-tunes
// that model on WordNet noun definitions ("Define: <word>\n" -> gloss, loss on the gloss only),
// measures held-out bits per byte, shows sampled generations before and after the adapter, merges
// the adapter, and leaves every result as a Hugging Face folder under `out`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "wick/train/trainer.h"

namespace wick::quickstart {

/// Sizes of one quickstart run.
struct QuickstartSizes {
  std::string bible_range;  // verses for the corpus
  size_t doc_chars = 0;     // verses are grouped into documents of at least this many chars
  size_t vocab_size = 0;    // BPE vocabulary (special tokens + 256 bytes + merges)
  int64_t hidden = 0, layers = 0, heads = 0, ffn = 0;
  int64_t seq_len = 0;  // tokens per training row
  int64_t pretrain_steps = 0, pretrain_batch = 0;
  double pretrain_lr = 0;
  size_t definitions = 0;  // WordNet examples for fine-tuning (+ a few held out)
  int64_t lora_rank = 0, finetune_steps = 0, finetune_batch = 0;
  double finetune_lr = 0;
  int64_t generate_tokens = 0;
  double temperature = 0.8, top_p = 0.9;  // sampling of the demo generations (seeded)
  /// The default demo (about 400 CPU-seconds: ~3.5 minutes on 2 idle cores) or the scaled-down
  /// one (`tiny`, seconds).
  static QuickstartSizes defaults(bool tiny);
};

struct QuickstartOptions {
  std::filesystem::path out = "wick-quickstart";
  uint64_t seed = 0;
  QuickstartSizes sizes = QuickstartSizes::defaults(false);
  std::filesystem::path wordnet_dir = "/usr/share/wordnet";
  Device device = Device::cpu();  // where the models train and generate
};

/// Progress reporting (the library never prints): stage is "pretrain" or "finetune".
struct QuickstartCallbacks {
  std::function<void(const std::string& stage, const train::StepInfo&)> on_step;
  std::function<void(const std::string&)> on_message;
};

/// One demo prompt with its sampled continuation from the base model and with the adapter.
struct DemoGeneration {
  std::string prompt, base, adapted;
};

struct QuickstartResult {
  std::filesystem::path tokenizer_dir, base_dir, adapter_dir, merged_dir, data_dir;
  size_t corpus_chars = 0, documents = 0, definitions = 0;
  size_t vocab_size = 0;
  int64_t parameters = 0, adapter_parameters = 0;
  double pretrain_first_loss = 0, pretrain_last_loss = 0;
  double finetune_first_loss = 0, finetune_last_loss = 0;
  double finetune_eval_loss_base = 0, finetune_eval_loss = 0;  // held-out definitions
  // Held-out quality in bits per byte: nats per scored token * scored tokens / (UTF-8 bytes of
  // the scored text * ln 2). Verses: documents kept out of pretraining, every token scored after
  // an <|endoftext|> start. Definitions: the glosses (and their end token) of the held-out
  // definitions, base model (before) and with the adapter (after).
  size_t heldout_documents = 0, heldout_bytes = 0;
  double bible_bits_per_byte = 0;
  double definitions_bits_per_byte_base = 0, definitions_bits_per_byte = 0;
  std::string bible_prompt, bible_continuation;  // the pretrained model continuing a verse
  std::vector<DemoGeneration> generations;
  double merged_max_abs_diff = 0;  // merged model vs base + adapter logits on the demo prompts
  double seconds_tokenizer = 0, seconds_pretrain = 0, seconds_finetune = 0, seconds_total = 0;
};

/// Runs the whole demo; deterministic for a given seed. Existing result folders under `out`
/// (tokenizer, base-model, adapter, merged-model, data) are replaced.
QuickstartResult run_quickstart(const QuickstartOptions& options,
                                const QuickstartCallbacks& callbacks = {});

}  // namespace wick::quickstart
