// GGUF v3 writer and reader (format: see gguf.h). The writer lays out the header, the metadata,
// the tensor records and the padded data section exactly as ggml's gguf reader expects; the
// reader checks every count and offset against the file size before using it.
#include "wick/io/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "wick/core/dtype.h"
#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"

namespace wick::io {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32

uint64_t gguf_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Serialises little-endian scalars and GGUF strings into a byte buffer.
struct GgufBytes {
  std::vector<uint8_t> b;
  template <class T>
  void put(T x) {
    append(&x, sizeof(T));
  }
  void put_str(const std::string& s) {
    put<uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void append(const void* p, size_t n) {
    const size_t at = b.size();
    b.resize(at + n);
    if (n > 0) std::memcpy(b.data() + at, p, n);
  }
};

void gguf_put_scalar(GgufBytes& out, GgufType t, const GgufValue& v, size_t i, bool in_array) {
  auto u = [&]() -> uint64_t {
    return in_array ? std::get<std::vector<uint64_t>>(v.v)[i] : v.as_u64();
  };
  auto s = [&]() -> int64_t {
    return in_array ? std::get<std::vector<int64_t>>(v.v)[i] : v.as_i64();
  };
  auto f = [&]() -> double {
    return in_array ? std::get<std::vector<double>>(v.v)[i] : v.as_f64();
  };
  switch (t) {
    case GgufType::u8:
      out.put<uint8_t>(uint8_t(u()));
      break;
    case GgufType::i8:
      out.put<int8_t>(int8_t(s()));
      break;
    case GgufType::u16:
      out.put<uint16_t>(uint16_t(u()));
      break;
    case GgufType::i16:
      out.put<int16_t>(int16_t(s()));
      break;
    case GgufType::u32:
      out.put<uint32_t>(uint32_t(u()));
      break;
    case GgufType::i32:
      out.put<int32_t>(int32_t(s()));
      break;
    case GgufType::u64:
      out.put<uint64_t>(u());
      break;
    case GgufType::i64:
      out.put<int64_t>(s());
      break;
    case GgufType::f32:
      out.put<float>(float(f()));
      break;
    case GgufType::f64:
      out.put<double>(f());
      break;
    case GgufType::boolean:
      out.put<uint8_t>(v.as_bool() ? 1 : 0);
      break;
    case GgufType::string:
      out.put_str(in_array ? std::get<std::vector<std::string>>(v.v)[i] : v.as_string());
      break;
    case GgufType::array:
      fail<ValueError>("gguf", "nested arrays are not supported");
  }
}

bool gguf_is_unsigned(GgufType t) {
  return t == GgufType::u8 || t == GgufType::u16 || t == GgufType::u32 || t == GgufType::u64;
}
bool gguf_is_signed(GgufType t) {
  return t == GgufType::i8 || t == GgufType::i16 || t == GgufType::i32 || t == GgufType::i64;
}

// Checks that a value's variant holds what its declared type needs.
void gguf_check_value(const std::string& key, const GgufValue& v) {
  const GgufType t = v.type == GgufType::array ? v.array_type : v.type;
  bool ok = false;
  if (v.type == GgufType::array) {
    if (gguf_is_unsigned(t)) ok = std::holds_alternative<std::vector<uint64_t>>(v.v);
    if (gguf_is_signed(t)) ok = std::holds_alternative<std::vector<int64_t>>(v.v);
    if (t == GgufType::f32 || t == GgufType::f64)
      ok = std::holds_alternative<std::vector<double>>(v.v);
    if (t == GgufType::string) ok = std::holds_alternative<std::vector<std::string>>(v.v);
  } else {
    if (gguf_is_unsigned(t)) ok = std::holds_alternative<uint64_t>(v.v);
    if (gguf_is_signed(t)) ok = std::holds_alternative<int64_t>(v.v);
    if (t == GgufType::f32 || t == GgufType::f64) ok = std::holds_alternative<double>(v.v);
    if (t == GgufType::boolean) ok = std::holds_alternative<bool>(v.v);
    if (t == GgufType::string) ok = std::holds_alternative<std::string>(v.v);
  }
  if (!ok) fail<ValueError>("gguf", "key '{}': value does not match its type {}", key, int(t));
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::f32:
      return "f32";
    case GgmlType::f16:
      return "f16";
    case GgmlType::q8_0:
      return "q8_0";
    case GgmlType::bf16:
      return "bf16";
  }
  return "?";
}

uint64_t ggml_row_bytes(GgmlType t, uint64_t n) {
  switch (t) {
    case GgmlType::f32:
      return 4 * n;
    case GgmlType::f16:
    case GgmlType::bf16:
      return 2 * n;
    case GgmlType::q8_0:
      if (n % kQ8Block != 0)
        fail<ValueError>("gguf", "q8_0 needs a multiple of {} values; got {}", kQ8Block, n);
      return n / kQ8Block * (2 + kQ8Block);
  }
  fail<ValueError>("gguf", "unknown ggml type {}", uint32_t(t));
}

void quantize_q8_0(const float* x, int64_t n, std::vector<uint8_t>& out) {
  if (n % kQ8Block != 0)
    fail<ValueError>("quantize_q8_0", "needs a multiple of {} values; got {}", kQ8Block, n);
  for (int64_t b = 0; b < n; b += kQ8Block) {
    float amax = 0;
    for (int64_t j = 0; j < kQ8Block; ++j) {
      if (!std::isfinite(x[b + j]))
        fail<ValueError>("quantize_q8_0", "value {} is {}; q8_0 holds finite values only", b + j,
                         x[b + j]);
      amax = std::max(amax, std::abs(x[b + j]));
    }
    // ggml's reference: d = amax / 127 (stored as f16), q = round(x / d) with the f32 d.
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = float_to_f16_bits(d);
    out.push_back(uint8_t(dh & 0xff));
    out.push_back(uint8_t(dh >> 8));
    for (int64_t j = 0; j < kQ8Block; ++j) {
      const float q = std::round(x[b + j] * id);
      out.push_back(uint8_t(int8_t(std::clamp(q, -127.0f, 127.0f))));
    }
  }
}

void dequantize_q8_0(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    const uint8_t* p = blocks + b * (2 + kQ8Block);
    const float d = f16_bits_to_float(uint16_t(p[0] | (p[1] << 8)));
    for (int64_t j = 0; j < kQ8Block; ++j) out[b * kQ8Block + j] = d * float(int8_t(p[2 + j]));
  }
}

uint64_t GgufValue::as_u64() const {
  if (auto* p = std::get_if<uint64_t>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v); p && *p >= 0) return uint64_t(*p);
  fail<ValueError>("gguf", "value is not an unsigned integer");
}
int64_t GgufValue::as_i64() const {
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* p = std::get_if<uint64_t>(&v); p && *p <= uint64_t(INT64_MAX)) return int64_t(*p);
  fail<ValueError>("gguf", "value is not an integer");
}
double GgufValue::as_f64() const {
  if (auto* p = std::get_if<double>(&v)) return *p;
  fail<ValueError>("gguf", "value is not a float");
}
bool GgufValue::as_bool() const {
  if (auto* p = std::get_if<bool>(&v)) return *p;
  fail<ValueError>("gguf", "value is not a bool");
}
const std::string& GgufValue::as_string() const {
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  fail<ValueError>("gguf", "value is not a string");
}
const std::vector<std::string>& GgufValue::as_strings() const {
  if (auto* p = std::get_if<std::vector<std::string>>(&v)) return *p;
  fail<ValueError>("gguf", "value is not an array of strings");
}
const std::vector<int64_t>& GgufValue::as_ints() const {
  if (auto* p = std::get_if<std::vector<int64_t>>(&v)) return *p;
  fail<ValueError>("gguf", "value is not an array of signed integers");
}
const std::vector<double>& GgufValue::as_floats() const {
  if (auto* p = std::get_if<std::vector<double>>(&v)) return *p;
  fail<ValueError>("gguf", "value is not an array of floats");
}
size_t GgufValue::size() const {
  if (type != GgufType::array) return 1;
  return std::visit(
      [](const auto& x) -> size_t {
        if constexpr (requires { x.size(); } &&
                      !std::is_same_v<std::decay_t<decltype(x)>, std::string>)
          return x.size();
        else
          return 1;
      },
      v);
}

void GgufWriter::add(const std::string& key, GgufValue value) {
  for (const auto& [k, _] : kv_)
    if (k == key) fail<ValueError>("gguf", "metadata key '{}' added twice", key);
  gguf_check_value(key, value);
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(GgufTensor t) {
  for (const auto& e : tensors_)
    if (e.name == t.name) fail<ValueError>("gguf", "tensor '{}' added twice", t.name);
  if (t.shape.empty() || t.shape.size() > 4)
    fail<ValueError>("gguf", "tensor '{}': GGUF holds 1 to 4 dimensions; got {}", t.name,
                     t.shape.size());
  if (t.type == GgmlType::q8_0 && t.shape.back() % kQ8Block != 0)
    fail<ValueError>("gguf", "tensor '{}': q8_0 rows must be a multiple of {}; got {}", t.name,
                     kQ8Block, t.shape.back());
  tensors_.push_back(std::move(t));
}

void GgufWriter::write(const std::filesystem::path& path) const {
  GgufBytes h;
  h.put<uint32_t>(kGgufMagic);
  h.put<uint32_t>(3);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(kv_.size());
  for (const auto& [key, v] : kv_) {
    h.put_str(key);
    h.put<uint32_t>(uint32_t(v.type));
    if (v.type == GgufType::array) {
      h.put<uint32_t>(uint32_t(v.array_type));
      h.put<uint64_t>(v.size());
      for (size_t i = 0; i < v.size(); ++i) gguf_put_scalar(h, v.array_type, v, i, true);
    } else {
      gguf_put_scalar(h, v.type, v, 0, false);
    }
  }
  std::vector<uint64_t> sizes, offsets;
  uint64_t off = 0;
  for (const auto& t : tensors_) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= uint64_t(d);
    sizes.push_back(ggml_row_bytes(t.type, numel));
    offsets.push_back(off);
    off = gguf_align_up(off + sizes.back(), kAlignment);
    h.put_str(t.name);
    h.put<uint32_t>(uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) h.put<uint64_t>(uint64_t(*it));
    h.put<uint32_t>(uint32_t(t.type));
    h.put<uint64_t>(offsets.back());
  }
  h.b.resize(gguf_align_up(h.b.size(), kAlignment), 0);
  atomic_write(path, [&](AtomicFile& f) {
    f.write(h.b.data(), h.b.size());
    static const uint8_t zeros[kAlignment] = {};
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const std::vector<uint8_t> data = tensors_[i].produce();
      if (data.size() != sizes[i])
        fail<IoError>("gguf", "'{}': tensor '{}' produced {} bytes; expected {}", path.string(),
                      tensors_[i].name, data.size(), sizes[i]);
      f.write(data.data(), data.size());
      const uint64_t pad = gguf_align_up(sizes[i], kAlignment) - sizes[i];
      f.write(zeros, pad);
    }
  });
}

}  // namespace wick::io
