#pragma once
// Shared by the libFuzzer targets: the one allowed failure is a typed wick::Error; anything else
// (another exception, a crash, a sanitizer report) is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace wick::fuzz {

[[noreturn]] inline void bug() { __builtin_trap(); }

/// A scratch folder for this process (file-based parsers are fuzzed through a file in it).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("wick_fuzz_" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_bytes(const std::filesystem::path& p, const uint8_t* data, size_t size) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
}

}  // namespace wick::fuzz
