// wick embed / wick search through the command-line binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <sstream>

#include "embed/embed_test_util.h"
#include "testing/testing.h"
#include "wick/embed/embedder.h"

namespace wick::embed {
namespace {

using namespace wick::embed::testing;

struct Result {
  int rc;
  std::string out, err;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q.append("'\\''");
    } else {
      q.push_back(c);
    }
  }
  q.push_back('\'');
  return q;
}

// Runs `wick <args>` with stdout and stderr captured in files of `tmp`.
Result wick(const TempDir& tmp, const std::vector<std::string>& args) {
  std::string cmd = quote(WICK_CLI_PATH);
  for (const auto& a : args) {
    cmd.push_back(' ');
    cmd.append(quote(a));
  }
  const auto out = tmp / "stdout", err = tmp / "stderr";
  cmd.append(" >");
  cmd.append(quote(out.string()));
  cmd.append(" 2>");
  cmd.append(quote(err.string()));
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(out), read_all(err)};
}

const std::string kModel = model_dir("bert_cls_norm").string();

TEST(EmbedCli, JsonlIsExactAndRoundTrips) {
  TempDir tmp;
  const std::vector<std::string> texts = {"Hello world!", "a", ""};
  auto r = wick(tmp, {"embed", "--model", kModel, "--text", texts[0], "--text", texts[1], "--text",
                      texts[2]});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto want = Embedder::load(kModel).encode(texts).to_vector<float>();
  const std::regex line_re(R"(\{"index": (\d+), "embedding": \[([^\]]*)\]\})");
  std::istringstream in(r.out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, line_re)) << line;
    EXPECT_EQ(std::stoi(m[1]), n);
    std::istringstream vals(m[2]);
    std::string v;
    int d = 0;
    while (std::getline(vals, v, ',')) {
      if (d) {
        ASSERT_EQ(v[0], ' ');
      }
      // Shortest round-trip printing: parsing gives back the exact float.
      EXPECT_EQ(std::strtof(v.c_str(), nullptr), want[size_t(n * 32 + d)]) << n << "," << d;
      ++d;
    }
    EXPECT_EQ(d, 32);
    ++n;
  }
  EXPECT_EQ(n, 3);
  EXPECT_EQ(r.out.back(), '\n');
}

TEST(EmbedCli, InputFileTsvAndFlags) {
  TempDir tmp;
  write_text(tmp / "in.txt", "first line\n\nthird line\r\nfourth\n");
  auto r = wick(tmp, {"embed", "--model", kModel, "--input", (tmp / "in.txt").string(), "--format",
                      "tsv", "--pooling", "mean", "--no-normalize", "--batch-tokens", "7"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EmbedOptions o;
  o.pooling = Pooling::mean;
  o.normalize = false;
  o.batch_tokens = 7;  // the same batches as the command (one text each), so bit-identical
  const auto want = Embedder::load(kModel, o)
                        .encode({"first line", "", "third line", "fourth"})
                        .to_vector<float>();
  std::istringstream in(r.out);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    std::istringstream vals(line);
    std::string v;
    size_t d = 0;
    while (std::getline(vals, v, '\t')) {
      EXPECT_EQ(std::strtof(v.c_str(), nullptr), want[n * 32 + d]);
      ++d;
    }
    EXPECT_EQ(d, 32u);
    ++n;
  }
  EXPECT_EQ(n, 4u);
}

TEST(EmbedCli, NpyHeaderIsValid) {
  TempDir tmp;
  const auto out = tmp / "e.npy";
  auto r = wick(tmp, {"embed", "--model", kModel, "--text", "one", "--text", "two", "--text",
                      "three", "--format", "npy", "--output", out.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string b = read_all(out);
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(b.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  const size_t hlen = size_t(uint8_t(b[8])) | size_t(uint8_t(b[9])) << 8;
  const std::string header = b.substr(10, hlen);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.substr(0, header.find_last_not_of(" \n") + 1),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32), }");
  ASSERT_EQ(b.size(), 10 + hlen + 3 * 32 * 4);
  std::vector<float> got(3 * 32);
  std::memcpy(got.data(), b.data() + 10 + hlen, got.size() * 4);
  EXPECT_EQ(got, Embedder::load(kModel).encode({"one", "two", "three"}).to_vector<float>());
}

TEST(EmbedCli, SearchRanksTheDuplicateFirstAndCaches) {
  TempDir tmp;
  const auto corpus = tmp / "corpus.txt";
  write_text(corpus,
             "The cat sat on the mat.\nStock markets fell sharply today.\n\nParis is the capital "
             "of France.\nA recipe for chocolate cake.\n");
  const std::string query = "Paris is the capital of France.";
  auto r = wick(tmp, {"search", "--model", kModel, "--corpus", corpus.string(), "--query", query,
                      "--top-k", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("cache written"), std::string::npos) << r.err;
  std::istringstream in(r.out);
  std::string first, second, extra;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, extra));
  const std::regex row(R"((\d+)\t([-0-9.]+)\t(\d+)\t(.*))");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(first, m, row)) << first;
  EXPECT_EQ(m[1], "1");
  EXPECT_NEAR(std::stod(m[2]), 1.0, 1e-5);
  EXPECT_EQ(m[3], "4");  // line numbers count the blank line
  EXPECT_EQ(m[4], query);
  ASSERT_TRUE(std::regex_match(second, m, row)) << second;
  EXPECT_LT(std::stod(m[2]), 0.9999);
  // Second run: same corpus and model -> the cache is used and the answer is the same.
  auto r2 = wick(tmp, {"search", "--model", kModel, "--corpus", corpus.string(), "--query", query,
                       "--top-k", "2"});
  ASSERT_EQ(r2.rc, 0) << r2.err;
  EXPECT_NE(r2.err.find("using cached"), std::string::npos) << r2.err;
  EXPECT_EQ(r2.out, r.out);
  // Changed corpus -> re-embedded.
  write_text(corpus, "Paris is the capital of France.\nSomething else.\n");
  auto r3 = wick(tmp, {"search", "--model", kModel, "--corpus", corpus.string(), "--query", query});
  ASSERT_EQ(r3.rc, 0) << r3.err;
  EXPECT_NE(r3.err.find("cache written"), std::string::npos) << r3.err;
  EXPECT_EQ(r3.out.substr(0, 2), "1\t");
  // Changed model (another folder) -> re-embedded.
  const auto model2 = tmp / "model2";
  copy_model(kModel, model2);
  auto r4 = wick(
      tmp, {"search", "--model", model2.string(), "--corpus", corpus.string(), "--query", query});
  ASSERT_EQ(r4.rc, 0) << r4.err;
  EXPECT_NE(r4.err.find("cache written"), std::string::npos) << r4.err;
}

TEST(EmbedCli, ErrorsAreOneClearLine) {
  TempDir tmp;
  auto r = wick(tmp, {"embed", "--model", (tmp / "nope").string(), "--text", "x"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  r = wick(tmp, {"embed", "--model", kModel, "--text", "x", "--pooling", "median"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown pooling mode 'median'"), std::string::npos) << r.err;
  r = wick(tmp, {"embed", "--model", kModel, "--input", (tmp / "missing.txt").string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot open input file"), std::string::npos) << r.err;
  r = wick(tmp, {"embed", "--model", kModel});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--text or --input"), std::string::npos) << r.err;
  r = wick(tmp, {"embed", "--model", kModel, "--text", "x", "--format", "csv"});
  EXPECT_NE(r.rc, 0);
  r = wick(tmp,
           {"search", "--model", kModel, "--corpus", (tmp / "none.txt").string(), "--query", "q"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot open corpus file"), std::string::npos) << r.err;
}

// Every float of a jsonl or tsv output, row by row.
std::vector<std::vector<float>> parse_rows(const std::string& out, char sep) {
  std::vector<std::vector<float>> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (sep == ',') {
      const size_t open = line.find('['), close = line.rfind(']');
      if (open == std::string::npos || close == std::string::npos) return {};
      line = line.substr(open + 1, close - open - 1);
    }
    std::istringstream vals(line);
    std::string v;
    rows.emplace_back();
    while (std::getline(vals, v, sep)) rows.back().push_back(std::strtof(v.c_str(), nullptr));
  }
  return rows;
}

TEST(EmbedCli, DecoderFolderEmbedsAndSearches) {
  TempDir tmp;
  const std::string model = model_dir("qwen3").string();
  const std::vector<std::string> texts = {"The quick brown fox", "hi", "jumps over the lazy dog"};
  // jsonl with the defaults (last token, normalised): exactly the library's vectors.
  auto r = wick(
      tmp, {"embed", "--model", model, "--text", texts[0], "--text", texts[1], "--text", texts[2]});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto want = Embedder::load(model).encode(texts).to_vector<float>();
  auto rows = parse_rows(r.out, ',');
  ASSERT_EQ(rows.size(), 3u) << r.out;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 64u);
    for (size_t d = 0; d < 64; ++d) EXPECT_EQ(rows[i][d], want[i * 64 + d]) << i << "," << d;
  }
  // tsv from a file with flags: prefix, mean pooling, no normalisation, one text per batch.
  write_text(tmp / "in.txt", texts[0] + "\n" + texts[1] + "\n");
  r = wick(tmp,
           {"embed", "--model", model, "--input", (tmp / "in.txt").string(), "--format", "tsv",
            "--prefix", "Query: ", "--pooling", "mean", "--no-normalize", "--batch-tokens", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EmbedOptions o;
  o.prefix = "Query: ";
  o.pooling = Pooling::mean;
  o.normalize = false;
  o.batch_tokens = 1;
  const auto want2 = Embedder::load(model, o).encode({texts[0], texts[1]}).to_vector<float>();
  rows = parse_rows(r.out, '\t');
  ASSERT_EQ(rows.size(), 2u) << r.out;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 64u);
    for (size_t d = 0; d < 64; ++d) EXPECT_EQ(rows[i][d], want2[i * 64 + d]) << i << "," << d;
  }
  // npy: shape (3, 64), the same floats as jsonl.
  const auto npy = tmp / "e.npy";
  r = wick(tmp, {"embed", "--model", model, "--text", texts[0], "--text", texts[1], "--text",
                 texts[2], "--format", "npy", "--output", npy.string()});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string b = read_all(npy);
  ASSERT_GE(b.size(), 10u);
  const size_t hlen = size_t(uint8_t(b[8])) | size_t(uint8_t(b[9])) << 8;
  EXPECT_NE(b.substr(10, hlen).find("'shape': (3, 64)"), std::string::npos);
  ASSERT_EQ(b.size(), 10 + hlen + 3 * 64 * 4);
  std::vector<float> got(3 * 64);
  std::memcpy(got.data(), b.data() + 10 + hlen, got.size() * 4);
  EXPECT_EQ(got, want);
  // search: the query's duplicate line ranks first with cosine 1.
  const auto corpus = tmp / "corpus.txt";
  write_text(corpus, "The cat sat on the mat.\nStock markets fell sharply today.\n\n" + texts[2] +
                         "\nA recipe for chocolate cake.\n");
  r = wick(tmp, {"search", "--model", model, "--corpus", corpus.string(), "--query", texts[2],
                 "--top-k", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream in(r.out);
  std::string first;
  ASSERT_TRUE(std::getline(in, first));
  const std::regex row(R"((\d+)\t([-0-9.]+)\t(\d+)\t(.*))");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(first, m, row)) << first;
  EXPECT_EQ(m[1], "1");
  EXPECT_NEAR(std::stod(m[2]), 1.0, 1e-5);
  EXPECT_EQ(m[3], "4");
  EXPECT_EQ(m[4], texts[2]);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

}  // namespace
}  // namespace wick::embed
