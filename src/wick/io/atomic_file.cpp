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

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.filename().empty())
    fail<IoError>("atomic_write", "'{}' is not a file path", path_.string());
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
    abort();
    fail<IoError>("atomic_write", "{}: rename from {} failed: {}", path_.string(), temp_.string(),
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
