// Exact parity with the Hugging Face tokenizers library on the committed goldens
// (tests/reference/make_goldens.mjs): ids with and without special tokens, decodes, streaming.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tokenizer/reference.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok_test {
namespace {

using nlohmann::json;

std::string show(const std::vector<int32_t>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }

// Names of the golden files: "qwen3", ..., "variants/unigram".
std::vector<std::string> golden_names() {
  std::vector<std::string> names;
  namespace fs = std::filesystem;
  fs::path dir = wick::testing::source_path("tests/tokenizer/goldens");
  for (const char* sub : {"", "variants"}) {
    std::error_code ec;
    std::vector<std::string> here;
    for (auto& e : fs::directory_iterator(dir / sub, ec)) {
      std::string f = e.path().filename().string();
      if (e.path().extension() == ".jsonl" && f != "texts.jsonl")
        here.push_back((*sub ? std::string(sub) + "/" : "") + f.substr(0, f.size() - 6));
    }
    std::sort(here.begin(), here.end());
    names.insert(names.end(), here.begin(), here.end());
  }
  return names;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesReference) {
  const std::string name = GetParam();
  std::ifstream in(wick::testing::source_path("tests/tokenizer/goldens/" + name + ".jsonl"));
  ASSERT_TRUE(in) << "missing golden file for " << name;
  std::string line;
  std::getline(in, line);
  json header = json::parse(line);
  std::string path = ref_path(header.at("file").get<std::string>());
  if (!require_file(path)) return;
  const Tokenizer& tok = load_cached(path);
  auto prefix = header.at("prefix").get<std::vector<int32_t>>();
  auto suffix = header.at("suffix").get<std::vector<int32_t>>();
  const auto& all_texts = golden_texts();
  ASSERT_EQ(header.at("count").get<size_t>(), all_texts.size())
      << "texts.jsonl and " << name << ".jsonl are from different runs of make_goldens.mjs";
  std::vector<std::string> texts;
  if (header.contains("indices")) {
    for (size_t i : header["indices"].get<std::vector<size_t>>()) texts.push_back(all_texts.at(i));
  } else {
    texts = all_texts;
  }
  size_t row = 0, failures = 0, stream_checked = 0;
  std::vector<std::vector<int32_t>> all_ids;
  while (std::getline(in, line) && failures < 5) {
    json r = json::parse(line);
    ASSERT_LT(row, texts.size());
    const std::string& text = texts[row];
    auto ids = r.at(0).get<std::vector<int32_t>>();
    std::vector<int32_t> with = prefix;
    with.insert(with.end(), ids.begin(), ids.end());
    with.insert(with.end(), suffix.begin(), suffix.end());
    auto field = [&](size_t k) { return r.size() > k && !r[k].is_null(); };
    if (field(1)) with = r[1].get<std::vector<int32_t>>();
    std::string dskip = field(2) ? r[2].get<std::string>() : tok::utf8_lossy(text);
    std::string dfull = field(3) ? r[3].get<std::string>() : dskip;
    std::vector<int32_t> types =
        field(4) ? r[4].get<std::vector<int32_t>>() : std::vector<int32_t>(with.size(), 0);
    auto got = tok.encode(text, false);
    Encoding got_with = tok.encode_full(text, true);
    std::string where =
        fmt::format("{} text #{} {}", name, row, json(tok::utf8_lossy(text)).dump());
    bool ok = true;
    if (got != ids) {
      ADD_FAILURE() << where << "\n  expected " << show(ids) << "\n  got      " << show(got);
      ok = false;
    } else if (got_with.ids != with) {
      ADD_FAILURE() << where << " (with special tokens)\n  expected " << show(with)
                    << "\n  got      " << show(got_with.ids);
      ok = false;
    } else if (got_with.type_ids != types) {
      ADD_FAILURE() << where << " type ids\n  expected " << show(types) << "\n  got      "
                    << show(got_with.type_ids);
      ok = false;
    } else if (tok.decode(with, true) != dskip) {
      ADD_FAILURE() << where << " decode(skip_special_tokens)\n  expected " << json(dskip).dump()
                    << "\n  got      " << json(tok.decode(with, true)).dump();
      ok = false;
    } else if (tok.decode(with, false) != dfull) {
      ADD_FAILURE() << where << " decode\n  expected " << json(dfull).dump() << "\n  got      "
                    << json(tok.decode(with, false)).dump();
      ok = false;
    }
    if (ok && row % 3 == 0) {  // streaming decode equals the full decode, in whole characters
      StreamDecoder stream(tok);
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
  EXPECT_GT(stream_checked, texts.size() / 4);
  // The parallel batch path gives the same ids.
  EXPECT_EQ(tok.encode_batch(texts, true), all_ids) << name << " encode_batch differs";
}

INSTANTIATE_TEST_SUITE_P(Reference, Golden, ::testing::ValuesIn(golden_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '/', '_');
                           return n;
                         });

TEST(Golden, AllTokenizersHaveGoldens) {
  auto names = golden_names();
  for (const char* n : {"qwen3", "llama3", "mistral", "llama2", "gpt2", "bert", "variants/unigram"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

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
