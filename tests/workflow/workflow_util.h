#pragma once
// Helpers of the end-to-end workflow tests: running the CLI and reading what it wrote.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace wick::workflow {

struct CliRun {
  int rc = -1;
  std::string out;  // stdout + stderr
};

/// Runs `wick ARGS` through the shell (ARGS may hold redirections and environment settings go
/// in `env`, e.g. "HF_HUB_CACHE=/x").
inline CliRun wf_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd =
      (env.empty() ? "" : env + " ") + std::string(WICK_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliRun r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

/// The last line of `text` that parses as a JSON object.
inline nlohmann::json wf_last_json(const std::string& text) {
  nlohmann::json last;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (!line.empty() && line.front() == '{') {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) last = j;
    }
    start = end + 1;
  }
  return last;
}

inline std::vector<nlohmann::json> wf_json_lines(const std::filesystem::path& f) {
  std::ifstream in(f);
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(nlohmann::json::parse(l));
  return out;
}

inline void wf_write(const std::filesystem::path& f, const std::string& text) {
  std::filesystem::create_directories(f.parent_path());
  std::ofstream(f, std::ios::binary) << text;
}

inline std::string wf_model(const std::string& name) {
  return (testing::fixtures_dir() / "models" / name).string();
}

/// A data folder: the fixture's train data and a small validation split mixing formats.
inline std::filesystem::path wf_data_folder(const std::string& name) {
  const auto d = testing::temp_dir("wf_data_" + name);
  std::filesystem::copy_file(testing::fixtures_dir() / "train/data.jsonl", d / "train.jsonl",
                             std::filesystem::copy_options::overwrite_existing);
  wf_write(d / "valid.jsonl",
           "{\"text\": \"The dog ran in the park.\"}\n"
           "{\"prompt\": \"Question: what is two plus two?\", \"completion\": \" Four.\"}\n"
           "{\"text\": \"A short line.\"}\n");
  return d;
}

}  // namespace wick::workflow
