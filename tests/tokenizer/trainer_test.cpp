// The byte-level BPE trainer: its tokenizer.json loads in the Hugging Face library (node addon)
// and encodes exactly like wick.
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tokenizer/reference.h"
#include "wick/core/errors.h"
#include "wick/tokenizer/trainer.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok_test {
namespace {

using nlohmann::json;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(::getpid()) + "." + std::to_string(std::rand())))
      .string();
}

TEST(Trainer, ReferenceLibraryLoadsAndEncodesIdentically) {
  if (!require_file(ref_path("node_modules/@anush008/tokenizers/package.json"))) return;
  std::vector<std::string> texts;
  for (const auto& t : golden_texts())
    if (tok::utf8_valid_prefix(t) == t.size()) texts.push_back(t);
  const std::vector<std::string> specials = {"<|endoftext|>", "<|pad|>"};
  auto t0 = std::chrono::steady_clock::now();
  std::string path = temp_path("wick_trained_tokenizer.json");
  train_bpe_to_file(texts, 1200, specials, path);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 5.0);
  Tokenizer tok = Tokenizer::from_file(path);
  EXPECT_EQ(tok.vocab_size(), 1200u);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 0);
  EXPECT_TRUE(tok.is_special(1));

  // Check texts, some with special tokens inside.
  std::vector<std::string> check(texts.begin(), texts.end());
  check.push_back("hello<|endoftext|>world <|pad|>");
  check.push_back("Unseen words: Zyzzyva quixotic 1234567 ünïcödé 🤖");
  auto expected = hf_encode(path, check);
  ASSERT_EQ(expected.size(), check.size());
  for (size_t row = 0; row < check.size(); ++row) {
    ASSERT_EQ(tok.encode(check[row]), expected[row].first) << "text #" << row << ": " << check[row];
    ASSERT_EQ(tok.decode(expected[row].first), expected[row].second) << "text #" << row;
  }
  std::remove(path.c_str());
}

TEST(Trainer, RejectsTooSmallVocab) { EXPECT_THROW(train_bpe({"abc"}, 100, {"<s>"}), ValueError); }

TEST(Trainer, SmallCorpusMergesFrequentPairs) {
  std::string json_text = train_bpe({"low lower lowest low low", "newer newest new"}, 256 + 10);
  Tokenizer tok = Tokenizer::from_json_string(json_text);
  EXPECT_GT(tok.vocab_size(), 256u);
  auto ids = tok.encode("low");
  EXPECT_LT(ids.size(), 3u);
  EXPECT_EQ(tok.decode(tok.encode("low lower newest")), "low lower newest");
}

}  // namespace
}  // namespace wick::tok_test
