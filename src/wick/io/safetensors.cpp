// Reading safetensors files (memory-mapped, zero-copy) and sharded checkpoints.
#include "wick/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "wick/core/errors.h"

namespace wick::io {

struct SafeTensorsFile::Storage {
  uint8_t* data = nullptr;
  size_t size = 0;
  bool mapped = false;
  std::vector<uint8_t> owned;
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (mapped) ::munmap(data, size);
  }
};

namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

enum class Kind { floating, integer, boolean, other };

Kind kind_of_stored(const std::string& s) {
  if (s == "F64" || s == "F32" || s == "F16" || s == "BF16") return Kind::floating;
  if (s == "BOOL") return Kind::boolean;
  if (s == "I64" || s == "I32" || s == "I16" || s == "I8" || s == "U64" || s == "U32" ||
      s == "U16" || s == "U8")
    return Kind::integer;
  return Kind::other;
}

Kind kind_of(DType t) {
  if (is_floating(t)) return Kind::floating;
  if (t == DType::boolean) return Kind::boolean;
  return Kind::integer;
}

// Calls f(i, value) for each stored element, value being a double for floating dtypes and an
// int64_t for integer and boolean ones.
template <class F>
void for_each_element(const TensorInfo& ti, const uint8_t* p, size_t n, const std::string& file,
                      F&& f) {
  const std::string& s = ti.dtype;
  if (s == "F64") {
    for (size_t i = 0; i < n; ++i) f(i, load<double>(p + 8 * i));
  } else if (s == "F32") {
    for (size_t i = 0; i < n; ++i) f(i, double(load<float>(p + 4 * i)));
  } else if (s == "F16") {
    for (size_t i = 0; i < n; ++i) f(i, double(f16_bits_to_float(load<uint16_t>(p + 2 * i))));
  } else if (s == "BF16") {
    for (size_t i = 0; i < n; ++i) f(i, double(to_float(bf16{load<uint16_t>(p + 2 * i)})));
  } else if (s == "I64") {
    for (size_t i = 0; i < n; ++i) f(i, load<int64_t>(p + 8 * i));
  } else if (s == "I32") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(load<int32_t>(p + 4 * i)));
  } else if (s == "I16") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(load<int16_t>(p + 2 * i)));
  } else if (s == "I8") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(load<int8_t>(p + i)));
  } else if (s == "U32") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(load<uint32_t>(p + 4 * i)));
  } else if (s == "U16") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(load<uint16_t>(p + 2 * i)));
  } else if (s == "U8" || s == "BOOL") {
    for (size_t i = 0; i < n; ++i) f(i, int64_t(p[i]));
  } else if (s == "U64") {
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = load<uint64_t>(p + 8 * i);
      if (v > uint64_t(std::numeric_limits<int64_t>::max()))
        fail<DtypeError>("safetensors",
                         "{}: tensor '{}': U64 value {} at index {} does not fit i64", file,
                         ti.name, v, i);
      f(i, int64_t(v));
    }
  } else {
    fail<DtypeError>("safetensors", "{}: tensor '{}': cannot convert {} values", file, ti.name, s);
  }
}

// Converts n stored elements into out (of element type D); the caller has refused the lossy
// directions (floating to integer or boolean, integer to boolean).
template <class D>
void convert_to(const TensorInfo& ti, const uint8_t* p, size_t n, void* out_void,
                const std::string& file) {
  D* out = static_cast<D*>(out_void);
  for_each_element(ti, p, n, file, [&](size_t i, auto v) {
    using V = decltype(v);
    if constexpr (std::is_same_v<D, float> || std::is_same_v<D, double>) {
      out[i] = D(v);
    } else if constexpr (std::is_same_v<D, bf16>) {
      out[i] = to_bf16(float(v));
    } else if constexpr (std::is_same_v<D, f16>) {
      out[i] = to_f16(float(v));
    } else if constexpr (std::is_floating_point_v<V>) {
      fail<DtypeError>("safetensors", "{}: tensor '{}': cannot convert {} to an integer type", file,
                       ti.name, ti.dtype);
    } else if constexpr (std::is_same_v<D, bool>) {
      out[i] = v != 0;
    } else if constexpr (std::is_same_v<D, int32_t>) {
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        fail<DtypeError>("safetensors", "{}: tensor '{}': value {} at index {} does not fit i32",
                         file, ti.name, v, i);
      out[i] = int32_t(v);
    } else {
      out[i] = v;
    }
  });
}

void convert(const TensorInfo& ti, const uint8_t* p, size_t n, DType target, void* out,
             const std::string& file) {
  switch (target) {
    case DType::f32:
      return convert_to<float>(ti, p, n, out, file);
    case DType::f64:
      return convert_to<double>(ti, p, n, out, file);
    case DType::bf16:
      return convert_to<bf16>(ti, p, n, out, file);
    case DType::f16:
      return convert_to<f16>(ti, p, n, out, file);
    case DType::i32:
      return convert_to<int32_t>(ti, p, n, out, file);
    case DType::i64:
      return convert_to<int64_t>(ti, p, n, out, file);
    case DType::boolean:
      return convert_to<bool>(ti, p, n, out, file);
  }
}

std::string unsupported_hint(const std::string& st) {
  if (kind_of_stored(st) == Kind::integer)
    return "ask for a conversion to i32 or i64 (tensor(name, DType::i32)) or use raw()";
  return "use raw() to get its bytes";
}

}  // namespace

SafeTensorsFile SafeTensorsFile::open(const std::filesystem::path& path) {
  std::string label = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    fail<IoError>("safetensors", "{}: cannot open: {}", label, std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail<IoError>("safetensors", "{}: not a regular file", label);
  }
  auto storage = std::make_shared<Storage>();
  storage->size = size_t(st.st_size);
  if (storage->size > 0) {
    // Private, writable mapping: in-place writes to a loaded tensor never reach the file.
    void* p = ::mmap(nullptr, storage->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail<IoError>("safetensors", "{}: mmap of {} bytes failed: {}", label, storage->size,
                    std::strerror(e));
    }
    storage->data = static_cast<uint8_t*>(p);
    storage->mapped = true;
  }
  ::close(fd);
  SafeTensorsFile f;
  f.header_ =
      std::make_shared<const SafeTensorsHeader>(parse_header(storage->data, storage->size, label));
  f.storage_ = std::move(storage);
  f.label_ = std::move(label);
  return f;
}

SafeTensorsFile SafeTensorsFile::from_bytes(std::vector<uint8_t> bytes, std::string label) {
  auto storage = std::make_shared<Storage>();
  storage->owned = std::move(bytes);
  storage->data = storage->owned.data();
  storage->size = storage->owned.size();
  SafeTensorsFile f;
  f.header_ =
      std::make_shared<const SafeTensorsHeader>(parse_header(storage->data, storage->size, label));
  f.storage_ = std::move(storage);
  f.label_ = std::move(label);
  return f;
}

std::vector<std::string> SafeTensorsFile::names() const {
  std::vector<std::string> r;
  for (const auto& t : header_->tensors) r.push_back(t.name);
  return r;
}

const TensorInfo& SafeTensorsFile::info(std::string_view name) const {
  const TensorInfo* t = header_->find(name);
  if (!t) fail<IoError>("safetensors", "{}: tensor '{}': not in this file", label_, name);
  return *t;
}

const uint8_t* SafeTensorsFile::mapping_data() const { return storage_->data; }
size_t SafeTensorsFile::mapping_size() const { return storage_->size; }

RawTensor SafeTensorsFile::raw(std::string_view name) const {
  const TensorInfo& ti = info(name);
  return RawTensor{ti, storage_->data + header_->data_start + ti.begin, storage_};
}

Tensor SafeTensorsFile::tensor(std::string_view name) const {
  const TensorInfo& ti = info(name);
  auto dt = wick_dtype_for(ti.dtype);
  if (!dt)
    fail<DtypeError>("safetensors",
                     "{}: tensor '{}': stored as {}, which wick has no dtype for; {}", label_,
                     ti.name, ti.dtype, unsupported_hint(ti.dtype));
  return tensor(name, *dt);
}

Tensor SafeTensorsFile::tensor(std::string_view name, DType target) const {
  const TensorInfo& ti = info(name);
  uint8_t* p = storage_->data + header_->data_start + ti.begin;
  size_t n = size_t(numel_of(ti.shape));
  Kind from = kind_of_stored(ti.dtype), to = kind_of(target);
  if (from == Kind::other)
    fail<DtypeError>("safetensors", "{}: tensor '{}': stored as {}, which wick cannot convert; {}",
                     label_, ti.name, ti.dtype, unsupported_hint(ti.dtype));
  if ((from == Kind::floating && to != Kind::floating) ||
      (from == Kind::integer && to == Kind::boolean))
    fail<DtypeError>("safetensors", "{}: tensor '{}': refusing lossy conversion from {} to {}",
                     label_, ti.name, ti.dtype, dtype_name(target));
  if (from == Kind::boolean) {
    for (size_t i = 0; i < n; ++i)
      if (p[i] > 1)
        fail<IoError>("safetensors", "{}: tensor '{}': BOOL byte {} at index {} is not 0 or 1",
                      label_, ti.name, int(p[i]), i);
  }
  if (wick_dtype_for(ti.dtype) == target) {
    if (reinterpret_cast<uintptr_t>(p) % size_of(target) == 0)
      return Tensor::from_buffer(wrap_external(p, ti.nbytes(), Device::cpu(), storage_), ti.shape,
                                 target);
    auto buf = allocator_for(Device::cpu()).allocate(ti.nbytes());
    if (ti.nbytes()) std::memcpy(buf->data(), p, ti.nbytes());
    return Tensor::from_buffer(std::move(buf), ti.shape, target);
  }
  auto buf = allocator_for(Device::cpu()).allocate(n * size_of(target));
  convert(ti, p, n, target, buf->data(), label_);
  return Tensor::from_buffer(std::move(buf), ti.shape, target);
}

// ---- Checkpoint -------------------------------------------------------------------------------

namespace {

constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";

std::string read_small_file(const std::filesystem::path& p, uint64_t limit) {
  std::error_code ec;
  auto size = std::filesystem::file_size(p, ec);
  if (ec) fail<IoError>("checkpoint", "{}: cannot read: {}", p.string(), ec.message());
  if (size > limit)
    fail<IoError>("checkpoint", "{}: {} bytes is larger than the {}-byte limit", p.string(), size,
                  limit);
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) fail<IoError>("checkpoint", "{}: read failed", p.string());
  return ss.str();
}

bool safe_relative(const std::string& f) {
  std::filesystem::path p(f);
  if (f.empty() || p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

}  // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  if (std::filesystem::is_directory(path)) {
    if (std::filesystem::exists(path / kSingleName)) {
      file = path / kSingleName;
    } else if (std::filesystem::exists(path / kIndexName)) {
      file = path / kIndexName;
    } else {
      fail<IoError>("checkpoint", "{}: has neither {} nor {}", path.string(), kSingleName,
                    kIndexName);
    }
  }
  Checkpoint c;
  c.source_ = file;
  std::string fname = file.filename().string();
  if (fname.size() < 11 || fname.compare(fname.size() - 11, 11, ".index.json") != 0) {
    c.shards_.push_back(SafeTensorsFile::open(file));
    for (const auto& t : c.shards_[0].header().tensors) c.where_.emplace(t.name, 0);
    return c;
  }
  std::string label = file.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_small_file(file, kMaxHeaderBytes));
  } catch (const nlohmann::json::exception& e) {
    fail<IoError>("checkpoint", "{}: not valid JSON: {}", label, e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail<IoError>("checkpoint", "{}: key 'weight_map': missing or not an object", label);
  const auto& wm = j["weight_map"];
  std::set<std::string> shard_files;
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    if (!it.value().is_string())
      fail<IoError>("checkpoint", "{}: weight_map['{}']: shard name must be a string", label,
                    it.key());
    std::string s = it.value().get<std::string>();
    if (!safe_relative(s))
      fail<IoError>("checkpoint",
                    "{}: weight_map['{}']: shard '{}' is not a relative path inside "
                    "the folder",
                    label, it.key(), s);
    shard_files.insert(s);
  }
  std::map<std::string, size_t> shard_index;
  for (const auto& s : shard_files) {
    shard_index[s] = c.shards_.size();
    c.shards_.push_back(SafeTensorsFile::open(file.parent_path() / s));
  }
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    size_t k = shard_index.at(it.value().get<std::string>());
    if (!c.shards_[k].contains(it.key()))
      fail<IoError>("checkpoint", "{}: tensor '{}': mapped to shard {} which does not contain it",
                    label, it.key(), c.shards_[k].label());
    c.where_.emplace(it.key(), k);
  }
  return c;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> r;
  for (const auto& [name, k] : where_) r.push_back(name);
  return r;
}

bool Checkpoint::contains(std::string_view name) const { return where_.find(name) != where_.end(); }

const SafeTensorsFile& Checkpoint::shard_of(std::string_view name) const {
  auto it = where_.find(name);
  if (it == where_.end())
    fail<IoError>("checkpoint", "{}: tensor '{}': not in this checkpoint", source_.string(), name);
  return shards_[it->second];
}

const TensorInfo& Checkpoint::info(std::string_view name) const {
  return shard_of(name).info(name);
}
Tensor Checkpoint::tensor(std::string_view name) const { return shard_of(name).tensor(name); }
Tensor Checkpoint::tensor(std::string_view name, DType target) const {
  return shard_of(name).tensor(name, target);
}
RawTensor Checkpoint::raw(std::string_view name) const { return shard_of(name).raw(name); }

const std::map<std::string, std::string>& Checkpoint::metadata() const {
  static const std::map<std::string, std::string> empty;
  return shards_.empty() ? empty : shards_[0].metadata();
}

Checkpoint load_checkpoint(const std::filesystem::path& dir) { return Checkpoint::open(dir); }

}  // namespace wick::io
