// Exact parity with the Hugging Face tokenizers library on the committed goldens
// (tests/reference/make_goldens.mjs): ids with and without special tokens, decodes, streaming.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "tokenizer/reference.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok_test {
namespace {

using nlohmann::json;

std::string show(const std::vector<int32_t>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesReference) {
  const std::string name = GetParam();
  const Tokenizer* tok = reference_tokenizer(name);
  if (!tok) return;
  std::ifstream in(wick::testing::source_path("tests/tokenizer/goldens/" + name + ".jsonl"));
  ASSERT_TRUE(in) << "missing golden file for " << name;
  std::string line;
  std::getline(in, line);
  json header = json::parse(line);
  auto prefix = header.at("prefix").get<std::vector<int32_t>>();
  auto suffix = header.at("suffix").get<std::vector<int32_t>>();
  const auto& texts = golden_texts();
  ASSERT_EQ(header.at("count").get<size_t>(), texts.size());
  size_t row = 0, failures = 0, stream_checked = 0;
  std::vector<std::vector<int32_t>> all_ids;
  while (std::getline(in, line) && failures < 5) {
    json r = json::parse(line);
    const std::string& text = texts.at(row);
    auto ids = r.at(0).get<std::vector<int32_t>>();
    std::vector<int32_t> with = prefix;
    with.insert(with.end(), ids.begin(), ids.end());
    with.insert(with.end(), suffix.begin(), suffix.end());
    if (r.size() > 1 && !r[1].is_null()) with = r[1].get<std::vector<int32_t>>();
    std::string dskip =
        r.size() > 2 && !r[2].is_null() ? r[2].get<std::string>() : tok::utf8_lossy(text);
    std::string dfull = r.size() > 3 && !r[3].is_null() ? r[3].get<std::string>() : dskip;
    auto got = tok->encode(text, false);
    auto got_with = tok->encode(text, true);
    std::string where =
        fmt::format("{} text #{} {}", name, row, json(tok::utf8_lossy(text)).dump());
    bool ok = true;
    if (got != ids) {
      ADD_FAILURE() << where << "\n  expected " << show(ids) << "\n  got      " << show(got);
      ok = false;
    } else if (got_with != with) {
      ADD_FAILURE() << where << " (with special tokens)\n  expected " << show(with)
                    << "\n  got      " << show(got_with);
      ok = false;
    } else if (tok->decode(with, true) != dskip) {
      ADD_FAILURE() << where << " decode(skip_special_tokens)\n  expected " << json(dskip).dump()
                    << "\n  got      " << json(tok->decode(with, true)).dump();
      ok = false;
    } else if (tok->decode(with, false) != dfull) {
      ADD_FAILURE() << where << " decode\n  expected " << json(dfull).dump() << "\n  got      "
                    << json(tok->decode(with, false)).dump();
      ok = false;
    }
    if (ok && row % 3 == 0) {  // streaming decode equals the full decode, in whole characters
      StreamDecoder stream(*tok);
      std::string acc;
      for (int32_t id : with) {
        std::string piece = stream.step(id);
        ASSERT_EQ(tok::utf8_valid_prefix(piece), piece.size()) << where << " partial UTF-8";
        acc += piece;
      }
      acc += stream.finish();
      if (acc != dfull) {
        ADD_FAILURE() << where << " streaming decode\n  expected " << json(dfull).dump()
                      << "\n  got      " << json(acc).dump();
        ok = false;
      }
      ++stream_checked;
    }
    if (!ok) ++failures;
    all_ids.push_back(with);
    ++row;
  }
  if (failures) return;
  EXPECT_EQ(row, texts.size());
  EXPECT_GT(stream_checked, 600u);
  // The parallel batch path gives the same ids.
  EXPECT_EQ(tok->encode_batch(texts, true), all_ids) << name << " encode_batch differs";
}

INSTANTIATE_TEST_SUITE_P(Reference, Golden,
                         ::testing::Values("qwen3", "llama3", "mistral", "llama2", "gpt2", "bert"),
                         [](const auto& info) { return info.param; });

TEST(Golden, SanityIds) {
  if (auto* t = reference_tokenizer("qwen3")) {
    EXPECT_EQ(t->encode("Hello world!"), (std::vector<int32_t>{9707, 1879, 0}));
  }
  if (auto* t = reference_tokenizer("gpt2")) {
    EXPECT_EQ(t->encode("Hello world!"), (std::vector<int32_t>{15496, 995, 0}));
  }
  if (auto* t = reference_tokenizer("bert")) {
    EXPECT_EQ(t->encode("Hello world!"), (std::vector<int32_t>{101, 7592, 2088, 999, 102}));
  }
}

}  // namespace
}  // namespace wick::tok_test
