#pragma once
// Typed readers for Hugging Face model folders: config.json (Llama-family decoders and BERT
// encoders), generation_config.json and tokenizer_config.json. Field names follow transformers;
// both the 4.x spellings (rope_theta, rope_scaling, torch_dtype) and the 5.x ones (rope_parameters,
// dtype, layer_types) are accepted. Unknown keys are ignored; a missing required key, a value of
// the wrong type or a value wick does not support throws IoError naming the file and the key. Each
// config keeps the JSON it was read from (`raw`) so that it can be written back unchanged.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/dtype.h"

namespace wick::io {

/// Reads and parses a JSON file; IoError naming the file on failure.
nlohmann::json read_json_file(const std::filesystem::path& path);
/// Writes JSON atomically, indented by 2 spaces, with a trailing newline.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);
/// The "model_type" of a config.json ("" when absent).
std::string config_model_type(const nlohmann::json& config);

/// How rotary position frequencies are scaled.
struct RopeScaling {
  enum class Type { none, linear, llama3 };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  int64_t original_max_position_embeddings = 0;  // llama3
};

/// Decoder-only Llama-family models: llama, mistral, qwen2, qwen3.
struct LlamaConfig {
  std::vector<std::string> architectures;
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // bias on the q, k and v projections (attention_bias, or qwen2)
  bool o_bias = false;    // bias on the output projection (attention_bias)
  bool mlp_bias = false;
  bool qk_norm = false;  // per-head RMSNorm of q and k (qwen3)
  std::string hidden_act = "silu";
  std::vector<int64_t> bos_token_id;  // empty when absent
  std::vector<int64_t> eos_token_id;
  std::optional<int64_t> pad_token_id;
  std::string torch_dtype;                // as written ("bfloat16"), "" when absent
  std::optional<DType> dtype;             // torch_dtype as a wick dtype, when there is one
  std::optional<int64_t> sliding_window;  // set when at least one layer uses it
  std::vector<std::string> layer_types;   // per layer: "full_attention" or "sliding_attention"
  nlohmann::json raw;
};

/// Encoder-only BERT models.
struct BertConfig {
  std::vector<std::string> architectures;
  std::string model_type = "bert";
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t intermediate_size = 0;
  std::string hidden_act = "gelu";
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 2;
  int64_t vocab_size = 0;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  std::string torch_dtype;
  nlohmann::json raw;
};

/// generation_config.json: token ids and sampling defaults (absent fields stay empty).
struct GenerationConfig {
  std::vector<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_id;
  std::optional<int64_t> pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
  nlohmann::json raw;
};

/// The parts of tokenizer_config.json that generation needs.
struct TokenizerConfig {
  std::string chat_template;                          // the default template ("" if none)
  std::map<std::string, std::string> chat_templates;  // named templates (incl. "default")
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  nlohmann::json raw;
};

/// Parses a Llama-family config.json; `label` names the file in errors.
LlamaConfig parse_llama_config(const nlohmann::json& j, const std::string& label);
/// Reads a Llama-family config from a file or a model folder (its config.json).
LlamaConfig load_llama_config(const std::filesystem::path& path);
/// Parses a BERT config.json.
BertConfig parse_bert_config(const nlohmann::json& j, const std::string& label);
/// Reads a BERT config from a file or a model folder.
BertConfig load_bert_config(const std::filesystem::path& path);
/// Parses a generation_config.json.
GenerationConfig parse_generation_config(const nlohmann::json& j, const std::string& label);
/// Reads generation_config.json from a file or folder; all fields empty when the file is absent.
GenerationConfig load_generation_config(const std::filesystem::path& path);
/// Parses a tokenizer_config.json.
TokenizerConfig parse_tokenizer_config(const nlohmann::json& j, const std::string& label);
/// Reads tokenizer_config.json from a file or folder; a folder's chat_template.jinja fills in a
/// missing chat template.
TokenizerConfig load_tokenizer_config(const std::filesystem::path& path);

}  // namespace wick::io
