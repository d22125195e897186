// Prefill and decode speed of a model folder (driven by scripts/bench-generate.sh):
//   generate_bench --model DIR [--prompt-tokens P] [--decode-tokens N] [--dtype f32|bf16]
// Prefill = one forward over P random ids (logits of the last position on the host); decode =
// N - 1 greedy steps through the KV cache, each ending with its logits on the host (the clock is
// read after the data is there). Prints one JSON line with tokens/s and peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wick/core/random.h"
#include "wick/generate/sampler.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> last_row(const wick::Tensor& logits) {
  return wick::reshape(wick::slice(logits, 1, logits.shape(1) - 1, logits.shape(1)),
                       {logits.shape(-1)})
      .to_vector<float>();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, dtype;
  int64_t P = 128, N = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--prompt-tokens"))
      P = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--decode-tokens"))
      N = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dtype"))
      dtype = argv[i + 1];
  }
  if (dir.empty() || P < 1 || N < 2) {
    std::fprintf(stderr,
                 "usage: generate_bench --model DIR [--prompt-tokens P>0] "
                 "[--decode-tokens N>1] [--dtype f32|bf16]\n");
    return 2;
  }
  try {
    wick::models::LoadOptions o;
    if (dtype == "f32") o.dtype = wick::DType::f32;
    if (dtype == "bf16") o.dtype = wick::DType::bf16;
    auto model = wick::models::load_causal_lm(dir, o);
    const int64_t V = model->config().vocab_size;
    wick::Generator g(1);
    std::vector<int64_t> ids(static_cast<size_t>(P));
    for (auto& x : ids) x = 3 + int64_t(g.next_u64() % uint64_t(V - 3));
    auto cache = model->make_cache(1, P + N);
    auto t0 = Clock::now();
    auto logits = last_row(model->forward(wick::from_vector<int64_t>(ids, {1, P}), &cache,
                                          wick::models::LogitsFor::last));
    auto t1 = Clock::now();
    for (int64_t j = 0; j + 1 < N; ++j) {
      std::vector<int64_t> next = {wick::generate::argmax(logits)};
      logits = last_row(model->forward(wick::from_vector<int64_t>(next, {1, 1}), &cache,
                                       wick::models::LogitsFor::last));
    }
    auto t2 = Clock::now();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double pre = std::chrono::duration<double>(t1 - t0).count();
    const double dec = std::chrono::duration<double>(t2 - t1).count();
    std::printf(
        "{\"impl\": \"wick\", \"dtype\": \"%s\", \"prefill_tok_s\": %.2f, "
        "\"decode_tok_s\": %.2f, \"peak_rss_mb\": %.1f}\n",
        wick::dtype_name(model->compute_dtype()), double(P) / pre, double(N - 1) / dec,
        double(ru.ru_maxrss) / 1024.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "generate_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
