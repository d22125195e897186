#pragma once
// The base model an adapter was trained on, recorded beside the adapter so that applying it to a
// different model is caught even when the tensor shapes happen to agree. wick writes it to
// ADAPTER/wick_base_model.json (a separate file: adapter_config.json stays exactly PEFT's, which
// older PEFT versions need); adapters without the file (PEFT's own) are not checked.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "wick/io/hf_config.h"

namespace wick::lora {

inline constexpr const char* kBaseInfoFile = "wick_base_model.json";

struct BaseInfo {
  std::string architecture;  // config.json architectures[0]
  std::string model_type;
  int64_t num_hidden_layers = 0, hidden_size = 0, num_attention_heads = 0;
  int64_t num_key_value_heads = 0, head_dim = 0, vocab_size = 0;
  /// "LlamaForCausalLM, 6 layers, hidden 64, 4 heads (2 kv, head_dim 16), vocab 1000".
  std::string describe() const;
  bool operator==(const BaseInfo&) const = default;
};

/// The base facts of a parsed model config.
BaseInfo base_info_of(const io::LlamaConfig& config);
/// Writes `dir`/wick_base_model.json (atomic).
void write_base_info(const std::filesystem::path& dir, const BaseInfo& info);
/// Reads `dir`/wick_base_model.json; nullopt when absent, IoError naming the file when malformed.
std::optional<BaseInfo> read_base_info(const std::filesystem::path& dir);
/// ValueError naming the adapter, the model and both descriptions when the adapter in
/// `adapter_dir` records a base that differs from `model` (`model_label`: the model folder).
void check_adapter_base(const std::filesystem::path& adapter_dir, const io::LlamaConfig& model,
                        const std::string& model_label);

}  // namespace wick::lora
