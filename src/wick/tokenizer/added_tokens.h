#pragma once
// Added (and special) tokens: matched in the text before the model sees it, with the Hugging Face
// rules (leftmost-longest match, single_word, lstrip, rstrip; normalized ones after normalization).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wick::tok {

/// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

/// A piece of the input: plain text (id < 0) or one matched added token.
struct Segment {
  std::string text;
  int32_t id = -1;
  bool at_start = false;
};

/// Finds added tokens in text (a byte trie with leftmost-longest semantics).
class AddedTokenMatcher {
 public:
  /// Adds a token; pattern is what is searched for (its content, normalized or not).
  void add(const std::string& pattern, const AddedToken* token);
  /// True when no token was added.
  bool empty() const { return tokens_.empty(); }
  /// Splits seg into text and token segments and appends them (empty text dropped).
  void split(const Segment& seg, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;
    int32_t token = -1;
  };
  std::vector<Node> nodes_{Node{}};
  std::vector<const AddedToken*> tokens_;
  bool first_[256] = {};
};

}  // namespace wick::tok
