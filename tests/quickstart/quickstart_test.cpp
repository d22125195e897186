// The scaled-down quickstart end to end: every folder loads, the losses fall, and the merged
// model reproduces base + adapter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "wick/generate/perplexity.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"
#include "wick/quickstart/corpus.h"
#include "wick/quickstart/quickstart.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::quickstart {
namespace {

namespace fs = std::filesystem;

TEST(Corpus, BibleVersesAreParsed) {
  const auto v = parse_bible_verses(
      "\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n"
      "  2 And the earth was without form, and void; and darkness was upon the face of\n"
      "the deep.\n\nExodus 1\n\n  1 Now these are the names\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(v[1],
            "And the earth was without form, and void; and darkness was upon the face of the "
            "deep.");
  EXPECT_EQ(v[2], "Now these are the names");
  const auto d = group_verses(v, 60);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1], "Now these are the names");
}

TEST(Corpus, WordnetGlossOfTheFirstSense) {
  if (!fs::exists("/usr/share/wordnet/index.noun")) GTEST_SKIP() << "wordnet not installed";
  const auto defs = read_wordnet_nouns();
  EXPECT_GT(defs.size(), 10000u);
  auto it =
      std::find_if(defs.begin(), defs.end(), [](const Definition& d) { return d.word == "river"; });
  ASSERT_NE(it, defs.end());
  EXPECT_EQ(it->gloss, "a large natural stream of water (larger than a creek)");
}

TEST(Quickstart, TinyRunEndToEnd) {
  if (!fs::exists("/usr/bin/bible")) GTEST_SKIP() << "bible-kjv not installed";
  QuickstartOptions o;
  o.out = fs::temp_directory_path() / ("wick_quickstart_" + std::to_string(::getpid()));
  o.sizes = QuickstartSizes::defaults(true);
  o.seed = 1;
  const QuickstartResult r = run_quickstart(o);
  EXPECT_LT(r.pretrain_last_loss, r.pretrain_first_loss - 0.5);
  // Single fine-tuning batches are noisy: compare the held-out loss before and after.
  EXPECT_LT(r.finetune_eval_loss, r.finetune_eval_loss_base);
  EXPECT_LT(r.merged_max_abs_diff, 1e-4);
  ASSERT_EQ(r.generations.size(), 5u);
  // Bits per byte of the definitions: the same targets and bytes before and after.
  EXPECT_LT(r.definitions_bits_per_byte, r.definitions_bits_per_byte_base);
  EXPECT_NEAR(r.definitions_bits_per_byte / r.definitions_bits_per_byte_base,
              r.finetune_eval_loss / r.finetune_eval_loss_base, 1e-9);
  EXPECT_GE(r.heldout_documents, 2u);
  for (const char* f :
       {"tokenizer/tokenizer.json", "base-model/config.json", "base-model/model.safetensors",
        "base-model/metrics.jsonl", "base-model/loss.svg", "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors", "adapter/metrics.jsonl", "adapter/loss.svg",
        "merged-model/model.safetensors", "merged-model/tokenizer.json", "summary.json"})
    EXPECT_TRUE(fs::exists(o.out / f)) << f;

  // Independently: base folder + adapter folder == merged folder.
  const Tokenizer tok = Tokenizer::from_file((o.out / "tokenizer").string());
  const auto ids32 = tok.encode("Define: king\nthe", false);
  std::vector<int64_t> ids(ids32.begin(), ids32.end());
  Tensor x = from_vector(ids, {1, int64_t(ids.size())});
  auto base = models::load_causal_lm(o.out / "base-model");
  lora::load_adapter(*base, o.out / "adapter");
  lora::set_training(*base, false);
  auto merged = models::load_causal_lm(o.out / "merged-model");
  testing::allclose(merged->forward(x), base->forward(x), 1e-5, 1e-4);

  // Independently: the held-out documents' bits per byte, every token scored once after an
  // end-of-text start, in windows of seq_len tokens that overlap by one.
  {
    auto pretrained = models::load_causal_lm(o.out / "base-model");
    std::ifstream in(o.out / "data" / "pretrain-heldout.jsonl");
    const int64_t ctx = o.sizes.seq_len;
    double nats = 0;
    size_t bytes = 0, docs = 0;
    for (std::string line; std::getline(in, line); ++docs) {
      const std::string text = nlohmann::json::parse(line)["text"];
      bytes += text.size();
      std::vector<int32_t> t = {0};
      for (int32_t id : tok.encode(text, false)) t.push_back(id);
      for (size_t start = 0; start + 1 < t.size(); start += size_t(ctx - 1)) {
        const size_t len = std::min(size_t(ctx), t.size() - start);
        const auto p = generate::perplexity(*pretrained, std::span(t).subspan(start, len), ctx);
        nats += p.nll * double(p.tokens);
      }
    }
    EXPECT_EQ(docs, r.heldout_documents);
    EXPECT_EQ(bytes, r.heldout_bytes);
    EXPECT_NEAR(nats / (double(bytes) * std::log(2.0)), r.bible_bits_per_byte, 1e-6);
  }

  // Deterministic: the same seed gives the same adapter.
  QuickstartOptions o2 = o;
  o2.out = o.out.string() + "_again";
  o2.sizes.pretrain_steps = 2;
  o2.sizes.finetune_steps = 2;
  o2.sizes.generate_tokens = 4;
  QuickstartOptions o3 = o2;
  o3.out = o.out.string() + "_again2";
  const auto r2 = run_quickstart(o2), r3 = run_quickstart(o3);
  EXPECT_EQ(r2.finetune_last_loss, r3.finetune_last_loss);
  EXPECT_EQ(r2.generations[0].adapted, r3.generations[0].adapted);
  for (const auto& d : {o.out, o2.out, o3.out}) fs::remove_all(d);
}

}  // namespace
}  // namespace wick::quickstart
