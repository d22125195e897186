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

// The adapter field of a case whose adapter `wick train` makes first.
constexpr const char* kWickTrained = "wick-trained";

struct LlamaCppCase {
  const char* model;    // folder under tests/fixtures/models
  const char* dtype;    // --dtype ("" = default)
  const char* adapter;  // folder under tests/fixtures/adapters, or ""
  double tol;           // max |centred logit difference| / max |centred logit|
};

std::string llama_cpp_case_name(const LlamaCppCase& c) {
  std::string n = std::string(c.model) + "_" + (*c.dtype ? c.dtype : "default");
  if (*c.adapter)
    n += std::string(c.adapter) == kWickTrained ? "_wick_trained_adapter" : "_adapter";
  return n;
}

// f32: within 1e-4 of the largest centred logit (the contract; measured 0.8-1.3e-6). 16-bit and
// q8_0 exports are compared with wick's f32 model (llama_bf16: wick runs the bf16 weights too);
// tolerances are the measured errors with about 2x headroom: f16 2.1e-3, bf16 2.1e-2, q8_0
// 5.1e-2 (llama) and 5.7e-2 (qwen3). q8_0 is coarse on these random N(0, 0.1^2) weights, and
// llama.cpp also quantises the activations to q8_0 in each matrix product.
const std::vector<LlamaCppCase> kLlamaCppCases = {
    {"llama", "f32", "", 1e-4},
    {"llama_tied", "f32", "", 1e-4},
    {"mistral", "f32", "", 1e-4},
    {"qwen2", "f32", "", 1e-4},
    {"qwen3", "f32", "", 1e-4},
    {"llama_rope_linear", "f32", "", 1e-4},
    {"llama_rope_llama3", "f32", "", 1e-4},
    {"llama", "f32", "llama_lora_qv", 1e-4},
    {"qwen2", "f32", "qwen2_lora_all_linear", 1e-4},
    {"llama", "f16", "", 5e-3},
    {"llama", "q8_0", "", 1e-1},
    {"qwen3", "q8_0", "", 1e-1},
    {"llama_bf16", "", "", 5e-2},
    // An adapter trained by `wick train` itself (all linear layers, 3 steps at lr 1e-2).
    {"qwen3", "f32", kWickTrained, 1e-4},
};

LlamaCppJob llama_cpp_job_of(const LlamaCppCase& c) {
  LlamaCppJob j;
  j.model_dir = source_path(std::string("tests/fixtures/models/") + c.model);
  if (std::string(c.adapter) == kWickTrained) {
    const fs::path out = temp_dir(std::string("gguf_wick_trained_") + c.model) / "adapter";
    std::string o, e;
    const std::string cmd =
        llama_cpp_quote(WICK_CLI_PATH) + " train --model " + llama_cpp_quote(j.model_dir.string()) +
        " --data " + llama_cpp_quote(source_path("tests/fixtures/train/data.jsonl")) + " --out " +
        llama_cpp_quote(out.string()) + " --iters 3 --lr 1e-2 --target-modules all-linear";
    EXPECT_EQ(llama_cpp_run(cmd, out.parent_path(), o, e), 0) << cmd << "\n" << e;
    j.adapter = out.string();
  } else if (*c.adapter) {
    j.adapter = source_path(std::string("tests/fixtures/adapters/") + c.adapter);
  }
  j.dtype = c.dtype;
  j.prompt = kLlamaCppPrompt;
  return j;
}

// Every case exported, then evaluated by one llama.cpp process (built on first use).
const LlamaCppBatch& llama_cpp_fixture_batch() {
  static const LlamaCppBatch b = [] {
    std::vector<LlamaCppJob> jobs;
    for (const auto& c : kLlamaCppCases) jobs.push_back(llama_cpp_job_of(c));
    return llama_cpp_batch(jobs, temp_dir("gguf_llama_cpp_fixtures"));
  }();
  return b;
}

class LlamaCpp : public ::testing::TestWithParam<size_t> {};

TEST_P(LlamaCpp, TokensAndLogitsMatchWick) {
  const std::string missing = llama_cpp_missing();
  if (!missing.empty()) GTEST_SKIP() << "llama.cpp check skipped: " << missing;
  const size_t i = GetParam();
  const LlamaCppCase c = kLlamaCppCases[i];
  const LlamaCppBatch& b = llama_cpp_fixture_batch();
  ASSERT_EQ(b.export_errors[i], "");
  ASSERT_FALSE(b.results[i].is_null()) << b.failure;
  LlamaCppMeasure m;
  llama_cpp_check(b.jobs[i], b.results[i], m);
  if (HasFatalFailure()) return;
  const std::string name = llama_cpp_case_name(c);
  std::cout << "[ llama.cpp ] " << name << ": " << m.tokens
            << " tokens equal, max relative logit error " << m.worst << " (tolerance " << c.tol
            << "), same top-1 token at " << m.same_top1 << "/" << m.tokens << " positions\n";
  RecordProperty("max_rel_logit_error", std::to_string(m.worst));
  EXPECT_LE(m.worst, c.tol) << name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LlamaCpp, ::testing::Range(size_t(0), kLlamaCppCases.size()),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return llama_cpp_case_name(kLlamaCppCases[i.param]);
                         });

}  // namespace
}  // namespace wick::testing
