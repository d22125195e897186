// Outputs never destroy anything: special files, symlinks and folders as --output are refused
// (and left as they were), a full disk leaves the previous file intact, and a command whose
// standard output cannot be written exits non-zero.
#include <sys/stat.h>

#include <fmt/format.h>

#include <functional>

#include "redteam.h"

namespace wick::redteam {
namespace {

// A case whose hostile input is built by `setup` in a fresh scratch folder ({s}); `after` runs
// extra checks once the command has run.
struct OutputCase {
  OutputCase(std::string name_, std::function<void(const fs::path&)> setup_, Case c_,
             std::function<void(const fs::path&)> after_ = nullptr)
      : name(std::move(name_)),
        setup(std::move(setup_)),
        c(std::move(c_)),
        after(std::move(after_)) {}
  std::string name;
  std::function<void(const fs::path& s)> setup;
  Case c;
  std::function<void(const fs::path& s)> after;
};

void many_lines(const fs::path& f, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += fmt::format("line number {} of a longer input text\n", i);
  write_text(f, s);
}

std::vector<OutputCase> output_cases() {
  std::vector<OutputCase> v;
  const std::string emb = "embed --model {bert} --text hello --format ";
  for (const char* fmt : {"jsonl", "tsv", "npy"}) {
    const std::string e = emb + fmt;
    v.push_back({std::string("dev_full_") + fmt,
                 nullptr,
                 {"", e + " --output /dev/full", Expect::error, "not a regular file"},
                 [](const fs::path&) { EXPECT_TRUE(fs::is_character_file("/dev/full")); }});
    v.push_back({std::string("fifo_") + fmt,
                 [](const fs::path& s) { ASSERT_EQ(::mkfifo((s / "fifo").c_str(), 0644), 0); },
                 {"", e + " --output {s}/fifo", Expect::error, "not a regular file"},
                 [](const fs::path& s) { EXPECT_TRUE(fs::is_fifo(s / "fifo")); }});
    v.push_back({std::string("symlink_") + fmt,
                 [](const fs::path& s) {
                   write_text(s / "target", "keep me");
                   fs::create_symlink(s / "target", s / "link");
                 },
                 {"", e + " --output {s}/link", Expect::error, "symbolic link"},
                 [](const fs::path& s) {
                   EXPECT_TRUE(fs::is_symlink(s / "link"));
                   EXPECT_EQ(read_text(s / "target"), "keep me");
                 }});
    v.push_back({std::string("dangling_symlink_") + fmt,
                 [](const fs::path& s) { fs::create_symlink(s / "nowhere", s / "link"); },
                 {"", e + " --output {s}/link", Expect::error, "symbolic link"},
                 [](const fs::path& s) {
                   EXPECT_TRUE(fs::is_symlink(s / "link"));
                   EXPECT_FALSE(fs::exists(s / "nowhere"));
                 }});
    v.push_back({std::string("folder_") + fmt,
                 [](const fs::path& s) { fs::create_directories(s / "d" / "inner"); },
                 {"", e + " --output {s}/d", Expect::error, "is a folder"},
                 [](const fs::path& s) { EXPECT_TRUE(fs::is_directory(s / "d" / "inner")); }});
    v.push_back({std::string("missing_parent_") + fmt,
                 nullptr,
                 {"", e + " --output {s}/no/such/file", Expect::error, "does not exist"},
                 [](const fs::path& s) { EXPECT_FALSE(fs::exists(s / "no")); }});
    v.push_back({std::string("regular_replaced_") + fmt,
                 [](const fs::path& s) { write_text(s / "out", "old"); },
                 {"", e + " --output {s}/out", Expect::ok, ""},
                 [](const fs::path& s) { EXPECT_NE(read_text(s / "out"), "old"); }});
    // A full disk (file-size limit; SIGXFSZ ignored so that write fails with EFBIG): the old
    // file stays and no temporary is left behind.
    v.push_back({std::string("file_size_limit_") + fmt,
                 [](const fs::path& s) {
                   write_text(s / "out", "previous contents");
                   many_lines(s / "in.txt", 200);
                 },
                 {"",
                  std::string("embed --model {bert} --input {s}/in.txt --format ") + fmt +
                      " --output {s}/out",
                  Expect::error, "write failed", "trap '' XFSZ; ulimit -f 2; "},
                 [](const fs::path& s) {
                   EXPECT_EQ(read_text(s / "out"), "previous contents");
                   for (const auto& e : fs::directory_iterator(s))
                     EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos)
                         << e.path();
                 }});
  }
  // Standard output that cannot be written: exit non-zero, say so.
  const std::vector<std::pair<std::string, std::string>> to_full = {
      {"tokenize", "tokenize --tokenizer {llama} --text hello"},
      {"tokenize_decode", "tokenize --tokenizer {llama} --decode --text '5 6 7'"},
      {"embed", "embed --model {bert} --text hello"},
      {"embed_npy", "embed --model {bert} --text hello --format npy"},
      {"generate", "generate --model {llama} --prompt hello --max-tokens 3"},
      {"generate_json", "generate --model {llama} --prompt hello --max-tokens 3 --json"},
      {"info", "info"},
      {"info_model", "info --model {llama}"},
      {"perplexity", "perplexity --model {llama} --file {data} --context 64"},
      {"perplexity_json", "perplexity --model {llama} --file {data} --context 64 --json"},
      {"version", "--version"},
      {"help", "--help"},
      {"search", "search --model {bert} --corpus {s}/corpus.txt --query cat"},
  };
  for (const auto& [name, args] : to_full)
    v.push_back({"stdout_dev_full_" + name,
                 [](const fs::path& s) { write_text(s / "corpus.txt", "a cat\na dog\n"); },
                 {"", args, Expect::error, "standard output", "", "> /dev/full"},
                 nullptr});
  return v;
}

class RedteamOutputs : public ::testing::TestWithParam<OutputCase> {};

TEST_P(RedteamOutputs, NothingDestroyed) {
  const Workspace& w = workspace();
  static int counter = 0;
  const fs::path s = w.root / ("out_" + std::to_string(++counter));
  fs::create_directories(s);
  if (GetParam().setup) GetParam().setup(s);
  if (HasFatalFailure()) return;
  auto vars = w.vars;
  vars["s"] = s.string();
  check_case(GetParam().c, vars, w.inputs());
  if (GetParam().after) GetParam().after(s);
  fs::remove_all(s);
}

INSTANTIATE_TEST_SUITE_P(Cases, RedteamOutputs, ::testing::ValuesIn(output_cases()),
                         [](const auto& info) {
                           return case_name(std::to_string(info.index) + "_" + info.param.name);
                         });

}  // namespace
}  // namespace wick::redteam
