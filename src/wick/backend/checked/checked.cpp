#include "wick/backend/checked/checked.h"

#include <cstdlib>
#include <cstring>

namespace wick::checked {

namespace {

class CheckedBackend final : public Backend {
 public:
  CheckedBackend()
      : alloc_(
            Device::checked(0), [](size_t n) { return std::aligned_alloc(64, (n + 63) / 64 * 64); },
            [](void* p) { std::free(p); }, [](void* p, size_t n) { std::memset(p, 0xFF, n); }) {}
  std::string name() const override { return "checked"; }
  int device_count() const override { return 1; }
  Allocator& allocator(int index) override {
    if (index != 0) fail<ValueError>("device", "checked:{} does not exist (only checked:0)", index);
    return alloc_;
  }
  void synchronize(int) override {}
  bool host_accessible() const override { return false; }
  void copy_from_host(const void* src, Buffer& dst, size_t offset, size_t nbytes) override {
    if (nbytes) std::memcpy(static_cast<char*>(dst.data()) + offset, src, nbytes);
  }
  void copy_to_host(const Buffer& src, size_t offset, void* dst, size_t nbytes) override {
    if (nbytes) std::memcpy(dst, static_cast<const char*>(src.data()) + offset, nbytes);
  }

 private:
  CachingAllocator alloc_;
};

}  // namespace

std::unique_ptr<Backend> make_backend(const Backend& cpu) {
  auto b = std::make_unique<CheckedBackend>();
  b->copy_kernels_from(cpu);
  return b;
}

}  // namespace wick::checked
