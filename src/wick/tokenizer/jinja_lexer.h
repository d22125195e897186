#pragma once
// Lexer of the Jinja subset used by chat templates, with the whitespace rules transformers sets
// (trim_blocks, lstrip_blocks, keep_trailing_newline=False) and the -/+ tag modifiers.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wick::jinja {

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // text data, name, decoded string literal, or operator
  int line = 1;
  int64_t ival = 0;
  double fval = 0;
};

/// A template that does not lex or parse; line is 1-based.
class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(int line, const std::string& msg) : std::runtime_error(msg), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

/// Tokens of a template source (text runs already stripped per the whitespace rules).
std::vector<Token> lex(std::string_view source);

}  // namespace wick::jinja
