#pragma once
// Generated text held back while its tail could start a stop string: generate() and the batch
// engine release text through it, so both cut at the same place.
#include <string>
#include <string_view>
#include <vector>

namespace wick::generate {

class StopText {
 public:
  /// Throws ValueError naming `op` for an empty stop string.
  StopText(std::vector<std::string> stop, const char* op);
  /// Adds text; returns true when a stop string appeared (the text is cut before it). Text that
  /// can no longer start a stop string is appended to `out`.
  bool add(std::string_view piece, std::string& out);
  /// Releases the held-back tail into `out` (the sequence ended without a stop string).
  void flush(std::string& out) { emit(text_.size(), out); }
  const std::string& text() const { return text_; }

 private:
  void emit(size_t upto, std::string& out);
  std::vector<std::string> stop_;
  size_t longest_ = 0;
  std::string text_;
  size_t emitted_ = 0;
};

}  // namespace wick::generate
