// wick info: version, build type, backends, usable devices, BLAS and thread count.
#include <omp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "wick/build_info.h"
#include "wick/core/backend.h"
#include "wick/core/runtime.h"

namespace wick::cli {

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Print build and runtime information");
  auto model = std::make_shared<std::string>();
  sub->add_option("--model", *model, "Describe this model folder instead");
  add_runner(sub, [model] {
    if (!model->empty()) return print_model_info(*model);
    std::printf("wick %s\n", WICK_VERSION);
    std::printf("build type: %s\n", WICK_BUILD_TYPE);
    std::printf("backends: %s\n", wick::backends_string().c_str());
    std::printf("devices: %s (auto: %s)\n", wick::available_devices_string().c_str(),
                wick::device_name(wick::default_device()).c_str());
    std::printf("blas: %s\n", wick::blas_info().c_str());
    std::printf("threads: %d\n", wick::num_threads());
  });
}

}  // namespace wick::cli
