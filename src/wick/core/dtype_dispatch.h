#pragma once
// Dtype dispatch (a call with the storage type of a dtype) and defined double -> T conversion,
// shared by the engine, the ops and every host-side kernel.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "wick/core/dtype.h"
#include "wick/core/errors.h"

namespace wick {

/// Calls f(T{}) with T the storage type of a float dtype.
template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32:
      return f(float{});
    case DType::f64:
      return f(double{});
    case DType::bf16:
      return f(bf16{});
    case DType::f16:
      return f(f16{});
    default:
      fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(t));
  }
}
/// Calls f(T{}) for any dtype.
template <class F>
decltype(auto) dispatch_all(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    case DType::boolean:
      return f(bool{});
    default:
      return dispatch_float(t, op, f);
  }
}

/// double -> T with defined results where static_cast is undefined: for integer and bool T, NaN
/// gives 0 and out-of-range values saturate; 16-bit floats round to nearest even.
template <class T>
T saturate_cast(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_same_v<T, bf16>) {
    return to_bf16(float(v));
  } else if constexpr (std::is_same_v<T, f16>) {
    return to_f16(float(v));
  } else if constexpr (std::is_integral_v<T>) {
    constexpr double hi = -double(std::numeric_limits<T>::min());  // 2^31 or 2^63, exact
    if (!(v == v)) return T(0);
    if (v >= hi) return std::numeric_limits<T>::max();
    if (v < -hi) return std::numeric_limits<T>::min();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

}  // namespace wick
