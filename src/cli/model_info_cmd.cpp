// wick info --model DIR: what a folder holds. Every folder another command accepts: causal LMs
// (Llama, Mistral, Qwen2, Qwen3), BERT and sentence-transformers folders, the Qwen3-Embedding
// layout (no lm_head), and LoRA adapter folders (PEFT's or wick's).
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "cli/commands.h"
#include "wick/core/errors.h"
#include "wick/embed/folder_config.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::cli {

namespace {

namespace fs = std::filesystem;

// The sizes printed come from config.json: refuse to report them when the stored weights say
// otherwise (a vocab_size the embedding table contradicts, say).
void check_shapes_agree(const io::LlamaConfig& c, const io::Checkpoint& ckpt, const fs::path& dir) {
  auto model = models::make_causal_lm(c, DType::f32);
  for (const auto& p : model->parameters())
    if (ckpt.contains(p.path) && !p.shape.empty() && ckpt.info(p.path).shape != p.shape)
      fail<IoError>("info",
                    "'{}/config.json' contradicts the weights: tensor '{}' has shape {}; the "
                    "config implies {} (check vocab_size, hidden_size and the other sizes)",
                    dir.string(), p.path, shape_str(ckpt.info(p.path).shape), shape_str(p.shape));
}

// Stored parameters and, per stored dtype, the number of tensors.
void print_checkpoint_summary(const io::Checkpoint& ckpt) {
  int64_t params = 0;
  std::map<std::string, int64_t> dtypes;
  for (const auto& n : ckpt.names()) {
    const io::TensorInfo& t = ckpt.info(n);
    params += numel_of(t.shape);
    ++dtypes[t.dtype];
  }
  std::printf("parameters: %lld (%.1fM) in %zu tensors\n", (long long)params, double(params) / 1e6,
              ckpt.names().size());
  std::printf("stored dtypes:");
  for (const auto& [d, n] : dtypes) std::printf(" %s (%lld tensors)", d.c_str(), (long long)n);
  std::printf("\n");
}

void print_adapter_info(const fs::path& dir) {
  const lora::LoraConfig c = lora::read_adapter_config(dir);
  std::printf("LoRA adapter: %s\n", dir.string().c_str());
  std::string targets = c.target_regex;
  for (const auto& t : c.target_modules) targets += (targets.empty() ? "" : ",") + t;
  std::printf("rank: %lld, alpha: %g (scale %g%s), dropout: %g\n", (long long)c.r, c.lora_alpha,
              c.scale(), c.use_rslora ? ", rsLoRA" : "", c.lora_dropout);
  std::printf("target modules: %s\n", targets.c_str());
  std::printf("base model: %s\n", c.base_model_name_or_path.empty()
                                      ? "(not recorded)"
                                      : c.base_model_name_or_path.c_str());
  if (auto b = lora::read_base_info(dir))
    std::printf("trained on: %s\n", b->describe().c_str());
  else
    std::printf("trained on: (no %s; the base is not checked)\n", lora::kBaseInfoFile);
  print_checkpoint_summary(io::Checkpoint::open(dir / "adapter_model.safetensors"));
}

void print_tokenizer(const fs::path& dir) {
  if (!fs::exists(dir / "tokenizer.json")) {
    std::printf("tokenizer: none (no tokenizer.json)\n");
    return;
  }
  Tokenizer tok = Tokenizer::from_file(dir.string());
  std::printf("tokenizer: %zu ids, %zu special tokens\n", tok.vocab_size(),
              tok.special_tokens().size());
}

}  // namespace

void print_model_info(const std::string& arg) {
  const fs::path dir = arg;
  if (fs::is_directory(dir) && fs::exists(dir / "adapter_config.json") &&
      !fs::exists(dir / "config.json"))
    return print_adapter_info(dir);
  // sentence-transformers folders may keep the transformer in a subfolder.
  const bool st = fs::exists(dir / "modules.json");
  embed::FolderConfig fc;
  if (st)
    fc = embed::read_folder_config(dir);
  else
    fc.transformer_dir = dir;
  const fs::path tdir = fc.transformer_dir.empty() ? dir : fc.transformer_dir;
  const nlohmann::json raw = io::read_json_file(tdir / "config.json");
  const std::string model_type = io::config_model_type(raw);
  const io::Checkpoint ckpt = io::Checkpoint::open(tdir);
  if (model_type == "bert") {
    const io::BertConfig c = io::parse_bert_config(raw, (tdir / "config.json").string());
    std::printf("architecture: %s (model_type bert; encoder for embeddings)\n",
                c.architectures.empty() ? "BertModel" : c.architectures.front().c_str());
    print_checkpoint_summary(ckpt);
    std::printf("layers: %lld, hidden: %lld, heads: %lld, ffn: %lld, vocab: %lld\n",
                (long long)c.num_hidden_layers, (long long)c.hidden_size,
                (long long)c.num_attention_heads, (long long)c.intermediate_size,
                (long long)c.vocab_size);
    std::printf("context length: %lld\n", (long long)c.max_position_embeddings);
  } else {
    const io::LlamaConfig c = io::parse_llama_config(raw, (tdir / "config.json").string());
    const std::string arch = c.architectures.empty() ? "?" : c.architectures.front();
    const bool lm = arch.ends_with("ForCausalLM");
    if (lm) check_shapes_agree(c, ckpt, tdir);
    std::printf("architecture: %s (model_type %s%s)\n", arch.c_str(), c.model_type.c_str(),
                lm ? "" : "; a bare body without lm_head: embeddings only");
    print_checkpoint_summary(ckpt);
    std::printf(
        "layers: %lld, hidden: %lld, heads: %lld (kv %lld, head_dim %lld), ffn: %lld, "
        "vocab: %lld\n",
        (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
        (long long)c.num_key_value_heads, (long long)c.head_dim, (long long)c.intermediate_size,
        (long long)c.vocab_size);
    std::printf("context length: %lld\n", (long long)c.max_position_embeddings);
    std::printf("rope theta: %g, tied embeddings: %s\n", c.rope_theta,
                c.tie_word_embeddings ? "yes" : "no");
  }
  if (st)
    std::printf("sentence-transformers: pooling %s, %s\n", embed::pooling_name(fc.pooling),
                fc.normalize ? "L2-normalised" : "not normalised");
  print_tokenizer(tdir);
}

}  // namespace wick::cli
