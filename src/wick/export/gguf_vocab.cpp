// The tokenizer.* metadata of a GGUF file, from a Hugging Face tokenizer.json. The keys, token
// types and pre-tokenizer names are llama.cpp's (llama-vocab.cpp, gguf-py constants): token types
// 1 normal, 2 unknown, 3 control (special added tokens), 4 user-defined (other added tokens),
// 5 unused (ids beyond the tokenizer, e.g. a vocabulary padded to a multiple of 64), 6 byte.
// llama.cpp picks its pre-tokenizer regex by name; the name is recognised here from the regex
// tokenizer.json states, since llama.cpp's own converter identifies it by hashing a tokenisation.
#include <nlohmann/json.hpp>

#include <map>
#include <optional>

#include "wick/core/errors.h"
#include "wick/export/gguf_export.h"

namespace wick::exporter {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

enum GgufTokenType : int64_t {
  kTokNormal = 1,
  kTokUnknown = 2,
  kTokControl = 3,
  kTokUserDefined = 4,
  kTokUnused = 5,
  kTokByte = 6
};

// Split regexes of the byte-level BPE families llama.cpp knows, by its pre-tokenizer name.
const std::vector<std::pair<std::string, std::string>>& gguf_known_splits() {
  static const std::vector<std::pair<std::string, std::string>> k = {
      {"llama-bpe",
       R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
      {"qwen2",
       R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
      {"gpt-2", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"},
  };
  return k;
}

std::string gguf_type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string();
}

bool gguf_flag(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  return it == j.end() || !it->is_boolean() ? def : it->get<bool>();
}

// The llama.cpp pre-tokenizer name of a byte-level BPE's pre_tokenizer, or nullopt.
std::optional<std::string> gguf_pre_name(const json& pre) {
  const std::string t = gguf_type_of(pre);
  if (t == "ByteLevel")  // the GPT-2 regex, applied by ByteLevel itself
    return gguf_flag(pre, "use_regex", true) && !gguf_flag(pre, "add_prefix_space", false)
               ? std::optional<std::string>("gpt-2")
               : std::nullopt;
  if (t != "Sequence" || !pre.contains("pretokenizers")) return std::nullopt;
  const json& seq = pre["pretokenizers"];
  if (!seq.is_array() || seq.size() != 2) return std::nullopt;
  const json &split = seq[0], &bl = seq[1];
  if (gguf_type_of(split) != "Split" || gguf_type_of(bl) != "ByteLevel" ||
      gguf_flag(bl, "use_regex", true) || gguf_flag(bl, "add_prefix_space", false) ||
      !split.contains("pattern") || !split["pattern"].contains("Regex") ||
      split.value("behavior", "") != "Isolated" || gguf_flag(split, "invert", false))
    return std::nullopt;
  const std::string re = split["pattern"]["Regex"].get<std::string>();
  for (const auto& [name, known] : gguf_known_splits())
    if (re == known) return name;
  return std::nullopt;
}

// SentencePiece-style BPE: the normaliser (or a Metaspace pre-tokenizer) turns spaces into U+2581
// and prepends one, and unknown characters fall back to byte tokens.
bool gguf_is_spm_bpe(const json& tok, bool& add_space_prefix) {
  const json& model = tok["model"];
  if (!gguf_flag(model, "byte_fallback", false)) return false;
  const json& norm = tok.contains("normalizer") ? tok["normalizer"] : json();
  const json& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : json();
  const std::string sp = "\u2581";
  if (gguf_type_of(pre) == "Metaspace") {
    add_space_prefix = pre.value("prepend_scheme", std::string("always")) != "never";
    return pre.value("replacement", sp) == sp && norm.is_null();
  }
  if (!pre.is_null()) return false;
  std::vector<json> parts;
  if (gguf_type_of(norm) == "Sequence" && norm.contains("normalizers"))
    for (const auto& n : norm["normalizers"]) parts.push_back(n);
  else if (!norm.is_null())
    parts.push_back(norm);
  bool replace = false;
  add_space_prefix = false;
  for (const auto& n : parts) {
    const std::string t = gguf_type_of(n);
    if (t == "Prepend" && n.value("prepend", "") == sp) {
      add_space_prefix = true;
    } else if (t == "Replace" && n.contains("pattern") && n["pattern"].value("String", "") == " " &&
               n.value("content", "") == sp) {
      replace = true;
    } else {
      return false;
    }
  }
  return replace;
}

// The first and last special token a TemplateProcessing post-processor puts around one sequence.
void gguf_template_ends(const json& post, std::optional<std::string>& first,
                        std::optional<std::string>& last) {
  if (gguf_type_of(post) == "Sequence" && post.contains("processors")) {
    for (const auto& p : post["processors"]) gguf_template_ends(p, first, last);
    return;
  }
  if (gguf_type_of(post) != "TemplateProcessing" || !post.contains("single")) return;
  const json& single = post["single"];
  if (!single.is_array() || single.empty()) return;
  if (single.front().contains("SpecialToken")) first = single.front()["SpecialToken"]["id"];
  if (single.back().contains("SpecialToken")) last = single.back()["SpecialToken"]["id"];
}

// The content of a tokenizer_config.json special-token entry (a string or {"content": ...}).
std::optional<std::string> gguf_token_content(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::string add_gguf_tokenizer(io::GgufWriter& w, const fs::path& dir,
                               const io::LlamaConfig& config, std::vector<std::string>& notes) {
  const fs::path file = dir / "tokenizer.json";
  if (!fs::exists(file))
    fail<IoError>("export", "'{}' does not exist; a GGUF file needs the tokenizer", file.string());
  const json tok = io::read_json_file(file);
  if (!tok.contains("model") || !tok["model"].is_object() || !tok["model"].contains("vocab") ||
      !tok["model"]["vocab"].is_object())
    fail<IoError>("export", "'{}': key 'model.vocab' is missing or not an object", file.string());
  const json& model = tok["model"];
  const std::string mtype = gguf_type_of(model);
  if (mtype != "BPE")
    fail<NotImplemented>("export",
                         "'{}': model.type '{}' has no GGUF tokenizer here; expected 'BPE' "
                         "(byte-level or SentencePiece-style)",
                         file.string(), mtype);
  const int64_t V = config.vocab_size;
  std::vector<std::string> tokens(static_cast<size_t>(V));
  std::vector<int64_t> types(static_cast<size_t>(V), kTokUnused);
  std::vector<bool> have(static_cast<size_t>(V), false);
  std::map<std::string, int64_t> ids;
  auto put = [&](int64_t id, const std::string& text, int64_t type) {
    if (id < 0 || id >= V)
      fail<ValueError>("export",
                       "'{}': token '{}' has id {}, outside the model's vocab_size {} "
                       "(config.json)",
                       file.string(), text, id, V);
    tokens[size_t(id)] = text;
    types[size_t(id)] = type;
    have[size_t(id)] = true;
    ids[text] = id;
  };
  for (const auto& [text, id] : model["vocab"].items()) put(id.get<int64_t>(), text, kTokNormal);
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array())
    for (const auto& a : tok["added_tokens"])
      put(a.at("id").get<int64_t>(), a.at("content").get<std::string>(),
          a.value("special", false) ? kTokControl : kTokUserDefined);
  int64_t unused = 0;
  for (int64_t i = 0; i < V; ++i)
    if (!have[size_t(i)]) {
      tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
      ++unused;
    }
  if (unused > 0)
    notes.push_back(
        fmt::format("{} ids beyond the tokenizer are written as unused [PAD<id>] tokens", unused));

  // Merges as "a b" strings (tokenizer.json holds them as strings or as [a, b] pairs).
  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array())
    for (const auto& m : model["merges"]) {
      if (m.is_string())
        merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2)
        merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else
        fail<IoError>("export", "'{}': a merge is neither \"a b\" nor [a, b]", file.string());
    }

  const json pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : json();
  std::string gmodel;
  bool add_space_prefix = false;
  if (auto name = gguf_pre_name(pre)) {
    gmodel = "gpt2";
    w.add("tokenizer.ggml.model", io::GgufValue::str("gpt2"));
    w.add("tokenizer.ggml.pre", io::GgufValue::str(*name));
    w.add("tokenizer.ggml.tokens", io::GgufValue::strings(tokens));
    w.add("tokenizer.ggml.token_type", io::GgufValue::i32s(types));
    w.add("tokenizer.ggml.merges", io::GgufValue::strings(merges));
  } else if (gguf_is_spm_bpe(tok, add_space_prefix)) {
    gmodel = "llama";
    // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined text has the
    // highest score: the score of a token made by merge rank r is -r, so merges apply in BPE
    // rank order. Tokens no merge makes rank below every merge.
    std::vector<double> scores(static_cast<size_t>(V), 0.0);
    for (int64_t i = 0; i < V; ++i)
      if (types[size_t(i)] == kTokNormal) scores[size_t(i)] = -double(merges.size()) - double(i);
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t sp = merges[r].find(' ');
      if (sp == std::string::npos) continue;
      auto it = ids.find(merges[r].substr(0, sp) + merges[r].substr(sp + 1));
      if (it != ids.end() && types[size_t(it->second)] == kTokNormal &&
          scores[size_t(it->second)] < -double(r))
        scores[size_t(it->second)] = -double(r);
    }
    const std::string unk = model.value("unk_token", std::string());
    for (int64_t i = 0; i < V; ++i) {
      const std::string& t = tokens[size_t(i)];
      if (have[size_t(i)] && !unk.empty() && t == unk) types[size_t(i)] = kTokUnknown;
      if (types[size_t(i)] == kTokNormal && t.size() == 6 && t.starts_with("<0x") &&
          t.back() == '>')
        types[size_t(i)] = kTokByte;
    }
    w.add("tokenizer.ggml.model", io::GgufValue::str("llama"));
    w.add("tokenizer.ggml.pre", io::GgufValue::str("default"));
    w.add("tokenizer.ggml.tokens", io::GgufValue::strings(tokens));
    w.add("tokenizer.ggml.scores", io::GgufValue::f32s(scores));
    w.add("tokenizer.ggml.token_type", io::GgufValue::i32s(types));
    w.add("tokenizer.ggml.add_space_prefix", io::GgufValue::boolean(add_space_prefix));
  } else {
    fail<NotImplemented>("export",
                         "'{}': pre_tokenizer {} is not one llama.cpp knows by name (byte-level "
                         "BPE with the GPT-2, Llama 3 or Qwen2 split regex, or a "
                         "SentencePiece-style BPE with byte_fallback)",
                         file.string(), pre.dump());
  }

  // Special tokens: tokenizer_config.json's strings, else config.json's ids (as the converter).
  const fs::path tc_path = dir / "tokenizer_config.json";
  const json tc = fs::exists(tc_path) ? io::read_json_file(tc_path) : json::object();
  auto special_id = [&](const char* key) -> std::optional<int64_t> {
    if (auto c = gguf_token_content(tc, key)) {
      auto it = ids.find(*c);
      if (it == ids.end())
        fail<IoError>("export", "'{}': {} '{}' is not a token of '{}'", tc_path.string(), key, *c,
                      file.string());
      return it->second;
    }
    return std::nullopt;
  };
  std::optional<int64_t> bos = special_id("bos_token"), eos = special_id("eos_token"),
                         pad = special_id("pad_token"), unk = special_id("unk_token");
  if (!bos && !config.bos_token_id.empty()) bos = config.bos_token_id.front();
  if (!eos && !config.eos_token_id.empty()) eos = config.eos_token_id.front();
  if (!pad && config.pad_token_id) pad = *config.pad_token_id;
  auto put_id = [&](const char* key, std::optional<int64_t> id) {
    if (!id) return;
    if (*id < 0 || *id >= V)
      fail<ValueError>("export", "'{}': {} id {} is outside the vocabulary of {}", dir.string(),
                       key, *id, V);
    w.add(std::string("tokenizer.ggml.") + key, io::GgufValue::u32(uint32_t(*id)));
  };
  put_id("bos_token_id", bos);
  put_id("eos_token_id", eos);
  put_id("unknown_token_id", unk);
  put_id("padding_token_id", pad);

  // add_bos / add_eos: what the post-processor adds to one sequence (what wick and the
  // tokenizers library do), else tokenizer_config.json's flags.
  std::optional<std::string> first, last;
  gguf_template_ends(tok.contains("post_processor") ? tok["post_processor"] : json(), first, last);
  bool add_bos = first.has_value(), add_eos = last.has_value() && last != first;
  if (!first && !last) {
    add_bos = tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean() &&
              tc["add_bos_token"].get<bool>() && bos.has_value();
    add_eos = tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean() &&
              tc["add_eos_token"].get<bool>() && eos.has_value();
  } else if (first && (!bos || ids.count(*first) == 0 || ids[*first] != *bos)) {
    fail<NotImplemented>("export",
                         "'{}': the post-processor starts a sequence with '{}', which is not the "
                         "bos token; llama.cpp can only add bos",
                         file.string(), *first);
  } else if (add_eos && (!eos || ids.count(*last) == 0 || ids[*last] != *eos)) {
    fail<NotImplemented>("export",
                         "'{}': the post-processor ends a sequence with '{}', which is not the "
                         "eos token; llama.cpp can only add eos",
                         file.string(), *last);
  }
  w.add("tokenizer.ggml.add_bos_token", io::GgufValue::boolean(add_bos));
  w.add("tokenizer.ggml.add_eos_token", io::GgufValue::boolean(add_eos));
  const io::TokenizerConfig tcfg =
      fs::exists(tc_path) ? io::load_tokenizer_config(dir) : io::TokenizerConfig{};
  if (!tcfg.chat_template.empty())
    w.add("tokenizer.chat_template", io::GgufValue::str(tcfg.chat_template));
  return gmodel;
}

}  // namespace wick::exporter
