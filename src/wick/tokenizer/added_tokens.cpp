#include "wick/tokenizer/added_tokens.h"

#include "wick/tokenizer/unicode.h"

namespace wick::tok {

namespace {

bool is_word_character(char32_t c) { return c == '_' || is_alphanumeric(c); }

// Last code point of a non-empty valid UTF-8 string.
char32_t last_char(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  char32_t c;
  utf8_next(s, i, c);
  return c;
}

}  // namespace

void AddedTokenMatcher::add(const std::string& pattern, const AddedToken* token) {
  if (pattern.empty()) return;
  int32_t node = 0;
  for (unsigned char b : pattern) {
    int32_t child = -1;
    for (auto& [k, v] : nodes_[node].next)
      if (k == b) child = v;
    if (child < 0) {
      child = static_cast<int32_t>(nodes_.size());
      nodes_[node].next.emplace_back(b, child);
      nodes_.emplace_back();
    }
    node = child;
  }
  if (nodes_[node].token < 0) {
    nodes_[node].token = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
  first_[static_cast<unsigned char>(pattern[0])] = true;
}

void AddedTokenMatcher::split(const Segment& seg, std::vector<Segment>& out) const {
  const std::string& s = seg.text;
  size_t start_offset = 0;
  auto emit_text = [&](size_t b, size_t e) {
    if (e > b) out.push_back({s.substr(b, e - b), -1, seg.at_start && b == 0});
  };
  for (size_t i = 0; i < s.size();) {
    if (!first_[static_cast<unsigned char>(s[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, found = -1;
    size_t found_end = 0;
    for (size_t k = i; k < s.size(); ++k) {
      int32_t child = -1;
      for (auto& [b, v] : nodes_[node].next)
        if (b == static_cast<unsigned char>(s[k])) child = v;
      if (child < 0) break;
      node = child;
      if (nodes_[node].token >= 0) {
        found = nodes_[node].token;
        found_end = k + 1;
      }
    }
    if (found < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = *tokens_[found];
    size_t start = i, stop = found_end;
    i = found_end;
    if (tok.single_word) {
      bool start_space =
          start == 0 || !is_word_character(last_char(std::string_view(s).substr(0, start)));
      char32_t next = 0;
      if (stop < s.size()) utf8_next(s, stop, next);
      bool stop_space = stop == s.size() || !is_word_character(next);
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      while (start > start_offset) {
        size_t p = start - 1;
        while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
        char32_t c;
        utf8_next(s, p, c);
        if (!is_whitespace(c)) break;
        start = p;
      }
    }
    if (tok.rstrip) {
      while (stop < s.size()) {
        char32_t c;
        size_t n = utf8_next(s, stop, c);
        if (!is_whitespace(c)) break;
        stop += n;
      }
      i = stop;
    }
    emit_text(start_offset, start);
    out.push_back({s.substr(start, stop - start), tok.id, seg.at_start && start == 0});
    start_offset = stop;
  }
  emit_text(start_offset, s.size());
}

}  // namespace wick::tok
