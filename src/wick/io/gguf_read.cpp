// GGUF reader: parses a whole file held in memory, checking every length, count, type and offset
// against the bytes that are there before using it, so a malformed file is an IoError naming the
// file, never an out-of-bounds read.
#include <cstring>
#include <fstream>
#include <set>

#include "wick/core/dtype.h"
#include "wick/core/errors.h"
#include "wick/io/gguf.h"

namespace wick::io {

namespace {

// A bounds-checked cursor over the file's bytes.
struct GgufCursor {
  const std::vector<uint8_t>& b;
  const std::string& label;
  size_t pos = 0;

  void need(uint64_t n, const char* what) {
    if (n > b.size() - pos)
      fail<IoError>("gguf",
                    "'{}': truncated while reading {} at byte {}; expected {} more bytes, "
                    "got {}",
                    label, what, pos, n, b.size() - pos);
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T x;
    std::memcpy(&x, b.data() + pos, sizeof(T));
    pos += sizeof(T);
    return x;
  }
  std::string str(const char* what) {
    const uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b.data() + pos), n);
    pos += n;
    return s;
  }
};

GgufValue gguf_read_value(GgufCursor& c, GgufType t, const std::string& key) {
  switch (t) {
    case GgufType::u8:
      return {t, GgufType::u32, uint64_t(c.get<uint8_t>(key.c_str()))};
    case GgufType::i8:
      return {t, GgufType::u32, int64_t(c.get<int8_t>(key.c_str()))};
    case GgufType::u16:
      return {t, GgufType::u32, uint64_t(c.get<uint16_t>(key.c_str()))};
    case GgufType::i16:
      return {t, GgufType::u32, int64_t(c.get<int16_t>(key.c_str()))};
    case GgufType::u32:
      return {t, GgufType::u32, uint64_t(c.get<uint32_t>(key.c_str()))};
    case GgufType::i32:
      return {t, GgufType::u32, int64_t(c.get<int32_t>(key.c_str()))};
    case GgufType::u64:
      return {t, GgufType::u32, c.get<uint64_t>(key.c_str())};
    case GgufType::i64:
      return {t, GgufType::u32, c.get<int64_t>(key.c_str())};
    case GgufType::f32:
      return {t, GgufType::u32, double(c.get<float>(key.c_str()))};
    case GgufType::f64:
      return {t, GgufType::u32, c.get<double>(key.c_str())};
    case GgufType::boolean: {
      const uint8_t x = c.get<uint8_t>(key.c_str());
      if (x > 1) fail<IoError>("gguf", "'{}': key '{}': bool value {}", c.label, key, int(x));
      return {t, GgufType::u32, x == 1};
    }
    case GgufType::string:
      return {t, GgufType::u32, c.str(key.c_str())};
    case GgufType::array:
      break;
  }
  fail<IoError>("gguf", "'{}': key '{}' has unknown value type {}", c.label, key, uint32_t(t));
}

GgufValue gguf_read_array(GgufCursor& c, const std::string& key) {
  const uint32_t et = c.get<uint32_t>(key.c_str());
  if (et > uint32_t(GgufType::f64) || et == uint32_t(GgufType::array))
    fail<IoError>("gguf", "'{}': key '{}': array of unsupported type {}", c.label, key, et);
  const uint64_t n = c.get<uint64_t>(key.c_str());
  // Every element takes at least one byte: a count beyond the file is malformed.
  c.need(n, key.c_str());
  GgufValue out;
  out.type = GgufType::array;
  out.array_type = GgufType(et);
  std::vector<uint64_t> u;
  std::vector<int64_t> s;
  std::vector<double> f;
  std::vector<std::string> strs;
  for (uint64_t i = 0; i < n; ++i) {
    GgufValue e = gguf_read_value(c, out.array_type, key);
    if (auto* p = std::get_if<uint64_t>(&e.v)) u.push_back(*p);
    if (auto* p = std::get_if<int64_t>(&e.v)) s.push_back(*p);
    if (auto* p = std::get_if<double>(&e.v)) f.push_back(*p);
    if (auto* p = std::get_if<bool>(&e.v)) u.push_back(*p ? 1 : 0);
    if (auto* p = std::get_if<std::string>(&e.v)) strs.push_back(std::move(*p));
  }
  switch (out.array_type) {
    case GgufType::string:
      out.v = std::move(strs);
      break;
    case GgufType::f32:
    case GgufType::f64:
      out.v = std::move(f);
      break;
    case GgufType::i8:
    case GgufType::i16:
    case GgufType::i32:
    case GgufType::i64:
      out.v = std::move(s);
      break;
    default:
      out.v = std::move(u);
      break;
  }
  return out;
}

}  // namespace

const GgufValue& GgufFile::get(const std::string& key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return v;
  fail<IoError>("gguf", "no metadata key '{}'", key);
}

bool GgufFile::has(const std::string& key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return true;
  return false;
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return t;
  fail<IoError>("gguf", "no tensor '{}'", name);
}

std::vector<float> GgufFile::tensor_values(const std::string& name) const {
  const GgufTensorInfo& t = tensor(name);
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  std::vector<float> out(size_t(n), 0.0f);
  const uint8_t* p = bytes.data() + data_start + t.offset;
  for (int64_t i = 0; i < n && t.type != GgmlType::q8_0; ++i) {
    uint16_t h = 0;
    switch (t.type) {
      case GgmlType::f32:
        std::memcpy(&out[size_t(i)], p + 4 * i, 4);
        break;
      case GgmlType::f16:
        std::memcpy(&h, p + 2 * i, 2);
        out[size_t(i)] = f16_bits_to_float(h);
        break;
      case GgmlType::bf16:
        std::memcpy(&h, p + 2 * i, 2);
        out[size_t(i)] = to_float(bf16{h});
        break;
      case GgmlType::q8_0:
        break;
    }
  }
  if (t.type == GgmlType::q8_0) dequantize_q8_0(p, n, out.data());
  return out;
}

GgufFile read_gguf(const std::filesystem::path& path) {
  const std::string label = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>("gguf", "cannot open '{}'", label);
  GgufFile g;
  g.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  GgufCursor c{g.bytes, label};
  const uint32_t magic = c.get<uint32_t>("the magic");
  if (magic != 0x46554747)
    fail<IoError>("gguf", "'{}' is not a GGUF file; expected magic 'GGUF', got 0x{:08x}", label,
                  magic);
  g.version = c.get<uint32_t>("the version");
  if (g.version != 2 && g.version != 3)
    fail<IoError>("gguf", "'{}': version {}; expected 2 or 3", label, g.version);
  const uint64_t n_tensors = c.get<uint64_t>("the tensor count");
  const uint64_t n_kv = c.get<uint64_t>("the key-value count");
  c.need(n_kv, "the metadata");  // each entry takes more than a byte
  std::set<std::string> keys;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str("a metadata key");
    if (!keys.insert(key).second) fail<IoError>("gguf", "'{}': key '{}' twice", label, key);
    const uint32_t t = c.get<uint32_t>(key.c_str());
    GgufValue v = t == uint32_t(GgufType::array) ? gguf_read_array(c, key)
                                                 : gguf_read_value(c, GgufType(t), key);
    if (key == "general.alignment") {
      g.alignment = v.as_u64();
      if (g.alignment == 0 || (g.alignment & (g.alignment - 1)) != 0)
        fail<IoError>("gguf", "'{}': general.alignment {} is not a power of two", label,
                      g.alignment);
    }
    g.kv.emplace_back(std::move(key), std::move(v));
  }
  c.need(n_tensors, "the tensor records");
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.str("a tensor name");
    if (!names.insert(t.name).second)
      fail<IoError>("gguf", "'{}': tensor '{}' twice", label, t.name);
    const uint32_t nd = c.get<uint32_t>(t.name.c_str());
    if (nd == 0 || nd > 4)
      fail<IoError>("gguf", "'{}': tensor '{}' has {} dimensions; expected 1 to 4", label, t.name,
                    nd);
    t.shape.resize(nd);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      const uint64_t x = c.get<uint64_t>(t.name.c_str());
      if (x == 0 || x > (uint64_t(1) << 40) || numel > (uint64_t(1) << 40) / x)
        fail<IoError>("gguf", "'{}': tensor '{}' dimension {} is {}", label, t.name, d, x);
      numel *= x;
      t.shape[nd - 1 - d] = int64_t(x);
    }
    const uint32_t ty = c.get<uint32_t>(t.name.c_str());
    if (ty != 0 && ty != 1 && ty != 8 && ty != 30)
      fail<IoError>("gguf", "'{}': tensor '{}' has ggml type {}, which wick does not read", label,
                    t.name, ty);
    t.type = GgmlType(ty);
    if (t.type == GgmlType::q8_0 && t.shape.back() % kQ8Block != 0)
      fail<IoError>("gguf", "'{}': q8_0 tensor '{}' has rows of {}", label, t.name, t.shape.back());
    t.nbytes = ggml_row_bytes(t.type, numel);
    t.offset = c.get<uint64_t>(t.name.c_str());
    if (t.offset % g.alignment != 0)
      fail<IoError>("gguf", "'{}': tensor '{}' offset {} is not aligned to {}", label, t.name,
                    t.offset, g.alignment);
    g.tensors.push_back(std::move(t));
  }
  g.data_start = (c.pos + g.alignment - 1) / g.alignment * g.alignment;
  for (const auto& t : g.tensors)
    if (g.data_start > g.bytes.size() || t.offset > g.bytes.size() - g.data_start ||
        t.nbytes > g.bytes.size() - g.data_start - t.offset)
      fail<IoError>("gguf", "'{}': tensor '{}' ({} bytes at {}) lies beyond the end of the file",
                    label, t.name, t.nbytes, t.offset);
  return g;
}

}  // namespace wick::io
