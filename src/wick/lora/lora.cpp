#include "wick/lora/lora.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "wick/io/atomic_file.h"
#include "wick/io/safetensors.h"
#include "wick/ops.h"

namespace wick::lora {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPeftPrefix = "base_model.model.";

std::string last_component(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// The block index of a path such as "model.layers.3.mlp.up_proj" (PEFT's layers_pattern
// defaults: layers, h, blocks, layer), or -1.
int64_t layer_index(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string s; std::getline(ss, s, '.');) parts.push_back(s);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p != "layers" && p != "h" && p != "blocks" && p != "layer") continue;
    const auto& n = parts[i + 1];
    if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit)) return std::stoll(n);
  }
  return -1;
}

bool is_all_linear(const LoraConfig& c) {
  return c.target_modules.size() == 1 && c.target_modules[0] == "all-linear";
}

bool targets(const LoraConfig& c, const std::string& path) {
  const std::string name = last_component(path);
  if (!c.target_regex.empty()) {
    if (!std::regex_match(path, std::regex(c.target_regex))) return false;
  } else if (is_all_linear(c)) {
    if (name == "lm_head") return false;
  } else {
    // PEFT: a target matches the whole path or a suffix after a dot.
    bool hit = false;
    for (const auto& t : c.target_modules)
      hit |= path == t || (path.size() > t.size() && path.ends_with("." + t));
    if (!hit) return false;
  }
  // PEFT applies layers_to_transform only to a list of target names, not to a regex string.
  if (c.layers_to_transform.empty() || !c.target_regex.empty()) return true;
  int64_t li = layer_index(path);
  return li >= 0 && std::find(c.layers_to_transform.begin(), c.layers_to_transform.end(), li) !=
                        c.layers_to_transform.end();
}

DType compute_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

}  // namespace

double LoraConfig::scale() const {
  return use_rslora ? lora_alpha / std::sqrt(double(r)) : lora_alpha / double(r);
}

namespace {

// PEFT's get_pattern_key: the key equal to `path`, else the first key (in file order) with
// re.match(rf"(.*\.)?({key})$", path); nullptr when none matches.
template <class V>
const V* lora_pattern_value(const std::vector<std::pair<std::string, V>>& patterns,
                            const std::string& path) {
  for (const auto& [key, v] : patterns)
    if (key == path) return &v;
  for (const auto& [key, v] : patterns)
    if (std::regex_match(path, std::regex("(.*\\.)?(" + key + ")"))) return &v;
  return nullptr;
}

}  // namespace

int64_t LoraConfig::rank_for(const std::string& path) const {
  const int64_t* v = lora_pattern_value(rank_pattern, path);
  return v ? *v : r;
}

double LoraConfig::scale_for(const std::string& path) const {
  const double* a = lora_pattern_value(alpha_pattern, path);
  const double alpha = a ? *a : lora_alpha;
  const double rank = double(rank_for(path));
  return use_rslora ? alpha / std::sqrt(rank) : alpha / rank;
}

void LoraConfig::validate() const {
  if (r <= 0) fail<ValueError>("lora", "rank r must be positive, got {}", r);
  if (!(lora_dropout >= 0 && lora_dropout < 1))
    fail<ValueError>("lora", "lora_dropout must be in [0, 1), got {}", lora_dropout);
  for (const auto& [key, v] : rank_pattern)
    if (v <= 0 || v > (1 << 16))
      fail<ValueError>("lora", "rank_pattern['{}'] = {} is out of range; expected 1..65536", key,
                       v);
  for (const auto& [key, v] : alpha_pattern)
    if (!std::isfinite(v))
      fail<ValueError>("lora", "alpha_pattern['{}'] = {} is not a finite number", key, v);
  for (const auto* keys : {&rank_pattern})
    for (const auto& kv : *keys) {
      try {
        std::regex re("(.*\\.)?(" + kv.first + ")");
      } catch (const std::regex_error& e) {
        fail<ValueError>("lora", "rank_pattern key '{}' is not a valid regex: {}", kv.first,
                         e.what());
      }
    }
  for (const auto& kv : alpha_pattern) {
    try {
      std::regex re("(.*\\.)?(" + kv.first + ")");
    } catch (const std::regex_error& e) {
      fail<ValueError>("lora", "alpha_pattern key '{}' is not a valid regex: {}", kv.first,
                       e.what());
    }
  }
  if (r > (1 << 16)) fail<ValueError>("lora", "rank r = {} is out of range; expected 1..65536", r);
  if (!std::isfinite(lora_alpha))
    fail<ValueError>("lora", "lora_alpha must be a finite number, got {}", lora_alpha);
  if (target_modules.empty() && target_regex.empty())
    fail<ValueError>("lora", "target_modules is empty");
  if (!target_regex.empty()) {
    try {
      std::regex re(target_regex);
    } catch (const std::regex_error& e) {
      fail<ValueError>("lora", "target_modules regex '{}' is invalid: {}", target_regex, e.what());
    }
  }
}

LoraLinear::LoraLinear(int64_t in, int64_t out, int64_t r, double scale, double dropout,
                       Generator& init, Generator* dropout_gen)
    : r_(r), scale_(scale), dropout_(dropout), dropout_gen_(dropout_gen) {
  // kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in).
  const double bound = 1.0 / std::sqrt(double(in));
  lora_A = random_uniform({r, in}, DType::f32, -bound, bound, &init);
  lora_B = zeros({out, r}, DType::f32);
  register_parameter("lora_A.weight", &lora_A, {r, in}, true);
  register_parameter("lora_B.weight", &lora_B, {out, r}, true);
}

Tensor LoraLinear::forward(const Tensor& x, const Tensor& base_out) {
  if (merged_) return base_out;
  const DType ct = lora_A.dtype();
  Tensor h = x.dtype() == ct ? x : astype(x, ct);
  if (training_ && dropout_ > 0) h = dropout(h, dropout_, dropout_gen_);
  Tensor d = linear(linear(h, lora_A), lora_B) * scale_;
  if (d.dtype() != base_out.dtype()) d = astype(d, base_out.dtype());
  return base_out + d;
}

Tensor LoraLinear::merged_weight(const Tensor& weight) const {
  const DType ct = compute_dtype(weight.dtype());
  Tensor delta = matmul(astype(lora_B, ct), astype(lora_A, ct)) * scale_;
  return astype(astype(weight, ct) + delta, weight.dtype());
}

Tensor LoraLinear::unmerged_weight(const Tensor& weight) const {
  const DType ct = compute_dtype(weight.dtype());
  Tensor delta = matmul(astype(lora_B, ct), astype(lora_A, ct)) * scale_;
  return astype(astype(weight, ct) - delta, weight.dtype());
}

std::vector<AdaptedLayer> apply_lora(nn::Module& root, const LoraConfig& config,
                                     Generator* dropout_gen) {
  config.validate();
  root.set_trainable(false);
  Generator init(config.init_seed);
  std::vector<AdaptedLayer> out;
  for (auto& [path, m] : root.modules()) {
    auto* lin = dynamic_cast<nn::Linear*>(m);
    if (!lin || !targets(config, path)) continue;
    if (lin->adapter()) fail<ValueError>("lora", "layer '{}' already has an adapter", path);
    auto a = std::make_shared<LoraLinear>(lin->in_features(), lin->out_features(),
                                          config.rank_for(path), config.scale_for(path),
                                          config.lora_dropout, init, dropout_gen);
    lin->set_adapter(a);
    out.push_back({path, lin, a});
  }
  if (out.empty()) {
    std::string t;
    for (const auto& s : config.target_modules) t += (t.empty() ? "" : ",") + s;
    fail<ValueError>("lora", "no Linear layer matches target_modules '{}'", t);
  }
  return out;
}

std::vector<AdaptedLayer> adapted_layers(nn::Module& root) {
  std::vector<AdaptedLayer> out;
  for (auto& [path, m] : root.modules()) {
    auto* lin = dynamic_cast<nn::Linear*>(m);
    if (!lin) continue;
    if (auto a = std::dynamic_pointer_cast<LoraLinear>(lin->adapter()))
      out.push_back({path, lin, a});
  }
  return out;
}

void set_training(nn::Module& root, bool on) {
  for (auto& l : adapted_layers(root)) l.adapter->set_training(on);
}

void merge(nn::Module& root) {
  for (auto& l : adapted_layers(root)) {
    if (l.adapter->merged()) continue;
    l.layer->weight = l.adapter->merged_weight(l.layer->weight);
    l.layer->weight.eval();
    l.adapter->set_merged(true);
  }
}

void unmerge(nn::Module& root) {
  for (auto& l : adapted_layers(root)) {
    if (!l.adapter->merged()) continue;
    l.layer->weight = l.adapter->unmerged_weight(l.layer->weight);
    l.layer->weight.eval();
    l.adapter->set_merged(false);
  }
}

void merge_and_unload(nn::Module& root) {
  merge(root);
  for (auto& l : adapted_layers(root)) l.layer->set_adapter(nullptr);
}

void save_adapter(nn::Module& root, const LoraConfig& config, const fs::path& dir) {
  auto layers = adapted_layers(root);
  if (layers.empty()) fail<ValueError>("save_adapter", "the model has no LoRA adapters");
  fs::create_directories(dir);
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::set<std::string> names;
  for (auto& l : layers) {
    tensors.emplace_back(kPeftPrefix + l.path + ".lora_A.weight", l.adapter->lora_A);
    tensors.emplace_back(kPeftPrefix + l.path + ".lora_B.weight", l.adapter->lora_B);
    names.insert(last_component(l.path));
  }
  io::write_safetensors(dir / "adapter_model.safetensors", tensors, {{"format", "pt"}});
  json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["r"] = config.r;
  j["lora_alpha"] = config.lora_alpha;
  j["lora_dropout"] = config.lora_dropout;
  if (!config.target_regex.empty())
    j["target_modules"] = config.target_regex;
  else
    j["target_modules"] = std::vector<std::string>(names.begin(), names.end());
  j["use_rslora"] = config.use_rslora;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["init_lora_weights"] = true;
  j["inference_mode"] = true;
  j["base_model_name_or_path"] = config.base_model_name_or_path;
  j["layers_to_transform"] =
      config.layers_to_transform.empty() ? json(nullptr) : json(config.layers_to_transform);
  // Written with sorted keys (json objects): the order matters only when two keys match the
  // same layer, which a run of wick never produces (it copies the patterns it read).
  j["rank_pattern"] = json::object();
  j["alpha_pattern"] = json::object();
  for (const auto& [k, v] : config.rank_pattern) j["rank_pattern"][k] = v;
  for (const auto& [k, v] : config.alpha_pattern) j["alpha_pattern"][k] = v;
  j["modules_to_save"] = nullptr;
  j["use_dora"] = false;
  j["revision"] = nullptr;
  io::atomic_write_file(dir / "adapter_config.json", j.dump(2) + "\n");
}

LoraConfig read_adapter_config(const fs::path& dir) {
  const fs::path file = dir / "adapter_config.json";
  std::ifstream in(file);
  if (!in) fail<IoError>("load_adapter", "cannot open '{}'", file.string());
  std::stringstream text;
  text << in.rdbuf();
  json j;
  nlohmann::ordered_json ordered;  // rank_pattern / alpha_pattern keys in file order
  try {
    j = json::parse(text.str());
    ordered = nlohmann::ordered_json::parse(text.str());
  } catch (const json::exception& e) {
    fail<IoError>("load_adapter", "'{}' is not valid JSON: {}", file.string(), e.what());
  }
  auto bad = [&](const char* key, const char* want) {
    fail<IoError>("load_adapter", "'{}': key '{}' must be {}", file.string(), key, want);
  };
  if (!j.is_object()) bad("<root>", "an object");
  LoraConfig c;
  if (j.contains("peft_type") && j["peft_type"] != "LORA")
    fail<IoError>("load_adapter", "'{}': peft_type {} is not supported; expected \"LORA\"",
                  file.string(), j["peft_type"].dump());
  if (!j.contains("r") || !j["r"].is_number_integer()) bad("r", "an integer");
  c.r = j["r"].get<int64_t>();
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) bad("lora_alpha", "a number");
    c.lora_alpha = j["lora_alpha"].get<double>();
  }
  if (j.contains("lora_dropout") && !j["lora_dropout"].is_null()) {
    if (!j["lora_dropout"].is_number()) bad("lora_dropout", "a number");
    c.lora_dropout = j["lora_dropout"].get<double>();
  }
  if (j.contains("use_rslora") && !j["use_rslora"].is_null()) {
    if (!j["use_rslora"].is_boolean()) bad("use_rslora", "a boolean");
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (j.contains("fan_in_fan_out") && j["fan_in_fan_out"].is_boolean() &&
      j["fan_in_fan_out"].get<bool>())
    fail<NotImplemented>("load_adapter",
                         "'{}': fan_in_fan_out adapters (GPT-2 Conv1D) are not supported",
                         file.string());
  if (j.contains("use_dora") && j["use_dora"].is_boolean() && j["use_dora"].get<bool>())
    fail<NotImplemented>("load_adapter",
                         "'{}': DoRA adapters (use_dora: true) are not supported; expected a "
                         "plain LoRA adapter (use_dora: false)",
                         file.string());
  if (!j.contains("target_modules")) bad("target_modules", "present");
  const auto& t = j["target_modules"];
  if (t.is_string()) {
    // PEFT: a string other than "all-linear" is a regular expression matched on the full path.
    c.target_modules = {t.get<std::string>()};
    if (c.target_modules[0] != "all-linear") c.target_regex = c.target_modules[0];
  } else if (t.is_array()) {
    c.target_modules.clear();
    for (const auto& s : t) {
      if (!s.is_string()) bad("target_modules", "a list of strings");
      c.target_modules.push_back(s.get<std::string>());
    }
  } else {
    bad("target_modules", "a string or a list of strings");
  }
  if (j.contains("layers_to_transform") && !j["layers_to_transform"].is_null()) {
    const auto& l = j["layers_to_transform"];
    if (l.is_number_integer()) {
      c.layers_to_transform = {l.get<int64_t>()};
    } else if (l.is_array()) {
      for (const auto& v : l) {
        if (!v.is_number_integer()) bad("layers_to_transform", "a list of integers");
        c.layers_to_transform.push_back(v.get<int64_t>());
      }
    } else {
      bad("layers_to_transform", "an integer or a list of integers");
    }
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (!ordered.is_object() || !ordered.contains(key) || ordered[key].is_null()) continue;
    const auto& m = ordered[key];
    if (!m.is_object()) bad(key, "an object of layer-name patterns to numbers");
    for (const auto& [k, v] : m.items()) {
      if (std::string(key) == "rank_pattern") {
        if (!v.is_number_integer()) bad(key, "an object of layer-name patterns to integers");
        c.rank_pattern.emplace_back(k, v.get<int64_t>());
      } else {
        if (!v.is_number()) bad(key, "an object of layer-name patterns to numbers");
        c.alpha_pattern.emplace_back(k, v.get<double>());
      }
    }
  }
  if (j.contains("layers_pattern") && !j["layers_pattern"].is_null() &&
      !c.layers_to_transform.empty()) {
    // wick finds the layer index after "layers", "h", "blocks" or "layer" (PEFT's defaults).
    std::vector<std::string> pats;
    if (j["layers_pattern"].is_string())
      pats.push_back(j["layers_pattern"].get<std::string>());
    else if (j["layers_pattern"].is_array())
      for (const auto& v : j["layers_pattern"])
        if (v.is_string()) pats.push_back(v.get<std::string>());
    for (const auto& p : pats)
      if (p != "layers" && p != "h" && p != "blocks" && p != "layer")
        fail<NotImplemented>("load_adapter",
                             "'{}': layers_pattern '{}' is not supported; expected layers, h, "
                             "blocks or layer",
                             file.string(), p);
  }
  if (j.contains("exclude_modules") && !j["exclude_modules"].is_null() &&
      !j["exclude_modules"].empty() && j["exclude_modules"] != "")
    fail<NotImplemented>("load_adapter",
                         "'{}': exclude_modules {} is not supported; expected null (list the "
                         "adapted layers in target_modules instead)",
                         file.string(), j["exclude_modules"].dump());
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
    c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  try {
    c.validate();
  } catch (const ValueError& e) {
    fail<IoError>("load_adapter", "'{}': {}", file.string(), e.what());
  }
  return c;
}

void load_adapter_weights(nn::Module& root, const fs::path& dir) {
  const fs::path file = dir / "adapter_model.safetensors";
  if (!fs::exists(file))
    fail<IoError>("load_adapter", "'{}' not found (adapter_model.bin is not supported)",
                  file.string());
  auto st = io::SafeTensorsFile::open(file);
  auto layers = adapted_layers(root);
  std::map<std::string, Tensor*> want;
  for (auto& l : layers) {
    want[l.path + ".lora_A.weight"] = &l.adapter->lora_A;
    want[l.path + ".lora_B.weight"] = &l.adapter->lora_B;
  }
  std::set<std::string> seen;
  for (const auto& name : st.names()) {
    std::string key = name;
    if (key.rfind(kPeftPrefix, 0) == 0) key = key.substr(std::string(kPeftPrefix).size());
    // Some writers keep the adapter name: "...lora_A.default.weight".
    for (const char* ab : {".lora_A.default.weight", ".lora_B.default.weight"}) {
      auto pos = key.find(ab);
      if (pos != std::string::npos && pos + std::string(ab).size() == key.size())
        key = key.substr(0, pos) + std::string(ab).substr(0, 7) + ".weight";
    }
    auto it = want.find(key);
    if (it == want.end())
      fail<IoError>("load_adapter", "'{}': tensor '{}' matches no adapted layer of the model",
                    file.string(), name);
    Tensor t = st.tensor(name, DType::f32);
    if (t.shape() != it->second->shape())
      fail<IoError>("load_adapter", "'{}': tensor '{}' has shape {}; expected {}", file.string(),
                    name, shape_str(t.shape()), shape_str(it->second->shape()));
    *it->second = contiguous(t);
    it->second->eval();
    seen.insert(key);
  }
  for (const auto& [key, ptr] : want)
    if (!seen.count(key))
      fail<IoError>("load_adapter", "'{}': missing tensor '{}{}'", file.string(), kPeftPrefix, key);
}

LoraConfig load_adapter(nn::Module& root, const fs::path& dir, Generator* dropout_gen) {
  LoraConfig c = read_adapter_config(dir);
  apply_lora(root, c, dropout_gen);
  load_adapter_weights(root, dir);
  return c;
}

}  // namespace wick::lora
