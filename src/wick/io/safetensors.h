#pragma once
// safetensors files: an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape, data_offsets relative to the first byte after the header) plus an optional
// "__metadata__" string map, then the tensor data. Reading maps the file and hands out tensors
// whose buffers point into the mapping (zero-copy); writing is atomic (see atomic_file.h).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wick/core/tensor.h"

namespace wick::io {

/// Largest JSON header accepted (the reference implementation's limit).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

/// Where one tensor lives in a safetensors file.
struct TensorInfo {
  std::string name;
  std::string dtype;   // as stored: "F32", "BF16", "I8", "F8_E4M3", ...
  Shape shape;         // empty for a scalar
  uint64_t begin = 0;  // byte range [begin, end) relative to the start of the data section
  uint64_t end = 0;
  /// Bytes of data.
  uint64_t nbytes() const { return end - begin; }
};

/// A parsed and validated header.
struct SafeTensorsHeader {
  uint64_t header_bytes = 0;        // N, the JSON length (including padding)
  uint64_t data_start = 0;          // 8 + N: file offset of the data section
  uint64_t data_bytes = 0;          // length of the data section
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const;
};

/// Parses and validates a whole safetensors file held in memory; throws IoError naming
/// `file_label`.
SafeTensorsHeader parse_header(const uint8_t* bytes, size_t size, const std::string& file_label);

/// Bits per element of a safetensors dtype name ("F32" -> 32, "F4" -> 4), 0 if unknown.
int safetensors_dtype_bits(std::string_view st_dtype);
/// The wick DType holding a safetensors dtype bit for bit ("BF16" -> bf16), if there is one.
std::optional<DType> wick_dtype_for(std::string_view st_dtype);
/// The safetensors name of a wick DType ("F32", "BF16", "BOOL", ...).
const char* safetensors_dtype_name(DType t);

/// The bytes of one stored tensor, whatever its dtype; `keep_alive` holds the mapping.
struct RawTensor {
  TensorInfo info;
  const uint8_t* data = nullptr;  // info.nbytes() bytes, not necessarily aligned
  std::shared_ptr<const void> keep_alive;
};

/// One memory-mapped safetensors file. Cheap to copy (copies share the mapping).
class SafeTensorsFile {
 public:
  /// Maps and validates `path`; throws IoError on any malformed content.
  static SafeTensorsFile open(const std::filesystem::path& path);
  /// Validates a file image held in memory (tests, fuzzing); `label` names it in errors.
  static SafeTensorsFile from_bytes(std::vector<uint8_t> bytes, std::string label);

  /// The file name used in error messages.
  const std::string& label() const { return label_; }
  /// Tensor names, sorted.
  std::vector<std::string> names() const;
  /// Whether a tensor called `name` is stored.
  bool contains(std::string_view name) const { return header_->find(name) != nullptr; }
  /// Dtype, shape and byte range of a tensor; IoError if absent.
  const TensorInfo& info(std::string_view name) const;
  /// The tensor in its stored dtype (zero-copy when aligned); DtypeError for dtypes wick lacks.
  Tensor tensor(std::string_view name) const;
  /// The tensor converted to `target` (zero-copy when it is the stored dtype).
  Tensor tensor(std::string_view name, DType target) const;
  /// The stored bytes of a tensor of any dtype.
  RawTensor raw(std::string_view name) const;
  /// The "__metadata__" map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return header_->metadata; }
  /// The parsed header.
  const SafeTensorsHeader& header() const { return *header_; }
  /// First byte and size of the whole mapped file (to check zero-copy).
  const uint8_t* mapping_data() const;
  /// Size of the mapped file in bytes.
  size_t mapping_size() const;

  struct Storage;

 private:
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<const SafeTensorsHeader> header_;
  std::string label_;
};

/// A model's weights: one safetensors file or the shards named by a model.safetensors.index.json.
class Checkpoint {
 public:
  /// Opens a folder (model.safetensors, else model.safetensors.index.json), an index file or a
  /// single .safetensors file.
  static Checkpoint open(const std::filesystem::path& path);

  /// Tensor names, sorted.
  std::vector<std::string> names() const;
  /// Whether a tensor called `name` is stored.
  bool contains(std::string_view name) const;
  /// Dtype, shape and byte range (within its shard) of a tensor.
  const TensorInfo& info(std::string_view name) const;
  /// The tensor in its stored dtype (zero-copy when aligned).
  Tensor tensor(std::string_view name) const;
  /// The tensor converted to `target`.
  Tensor tensor(std::string_view name, DType target) const;
  /// The stored bytes of a tensor.
  RawTensor raw(std::string_view name) const;
  /// The "__metadata__" of the first shard.
  const std::map<std::string, std::string>& metadata() const;
  /// The shard holding `name`.
  const SafeTensorsFile& shard_of(std::string_view name) const;
  /// All shards, in file-name order.
  const std::vector<SafeTensorsFile>& shards() const { return shards_; }
  /// The index file, or the single file, this checkpoint was opened from.
  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
  std::vector<SafeTensorsFile> shards_;
  std::map<std::string, size_t, std::less<>> where_;  // tensor name -> shard
};

/// Opens the weights of a model folder (see Checkpoint::open).
Checkpoint load_checkpoint(const std::filesystem::path& dir);

/// Receives bytes produced by a TensorSource.
using ByteSink = std::function<void(const void* data, size_t n)>;

/// A tensor to write whose bytes are produced on demand (streamed, possibly of a dtype wick lacks).
struct TensorSource {
  std::string name;
  std::string dtype;  // safetensors name: "F32", "I8", ...
  Shape shape;
  /// Must pass exactly numel * element size bytes to the sink, in row-major order.
  std::function<void(const ByteSink&)> produce;
};

/// A source for a tensor on any device (evaluated now; a device tensor is copied to the host as
/// it is written; strided views are written row-major).
TensorSource tensor_source(std::string name, const Tensor& t);
/// A source copying a stored tensor as is.
TensorSource raw_source(std::string name, const RawTensor& raw);

/// Writes tensors (evaluated first if pending) and metadata to `path` atomically.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
/// Writes streamed tensors atomically; the old file stays if any source throws or misbehaves.
void write_safetensors_streamed(const std::filesystem::path& path,
                                const std::vector<TensorSource>& tensors,
                                const std::map<std::string, std::string>& metadata = {});
/// Writes a folder's weights: model.safetensors if all fit in `max_shard_bytes`, else shards
/// model-0000i-of-0000n.safetensors plus model.safetensors.index.json. Returns the files written.
std::vector<std::filesystem::path> write_checkpoint(
    const std::filesystem::path& dir, const std::vector<TensorSource>& tensors,
    uint64_t max_shard_bytes = 5'000'000'000ull,
    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace wick::io
