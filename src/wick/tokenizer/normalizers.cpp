#include "wick/tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "wick/core/errors.h"
#include "wick/tokenizer/json_fields.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok {

namespace {

using nlohmann::json;

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

class UnicodeNorm : public Normalizer {
 public:
  explicit UnicodeNorm(int options) : options_(options) {}
  std::string normalize(std::string_view s) const override {
    if (is_ascii(s)) return std::string(s);
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                          static_cast<utf8proc_ssize_t>(s.size()), &out,
                          static_cast<utf8proc_option_t>(options_));
    if (n < 0) fail<ValueError>("Normalizer", "utf8proc: {}", utf8proc_errmsg(n));
    std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
    return r;
  }

 private:
  int options_;
};

class Lowercase : public Normalizer {
 public:
  std::string normalize(std::string_view s) const override {
    std::string out;
    out.reserve(s.size());
    char32_t c;
    for (size_t i = 0; i < s.size();) {
      i += utf8_next(s, i, c);
      append_lowercase(out, c);
    }
    return out;
  }
};

std::string strip_marks(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char32_t c;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_next(s, i, c);
    if (!is_nonspacing_mark(c)) out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

class StripAccents : public Normalizer {
 public:
  std::string normalize(std::string_view s) const override { return strip_marks(s); }
};

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class BertNorm : public Normalizer {
 public:
  BertNorm(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower), nfd_(UTF8PROC_DECOMPOSE) {}
  std::string normalize(std::string_view s) const override {
    std::string out;
    out.reserve(s.size() + 8);
    char32_t c;
    for (size_t i = 0; i < s.size();) {
      size_t n = utf8_next(s, i, c);
      i += n;
      if (clean_) {
        bool keep_control = c == '\t' || c == '\n' || c == '\r';
        if (c == 0 || c == 0xFFFD || (!keep_control && is_other(c))) continue;
        if (keep_control || is_whitespace(c)) c = ' ';
      }
      if (chinese_ && is_chinese_char(c)) {
        out.push_back(' ');
        utf8_append(out, c);
        out.push_back(' ');
      } else {
        utf8_append(out, c);
      }
    }
    if (strip_) out = strip_marks(nfd_.normalize(out));
    if (lower_) out = Lowercase().normalize(out);
    return out;
  }

 private:
  bool clean_, chinese_, strip_, lower_;
  UnicodeNorm nfd_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  std::string normalize(std::string_view s) const override {
    if (s.empty()) return {};
    return prepend_ + std::string(s);
  }

 private:
  std::string prepend_;
};

class Replace : public Normalizer {
 public:
  Replace(json pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {
    if (pattern_.contains("Regex")) regex_ = std::make_unique<Regex>(pattern_["Regex"]);
  }
  std::string normalize(std::string_view s) const override {
    if (!regex_) return replace_pattern(s, pattern_, content_);
    std::vector<std::pair<size_t, size_t>> m;
    regex_->find_all(s, m);
    std::string out;
    size_t prev = 0;
    for (auto [b, e] : m) {
      out.append(s.substr(prev, b - prev));
      out += content_;
      prev = e;
    }
    out.append(s.substr(prev));
    return out;
  }

 private:
  json pattern_;
  std::string content_;
  std::unique_ptr<Regex> regex_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view s) const override {
    std::u32string u = to_u32(s);
    size_t b = 0, e = u.size();
    if (left_)
      while (b < e && is_whitespace(u[b])) ++b;
    if (right_)
      while (e > b && is_whitespace(u[e - 1])) --e;
    return to_utf8(std::u32string_view(u).substr(b, e - b));
  }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> items) : items_(std::move(items)) {}
  std::string normalize(std::string_view s) const override {
    std::string cur(s);
    for (auto& n : items_)
      if (n) cur = n->normalize(cur);
    return cur;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace

std::string replace_pattern(std::string_view s, const json& pattern, std::string_view content) {
  if (pattern.contains("Regex")) {
    Regex re(pattern["Regex"].get<std::string>());
    std::vector<std::pair<size_t, size_t>> m;
    re.find_all(s, m);
    std::string out;
    size_t prev = 0;
    for (auto [b, e] : m) {
      out.append(s.substr(prev, b - prev));
      out.append(content);
      prev = e;
    }
    out.append(s.substr(prev));
    return out;
  }
  std::string pat = pattern.at("String").get<std::string>();
  if (pat.empty()) return std::string(s);
  std::string out;
  size_t prev = 0;
  while (true) {
    size_t p = s.find(pat, prev);
    if (p == std::string_view::npos) break;
    out.append(s.substr(prev, p - prev));
    out.append(content);
    prev = p + pat.size();
  }
  out.append(s.substr(prev));
  return out;
}

std::unique_ptr<Normalizer> make_normalizer(const json& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").get<std::string>();
  if (type == "NFC") return std::make_unique<UnicodeNorm>(UTF8PROC_COMPOSE | UTF8PROC_STABLE);
  if (type == "NFD") return std::make_unique<UnicodeNorm>(UTF8PROC_DECOMPOSE | UTF8PROC_STABLE);
  if (type == "NFKC")
    return std::make_unique<UnicodeNorm>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_STABLE);
  if (type == "NFKD")
    return std::make_unique<UnicodeNorm>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_STABLE);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "BertNormalizer") {
    bool lower = opt_bool(j, "lowercase", true);
    return std::make_unique<BertNorm>(opt_bool(j, "clean_text", true),
                                      opt_bool(j, "handle_chinese_chars", true),
                                      opt_bool(j, "strip_accents", lower), lower);
  }
  if (type == "Prepend") return std::make_unique<Prepend>(j.at("prepend").get<std::string>());
  if (type == "Replace")
    return std::make_unique<Replace>(j.at("pattern"), j.at("content").get<std::string>());
  if (type == "Strip")
    return std::make_unique<Strip>(opt_bool(j, "strip_left", true),
                                   opt_bool(j, "strip_right", true));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> items;
    for (auto& n : j.at("normalizers")) items.push_back(make_normalizer(n));
    return std::make_unique<Sequence>(std::move(items));
  }
  fail<NotImplemented>("Tokenizer", "normalizer type '{}' is not supported", type);
}

}  // namespace wick::tok
