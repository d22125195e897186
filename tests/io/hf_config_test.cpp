#include "wick/io/hf_config.h"

#include <gtest/gtest.h>

#include "io_test_util.h"
#include "wick/core/errors.h"

namespace wick::io {
namespace {

using json = nlohmann::json;
using testing::TempDir;

// Shaped like the config.json of meta-llama/Llama-3.1-8B-Instruct.
const char* kLlama3 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})";

// Qwen/Qwen2.5-0.5B-Instruct.
const char* kQwen2 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

// Qwen/Qwen3-0.6B.
const char* kQwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

// mistralai/Mistral-7B-v0.1.
const char* kMistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0",
  "use_cache": true, "vocab_size": 32000})";

// google-bert/bert-base-uncased.
const char* kBert = R"({
  "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
  "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
  "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
  "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
  "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
  "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522})";

// Llama 3.2 1B as transformers 5.x writes it: rope_parameters, dtype, layer_types.
json llama_v5() {
  json j = json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "dtype": "bfloat16", "hidden_size": 2048,
    "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
    "num_key_value_heads": 8, "head_dim": 64, "model_type": "llama",
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                        "original_max_position_embeddings": 8192},
    "tie_word_embeddings": true, "vocab_size": 128256, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-05, "bos_token_id": 128000, "eos_token_id": 128001,
    "transformers_version": "5.0.0"})");
  j["layer_types"] = std::vector<std::string>(16, "full_attention");
  return j;
}

// The IoError message from parsing `j` as a Llama config ("" when it parses).
std::string llama_error(const json& j) {
  try {
    parse_llama_config(j, "cfg/config.json");
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

void expect_key_error(const json& j, const std::string& key, const std::string& also = "") {
  std::string m = llama_error(j);
  EXPECT_NE(m.find("cfg/config.json"), std::string::npos) << m;
  EXPECT_NE(m.find("'" + key + "'"), std::string::npos) << m;
  if (!also.empty()) {
    EXPECT_NE(m.find(also), std::string::npos) << m;
  }
}

TEST(HfConfig, Llama3) {
  LlamaConfig c = parse_llama_config(json::parse(kLlama3), "llama3/config.json");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architectures, std::vector<std::string>{"LlamaForCausalLM"});
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias || c.qk_norm || c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, std::vector<int64_t>{128000});
  EXPECT_EQ(c.eos_token_id, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c.dtype, DType::bf16);
  EXPECT_EQ(c.layer_types, std::vector<std::string>(32, "full_attention"));
  EXPECT_FALSE(c.sliding_window);
  EXPECT_EQ(c.raw["pretraining_tp"], 1);
}

TEST(HfConfig, Qwen2HasQkvBiasAndNoSlidingWhenDisabled) {
  LlamaConfig c = parse_llama_config(json::parse(kQwen2), "qwen2/config.json");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::none);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.sliding_window);
  EXPECT_EQ(c.eos_token_id, std::vector<int64_t>{151645});
  // With use_sliding_window on, layers from max_window_layers up slide.
  json j = json::parse(kQwen2);
  j["use_sliding_window"] = true;
  c = parse_llama_config(j, "qwen2/config.json");
  EXPECT_EQ(c.sliding_window, 32768);
  EXPECT_EQ(c.layer_types[20], "full_attention");
  EXPECT_EQ(c.layer_types[21], "sliding_attention");
}

TEST(HfConfig, Qwen3HasQkNormAndExplicitHeadDim) {
  LlamaConfig c = parse_llama_config(json::parse(kQwen3), "qwen3/config.json");
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.head_dim, 128);  // not hidden_size / heads (64)
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::none);
  EXPECT_FALSE(c.sliding_window);
}

TEST(HfConfig, MistralSlidingWindow) {
  LlamaConfig c = parse_llama_config(json::parse(kMistral), "mistral/config.json");
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.layer_types, std::vector<std::string>(32, "sliding_attention"));
  json j = json::parse(kMistral);
  j["sliding_window"] = nullptr;  // Mistral v0.2+
  EXPECT_FALSE(parse_llama_config(j, "m").sliding_window);
}

TEST(HfConfig, TransformersV5Spelling) {
  LlamaConfig c = parse_llama_config(llama_v5(), "v5/config.json");
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::llama3);
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.dtype, DType::bf16);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.layer_types.size(), 16u);
  json q = json::parse(kQwen3);
  q.erase("rope_theta");
  q.erase("rope_scaling");
  q["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  EXPECT_EQ(parse_llama_config(q, "q").rope_theta, 1e6);
  // Linear scaling, old "type" spelling.
  json l = json::parse(kLlama3);
  l["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  c = parse_llama_config(l, "l");
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::linear);
  EXPECT_EQ(c.rope_scaling.factor, 2.0);
}

TEST(HfConfig, RejectsMissingAndUnsupportedNamingFileAndKey) {
  json j = json::parse(kLlama3);
  j.erase("hidden_size");
  expect_key_error(j, "hidden_size", "missing");
  j = json::parse(kLlama3);
  j["rope_scaling"]["rope_type"] = "yarn";
  expect_key_error(j, "rope_scaling.rope_type", "yarn");
  j = json::parse(kLlama3);
  j["rope_scaling"].erase("low_freq_factor");
  expect_key_error(j, "rope_scaling.low_freq_factor", "missing");
  json v5 = llama_v5();
  v5["rope_parameters"]["rope_type"] = "dynamic";
  expect_key_error(v5, "rope_parameters.rope_type", "dynamic");
  v5 = llama_v5();
  v5["layer_types"] = std::vector<std::string>(3, "full_attention");
  expect_key_error(v5, "layer_types");
  v5 = llama_v5();
  v5["layer_types"][0] = "chunked_attention";
  expect_key_error(v5, "layer_types", "chunked_attention");
  v5 = llama_v5();
  v5["layer_types"][0] = "sliding_attention";
  expect_key_error(v5, "sliding_window");
  j = json::parse(kLlama3);
  j["hidden_act"] = "gelu";
  expect_key_error(j, "hidden_act", "gelu");
  j = json::parse(kLlama3);
  j["model_type"] = "gemma";
  expect_key_error(j, "model_type", "gemma");
  j = json::parse(kLlama3);
  j["num_key_value_heads"] = 5;
  expect_key_error(j, "num_key_value_heads");
  j = json::parse(kLlama3);
  j["hidden_size"] = "4096";
  expect_key_error(j, "hidden_size", "integer");
  j = json::parse(kLlama3);
  j["eos_token_id"] = "</s>";
  expect_key_error(j, "eos_token_id");
  j = json::parse(kLlama3);
  j["tie_word_embeddings"] = 1;
  expect_key_error(j, "tie_word_embeddings");
  EXPECT_THROW(parse_llama_config(json::array(), "x"), IoError);
}

TEST(HfConfig, Bert) {
  BertConfig c = parse_bert_config(json::parse(kBert), "bert/config.json");
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_EQ(c.pad_token_id, 0);
  json j = json::parse(kBert);
  j["position_embedding_type"] = "relative_key";
  try {
    parse_bert_config(j, "bert/config.json");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("'position_embedding_type'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("bert/config.json"), std::string::npos);
  }
  j = json::parse(kBert);
  j.erase("vocab_size");
  EXPECT_THROW(parse_bert_config(j, "b"), IoError);
  j = json::parse(kBert);
  j["hidden_act"] = "relu";
  EXPECT_THROW(parse_bert_config(j, "b"), IoError);
}

TEST(HfConfig, GenerationConfig) {
  GenerationConfig g =
      parse_generation_config(json::parse(R"({"bos_token_id": 128000, "do_sample": true,
                      "eos_token_id": [128001, 128008, 128009], "temperature": 0.6,
                      "top_p": 0.9, "transformers_version": "4.43.0.dev0"})"),
                              "gen");
  EXPECT_EQ(g.bos_token_id, std::vector<int64_t>{128000});
  EXPECT_EQ(g.eos_token_id.size(), 3u);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_EQ(g.temperature, 0.6);
  EXPECT_EQ(g.top_p, 0.9);
  EXPECT_FALSE(g.top_k);
  EXPECT_FALSE(g.max_new_tokens);
  g = parse_generation_config(
      json::parse(R"({"eos_token_id": 2, "top_k": 20, "repetition_penalty": 1.05,
                      "max_new_tokens": 256, "pad_token_id": 0})"),
      "gen");
  EXPECT_EQ(g.eos_token_id, std::vector<int64_t>{2});
  EXPECT_EQ(g.top_k, 20);
  EXPECT_EQ(g.repetition_penalty, 1.05);
  EXPECT_EQ(g.max_new_tokens, 256);
  EXPECT_THROW(parse_generation_config(json::parse(R"({"top_p": 1.5})"), "gen"), IoError);
  TempDir dir;
  EXPECT_FALSE(load_generation_config(dir.path()).temperature);  // absent file: defaults
}

TEST(HfConfig, TokenizerConfig) {
  TokenizerConfig t =
      parse_tokenizer_config(json::parse(R"({"add_bos_token": true, "add_eos_token": false,
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false,
                      "normalized": false, "rstrip": false, "single_word": false},
        "eos_token": "</s>", "pad_token": null, "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"})"),
                             "tok");
  EXPECT_EQ(t.bos_token, "<s>");
  EXPECT_EQ(t.eos_token, "</s>");
  EXPECT_FALSE(t.pad_token);
  EXPECT_EQ(t.add_bos_token, true);
  EXPECT_EQ(t.add_eos_token, false);
  EXPECT_NE(t.chat_template.find("messages"), std::string::npos);
  t = parse_tokenizer_config(
      json::parse(R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                        {"name": "default", "template": "D"}]})"),
      "tok");
  EXPECT_EQ(t.chat_template, "D");
  EXPECT_EQ(t.chat_templates.at("tool_use"), "T");
  EXPECT_THROW(parse_tokenizer_config(json::parse(R"({"chat_template": 3})"), "tok"), IoError);
  EXPECT_THROW(parse_tokenizer_config(json::parse(R"({"eos_token": 3})"), "tok"), IoError);
  // A folder's chat_template.jinja fills in a missing template.
  TempDir dir;
  write_json_file(dir / "tokenizer_config.json", json{{"eos_token", "<|im_end|>"}});
  std::string tmpl = "{% for m in messages %}{{ m.role }}{% endfor %}";
  testing::write_bytes(dir / "chat_template.jinja", testing::Bytes(tmpl.begin(), tmpl.end()));
  EXPECT_EQ(load_tokenizer_config(dir.path()).chat_template, tmpl);
}

TEST(HfConfig, FilesRoundTripThroughRaw) {
  TempDir src, dst;
  testing::write_bytes(src / "config.json",
                       testing::Bytes(kQwen2, kQwen2 + std::char_traits<char>::length(kQwen2)));
  LlamaConfig c = load_llama_config(src.path());
  write_json_file(dst / "config.json", c.raw);
  EXPECT_EQ(read_json_file(dst / "config.json"), json::parse(kQwen2));
  EXPECT_EQ(load_llama_config(dst / "config.json").vocab_size, 151936);
  testing::write_bytes(src / "bad.json", testing::Bytes{'{', '"'});
  try {
    read_json_file(src / "bad.json");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
  EXPECT_THROW(load_bert_config(dst.path() / "nope"), IoError);
}

}  // namespace
}  // namespace wick::io
