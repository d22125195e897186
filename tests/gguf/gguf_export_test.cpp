// What export_gguf writes for the fixture models, read back with wick's own GGUF reader: the
// architecture keys, the tokenizer, tensor names and shapes, the Q/K permutation for "llama",
// types per --dtype, the merged adapter, and clear errors for what cannot be exported.
#include <gtest/gtest.h>

#include "testing/testing.h"
#include "wick/export/gguf_export.h"
#include "wick/io/gguf.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"

namespace wick::testing {
namespace {

namespace fs = std::filesystem;

fs::path gguf_fixture(const std::string& rel) { return source_path("tests/fixtures/" + rel); }

io::GgufFile gguf_export_fixture(const std::string& model, const std::string& dtype,
                                 const std::string& adapter = "") {
  const fs::path dir = temp_dir("gguf_export_" + model + dtype);
  exporter::GgufExportOptions o;
  o.model_dir = gguf_fixture("models/" + model);
  if (!adapter.empty()) o.adapter_dir = gguf_fixture("adapters/" + adapter);
  o.out = dir / "m.gguf";
  o.dtype = dtype;
  exporter::export_gguf(o);
  return io::read_gguf(o.out);
}

// Max |a - b| of two float vectors of the same size.
double gguf_max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::abs(double(a[i]) - double(b[i]));
    if (!(d <= m)) m = d;
  }
  return m;
}

TEST(GgufExport, LlamaMetadataTokenizerAndTensors) {
  const io::GgufFile g = gguf_export_fixture("llama", "f32");
  EXPECT_EQ(g.get("general.architecture").as_string(), "llama");
  EXPECT_EQ(g.get("general.file_type").as_u64(), 0u);
  EXPECT_EQ(g.get("general.name").as_string(), "llama");
  EXPECT_EQ(g.get("llama.block_count").as_u64(), 2u);
  EXPECT_EQ(g.get("llama.embedding_length").as_u64(), 64u);
  EXPECT_EQ(g.get("llama.feed_forward_length").as_u64(), 128u);
  EXPECT_EQ(g.get("llama.attention.head_count").as_u64(), 4u);
  EXPECT_EQ(g.get("llama.attention.head_count_kv").as_u64(), 2u);
  EXPECT_EQ(g.get("llama.context_length").as_u64(), 512u);
  EXPECT_EQ(g.get("llama.vocab_size").as_u64(), 384u);
  EXPECT_EQ(g.get("llama.rope.dimension_count").as_u64(), 16u);
  EXPECT_FLOAT_EQ(float(g.get("llama.rope.freq_base").as_f64()), 10000.0f);
  EXPECT_FLOAT_EQ(float(g.get("llama.attention.layer_norm_rms_epsilon").as_f64()), 1e-6f);
  // Tokenizer: byte-level BPE with the GPT-2 split, three special (control) tokens.
  EXPECT_EQ(g.get("tokenizer.ggml.model").as_string(), "gpt2");
  EXPECT_EQ(g.get("tokenizer.ggml.pre").as_string(), "gpt-2");
  const auto& tokens = g.get("tokenizer.ggml.tokens").as_strings();
  ASSERT_EQ(tokens.size(), 384u);
  EXPECT_EQ(tokens[2], "<|im_end|>");
  const auto& types = g.get("tokenizer.ggml.token_type").as_ints();
  ASSERT_EQ(types.size(), 384u);
  EXPECT_EQ(types[0], 3);
  EXPECT_EQ(types[2], 3);
  EXPECT_EQ(types[100], 1);
  EXPECT_EQ(g.get("tokenizer.ggml.merges").as_strings().size(), 125u);
  EXPECT_EQ(g.get("tokenizer.ggml.merges").as_strings()[0], "h e");
  EXPECT_EQ(g.get("tokenizer.ggml.eos_token_id").as_u64(), 2u);
  EXPECT_EQ(g.get("tokenizer.ggml.padding_token_id").as_u64(), 0u);
  EXPECT_FALSE(g.has("tokenizer.ggml.bos_token_id"));  // the fixture has no bos
  EXPECT_FALSE(g.get("tokenizer.ggml.add_bos_token").as_bool());
  EXPECT_NE(g.get("tokenizer.chat_template").as_string().find("<|im_start|>"), std::string::npos);
  // Tensors: names, row-major shapes, f32 norms.
  EXPECT_EQ(g.tensors.size(), 3u + 2u * 9u);
  EXPECT_EQ(g.tensor("token_embd.weight").shape, (std::vector<int64_t>{384, 64}));
  EXPECT_EQ(g.tensor("output.weight").shape, (std::vector<int64_t>{384, 64}));
  EXPECT_EQ(g.tensor("blk.1.attn_k.weight").shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(g.tensor("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(g.tensor("blk.0.attn_norm.weight").type, io::GgmlType::f32);
  auto ck = io::load_checkpoint(gguf_fixture("models/llama"));
  EXPECT_EQ(g.tensor_values("blk.0.ffn_gate.weight"),
            ck.tensor("model.layers.0.mlp.gate_proj.weight").to_vector<float>());
  EXPECT_EQ(g.tensor_values("blk.1.ffn_norm.weight"),
            ck.tensor("model.layers.1.post_attention_layernorm.weight").to_vector<float>());
  // Q/K rows are permuted per head from (i, i + Dh/2) pairs to (2i, 2i + 1): row h*16 + 2i + j of
  // the file is row h*16 + j*8 + i of the checkpoint.
  for (const char* w : {"q", "k"}) {
    const auto hf =
        ck.tensor(fmt::format("model.layers.1.self_attn.{}_proj.weight", w)).to_vector<float>();
    const auto gg = g.tensor_values(fmt::format("blk.1.attn_{}.weight", w));
    ASSERT_EQ(hf.size(), gg.size());
    const int64_t heads = hf.size() / 64 / 16;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < 8; ++i)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t c = 0; c < 64; c += 21)
            ASSERT_EQ(gg[size_t((h * 16 + 2 * i + j) * 64 + c)],
                      hf[size_t((h * 16 + j * 8 + i) * 64 + c)])
                << w << " head " << h << " i " << i << " j " << j;
    EXPECT_NE(gg, hf);
  }
}

TEST(GgufExport, ArchitecturesOfTheFixtures) {
  // Tied models have no output.weight (llama.cpp reuses token_embd); Qwen2 keeps its q/k/v biases
  // and is not permuted; Qwen3 has per-head q/k norms and head_dim 32 != 64 / 4.
  io::GgufFile tied = gguf_export_fixture("llama_tied", "f32");
  EXPECT_FALSE([&] {
    for (const auto& t : tied.tensors)
      if (t.name == "output.weight") return true;
    return false;
  }());
  io::GgufFile q2 = gguf_export_fixture("qwen2", "f32");
  EXPECT_EQ(q2.get("general.architecture").as_string(), "qwen2");
  EXPECT_EQ(q2.tensor("blk.0.attn_q.bias").type, io::GgmlType::f32);
  auto ck2 = io::load_checkpoint(gguf_fixture("models/qwen2"));
  EXPECT_EQ(q2.tensor_values("blk.0.attn_q.weight"),
            ck2.tensor("model.layers.0.self_attn.q_proj.weight").to_vector<float>());
  EXPECT_FLOAT_EQ(float(q2.get("qwen2.rope.freq_base").as_f64()), 1e6f);
  io::GgufFile q3 = gguf_export_fixture("qwen3", "f32");
  EXPECT_EQ(q3.get("general.architecture").as_string(), "qwen3");
  EXPECT_EQ(q3.get("qwen3.attention.key_length").as_u64(), 32u);
  EXPECT_EQ(q3.tensor("blk.1.attn_k_norm.weight").shape, (std::vector<int64_t>{32}));
  io::GgufFile mi = gguf_export_fixture("mistral", "f32");
  EXPECT_EQ(mi.get("general.architecture").as_string(), "llama");
  io::GgufFile lin = gguf_export_fixture("llama_rope_linear", "f32");
  EXPECT_EQ(lin.get("llama.rope.scaling.type").as_string(), "linear");
  EXPECT_FLOAT_EQ(float(lin.get("llama.rope.scaling.factor").as_f64()), 2.0f);
  // llama3 rope: divisors 1 (high frequencies) ... 8 (low), interpolated between.
  io::GgufFile l3 = gguf_export_fixture("llama_rope_llama3", "f32");
  const auto f = l3.tensor_values("rope_freqs.weight");
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f.front(), 1.0f);
  EXPECT_EQ(f.back(), 8.0f);
  EXPECT_TRUE(std::any_of(f.begin(), f.end(), [](float v) { return v > 1.0f && v < 8.0f; }));
}

TEST(GgufExport, DtypesAndDefault) {
  const std::vector<std::pair<std::string, io::GgmlType>> cases = {
      {"f16", io::GgmlType::f16}, {"bf16", io::GgmlType::bf16}, {"q8_0", io::GgmlType::q8_0}};
  auto ck = io::load_checkpoint(gguf_fixture("models/llama"));
  const auto ref = ck.tensor("model.layers.0.mlp.up_proj.weight").to_vector<float>();
  for (const auto& [name, type] : cases) {
    io::GgufFile g = gguf_export_fixture("llama", name);
    EXPECT_EQ(g.tensor("blk.0.ffn_up.weight").type, type) << name;
    EXPECT_EQ(g.tensor("token_embd.weight").type, type) << name;
    EXPECT_EQ(g.tensor("output_norm.weight").type, io::GgmlType::f32) << name;
    // Weights are N(0, 0.1^2): f16 keeps ~3e-4 absolute, bf16 ~2e-3, q8_0 max/254 ~ 2e-3.
    const double tol = name == "f16" ? 2e-4 : 3e-3;
    EXPECT_LE(gguf_max_abs(g.tensor_values("blk.0.ffn_up.weight"), ref), tol) << name;
  }
  // No --dtype: the checkpoint's own type (bf16 here).
  io::GgufFile b = gguf_export_fixture("llama_bf16", "");
  EXPECT_EQ(b.tensor("blk.0.ffn_up.weight").type, io::GgmlType::bf16);
  EXPECT_EQ(b.get("general.file_type").as_u64(), 32u);
  EXPECT_EQ(gguf_export_fixture("llama", "q8_0").get("general.file_type").as_u64(), 7u);
}

TEST(GgufExport, AdapterIsMergedFirst) {
  io::GgufFile g = gguf_export_fixture("llama", "f32", "llama_lora_qv");
  auto ck = io::load_checkpoint(gguf_fixture("models/llama"));
  auto merged = lora::merged_weights(ck, gguf_fixture("models/llama"),
                                     gguf_fixture("adapters/llama_lora_qv"));
  ASSERT_TRUE(merged.count("model.layers.0.self_attn.v_proj.weight"));
  const auto v = merged.at("model.layers.0.self_attn.v_proj.weight").to_vector<float>();
  EXPECT_EQ(g.tensor_values("blk.0.attn_v.weight"), v);
  EXPECT_NE(v, ck.tensor("model.layers.0.self_attn.v_proj.weight").to_vector<float>());
}

TEST(GgufExport, AddBosFollowsThePostProcessor) {
  const fs::path dir = temp_dir("gguf_export_add_bos");
  const fs::path m = dir / "model";
  fs::create_directories(m);
  for (const auto& e : fs::directory_iterator(gguf_fixture("models/llama")))
    if (e.is_regular_file()) fs::copy_file(e.path(), m / e.path().filename());
  auto tok = io::read_json_file(m / "tokenizer.json");
  tok["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [1],
                                          "tokens": ["<|im_start|>"]}}})");
  io::write_json_file(m / "tokenizer.json", tok);
  auto tc = io::read_json_file(m / "tokenizer_config.json");
  tc["bos_token"] = "<|im_start|>";
  io::write_json_file(m / "tokenizer_config.json", tc);
  exporter::GgufExportOptions o;
  o.model_dir = m;
  o.out = dir / "m.gguf";
  exporter::export_gguf(o);
  const io::GgufFile g = io::read_gguf(o.out);
  EXPECT_TRUE(g.get("tokenizer.ggml.add_bos_token").as_bool());
  EXPECT_FALSE(g.get("tokenizer.ggml.add_eos_token").as_bool());
  EXPECT_EQ(g.get("tokenizer.ggml.bos_token_id").as_u64(), 1u);
  // A token llama.cpp would not add (it is not the bos token) is refused, not silently dropped.
  tc["bos_token"] = nullptr;
  io::write_json_file(m / "tokenizer_config.json", tc);
  EXPECT_THROW(exporter::export_gguf(o), NotImplemented);
}

TEST(GgufExport, ClearErrors) {
  const fs::path dir = temp_dir("gguf_export_errors");
  exporter::GgufExportOptions o;
  o.out = dir / "m.gguf";
  o.model_dir = gguf_fixture("models/bert_mean");
  try {
    exporter::export_gguf(o);
    ADD_FAILURE() << "a BERT folder exported";
  } catch (const Error& e) {
    // load_llama_config refuses it before the architecture check: either names the file.
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  o.model_dir = gguf_fixture("models/llama");
  o.dtype = "q4_0";
  EXPECT_THROW(exporter::export_gguf(o), ValueError);
  EXPECT_FALSE(fs::exists(o.out));
  // A tokenizer llama.cpp cannot name: the Split regex of an unknown family.
  const fs::path m = dir / "model";
  fs::create_directories(m);
  for (const auto& e : fs::directory_iterator(gguf_fixture("models/llama")))
    if (e.is_regular_file()) fs::copy_file(e.path(), m / e.path().filename());
  // A config.json whose vocab_size disagrees with the embeddings (llama.cpp would refuse the file).
  auto cfg = io::read_json_file(m / "config.json");
  auto bad = cfg;
  bad["vocab_size"] = 400;
  io::write_json_file(m / "config.json", bad);
  o.model_dir = m;
  o.dtype = "";
  try {
    exporter::export_gguf(o);
    ADD_FAILURE() << "a vocab_size mismatch exported";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("embed_tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[400, 64]"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out));
  io::write_json_file(m / "config.json", cfg);
  auto tok = io::read_json_file(m / "tokenizer.json");
  tok["pre_tokenizer"] = {{"type", "Whitespace"}};
  io::write_json_file(m / "tokenizer.json", tok);
  try {
    exporter::export_gguf(o);
    ADD_FAILURE() << "an unknown pre-tokenizer exported";
  } catch (const NotImplemented& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Whitespace"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out));
  cfg["model_type"] = "gemma";
  io::write_json_file(m / "config.json", cfg);
  try {
    exporter::export_gguf(o);
    ADD_FAILURE() << "model_type gemma exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemma"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wick::testing
