// libFuzzer target for the safetensors parser: any input must either parse into a header whose
// ranges lie inside the input, or fail with an IoError; reading a parsed tensor may fail only with
// IoError or DtypeError. Anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wick/core/errors.h"
#include "wick/io/safetensors.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void read_all(const wick::io::SafeTensorsFile& f) {
  for (const auto& name : f.names()) {
    const auto& info = f.info(name);
    wick::io::RawTensor raw = f.raw(name);
    check(raw.data >= f.mapping_data() &&
          raw.data + info.nbytes() <= f.mapping_data() + f.mapping_size());
    try {
      wick::Tensor t = f.tensor(name, wick::DType::f64);
      check(t.numel() >= 0 && t.nbytes() == size_t(t.numel()) * 8);
      if (t.numel() > 0) check(!t.to_vector<double>().empty());
    } catch (const wick::IoError&) {
    } catch (const wick::DtypeError&) {
    }
    try {
      f.tensor(name);
    } catch (const wick::IoError&) {
    } catch (const wick::DtypeError&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    wick::io::SafeTensorsHeader h = wick::io::parse_header(data, size, "fuzz.safetensors");
    check(h.data_start + h.data_bytes == size);
    for (const auto& t : h.tensors) check(t.begin <= t.end && t.end <= h.data_bytes);
  } catch (const wick::IoError&) {
    return 0;
  }
  // It parsed: open it as a file image and read every tensor.
  auto f = wick::io::SafeTensorsFile::from_bytes(std::vector<uint8_t>(data, data + size),
                                                 "fuzz.safetensors");
  read_all(f);
  return 0;
}
