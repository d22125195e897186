// wick search: embeds a corpus (one text per line, cached beside it) and prints the lines closest
// to a query by cosine similarity.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "wick/core/errors.h"
#include "wick/embed/embedder.h"
#include "wick/io/safetensors.h"

namespace wick::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kCacheKey = "wick_embcache_key";
constexpr const char* kPayloadKey = "wick_embcache_payload";

struct SearchArgs {
  std::string model;
  std::string corpus;
  std::string query;
  int64_t top_k = 5;
};

// 64-bit FNV-1a: a cheap content fingerprint for cache invalidation, not security.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    add_sep();
  }
  void add_sep() {
    h ^= 0xff;
    h *= 1099511628211ull;
  }
};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    fail<IoError>("search",
                  "--corpus '{}' is a folder; expected a text file with one document "
                  "per line",
                  path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail<IoError>("search", "cannot open corpus file '{}'", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Model identity: relative path, size and modification time of every file under the folder.
void hash_model(const fs::path& dir, Fnv& h) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    h.add(fs::relative(f, dir).string());
    h.add(std::to_string(fs::file_size(f)));
    h.add(std::to_string(fs::last_write_time(f).time_since_epoch().count()));
  }
}

// Checksum of the cached vectors themselves, so that flipped bytes in the payload are noticed.
std::string payload_checksum(const Tensor& t) {
  const auto v = t.to_vector<float>();
  Fnv h;
  h.add(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return fmt::format("{:016x}", h.h);
}

bool all_finite(const Tensor& t) {
  for (float x : t.to_vector<float>())
    if (!std::isfinite(x)) return false;
  return true;
}

void run_search(const SearchArgs& a) {
  if (a.top_k < 1) fail<ValueError>("search", "--top-k must be positive, got {}", a.top_k);
  const std::string contents = read_file(a.corpus);
  // Non-empty lines are the documents; keep their 1-based line numbers.
  std::vector<std::string> docs;
  std::vector<int64_t> line_no;
  {
    std::istringstream in(contents);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      docs.push_back(line);
      line_no.push_back(n);
    }
  }
  if (docs.empty())
    fail<ValueError>("search", "--corpus '{}' has no non-empty lines to search", a.corpus);
  const fs::path cache_path = a.corpus + ".wick-embcache";
  {
    std::error_code ec;
    const auto st = fs::symlink_status(cache_path, ec);
    if (!ec && fs::exists(st) && !fs::is_regular_file(st))
      fail<IoError>("search",
                    "cache '{}' exists and is not a regular file; remove it or move "
                    "the corpus",
                    cache_path.string());
  }
  embed::EmbedOptions eo;
  eo.device = selected_device();
  const auto embedder = embed::Embedder::load(a.model, eo);
  Fnv h;
  h.add("wick-embcache-1");
  h.add(contents);
  h.add(embedder.settings_string());
  hash_model(a.model, h);
  const std::string key = fmt::format("{:016x}", h.h);
  const fs::path& cache = cache_path;

  Tensor corpus_vecs;
  if (fs::exists(cache)) {
    try {
      auto f = io::SafeTensorsFile::open(cache);
      auto it = f.metadata().find(kCacheKey);
      auto pk = f.metadata().find(kPayloadKey);
      if (it != f.metadata().end() && it->second == key && pk != f.metadata().end() &&
          f.contains("embeddings") &&
          f.info("embeddings").shape == Shape{int64_t(docs.size()), embedder.dim()}) {
        Tensor t = f.tensor("embeddings", DType::f32);
        if (payload_checksum(t) == pk->second && all_finite(t)) corpus_vecs = t;
      }
    } catch (const IoError&) {
      // A damaged cache is rebuilt below.
    }
  }
  if (corpus_vecs.valid()) {
    std::fprintf(stderr, "wick: using cached embeddings %s\n", cache.string().c_str());
  } else {
    corpus_vecs = embedder.encode(docs);
    if (!all_finite(corpus_vecs))
      fail<ValueError>("search",
                       "the model produced non-finite (NaN or Inf) embeddings for "
                       "'{}'; check the weights of '{}'",
                       a.corpus, a.model);
    io::write_safetensors(cache, {{"embeddings", corpus_vecs}},
                          {{kCacheKey, key}, {kPayloadKey, payload_checksum(corpus_vecs)}});
    std::fprintf(stderr, "wick: embedded %zu texts, cache written to %s\n", docs.size(),
                 cache.string().c_str());
  }
  const auto q = embedder.encode({a.query}).to_vector<float>();
  for (float x : q)
    if (!std::isfinite(x))
      fail<ValueError>("search",
                       "the model produced a non-finite (NaN or Inf) embedding for the "
                       "query; check the weights of '{}'",
                       a.model);
  const auto c = corpus_vecs.to_vector<float>();
  const int64_t d = embedder.dim(), n = int64_t(docs.size());
  double qn = 0;
  for (float x : q) qn += double(x) * x;
  std::vector<double> score(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0, cn = 0;
    for (int64_t j = 0; j < d; ++j) {
      dot += double(q[size_t(j)]) * c[size_t(i * d + j)];
      cn += double(c[size_t(i * d + j)]) * c[size_t(i * d + j)];
    }
    score[size_t(i)] = dot / std::max(std::sqrt(qn) * std::sqrt(cn), 1e-12);
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return score[size_t(x)] > score[size_t(y)]; });
  std::string out;
  for (int64_t r = 0; r < std::min(a.top_k, n); ++r) {
    const int64_t i = order[size_t(r)];
    out += fmt::format("{}\t{:.6f}\t{}\t{}\n", r + 1, score[size_t(i)], line_no[size_t(i)],
                       docs[size_t(i)]);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void register_search(CLI::App& app) {
  auto args = std::make_shared<SearchArgs>();
  auto* sub = app.add_subcommand(
      "search",
      "Rank the lines of a corpus by cosine similarity to a query (prints rank, score, "
      "line number and text)");
  sub->add_option("--model", args->model, "Embedding model folder")->required();
  sub->add_option("--corpus", args->corpus,
                  "File with one document per line (embeddings cached in FILE.wick-embcache)")
      ->required();
  sub->add_option("--query", args->query, "Query text")->required();
  sub->add_option("--top-k", args->top_k, "Number of matches to print (default 5)");
  add_runner(sub, [args] { run_search(*args); });
}

}  // namespace wick::cli
