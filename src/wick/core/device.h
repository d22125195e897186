#pragma once
// Where a tensor's data lives. Every tensor carries one; ops check that their inputs agree.
#include <compare>
#include <cstdint>
#include <string>

namespace wick {

/// `checked` is a second CPU device for testing the device plumbing without a GPU: its own
/// allocator, buffers poisoned when freed, and host reads without a copy are errors.
enum class DeviceType : uint8_t { cpu, cuda, checked };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  auto operator<=>(const Device&) const = default;
  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  static Device checked(int i = 0) { return {DeviceType::checked, i}; }
};

/// "cpu", "cuda:N" or "checked:N".
std::string device_name(Device d);
/// Parses "cpu", "cuda", "cuda:N", "checked:N"; throws ValueError naming the text otherwise.
Device parse_device(const std::string& s);

}  // namespace wick
