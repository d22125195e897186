// Linear-layer products at the ~124M Llama's shapes (D 768, FFN 2048, 4 kv heads of 64 -> 256,
// vocabulary 32000; a 311-token prefill, or 8 rows for batched decoding): y[M, N] = x[M, K] w^T
// with w stored [N, K]. f32 through wick's matmul and through cblas_sgemm directly; bf16 and f16
// through wick's matmul at each instruction-set level this CPU has (generic = both operands
// widened to f32 for BLAS, the path before the blocked kernels). Rates are wall-clock GFLOP/s;
// the CPU column is the whole process (every thread), steadier than wall time on a shared host.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "wick/backend/cpu/matmul_lowp.h"
#include "wick/ops.h"

namespace {

using namespace wick;

Tensor rnd(const Shape& s, uint64_t seed, DType dt) {
  Generator g(seed);
  Tensor t = astype(random_normal(s, DType::f32, 0, 1, &g), dt);
  t.eval();
  return t;
}

void set_rate(benchmark::State& st, int64_t M, int64_t N, int64_t K) {
  st.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(M * N * K) * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void BM_SgemmLinear(benchmark::State& st) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  Tensor x = rnd({M, K}, 1, DType::f32), w = rnd({N, K}, 2, DType::f32);
  std::vector<float> c(size_t(M * N));
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f,
                x.data<float>(), int(K), w.data<float>(), int(K), 0.0f, c.data(), int(N));
    benchmark::DoNotOptimize(c.data());
  }
  set_rate(st, M, N, K);
}

// range(3): dtype (0 f32, 1 bf16, 2 f16); range(4): CpuIsa level.
void BM_WickLinear(benchmark::State& st) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  const DType dt = st.range(3) == 0 ? DType::f32 : st.range(3) == 1 ? DType::bf16 : DType::f16;
  const auto isa = cpu::CpuIsa(st.range(4));
  if (cpu::cpu_isa_supported() < isa) {
    st.SkipWithError("this CPU lacks the level");
    for (auto _ : st) {
    }
    return;
  }
  cpu::force_cpu_isa(isa);
  st.SetLabel(std::string(dtype_name(dt)) + " " + cpu::cpu_isa_name(isa));
  Tensor x = rnd({M, K}, 1, dt), w = rnd({N, K}, 2, dt);
  for (auto _ : st) matmul(x, mT(w)).eval();
  cpu::force_cpu_isa(std::nullopt);
  set_rate(st, M, N, K);
}

const std::vector<std::vector<int64_t>> kShapes = {
    {311, 768, 768},
    {311, 768, 256},
    {311, 768, 2048},
    {311, 2048, 768},
    {311, 768, 32000},
    {8, 768, 768},
    {8, 768, 2048},
    {8, 2048, 768},
    {1, 768, 2048},
    // Rows at which the tiles and the widened sgemm cross over:
    {16, 768, 2048},
    {32, 768, 2048},
    {64, 768, 2048},
    {128, 768, 2048}};

void shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kShapes) b->Args({s[0], s[1], s[2]});
}
void wick_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : kShapes) {
    b->Args({s[0], s[1], s[2], 0, 0});
    for (int64_t dt : {1, 2})
      for (int64_t isa : {0, 1, 2}) b->Args({s[0], s[1], s[2], dt, isa});
  }
}

BENCHMARK(BM_SgemmLinear)
    ->Apply(shapes)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(BM_WickLinear)
    ->Apply(wick_shapes)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
