// End to end against the real llama.cpp: `wick export --format gguf` writes each fixture model,
// llama.cpp's prebuilt CPU library (npm node-llama-cpp 3.21.1, tests/gguf/package.json) loads the
// file, tokenises a prompt and evaluates it (tests/gguf/llama_cpp_logits.mjs), and its token ids
// and next-token logits at every position must equal wick's. llama.cpp hands out
// log-probabilities, i.e. logits up to a constant per position, so both sides are compared
// centred (minus their mean over the vocabulary); the error is max |a - b| / max |a| per prompt.
// Skips with a clear line when node or node-llama-cpp is not installed
// (scripts/install-reference.sh installs it).
#include "gguf/llama_cpp_util.h"

namespace wick::testing {
namespace {

// A prompt with chat markup (special tokens), punctuation, digits and non-ASCII text.
const char* kLlamaCppPrompt =
    "<|im_start|>user\nThe quick brown fox jumps over the lazy dog's back, 1234 times!\n"
    "Caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac  "
    "spaces\t<|im_end|>\n<|im_start|>assistant\n";

struct LlamaCppCase {
  const char* model;    // folder under tests/fixtures/models
  const char* dtype;    // --dtype ("" = default)
  const char* adapter;  // folder under tests/fixtures/adapters, or ""
  double tol;           // max |centred logit difference| / max |centred logit|
};

std::string llama_cpp_case_name(const ::testing::TestParamInfo<LlamaCppCase>& i) {
  std::string n = std::string(i.param.model) + "_" + (*i.param.dtype ? i.param.dtype : "default");
  if (*i.param.adapter) n += "_adapter";
  return n;
}

class LlamaCpp : public ::testing::TestWithParam<LlamaCppCase> {};

TEST_P(LlamaCpp, TokensAndLogitsMatchWick) {
  const std::string missing = llama_cpp_missing();
  if (!missing.empty()) GTEST_SKIP() << "llama.cpp check skipped: " << missing;
  const LlamaCppCase c = GetParam();
  const fs::path model_dir = source_path(std::string("tests/fixtures/models/") + c.model);
  const fs::path dir = temp_dir(std::string("gguf_llama_cpp_") + llama_cpp_case_name({c, 0}));
  const std::string adapter =
      *c.adapter ? source_path(std::string("tests/fixtures/adapters/") + c.adapter) : "";
  LlamaCppMeasure m;
  llama_cpp_compare(model_dir, adapter, c.dtype, kLlamaCppPrompt, dir, m);
  if (HasFatalFailure()) return;
  const double worst = m.worst;
  const int64_t T = m.tokens, same_top1 = m.same_top1;
  std::cout << "[ llama.cpp ] " << llama_cpp_case_name({c, 0}) << ": " << T
            << " tokens equal, max relative logit error " << worst << " (tolerance " << c.tol
            << "), same top-1 token at " << same_top1 << "/" << T << " positions\n";
  RecordProperty("max_rel_logit_error", std::to_string(worst));
  EXPECT_LE(worst, c.tol) << c.model << " " << c.dtype;
}

// f32: within 1e-4 of the largest centred logit (the contract; measured 0.8-1.2e-6). 16-bit and
// q8_0 exports are compared with wick's f32 model (llama_bf16: wick runs the bf16 weights too);
// tolerances are the measured errors with about 2x headroom: f16 2.1e-3, bf16 2.1e-2, q8_0
// 5.1e-2 (llama) and 5.7e-2 (qwen3). q8_0 is coarse on these random N(0, 0.1^2) weights, and
// llama.cpp also quantises the activations to q8_0 in each matrix product.
INSTANTIATE_TEST_SUITE_P(
    Fixtures, LlamaCpp,
    ::testing::Values(
        LlamaCppCase{"llama", "f32", "", 1e-4}, LlamaCppCase{"llama_tied", "f32", "", 1e-4},
        LlamaCppCase{"mistral", "f32", "", 1e-4}, LlamaCppCase{"qwen2", "f32", "", 1e-4},
        LlamaCppCase{"qwen3", "f32", "", 1e-4}, LlamaCppCase{"llama_rope_linear", "f32", "", 1e-4},
        LlamaCppCase{"llama_rope_llama3", "f32", "", 1e-4},
        LlamaCppCase{"llama", "f32", "llama_lora_qv", 1e-4},
        LlamaCppCase{"qwen2", "f32", "qwen2_lora_all_linear", 1e-4},
        LlamaCppCase{"llama", "f16", "", 5e-3}, LlamaCppCase{"llama", "q8_0", "", 1e-1},
        LlamaCppCase{"qwen3", "q8_0", "", 1e-1}, LlamaCppCase{"llama_bf16", "", "", 5e-2}),
    llama_cpp_case_name);

}  // namespace
}  // namespace wick::testing
