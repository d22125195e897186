#include "wick/lora/base_info.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"

namespace wick::lora {

namespace fs = std::filesystem;
using nlohmann::json;

std::string BaseInfo::describe() const {
  return fmt::format("{} ({}), {} layers, hidden {}, {} heads ({} kv, head_dim {}), vocab {}",
                     architecture, model_type, num_hidden_layers, hidden_size, num_attention_heads,
                     num_key_value_heads, head_dim, vocab_size);
}

BaseInfo base_info_of(const io::LlamaConfig& c) {
  BaseInfo b;
  b.architecture = c.architectures.empty() ? "" : c.architectures.front();
  b.model_type = c.model_type;
  b.num_hidden_layers = c.num_hidden_layers;
  b.hidden_size = c.hidden_size;
  b.num_attention_heads = c.num_attention_heads;
  b.num_key_value_heads = c.num_key_value_heads;
  b.head_dim = c.head_dim;
  b.vocab_size = c.vocab_size;
  return b;
}

void write_base_info(const fs::path& dir, const BaseInfo& b) {
  const json j = {{"architecture", b.architecture},
                  {"model_type", b.model_type},
                  {"num_hidden_layers", b.num_hidden_layers},
                  {"hidden_size", b.hidden_size},
                  {"num_attention_heads", b.num_attention_heads},
                  {"num_key_value_heads", b.num_key_value_heads},
                  {"head_dim", b.head_dim},
                  {"vocab_size", b.vocab_size}};
  io::atomic_write_file(dir / kBaseInfoFile, j.dump(2) + "\n");
}

std::optional<BaseInfo> read_base_info(const fs::path& dir) {
  const fs::path f = dir / kBaseInfoFile;
  if (!fs::exists(f)) return std::nullopt;
  std::ifstream in(f);
  if (!in) fail<IoError>("adapter", "cannot open '{}'", f.string());
  try {
    const json j = json::parse(in);
    BaseInfo b;
    b.architecture = j.at("architecture").get<std::string>();
    b.model_type = j.at("model_type").get<std::string>();
    b.num_hidden_layers = j.at("num_hidden_layers").get<int64_t>();
    b.hidden_size = j.at("hidden_size").get<int64_t>();
    b.num_attention_heads = j.at("num_attention_heads").get<int64_t>();
    b.num_key_value_heads = j.at("num_key_value_heads").get<int64_t>();
    b.head_dim = j.at("head_dim").get<int64_t>();
    b.vocab_size = j.at("vocab_size").get<int64_t>();
    return b;
  } catch (const json::exception& e) {
    fail<IoError>("adapter", "'{}' is malformed: {}", f.string(), e.what());
  }
}

void check_adapter_base(const fs::path& adapter_dir, const io::LlamaConfig& model,
                        const std::string& model_label) {
  const std::optional<BaseInfo> rec = read_base_info(adapter_dir);
  if (!rec) return;
  const BaseInfo have = base_info_of(model);
  if (*rec == have) return;
  fail<ValueError>("adapter",
                   "the adapter '{}' was trained on a different model; expected (recorded in {}) "
                   "{}, got model '{}': {}",
                   adapter_dir.string(), kBaseInfoFile, rec->describe(), model_label,
                   have.describe());
}

}  // namespace wick::lora
