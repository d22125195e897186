#pragma once
// Backends as plug-ins. A backend serves one device type: it registers its allocator, its
// stream/synchronisation model, copies to and from the host, and one kernel per primitive kind
// (a table indexed by PrimitiveKind). The engine dispatches through the table; ops/ never names a
// backend. Adding a device means writing backend/<device>/ and registering it here, without
// editing any primitive.
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wick/core/buffer.h"
#include "wick/core/primitive.h"

namespace wick {

/// Computes `outputs` (pending tensors with known shape, dtype and row-major layout) from
/// evaluated `inputs` of primitive `p` (cast it to its class to read its parameters).
using Kernel = void (*)(const Primitive& p, const std::vector<Tensor>& inputs,
                        const std::vector<Tensor>& outputs);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// Number of devices of this type that can run now (0: compiled in but unusable).
  virtual int device_count() const = 0;
  /// The stream-ordered allocator of device `index` (see Allocator).
  virtual Allocator& allocator(int index) = 0;
  /// Waits until everything enqueued on the device has finished (a no-op on the CPU).
  virtual void synchronize(int index) = 0;
  /// True when the host may read and write the device's buffers directly (the CPU).
  virtual bool host_accessible() const = 0;
  /// Copies `nbytes` from host memory into a device buffer at byte `offset`, and back.
  virtual void copy_from_host(const void* src, Buffer& dst, size_t offset, size_t nbytes) = 0;
  virtual void copy_to_host(const Buffer& src, size_t offset, void* dst, size_t nbytes) = 0;

  /// The kernel registered for `k`, or null.
  Kernel kernel(PrimitiveKind k) const { return kernels_[size_t(k)]; }
  void register_kernel(PrimitiveKind k, Kernel fn) { kernels_[size_t(k)] = fn; }
  /// Kernels copied from another backend (a checked device reuses the CPU's).
  void copy_kernels_from(const Backend& o) { kernels_ = o.kernels_; }

 private:
  std::array<Kernel, kNumPrimitiveKinds> kernels_{};
};

/// The backend of a device type; throws NotImplemented naming the device when none is compiled in.
Backend& backend_for(DeviceType t);
/// The backend of a device type, or null.
Backend* find_backend(DeviceType t);
/// Registers (or replaces) the backend of a device type. Built-in backends register themselves
/// on first use (backend/*/register.cpp).
void register_backend(DeviceType t, std::unique_ptr<Backend> b);
/// Devices usable now, in order ("cpu", then "cuda:0", ..., "checked:0").
std::vector<Device> available_devices();
/// The device "auto" stands for: cuda:0 when a CUDA backend is compiled in and reports a usable
/// GPU, else the CPU.
Device default_device();
/// The device `spec` names ("auto", "cpu", "cuda", "cuda:N", "checked:N") if it is usable now;
/// ValueError naming the text and the usable devices otherwise (an unknown name, cuda without a
/// CUDA build or driver, an index past the device count).
Device select_device(const std::string& spec);
/// The usable devices as one comma-separated line ("cpu, checked:0").
std::string available_devices_string();

namespace detail {
/// Installs the built-in backends (defined in backend/, called once by the engine).
void register_builtin_backends();
}  // namespace detail

}  // namespace wick
