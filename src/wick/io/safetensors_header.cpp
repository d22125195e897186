// Parsing and validation of safetensors headers, and the dtype table.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include "wick/core/errors.h"
#include "wick/io/safetensors.h"

namespace wick::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

namespace {

struct DtypeEntry {
  const char* name;
  int bits;
};
// Every dtype the reference implementation knows.
constexpr DtypeEntry kDtypes[] = {
    {"BOOL", 8}, {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8},
    {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"I16", 16},
    {"U16", 16}, {"F16", 16},    {"BF16", 16},   {"I32", 32},    {"U32", 32},
    {"F32", 32}, {"C64", 64},    {"F64", 64},    {"I64", 64},    {"U64", 64},
};

// Thrown by the JSON callback to stop on input no valid header can contain.
struct TooDeep {};

constexpr int kMaxJsonDepth = 3;  // root object > tensor object > shape array

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  fail<IoError>("safetensors", "{}: {}", file, what);
}
[[noreturn]] void bad_tensor(const std::string& file, const std::string& name,
                             const std::string& what) {
  fail<IoError>("safetensors", "{}: tensor '{}': {}", file, name, what);
}

const char* json_type(const nlohmann::json& j) { return j.type_name(); }

bool get_u64(const nlohmann::json& j, uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < 0) return false;
    out = uint64_t(v);
    return true;
  }
  return false;
}

nlohmann::json parse_json(const char* begin, const char* end, const std::string& file) {
  // nlohmann keeps the last of duplicate keys; the callback sees every key and records the first
  // repeat, with the root-level key (the tensor) it belongs to.
  std::vector<std::set<std::string>> keys;
  std::string root_key, dup_owner, dup_key;
  bool dup = false;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (ev) {
      case E::object_start:
        if (depth >= kMaxJsonDepth) throw TooDeep{};
        keys.emplace_back();
        break;
      case E::array_start:
        if (depth >= kMaxJsonDepth) throw TooDeep{};
        break;
      case E::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (keys.size() == 1) root_key = k;
        if (!keys.empty() && !keys.back().insert(k).second && !dup) {
          dup = true;
          dup_owner = root_key;
          dup_key = keys.size() == 1 ? "" : k;
        }
        break;
      }
      case E::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(begin, end, cb, /*allow_exceptions=*/true);
  } catch (const TooDeep&) {
    bad(file, fmt::format("header JSON nests deeper than {} levels", kMaxJsonDepth));
  } catch (const nlohmann::json::exception& e) {
    bad(file, fmt::format("header is not valid JSON: {}", e.what()));
  }
  if (dup) {
    if (dup_key.empty()) bad_tensor(file, dup_owner, "appears more than once in the header");
    bad_tensor(file, dup_owner, fmt::format("key '{}' appears more than once", dup_key));
  }
  return j;
}

void parse_metadata(const nlohmann::json& m, const std::string& file, SafeTensorsHeader& h) {
  if (m.is_null()) return;
  if (!m.is_object())
    bad_tensor(file, "__metadata__", fmt::format("must be an object, got {}", json_type(m)));
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_string())
      bad_tensor(
          file, "__metadata__",
          fmt::format("value of '{}' must be a string, got {}", it.key(), json_type(it.value())));
    h.metadata.emplace(it.key(), it.value().get<std::string>());
  }
}

TensorInfo parse_entry(const std::string& name, const nlohmann::json& e, const std::string& file) {
  if (!e.is_object())
    bad_tensor(file, name, fmt::format("entry must be an object, got {}", json_type(e)));
  TensorInfo t;
  t.name = name;
  auto dt = e.find("dtype");
  if (dt == e.end()) bad_tensor(file, name, "missing 'dtype'");
  if (!dt->is_string())
    bad_tensor(file, name, fmt::format("'dtype' must be a string, got {}", json_type(*dt)));
  t.dtype = dt->get<std::string>();
  int bits = safetensors_dtype_bits(t.dtype);
  if (bits == 0) bad_tensor(file, name, fmt::format("unknown dtype '{}'", t.dtype));

  auto sh = e.find("shape");
  if (sh == e.end()) bad_tensor(file, name, "missing 'shape'");
  if (!sh->is_array())
    bad_tensor(file, name, fmt::format("'shape' must be an array, got {}", json_type(*sh)));
  // The product of the non-zero dims must fit in int64 so that numel and strides never overflow.
  uint64_t nonzero = 1, numel = 1;
  for (const auto& d : *sh) {
    uint64_t v = 0;
    if (!get_u64(d, v)) bad_tensor(file, name, "'shape' entries must be non-negative integers");
    if (v > uint64_t(std::numeric_limits<int64_t>::max()) ||
        (v != 0 && __builtin_mul_overflow(nonzero, v, &nonzero)) ||
        nonzero > uint64_t(std::numeric_limits<int64_t>::max()))
      bad_tensor(file, name, "shape has more elements than fit in 64 bits");
    numel *= (v == 0 ? 0 : 1);
    t.shape.push_back(int64_t(v));
  }
  if (numel != 0) numel = nonzero;
  uint64_t nbits = 0;
  if (__builtin_mul_overflow(numel, uint64_t(bits), &nbits))
    bad_tensor(file, name, "byte size overflows 64 bits");
  if (nbits % 8 != 0)
    bad_tensor(
        file, name,
        fmt::format("{} elements of {} ({} bits) do not fill whole bytes", numel, t.dtype, bits));

  auto off = e.find("data_offsets");
  if (off == e.end()) bad_tensor(file, name, "missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !get_u64((*off)[0], t.begin) ||
      !get_u64((*off)[1], t.end))
    bad_tensor(file, name, "'data_offsets' must be two non-negative integers [begin, end]");
  if (t.end < t.begin)
    bad_tensor(file, name,
               fmt::format("data_offsets [{}, {}] end before they begin", t.begin, t.end));
  if (t.end - t.begin != nbits / 8)
    bad_tensor(
        file, name,
        fmt::format("data_offsets [{}, {}] hold {} bytes but {} {} of shape {} needs {}", t.begin,
                    t.end, t.end - t.begin, numel, t.dtype, shape_str(t.shape), nbits / 8));
  return t;
}

}  // namespace

int safetensors_dtype_bits(std::string_view st_dtype) {
  for (const auto& d : kDtypes)
    if (st_dtype == d.name) return d.bits;
  return 0;
}

std::optional<DType> wick_dtype_for(std::string_view s) {
  if (s == "F32") return DType::f32;
  if (s == "F64") return DType::f64;
  if (s == "BF16") return DType::bf16;
  if (s == "F16") return DType::f16;
  if (s == "I32") return DType::i32;
  if (s == "I64") return DType::i64;
  if (s == "BOOL") return DType::boolean;
  return std::nullopt;
}

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::bf16:
      return "BF16";
    case DType::f16:
      return "F16";
    case DType::i32:
      return "I32";
    case DType::i64:
      return "I64";
    case DType::boolean:
      return "BOOL";
  }
  return "?";
}

const TensorInfo* SafeTensorsHeader::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return (it != tensors.end() && it->name == name) ? &*it : nullptr;
}

SafeTensorsHeader parse_header(const uint8_t* bytes, size_t size, const std::string& file) {
  if (size < 8)
    bad(file, fmt::format("file is {} bytes, too small to hold the 8-byte header length", size));
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxHeaderBytes)
    bad(file, fmt::format("header length {} exceeds the limit of {} bytes", n, kMaxHeaderBytes));
  if (n > size - 8)
    bad(file, fmt::format("header length {} runs past the end of the {}-byte file (truncated?)", n,
                          size));
  if (n == 0 || bytes[8] != '{') bad(file, "header does not start with '{'");
  const char* text = reinterpret_cast<const char*>(bytes + 8);
  // nlohmann's lexer stops at a NUL as if the input ended there; valid JSON never holds a raw NUL.
  if (const void* nul = std::memchr(text, 0, n))
    bad(file, fmt::format("header has a NUL byte at offset {}",
                          static_cast<const char*>(nul) - text + 8));
  nlohmann::json j = parse_json(text, text + n, file);
  if (!j.is_object()) bad(file, fmt::format("header must be a JSON object, got {}", json_type(j)));

  SafeTensorsHeader h;
  h.header_bytes = n;
  h.data_start = 8 + n;
  h.data_bytes = size - 8 - n;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      parse_metadata(it.value(), file, h);
      continue;
    }
    h.tensors.push_back(parse_entry(it.key(), it.value(), file));
  }
  std::sort(h.tensors.begin(), h.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });

  // Each range must lie inside the data section...
  for (const auto& t : h.tensors)
    if (t.end > h.data_bytes)
      bad_tensor(file, t.name,
                 fmt::format("data_offsets [{}, {}] run past the {}-byte data section (truncated?)",
                             t.begin, t.end, h.data_bytes));
  // ...and together the ranges must cover it exactly, without gaps or overlaps.
  std::vector<const TensorInfo*> order;
  for (const auto& t : h.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin < at)
      bad_tensor(file, t->name,
                 fmt::format("data_offsets [{}, {}] overlap tensor '{}' ending at {}", t->begin,
                             t->end, prev->name, at));
    if (t->begin > at)
      bad_tensor(file, t->name,
                 fmt::format("data_offsets [{}, {}] leave a gap of {} bytes before it", t->begin,
                             t->end, t->begin - at));
    at = t->end;
    prev = t;
  }
  if (at != h.data_bytes) {
    if (prev)
      bad_tensor(file, prev->name,
                 fmt::format("{} bytes after this last tensor are not part of any tensor",
                             h.data_bytes - at));
    bad(file, fmt::format("no tensors, but {} bytes of data", h.data_bytes));
  }
  return h;
}

}  // namespace wick::io
