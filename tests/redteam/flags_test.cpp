// Out-of-range, non-finite and malformed numbers for every numeric flag of every command: each
// is refused before any work starts, with a message that names the flag; none crashes.
#include <fmt/format.h>

#include "redteam.h"

namespace wick::redteam {
namespace {

struct FlagSpec {
  const char* command;  // arguments before the flag (placeholders allowed)
  const char* flag;
  std::vector<std::string> bad;
};

std::vector<Case> flag_cases() {
  const std::string gen = "generate --model {llama} --prompt hello";
  const std::string chat = "chat --model {llama}";
  const std::string ppl = "perplexity --model {llama} --file {data}";
  const std::string emb = "embed --model {bert} --text hello";
  const std::string srch = "search --model {bert} --corpus {data} --query cat";
  const std::string train = "train --model {llama} --data {data} --out {work}/never";
  const std::string qs = "quickstart --tiny --out {work}/qs_never";
  const std::vector<std::string> ints_huge = {"-1", "-9223372036854775808", "9223372036854775807",
                                              "4611686018427387904", "144115188075855872"};
  const std::vector<std::string> not_numbers = {"abc", "1e3x", "''", "0x"};
  const std::vector<std::string> nonfinite = {"nan", "-nan", "inf", "-inf", "1e309"};
  auto cat = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<FlagSpec> specs = {
      {gen.c_str(), "--max-tokens",
       cat(cat(ints_huge, {"16777217", "9223372036854775808"}), not_numbers)},
      {gen.c_str(), "--temperature", cat(cat(nonfinite, {"-1", "-0.001"}), not_numbers)},
      {gen.c_str(), "--top-p", cat(cat(nonfinite, {"2", "0", "-1", "1.0000001"}), {"abc"})},
      {gen.c_str(), "--min-p", cat(cat(nonfinite, {"-1", "1.5", "-0.0001"}), {"abc"})},
      {gen.c_str(), "--top-k", {"-3", "-1", "2147483648", "9223372036854775807", "abc", "1.5"}},
      {gen.c_str(), "--repeat-penalty", cat(nonfinite, {"0", "-1", "abc"})},
      {chat.c_str(), "--max-tokens", cat(ints_huge, {"16777217", "abc"})},
      {chat.c_str(), "--temperature", cat(nonfinite, {"-1", "abc"})},
      {ppl.c_str(), "--context", cat(ints_huge, {"0", "1", "16777217", "abc"})},
      {emb.c_str(), "--batch-tokens", {"0", "-1", "1099511627776", "abc", "nan"}},
      {srch.c_str(), "--top-k", {"0", "-1", "abc"}},
      {train.c_str(), "--warmup", {"-5", "-1", "1099511627777", "abc"}},
      {train.c_str(), "--max-grad-norm", cat(nonfinite, {"-1", "abc"})},
      {train.c_str(), "--lr", cat(nonfinite, {"-1", "abc"})},
      {train.c_str(), "--weight-decay", cat(nonfinite, {"-0.5", "abc"})},
      {train.c_str(), "--lora-rank", {"0", "-1", "65537", "1099511627776", "abc"}},
      {train.c_str(), "--lora-alpha", cat(nonfinite, {"0", "-1", "abc"})},
      {train.c_str(), "--lora-dropout", {"-0.1", "1", "2", "nan", "inf", "abc"}},
      {train.c_str(), "--iters", {"0", "-1", "1099511627777", "abc"}},
      {train.c_str(), "--epochs", {"0", "-1", "1048577", "abc"}},
      {train.c_str(), "--batch-size", {"0", "-1", "1048577", "abc"}},
      {train.c_str(), "--grad-accum", {"0", "-1", "1048577", "abc"}},
      {train.c_str(), "--max-seq-len", {"0", "16777217", "-1", "abc"}},
      {train.c_str(), "--save-every", {"-1", "abc"}},
      {train.c_str(), "--eval-every", {"-1", "abc"}},
      {qs.c_str(), "--pretrain-steps", {"-1", "16777217", "abc"}},
      {qs.c_str(), "--finetune-steps", {"-1", "16777217", "abc"}},
  };
  std::vector<Case> cases;
  for (const auto& s : specs)
    for (const auto& v : s.bad) {
      const std::string cmd = std::string(s.command).substr(0, std::string(s.command).find(' '));
      cases.push_back({cmd + s.flag + "_" + v, fmt::format("{} {} {}", s.command, s.flag, v),
                       Expect::error, s.flag});
    }
  return cases;
}

class RedteamFlags : public ::testing::TestWithParam<Case> {};

TEST_P(RedteamFlags, RefusedNamingTheFlag) {
  const Workspace& w = workspace();
  check_case(GetParam(), w.vars, w.inputs());
  // A refused training or quickstart run creates nothing.
  EXPECT_FALSE(fs::exists(w.work / "never"));
  EXPECT_FALSE(fs::exists(w.work / "qs_never"));
}

INSTANTIATE_TEST_SUITE_P(Cases, RedteamFlags, ::testing::ValuesIn(flag_cases()),
                         [](const auto& info) {
                           return case_name(std::to_string(info.index) + "_" + info.param.name);
                         });

}  // namespace
}  // namespace wick::redteam
