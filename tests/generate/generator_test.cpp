// Decode loop: stop conditions, streaming, perplexity windows, and the CLI on a tiny model folder.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "../models/tiny_model.h"
#include "wick/generate/generator.h"
#include "wick/generate/perplexity.h"
#include "wick/tokenizer/chat_template.h"

namespace wick::testing {
namespace {

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<models::CausalLM> model;
  std::map<std::string, Tensor> weights;
  Tokenizer tok = Tokenizer::from_json_string(tiny_tokenizer_json());
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.dir = temp_dir("generate");
    auto cfg = io::parse_llama_config(tiny_config_json("llama"), "llama");
    auto m = models::make_causal_lm(cfg, DType::f32);
    x.weights = tiny_weights(*m, 11);
    write_tiny_model(x.dir, tiny_config_json("llama"), x.weights);
    x.model = models::load_causal_lm(x.dir);
    return x;
  }();
  return f;
}

std::vector<int32_t> greedy(int64_t n) {
  auto& f = fixture();
  std::vector<int32_t> prompt = f.tok.encode("hello", true);
  return generate::greedy_no_cache(*f.model, prompt, n);
}

TEST(Generate, StreamingPiecesConcatenateToText) {
  auto& f = fixture();
  generate::GenerateOptions o;
  o.max_tokens = 20;
  o.sampling = {.temperature = 0.8, .top_p = 0.9, .seed = 5};
  std::string streamed;
  auto prompt = f.tok.encode("hi there", true);
  EXPECT_EQ(prompt.front(), 0);  // BOS from the post-processor, as transformers' call adds it
  auto r =
      generate::generate(*f.model, f.tok, prompt, o, [&](std::string_view s) { streamed += s; });
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(r.text, f.tok.decode(r.tokens));  // no eos ids set: every token is text
  EXPECT_EQ(r.prompt_tokens, prompt);
  // Same seed, same tokens.
  auto again = generate::generate(*f.model, f.tok, prompt, o);
  EXPECT_EQ(again.tokens, r.tokens);
}

TEST(Generate, EosStopsAndIsNotInText) {
  auto& f = fixture();
  auto ref = greedy(10);
  // Treat the 4th greedy token as eos: generation stops right there.
  generate::GenerateOptions o;
  o.max_tokens = 10;
  o.sampling.temperature = 0;
  o.eos_ids = {ref[3]};
  auto prompt = f.tok.encode("hello", true);
  auto r = generate::generate(*f.model, f.tok, prompt, o);
  const size_t first = size_t(std::find(ref.begin(), ref.end(), ref[3]) - ref.begin());
  EXPECT_EQ(r.finish_reason, generate::FinishReason::eos);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + first + 1));
  EXPECT_EQ(r.text, f.tok.decode(std::vector<int32_t>(ref.begin(), ref.begin() + first)));
}

TEST(Generate, StopStringCutsTextAndStreamHoldsItBack) {
  auto& f = fixture();
  auto ref = greedy(16);
  const std::string full = f.tok.decode(ref);
  ASSERT_GE(full.size(), 8u);
  const std::string stop = full.substr(5, 2);
  const size_t at = full.find(stop);
  generate::GenerateOptions o;
  o.max_tokens = 16;
  o.sampling.temperature = 0;
  o.stop = {"zzzzzzzzz", stop};
  std::string streamed;
  auto r = generate::generate(*f.model, f.tok, f.tok.encode("hello", true), o,
                              [&](std::string_view s) { streamed += s; });
  EXPECT_EQ(r.finish_reason, generate::FinishReason::stop);
  EXPECT_EQ(r.text, full.substr(0, at));
  EXPECT_EQ(streamed, r.text);  // nothing of the stop string leaked into the stream
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + int64_t(at + 2)));
}

TEST(Generate, LengthLimitAndBadInput) {
  auto& f = fixture();
  generate::GenerateOptions o;
  o.max_tokens = 3;
  o.sampling.temperature = 0;
  auto r = generate::generate(*f.model, f.tok, f.tok.encode("abc", true), o);
  EXPECT_EQ(r.finish_reason, generate::FinishReason::length);
  EXPECT_EQ(r.tokens.size(), 3u);
  EXPECT_STREQ(generate::finish_reason_name(r.finish_reason), "length");
  EXPECT_THROW(generate::generate(*f.model, f.tok, std::vector<int32_t>{}, o), ValueError);
  EXPECT_THROW(generate::generate(*f.model, f.tok, std::vector<int32_t>{0, 999}, o), ValueError);
}

TEST(Perplexity, WindowsScoreEveryTokenButTheFirst) {
  auto& f = fixture();
  std::vector<int32_t> ids = f.tok.encode("the quick brown fox jumps over the lazy dog.", true);
  const int64_t n = int64_t(ids.size()), ctx = 16;
  auto r = generate::perplexity(*f.model, ids, ctx);
  // Reference: log-softmax of the f64 reference logits, window by window.
  double total = 0;
  int64_t scored = 0;
  for (int64_t s = 0; s < n; s += ctx) {
    std::vector<int64_t> w(ids.begin() + s, ids.begin() + std::min(n, s + ctx));
    if (w.size() < 2) break;
    auto logits = reference_logits(f.model->config(), f.weights, w);
    const size_t V = size_t(f.model->config().vocab_size);
    for (size_t t = 0; t + 1 < w.size(); ++t) {
      double mx = -INFINITY, z = 0;
      for (size_t v = 0; v < V; ++v) mx = std::max(mx, logits[t * V + v]);
      for (size_t v = 0; v < V; ++v) z += std::exp(logits[t * V + v] - mx);
      total += mx + std::log(z) - logits[t * V + size_t(w[t + 1])];
      ++scored;
    }
  }
  EXPECT_EQ(r.tokens, scored);
  EXPECT_EQ(r.tokens, n - (n + ctx - 1) / ctx);  // one unscored token per window
  EXPECT_NEAR(r.nll, total / double(scored), 1e-5 * total / double(scored));
  EXPECT_DOUBLE_EQ(r.ppl, std::exp(r.nll));
  EXPECT_THROW(generate::perplexity(*f.model, ids, 1), ValueError);
}

std::string run_cli(const std::string& args) {
  std::string cmd = std::string(WICK_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(Cli, GenerateJsonPerplexityInfo) {
  auto& f = fixture();
  const std::string d = f.dir.string();
  auto out = run_cli("generate --model " + d + " --prompt hello --no-chat --max-tokens 5 --json");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(), greedy(5));
  EXPECT_EQ(j["prompt_tokens"].get<std::vector<int32_t>>(), f.tok.encode("hello", true));
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_TRUE(j.contains("prefill_tokens_per_second"));
  EXPECT_TRUE(j.contains("decode_tokens_per_second"));

  std::ofstream(f.dir / "text.txt") << "the quick brown fox jumps over the lazy dog.";
  auto pj = nlohmann::json::parse(run_cli("perplexity --model " + d + " --file " +
                                          (f.dir / "text.txt").string() + " --context 16 --json"));
  auto ids = f.tok.encode("the quick brown fox jumps over the lazy dog.", true);
  auto r = generate::perplexity(*f.model, ids, 16);
  EXPECT_EQ(pj["tokens"], r.tokens);
  EXPECT_NEAR(pj["nll"].get<double>(), r.nll, 1e-9);

  auto info = run_cli("info --model " + d);
  EXPECT_NE(info.find("LlamaForCausalLM"), std::string::npos) << info;
  EXPECT_NE(info.find("F32"), std::string::npos) << info;

  auto bad = run_cli("generate --model " + d + " --prompt hi --adapter /nonexistent");
  EXPECT_NE(bad.find("error"), std::string::npos) << bad;
}

TEST(Cli, ChatTemplatePromptAndInteractiveChat) {
  const std::string d = source_path("tests/fixtures/models/llama");
  auto j = nlohmann::json::parse(
      run_cli("generate --model " + d + " --prompt 'Hello there' --chat --max-tokens 3 --json"));
  ChatTemplate t = ChatTemplate::from_folder(d);
  Tokenizer tok = Tokenizer::from_file(d);
  auto msgs = nlohmann::json::array({{{"role", "user"}, {"content", "Hello there"}}});
  const std::string rendered = t.render(msgs, true);
  EXPECT_NE(rendered.find("<|im_start|>assistant"), std::string::npos) << rendered;
  EXPECT_EQ(j["prompt_tokens"].get<std::vector<int32_t>>(), tok.encode(rendered, false));
  // Two turns through stdin; the second reply is generated from the whole history.
  const auto input = temp_dir("chat") / "input.txt";
  std::ofstream(input) << "hi\nhow are you\n";
  auto out = run_cli("chat --model " + d + " --max-tokens 4 --temperature 0 < " + input.string());
  EXPECT_EQ(out.find("error"), std::string::npos) << out;
  EXPECT_GE(std::count(out.begin(), out.end(), '>'), 3) << out;  // three prompts shown
}

}  // namespace
}  // namespace wick::testing
