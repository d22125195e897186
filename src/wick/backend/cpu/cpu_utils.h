#pragma once
// Helpers shared by the CPU kernels: dtype dispatch and parallel strided iteration.
#include <omp.h>

#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "wick/core/dtype_dispatch.h"
#include "wick/core/errors.h"
#include "wick/core/tensor.h"

namespace wick::cpu {

using wick::dispatch_all;
using wick::dispatch_float;
using wick::saturate_cast;

/// Minimum elements per parallel task.
inline constexpr int64_t kGrain = 1 << 14;

/// Runs body(begin, end) over [0, n) in parallel chunks (serial when n is small).
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& body) {
  if (n <= grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(omp_get_max_threads()) * 4);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) body(b, e);
  }
}

/// Iterates over `shape` for N operands with the given strides, calling
/// f(offsets, len, inner_strides) for each contiguous-in-index run along the (collapsed) last axis.
/// Axes that are contiguous for every operand are merged first, so row-major operands become a
/// single run that is split into parallel chunks.
template <size_t N, class F>
void strided_runs(const Shape& shape, const std::array<Strides, N>& strides, F&& f) {
  // Collapse axes.
  Shape sh;
  std::array<Strides, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sh.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      sh.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
    } else {
      sh.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  if (sh.empty()) {
    sh.push_back(1);
    for (size_t k = 0; k < N; ++k) st[k].push_back(0);
  }
  const int nd = int(sh.size());
  const int64_t inner = sh.back();
  std::array<int64_t, N> inner_st;
  for (size_t k = 0; k < N; ++k) inner_st[k] = st[k].back();
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; ++d) rows *= sh[d];
  if (rows == 1) {
    parallel_for(inner, kGrain, [&](int64_t b, int64_t e) {
      std::array<int64_t, N> off;
      for (size_t k = 0; k < N; ++k) off[k] = b * inner_st[k];
      f(off, e - b, inner_st);
    });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t rb, int64_t re) {
                 std::vector<int64_t> idx(size_t(std::max(nd - 1, 1)), 0);
                 std::array<int64_t, N> off{};
                 int64_t r = rb;
                 for (int d = nd - 2; d >= 0; --d) {
                   idx[d] = r % sh[d];
                   r /= sh[d];
                   for (size_t k = 0; k < N; ++k) off[k] += idx[d] * st[k][d];
                 }
                 for (int64_t row = rb; row < re; ++row) {
                   f(off, inner, inner_st);
                   for (int d = nd - 2; d >= 0; --d) {
                     if (++idx[d] < sh[d]) {
                       for (size_t k = 0; k < N; ++k) off[k] += st[k][d];
                       break;
                     }
                     for (size_t k = 0; k < N; ++k) off[k] -= st[k][d] * (sh[d] - 1);
                     idx[d] = 0;
                   }
                 }
               });
}

/// Typed pointer to element 0 of an evaluated CPU tensor.
template <class T>
inline T* ptr(const Tensor& t) {
  return t.data<T>();
}

}  // namespace wick::cpu
