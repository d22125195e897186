#include "wick/io/hf_cache.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "wick/core/errors.h"

namespace wick::io {

namespace fs = std::filesystem;

namespace {

std::string hf_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool hub_id_part_ok(const std::string& p) {
  if (p.empty() || p == "." || p == "..") return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace

std::vector<fs::path> hf_cache_dirs() {
  std::vector<fs::path> dirs;
  auto add = [&](const fs::path& p) {
    if (std::find(dirs.begin(), dirs.end(), p) == dirs.end()) dirs.push_back(p);
  };
  if (const std::string v = hf_env("HF_HUB_CACHE"); !v.empty()) add(v);
  if (const std::string v = hf_env("HF_HOME"); !v.empty()) add(fs::path(v) / "hub");
  // huggingface_hub's default HF_HOME is $XDG_CACHE_HOME/huggingface when that is set.
  if (const std::string v = hf_env("XDG_CACHE_HOME"); !v.empty() && hf_env("HF_HOME").empty())
    add(fs::path(v) / "huggingface" / "hub");
  if (const std::string v = hf_env("HOME"); !v.empty())
    add(fs::path(v) / ".cache" / "huggingface" / "hub");
  return dirs;
}

bool is_hub_id(const std::string& s) {
  const size_t slash = s.find('/');
  if (slash == std::string::npos || s.find('/', slash + 1) != std::string::npos) return false;
  return hub_id_part_ok(s.substr(0, slash)) && hub_id_part_ok(s.substr(slash + 1));
}

fs::path find_hf_snapshot(const fs::path& cache, const std::string& repo_id) {
  std::string folder = "models--" + repo_id;
  const size_t slash = folder.find('/');
  folder.replace(slash, 1, "--");
  const fs::path repo = cache / folder;
  std::error_code ec;
  if (!fs::is_directory(repo, ec)) return {};
  std::ifstream ref(repo / "refs" / "main");
  std::string rev;
  if (ref && std::getline(ref, rev)) {
    while (!rev.empty() && (rev.back() == '\r' || rev.back() == ' ')) rev.pop_back();
    const fs::path snap = repo / "snapshots" / rev;
    if (!rev.empty() && fs::is_directory(snap, ec)) return snap;
  }
  // No usable refs/main: a single snapshot is unambiguous.
  std::vector<fs::path> snaps;
  if (fs::is_directory(repo / "snapshots", ec))
    for (const auto& e : fs::directory_iterator(repo / "snapshots", ec))
      if (e.is_directory()) snaps.push_back(e.path());
  return snaps.size() == 1 ? snaps.front() : fs::path();
}

fs::path resolve_model_path(const std::string& arg) {
  std::error_code ec;
  if (fs::exists(arg, ec) || !is_hub_id(arg)) return arg;
  const std::vector<fs::path> dirs = hf_cache_dirs();
  std::string searched;
  for (const auto& d : dirs) {
    if (fs::path snap = find_hf_snapshot(d, arg); !snap.empty()) return snap;
    std::string folder = "models--" + arg;
    folder.replace(folder.find('/'), 1, "--");
    searched += (searched.empty() ? "" : ", ") + (d / folder).string();
  }
  fail<IoError>("model",
                "'{}' is not a folder, and the Hugging Face id '{}' is not in the local cache "
                "(searched: {}; set HF_HUB_CACHE or HF_HOME; wick does not download)",
                arg, arg,
                searched.empty() ? "nothing: HF_HUB_CACHE, HF_HOME and HOME are unset" : searched);
}

}  // namespace wick::io
