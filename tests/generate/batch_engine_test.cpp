// Continuous batching: batched results equal batch-1 generate() (greedy and seeded sampling) on
// the model fixtures, with sequences joining and leaving, chunked prefill, the paged pool and its
// prefix cache, per-row LoRA adapters, stop conditions and cancellation.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "wick/generate/batch_engine.h"
#include "wick/lora/lora.h"
#include "wick/models/llama_batched.h"
#include "wick/ops.h"

namespace wick::testing {
namespace {

struct BatchFixture {
  std::unique_ptr<models::CausalLM> model;
  Tokenizer tok;
};

BatchFixture load_batch_fixture(const std::string& name) {
  auto dir = fixtures_dir() / "models" / name;
  return {models::load_causal_lm(dir), Tokenizer::from_file((dir / "tokenizer.json").string())};
}

std::vector<std::vector<int32_t>> batch_prompts(const Tokenizer& tok) {
  return {tok.encode("hello", true),
          tok.encode("the quick brown fox jumps over the lazy dog", true), tok.encode("a", true),
          tok.encode("one two three four five six seven eight", true),
          tok.encode("hello world, hello world", true)};
}

// Small blocks, a small prefill budget and fewer slots than prompts: sequences span several
// blocks, prompts are read in chunks beside decode rows, and later ones join as others finish.
generate::BatchEngineOptions tight_engine() {
  generate::BatchEngineOptions o;
  o.block_size = 4;
  o.num_blocks = 256;
  o.max_batch = 3;
  o.prefill_chunk = 7;
  return o;
}

class BatchGreedy : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchGreedy, EqualsBatchOneGenerate) {
  auto f = load_batch_fixture(GetParam());
  auto prompts = batch_prompts(f.tok);
  std::vector<generate::GenerateOptions> opts(prompts.size());
  for (size_t i = 0; i < opts.size(); ++i) {
    opts[i].max_tokens = 6 + int64_t(i) * 3;  // different lengths: rows leave at different steps
    opts[i].sampling.temperature = 0;
  }
  auto batched = generate::generate_batch(*f.model, f.tok, prompts, opts, tight_engine());
  ASSERT_EQ(batched.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto ref = generate::generate(*f.model, f.tok, prompts[i], opts[i]);
    EXPECT_EQ(batched[i].tokens, ref.tokens) << GetParam() << " prompt " << i;
    EXPECT_EQ(batched[i].text, ref.text) << GetParam() << " prompt " << i;
    EXPECT_EQ(batched[i].finish_reason, ref.finish_reason);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchGreedy,
                         ::testing::Values("llama", "qwen2", "qwen3", "mistral", "llama_bf16"));

TEST(BatchEngine, ChunkedPrefillInterleavesWithDecode) {
  auto f = load_batch_fixture("llama");
  generate::BatchEngine e(*f.model, f.tok, tight_engine());  // 7 prompt tokens per step
  std::vector<int64_t> a_tokens_at_step;
  int64_t step = 0;
  generate::SequenceRequest a;
  a.prompt = f.tok.encode("a", true);
  a.options.max_tokens = 40;
  a.options.sampling.temperature = 0;
  a.on_token = [&](const generate::TokenEvent& t) {
    if (t.token >= 0) a_tokens_at_step.push_back(step);
  };
  e.submit(a);
  for (; a_tokens_at_step.empty(); ++step) e.step();
  // A long prompt joins while `a` decodes: it is read 7 tokens per step, and `a` gets a token at
  // every one of those steps instead of waiting for the whole prompt.
  std::string long_text;
  for (int i = 0; i < 12; ++i) long_text += "one two three four ";
  generate::SequenceRequest b;
  b.prompt = f.tok.encode(long_text, true);
  ASSERT_GT(b.prompt.size(), 28u);
  b.options.max_tokens = 2;
  b.options.sampling.temperature = 0;
  int64_t b_first = -1;
  b.on_token = [&](const generate::TokenEvent&) {
    if (b_first < 0) b_first = step;
  };
  const int64_t joined = step;
  e.submit(b);
  while (b_first < 0) {
    e.step();
    ++step;
  }
  EXPECT_GE(b_first - joined, int64_t(b.prompt.size() / 7) - 1);  // the prompt took many steps
  for (int64_t s = joined; s < b_first; ++s)
    EXPECT_NE(std::find(a_tokens_at_step.begin(), a_tokens_at_step.end(), s),
              a_tokens_at_step.end())
        << "no token for the decoding sequence at step " << s;
  e.run_until_idle();
}

TEST(BatchEngine, SlidingWindowEqualsGenerate) {
  // The mistral fixture with a 5-key sliding window (shorter than the prompts), from a copy.
  const auto src = fixtures_dir() / "models" / "mistral";
  const auto dir = temp_dir("batch_sliding");
  for (const auto& e : std::filesystem::directory_iterator(src))
    if (e.is_regular_file())
      std::filesystem::copy_file(e.path(), dir / e.path().filename(),
                                 std::filesystem::copy_options::overwrite_existing);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  cfg["sliding_window"] = 5;
  std::ofstream(dir / "config.json") << cfg.dump();
  BatchFixture f{models::load_causal_lm(dir),
                 Tokenizer::from_file((dir / "tokenizer.json").string())};
  ASSERT_EQ(f.model->config().sliding_window.value_or(0), 5);
  auto prompts = batch_prompts(f.tok);
  std::vector<generate::GenerateOptions> opts(prompts.size());
  for (auto& o : opts) {
    o.max_tokens = 10;
    o.sampling.temperature = 0;
  }
  auto batched = generate::generate_batch(*f.model, f.tok, prompts, opts, tight_engine());
  auto full = load_batch_fixture("mistral");  // no window: the window must change something
  bool differs = false;
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i].tokens, generate::generate(*f.model, f.tok, prompts[i], opts[i]).tokens)
        << "prompt " << i;
    differs |=
        batched[i].tokens != generate::generate(*full.model, f.tok, prompts[i], opts[i]).tokens;
  }
  EXPECT_TRUE(differs);
}

TEST(BatchEngine, SeededSamplingEqualsGenerate) {
  auto f = load_batch_fixture("llama");
  auto prompts = batch_prompts(f.tok);
  std::vector<generate::GenerateOptions> opts(prompts.size());
  for (size_t i = 0; i < opts.size(); ++i) {
    opts[i].max_tokens = 10;
    opts[i].sampling = {.temperature = 0.9, .top_k = 50, .top_p = 0.95, .seed = 100 + i};
  }
  auto batched = generate::generate_batch(*f.model, f.tok, prompts, opts, tight_engine());
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(batched[i].tokens, generate::generate(*f.model, f.tok, prompts[i], opts[i]).tokens);
}

TEST(BatchEngine, StopStringsAndEosAsGenerate) {
  auto f = load_batch_fixture("qwen3");
  auto prompts = batch_prompts(f.tok);
  generate::GenerateOptions greedy12;
  greedy12.max_tokens = 12;
  greedy12.sampling.temperature = 0;
  auto free_run =
      generate::generate_batch(*f.model, f.tok, {prompts[1]}, {greedy12}, tight_engine());
  const std::string text = free_run[0].text;
  ASSERT_GE(text.size(), 4u);
  generate::GenerateOptions stop;
  stop.max_tokens = 12;
  stop.sampling.temperature = 0;
  stop.stop = {text.substr(text.size() / 2, 2)};
  generate::GenerateOptions eos;
  eos.max_tokens = 12;
  eos.sampling.temperature = 0;
  eos.eos_ids = {free_run[0].tokens[3]};
  auto r = generate::generate_batch(*f.model, f.tok, {prompts[1], prompts[1]}, {stop, eos},
                                    tight_engine());
  auto ref_stop = generate::generate(*f.model, f.tok, prompts[1], stop);
  auto ref_eos = generate::generate(*f.model, f.tok, prompts[1], eos);
  EXPECT_EQ(r[0].finish_reason, generate::FinishReason::stop);
  EXPECT_EQ(r[0].text, ref_stop.text);
  EXPECT_EQ(r[1].finish_reason, generate::FinishReason::eos);
  EXPECT_EQ(r[1].tokens, ref_eos.tokens);
}

TEST(BatchEngine, PrefixCacheReusesBlocksAndPoolEmpties) {
  auto f = load_batch_fixture("llama");
  generate::BatchEngine e(*f.model, f.tok, tight_engine());
  const auto system = f.tok.encode("you are a helpful assistant who answers briefly", true);
  std::vector<std::vector<int32_t>> got;
  for (const char* q : {" hi", " what is two plus two"}) {
    auto p = system;
    for (int32_t t : f.tok.encode(q, false)) p.push_back(t);
    generate::SequenceRequest r;
    r.prompt = p;
    r.options.max_tokens = 8;
    r.options.sampling.temperature = 0;
    r.on_done = [&got](const generate::GenerateResult& g, const std::string& err) {
      EXPECT_EQ(err, "");
      got.push_back(g.tokens);
    };
    e.submit(r);
    e.run_until_idle();  // the first finishes (and publishes its blocks) before the second
    EXPECT_EQ(got.back(), generate::generate(*f.model, f.tok, p, r.options).tokens);
  }
  const auto st = e.stats();
  EXPECT_GE(st.prefix_hit_tokens, int64_t(system.size() / 4 * 4) - 4);
  EXPECT_GT(st.prefix_hit_tokens, 0);
  EXPECT_EQ(st.blocks_in_use, 0);
  EXPECT_GT(st.blocks_cached, 0);
}

TEST(BatchEngine, CancelFreesBlocks) {
  auto f = load_batch_fixture("llama");
  generate::BatchEngine e(*f.model, f.tok, tight_engine());
  std::string error;
  int tokens = 0;
  generate::SequenceRequest r;
  r.prompt = batch_prompts(f.tok)[1];
  r.options.max_tokens = 200;
  r.on_token = [&tokens](const generate::TokenEvent&) { ++tokens; };
  r.on_done = [&error](const generate::GenerateResult&, const std::string& err) { error = err; };
  const int64_t id = e.submit(r);
  while (tokens < 3) e.step();
  EXPECT_GT(e.stats().blocks_in_use, 0);
  e.cancel(id);
  e.step();
  EXPECT_EQ(error, "cancelled");
  EXPECT_TRUE(e.idle());
  EXPECT_EQ(e.stats().blocks_in_use, 0);
}

TEST(BatchEngine, RequestLargerThanPoolIsRefused) {
  auto f = load_batch_fixture("llama");
  auto o = tight_engine();
  o.num_blocks = 4;
  generate::BatchEngine e(*f.model, f.tok, o);
  generate::SequenceRequest r;
  r.prompt = batch_prompts(f.tok)[1];
  r.options.max_tokens = 100;
  expect_error<ValueError>([&] { e.submit(r); }, "batch_engine");
}

TEST(BatchedForward, PerRowAdaptersMatchAttachedAdapter) {
  auto dir = fixtures_dir() / "models" / "llama";
  auto base = models::load_causal_lm(dir);
  auto adapted = models::load_causal_lm(dir);
  const auto adapter_dir = fixtures_dir() / "adapters" / "llama_lora_qv";
  lora::load_adapter(*adapted, adapter_dir);
  lora::set_training(*adapted, false);
  const auto factors = models::load_lora_factors(*base, adapter_dir);
  EXPECT_FALSE(factors.layers.empty());
  const std::vector<int32_t> ids = {1, 5, 9, 17, 33, 2};
  auto ref = [&](models::CausalLM& m) {
    std::vector<int64_t> v(ids.begin(), ids.end());
    Tensor t = from_vector<int64_t>(v, {1, int64_t(v.size())});
    return reshape(m.forward(t, nullptr, models::LogitsFor::last), {m.config().vocab_size});
  };
  // One batch: base row, adapter row, base row.
  std::vector<models::BatchedRow> rows(3);
  for (size_t i = 0; i < 3; ++i) {
    rows[i].ids = ids;
    rows[i].want_logits = true;
  }
  rows[1].adapter = &factors;
  auto out = models::forward_batched(*base, rows);
  const Tensor want_base = ref(*base), want_lora = ref(*adapted);
  EXPECT_ALLCLOSE(slice(out.logits, 0, 0, 1), reshape(want_base, {1, base->config().vocab_size}),
                  1e-5, 1e-4);
  EXPECT_ALLCLOSE(slice(out.logits, 0, 1, 2), reshape(want_lora, {1, base->config().vocab_size}),
                  1e-5, 1e-4);
  EXPECT_ALLCLOSE(slice(out.logits, 0, 2, 3), reshape(want_base, {1, base->config().vocab_size}),
                  1e-5, 1e-4);
  // The adapter changes the logits (so the check above can fail).
  EXPECT_FALSE(allclose(want_lora, want_base, 1e-4, 1e-4));
}

}  // namespace
}  // namespace wick::testing

namespace wick::testing {
namespace {

TEST(KVBlockPool, CacheIsBoundedAndLeastRecentlyReleasedGoesFirst) {
  generate::KVBlockPool pool(2, 8, 2);
  const std::vector<std::vector<int32_t>> toks = {{1, 2}, {3, 4}, {5, 6}};
  for (const auto& t : toks) {
    const int32_t b = pool.allocate();
    pool.length(b) = 2;
    pool.publish(b, 0, -1, t);
    pool.release(b);
  }
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(pool.cached(), 2);
  EXPECT_FALSE(pool.lookup(0, -1, toks[0]).has_value());  // evicted: the oldest beyond 2
  auto hit = pool.lookup(0, -1, toks[2]);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(pool.in_use(), 1);
  EXPECT_FALSE(pool.lookup(0, 7, toks[1]).has_value());  // another adapter: no reuse
  pool.release(*hit);
  EXPECT_EQ(pool.available(), 8);
}

}  // namespace
}  // namespace wick::testing
