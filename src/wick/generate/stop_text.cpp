#include "wick/generate/stop_text.h"

#include <algorithm>

#include "wick/core/errors.h"

namespace wick::generate {

StopText::StopText(std::vector<std::string> stop, const char* op) : stop_(std::move(stop)) {
  for (const auto& s : stop_) {
    if (s.empty()) fail<ValueError>(op, "empty stop string");
    longest_ = std::max(longest_, s.size());
  }
}

bool StopText::add(std::string_view piece, std::string& out) {
  text_ += piece;
  const size_t from = emitted_ > longest_ ? emitted_ - longest_ : 0;
  size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, text_.find(s, from));
  if (cut != std::string::npos) {
    text_.resize(cut);
    emit(cut, out);
    return true;
  }
  // Hold back the longest suffix that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const auto& s : stop_)
    for (size_t n = std::min(s.size() - 1, text_.size()); n > hold; --n)
      if (text_.compare(text_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
  emit(text_.size() - hold, out);
  return false;
}

void StopText::emit(size_t upto, std::string& out) {
  if (upto > emitted_) out.append(text_, emitted_, upto - emitted_);
  emitted_ = std::max(emitted_, upto);
}

}  // namespace wick::generate
