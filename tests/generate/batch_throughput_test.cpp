// Throughput of the batch engine in-process (no HTTP), for the serve benchmarks: run with
// WICK_BENCH_MODEL=DIR wick_generate_tests --gtest_also_run_disabled_tests
// --gtest_filter='*BatchThroughput*'. Prints batch-1 generate(), 1 and 8 engine sequences.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "testing/testing.h"
#include "wick/generate/batch_engine.h"
#include "wick/ops.h"

namespace wick::testing {
namespace {

TEST(BatchEngine, DISABLED_BatchThroughput) {
  const char* dir = std::getenv("WICK_BENCH_MODEL");
  if (!dir) GTEST_SKIP() << "set WICK_BENCH_MODEL";
  auto model = models::load_causal_lm(dir);
  auto tok = Tokenizer::from_file(dir);
  const int64_t N = 32;
  generate::GenerateOptions o;
  o.max_tokens = N;
  o.sampling.temperature = 0;
  auto secs = [](auto t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  {
    // The projections alone: one [M, 1024] x [2816, 1024]^T linear, M = 1 and 8.
    for (DType dt : {DType::f32, DType::bf16}) {
      Tensor w = astype(random_normal({2816, 1024}), dt);
      eval({w});
      for (int64_t m : {1, 8, 32}) {
        Tensor x = astype(random_normal({1, m, 1024}), dt);
        eval({x});
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 20; ++i) linear(x, w).eval();
        std::printf("linear %s M=%lld: %.2f ms\n", dtype_name(dt), (long long)m,
                    secs(t0) * 1000 / 20);
      }
    }
  }
  const auto prompt = tok.encode("the first stream", true);
  auto g = generate::generate(*model, tok, prompt, o);
  std::printf("generate: decode %.1f tok/s\n", g.decode_tokens_per_second());
  for (int rows : {1, 8}) {
    std::vector<std::vector<int32_t>> ps(size_t(rows), prompt);
    for (int i = 0; i < rows; ++i) ps[size_t(i)].push_back(10 + i);
    std::vector<generate::GenerateOptions> os(size_t(rows), o);
    auto t0 = std::chrono::steady_clock::now();
    auto r = generate::generate_batch(*model, tok, ps, os);
    const double s = secs(t0);
    int64_t n = 0;
    for (auto& x : r) n += int64_t(x.tokens.size());
    std::printf(
        "engine %d rows: %lld tokens in %.2f s = %.1f tok/s (decode of row 0: %.1f tok/s)\n", rows,
        (long long)n, s, double(n) / s, r[0].decode_tokens_per_second());
  }
}

}  // namespace
}  // namespace wick::testing
