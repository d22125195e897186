// Registry of decoder architectures and weight loading with full checks.
#include "wick/models/causal_lm.h"

#include <fmt/format.h>
#include <algorithm>
#include <functional>
#include <set>

#include "wick/io/safetensors.h"
#include "wick/models/llama.h"
#include "wick/ops.h"

namespace wick::models {

namespace {

using Factory = std::function<std::unique_ptr<CausalLM>(const io::LlamaConfig&, DType)>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  // Every entry is the config-driven Llama implementation (llama.h names the transformers class
  // each matches); the config parser already sets qkv_bias for qwen2 and qk_norm for qwen3.
  static const std::vector<std::pair<std::string, Factory>> r = [] {
    Factory llama = [](const io::LlamaConfig& c, DType d) -> std::unique_ptr<CausalLM> {
      return std::make_unique<LlamaForCausalLM>(c, d);
    };
    return std::vector<std::pair<std::string, Factory>>{{"LlamaForCausalLM", llama},
                                                        {"MistralForCausalLM", llama},
                                                        {"Qwen2ForCausalLM", llama},
                                                        {"Qwen3ForCausalLM", llama}};
  }();
  return r;
}

// Buffers some checkpoints carry that are not parameters (recomputed from the config).
bool ignorable(const std::string& name, bool tied) {
  if (name.ends_with(".rotary_emb.inv_freq")) return true;
  // Tied models may still store lm_head.weight (a copy of the embeddings); transformers ignores it.
  return tied && name == "lm_head.weight";
}

}  // namespace

size_t KVCache::nbytes() const {
  size_t n = 0;
  for (const auto& t : k) n += t.nbytes();
  for (const auto& t : v) n += t.nbytes();
  return n;
}

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, f] : registry()) n.push_back(name);
    return n;
  }();
  return names;
}

std::unique_ptr<CausalLM> make_causal_lm(const io::LlamaConfig& config, DType dtype) {
  const std::string supported = fmt::format("{}", fmt::join(supported_architectures(), ", "));
  if (config.architectures.empty())
    fail<ValueError>("load", "config has no 'architectures'; expected one of: {}", supported);
  const std::string& arch = config.architectures.front();
  for (const auto& [name, factory] : registry())
    if (name == arch) return factory(config, dtype);
  fail<ValueError>("load", "unsupported architecture '{}'; supported: {}", arch, supported);
}

void load_weights(CausalLM& model, const std::vector<std::string>& names,
                  const std::function<Tensor(const std::string&)>& get, const std::string& label) {
  const DType dtype = model.compute_dtype();
  std::set<std::string> expected;
  for (const auto& p : model.parameters()) expected.insert(p.path);
  for (const auto& n : names)
    if (!expected.count(n) && !ignorable(n, model.config().tie_word_embeddings))
      fail<IoError>("load", "{}: unexpected tensor '{}' (not a parameter of {})", label, n,
                    model.config().architectures.front());
  std::vector<Tensor> converted;
  nn::load_parameters(model, [&](const std::string& path) -> Tensor {
    Tensor t = get(path);
    if (!t.valid()) fail<IoError>("load", "{}: missing tensor '{}'", label, path);
    if (!is_floating(t.dtype()))
      fail<DtypeError>("load", "{}: tensor '{}' has dtype {}; expected a float dtype", label, path,
                       dtype_name(t.dtype()));
    if (t.dtype() != dtype) {
      t = astype(t, dtype);
      converted.push_back(t);
    }
    return t;
  });
  // Conversions run once here, not at every forward.
  eval(converted);
}

std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir,
                                         const LoadOptions& options) {
  io::LlamaConfig config = io::load_llama_config(dir);
  io::Checkpoint ckpt = io::load_checkpoint(dir);
  DType dtype = DType::f32;
  if (options.dtype) {
    dtype = *options.dtype;
  } else if (ckpt.contains("model.embed_tokens.weight")) {
    // Keep the stored dtype so that the weights are used in place (zero-copy).
    dtype = ckpt.tensor("model.embed_tokens.weight").dtype();
  }
  auto model = make_causal_lm(config, dtype);
  load_weights(
      *model, ckpt.names(),
      [&](const std::string& name) { return ckpt.contains(name) ? ckpt.tensor(name) : Tensor(); },
      ckpt.source().string());
  return model;
}

}  // namespace wick::models
