#pragma once
// Shared by the tests of tests/gguf: export a model folder with the wick CLI, run
// llama_cpp_logits.mjs on the file (llama.cpp through node-llama-cpp) and compare its token ids
// and logits with wick's.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "testing/testing.h"
#include "wick/io/hf_config.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::testing {

namespace fs = std::filesystem;

inline std::string llama_cpp_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q.append("'\\''");
    else
      q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

inline std::string llama_cpp_read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command with stdout and stderr in files of `dir`; returns the exit status.
inline int llama_cpp_run(const std::string& cmd, const fs::path& dir, std::string& out,
                         std::string& err) {
  const std::string full = cmd + " >" + llama_cpp_quote((dir / "out").string()) + " 2>" +
                           llama_cpp_quote((dir / "err").string());
  const int st = std::system(full.c_str());
  out = llama_cpp_read(dir / "out");
  err = llama_cpp_read(dir / "err");
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Why the llama.cpp check cannot run here, or "" when it can.
inline std::string llama_cpp_missing() {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not on the PATH";
  const fs::path mod = source_path("tests/gguf/node_modules/node-llama-cpp/package.json");
  if (!fs::exists(mod))
    return "node-llama-cpp is not installed in tests/gguf (run scripts/install-reference.sh)";
  return "";
}

/// What one comparison measured.
struct LlamaCppMeasure {
  int64_t tokens = 0;
  double worst = 0;       // max over positions of max |centred diff| / max |centred wick logit|
  int64_t same_top1 = 0;  // positions where both pick the same most likely token
};

/// One file for llama.cpp to evaluate.
struct LlamaCppJob {
  fs::path model_dir;   // what was exported (wick's side of the comparison)
  std::string adapter;  // adapter folder merged into the export ("" = none)
  std::string dtype;    // --dtype ("" = the default)
  std::string prompt;
  bool last_only = false;  // llama.cpp scores the last position only (large vocabularies)
  fs::path file;           // the .gguf written
};

/// Exports a job's model with the wick CLI into job.file; returns "" or what went wrong.
inline std::string llama_cpp_export(const LlamaCppJob& job) {
  std::string cmd = llama_cpp_quote(WICK_CLI_PATH) + " export --model " +
                    llama_cpp_quote(job.model_dir.string()) + " --format gguf --out " +
                    llama_cpp_quote(job.file.string());
  if (!job.dtype.empty()) cmd += " --dtype " + job.dtype;
  if (!job.adapter.empty()) cmd += " --adapter " + llama_cpp_quote(job.adapter);
  std::string out, err;
  if (llama_cpp_run(cmd, job.file.parent_path(), out, err) != 0) return cmd + "\n" + err;
  return "";
}

/// Exports every job and evaluates them all in one llama.cpp process.
struct LlamaCppBatch {
  std::vector<LlamaCppJob> jobs;
  std::vector<std::string> export_errors;  // per job, "" when the export worked
  std::vector<nlohmann::json> results;     // per job; empty when llama.cpp failed
  std::string failure;                     // why results is empty
};

/// Runs llama_cpp_logits.mjs once over all jobs (loading llama.cpp once: about 1.2 s); returns
/// one JSON result per job, or an empty vector and the reason in `failure`.
inline std::vector<nlohmann::json> llama_cpp_evaluate(const std::vector<LlamaCppJob>& jobs,
                                                      const fs::path& dir, std::string& failure) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& j : jobs)
    list.push_back({{"file", j.file.string()}, {"prompt", j.prompt}, {"last", j.last_only}});
  {
    std::ofstream f(dir / "jobs.json");
    f << list.dump();
  }
  const std::string script = source_path("tests/gguf/llama_cpp_logits.mjs");
  std::string out, err;
  const int rc = llama_cpp_run("node " + llama_cpp_quote(script) + " --jobs " +
                                   llama_cpp_quote((dir / "jobs.json").string()),
                               dir, out, err);
  std::vector<nlohmann::json> res;
  if (rc != 0) {
    failure = "llama_cpp_logits.mjs failed (" + std::to_string(rc) + "):\n" + err;
    return res;
  }
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) res.push_back(nlohmann::json::parse(line));
  if (res.size() != jobs.size()) {
    failure = "llama_cpp_logits.mjs returned " + std::to_string(res.size()) + " results for " +
              std::to_string(jobs.size()) + " jobs\n" + err;
    res.clear();
  }
  return res;
}

/// Exports `jobs` (their files are set under `dir`) and evaluates the ones that exported.
inline LlamaCppBatch llama_cpp_batch(std::vector<LlamaCppJob> jobs, const fs::path& dir) {
  LlamaCppBatch b;
  std::vector<LlamaCppJob> ok;
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].file = dir / ("job" + std::to_string(i) + ".gguf");
    b.export_errors.push_back(llama_cpp_export(jobs[i]));
    if (b.export_errors.back().empty()) ok.push_back(jobs[i]);
  }
  std::vector<nlohmann::json> res = llama_cpp_evaluate(ok, dir, b.failure);
  size_t k = 0;
  for (size_t i = 0; i < jobs.size(); ++i)
    b.results.push_back(b.export_errors[i].empty() && k < res.size() ? res[k++] : nlohmann::json());
  b.jobs = std::move(jobs);
  return b;
}

/// Compares llama.cpp's result `j` for `job` with wick: the token ids of the prompt and the
/// logits of every scored position; fatal gtest failure on any mismatch of ids.
inline void llama_cpp_check(const LlamaCppJob& job, const nlohmann::json& j, LlamaCppMeasure& m) {
  const fs::path& model_dir = job.model_dir;
  const std::string& adapter = job.adapter;
  const std::string& prompt = job.prompt;
  const bool last_only = job.last_only;
  const auto ids = j["ids"].get<std::vector<int32_t>>();

  // The tokenizer: llama.cpp's ids are wick's (which equal the Hugging Face tokenizers').
  Tokenizer tok = Tokenizer::from_file(model_dir.string());
  ASSERT_EQ(ids, tok.encode(prompt)) << "llama.cpp tokenises the prompt differently";

  // The logits of every position.
  auto model = models::load_causal_lm(model_dir);
  if (!adapter.empty()) lora::load_adapter(*model, adapter);
  const int64_t T = int64_t(ids.size());
  std::vector<int64_t> ids64(ids.begin(), ids.end());
  Tensor x = from_vector(ids64, {1, T});
  Tensor logits = astype(model->forward(x, nullptr, models::LogitsFor::all), DType::f32);
  const auto w = logits.to_vector<float>();
  const int64_t V = int64_t(w.size()) / T;
  const int64_t first = last_only ? T - 1 : 0;  // the first position llama.cpp scored
  const auto& lp = j["logprobs"];
  ASSERT_EQ(int64_t(lp.size()), T - first);
  double worst = 0;
  int64_t same_top1 = 0;
  for (int64_t t = first; t < T; ++t) {
    const auto& row = lp[size_t(t - first)];
    ASSERT_EQ(int64_t(row.size()), V);
    std::vector<double> a(static_cast<size_t>(V)), b(static_cast<size_t>(V));
    double ma = 0, mb = 0;
    for (int64_t v = 0; v < V; ++v) {
      a[size_t(v)] = w[size_t(t * V + v)];
      ASSERT_FALSE(row[size_t(v)].is_null()) << "position " << t << " token " << v;
      b[size_t(v)] = row[size_t(v)].get<double>();
      ma += a[size_t(v)] / double(V);
      mb += b[size_t(v)] / double(V);
    }
    same_top1 += std::max_element(a.begin(), a.end()) - a.begin() ==
                 std::max_element(b.begin(), b.end()) - b.begin();
    double scale = 0, diff = 0;
    for (int64_t v = 0; v < V; ++v) {
      scale = std::max(scale, std::abs(a[size_t(v)] - ma));
      const double d = std::abs((a[size_t(v)] - ma) - (b[size_t(v)] - mb));
      if (!(d <= diff)) diff = d;
    }
    const double rel = diff / scale;
    if (!(rel <= worst)) worst = rel;
  }
  m.tokens = T;
  m.worst = worst;
  m.same_top1 = same_top1;
}

}  // namespace wick::testing
