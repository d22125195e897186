#include "wick/train/output_guard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"

namespace wick::train {

namespace fs = std::filesystem;

namespace {

// The absolute, normalised form of a path that may not exist yet (symlinks of the existing part
// are resolved, so that two spellings of one folder compare equal).
fs::path resolved_path(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::absolute(p).lexically_normal() : r;
}

// Whether `inner` is `outer` or lies below it.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

bool is_checkpoint_name(const std::string& name) {
  static const std::regex re(R"(checkpoint-[0-9]+(\.tmp)?)");
  return std::regex_match(name, re);
}

}  // namespace

void check_no_overlap(const fs::path& out, const fs::path& input, const char* what) {
  if (input.empty()) return;
  const fs::path o = resolved_path(out), i = resolved_path(input);
  if (is_within(o, i) || is_within(i, o))
    fail<IoError>("train",
                  "--out '{}' overlaps {} '{}' (the output folder must not be, contain or lie "
                  "inside an input); choose another --out",
                  out.string(), what, input.string());
}

void prepare_output_folder(const TrainConfig& c, const fs::path& model_dir) {
  const fs::path& out = c.out;
  if (out.empty()) fail<ValueError>("train", "no output folder given");
  check_no_overlap(out, model_dir, "--model");
  check_no_overlap(out, c.data, "--data");
  if (c.resume_adapter) check_no_overlap(out, *c.resume_adapter, "--resume-adapter");
  bool resuming_inside = false;
  if (c.resume) {
    const fs::path o = resolved_path(out), r = resolved_path(*c.resume);
    resuming_inside = is_within(r, o) && r != o;
    if (!resuming_inside) check_no_overlap(out, *c.resume, "--resume");
  }
  std::error_code ec;
  const auto st = fs::symlink_status(out, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(fs::status(out, ec)))
      fail<IoError>("train", "--out '{}' exists and is not a folder", out.string());
    if (!fs::is_empty(out, ec) && !resuming_inside) {
      if (!c.overwrite)
        fail<IoError>("train",
                      "--out '{}' is not empty (an earlier run's folder?); a second run would "
                      "overwrite its files and mix its checkpoints. Pass --overwrite to replace "
                      "them, --resume to continue it, or choose a new --out",
                      out.string());
      // --overwrite: the old run's checkpoints go, so that no checkpoint-N of this folder can
      // be mistaken for one of the new run; other files are replaced atomically when written.
      for (const auto& e : fs::directory_iterator(out))
        if (e.is_directory() && !e.is_symlink() && is_checkpoint_name(e.path().filename()))
          fs::remove_all(e.path());
    }
  }
  fs::create_directories(out, ec);
  if (ec)
    fail<IoError>("train", "--out '{}': cannot create the folder: {}", out.string(), ec.message());
  // Probe writability now rather than after the last step.
  const std::string probe = (out / ".wick-write-test-XXXXXX").string();
  std::vector<char> buf(probe.begin(), probe.end());
  buf.push_back('\0');
  const int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    const int e = errno;
    fail<IoError>("train", "--out '{}' is not writable: {}", out.string(), std::strerror(e));
  }
  ::close(fd);
  ::unlink(buf.data());
  if (c.metrics) {
    check_no_overlap(*c.metrics, model_dir, "--model");
    check_no_overlap(*c.metrics, c.data, "--data");
    io::check_output_target(*c.metrics);
    // A --metrics file outside --out is another run's log unless this run continues it.
    if (!c.overwrite && !c.resume && fs::exists(*c.metrics, ec) && !fs::is_empty(*c.metrics, ec))
      fail<IoError>("train",
                    "--metrics '{}' already exists (an earlier run's log?); pass --overwrite to "
                    "replace it, --resume to continue that run, or choose another file",
                    c.metrics->string());
  }
}

}  // namespace wick::train
