#include "wick/embed/decoder.h"

#include <fmt/format.h>
#include <algorithm>
#include <set>
#include <vector>

#include "wick/core/errors.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"

namespace wick::embed {

namespace {

constexpr const char* kDecoderOp = "embed";
constexpr std::string_view kBodyPrefix = "model.";

// "Qwen3Model" -> "Qwen3ForCausalLM" (the same network without its head); supported names pass.
std::string causal_lm_architecture(const io::LlamaConfig& c, const std::string& label) {
  const auto& supported = models::supported_architectures();
  const std::string list = fmt::format("{}", fmt::join(supported, ", "));
  if (c.architectures.empty())
    fail<ValueError>(kDecoderOp, "{}: config has no 'architectures'; expected one of: {}", label,
                     list);
  const std::string& arch = c.architectures.front();
  if (std::find(supported.begin(), supported.end(), arch) != supported.end()) return arch;
  constexpr std::string_view kModel = "Model";
  if (arch.ends_with(kModel)) {
    const std::string mapped = arch.substr(0, arch.size() - kModel.size()) + "ForCausalLM";
    if (std::find(supported.begin(), supported.end(), mapped) != supported.end()) return mapped;
  }
  fail<ValueError>(kDecoderOp,
                   "{}: architecture '{}' is not supported as an embedder; supported: {} (or their "
                   "bare bodies, e.g. Qwen3Model)",
                   label, arch, list);
}

}  // namespace

bool is_decoder_model_type(const std::string& model_type) {
  return model_type == "llama" || model_type == "mistral" || model_type == "qwen2" ||
         model_type == "qwen3";
}

std::unique_ptr<models::CausalLM> load_decoder_encoder(const std::filesystem::path& dir) {
  const auto config_file = dir / "config.json";
  io::LlamaConfig config = io::load_llama_config(dir);
  config.architectures = {causal_lm_architecture(config, config_file.string())};
  // The head is never run: building the model tied leaves lm_head out, and a stored lm_head.weight
  // is then skipped by load_weights.
  config.tie_word_embeddings = true;
  io::Checkpoint ckpt = io::load_checkpoint(dir);
  const std::string label = ckpt.source().string();
  auto model = models::make_causal_lm(config, DType::f32);

  // Bare-body layout: no "model." prefix anywhere (Qwen3-Embedding); map keys onto the body.
  const std::vector<std::string> stored = ckpt.names();
  const bool bare = std::none_of(stored.begin(), stored.end(), [](const std::string& n) {
    return n.starts_with(kBodyPrefix) || n == "lm_head.weight";
  });
  if (!bare) {
    models::load_weights(
        *model, stored,
        [&](const std::string& n) { return ckpt.contains(n) ? ckpt.tensor(n) : Tensor(); }, label);
    return model;
  }
  std::set<std::string> expected;
  for (const auto& p : model->parameters()) expected.insert(p.path);
  std::vector<std::string> mapped;
  for (const auto& n : stored) {
    const std::string m = std::string(kBodyPrefix) + n;
    if (!expected.count(m) && !n.ends_with(".rotary_emb.inv_freq"))
      fail<IoError>(kDecoderOp, "{}: unexpected tensor '{}' (no parameter '{}' in {})", label, n, m,
                    config.architectures.front());
    mapped.push_back(m);
  }
  models::load_weights(
      *model, mapped,
      [&](const std::string& path) -> Tensor {
        const std::string n = path.substr(kBodyPrefix.size());
        if (!path.starts_with(kBodyPrefix) || !ckpt.contains(n))
          fail<IoError>(kDecoderOp, "{}: missing tensor '{}' (needed for parameter '{}')", label, n,
                        path);
        return ckpt.tensor(n);
      },
      label);
  return model;
}

Tensor decoder_hidden_states(models::CausalLM& model, const Tensor& ids) {
  // The trace's last entry is the final-norm output; the returned logits are never evaluated, so
  // the lazy graph never runs the vocabulary projection.
  models::ForwardTrace trace;
  model.forward(ids, nullptr, models::LogitsFor::last, &trace);
  return trace.hidden_states.back();
}

}  // namespace wick::embed
