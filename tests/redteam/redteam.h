#pragma once
// The red-team harness: hostile inputs are built in a temporary folder, the CLI (WICK_CLI_PATH)
// runs on them, and each case checks its expected outcome: the exit status (never a crash or a
// timeout), a substring of the message, and that every input file is byte-identical afterwards.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace wick::redteam {

namespace fs = std::filesystem;

/// How a case must end.
enum class Expect { ok, error };

/// One hostile case: CLI arguments with placeholders ({llama}, {bert}, {work}, ...) replaced by
/// the suite's paths, the expected end and a substring the output must contain ("" for none).
struct Case {
  Case(std::string name_, std::string args_, Expect expect_, std::string needle_,
       std::string shell_prefix_ = "", std::string redirect_ = "")
      : name(std::move(name_)),
        args(std::move(args_)),
        expect(expect_),
        needle(std::move(needle_)),
        shell_prefix(std::move(shell_prefix_)),
        redirect(std::move(redirect_)) {}
  std::string name;
  std::string args;
  Expect expect = Expect::error;
  std::string needle;
  std::string shell_prefix;  // e.g. "ulimit -f 1; " (runs in bash before exec wick)
  std::string redirect;      // e.g. "> /dev/full" (stdout only; stderr is still captured)
};

struct RunResult {
  int rc = -1;
  std::string out;  // stdout + stderr
};

/// Runs `wick args` through bash with a 120 s kill timer and no stdin; rc >= 124 means it
/// crashed (128 + signal), was killed or timed out.
inline RunResult run_wick(const std::string& args, const std::string& shell_prefix = "",
                          const std::string& redirect = "") {
  // stderr goes to the pipe first; a `redirect` of stdout ("> /dev/full") then applies to
  // stdout only.
  const std::string inner = shell_prefix + "exec timeout -s KILL 120 " + WICK_CLI_PATH + " " +
                            args + " </dev/null 2>&1" + (redirect.empty() ? "" : " " + redirect);
  std::string quoted;
  for (char c : inner) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  FILE* p = popen(("bash -c '" + quoted + "' 2>&1").c_str(), "r");
  RunResult r;
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

/// 64-bit FNV-1a of a file's bytes (fingerprint for "input unchanged").
inline uint64_t file_hash(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  uint64_t h = 1469598103934665603ull;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  return h;
}

/// Path -> hash of every regular file under `dir` (or of `dir` itself when it is a file), plus
/// the kind of every symlink and special file (so replacing one with a regular file shows).
inline std::map<std::string, uint64_t> snapshot(const fs::path& dir) {
  std::map<std::string, uint64_t> m;
  std::error_code ec;
  auto add = [&](const fs::path& p) {
    const auto st = fs::symlink_status(p, ec);
    if (fs::is_symlink(st))
      m[p.string()] = 0x5157u ^ std::hash<std::string>{}(fs::read_symlink(p, ec).string());
    else if (fs::is_regular_file(st))
      m[p.string()] = file_hash(p);
    else if (!fs::is_directory(st))
      m[p.string()] = uint64_t(st.type());
  };
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    if (fs::exists(fs::symlink_status(dir, ec))) add(dir);
    return m;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec))
    add(it->path());
  return m;
}

/// Replaces every "{key}" of `s` by its value.
inline std::string expand(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars) {
    const std::string pat = "{" + k + "}";
    for (size_t pos; (pos = s.find(pat)) != std::string::npos;) s.replace(pos, pat.size(), v);
  }
  return s;
}

/// A gtest-safe name: letters, digits and '_' only.
inline std::string case_name(const std::string& s) {
  std::string o;
  for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return o;
}

/// Runs a case and checks the outcome; `inputs` are the folders/files that must stay unchanged.
inline RunResult check_case(const Case& c, const std::map<std::string, std::string>& vars,
                            const std::vector<fs::path>& inputs) {
  std::vector<std::map<std::string, uint64_t>> before;
  for (const auto& in : inputs) before.push_back(snapshot(in));
  const RunResult r =
      run_wick(expand(c.args, vars), expand(c.shell_prefix, vars), expand(c.redirect, vars));
  const std::string shown = "wick " + expand(c.args, vars) + "\n" + r.out;
  EXPECT_GE(r.rc, 0) << shown;
  EXPECT_LT(r.rc, 124) << "crashed, killed or timed out: " << shown;
  if (c.expect == Expect::ok) {
    EXPECT_EQ(r.rc, 0) << shown;
  } else {
    EXPECT_NE(r.rc, 0) << "expected an error: " << shown;
  }
  if (!c.needle.empty()) {
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << shown;
  }
  EXPECT_EQ(r.out.find("bad_alloc"), std::string::npos) << shown;
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(snapshot(inputs[i]), before[i]) << "input changed: " << inputs[i] << "\n" << shown;
  return r;
}

/// Copies a fixture model folder into `to` (fixtures are read-only).
inline fs::path copy_fixture(const std::string& rel, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy(testing::fixtures_dir() / rel, to, fs::copy_options::recursive);
  return to;
}

/// Writes text to a file.
inline void write_text(const fs::path& f, const std::string& s) {
  std::ofstream o(f, std::ios::binary | std::ios::trunc);
  o << s;
}

inline std::string read_text(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace wick::redteam

namespace wick::redteam {

/// Copies of the tiny fixtures the cases run on, made once per process and removed at exit:
/// {llama} (Llama decoder), {bert} (BERT encoder), {data} (training JSONL), {adapter} (PEFT
/// LoRA adapter for {llama}), {work} (a scratch folder).
struct Workspace {
  fs::path root, llama, bert, data, adapter, work;
  std::map<std::string, std::string> vars;
  Workspace() {
    root = testing::temp_dir("redteam");
    llama = copy_fixture("models/llama", root / "llama");
    bert = copy_fixture("models/bert_mean", root / "bert");
    adapter = copy_fixture("train/start_adapter", root / "adapter");
    data = root / "data.jsonl";
    fs::copy_file(testing::fixtures_dir() / "train/data.jsonl", data);
    work = root / "work";
    fs::create_directories(work);
    vars = {{"llama", llama.string()},     {"bert", bert.string()}, {"data", data.string()},
            {"adapter", adapter.string()}, {"work", work.string()}, {"root", root.string()}};
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::vector<fs::path> inputs() const { return {llama, bert, adapter, data}; }
};

inline const Workspace& workspace() {
  static const Workspace w;
  return w;
}

}  // namespace wick::redteam
