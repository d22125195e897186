#pragma once
// Range checks for command-line numbers, applied where a value enters (before any model is
// loaded or any work starts). Errors name the flag, the value and the allowed range; NaN fails
// every check.
#include <cstdint>
#include <optional>
#include <string>

namespace wick::cli {

/// ValueError "--flag V is out of range; expected lo..hi" unless lo <= v <= hi.
void check_int_flag(const char* flag, int64_t v, int64_t lo, int64_t hi);
/// ValueError unless v is finite and lo <= v <= hi (lo excluded when `lo_open`).
void check_real_flag(const char* flag, double v, double lo, double hi, bool lo_open = false);
/// The same for a flag that may be absent.
void check_real_flag(const char* flag, const std::optional<double>& v, double lo, double hi,
                     bool lo_open = false);
void check_int_flag(const char* flag, const std::optional<int64_t>& v, int64_t lo, int64_t hi);

/// Largest --max-tokens accepted by generate and chat (a bound on the KV cache length).
inline constexpr int64_t kMaxNewTokens = int64_t(1) << 24;

}  // namespace wick::cli
