#include "wick/core/runtime.h"

#include <cblas.h>
#include <omp.h>

namespace wick {

std::string backends_string() {
#ifdef WICK_HAS_CUDA
  return "cpu, cuda";
#else
  return "cpu";
#endif
}

std::string blas_info() {
  std::string cfg = openblas_get_config();
  const char* par = openblas_get_parallel() == 2
                        ? "openmp"
                        : (openblas_get_parallel() == 1 ? "pthreads" : "sequential");
  return "OpenBLAS (" + cfg + "; " + par + ", " + std::to_string(openblas_get_num_threads()) +
         " threads)";
}

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) {
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

}  // namespace wick
