#pragma once
// Atomic file replacement: write to a temporary file in the target's folder, fsync it, rename it
// over the target and fsync the folder. A crash or an error leaves either the old file or the new
// one in place, never a half-written file, and no temporary behind (except after a hard crash).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace wick::io {

/// A file being written atomically; uncommitted writes are discarded when it is destroyed.
class AtomicFile {
 public:
  /// Creates a temporary file beside `path` (the folder must exist; check_output_target applies).
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `n` bytes.
  void write(const void* data, size_t n);
  /// Appends a string's bytes.
  void write(std::string_view s) { write(s.data(), s.size()); }
  /// Flushes, fsyncs, renames over the target and fsyncs the folder.
  void commit();
  /// Closes and removes the temporary file; the target is left untouched.
  void abort() noexcept;

  /// The final path.
  const std::filesystem::path& path() const { return path_; }
  /// The temporary file's path (empty after commit or abort).
  const std::filesystem::path& temp_path() const { return temp_; }
  /// Bytes written so far.
  uint64_t bytes_written() const { return written_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
};

/// IoError unless `path` can be an output of wick: absent (in an existing folder) or a regular
/// file. A symbolic link, a folder, a device node, a FIFO or a socket is refused, never replaced.
void check_output_target(const std::filesystem::path& path);
/// Writes `contents` to `path` atomically.
void atomic_write_file(const std::filesystem::path& path, std::string_view contents);
/// Lets `fill` write the contents of `path`; commits if it returns, discards if it throws.
void atomic_write(const std::filesystem::path& path, const std::function<void(AtomicFile&)>& fill);

}  // namespace wick::io
