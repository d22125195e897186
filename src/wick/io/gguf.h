#pragma once
// GGUF v3, the file format of llama.cpp / ggml: the magic "GGUF", version 3, the tensor and
// key-value counts (u64), the key-value metadata (typed values, arrays of one type), one info
// record per tensor (name, dims innermost first, ggml type, offset into the data section), then
// the tensor data, each tensor and the data section aligned to `general.alignment` (32 unless the
// metadata says otherwise). All integers are little-endian. GgufWriter writes such a file
// atomically; read_gguf parses and validates one (the tests read exports back with it).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace wick::io {

/// Value types of GGUF metadata (the numbers are the file's).
enum class GgufType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

/// Tensor element types of ggml that wick writes (the numbers are ggml's `ggml_type`).
enum class GgmlType : uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };

/// Name of a ggml type ("f32", "q8_0", ...).
const char* ggml_type_name(GgmlType t);
/// Bytes of `n` elements of `t` (q8_0: n must be a multiple of 32; 34 bytes per block of 32).
uint64_t ggml_row_bytes(GgmlType t, uint64_t n);

/// q8_0 block: 32 values as one f16 scale d = max|x| / 127 and 32 int8 q = round(x / d).
inline constexpr int64_t kQ8Block = 32;
/// Quantises `n` floats (a multiple of 32) to q8_0 blocks appended to `out`.
void quantize_q8_0(const float* x, int64_t n, std::vector<uint8_t>& out);
/// Dequantises `n` values of q8_0 blocks.
void dequantize_q8_0(const uint8_t* blocks, int64_t n, float* out);

/// One metadata value: a scalar, a string, or an array of scalars or strings (its element type
/// is `array_type`).
struct GgufValue {
  GgufType type = GgufType::u32;
  GgufType array_type = GgufType::u32;  // element type when type == array
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<uint64_t>,
               std::vector<int64_t>, std::vector<double>, std::vector<std::string>>
      v;

  static GgufValue u32(uint32_t x) { return {GgufType::u32, GgufType::u32, uint64_t(x)}; }
  static GgufValue i32(int32_t x) { return {GgufType::i32, GgufType::u32, int64_t(x)}; }
  static GgufValue u64(uint64_t x) { return {GgufType::u64, GgufType::u32, x}; }
  static GgufValue f32(float x) { return {GgufType::f32, GgufType::u32, double(x)}; }
  static GgufValue boolean(bool x) { return {GgufType::boolean, GgufType::u32, x}; }
  static GgufValue str(std::string x) { return {GgufType::string, GgufType::u32, std::move(x)}; }
  static GgufValue strings(std::vector<std::string> x) {
    return {GgufType::array, GgufType::string, std::move(x)};
  }
  static GgufValue i32s(std::vector<int64_t> x) {
    return {GgufType::array, GgufType::i32, std::move(x)};
  }
  static GgufValue f32s(std::vector<double> x) {
    return {GgufType::array, GgufType::f32, std::move(x)};
  }

  /// The value as an unsigned / signed integer, a float, a bool or a string; ValueError when it
  /// has another type.
  uint64_t as_u64() const;
  int64_t as_i64() const;
  double as_f64() const;
  bool as_bool() const;
  const std::string& as_string() const;
  const std::vector<std::string>& as_strings() const;
  const std::vector<int64_t>& as_ints() const;
  const std::vector<double>& as_floats() const;
  /// Number of elements of an array (1 for a scalar).
  size_t size() const;
};

/// A tensor to write: its shape in row-major order (as safetensors and wick have it; GGUF stores
/// it reversed), its type and a function producing exactly ggml_row_bytes(type, numel) bytes.
struct GgufTensor {
  std::string name;
  std::vector<int64_t> shape;
  GgmlType type = GgmlType::f32;
  std::function<std::vector<uint8_t>()> produce;
};

/// Collects metadata (in insertion order) and tensors and writes a GGUF v3 file.
class GgufWriter {
 public:
  /// Adds a key; ValueError if the key was already added.
  void add(const std::string& key, GgufValue value);
  /// Adds a tensor; ValueError for a duplicate name or a q8_0 tensor whose rows are not a
  /// multiple of 32.
  void add_tensor(GgufTensor t);
  /// Writes the file atomically (temporary file + rename); IoError naming the path on failure
  /// or when a producer returns the wrong number of bytes.
  void write(const std::filesystem::path& path) const;
  /// Alignment of the data section and of every tensor (32).
  static constexpr uint64_t kAlignment = 32;

 private:
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensor> tensors_;
};

/// A tensor's record in a GGUF file.
struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // row-major (the file's dims reversed)
  GgmlType type = GgmlType::f32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t nbytes = 0;
};

/// A parsed GGUF file held in memory.
struct GgufFile {
  uint32_t version = 0;
  std::vector<std::pair<std::string, GgufValue>> kv;  // in file order
  std::vector<GgufTensorInfo> tensors;                // in file order
  uint64_t alignment = 32;
  uint64_t data_start = 0;     // file offset of the data section
  std::vector<uint8_t> bytes;  // the whole file

  /// The value of `key`; IoError naming the key when absent.
  const GgufValue& get(const std::string& key) const;
  /// Whether `key` is present.
  bool has(const std::string& key) const;
  /// The tensor called `name`; IoError when absent.
  const GgufTensorInfo& tensor(const std::string& name) const;
  /// A tensor's values as floats (f32, f16, bf16 and q8_0 are decoded).
  std::vector<float> tensor_values(const std::string& name) const;
};

/// Reads and validates a GGUF file (magic, version 2 or 3, counts, types, offsets and sizes within
/// the file); IoError naming the file and what is wrong.
GgufFile read_gguf(const std::filesystem::path& path);

}  // namespace wick::io
