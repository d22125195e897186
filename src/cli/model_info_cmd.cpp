// wick info --model DIR: what a model folder holds (architecture, sizes, dtypes, tokenizer).
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "wick/core/errors.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::cli {

void print_model_info(const std::string& dir) {
  io::LlamaConfig c = io::load_llama_config(dir);
  io::Checkpoint ckpt = io::load_checkpoint(dir);
  // Building the module tree checks the architecture and gives the expected parameters.
  auto model = models::make_causal_lm(c, DType::f32);
  int64_t params = 0;
  for (const auto& p : model->parameters()) {
    // The counts below come from config.json: refuse to report them when the weights say
    // otherwise (a vocab_size the embedding table contradicts, say).
    if (ckpt.contains(p.path) && !p.shape.empty() && ckpt.info(p.path).shape != p.shape)
      fail<IoError>("info",
                    "'{}/config.json' contradicts the weights: tensor '{}' has shape {}; the "
                    "config implies {} (check vocab_size, hidden_size and the other sizes)",
                    dir, p.path, shape_str(ckpt.info(p.path).shape), shape_str(p.shape));
    params += numel_of(p.shape);
  }
  std::map<std::string, int64_t> dtypes;  // stored dtype -> tensors
  for (const auto& n : ckpt.names()) ++dtypes[ckpt.info(n).dtype];
  std::printf("architecture: %s (model_type %s)\n", c.architectures.front().c_str(),
              c.model_type.c_str());
  std::printf("parameters: %lld (%.1fM)\n", (long long)params, double(params) / 1e6);
  std::printf("layers: %lld, hidden: %lld, heads: %lld (kv %lld), ffn: %lld, vocab: %lld\n",
              (long long)c.num_hidden_layers, (long long)c.hidden_size,
              (long long)c.num_attention_heads, (long long)model->make_cache(1, 1).k[0].shape(1),
              (long long)c.intermediate_size, (long long)c.vocab_size);
  std::printf("context length: %lld\n", (long long)c.max_position_embeddings);
  std::printf("rope theta: %g, tied embeddings: %s\n", c.rope_theta,
              c.tie_word_embeddings ? "yes" : "no");
  std::printf("stored dtypes:");
  for (const auto& [d, n] : dtypes) std::printf(" %s (%lld tensors)", d.c_str(), (long long)n);
  std::printf("\n");
  Tokenizer tok = Tokenizer::from_file(dir);
  std::printf("tokenizer: %zu ids, %zu special tokens\n", tok.vocab_size(),
              tok.special_tokens().size());
}

}  // namespace wick::cli
