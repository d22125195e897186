#pragma once
// Normalizers of tokenizer.json ("normalizer"): NFC/NFD/NFKC/NFKD, Lowercase, StripAccents,
// BertNormalizer, Prepend, Replace, Strip and Sequence.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace wick::tok {

/// Rewrites a piece of text before pre-tokenization.
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  /// Returns the normalized text.
  virtual std::string normalize(std::string_view s) const = 0;
};

/// Builds a normalizer from its JSON object; null JSON gives nullptr.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j);

/// Replaces every occurrence of a pattern ({"String": s} or {"Regex": r}) by content.
std::string replace_pattern(std::string_view s, const nlohmann::json& pattern,
                            std::string_view content);

}  // namespace wick::tok
