// Sentence-embedding speed of Embedder::encode (tokenisation, batching, BERT forward, pooling,
// normalisation) on a model folder named by WICK_EMBED_BENCH_MODEL (scripts/bench-embed.sh makes
// a random MiniLM-L6-shaped one). Cases: 100 texts of exactly 128 tokens (throughput) and one
// text of 16 tokens (latency). With WICK_EMBED_BENCH_DUMP=FILE it also writes the token ids and
// vectors of a few texts as JSON, for the PyTorch parity check.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "wick/embed/embedder.h"

namespace {

using wick::embed::Embedder;

const char* model_dir() {
  const char* d = std::getenv("WICK_EMBED_BENCH_MODEL");
  if (!d) {
    std::fprintf(stderr, "set WICK_EMBED_BENCH_MODEL to a model folder\n");
    std::exit(2);
  }
  return d;
}

// A text of `words` distinct ordinary words (each one WordPiece token in the BERT vocab).
std::string text_of(int words, int seed) {
  static const char* kWords[] = {"the",   "cat",   "sat",   "on",    "a",     "mat",  "and",
                                 "dog",   "ran",   "to",    "house", "with",  "red",  "blue",
                                 "green", "small", "big",   "city",  "river", "tree", "book",
                                 "music", "light", "water", "road",  "night", "day",  "sun"};
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i) s += ' ';
    s += kWords[(i * 7 + seed * 3) % 28];
  }
  return s;
}

Embedder load(int64_t max_length) {
  wick::embed::EmbedOptions o;
  o.max_length = max_length;
  // The default budget unless WICK_EMBED_BENCH_BATCH_TOKENS overrides it (for tuning).
  if (const char* b = std::getenv("WICK_EMBED_BENCH_BATCH_TOKENS")) o.batch_tokens = std::atoll(b);
  return Embedder::load(model_dir(), o);
}

void check_lengths(const Embedder& e, const std::vector<std::string>& texts, size_t want,
                   benchmark::State& state) {
  for (const auto& ids : e.token_ids(texts))
    if (ids.size() != want)
      state.SkipWithError(fmt::format("a text has {} tokens, want {}", ids.size(), want).c_str());
}

void BM_EmbedBatch100x128(benchmark::State& state) {
  const Embedder e = load(128);
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i) texts.push_back(text_of(140, i));  // truncated to 128 tokens
  check_lengths(e, texts, 128, state);
  for (auto _ : state) benchmark::DoNotOptimize(e.encode(texts));
  state.SetItemsProcessed(int64_t(state.iterations()) * 100);
}

void BM_EmbedSingle16(benchmark::State& state) {
  const Embedder e = load(128);
  const std::vector<std::string> texts = {text_of(14, 1)};
  check_lengths(e, texts, 16, state);
  for (auto _ : state) benchmark::DoNotOptimize(e.encode(texts));
  state.SetItemsProcessed(int64_t(state.iterations()));
}

BENCHMARK(BM_EmbedBatch100x128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->MinTime(3.0);
BENCHMARK(BM_EmbedSingle16)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->MinTime(2.0);

void dump(const char* path) {
  const Embedder e = load(128);
  const std::vector<std::string> texts = {text_of(140, 0), text_of(14, 1), text_of(40, 2)};
  const auto ids = e.token_ids(texts);
  const auto v = e.encode(texts).to_vector<float>();
  std::ofstream f(path);
  f << "{\"ids\": [";
  for (size_t i = 0; i < ids.size(); ++i)
    f << (i ? ", " : "") << fmt::format("[{}]", fmt::join(ids[i], ", "));
  f << "], \"embeddings\": [";
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> row(v.begin() + long(i * size_t(e.dim())),
                           v.begin() + long((i + 1) * size_t(e.dim())));
    f << (i ? ", " : "") << fmt::format("[{}]", fmt::join(row, ", "));
  }
  f << "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* d = std::getenv("WICK_EMBED_BENCH_DUMP")) dump(d);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
