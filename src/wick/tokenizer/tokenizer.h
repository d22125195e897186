#pragma once
// Tokenizer: reads a Hugging Face tokenizer.json and encodes / decodes exactly like the
// `tokenizers` library (normalizer -> added tokens -> pre-tokenizer -> model -> post-processor).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wick {

/// The result of encoding one text.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;             // token_type_ids (BERT)
  std::vector<int32_t> attention_mask;       // 1 for real tokens, 0 for padding
  std::vector<uint8_t> special_tokens_mask;  // 1 for tokens added by the post-processor
};

/// Padding of a batch (to the longest sequence, or to a fixed length).
struct PaddingOptions {
  bool left = false;        // pad on the left instead of the right
  int32_t pad_id = 0;       // id of the padding token
  int32_t pad_type_id = 0;  // type id of padding
  size_t length = 0;        // fixed length; 0 pads to the longest in the batch
  size_t multiple_of = 0;   // round the length up to a multiple of this (0: off)
};

/// Truncation of each sequence to at most max_length ids (special tokens included).
struct TruncationOptions {
  size_t max_length = 0;  // 0: off
  bool left = false;      // drop ids at the start instead of the end
};

/// A Hugging Face tokenizer (tokenizer.json): BPE, WordPiece or Unigram with its pipeline.
class Tokenizer {
 public:
  /// Loads a tokenizer.json file, or the tokenizer.json inside a model folder (IoError if absent
  /// or malformed, naming the file).
  static Tokenizer from_file(const std::string& path);
  /// Parses the contents of a tokenizer.json; origin names it in error messages.
  static Tokenizer from_json_string(std::string_view json, const std::string& origin = "<string>");

  /// Ids of one text (invalid UTF-8 is read with U+FFFD replacement, like a lossy decode).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  /// Ids, type ids, attention mask and special-token mask of one text (truncated if set).
  Encoding encode_full(std::string_view text, bool add_special_tokens = true) const;
  /// Encodes many texts in parallel (OpenMP) and pads them if padding is set.
  std::vector<Encoding> encode_batch_full(const std::vector<std::string>& texts,
                                          bool add_special_tokens = true) const;
  /// Ids of many texts in parallel (padded if padding is set).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                 bool add_special_tokens = true) const;
  /// Text of ids (unknown ids are skipped, as the reference does).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  /// Texts of many id lists, in parallel.
  std::vector<std::string> decode_batch(const std::vector<std::vector<int32_t>>& ids,
                                        bool skip_special_tokens = false) const;

  /// Id of a token (added tokens first, then the model's vocabulary).
  std::optional<int32_t> token_to_id(std::string_view token) const;
  /// Token string of an id.
  std::optional<std::string> id_to_token(int32_t id) const;
  /// Number of ids: the largest id of the vocabulary or the added tokens, plus one.
  size_t vocab_size() const;
  /// True for an added token marked special.
  bool is_special(int32_t id) const;
  /// The special-token strings (added tokens marked special), in id order.
  std::vector<std::string> special_tokens() const;

  /// Pads batches from now on.
  void set_padding(const PaddingOptions& p) { padding_ = p; }
  /// Stops padding batches.
  void no_padding() { padding_.reset(); }
  /// Truncates encodings from now on.
  void set_truncation(const TruncationOptions& t) { truncation_ = t; }
  /// Stops truncating.
  void no_truncation() { truncation_.reset(); }

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  std::optional<PaddingOptions> padding_;
  std::optional<TruncationOptions> truncation_;
};

/// Incremental detokenization for generation: feed ids one at a time, get the newly completed
/// text (never half a UTF-8 character); the pieces concatenate to decode(all ids).
class StreamDecoder {
 public:
  /// Decodes with tok, which must outlive the stream.
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = false);
  /// Adds one id; returns the text it completes (possibly empty).
  std::string step(int32_t id);
  /// Returns whatever text is still held back (an incomplete character at the end).
  std::string finish();

 private:
  const Tokenizer& tok_;
  bool skip_;
  std::vector<int32_t> ids_;  // a few emitted ids (context) followed by ids not yet emitted
  std::string prefix_;        // decode of the context
};

}  // namespace wick
