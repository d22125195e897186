#pragma once
// Training data: JSONL records ({"text"}, {"prompt","completion"} or {"messages":[...]}) ->
// token ids with a per-token loss mask -> padded or packed batches of shifted targets.
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
  std::string messages_json;  // the "messages" array as JSON text
  std::string source;         // "file:line" for errors
};

/// Reads a JSONL file; a malformed line throws IoError naming the file and the line number.
/// Blank lines are skipped.
std::vector<Record> read_jsonl(const std::filesystem::path& file);

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
};

/// Renders {"messages"} records to text: returns the prompt part (all turns before the last
/// assistant turn, with the generation prompt) and the full text. Unset: messages data errors.
using ChatRenderer = std::function<std::pair<std::string, std::string>(const std::string& json)>;

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

/// A batch: model inputs and flattened next-token targets.
struct Batch {
  Tensor ids;                  // [B, T] i64 (inputs: each example without its last token)
  Tensor positions;            // [B, T] i64
  std::optional<Tensor> mask;  // additive [B, 1, T, T] for packed batches (block-diagonal causal)
  Tensor targets;              // [B * T] i64, -100 where no loss
  int64_t n_targets = 0;       // non-ignored targets
  int64_t n_tokens = 0;        // non-padding input tokens
};

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
