// bf16/f16 products c[M, N] = a[M, K] . w[N, K]^T: every output is a dot product of two rows that
// are contiguous along K, so neither operand is packed. Register tiles of MR rows x NR outputs
// accumulate in f32 vectors; a block of rows (sized for L2) is swept across each group of NR weight
// rows (held in L1); threads split N. Two kernels, chosen at run time:
//  - avx512 (bf16 only): vdpbf16ps on the stored bf16 values of both operands, 32 per step.
//  - avx2 (bf16, and f16 at every level): activations widened to f32 once per call, weights
//    widened in registers (bf16 by a shift, f16 by F16C), f32 FMA, 8 per step. From 96 rows
//    (weights up to 4M values) both operands are widened once and BLAS's sgemm does the product.
// Functions carry target attributes, so the library runs on CPUs without these extensions.
#include "wick/backend/cpu/matmul_lowp.h"

#include <cblas.h>
#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "wick/backend/cpu/cpu_utils.h"

#define WICK_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define WICK_TARGET_AVX512 __attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl,fma,f16c")))

namespace wick::cpu {

namespace {

std::optional<CpuIsa> g_forced_isa;

CpuIsa parse_isa_env() {
  const char* e = std::getenv("WICK_CPU_ISA");
  if (!e || !*e) return cpu_isa_supported();
  for (CpuIsa isa : {CpuIsa::generic, CpuIsa::avx2, CpuIsa::avx512}) {
    if (std::strcmp(e, cpu_isa_name(isa)) != 0) continue;
    if (isa > cpu_isa_supported())
      fail<ValueError>("WICK_CPU_ISA", "{} is not supported by this CPU (best: {})", e,
                       cpu_isa_name(cpu_isa_supported()));
    return isa;
  }
  fail<ValueError>("WICK_CPU_ISA", "expected generic, avx2 or avx512, got '{}'", e);
}

// ---- AVX2 / F16C: f32 activations, 16-bit weights widened in registers ----

WICK_TARGET_AVX2 inline __m256 lowp_widen8(const bf16* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
WICK_TARGET_AVX2 inline __m256 lowp_widen8(const f16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
WICK_TARGET_AVX2 inline float lowp_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <class T>
struct LowpAvx2 {
  using A = float;  // activation element type the tiles read
  static constexpr int mr = 4, nr = 3;

  template <int MR, int NR>
  WICK_TARGET_AVX2 static void tile(const float* a, int64_t lda, const T* w, int64_t ldw, int64_t K,
                                    T* c, int64_t ldc) {
    __m256 acc[MR][NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
    const int64_t K8 = K & ~int64_t(7);
    for (int64_t k = 0; k < K8; k += 8) {
      __m256 wv[NR];
      for (int j = 0; j < NR; ++j) wv[j] = lowp_widen8(w + j * ldw + k);
      for (int i = 0; i < MR; ++i) {
        const __m256 av = _mm256_loadu_ps(a + i * lda + k);
        for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(av, wv[j], acc[i][j]);
      }
    }
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) {
        float s = lowp_hsum8(acc[i][j]);
        for (int64_t k = K8; k < K; ++k) s += a[i * lda + k] * Compute<T>::load(w[j * ldw + k]);
        c[i * ldc + j] = Compute<T>::store(s);
      }
  }
};

// Rows r0..r1 of a (unit column stride) into f32 rows of length K.
WICK_TARGET_AVX2 void lowp_rows_to_f32(const bf16* a, int64_t lda, int64_t r0, int64_t r1,
                                       int64_t K, float* out) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t k = 0; k < K; ++k) out[r * K + k] = to_float(a[r * lda + k]);
}
WICK_TARGET_AVX2 void lowp_rows_to_f32(const f16* a, int64_t lda, int64_t r0, int64_t r1, int64_t K,
                                       float* out) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) _mm256_storeu_ps(out + r * K + k, lowp_widen8(a + r * lda + k));
    for (; k < K; ++k) out[r * K + k] = to_float(a[r * lda + k]);
  }
}

// ---- AVX-512 BF16: dot products of bf16 pairs, f32 sums ----

// (Through memory: GCC 12 warns falsely inside _mm512_reduce_add_ps.)
WICK_TARGET_AVX512 inline float lowp_hsum16(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  return lowp_hsum8(_mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8)));
}

struct LowpBf16Avx512 {
  using A = bf16;
  static constexpr int mr = 4, nr = 4;

  template <int MR, int NR>
  WICK_TARGET_AVX512 static void tile(const bf16* a, int64_t lda, const bf16* w, int64_t ldw,
                                      int64_t K, bf16* c, int64_t ldc) {
    __m512 acc[MR][NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 32) {
      // The last step loads only the K - k values left (masked lanes read as zero).
      const __mmask32 m = K - k >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << (K - k)) - 1u);
      __m512bh wv[NR];
      for (int j = 0; j < NR; ++j) wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + j * ldw + k);
      for (int i = 0; i < MR; ++i) {
        const __m512bh av = (__m512bh)_mm512_maskz_loadu_epi16(m, a + i * lda + k);
        for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, wv[j]);
      }
    }
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = to_bf16(lowp_hsum16(acc[i][j]));
  }
};

// ---- Blocking and threads, shared by the kernels ----

template <class Kern, size_t... I>
constexpr auto lowp_tile_table(std::index_sequence<I...>) {
  using Fn = decltype(&Kern::template tile<1, 1>);
  return std::array<Fn, sizeof...(I)>{
      &Kern::template tile<int(I) / Kern::nr + 1, int(I) % Kern::nr + 1>...};
}

// Rows of a kept in L2 while NR weight rows at a time sweep across them.
constexpr int64_t kLowpRowBlockBytes = 192 << 10;

template <class Kern, class T>
void lowp_blocked(const typename Kern::A* a, int64_t lda, const T* w, int64_t ldw, T* c,
                  int64_t ldc, int64_t M, int64_t N, int64_t K) {
  static constexpr auto table =
      lowp_tile_table<Kern>(std::make_index_sequence<size_t(Kern::mr * Kern::nr)>());
  constexpr int MR = Kern::mr, NR = Kern::nr;
  const int64_t mc =
      std::max<int64_t>(MR, kLowpRowBlockBytes / int64_t(K * sizeof(typename Kern::A)) / MR * MR);
  const int64_t blocks = (N + NR - 1) / NR;
  // About 2^18 multiply-adds per task at least.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / std::max<int64_t>(M * K * NR, 1));
  parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t n0 = b0 * NR, n1 = std::min(N, b1 * NR);
    for (int64_t m0 = 0; m0 < M; m0 += mc) {
      const int64_t m1 = std::min(M, m0 + mc);
      for (int64_t n = n0; n < n1; n += NR) {
        const int nr = int(std::min<int64_t>(NR, n1 - n));
        for (int64_t m = m0; m < m1; m += MR) {
          const int mr = int(std::min<int64_t>(MR, m1 - m));
          table[size_t((mr - 1) * NR + (nr - 1))](a + m * lda, lda, w + n * ldw, ldw, K,
                                                  c + m * ldc + n, ldc);
        }
      }
    }
  });
}

// At the avx2 level, many rows take the widened path instead: both operands widened to f32
// (vectorised, once per call) and BLAS's packed sgemm, whose outer-product kernel outruns the
// dot-product tiles (horizontal sums, one operand streamed from L2) once the weight widening
// (N*K floats written per call) is spread over enough rows and stays in L3 (up to 4M values, 16
// MiB; a 32000 x 768 output layer widened to 98 MiB goes through memory and loses to the tiles).
// Measured on Zen 3 at the ~124M Llama's shapes (docs/performance.md, "CPU matrix products").
bool lowp_prefers_sgemm(int64_t M, int64_t N, int64_t K) {
  return M >= 96 && N * K <= (int64_t(1) << 22);
}

template <class T>
void lowp_widened_sgemm(const float* af, const T* w, int64_t ldw, T* c, int64_t M, int64_t N,
                        int64_t K) {
  std::vector<float> wf(size_t(N * K)), cf(size_t(M * N));
  parallel_for(N, std::max<int64_t>(1, kGrain / K),
               [&](int64_t r0, int64_t r1) { lowp_rows_to_f32(w, ldw, r0, r1, K, wf.data()); });
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f, af, int(K),
              wf.data(), int(K), 0.0f, cf.data(), int(N));
  parallel_for(M * N, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) c[i] = Compute<T>::store(cf[size_t(i)]);
  });
}

// One [M, K] . [N, K]^T product; a and w have unit stride along K.
template <class T>
void lowp_gemm_nk(CpuIsa isa, const T* a, int64_t lda, const T* w, int64_t ldw, T* c, int64_t M,
                  int64_t N, int64_t K) {
  if constexpr (std::is_same_v<T, bf16>) {
    if (isa == CpuIsa::avx512) return lowp_blocked<LowpBf16Avx512>(a, lda, w, ldw, c, N, M, N, K);
  }
  std::vector<float> af(size_t(M * K));
  parallel_for(M, std::max<int64_t>(1, kGrain / K),
               [&](int64_t r0, int64_t r1) { lowp_rows_to_f32(a, lda, r0, r1, K, af.data()); });
  if (lowp_prefers_sgemm(M, N, K)) return lowp_widened_sgemm(af.data(), w, ldw, c, M, N, K);
  lowp_blocked<LowpAvx2<T>>(af.data(), K, w, ldw, c, N, M, N, K);
}

template <class T>
bool lowp_matmul_typed(const Tensor& a, const Tensor& b, const Tensor& out) {
  const CpuIsa isa = cpu_isa();
  const int nd = out.ndim();
  const int64_t M = out.shape()[size_t(nd - 2)], N = out.shape()[size_t(nd - 1)];
  const int64_t K = a.shape()[size_t(nd - 1)];
  if (isa == CpuIsa::generic || K == 0) return false;
  out.alloc_contiguous();
  if (M == 0 || N == 0) return true;
  const Strides &as = a.strides(), &bs = b.strides();
  // Unit stride along K is needed for both; K == 1 has it trivially.
  const bool a_unit = as[size_t(nd - 1)] == 1 || K == 1;
  const bool b_unit = bs[size_t(nd - 2)] == 1 || K == 1;
  const int64_t lda = a_unit ? (M == 1 ? K : as[size_t(nd - 2)]) : K;
  const int64_t ldw = b_unit ? (N == 1 ? K : bs[size_t(nd - 1)]) : K;
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  const int64_t nb = numel_of(batch);
  // A weight shared by the batch and a's rows stacked evenly: one product of nb*M rows.
  bool b_shared = true, a_stacked = a_unit;
  int64_t expect = M * lda;
  for (int d = nd - 3; d >= 0; --d) {
    b_shared &= bs[size_t(d)] == 0 || b.shape()[size_t(d)] == 1;
    a_stacked &= a.shape()[size_t(d)] == 1 || as[size_t(d)] == expect;
    expect *= a.shape()[size_t(d)];
  }
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  T* cp = out.data<T>();
  if (nb > 1 && b_shared && a_stacked && b_unit) {
    lowp_gemm_nk<T>(isa, ap, lda, bp, ldw, cp, nb * M, N, K);
    return true;
  }
  std::vector<T> a_copy(a_unit ? 0 : size_t(M * K)), b_copy(b_unit ? 0 : size_t(N * K));
  int64_t b_copied = -1;  // offset of the b matrix now in b_copy
  for (int64_t i = 0; i < nb; ++i) {
    int64_t oa = 0, ob = 0, r = i;
    for (int d = int(batch.size()) - 1; d >= 0; --d) {
      const int64_t k = r % batch[size_t(d)];
      r /= batch[size_t(d)];
      oa += k * as[size_t(d)];
      ob += k * bs[size_t(d)];
    }
    const T* ai = ap + oa;
    const T* bi = bp + ob;
    if (!a_unit) {
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k)
          a_copy[size_t(m * K + k)] = ai[m * as[size_t(nd - 2)] + k * as[size_t(nd - 1)]];
      ai = a_copy.data();
    }
    if (!b_unit) {
      if (ob != b_copied) {
        const int64_t sk = bs[size_t(nd - 2)], sn = bs[size_t(nd - 1)];
        parallel_for(N, std::max<int64_t>(1, kGrain / K), [&](int64_t n0, int64_t n1) {
          for (int64_t n = n0; n < n1; ++n)
            for (int64_t k = 0; k < K; ++k) b_copy[size_t(n * K + k)] = bi[k * sk + n * sn];
        });
        b_copied = ob;
      }
      bi = b_copy.data();
    }
    lowp_gemm_nk<T>(isa, ai, lda, bi, ldw, cp + i * M * N, M, N, K);
  }
  return true;
}

}  // namespace

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx2:
      return "avx2";
    case CpuIsa::avx512:
      return "avx512";
    default:
      return "generic";
  }
}

// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports does not know "f16c".
static bool lowp_cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

CpuIsa cpu_isa_supported() {
  static const CpuIsa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16"))
      return CpuIsa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && lowp_cpu_has_f16c())
      return CpuIsa::avx2;
    return CpuIsa::generic;
  }();
  return best;
}

CpuIsa cpu_isa() {
  if (g_forced_isa) return *g_forced_isa;
  static const CpuIsa from_env = parse_isa_env();
  return from_env;
}

void force_cpu_isa(std::optional<CpuIsa> isa) {
  if (isa && *isa > cpu_isa_supported())
    fail<ValueError>("force_cpu_isa", "{} is not supported by this CPU (best: {})",
                     cpu_isa_name(*isa), cpu_isa_name(cpu_isa_supported()));
  g_forced_isa = isa;
}

bool lowp_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (out.dtype() == DType::bf16) return lowp_matmul_typed<bf16>(a, b, out);
  if (out.dtype() == DType::f16) return lowp_matmul_typed<f16>(a, b, out);
  return false;
}

}  // namespace wick::cpu
