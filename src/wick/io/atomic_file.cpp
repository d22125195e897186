#include "wick/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "wick/core/errors.h"

namespace wick::io {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// fsyncs a folder so that a rename inside it is durable.
void fsync_dir(const std::filesystem::path& dir, const std::filesystem::path& target) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    fail<IoError>("atomic_write", "{}: cannot open folder {} to fsync it: {}", target.string(),
                  dir.string(), errno_text(e));
  }
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  // Some file systems do not support fsync on folders; that is not an error worth failing on.
  if (rc != 0 && e != EINVAL && e != ENOTSUP)
    fail<IoError>("atomic_write", "{}: fsync of folder {} failed: {}", target.string(),
                  dir.string(), errno_text(e));
}

}  // namespace

void check_output_target(const std::filesystem::path& path) {
  if (path.filename().empty() || path.filename() == "." || path.filename() == "..")
    fail<IoError>("atomic_write", "'{}' is not a file path", path.string());
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      const auto dir = path.parent_path();
      struct stat ds {};
      if (!dir.empty() && (::stat(dir.c_str(), &ds) != 0 || !S_ISDIR(ds.st_mode)))
        fail<IoError>("atomic_write", "{}: the folder '{}' does not exist", path.string(),
                      dir.string());
      return;
    }
    int e = errno;
    fail<IoError>("atomic_write", "{}: cannot inspect the output path: {}", path.string(),
                  errno_text(e));
  }
  // Replacing is done by rename, which would turn a symlink, a device node or a FIFO into a
  // regular file (and cannot replace a folder): refuse those instead of destroying them.
  if (S_ISLNK(st.st_mode))
    fail<IoError>("atomic_write",
                  "{}: the output path is a symbolic link; refusing to replace it (give the "
                  "link's target instead)",
                  path.string());
  if (S_ISDIR(st.st_mode))
    fail<IoError>("atomic_write", "{}: the output path is a folder; expected a file path",
                  path.string());
  if (!S_ISREG(st.st_mode))
    fail<IoError>("atomic_write",
                  "{}: the output path is not a regular file (a device, FIFO or socket); wick "
                  "writes only regular files",
                  path.string());
}

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  check_output_target(path_);
  std::filesystem::path dir = path_.parent_path();
  std::string base = ".";
  base.append(path_.filename().string()).append(".tmp-XXXXXX");
  std::string tmpl = (dir / base).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    fail<IoError>("atomic_write", "{}: cannot create a temporary file in '{}': {}", path_.string(),
                  dir.empty() ? "." : dir.string(), errno_text(e));
  }
  temp_ = buf.data();
  // Keep the mode of the file being replaced; new files get rw-r--r--.
  struct stat st {};
  mode_t mode = (::stat(path_.c_str(), &st) == 0) ? (st.st_mode & 07777) : 0644;
  ::fchmod(fd_, mode);
}

AtomicFile::~AtomicFile() { abort(); }

void AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) fail<IoError>("atomic_write", "{}: write after commit or abort", path_.string());
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd_, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      fail<IoError>("atomic_write", "{}: write failed after {} bytes: {}", path_.string(), written_,
                    errno_text(e));
    }
    p += k;
    n -= size_t(k);
    written_ += uint64_t(k);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail<IoError>("atomic_write", "{}: commit after commit or abort", path_.string());
  if (::fsync(fd_) != 0) {
    int e = errno;
    abort();
    fail<IoError>("atomic_write", "{}: fsync failed: {}", path_.string(), errno_text(e));
  }
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    int e = errno;
    abort();
    fail<IoError>("atomic_write", "{}: close failed: {}", path_.string(), errno_text(e));
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    const std::string temp = temp_.string();  // abort() clears temp_
    abort();
    fail<IoError>("atomic_write", "{}: rename from {} failed: {}", path_.string(), temp,
                  errno_text(e));
  }
  temp_.clear();
  fsync_dir(path_.parent_path(), path_);
}

void AtomicFile::abort() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

void atomic_write_file(const std::filesystem::path& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

void atomic_write(const std::filesystem::path& path, const std::function<void(AtomicFile&)>& fill) {
  AtomicFile f(path);
  fill(f);
  f.commit();
}

}  // namespace wick::io
