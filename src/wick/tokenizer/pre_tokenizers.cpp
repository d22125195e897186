#include "wick/tokenizer/pre_tokenizers.h"

#include <algorithm>
#include <functional>

#include "wick/core/errors.h"
#include "wick/tokenizer/json_fields.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

using nlohmann::json;
using Ranges = std::vector<std::pair<size_t, size_t>>;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& b) {
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  fail<ValueError>("Tokenizer", "unknown split behavior '{}'", b);
}

// Splits piece p given the matched ranges (sorted, non-overlapping), following the HF rules.
void split_piece(const Piece& p, const Ranges& matches, Behavior behavior, bool invert,
                 std::vector<Piece>& out) {
  const std::string& s = p.text;
  // (start, end, is_match) covering the whole string.
  struct Seg {
    size_t b, e;
    bool m;
  };
  std::vector<Seg> segs;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b > prev) segs.push_back({prev, b, invert});
    segs.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < s.size()) segs.push_back({prev, s.size(), invert});
  std::vector<std::pair<size_t, size_t>> parts;
  switch (behavior) {
    case Behavior::kIsolated:
      for (auto& g : segs) parts.emplace_back(g.b, g.e);
      break;
    case Behavior::kRemoved:
      for (auto& g : segs)
        if (!g.m) parts.emplace_back(g.b, g.e);
      break;
    case Behavior::kContiguous: {
      bool prev_match = false;
      for (auto& g : segs) {
        if (g.m && prev_match && !parts.empty()) {
          parts.back().second = g.e;
        } else {
          parts.emplace_back(g.b, g.e);
        }
        prev_match = g.m;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (auto& g : segs) {
        if (g.m && !prev_match && !parts.empty()) {
          parts.back().second = g.e;
        } else {
          parts.emplace_back(g.b, g.e);
        }
        prev_match = g.m;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool prev_match = false;
      for (size_t k = segs.size(); k-- > 0;) {
        const Seg& g = segs[k];
        if (g.m && !prev_match && !parts.empty()) {
          parts.back().first = g.b;
        } else {
          parts.emplace_back(g.b, g.e);
        }
        prev_match = g.m;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    }
  }
  for (auto [b, e] : parts) {
    if (e <= b) continue;
    out.push_back({s.substr(b, e - b), p.at_start && b == 0});
  }
}

// Applies a per-piece splitting function to every piece.
template <class F>
void split_all(std::vector<Piece>& pieces, F&& f) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  for (auto& p : pieces) f(p, out);
  pieces.swap(out);
}

// Ranges of the characters satisfying pred.
template <class Pred>
Ranges char_matches(std::string_view s, Pred pred) {
  Ranges r;
  char32_t c;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_next(s, i, c);
    if (pred(c)) r.emplace_back(i, i + n);
    i += n;
  }
  return r;
}

class RegexSplit : public PreTokenizer {
 public:
  RegexSplit(const std::string& pattern, Behavior b, bool invert)
      : re_(pattern), behavior_(b), invert_(invert) {}
  void apply(std::vector<Piece>& pieces) const override {
    Ranges m;
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      m.clear();
      re_.find_all(p.text, m);
      split_piece(p, m, behavior_, invert_, out);
    });
  }

 private:
  Regex re_;
  Behavior behavior_;
  bool invert_;
};

class CharSplit : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> pred, Behavior b)
      : pred_(std::move(pred)), behavior_(b) {}
  void apply(std::vector<Piece>& pieces) const override {
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      split_piece(p, char_matches(p.text, pred_), behavior_, false, out);
    });
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) re_ = std::make_unique<Regex>(kGpt2Pattern);
  }
  void apply(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_)
      for (auto& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, 1, ' ');
    if (re_) {
      Ranges m;
      split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
        m.clear();
        re_->find_all(p.text, m);
        split_piece(p, m, Behavior::kIsolated, false, out);
      });
    }
    for (auto& p : pieces) p.text = bytes_to_byte_level(p.text);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> re_;
};

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, std::string scheme, bool split)
      : rep_(std::move(replacement)), scheme_(std::move(scheme)), split_(split) {}
  void apply(std::vector<Piece>& pieces) const override {
    for (auto& p : pieces) {
      std::string t;
      for (char c : p.text) {
        if (c == ' ') {
          t += rep_;
        } else {
          t.push_back(c);
        }
      }
      bool starts = t.compare(0, rep_.size(), rep_) == 0;
      if (!starts && (scheme_ == "always" || (scheme_ == "first" && p.at_start))) t = rep_ + t;
      p.text = std::move(t);
    }
    if (!split_) return;
    split_all(pieces, [&](const Piece& p, std::vector<Piece>& out) {
      Ranges m;
      for (size_t pos = p.text.find(rep_); pos != std::string::npos;
           pos = p.text.find(rep_, pos + rep_.size()))
        m.emplace_back(pos, pos + rep_.size());
      split_piece(p, m, Behavior::kMergedWithNext, false, out);
    });
  }

 private:
  std::string rep_, scheme_;
  bool split_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> items)
      : items_(std::move(items)) {}
  void apply(std::vector<Piece>& pieces) const override {
    for (auto& p : items_)
      if (p) p->apply(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> items_;
};

}  // namespace

const std::u32string& byte_to_char() {
  static const std::u32string table = [] {
    std::u32string t(256, 0);
    char32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = keep ? static_cast<char32_t>(b) : 256 + n++;
    }
    return t;
  }();
  return table;
}

int char_to_byte(char32_t c) {
  static const std::vector<int> inv = [] {
    std::vector<int> v(512, -1);
    const auto& t = byte_to_char();
    for (int b = 0; b < 256; ++b) v[t[b]] = b;
    return v;
  }();
  return c < inv.size() ? inv[c] : -1;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  static const std::vector<std::string> enc = [] {
    std::vector<std::string> v(256);
    for (int b = 0; b < 256; ++b) utf8_append(v[b], byte_to_char()[b]);
    return v;
  }();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += enc[b];
  return out;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").get<std::string>();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(opt_bool(j, "add_prefix_space", true),
                                       opt_bool(j, "use_regex", true));
  if (type == "Split") {
    const json& pat = j.at("pattern");
    std::string re = pat.contains("Regex") ? pat["Regex"].get<std::string>()
                                           : regex_escape(pat.at("String").get<std::string>());
    return std::make_unique<RegexSplit>(re, parse_behavior(j.at("behavior")),
                                        opt_bool(j, "invert", false));
  }
  if (type == "Whitespace")
    return std::make_unique<RegexSplit>(R"(\w+|[^\w\s]+)", Behavior::kRemoved, true);
  if (type == "WhitespaceSplit")
    return std::make_unique<CharSplit>([](char32_t c) { return is_whitespace(c); },
                                       Behavior::kRemoved);
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    items.push_back(std::make_unique<CharSplit>([](char32_t c) { return is_whitespace(c); },
                                                Behavior::kRemoved));
    items.push_back(std::make_unique<CharSplit>([](char32_t c) { return is_punctuation(c); },
                                                Behavior::kIsolated));
    return std::make_unique<SequencePre>(std::move(items));
  }
  if (type == "Punctuation") {
    Behavior b = j.contains("behavior") ? parse_behavior(j["behavior"]) : Behavior::kIsolated;
    return std::make_unique<CharSplit>([](char32_t c) { return is_punctuation(c); }, b);
  }
  if (type == "Digits") {
    bool individual = opt_bool(j, "individual_digits", false);
    return std::make_unique<CharSplit>([](char32_t c) { return is_numeric(c); },
                                       individual ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "CharDelimiterSplit") {
    char32_t d = to_u32(j.at("delimiter").get<std::string>()).at(0);
    return std::make_unique<CharSplit>([d](char32_t c) { return c == d; }, Behavior::kRemoved);
  }
  if (type == "Metaspace") {
    std::string scheme = "always";
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      scheme = j["prepend_scheme"].get<std::string>();
    } else if (j.contains("add_prefix_space")) {
      scheme = opt_bool(j, "add_prefix_space", true) ? "always" : "never";
    }
    std::string rep = j.value("replacement", std::string("\xE2\x96\x81"));
    return std::make_unique<Metaspace>(rep, scheme, opt_bool(j, "split", true));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    for (auto& p : j.at("pretokenizers")) items.push_back(make_pre_tokenizer(p));
    return std::make_unique<SequencePre>(std::move(items));
  }
  fail<NotImplemented>("Tokenizer", "pre_tokenizer type '{}' is not supported", type);
}

}  // namespace wick::tok
