#pragma once
// Raw memory behind tensors, and the allocator interface each backend implements.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

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

/// Bytes an allocator has handed out (`in_use`, its high-water mark `peak`) and holds for reuse.
struct AllocatorStats {
  size_t in_use = 0;
  size_t peak = 0;
  size_t cached = 0;
  size_t allocations = 0;  // allocate() calls since start
};

/// Hands out buffers for one device. Stream-ordered: a buffer may be allocated and freed while
/// work that uses it is still queued on the device's compute stream; the allocator reuses a freed
/// block only for work enqueued later on that stream (on the CPU, where work runs at once, this is
/// plain allocation). The engine frees an intermediate when its last consumer has been enqueued.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual std::shared_ptr<Buffer> allocate(size_t nbytes) = 0;
  virtual AllocatorStats stats() const = 0;
  /// Sets the peak to the bytes in use now.
  virtual void reset_peak() = 0;
  /// Returns cached blocks to the device.
  virtual void empty_cache() {}
};

/// A caching allocator over a device's raw malloc/free: freed blocks go to size-rounded bins and
/// are reused by later allocations (the stream-ordered pattern of CUDA's caching allocators);
/// `on_free` runs on a block as it enters the cache (the checked device poisons it there);
/// `oom_detail` adds the device's own view (free bytes, say) to an out-of-memory error.
class CachingAllocator : public Allocator {
 public:
  CachingAllocator(Device device, std::function<void*(size_t)> raw_alloc,
                   std::function<void(void*)> raw_free,
                   std::function<void(void*, size_t)> on_free = {},
                   std::function<std::string()> oom_detail = {});
  ~CachingAllocator() override;
  std::shared_ptr<Buffer> allocate(size_t nbytes) override;
  AllocatorStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;

 private:
  struct State;
  std::shared_ptr<State> s_;  // shared with the deleters of live buffers
};

/// The allocator of a device (through its backend; the CPU one is 64-byte aligned malloc).
Allocator& allocator_for(Device d);
/// Wraps memory owned elsewhere (an mmapped file, say); `keep_alive` is held until the buffer dies.
std::shared_ptr<Buffer> wrap_external(void* data, size_t nbytes, Device d,
                                      std::shared_ptr<void> keep_alive);
/// Bytes currently allocated through the CPU allocator (for memory tests and benchmarks).
size_t cpu_bytes_in_use();
size_t cpu_peak_bytes();
void reset_cpu_peak_bytes();

}  // namespace wick
