#pragma once
// Where a tensor's data lives. Every tensor carries one; ops check that their inputs agree.
#include <string>

namespace wick {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool operator==(const Device&) const = default;
  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
};

/// "cpu" or "cuda:N".
std::string device_name(Device d);

}  // namespace wick
