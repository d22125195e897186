#include "wick/core/buffer.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "wick/core/backend.h"
#include "wick/core/errors.h"

namespace wick {

std::string device_name(Device d) {
  switch (d.type) {
    case DeviceType::cpu:
      return "cpu";
    case DeviceType::cuda:
      return "cuda:" + std::to_string(d.index);
    case DeviceType::checked:
      return "checked:" + std::to_string(d.index);
  }
  return "?";
}

Device parse_device(const std::string& s) {
  auto index_of = [&](size_t at) {
    if (at >= s.size()) return 0;
    if (s[at] != ':' || at + 1 >= s.size() || s.size() - at > 4)
      fail<ValueError>("device", "'{}' is not a device; expected cpu, cuda[:N] or checked[:N]", s);
    int v = 0;
    for (size_t i = at + 1; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9')
        fail<ValueError>("device", "'{}' is not a device; expected cpu, cuda[:N] or checked[:N]",
                         s);
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s == "cpu") return Device::cpu();
  if (s.rfind("cuda", 0) == 0) return Device::cuda(index_of(4));
  if (s.rfind("checked", 0) == 0) return Device::checked(index_of(7));
  fail<ValueError>("device", "'{}' is not a device; expected cpu, cuda[:N] or checked[:N]", s);
}

// ---- CachingAllocator ----

struct CachingAllocator::State {
  Device device;
  std::function<void*(size_t)> raw_alloc;
  std::function<void(void*)> raw_free;
  std::function<void(void*, size_t)> on_free;
  std::function<std::string()> oom_detail;
  std::mutex mu;
  std::multimap<size_t, void*> bins;  // rounded size -> free block
  AllocatorStats st;
  ~State() {
    for (auto& [size, p] : bins) raw_free(p);
  }
};

namespace {
// Blocks are rounded to 512 bytes below 1 MiB and to 64 KiB above, so bins stay few.
size_t round_block(size_t n) {
  if (n == 0) n = 1;
  const size_t q = n < (size_t(1) << 20) ? 512 : (size_t(1) << 16);
  return (n + q - 1) / q * q;
}
}  // namespace

CachingAllocator::CachingAllocator(Device device, std::function<void*(size_t)> raw_alloc,
                                   std::function<void(void*)> raw_free,
                                   std::function<void(void*, size_t)> on_free,
                                   std::function<std::string()> oom_detail)
    : s_(std::make_shared<State>()) {
  s_->oom_detail = std::move(oom_detail);
  s_->device = device;
  s_->raw_alloc = std::move(raw_alloc);
  s_->raw_free = std::move(raw_free);
  s_->on_free = std::move(on_free);
}

CachingAllocator::~CachingAllocator() { empty_cache(); }

std::shared_ptr<Buffer> CachingAllocator::allocate(size_t nbytes) {
  const size_t size = round_block(nbytes);
  void* p = nullptr;
  size_t block = size;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    ++s_->st.allocations;
    // Reuse the smallest cached block that fits and wastes at most a quarter.
    auto it = s_->bins.lower_bound(size);
    if (it != s_->bins.end() && it->first <= size + size / 4) {
      p = it->second;
      block = it->first;
      s_->st.cached -= it->first;
      s_->bins.erase(it);
    }
  }
  if (!p) {
    p = s_->raw_alloc(size);
    if (!p) {
      empty_cache();
      p = s_->raw_alloc(size);
    }
    if (!p) {
      AllocatorStats st = stats();
      fail<BackendError>("allocator",
                         "out of memory on {}: asked {} bytes, {} in use, peak {}, {} cached{}",
                         device_name(s_->device), nbytes, st.in_use, st.peak, st.cached,
                         s_->oom_detail ? ", " + s_->oom_detail() : std::string());
    }
  }
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->st.in_use += block;
    if (s_->st.in_use > s_->st.peak) s_->st.peak = s_->st.in_use;
  }
  // Live buffers keep the state alive, so a block freed after the allocator is still returned.
  return std::make_shared<Buffer>(p, nbytes, s_->device, [s = s_, block](void* q) {
    if (s->on_free) s->on_free(q, block);
    std::lock_guard<std::mutex> lock(s->mu);
    s->st.in_use -= block;
    s->st.cached += block;
    s->bins.emplace(block, q);
  });
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->st;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->st.peak = s_->st.in_use;
}

void CachingAllocator::empty_cache() {
  std::multimap<size_t, void*> bins;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    bins.swap(s_->bins);
    s_->st.cached = 0;
  }
  for (auto& [size, p] : bins) s_->raw_free(p);
}

// ---- the CPU allocator ----

namespace {
std::atomic<size_t> g_in_use{0};
std::atomic<size_t> g_peak{0};
std::atomic<size_t> g_allocs{0};
}  // namespace

namespace detail {
// 64-byte aligned malloc with statistics. Not cached: glibc's malloc already reuses blocks, and
// memory tests read the bytes live, which caching would blur.
class CpuAllocator final : public Allocator {
 public:
  std::shared_ptr<Buffer> allocate(size_t nbytes) override {
    size_t rounded = (nbytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) fail<BackendError>("cpu_allocator", "out of memory allocating {} bytes", nbytes);
    g_allocs.fetch_add(1);
    size_t now = g_in_use.fetch_add(rounded) + rounded;
    size_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    return std::make_shared<Buffer>(p, nbytes, Device::cpu(), [rounded](void* q) {
      g_in_use.fetch_sub(rounded);
      std::free(q);
    });
  }
  AllocatorStats stats() const override {
    return {g_in_use.load(), g_peak.load(), 0, g_allocs.load()};
  }
  void reset_peak() override { g_peak.store(g_in_use.load()); }
};

Allocator& cpu_allocator() {
  static CpuAllocator a;
  return a;
}
}  // namespace detail

Allocator& allocator_for(Device d) {
  if (d.type == DeviceType::cpu) return detail::cpu_allocator();  // the hot path skips the table
  return backend_for(d.type).allocator(d.index);
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
