#include "wick/core/buffer.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "wick/core/errors.h"

namespace wick {

std::string device_name(Device d) {
  return d.type == DeviceType::cpu ? std::string("cpu") : "cuda:" + std::to_string(d.index);
}

namespace {
std::atomic<size_t> g_in_use{0};
std::atomic<size_t> g_peak{0};

class CpuAllocator final : public Allocator {
 public:
  std::shared_ptr<Buffer> allocate(size_t nbytes) override {
    size_t rounded = (nbytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) fail<BackendError>("cpu_allocator", "out of memory allocating {} bytes", nbytes);
    size_t now = g_in_use.fetch_add(rounded) + rounded;
    size_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    return std::make_shared<Buffer>(p, nbytes, Device::cpu(), [rounded](void* q) {
      g_in_use.fetch_sub(rounded);
      std::free(q);
    });
  }
};
}  // namespace

Allocator& allocator_for(Device d) {
  static CpuAllocator cpu;
  if (d.type == DeviceType::cpu) return cpu;
  fail<NotImplemented>("allocator", "no allocator for device {} in this build", device_name(d));
}

std::shared_ptr<Buffer> wrap_external(void* data, size_t nbytes, Device d,
                                      std::shared_ptr<void> keep_alive) {
  return std::make_shared<Buffer>(data, nbytes, d,
                                  [k = std::move(keep_alive)](void*) mutable { k.reset(); });
}

size_t cpu_bytes_in_use() { return g_in_use.load(); }
size_t cpu_peak_bytes() { return g_peak.load(); }
void reset_cpu_peak_bytes() { g_peak.store(g_in_use.load()); }

}  // namespace wick
