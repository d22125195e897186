// Hostile config.json, tokenizer.json and adapter_config.json values: absurd sizes, wrong types,
// non-finite numbers and missing keys end in a clear error naming the file and the key, never a
// crash or a bare std::bad_alloc.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "redteam.h"

namespace wick::redteam {
namespace {

using nlohmann::json;

// One mutation: a model folder is copied, `file`'s `key` set to `value` (JSON text; "DELETE"
// removes it), then `command` runs on the copy.
struct Mutation {
  std::string fixture;  // folder under tests/fixtures
  std::string file;     // JSON file inside it
  std::string key;      // dotted path
  std::string value;
  std::string command;  // with {dir} for the mutated folder
  std::string needle;
};

void set_key(json& j, const std::string& dotted, const std::string& value) {
  json* cur = &j;
  std::string path = dotted;
  for (size_t dot; (dot = path.find('.')) != std::string::npos; path = path.substr(dot + 1))
    cur = &(*cur)[path.substr(0, dot)];
  if (value == "DELETE")
    cur->erase(path);
  else
    (*cur)[path] = json::parse(value);
}

std::vector<Mutation> mutations() {
  std::vector<Mutation> m;
  const std::vector<std::string> sizes = {"0",     "-1",      "2147483648", "4611686018427387904",
                                          "1e300", "\"abc\"", "1.5",        "DELETE",
                                          "[1]",   "true"};
  const std::vector<std::string> llama_cmds = {"info --model {dir}",
                                               "generate --model {dir} --prompt hi --max-tokens 2"};
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "vocab_size", "max_position_embeddings"})
    for (const auto& v : sizes)
      for (const auto& cmd : llama_cmds)
        m.push_back({"models/llama", "config.json", key, v, cmd, key});
  for (const char* key : {"num_key_value_heads", "head_dim"})
    for (const auto& v : {"0", "-1", "2147483648", "4611686018427387904", "\"abc\"", "1.5"})
      for (const auto& cmd : llama_cmds)
        m.push_back({"models/llama", "config.json", key, v, cmd, key});
  for (const auto& cmd : llama_cmds)
    m.push_back(
        {"models/llama", "config.json", "num_key_value_heads", "3", cmd, "num_key_value_heads"});
  const std::vector<std::tuple<std::string, std::string>> misc = {
      {"rms_norm_eps", "0"},
      {"rms_norm_eps", "-1"},
      {"rms_norm_eps", "[1]"},
      {"rms_norm_eps", "\"x\""},
      {"rope_parameters.rope_theta", "0"},
      {"rope_parameters.rope_theta", "-10000"},
      {"rope_parameters.rope_type", "\"yarn\""},
      {"rope_parameters.rope_type", "5"},
      {"sliding_window", "0"},
      {"sliding_window", "-4"},
      {"sliding_window", "4611686018427387904"},
      {"eos_token_id", "-5"},
      {"eos_token_id", "4611686018427387904"},
      {"eos_token_id", "[2, -1]"},
      {"bos_token_id", "-1"},
      {"pad_token_id", "-2"},
      {"pad_token_id", "4611686018427387904"},
      {"model_type", "\"gpt2\""},
      {"model_type", "DELETE"},
      {"hidden_act", "\"relu\""},
      {"layer_types", "[\"full_attention\"]"},
      {"layer_types", "[\"full_attention\", \"chunked\"]"},
      {"tie_word_embeddings", "\"yes\""},
  };
  for (const auto& [key, v] : misc)
    for (const auto& cmd : llama_cmds) {
      std::string needle = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
      m.push_back({"models/llama", "config.json", key, v, cmd, needle});
    }
  // BERT encoders (embed).
  for (const char* key :
       {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "max_position_embeddings", "vocab_size", "type_vocab_size"})
    for (const auto& v : {"0", "-1", "2147483648", "4611686018427387904", "\"abc\""}) {
      if (std::string(key) == "type_vocab_size" && std::string(v) == "0") continue;  // valid
      m.push_back(
          {"models/bert_mean", "config.json", key, v, "embed --model {dir} --text hi", key});
    }
  // tokenizer.json: ids far past the vocabulary or outside int32.
  for (const auto& [key, v] :
       std::vector<std::pair<std::string, std::string>>{{"model.vocab.hello", "1000000000"},
                                                        {"model.vocab.hello", "2147483647"},
                                                        {"model.vocab.hello", "-1"},
                                                        {"model.vocab.hello", "\"x\""},
                                                        {"model.vocab", "5"},
                                                        {"model.type", "\"NoSuchModel\""},
                                                        {"model", "DELETE"},
                                                        {"model.merges", "7"}})
    for (const auto& cmd : {"tokenize --tokenizer {dir} --text hello",
                            "generate --model {dir} --prompt hi --max-tokens 2"})
      m.push_back({"models/llama", "tokenizer.json", key, v, cmd, "tokenizer.json"});
  // adapter_config.json of a PEFT adapter (generate --adapter).
  const std::vector<std::tuple<std::string, std::string, std::string>> adapter = {
      {"r", "0", "r"},
      {"r", "-1", "r"},
      {"r", "1099511627776", "r"},
      {"r", "\"x\"", "r"},
      {"r", "1.5", "r"},
      {"r", "DELETE", "r"},
      {"r", "8", "shape"},
      {"lora_alpha", "\"x\"", "lora_alpha"},
      {"lora_alpha", "[1]", "lora_alpha"},
      {"lora_dropout", "-1", "lora_dropout"},
      {"lora_dropout", "1", "lora_dropout"},
      {"target_modules", "5", "target_modules"},
      {"target_modules", "[]", "target_modules"},
      {"target_modules", "[\"no_such_proj\"]", "no_such_proj"},
      {"target_modules", "\"(\"", "regex"},
      {"use_dora", "true", "DoRA adapters (use_dora: true) are not supported"},
      {"fan_in_fan_out", "true", "fan_in_fan_out"},
      {"peft_type", "\"IA3\"", "peft_type"},
      {"rank_pattern", "{\"q_proj\": 0}", "rank_pattern"},
      {"rank_pattern", "{\"q_proj\": \"x\"}", "rank_pattern"},
      {"rank_pattern", "{\"(\": 4}", "rank_pattern"},
      {"rank_pattern", "{\"v_proj\": 2}", "shape"},
      {"rank_pattern", "[1]", "rank_pattern"},
      {"alpha_pattern", "{\"(\": 4}", "alpha_pattern"},
      {"alpha_pattern", "{\"q_proj\": \"x\"}", "alpha_pattern"},
      {"layers_to_transform", "[\"a\"]", "layers_to_transform"},
      {"layers_to_transform", "[5]", "no Linear layer matches"},
      {"layers_to_transform", "[0]", "matches no"},
      {"layers_pattern", "\"blocks2\"", "layers_pattern"},
      {"exclude_modules", "[\"q_proj\"]", "exclude_modules"},
      {"exclude_modules", "\"layers\\\\.0\\\\..*\"", "exclude_modules"},
      {"lora_dropout", "\"x\"", "lora_dropout"},
      {"use_rslora", "\"yes\"", "use_rslora"},
  };
  for (const auto& [key, v, needle] : adapter) {
    Mutation a{"train/start_adapter",
               "adapter_config.json",
               key,
               v,
               "generate --model {llama} --adapter {dir} --prompt hi --max-tokens 2",
               needle};
    if (key == "layers_pattern") {  // only meaningful with layers_to_transform (set in the test)
      a.key = "layers_to_transform";
      a.value = "[0]";
      a.needle = "layers_pattern";
    }
    m.push_back(a);
  }
  return m;
}

struct MutationCase {
  MutationCase(Mutation m_, std::string name_) : m(std::move(m_)), name(std::move(name_)) {}
  Mutation m;
  std::string name;
};

std::vector<MutationCase> mutation_cases() {
  std::vector<MutationCase> out;
  for (const auto& m : mutations())
    out.push_back({m, m.file + "_" + m.key + "_" + m.value + "_" +
                          m.command.substr(0, m.command.find(' ')) +
                          (m.needle == "layers_pattern" ? "_blocks2" : "")});
  return out;
}

class RedteamConfigs : public ::testing::TestWithParam<MutationCase> {};

TEST_P(RedteamConfigs, ClearErrorNamingTheKey) {
  const Workspace& w = workspace();
  const Mutation& m = GetParam().m;
  static int counter = 0;
  const fs::path dir = w.root / ("mut_" + std::to_string(++counter));
  copy_fixture(m.fixture, dir);
  json j = json::parse(read_text(dir / m.file));
  set_key(j, m.key, m.value);
  if (GetParam().name.find("blocks2") != std::string::npos) j["layers_pattern"] = "blocks2";
  write_text(dir / m.file, j.dump(2));
  auto vars = w.vars;
  vars["dir"] = dir.string();
  auto inputs = w.inputs();
  inputs.push_back(dir);
  check_case({GetParam().name, m.command, Expect::error, m.needle}, vars, inputs);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Cases, RedteamConfigs, ::testing::ValuesIn(mutation_cases()),
                         [](const auto& info) {
                           return case_name(std::to_string(info.index) + "_" + info.param.name);
                         });

}  // namespace
}  // namespace wick::redteam
