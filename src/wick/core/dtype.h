#pragma once
// Element types, their sizes and names, and the bf16/f16 storage types with float conversion.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

namespace wick {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, boolean };

/// Size in bytes of one element.
constexpr size_t size_of(DType t) {
  switch (t) {
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::bf16:
    case DType::f16:
      return 2;
    case DType::boolean:
      return 1;
  }
  return 0;
}
constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
constexpr bool is_integral(DType t) { return t == DType::i32 || t == DType::i64; }
/// Short name as used in messages and safetensors-like contexts: "f32", "bf16", "bool", ...
const char* dtype_name(DType t);
/// Parses a name produced by dtype_name (also accepts "float32", "bfloat16", "float16", ...).
DType dtype_from_name(const std::string& name);

/// bfloat16 storage: the upper 16 bits of an IEEE float. Arithmetic happens in float.
struct bf16 {
  uint16_t bits = 0;
};
/// IEEE half-precision storage. Arithmetic happens in float.
struct f16 {
  uint16_t bits = 0;
};

inline float to_float(bf16 v) { return std::bit_cast<float>(uint32_t(v.bits) << 16); }
inline bf16 to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((u >> 16) | 0x40)};  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return bf16{uint16_t(u >> 16)};
}
float f16_bits_to_float(uint16_t h);
uint16_t float_to_f16_bits(float f);
inline float to_float(f16 v) { return f16_bits_to_float(v.bits); }
inline f16 to_f16(float f) { return f16{float_to_f16_bits(f)}; }

/// Maps a C++ element type to its DType.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<bf16>() {
  return DType::bf16;
}
template <>
constexpr DType dtype_of<f16>() {
  return DType::f16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::boolean;
}

/// Element load/store through the compute type: float for 16-bit floats, the type itself otherwise.
template <class T>
struct Compute {
  using type = T;
  static T load(T v) { return v; }
  static T store(T v) { return v; }
};
template <>
struct Compute<bf16> {
  using type = float;
  static float load(bf16 v) { return to_float(v); }
  static bf16 store(float v) { return to_bf16(v); }
};
template <>
struct Compute<f16> {
  using type = float;
  static float load(f16 v) { return to_float(v); }
  static f16 store(float v) { return to_f16(v); }
};

}  // namespace wick
