// No silent wrong answers: NaN/Inf weights, unknown ids, folders as corpora, corrupted caches,
// inputs past the model's context and configs the weights contradict each give a clear error,
// a warning with counts, or (for a damaged cache) a recomputed, correct result.
#include <fmt/format.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "redteam.h"

namespace wick::redteam {
namespace {

// Overwrites every element of an F32 tensor of a safetensors file with `value`.
void poison_tensor(const fs::path& file, const std::string& name, float value) {
  std::string b = read_text(file);
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  const auto header = nlohmann::json::parse(b.substr(8, n));
  const auto& info = header.at(name);
  ASSERT_EQ(info.at("dtype"), "F32");
  const size_t begin = 8 + n + info.at("data_offsets")[0].get<size_t>();
  const size_t end = 8 + n + info.at("data_offsets")[1].get<size_t>();
  for (size_t p = begin; p + 4 <= end; p += 4) std::memcpy(&b[p], &value, 4);
  write_text(file, b);
}

struct ResultCase {
  ResultCase(std::string name_, std::function<void(const fs::path&)> setup_, Case c_,
             std::function<void(const fs::path&, const std::string&)> after_ = nullptr)
      : name(std::move(name_)),
        setup(std::move(setup_)),
        c(std::move(c_)),
        after(std::move(after_)) {}
  std::string name;
  std::function<void(const fs::path& s)> setup;
  Case c;
  std::function<void(const fs::path& s, const std::string& out)> after;
};

std::vector<ResultCase> result_cases() {
  std::vector<ResultCase> v;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto& [label, value] :
       std::vector<std::pair<std::string, float>>{{"nan", nan}, {"inf", inf}, {"neg_inf", -inf}}) {
    const float x = value;
    auto bad_llama = [x](const fs::path& s) {
      copy_fixture("models/llama", s / "m");
      poison_tensor(s / "m" / "model.safetensors", "model.norm.weight", x);
      write_text(s / "text.txt", "The cat sat on the mat. The dog sat on the log.\n");
    };
    auto bad_bert = [x](const fs::path& s) {
      copy_fixture("models/bert_mean", s / "m");
      poison_tensor(s / "m" / "model.safetensors", "embeddings.LayerNorm.weight", x);
      write_text(s / "corpus.txt", "a cat\na dog\n");
    };
    for (const auto& [n, args] : std::vector<std::pair<std::string, std::string>>{
             {"generate", "generate --model {s}/m --prompt hello --max-tokens 4"},
             {"generate_json", "generate --model {s}/m --prompt hello --max-tokens 4 --json"},
             {"generate_sampled",
              "generate --model {s}/m --prompt hello --max-tokens 4 --temperature 0.7 --top-p 0.9"},
             {"chat", "chat --model {s}/m"}})
      v.push_back({label + "_weights_" + n,
                   bad_llama,
                   {"", args, Expect::error, "non-finite", "", n == "chat" ? "< {s}/text.txt" : ""},
                   [](const fs::path&, const std::string& out) {
                     EXPECT_EQ(out.find("finish"), std::string::npos) << out;
                   }});
    for (const auto& [n, args] : std::vector<std::pair<std::string, std::string>>{
             {"perplexity", "perplexity --model {s}/m --file {s}/text.txt --context 8"},
             {"perplexity_json", "perplexity --model {s}/m --file {s}/text.txt --json"}})
      v.push_back({label + "_weights_" + n,
                   bad_llama,
                   {"", args, Expect::error, "NaN or Inf"},
                   [](const fs::path&, const std::string& out) {
                     EXPECT_EQ(out.find("null"), std::string::npos) << out;
                   }});
    for (const auto& [n, args] : std::vector<std::pair<std::string, std::string>>{
             {"embed_jsonl", "embed --model {s}/m --text hello"},
             {"embed_tsv", "embed --model {s}/m --text hello --format tsv"},
             {"embed_npy_file", "embed --model {s}/m --text hello --format npy --output {s}/o"},
             {"search", "search --model {s}/m --corpus {s}/corpus.txt --query cat"}})
      v.push_back({label + "_weights_" + n,
                   bad_bert,
                   {"", args, Expect::error, "non-finite"},
                   [](const fs::path& s, const std::string& out) {
                     EXPECT_EQ(out.find("\"embedding\""), std::string::npos) << out;
                     EXPECT_FALSE(fs::exists(s / "o"));
                     EXPECT_FALSE(fs::exists(s / "corpus.txt.wick-embcache"));
                   }});
  }
  // Decoding ids the vocabulary does not have.
  for (const auto& ids : {"384", "100000", "2147483647", "5 999999 6"})
    v.push_back({std::string("decode_unknown_") + ids,
                 nullptr,
                 {"", fmt::format("tokenize --tokenizer {{llama}} --decode --text '{}'", ids),
                  Expect::error, "not in the vocabulary"},
                 nullptr});
  for (const auto& ids : {"-1", "abc", "2147483648", "1.5"})
    v.push_back({std::string("decode_malformed_") + ids,
                 nullptr,
                 {"", fmt::format("tokenize --tokenizer {{llama}} --decode --text '{}'", ids),
                  Expect::error, "is not a token id"},
                 nullptr});
  v.push_back({"decode_known",
               nullptr,
               {"", "tokenize --tokenizer {llama} --decode --text '40 41 42'", Expect::ok, ""},
               nullptr});
  // search: corpora that are not files of lines.
  v.push_back(
      {"search_corpus_folder",
       [](const fs::path& s) { fs::create_directories(s / "c"); },
       {"", "search --model {bert} --corpus {s}/c --query cat", Expect::error, "is a folder"},
       nullptr});
  v.push_back({"search_corpus_empty",
               [](const fs::path& s) { write_text(s / "c", ""); },
               {"", "search --model {bert} --corpus {s}/c --query cat", Expect::error,
                "no non-empty lines"},
               nullptr});
  v.push_back({"search_corpus_blank_lines",
               [](const fs::path& s) { write_text(s / "c", "\n\r\n\n"); },
               {"", "search --model {bert} --corpus {s}/c --query cat", Expect::error,
                "no non-empty lines"},
               nullptr});
  v.push_back(
      {"search_corpus_missing",
       nullptr,
       {"", "search --model {bert} --corpus {s}/nope --query cat", Expect::error, "cannot open"},
       nullptr});
  v.push_back({"search_cache_is_folder",
               [](const fs::path& s) {
                 write_text(s / "c", "a cat\na dog\n");
                 fs::create_directories(s / "c.wick-embcache");
               },
               {"", "search --model {bert} --corpus {s}/c --query cat", Expect::error,
                "not a regular file"},
               [](const fs::path& s, const std::string&) {
                 EXPECT_TRUE(fs::is_directory(s / "c.wick-embcache"));
               }});
  // Damaged caches are recomputed: the answer equals a fresh run's.
  auto cache_case = [&](const std::string& name, std::function<void(std::string&)> damage) {
    v.push_back(
        {"search_cache_" + name,
         [damage](const fs::path& s) {
           write_text(s / "c", "a cat on a mat\na dog on a log\nthe sea\n");
           const auto r = run_wick(
               expand("search --model {bert} --corpus " + (s / "c").string() + " --query cat",
                      workspace().vars));
           ASSERT_EQ(r.rc, 0) << r.out;
           write_text(s / "fresh", r.out.substr(r.out.find('\n') + 1));
           std::string b = read_text(s / "c.wick-embcache");
           damage(b);
           write_text(s / "c.wick-embcache", b);
         },
         {"", "search --model {bert} --corpus {s}/c --query cat", Expect::ok, "embedded 3 texts"},
         [](const fs::path& s, const std::string& out) {
           EXPECT_EQ(out.substr(out.find('\n') + 1), read_text(s / "fresh"));
         }});
  };
  cache_case("payload_byte_flipped", [](std::string& b) { b[b.size() - 7] ^= 0x40; });
  cache_case("payload_nan", [](std::string& b) {
    const float q = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&b[b.size() - 4], &q, 4);
  });
  cache_case("truncated", [](std::string& b) { b.resize(b.size() / 2); });
  cache_case("empty", [](std::string& b) { b.clear(); });
  cache_case("header_garbage", [](std::string& b) { b[10] = '#'; });
  cache_case("key_changed", [](std::string& b) {
    const auto p = b.find("wick_embcache_key");
    ASSERT_NE(p, std::string::npos);
    const auto q = b.find('"', b.find(':', p)) + 1;
    b[q] = b[q] == '0' ? '1' : '0';
  });
  cache_case("checksum_changed", [](std::string& b) {
    const auto p = b.find("wick_embcache_payload");
    ASSERT_NE(p, std::string::npos);
    const auto q = b.find('"', b.find(':', p)) + 1;
    b[q] = b[q] == '0' ? '1' : '0';
  });
  v.push_back({"search_cache_valid_is_used",
               [](const fs::path& s) {
                 write_text(s / "c", "a cat\na dog\n");
                 ASSERT_EQ(run_wick(expand("search --model {bert} --corpus " + (s / "c").string() +
                                               " --query cat",
                                           workspace().vars))
                               .rc,
                           0);
               },
               {"", "search --model {bert} --corpus {s}/c --query cat", Expect::ok,
                "using cached embeddings"},
               nullptr});
  // Inputs longer than the model's context (512 positions) warn once, with the counts.
  v.push_back({"generate_past_context",
               nullptr,
               {"", "generate --model {llama} --prompt hello --max-tokens 600", Expect::ok,
                "exceeds the model's context of 512 tokens; generating at most"},
               [](const fs::path&, const std::string& out) {
                 EXPECT_EQ(out.find("warning"), out.rfind("warning")) << "warned twice";
               }});
  v.push_back({"generate_2_pow_62_tokens",
               nullptr,
               {"", "generate --model {llama} --prompt hello --max-tokens 4611686018427387904",
                Expect::error, "--max-tokens"},
               nullptr});
  v.push_back({"perplexity_window_past_context",
               [](const fs::path& s) {
                 std::string t;
                 for (int i = 0; i < 300; ++i) t += "the cat sat on the mat. ";
                 write_text(s / "long.txt", t);
               },
               {"", "perplexity --model {llama} --file {s}/long.txt --context 1024", Expect::ok,
                "longer than the model's context of 512"},
               nullptr});
  // A config whose vocab_size the weights contradict.
  for (const auto& [key, value] : std::vector<std::pair<std::string, int>>{
           {"vocab_size", 500}, {"vocab_size", 100}, {"intermediate_size", 96}})
    v.push_back({"info_contradicted_" + key + std::to_string(value),
                 [key = key, value = value](const fs::path& s) {
                   copy_fixture("models/llama", s / "m");
                   auto j = nlohmann::json::parse(read_text(s / "m" / "config.json"));
                   j[key] = value;
                   write_text(s / "m" / "config.json", j.dump());
                 },
                 {"", "info --model {s}/m", Expect::error, "contradicts the weights"},
                 nullptr});
  return v;
}

class RedteamResults : public ::testing::TestWithParam<ResultCase> {};

TEST_P(RedteamResults, NoSilentWrongAnswer) {
  const Workspace& w = workspace();
  static int counter = 0;
  const fs::path s = w.root / ("res_" + std::to_string(++counter));
  fs::create_directories(s);
  if (GetParam().setup) GetParam().setup(s);
  if (HasFatalFailure()) return;
  auto vars = w.vars;
  vars["s"] = s.string();
  auto inputs = w.inputs();
  if (fs::exists(s / "m")) inputs.push_back(s / "m");
  const RunResult r = check_case(GetParam().c, vars, inputs);
  if (GetParam().after) GetParam().after(s, r.out);
  fs::remove_all(s);
}

INSTANTIATE_TEST_SUITE_P(Cases, RedteamResults, ::testing::ValuesIn(result_cases()),
                         [](const auto& info) {
                           return case_name(std::to_string(info.index) + "_" + info.param.name);
                         });

}  // namespace
}  // namespace wick::redteam
