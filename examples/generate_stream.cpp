// Load a Hugging Face model folder and generate text, printing each piece as it is decoded.
//   example_generate_stream MODEL_DIR PROMPT [MAX_TOKENS]
#include <cstdio>
#include <exception>
#include <string>

#include "wick/generate/generator.h"
#include "wick/models/causal_lm.h"
#include "wick/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR PROMPT [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  try {
    const std::string dir = argv[1];
    // Weights are memory-mapped; config.json picks the architecture (Llama, Mistral, Qwen2/3).
    auto model = wick::models::load_causal_lm(dir);
    const wick::Tokenizer tok = wick::Tokenizer::from_file(dir);

    wick::generate::GenerateOptions opts;
    opts.max_tokens = argc > 3 ? std::stoll(argv[3]) : 32;
    opts.sampling.temperature = 0.8;  // sample; 0 is greedy
    opts.sampling.top_p = 0.95;
    opts.sampling.seed = 42;  // same seed, same text
    opts.eos_ids = wick::generate::default_eos_ids(dir, model->config());

    const std::vector<int32_t> prompt = tok.encode(argv[2], /*add_special_tokens=*/true);
    auto r = wick::generate::generate(*model, tok, prompt, opts, [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);  // streamed as soon as it is decoded
      std::fflush(stdout);
    });
    std::printf("\n[%zu tokens, %.1f tokens/s, finish: %s]\n", r.tokens.size(),
                r.decode_tokens_per_second(), wick::generate::finish_reason_name(r.finish_reason));
    return r.tokens.empty() ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
