#pragma once
// Helpers for the embedding tests: golden fixtures of the BERT sentence-transformers models.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "testing/testing.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"

namespace wick::embed::testing {

using io::testing::TempDir;

inline std::filesystem::path model_dir(const std::string& name) {
  return wick::testing::source_path("tests/fixtures/models/" + name);
}

struct Golden {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_ids;
  std::string pooling;
  bool normalize = false;
  int64_t max_seq_length = 0;
  std::vector<float> batch, single;  // [10, 32] row-major
  int64_t dim = 0;
};

inline Golden load_golden(const std::string& name) {
  const auto dir = model_dir(name) / "golden";
  const auto j = io::read_json_file(dir / "golden.json");
  Golden g;
  g.texts = j["texts"].get<std::vector<std::string>>();
  g.token_ids = j["token_ids"].get<std::vector<std::vector<int32_t>>>();
  g.pooling = j["pooling"].get<std::string>();
  g.normalize = j["normalize"].get<bool>();
  g.max_seq_length = j["loaded_max_seq_length"].get<int64_t>();
  auto f = io::SafeTensorsFile::open(dir / "embeddings.safetensors");
  g.batch = f.tensor("batch").to_vector<float>();
  g.single = f.tensor("single").to_vector<float>();
  g.dim = f.tensor("batch").shape(1);
  return g;
}

inline std::vector<double> to_f64(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

/// Copies every regular file of a model folder (recursively) into `to`.
inline void copy_model(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy(
      from, to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

inline void write_text(const std::filesystem::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

}  // namespace wick::embed::testing
