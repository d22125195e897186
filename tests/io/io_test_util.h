#pragma once
// Helpers shared by the io tests: temporary folders, byte-exact safetensors images, tensors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wick/core/buffer.h"
#include "wick/core/tensor.h"

namespace wick::io::testing {

/// A fresh folder under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "wick_io_XXXXXX").string();
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& f) const { return path_ / f; }

 private:
  std::filesystem::path path_;
};

using Bytes = std::vector<uint8_t>;

/// 8-byte little-endian length + header (padded with spaces to 8 bytes unless `pad` is false) +
/// data.
inline Bytes image(const std::string& header, const Bytes& data = {}, bool pad = true) {
  std::string h = header;
  if (pad) h.append((8 - h.size() % 8) % 8, ' ');
  uint64_t n = h.size();
  Bytes out(8 + h.size() + data.size());
  std::memcpy(out.data(), &n, 8);
  if (!h.empty()) std::memcpy(out.data() + 8, h.data(), h.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + h.size(), data.data(), data.size());
  return out;
}

inline void write_bytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline Bytes read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// A contiguous CPU tensor holding `v` reinterpreted as `dtype`.
template <class T>
Tensor make_tensor(const std::vector<T>& v, Shape shape, DType dtype) {
  auto buf = allocator_for(Device::cpu()).allocate(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(buf->data(), v.data(), v.size() * sizeof(T));
  return Tensor::from_buffer(buf, std::move(shape), dtype);
}

/// The bytes of a contiguous tensor.
inline Bytes tensor_bytes(const Tensor& t) {
  const uint8_t* p = static_cast<const uint8_t*>(t.raw_data());
  return Bytes(p, p + t.nbytes());
}

}  // namespace wick::io::testing
