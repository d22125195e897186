// wick info: version, build type, backends, BLAS and thread count.
#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "wick/build_info.h"
#include "wick/core/runtime.h"

namespace wick::cli {

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Print build and runtime information");
  add_runner(sub, [] {
    std::printf("wick %s\n", WICK_VERSION);
    std::printf("build type: %s\n", WICK_BUILD_TYPE);
    std::printf("backends: %s\n", wick::backends_string().c_str());
    std::printf("blas: %s\n", wick::blas_info().c_str());
    std::printf("threads: %d\n", wick::num_threads());
  });
}

}  // namespace wick::cli
