#include "cli/flag_checks.h"

#include <cmath>

#include "wick/core/errors.h"

namespace wick::cli {

void check_int_flag(const char* flag, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    fail<ValueError>("cli", "{} {} is out of range; expected an integer in {}..{}", flag, v, lo,
                     hi);
}

void check_real_flag(const char* flag, double v, double lo, double hi, bool lo_open) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (ok) return;
  const std::string range = std::isinf(hi)
                                ? fmt::format("{} {}", lo_open ? ">" : ">=", lo)
                                : fmt::format("in {}{}, {}]", lo_open ? "(" : "[", lo, hi);
  fail<ValueError>("cli", "{} {} is out of range; expected a finite number {}", flag, v, range);
}

void check_real_flag(const char* flag, const std::optional<double>& v, double lo, double hi,
                     bool lo_open) {
  if (v) check_real_flag(flag, *v, lo, hi, lo_open);
}

void check_int_flag(const char* flag, const std::optional<int64_t>& v, int64_t lo, int64_t hi) {
  if (v) check_int_flag(flag, *v, lo, hi);
}

}  // namespace wick::cli
