#include "wick/core/backend.h"

#include <algorithm>
#include <mutex>

namespace wick {

namespace {
constexpr int kNumDeviceTypes = 3;
std::unique_ptr<Backend>& backend_slot(DeviceType t) {
  static std::unique_ptr<Backend> backends[kNumDeviceTypes];
  return backends[size_t(t)];
}
void ensure_builtin() {
  static std::once_flag once;
  std::call_once(once, [] { detail::register_builtin_backends(); });
}
}  // namespace

void register_backend(DeviceType t, std::unique_ptr<Backend> b) { backend_slot(t) = std::move(b); }

Backend* find_backend(DeviceType t) {
  ensure_builtin();
  return backend_slot(t).get();
}

Backend& backend_for(DeviceType t) {
  Backend* b = find_backend(t);
  if (!b || b->device_count() == 0)
    fail<NotImplemented>("device", "{} is not available in this build (available: {})",
                         device_name({t, 0}), available_devices_string());
  return *b;
}

std::vector<Device> available_devices() {
  std::vector<Device> r;
  for (int t = 0; t < kNumDeviceTypes; ++t) {
    Backend* b = find_backend(DeviceType(t));
    if (!b) continue;
    for (int i = 0; i < b->device_count(); ++i) r.push_back({DeviceType(t), i});
  }
  return r;
}

std::string available_devices_string() {
  std::string s;
  for (auto d : available_devices()) s += (s.empty() ? "" : ", ") + device_name(d);
  return s;
}

Device default_device() {
  Backend* cuda = find_backend(DeviceType::cuda);
  return cuda && cuda->device_count() > 0 ? Device::cuda(0) : Device::cpu();
}

Device select_device(const std::string& spec) {
  if (spec == "auto") return default_device();
  Device d;
  try {
    d = parse_device(spec);
  } catch (const ValueError&) {
    fail<ValueError>("device", "unknown device '{}'; usable devices: auto, {}", spec,
                     available_devices_string());
  }
  const auto usable = available_devices();
  if (std::find(usable.begin(), usable.end(), d) == usable.end())
    fail<ValueError>("device", "device '{}' is not usable here; usable devices: auto, {}", spec,
                     available_devices_string());
  return d;
}

}  // namespace wick
