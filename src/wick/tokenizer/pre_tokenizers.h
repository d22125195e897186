#pragma once
// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): ByteLevel, Split, Whitespace,
// WhitespaceSplit, BertPreTokenizer, Metaspace, Digits, Punctuation, CharDelimiterSplit, Sequence.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace wick::tok {

/// One piece of text on its way to the model; at_start says it begins at offset 0 of the input.
struct Piece {
  std::string text;
  bool at_start = false;
};

/// Splits pieces into smaller pieces (and may rewrite them).
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  /// Replaces pieces by their splits.
  virtual void apply(std::vector<Piece>& pieces) const = 0;
};

/// Builds a pre-tokenizer from its JSON object; null JSON gives nullptr.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j);

/// GPT-2's byte -> printable character table (256 code points).
const std::u32string& byte_to_char();
/// The inverse table: code point -> byte, or -1.
int char_to_byte(char32_t c);
/// Maps raw bytes to their byte-level characters (UTF-8).
std::string bytes_to_byte_level(std::string_view bytes);

/// GPT-2's pre-tokenization regex (ByteLevel with use_regex).
extern const char* const kGpt2Pattern;

}  // namespace wick::tok
