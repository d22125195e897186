#pragma once
// What a sentence-embedding model folder says about pooling, normalisation, maximum length and
// prompts. Reads the sentence-transformers conventions in both layouts: the classic one
// (modules.json with sentence_transformers.models.* types, 1_Pooling/config.json with
// pooling_mode_* flags, sentence_bert_config.json with max_seq_length) and the one
// sentence-transformers 6 writes (sentence_transformers.base.modules.* types, "pooling_mode":
// "cls", max length only in tokenizer_config.json's model_max_length). A folder without
// modules.json is a plain transformer: mean pooling and L2 normalisation.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wick::embed {

/// How token vectors become one sentence vector.
enum class Pooling : uint8_t { cls, mean, max, last };

/// Parses "cls", "mean", "max" or "last" (also "lasttoken"); ValueError listing the choices.
Pooling parse_pooling(std::string_view s);
/// The name parse_pooling accepts ("cls", "mean", "max", "last").
const char* pooling_name(Pooling p);

struct FolderConfig {
  bool sentence_transformers = false;     // modules.json present
  std::filesystem::path transformer_dir;  // folder of config.json / weights / tokenizer
  Pooling pooling = Pooling::mean;
  bool include_prompt = true;  // false: prompt tokens are left out of the pooling
  bool normalize = true;
  std::optional<int64_t> max_seq_length;    // sentence_bert_config.json
  std::optional<int64_t> model_max_length;  // tokenizer_config.json (absent when huge / unset)
  bool do_lower_case = false;               // lowercase texts before tokenising
  std::map<std::string, std::string> prompts;
  std::string default_prompt_name;  // "" when none
};

/// Reads the folder's sentence-transformers files; IoError naming the file and key for malformed
/// content, NotImplemented for modules wick does not run (Dense, multiple poolings, ...).
FolderConfig read_folder_config(const std::filesystem::path& dir);

}  // namespace wick::embed
