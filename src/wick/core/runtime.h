#pragma once
// Process-wide runtime facts: backends compiled in, BLAS, threads.
#include <string>

namespace wick {

/// "cpu" or "cpu, cuda".
std::string backends_string();
/// The BLAS library and its configuration, e.g. "OpenBLAS 0.3.21 (openmp, 2 threads)".
std::string blas_info();
/// Threads used by wick's kernels and BLAS (one OpenMP pool).
int num_threads();
void set_num_threads(int n);

}  // namespace wick
