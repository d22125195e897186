#include "wick/io/hf_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "wick/core/errors.h"
#include "wick/io/atomic_file.h"

namespace wick::io {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxConfigBytes = 64ull << 20;

// Upper bounds for the sizes a config.json can ask for. They are far above every published
// model (hidden 16384-25600, 126 layers, vocab 256k, 10M context) and low enough that products of
// two of them cannot overflow int64 and a hostile value fails here, naming the key, rather than
// as a bare allocation failure later.
constexpr int64_t kMaxHidden = 1 << 18;
constexpr int64_t kMaxIntermediate = 1 << 21;
constexpr int64_t kMaxLayers = 1 << 12;
constexpr int64_t kMaxHeads = 1 << 14;
constexpr int64_t kMaxHeadDim = 1 << 14;
constexpr int64_t kMaxVocab = (int64_t(1) << 31) - 1;  // ids are int32
constexpr int64_t kMaxPositions = int64_t(1) << 27;
constexpr int64_t kMaxBertPositions = 1 << 20;            // BERT stores a position-embedding table
constexpr int64_t kMaxMatrixElements = int64_t(1) << 36;  // 256 GiB of f32 for one matrix

// Typed access to the keys of one JSON object, with errors naming the file and the key.
class Fields {
 public:
  Fields(const json& j, const std::string& label, std::string prefix = "")
      : j_(j), label_(label), prefix_(std::move(prefix)) {
    if (!j_.is_object())
      fail<IoError>("config", "{}: {} must be a JSON object, got {}", label_,
                    prefix_.empty() ? std::string("the file") : "key '" + prefix_ + "'",
                    j_.type_name());
  }

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    fail<IoError>("config", "{}: key '{}{}': {}", label_, prefix_.empty() ? "" : prefix_ + ".", key,
                  what);
  }
  // The value of `key`, or nullptr when absent or null.
  const json* get(const std::string& key) const {
    auto it = j_.find(key);
    return (it == j_.end() || it->is_null()) ? nullptr : &*it;
  }
  bool has(const std::string& key) const { return get(key) != nullptr; }

  std::optional<int64_t> opt_int(const std::string& key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float()) {
      double d = v->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return int64_t(d);
    }
    bad(key, fmt::format("must be an integer, got {}", v->dump()));
  }
  int64_t req_int(const std::string& key) const {
    auto v = opt_int(key);
    if (!v) bad(key, "missing");
    return *v;
  }
  int64_t req_positive(const std::string& key) const {
    int64_t v = req_int(key);
    if (v <= 0) bad(key, fmt::format("must be positive, got {}", v));
    return v;
  }
  // A required integer in [lo, hi] (sizes that allocate: range-checked where they enter).
  int64_t req_range(const std::string& key, int64_t lo, int64_t hi) const {
    return in_range(key, req_int(key), lo, hi);
  }
  int64_t in_range(const std::string& key, int64_t v, int64_t lo, int64_t hi) const {
    if (v < lo || v > hi) bad(key, fmt::format("{} is out of range; expected {}..{}", v, lo, hi));
    return v;
  }
  std::optional<double> opt_num(const std::string& key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad(key, fmt::format("must be a number, got {}", v->type_name()));
    const double d = v->get<double>();
    if (!std::isfinite(d)) bad(key, fmt::format("must be a finite number, got {}", v->dump()));
    return d;
  }
  double req_num(const std::string& key) const {
    auto v = opt_num(key);
    if (!v) bad(key, "missing");
    return *v;
  }
  std::optional<bool> opt_bool(const std::string& key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad(key, fmt::format("must be true or false, got {}", v->type_name()));
    return v->get<bool>();
  }
  std::optional<std::string> opt_str(const std::string& key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) bad(key, fmt::format("must be a string, got {}", v->type_name()));
    return v->get<std::string>();
  }
  std::vector<std::string> str_list(const std::string& key) const {
    std::vector<std::string> r;
    const json* v = get(key);
    if (!v) return r;
    if (!v->is_array()) bad(key, "must be a list of strings");
    for (const auto& e : *v) {
      if (!e.is_string()) bad(key, "must be a list of strings");
      r.push_back(e.get<std::string>());
    }
    return r;
  }
  // An int or a list of ints (token ids); empty when absent.
  std::vector<int64_t> int_or_list(const std::string& key) const {
    std::vector<int64_t> r;
    const json* v = get(key);
    if (!v) return r;
    if (v->is_number_integer()) {
      r.push_back(v->get<int64_t>());
      return r;
    }
    if (!v->is_array()) bad(key, fmt::format("must be an integer or a list of integers"));
    for (const auto& e : *v) {
      if (!e.is_number_integer()) bad(key, "must be an integer or a list of integers");
      r.push_back(e.get<int64_t>());
    }
    return r;
  }
  // A string, or a tokenizers AddedToken object {"content": ...}.
  std::optional<std::string> token(const std::string& key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_string()) return v->get<std::string>();
    if (v->is_object()) {
      auto c = v->find("content");
      if (c != v->end() && c->is_string()) return c->get<std::string>();
    }
    bad(key, "must be a string or an object with a string 'content'");
  }

 private:
  const json& j_;
  const std::string& label_;
  std::string prefix_;
};

// One weight matrix of the config must stay under kMaxMatrixElements elements.
void check_products(const Fields& f, int64_t hidden, int64_t intermediate, int64_t vocab) {
  // Each factor is range-checked first, so the products below cannot overflow.
  if (vocab * hidden > kMaxMatrixElements)
    f.bad("vocab_size", fmt::format("{} x hidden_size {} is more elements than the limit of {}",
                                    vocab, hidden, kMaxMatrixElements));
  if (intermediate * hidden > kMaxMatrixElements)
    f.bad("intermediate_size",
          fmt::format("{} x hidden_size {} is more elements than the limit of {}", intermediate,
                      hidden, kMaxMatrixElements));
}

std::filesystem::path file_in(const std::filesystem::path& p, const char* name) {
  return std::filesystem::is_directory(p) ? p / name : p;
}

std::optional<DType> dtype_of_torch_name(const std::string& s) {
  if (s == "bfloat16") return DType::bf16;
  if (s == "float16") return DType::f16;
  if (s == "float32") return DType::f32;
  return std::nullopt;
}

void parse_rope(const Fields& f, const std::string& label, LlamaConfig& c) {
  // transformers 5.x: "rope_parameters" holds rope_theta and the scaling; 4.x: top-level
  // "rope_theta" and "rope_scaling".
  const char* key = f.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (auto t = f.opt_num("rope_theta")) c.rope_theta = *t;
  const json* r = f.get(key);
  if (!r) return;
  Fields rf(*r, label, key);
  if (!rf.has("rope_type") && !rf.has("type") && !rf.has("rope_theta") && !r->empty() &&
      r->begin()->is_object())
    f.bad(key, "per-layer-type rope parameters are not supported");
  if (auto t = rf.opt_num("rope_theta")) c.rope_theta = *t;
  std::string type = rf.opt_str("rope_type").value_or(rf.opt_str("type").value_or("default"));
  if (type == "default") {
    c.rope_scaling.type = RopeScaling::Type::none;
  } else if (type == "linear") {
    c.rope_scaling.type = RopeScaling::Type::linear;
    c.rope_scaling.factor = rf.req_num("factor");
  } else if (type == "llama3") {
    c.rope_scaling.type = RopeScaling::Type::llama3;
    c.rope_scaling.factor = rf.req_num("factor");
    c.rope_scaling.low_freq_factor = rf.req_num("low_freq_factor");
    c.rope_scaling.high_freq_factor = rf.req_num("high_freq_factor");
    c.rope_scaling.original_max_position_embeddings =
        rf.req_range("original_max_position_embeddings", 1, kMaxPositions);
    if (c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
      rf.bad("high_freq_factor", "must be larger than low_freq_factor");
  } else {
    rf.bad(
        rf.has("rope_type") ? "rope_type" : "type",
        fmt::format("rope type '{}' is not supported (supported: default, linear, llama3)", type));
  }
  if (c.rope_scaling.factor <= 0) rf.bad("factor", "must be positive");
  if (c.rope_theta <= 0) f.bad("rope_theta", "must be positive");
}

void parse_layer_types(const Fields& f, LlamaConfig& c) {
  auto window = f.opt_int("sliding_window");
  if (window) f.in_range("sliding_window", *window, 1, kMaxPositions);
  if (f.has("layer_types")) {
    c.layer_types = f.str_list("layer_types");
    if (int64_t(c.layer_types.size()) != c.num_hidden_layers)
      f.bad("layer_types",
            fmt::format("has {} entries for {} layers", c.layer_types.size(), c.num_hidden_layers));
  } else {
    // Derive them the way transformers 4.x does.
    c.layer_types.assign(size_t(c.num_hidden_layers), "full_attention");
    bool qwen = c.model_type == "qwen2" || c.model_type == "qwen3";
    if (qwen && f.opt_bool("use_sliding_window").value_or(false) && window) {
      int64_t first = f.opt_int("max_window_layers").value_or(28);
      for (int64_t i = std::max<int64_t>(first, 0); i < c.num_hidden_layers; ++i)
        c.layer_types[size_t(i)] = "sliding_attention";
    } else if (c.model_type == "mistral" && window) {
      c.layer_types.assign(size_t(c.num_hidden_layers), "sliding_attention");
    }
  }
  bool any_sliding = false;
  for (const auto& t : c.layer_types) {
    if (t == "sliding_attention") {
      any_sliding = true;
    } else if (t != "full_attention") {
      f.bad("layer_types", fmt::format("layer type '{}' is not supported (supported: "
                                       "full_attention, sliding_attention)",
                                       t));
    }
  }
  if (any_sliding && !window) f.bad("sliding_window", "missing, but some layers slide");
  if (any_sliding) c.sliding_window = window;
}

}  // namespace

json read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) fail<IoError>("config", "{}: cannot read: {}", path.string(), ec.message());
  if (size > kMaxConfigBytes)
    fail<IoError>("config", "{}: {} bytes is larger than the {}-byte limit", path.string(), size,
                  kMaxConfigBytes);
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) fail<IoError>("config", "{}: read failed", path.string());
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    fail<IoError>("config", "{}: not valid JSON: {}", path.string(), e.what());
  }
}

void write_json_file(const std::filesystem::path& path, const json& j) {
  std::string s;
  try {
    s = j.dump(2);
  } catch (const json::exception& e) {
    fail<ValueError>("config", "{}: cannot serialise: {}", path.string(), e.what());
  }
  s += "\n";
  atomic_write_file(path, s);
}

std::string config_model_type(const json& config) {
  auto it = config.find("model_type");
  return (it != config.end() && it->is_string()) ? it->get<std::string>() : "";
}

LlamaConfig parse_llama_config(const json& j, const std::string& label) {
  Fields f(j, label);
  LlamaConfig c;
  c.raw = j;
  c.architectures = f.str_list("architectures");
  auto mt = f.opt_str("model_type");
  if (!mt) f.bad("model_type", "missing");
  c.model_type = *mt;
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2" &&
      c.model_type != "qwen3")
    f.bad("model_type", fmt::format("'{}' is not a supported decoder (supported: llama, mistral, "
                                    "qwen2, qwen3)",
                                    c.model_type));
  c.hidden_size = f.req_range("hidden_size", 1, kMaxHidden);
  c.intermediate_size = f.req_range("intermediate_size", 1, kMaxIntermediate);
  c.num_hidden_layers = f.req_range("num_hidden_layers", 1, kMaxLayers);
  c.num_attention_heads = f.req_range("num_attention_heads", 1, kMaxHeads);
  c.num_key_value_heads =
      f.in_range("num_key_value_heads",
                 f.opt_int("num_key_value_heads").value_or(c.num_attention_heads), 1, kMaxHeads);
  if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0)
    f.bad("num_key_value_heads", fmt::format("{} does not divide num_attention_heads {}",
                                             c.num_key_value_heads, c.num_attention_heads));
  if (auto hd = f.opt_int("head_dim")) {
    c.head_dim = f.in_range("head_dim", *hd, 1, kMaxHeadDim);
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      f.bad("hidden_size", fmt::format("{} is not a multiple of num_attention_heads {}",
                                       c.hidden_size, c.num_attention_heads));
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  c.vocab_size = f.req_range("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = f.req_range("max_position_embeddings", 1, kMaxPositions);
  check_products(f, c.hidden_size, c.intermediate_size, c.vocab_size);
  if (c.head_dim * c.num_attention_heads > kMaxHidden * 4)
    f.bad("head_dim",
          fmt::format("{} x num_attention_heads {} is out of range; expected at most {}",
                      c.head_dim, c.num_attention_heads, kMaxHidden * 4));
  c.rms_norm_eps = f.opt_num("rms_norm_eps").value_or(1e-6);
  if (c.rms_norm_eps <= 0) f.bad("rms_norm_eps", "must be positive");
  parse_rope(f, label, c);
  c.tie_word_embeddings = f.opt_bool("tie_word_embeddings").value_or(false);
  bool attention_bias = f.opt_bool("attention_bias").value_or(false);
  c.qkv_bias = attention_bias || c.model_type == "qwen2";  // Qwen2 always has q/k/v biases
  c.o_bias = attention_bias;
  c.mlp_bias = f.opt_bool("mlp_bias").value_or(false);
  c.qk_norm = c.model_type == "qwen3";
  c.hidden_act = f.opt_str("hidden_act").value_or("silu");
  if (c.hidden_act != "silu" && c.hidden_act != "swish")
    f.bad("hidden_act", fmt::format("activation '{}' is not supported for {} (supported: silu)",
                                    c.hidden_act, c.model_type));
  c.bos_token_id = f.int_or_list("bos_token_id");
  c.eos_token_id = f.int_or_list("eos_token_id");
  c.pad_token_id = f.opt_int("pad_token_id");
  for (int64_t id : c.bos_token_id) f.in_range("bos_token_id", id, 0, kMaxVocab - 1);
  for (int64_t id : c.eos_token_id) f.in_range("eos_token_id", id, 0, kMaxVocab - 1);
  if (c.pad_token_id) f.in_range("pad_token_id", *c.pad_token_id, -1, kMaxVocab - 1);
  c.torch_dtype = f.opt_str("dtype").value_or(f.opt_str("torch_dtype").value_or(""));
  c.dtype = dtype_of_torch_name(c.torch_dtype);
  parse_layer_types(f, c);
  return c;
}

LlamaConfig load_llama_config(const std::filesystem::path& path) {
  auto p = file_in(path, "config.json");
  return parse_llama_config(read_json_file(p), p.string());
}

BertConfig parse_bert_config(const json& j, const std::string& label) {
  Fields f(j, label);
  BertConfig c;
  c.raw = j;
  c.architectures = f.str_list("architectures");
  c.model_type = f.opt_str("model_type").value_or("bert");
  if (c.model_type != "bert")
    f.bad("model_type", fmt::format("'{}' is not a BERT model", c.model_type));
  c.hidden_size = f.req_range("hidden_size", 1, kMaxHidden);
  c.num_hidden_layers = f.req_range("num_hidden_layers", 1, kMaxLayers);
  c.num_attention_heads = f.req_range("num_attention_heads", 1, kMaxHeads);
  if (c.hidden_size % c.num_attention_heads != 0)
    f.bad("hidden_size", fmt::format("{} is not a multiple of num_attention_heads {}",
                                     c.hidden_size, c.num_attention_heads));
  c.intermediate_size = f.req_range("intermediate_size", 1, kMaxIntermediate);
  c.hidden_act = f.opt_str("hidden_act").value_or("gelu");
  if (c.hidden_act != "gelu")
    f.bad("hidden_act",
          fmt::format("activation '{}' is not supported for BERT (supported: gelu)", c.hidden_act));
  c.max_position_embeddings = f.req_range("max_position_embeddings", 1, kMaxBertPositions);
  c.type_vocab_size =
      f.in_range("type_vocab_size", f.opt_int("type_vocab_size").value_or(2), 0, 1 << 16);
  c.vocab_size = f.req_range("vocab_size", 1, kMaxVocab);
  check_products(f, c.hidden_size, c.intermediate_size, c.vocab_size);
  if (c.max_position_embeddings * c.hidden_size > kMaxMatrixElements)
    f.bad("max_position_embeddings",
          fmt::format("{} x hidden_size {} is more elements than the limit of {}",
                      c.max_position_embeddings, c.hidden_size, kMaxMatrixElements));
  c.layer_norm_eps = f.opt_num("layer_norm_eps").value_or(1e-12);
  if (c.layer_norm_eps <= 0) f.bad("layer_norm_eps", "must be positive");
  c.pad_token_id = f.opt_int("pad_token_id").value_or(0);
  c.position_embedding_type = f.opt_str("position_embedding_type").value_or("absolute");
  if (c.position_embedding_type != "absolute")
    f.bad("position_embedding_type",
          fmt::format("'{}' is not supported (supported: absolute)", c.position_embedding_type));
  c.torch_dtype = f.opt_str("dtype").value_or(f.opt_str("torch_dtype").value_or(""));
  return c;
}

BertConfig load_bert_config(const std::filesystem::path& path) {
  auto p = file_in(path, "config.json");
  return parse_bert_config(read_json_file(p), p.string());
}

GenerationConfig parse_generation_config(const json& j, const std::string& label) {
  Fields f(j, label);
  GenerationConfig g;
  g.raw = j;
  g.bos_token_id = f.int_or_list("bos_token_id");
  g.eos_token_id = f.int_or_list("eos_token_id");
  g.pad_token_id = f.opt_int("pad_token_id");
  g.do_sample = f.opt_bool("do_sample");
  g.temperature = f.opt_num("temperature");
  g.top_k = f.opt_int("top_k");
  g.top_p = f.opt_num("top_p");
  g.repetition_penalty = f.opt_num("repetition_penalty");
  g.max_new_tokens = f.opt_int("max_new_tokens");
  if (g.temperature && *g.temperature < 0) f.bad("temperature", "must not be negative");
  if (g.top_k && *g.top_k < 0) f.bad("top_k", "must not be negative");
  if (g.top_p && (*g.top_p < 0 || *g.top_p > 1)) f.bad("top_p", "must be in [0, 1]");
  if (g.repetition_penalty && *g.repetition_penalty <= 0)
    f.bad("repetition_penalty", "must be positive");
  if (g.max_new_tokens && *g.max_new_tokens < 0) f.bad("max_new_tokens", "must not be negative");
  return g;
}

GenerationConfig load_generation_config(const std::filesystem::path& path) {
  auto p = file_in(path, "generation_config.json");
  if (!std::filesystem::exists(p)) return GenerationConfig{};
  return parse_generation_config(read_json_file(p), p.string());
}

TokenizerConfig parse_tokenizer_config(const json& j, const std::string& label) {
  Fields f(j, label);
  TokenizerConfig t;
  t.raw = j;
  if (const json* ct = f.get("chat_template")) {
    if (ct->is_string()) {
      t.chat_template = ct->get<std::string>();
      t.chat_templates["default"] = t.chat_template;
    } else if (ct->is_array()) {
      // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (const auto& e : *ct) {
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
            !e.contains("template") || !e["template"].is_string())
          f.bad("chat_template", "list entries must be {\"name\": string, \"template\": string}");
        t.chat_templates[e["name"].get<std::string>()] = e["template"].get<std::string>();
      }
      if (t.chat_templates.count("default")) {
        t.chat_template = t.chat_templates["default"];
      } else if (!ct->empty()) {
        t.chat_template = (*ct)[0]["template"].get<std::string>();
      }
    } else {
      f.bad("chat_template", "must be a string or a list of named templates");
    }
  }
  t.bos_token = f.token("bos_token");
  t.eos_token = f.token("eos_token");
  t.pad_token = f.token("pad_token");
  t.unk_token = f.token("unk_token");
  t.add_bos_token = f.opt_bool("add_bos_token");
  t.add_eos_token = f.opt_bool("add_eos_token");
  return t;
}

TokenizerConfig load_tokenizer_config(const std::filesystem::path& path) {
  auto p = file_in(path, "tokenizer_config.json");
  TokenizerConfig t = parse_tokenizer_config(read_json_file(p), p.string());
  if (t.chat_template.empty() && std::filesystem::is_directory(path)) {
    auto jinja = path / "chat_template.jinja";
    if (std::filesystem::exists(jinja)) {
      std::ifstream in(jinja, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      t.chat_template = ss.str();
      t.chat_templates["default"] = t.chat_template;
    }
  }
  return t;
}

}  // namespace wick::io
