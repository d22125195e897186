#include "wick/embed/folder_config.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "wick/core/errors.h"
#include "wick/io/hf_config.h"

namespace wick::embed {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFolderOp = "embed";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Optional bool field: absent or null -> nullopt; other types are errors naming file and key.
std::optional<bool> opt_bool(const json& j, const char* key, const fs::path& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail<IoError>(kFolderOp, "{}: '{}' must be a boolean", file.string(), key);
  return it->get<bool>();
}

std::optional<int64_t> opt_positive_int(const json& j, const char* key, const fs::path& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail<IoError>(kFolderOp, "{}: '{}' must be a number", file.string(), key);
  const double v = it->get<double>();
  if (!(v >= 1))
    fail<IoError>(kFolderOp, "{}: '{}' must be positive, got {}", file.string(), key, v);
  // transformers writes 1e30 for "no limit".
  if (v > 1e9) return std::nullopt;
  return int64_t(v);
}

void read_pooling(const fs::path& file, FolderConfig& c) {
  const json j = io::read_json_file(file);
  if (!j.is_object()) fail<IoError>(kFolderOp, "{}: expected a JSON object", file.string());
  if (auto inc = opt_bool(j, "include_prompt", file)) c.include_prompt = *inc;
  std::vector<std::string> modes;
  if (auto it = j.find("pooling_mode"); it != j.end() && !it->is_null()) {
    // sentence-transformers 6: a name (or a list of names).
    if (it->is_string()) {
      modes.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& m : *it) {
        if (!m.is_string())
          fail<IoError>(kFolderOp, "{}: 'pooling_mode' entries must be strings", file.string());
        modes.push_back(m.get<std::string>());
      }
    } else {
      fail<IoError>(kFolderOp, "{}: 'pooling_mode' must be a string or a list", file.string());
    }
  } else {
    static const std::pair<const char*, const char*> kFlags[] = {
        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_mean_tokens", "mean"},
        {"pooling_mode_max_tokens", "max"},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"},
        {"pooling_mode_lasttoken", "lasttoken"}};
    for (auto [key, name] : kFlags)
      if (opt_bool(j, key, file).value_or(false)) modes.push_back(name);
  }
  if (modes.size() != 1)
    fail<NotImplemented>(kFolderOp, "{}: exactly one pooling mode is supported, got {}",
                         file.string(), modes.size());
  const std::string& m = modes[0];
  if (m == "cls" || m == "mean" || m == "max" || m == "lasttoken" || m == "last") {
    c.pooling = parse_pooling(m);
  } else {
    fail<NotImplemented>(kFolderOp,
                         "{}: pooling mode '{}' is not supported (supported: cls, mean, max, "
                         "lasttoken)",
                         file.string(), m);
  }
}

void read_prompts(const fs::path& file, FolderConfig& c) {
  const json j = io::read_json_file(file);
  if (!j.is_object()) fail<IoError>(kFolderOp, "{}: expected a JSON object", file.string());
  if (auto it = j.find("prompts"); it != j.end() && !it->is_null()) {
    if (!it->is_object())
      fail<IoError>(kFolderOp, "{}: 'prompts' must be an object", file.string());
    for (const auto& [name, v] : it->items()) {
      if (!v.is_string())
        fail<IoError>(kFolderOp, "{}: prompt '{}' must be a string", file.string(), name);
      c.prompts[name] = v.get<std::string>();
    }
  }
  if (auto it = j.find("default_prompt_name"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      fail<IoError>(kFolderOp, "{}: 'default_prompt_name' must be a string", file.string());
    c.default_prompt_name = it->get<std::string>();
    if (!c.prompts.count(c.default_prompt_name))
      fail<IoError>(kFolderOp, "{}: default_prompt_name '{}' is not in 'prompts'", file.string(),
                    c.default_prompt_name);
  }
}

}  // namespace

Pooling parse_pooling(std::string_view s) {
  if (s == "cls") return Pooling::cls;
  if (s == "mean") return Pooling::mean;
  if (s == "max") return Pooling::max;
  if (s == "last" || s == "lasttoken") return Pooling::last;
  fail<ValueError>(kFolderOp, "unknown pooling mode '{}'; expected cls, mean, max or last", s);
}

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::cls:
      return "cls";
    case Pooling::mean:
      return "mean";
    case Pooling::max:
      return "max";
    case Pooling::last:
      return "last";
  }
  return "?";
}

FolderConfig read_folder_config(const fs::path& dir) {
  if (!fs::is_directory(dir))
    fail<IoError>(kFolderOp, "model folder '{}' does not exist", dir.string());
  FolderConfig c;
  c.transformer_dir = dir;
  const fs::path modules_file = dir / "modules.json";
  if (fs::exists(modules_file)) {
    c.sentence_transformers = true;
    c.normalize = false;
    const json mods = io::read_json_file(modules_file);
    if (!mods.is_array())
      fail<IoError>(kFolderOp, "{}: expected a list of modules", modules_file.string());
    bool have_transformer = false, have_pooling = false;
    for (const auto& m : mods) {
      if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
        fail<IoError>(kFolderOp, "{}: every module needs a string 'type'", modules_file.string());
      const std::string type = m["type"].get<std::string>();
      std::string path;
      if (m.contains("path")) {
        if (!m["path"].is_string())
          fail<IoError>(kFolderOp, "{}: module '{}' has a non-string 'path'", modules_file.string(),
                        type);
        path = m["path"].get<std::string>();
      }
      const fs::path mdir = path.empty() ? dir : dir / path;
      if (ends_with(type, ".Transformer")) {
        if (have_transformer || have_pooling)
          fail<NotImplemented>(kFolderOp, "{}: a second Transformer module is not supported",
                               modules_file.string());
        have_transformer = true;
        c.transformer_dir = mdir;
      } else if (ends_with(type, ".Pooling")) {
        if (!have_transformer || have_pooling)
          fail<NotImplemented>(kFolderOp, "{}: Pooling must follow one Transformer module",
                               modules_file.string());
        have_pooling = true;
        read_pooling(mdir / "config.json", c);
      } else if (ends_with(type, ".Normalize")) {
        c.normalize = true;
      } else {
        fail<NotImplemented>(kFolderOp,
                             "{}: module type '{}' is not supported (supported: Transformer, "
                             "Pooling, Normalize)",
                             modules_file.string(), type);
      }
    }
    if (!have_transformer)
      fail<IoError>(kFolderOp, "{}: no Transformer module", modules_file.string());
    if (!have_pooling)
      fail<NotImplemented>(kFolderOp, "{}: no Pooling module", modules_file.string());
    // The Transformer module's own settings live beside its weights (the root for path "").
    for (const fs::path& f :
         {c.transformer_dir / "sentence_bert_config.json", dir / "sentence_bert_config.json"}) {
      if (!fs::exists(f)) continue;
      const json j = io::read_json_file(f);
      if (!j.is_object()) fail<IoError>(kFolderOp, "{}: expected a JSON object", f.string());
      c.max_seq_length = opt_positive_int(j, "max_seq_length", f);
      c.do_lower_case = opt_bool(j, "do_lower_case", f).value_or(false);
      break;
    }
    if (fs::exists(dir / "config_sentence_transformers.json"))
      read_prompts(dir / "config_sentence_transformers.json", c);
  }
  const fs::path tok_cfg = c.transformer_dir / "tokenizer_config.json";
  if (fs::exists(tok_cfg)) {
    const json j = io::read_json_file(tok_cfg);
    if (j.is_object()) c.model_max_length = opt_positive_int(j, "model_max_length", tok_cfg);
  }
  return c;
}

}  // namespace wick::embed
