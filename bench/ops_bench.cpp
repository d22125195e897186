// Op benchmarks at model sizes (Qwen2.5-0.5B: D 896, 14 heads of 64, 2 kv heads, V 151936):
// matmul against raw cblas_sgemm, softmax / rms_norm / cross_entropy against memcpy of the same
// bytes, causal GQA attention, and a LoRA linear forward+backward in lazy and eager mode.
// Every timed iteration evaluates its result, so no work is left pending at the clock read.
// Times and rates are wall-clock (UseRealTime): the kernels run on several threads.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstring>
#include <memory>
#include <vector>

#include "wick/ops.h"

namespace {

using namespace wick;

Tensor rnd(const Shape& s, uint64_t seed) {
  Generator g(seed);
  Tensor t = random_normal(s, DType::f32, 0, 1, &g);
  t.eval();
  return t;
}

void BM_Matmul(benchmark::State& st) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  Tensor a = rnd({M, K}, 1), b = rnd({K, N}, 2);
  for (auto _ : st) matmul(a, b).eval();
  st.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(M * N * K) * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Matmul)
    ->Args({512, 896, 896})
    ->Args({2048, 2048, 2048})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// "BLAS peak": the same product through cblas_sgemm directly, no wick in between.
void BM_BlasSgemm(benchmark::State& st) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  Tensor a = rnd({M, K}, 1), b = rnd({K, N}, 2);
  std::vector<float> c(size_t(M * N));
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), 1.0f,
                a.data<float>(), int(K), b.data<float>(), int(N), 0.0f, c.data(), int(N));
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(M * N * K) * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BlasSgemm)
    ->Args({512, 896, 896})
    ->Args({2048, 2048, 2048})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void set_bytes(benchmark::State& st, int64_t bytes_per_iter) {
  st.SetBytesProcessed(int64_t(st.iterations()) * bytes_per_iter);
}

// Reference: copy the same number of bytes the row ops read + write (into a fresh buffer too).
void BM_Memcpy(benchmark::State& st) {
  const int64_t n = st.range(0) * st.range(1);
  std::vector<float> src(size_t(n), 1.0f);
  for (auto _ : st) {
    std::unique_ptr<float[]> dst(new float[size_t(n)]);  // uninitialised, like a tensor buffer
    std::memcpy(dst.get(), src.data(), size_t(n) * 4);
    benchmark::DoNotOptimize(dst.get());
  }
  set_bytes(st, 2 * n * 4);
}
BENCHMARK(BM_Memcpy)
    ->Args({4096, 896})
    ->Args({512, 151936})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Softmax(benchmark::State& st) {
  Tensor x = rnd({st.range(0), st.range(1)}, 3);
  for (auto _ : st) softmax(x, -1).eval();
  set_bytes(st, 2 * x.numel() * 4);
}
BENCHMARK(BM_Softmax)
    ->Args({4096, 896})
    ->Args({512, 151936})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_RmsNorm(benchmark::State& st) {
  Tensor x = rnd({st.range(0), st.range(1)}, 4), w = rnd({st.range(1)}, 5);
  for (auto _ : st) rms_norm(x, w, 1e-6).eval();
  set_bytes(st, 2 * x.numel() * 4);
}
BENCHMARK(BM_RmsNorm)
    ->Args({4096, 896})
    ->Args({512, 151936})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Fused loss forward + the [N, V] gradient: reads logits twice, writes the gradient once.
void BM_CrossEntropyFwdBwd(benchmark::State& st) {
  const int64_t N = st.range(0), V = st.range(1);
  Tensor x = rnd({N, V}, 6);
  std::vector<int64_t> t(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) t[size_t(i)] = (i * 7919) % V;
  Tensor tg = from_vector(t, {N});
  for (auto _ : st) {
    auto [loss, g] =
        value_and_grad([&](const std::vector<Tensor>& p) { return cross_entropy(p[0], tg); }, {x});
    eval({loss, g[0]});
  }
  set_bytes(st, 3 * N * V * 4);
}
BENCHMARK(BM_CrossEntropyFwdBwd)->Args({512, 151936})->Unit(benchmark::kMillisecond)->UseRealTime();

// The chunked linear + cross-entropy of training at Qwen2.5-0.5B's head (D 896, V 151,936):
// loss and d(hidden), the weight frozen as in LoRA. Two [N, V] x D products forward (logits) and
// two backward (recomputed logits, then P W).
void BM_LinearCrossEntropyFwdBwd(benchmark::State& st) {
  const int64_t N = st.range(0), D = 896, V = 151936;
  Tensor h = rnd({N, D}, 10), w = rnd({V, D}, 11) * 0.03;
  w.eval();
  std::vector<int64_t> t(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) t[size_t(i)] = (i * 7919) % V;
  Tensor tg = from_vector(t, {N});
  for (auto _ : st) {
    auto [loss, g] = value_and_grad(
        [&](const std::vector<Tensor>& p) { return linear_cross_entropy(p[0], w, tg); }, {h});
    eval({loss, g[0]});
  }
  st.counters["GFLOP/s"] = benchmark::Counter(
      6.0 * double(N * D * V) * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LinearCrossEntropyFwdBwd)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AttentionCausal(benchmark::State& st) {
  const int64_t B = 1, H = 14, Hkv = 2, T = 512, Dh = 64;
  Tensor q = rnd({B, H, T, Dh}, 7), k = rnd({B, Hkv, T, Dh}, 8), v = rnd({B, Hkv, T, Dh}, 9);
  for (auto _ : st) scaled_dot_product_attention(q, k, v, std::nullopt, Causal::yes).eval();
  // Two [T, S] x Dh products per head (the causal half is computed and masked).
  st.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * double(B * H * T * T * Dh) * double(st.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AttentionCausal)->Unit(benchmark::kMillisecond)->UseRealTime();

// y = x W^T + s (x A^T) B^T with x [8, 512, 896], W [896, 896] frozen, rank 16; the loss is
// sum(y * c) and the gradients are for A and B. range(0): 0 = lazy, 1 = eager.
void BM_LoraLinearFwdBwd(benchmark::State& st) {
  const bool eager_mode = st.range(0) == 1;
  const int64_t D = 896, R = 16;
  Tensor x = rnd({8, 512, D}, 10), w = rnd({D, D}, 11), c = rnd({8, 512, D}, 12);
  Tensor a = rnd({R, D}, 13), b = rnd({D, R}, 14);
  set_eager(eager_mode);
  for (auto _ : st) {
    auto [loss, g] = value_and_grad(
        [&](const std::vector<Tensor>& p) {
          Tensor y = linear(x, w) + linear(linear(x, p[0]), p[1]) * 2.0;
          return sum(y * c);
        },
        {a, b});
    eval({loss, g[0], g[1]});
  }
  set_eager(false);
  st.SetLabel(eager_mode ? "eager" : "lazy");
  // Forward 2*T*D*D + 4*T*D*R; backward for A and B ~ 6*T*D*R (x W^T needs no gradient).
  const double tokens = 8 * 512;
  st.counters["GFLOP/s"] = benchmark::Counter(
      (2.0 * tokens * D * D + 10.0 * tokens * D * R) * double(st.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LoraLinearFwdBwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
