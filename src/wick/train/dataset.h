#pragma once
// Training data: JSONL records -> token ids with a per-token loss mask -> padded or packed batches
// of shifted targets. The record formats are those TRL and mlx-lm accept: {"text"},
// {"prompt","completion"} (strings), {"messages":[{"role","content"}...]}, conversational
// prompt/completion ({"prompt":[messages], "completion":[messages]}) and ShareGPT
// {"conversations":[{"from","value"}...]} (from: human, gpt, system; also user, assistant).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/random.h"
#include "wick/core/tensor.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::train {

/// One JSONL line.
struct Record {
  enum class Kind : uint8_t { text, prompt_completion, messages };
  Kind kind = Kind::text;
  std::string text, prompt, completion;
  std::string messages_json;  // the conversation as a [{"role","content"}...] JSON array
  /// Messages: how many leading messages form the prompt (conversational prompt/completion);
  /// 0 means every turn before the last assistant turn ({"messages"} and ShareGPT data).
  size_t prompt_turns = 0;
  std::string source;  // "file:line" for errors
};

/// The field names of the string formats (TRL's dataset_text_field, mlx-lm's text/prompt/
/// completion feature names).
struct DataKeys {
  std::string text = "text", prompt = "prompt", completion = "completion";
};

/// Reads a JSONL file; a malformed line throws IoError naming the file and the line number.
/// Blank lines are skipped.
std::vector<Record> read_jsonl(const std::filesystem::path& file, const DataKeys& keys = {});

/// The files of a data set: a single .jsonl file (train only) or a folder with train.jsonl and
/// optional valid.jsonl / test.jsonl.
struct DataFiles {
  std::filesystem::path train;
  std::optional<std::filesystem::path> valid, test;
};
/// Resolves `path` (IoError when neither a file nor a folder holding train.jsonl).
DataFiles resolve_data(const std::filesystem::path& path);

/// A tokenized example: ids and, per id, whether it is a loss target (1) or not (0).
struct Sample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> target;
  /// The length before truncation to max_seq_len (0 when not truncated).
  int64_t truncated_from = 0;
};

/// Renders conversation records to text: returns the prompt part (the first `prompt_turns`
/// messages, or when 0 all turns before the last assistant turn, with the generation prompt) and
/// the full text. Unset: conversation data errors.
using ChatRenderer = std::function<std::pair<std::string, std::string>(const std::string& json,
                                                                       size_t prompt_turns)>;

struct TokenizeOptions {
  size_t max_seq_len = 2048;      // longer examples are truncated (at the end)
  bool mask_prompt = false;       // loss only on completion / last assistant tokens
  std::optional<int32_t> eos_id;  // appended when the example does not already end with it
  ChatRenderer chat;              // for {"messages"} data
};

/// Tokenizes records: text -> encode(text); prompt/completion -> encode(prompt) followed by
/// encode(completion, no special tokens), so the prompt/completion boundary is exact.
std::vector<Sample> tokenize(const std::vector<Record>& records, const Tokenizer& tok,
                             const TokenizeOptions& options);

/// Counts over tokenized samples (for run summaries).
struct DataStats {
  int64_t examples = 0;
  int64_t tokens = 0;     // tokens after truncation
  int64_t targets = 0;    // scored next-token targets (what the loss averages over)
  int64_t truncated = 0;  // examples cut at max_seq_len
  int64_t longest = 0;    // the longest example before truncation
};
DataStats data_stats(const std::vector<Sample>& samples);

/// A batch: model inputs and flattened next-token targets.
struct Batch {
  Tensor ids;                  // [B, T] i64 (inputs: each example without its last token)
  Tensor positions;            // [B, T] i64
  std::optional<Tensor> mask;  // additive [B, 1, T, T] for packed batches (block-diagonal causal)
  Tensor targets;              // [B * T] i64, -100 where no loss
  int64_t n_targets = 0;       // non-ignored targets
  int64_t n_tokens = 0;        // non-padding input tokens
};

/// The batch with every tensor on `device` (copied once; the batch itself when already there).
Batch batch_to(const Batch& b, Device device);

/// Right-pads the examples to the longest (inputs = ids[:-1], targets = ids[1:] where target).
Batch pad_batch(const std::vector<const Sample*>& samples, int32_t pad_id);
/// Packs examples into rows of at most `row_len` inputs each, greedily in order; positions
/// restart at each document and the mask keeps attention inside each document (padding at a row's
/// end sees only itself). A document with more than `row_len` inputs keeps its first `row_len`
/// (never split across rows); the trainer passes max_seq_len, which tokenize already enforces.
Batch pack_batch(const std::vector<const Sample*>& samples, int64_t row_len, int32_t pad_id);

/// The order in which epoch `epoch` visits n samples: a seeded permutation, or identity.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace wick::train
