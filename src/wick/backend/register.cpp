// The built-in backends, installed once when the engine first dispatches. A new device's backend
// (backend/<device>/) is added here and nowhere else.
#include "wick/backend/checked/checked.h"
#include "wick/backend/cpu/cpu_backend.h"
#include "wick/core/backend.h"
#ifdef WICK_HAS_CUDA
#include "wick/backend/cuda/cuda_backend.h"
#endif

namespace wick::detail {

void register_builtin_backends() {
  auto cpu = cpu::make_backend();
  auto checked = checked::make_backend(*cpu);
  register_backend(DeviceType::cpu, std::move(cpu));
  register_backend(DeviceType::checked, std::move(checked));
#ifdef WICK_HAS_CUDA
  register_backend(DeviceType::cuda, cuda::make_backend());
#endif
}

}  // namespace wick::detail
