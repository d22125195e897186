#pragma once
// UTF-8 helpers and the Unicode character classes the Hugging Face tokenizers use (Rust's char
// predicates), plus a PCRE2 regex wrapper.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wick::tok {

/// Decodes the code point at s[i] (s must be valid UTF-8); returns its byte length.
inline size_t utf8_next(std::string_view s, size_t i, char32_t& cp) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  if (b < 0xE0) {
    cp = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    return 2;
  }
  if (b < 0xF0) {
    cp = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
         (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    return 3;
  }
  cp = ((b & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
       ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
       (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  return 4;
}
/// Byte length of the UTF-8 sequence that starts with lead byte b.
inline size_t utf8_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
/// Appends the UTF-8 encoding of cp.
void utf8_append(std::string& out, char32_t cp);
/// Code points of a valid UTF-8 string.
std::u32string to_u32(std::string_view s);
/// UTF-8 encoding of code points.
std::string to_utf8(std::u32string_view s);
/// Length of the longest valid UTF-8 prefix of s.
size_t utf8_valid_prefix(std::string_view s);
/// s with each maximal invalid subsequence replaced by U+FFFD (Rust's from_utf8_lossy).
std::string utf8_lossy(std::string_view s);

/// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c);
/// ASCII punctuation or a Unicode P* character (the BERT / Punctuation pre-tokenizer test).
bool is_punctuation(char32_t c);
/// Rust char::is_numeric (categories Nd, Nl, No).
bool is_numeric(char32_t c);
/// Rust char::is_alphanumeric (approximated by the L* and N* categories).
bool is_alphanumeric(char32_t c);
/// Unicode category Mn.
bool is_nonspacing_mark(char32_t c);
/// Unicode categories Cc, Cf, Co, Cs (is_other of the unicode_categories crate, which the BERT
/// normalizer uses: unassigned code points are not included).
bool is_other(char32_t c);
/// Rust char::to_lowercase, appended as UTF-8.
void append_lowercase(std::string& out, char32_t c);

/// A compiled PCRE2 pattern (UTF + Unicode properties, JIT) used to split text.
class Regex {
 public:
  /// Compiles an Oniguruma-syntax pattern (as tokenizer.json holds; \w and \s get their Onig
  /// Unicode meanings); throws ValueError when it does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  /// Appends the [start, end) byte ranges of successive non-overlapping matches in s.
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  void* code_ = nullptr;
};

/// Escapes a literal string for use inside a PCRE2 pattern.
std::string regex_escape(std::string_view s);

}  // namespace wick::tok
