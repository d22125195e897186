#pragma once
// Raw memory behind tensors, and the allocator interface each backend implements.
#include <cstddef>
#include <functional>
#include <memory>

#include "wick/core/device.h"

namespace wick {

/// A block of device memory. Freed through its deleter when the last tensor using it goes away.
class Buffer {
 public:
  Buffer(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter)
      : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}
  ~Buffer() {
    if (deleter_) deleter_(data_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void(void*)> deleter_;
};

/// Hands out buffers for one device. Backends may cache blocks.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual std::shared_ptr<Buffer> allocate(size_t nbytes) = 0;
};

/// The allocator of a device (the CPU one is 64-byte aligned malloc).
Allocator& allocator_for(Device d);
/// Wraps memory owned elsewhere (an mmapped file, say); `keep_alive` is held until the buffer dies.
std::shared_ptr<Buffer> wrap_external(void* data, size_t nbytes, Device d,
                                      std::shared_ptr<void> keep_alive);
/// Bytes currently allocated through the CPU allocator (for memory tests and benchmarks).
size_t cpu_bytes_in_use();
size_t cpu_peak_bytes();
void reset_cpu_peak_bytes();

}  // namespace wick
