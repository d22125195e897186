// Jinja lexer. Text between tags is cut with jinja2's rules: "{%-"/"-%}" strip all whitespace on
// that side; with lstrip_blocks the spaces/tabs before a block or comment tag that starts a line
// are removed ("{%+" keeps them); with trim_blocks one newline after a block or comment tag is
// removed ("+%}" keeps it). Inside tags, "}}"/"%}" only end the tag outside brackets.
#include "wick/tokenizer/jinja_lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <limits>

#include "wick/tokenizer/jinja_value.h"

namespace wick::jinja {
namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Python \s on a str: strips Unicode whitespace too.
std::string rstrip_ws(const std::string& s) { return py_strip(s, nullptr, false, true); }

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size()) {
    char32_t c;
    size_t n = utf8_decode(s, i, c);
    if (!py_isspace(c)) break;
    i += n;
  }
  return i;
}

void append_cp(std::string& out, uint32_t cp) { out += u32_to_utf8(std::u32string(1, cp)); }

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Token> run() {
    size_t pos = 0, n = src_.size();
    while (pos < n) {
      size_t tag = find_tag(pos);
      std::string text = src_.substr(pos, tag - pos);
      if (tag == n) {
        emit_text(text, pos);
        break;
      }
      char kind = src_[tag + 1];
      size_t p = tag + 2;
      char mod = (p < n && (src_[p] == '-' || src_[p] == '+')) ? src_[p] : 0;
      if (mod) ++p;
      if (mod == '-') {
        text = rstrip_ws(text);
      } else if (mod != '+' && kind != '{') {
        size_t l = text.rfind('\n');
        l = (l == std::string::npos) ? 0 : l + 1;
        bool line_start = pos == 0 || src_[pos - 1] == '\n';
        if (l > 0 || line_start) {
          bool blank = true;
          for (size_t k = l; k < text.size(); ++k)
            if (text[k] != ' ' && text[k] != '\t') blank = false;
          if (blank) text.resize(l);
        }
      }
      emit_text(text, pos);
      int line = line_at(tag);
      if (kind == '#') {
        pos = comment(p, line);
      } else if (kind == '%' && is_raw(p)) {
        pos = raw(p, line);
      } else {
        pos = tag_tokens(p, kind == '{', line);
      }
    }
    tokens_.push_back({Tok::Eof, "", line_at(n)});
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::vector<Token> tokens_;
  size_t line_pos_ = 0;
  int line_ = 1;

  int line_at(size_t pos) {
    if (pos < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < pos && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') ++line_;
    return line_;
  }

  size_t find_tag(size_t pos) const {
    for (size_t i = pos; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    return src_.size();
  }

  void emit_text(const std::string& text, size_t pos) {
    if (!text.empty()) tokens_.push_back({Tok::Text, text, line_at(pos)});
  }

  // After a block/comment end: "-" strips whitespace, else trim_blocks eats one newline.
  size_t after_end(size_t pos, char mod, bool block) const {
    if (mod == '-') return skip_ws(src_, pos);
    if (block && mod != '+' && pos < src_.size() && src_[pos] == '\n') return pos + 1;
    return pos;
  }

  size_t comment(size_t p, int line) {
    size_t e = src_.find("#}", p);
    if (e == std::string::npos) throw SyntaxError(line, "unterminated comment");
    char mod = (e > p && (src_[e - 1] == '-' || src_[e - 1] == '+')) ? src_[e - 1] : 0;
    return after_end(e + 2, mod, true);
  }

  bool is_raw(size_t p) const {
    size_t i = skip_ws(src_, p);
    return src_.compare(i, 3, "raw") == 0 && i + 3 < src_.size() && !is_name_char(src_[i + 3]);
  }

  size_t raw(size_t p, int line) {
    size_t i = skip_ws(src_, p) + 3;
    i = skip_ws(src_, i);
    char mod = 0;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) mod = src_[i++];
    if (src_.compare(i, 2, "%}") != 0) throw SyntaxError(line, "expected '%}' after 'raw'");
    i += 2;
    if (mod == '-') i = skip_ws(src_, i);
    // Find "{%[-+]? endraw [-+]?%}".
    for (size_t s = src_.find("{%", i); s != std::string::npos; s = src_.find("{%", s + 2)) {
      size_t q = s + 2;
      char open = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) open = src_[q++];
      q = skip_ws(src_, q);
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q = skip_ws(src_, q + 6);
      char close = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) close = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string body = src_.substr(i, s - i);
      if (open == '-') body = rstrip_ws(body);
      emit_text(body, i);
      return after_end(q + 2, close, true);
    }
    throw SyntaxError(line, "missing endraw for raw block");
  }

  size_t tag_tokens(size_t p, bool var, int open_line) {
    tokens_.push_back({var ? Tok::VarBegin : Tok::BlockBegin, "", open_line});
    const char* end = var ? "}}" : "%}";
    std::vector<char> brackets;
    size_t n = src_.size();
    while (true) {
      p = skip_ws(src_, p);
      if (p >= n)
        throw SyntaxError(open_line, fmt::format("unterminated '{}' tag", var ? "{{" : "{%"));
      int line = line_at(p);
      if (brackets.empty()) {
        char mod = 0;
        size_t q = p;
        if ((src_[q] == '-' || (!var && src_[q] == '+')) && src_.compare(q + 1, 2, end) == 0)
          mod = src_[q++];
        if (src_.compare(q, 2, end) == 0) {
          tokens_.push_back({var ? Tok::VarEnd : Tok::BlockEnd, "", line});
          return after_end(q + 2, mod, !var);
        }
      }
      char c = src_[p];
      if (is_name_start(c)) {
        size_t s = p;
        while (p < n && is_name_char(src_[p])) ++p;
        tokens_.push_back({Tok::Name, src_.substr(s, p - s), line});
      } else if (is_digit(c)) {
        p = number(p, line);
      } else if (c == '\'' || c == '"') {
        p = string(p, line);
      } else {
        static const char* kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* o : kOps2)
          if (src_.compare(p, 2, o) == 0) op = o;
        if (op.empty()) {
          if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos)
            throw SyntaxError(line, fmt::format("unexpected character '{}'", c));
          op = std::string(1, c);
          if (c == '(' || c == '[' || c == '{') {
            if (brackets.size() >= static_cast<size_t>(kMaxDepth))
              throw SyntaxError(line, "brackets nested too deeply");
            brackets.push_back(c);
          } else if (c == ')' || c == ']' || c == '}') {
            char want = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (brackets.empty() || brackets.back() != want)
              throw SyntaxError(line, fmt::format("unexpected '{}'", c));
            brackets.pop_back();
          }
        }
        p += op.size();
        tokens_.push_back({Tok::Op, op, line});
      }
    }
  }

  size_t number(size_t p, int line) {
    size_t s = p, n = src_.size();
    auto digits = [&] {
      while (p < n && (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < n && is_digit(src_[p + 1]))))
        ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < n && src_[p] == '.' && is_digit(src_[p + 1]) && !(s > 0 && src_[s - 1] == '.')) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < n && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < n && is_digit(src_[q])) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string t;
    for (size_t i = s; i < p; ++i)
      if (src_[i] != '_') t.push_back(src_[i]);
    Token tok{is_float ? Tok::Float : Tok::Int, t, line};
    if (is_float) {
      tok.fval = std::stod(t);
    } else {
      errno = 0;
      unsigned long long v = std::strtoull(t.c_str(), nullptr, 10);
      if (errno == ERANGE ||
          v > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()))
        throw SyntaxError(line, "integer literal too large: " + t);
      tok.ival = static_cast<int64_t>(v);
    }
    tokens_.push_back(tok);
    return p;
  }

  // Python string-literal escapes (jinja2 decodes literals with unicode-escape).
  size_t string(size_t p, int line) {
    char q = src_[p++];
    std::string out;
    size_t n = src_.size();
    while (true) {
      if (p >= n) throw SyntaxError(line, "unterminated string literal");
      char c = src_[p];
      if (c == q) {
        ++p;
        break;
      }
      if (c != '\\') {
        out.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= n) throw SyntaxError(line, "unterminated string literal");
      char e = src_[p + 1];
      p += 2;
      auto hex = [&](size_t len) {
        uint32_t v = 0;
        for (size_t k = 0; k < len; ++k, ++p) {
          if (p >= n || !std::isxdigit(static_cast<unsigned char>(src_[p])))
            throw SyntaxError(line, "truncated \\x/\\u escape in string literal");
          v = v * 16 + static_cast<uint32_t>(std::stoi(std::string(1, src_[p]), nullptr, 16));
        }
        return v;
      };
      switch (e) {
        case '\n':
          break;
        case '\\':
        case '\'':
        case '"':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case 'x':
          append_cp(out, hex(2));
          break;
        case 'u':
          append_cp(out, hex(4));
          break;
        case 'U': {
          uint32_t v = hex(8);
          if (v > 0x10FFFF) throw SyntaxError(line, "invalid \\U escape in string literal");
          append_cp(out, v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && p < n && src_[p] >= '0' && src_[p] <= '7'; ++k, ++p)
              v = v * 8 + static_cast<uint32_t>(src_[p] - '0');
            append_cp(out, v);
          } else {
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    tokens_.push_back({Tok::String, out, line});
    return p;
  }
};

}  // namespace

std::vector<Token> lex(std::string_view source) {
  // jinja2 normalises newlines and drops one trailing newline (keep_trailing_newline=False).
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src.push_back(source[i]);
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).run();
}

}  // namespace wick::jinja
