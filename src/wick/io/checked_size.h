#pragma once
// Overflow-safe size arithmetic for sizes computed from user input or file contents (flags,
// config.json, tokenizer.json, safetensors headers). Every helper throws ValueError naming `what`
// (the flag, or the file and field) instead of wrapping around, so that a hostile value can never
// turn into a small allocation that is then overrun.
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string_view>

#include "wick/core/errors.h"

namespace wick::io {

/// a * b for non-negative a, b; ValueError naming `what` when the product exceeds `limit`.
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what,
                           int64_t limit = std::numeric_limits<int64_t>::max()) {
  if (a < 0 || b < 0)
    fail<ValueError>("size", "{}: negative size; expected >= 0, got {} x {}", what, a, b);
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > limit)
    fail<ValueError>("size", "{}: {} x {} overflows the limit of {}", what, a, b, limit);
  return r;
}

/// a + b for non-negative a, b; ValueError naming `what` when the sum exceeds `limit`.
inline int64_t checked_add(int64_t a, int64_t b, std::string_view what,
                           int64_t limit = std::numeric_limits<int64_t>::max()) {
  if (a < 0 || b < 0)
    fail<ValueError>("size", "{}: negative size; expected >= 0, got {} + {}", what, a, b);
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r) || r > limit)
    fail<ValueError>("size", "{}: {} + {} overflows the limit of {}", what, a, b, limit);
  return r;
}

/// The product of `dims` (an element count), checked against `limit`.
inline int64_t checked_size(std::initializer_list<int64_t> dims, std::string_view what,
                            int64_t limit = std::numeric_limits<int64_t>::max()) {
  int64_t n = 1;
  for (int64_t d : dims) n = checked_mul(n, d, what, limit);
  return n;
}

/// `value` if it lies in [lo, hi]; ValueError "`what` = value is out of range; expected lo..hi".
inline int64_t checked_range(int64_t value, int64_t lo, int64_t hi, std::string_view what) {
  if (value < lo || value > hi)
    fail<ValueError>("range", "{} = {} is out of range; expected {}..{}", what, value, lo, hi);
  return value;
}

}  // namespace wick::io
