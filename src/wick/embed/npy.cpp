#include "wick/embed/npy.h"

#include <cstring>

#include <fmt/format.h>

#include "wick/ops.h"

namespace wick::embed {

std::string npy_header_f32(const Shape& shape) {
  std::string dims;
  for (int64_t d : shape) dims += fmt::format("{}, ", d);
  if (shape.size() != 1 && !dims.empty()) dims.resize(dims.size() - 2);  // (3,) keeps its comma
  if (shape.size() == 1) dims.pop_back();
  std::string dict =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  const size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  const uint16_t n = uint16_t(dict.size());
  out.push_back(char(n & 0xff));
  out.push_back(char(n >> 8));
  return out + dict;
}

std::string npy_bytes(const Tensor& t) {
  if (t.dtype() != DType::f32)
    fail<DtypeError>("npy", "expected an f32 tensor, got {}", dtype_name(t.dtype()));
  Tensor c = contiguous(t).eval();
  std::string out = npy_header_f32(t.shape());
  const size_t head = out.size();
  out.resize(head + c.nbytes());
  if (c.nbytes()) std::memcpy(out.data() + head, c.raw_data(), c.nbytes());
  return out;
}

}  // namespace wick::embed
