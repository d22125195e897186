// The CUDA backend's runtime: device discovery, one compute stream and cuBLAS handle per device, a
// caching allocator over cudaMalloc, host copies, device-side error flags, and the host fallback
// for kinds (or dtypes) without a CUDA kernel.
#include "wick/backend/cuda/runtime.h"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include "wick/backend/cuda/cuda_backend.h"
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/register.h"
#include "wick/core/primitive.h"
#include "wick/ops/views.h"

namespace wick::cuda {

namespace {

std::array<std::atomic<int64_t>, kNumPrimitiveKinds> g_fallbacks{};

int query_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return n;
}

const char* error_text(int code) {
  switch (code) {
    case kErrIndex:
      return "an index was out of range (take / take_along_axis / scatter_add / embedding)";
    case kErrKvOffset:
      return "kv_cache_write: positions outside the cache";
    case kErrTarget:
      return "cross_entropy: a target is outside [0, vocabulary) and not ignore_index";
    case kErrAttentionLength:
      return "cached_attention: the cache length is outside [query rows, cache size]";
    default:
      return "a kernel reported an error";
  }
}

// The pending CPU outputs a host-fallback kernel writes into.
class HostSlot final : public Primitive {
 public:
  explicit HostSlot(PrimitiveKind k) : Primitive(k) {}
};

}  // namespace

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    fail<BackendError>("cuda", "{}: {} ({})", what, cudaGetErrorString(e), int(e));
}

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail<BackendError>("cuda", "{}: cuBLAS status {}", what, int(s));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

class CudaBackend final : public Backend {
 public:
  CudaBackend() : count_(query_device_count()) {
    for (int i = 0; i < count_ && i < int(kMaxDevices); ++i) {
      allocs_[i] = std::make_unique<CachingAllocator>(
          Device::cuda(i),
          [i](size_t n) -> void* {
            void* p = nullptr;
            cudaSetDevice(i);
            if (cudaMalloc(&p, n) != cudaSuccess) {
              cudaGetLastError();
              return nullptr;
            }
            return p;
          },
          [i](void* p) {
            cudaSetDevice(i);
            cudaFree(p);
          },
          std::function<void(void*, size_t)>{},
          [i]() {
            size_t free_b = 0, total = 0;
            cudaSetDevice(i);
            cudaMemGetInfo(&free_b, &total);
            return fmt::format("{} free of {} on the device", free_b, total);
          });
    }
  }
  std::string name() const override { return "cuda"; }
  int device_count() const override { return count_; }
  Allocator& allocator(int index) override {
    if (index < 0 || index >= count_ || index >= int(kMaxDevices))
      fail<ValueError>("device", "cuda:{} does not exist ({} CUDA device(s) usable)", index,
                       count_);
    return *allocs_[size_t(index)];
  }
  void synchronize(int index) override {
    DeviceState& d = state(index);
    check(cudaStreamSynchronize(d.stream), "synchronize");
    raise_device_error(d);
  }
  bool host_accessible() const override { return false; }
  void copy_from_host(const void* src, Buffer& dst, size_t offset, size_t nbytes) override {
    if (!nbytes) return;
    DeviceState& d = state(dst.device().index);
    check(cudaMemcpyAsync(static_cast<char*>(dst.data()) + offset, src, nbytes,
                          cudaMemcpyHostToDevice, d.stream),
          "copy to the device");
    // The source may be pageable memory the caller frees next: wait for the copy.
    check(cudaStreamSynchronize(d.stream), "copy to the device");
  }
  void copy_to_host(const Buffer& src, size_t offset, void* dst, size_t nbytes) override {
    if (!nbytes) return;
    DeviceState& d = state(src.device().index);
    check(cudaMemcpyAsync(dst, static_cast<const char*>(src.data()) + offset, nbytes,
                          cudaMemcpyDeviceToHost, d.stream),
          "copy to the host");
    check(cudaStreamSynchronize(d.stream), "copy to the host");
    raise_device_error(d);
  }

 private:
  static void raise_device_error(DeviceState& d) {
    int code = 0;
    check(cudaMemcpy(&code, d.error, sizeof(int), cudaMemcpyDeviceToHost), "read error flag");
    if (code) {
      check(cudaMemset(d.error, 0, sizeof(int)), "reset error flag");
      fail<ValueError>("cuda", "{}", error_text(code));
    }
  }
  static constexpr size_t kMaxDevices = 16;
  int count_;
  std::array<std::unique_ptr<CachingAllocator>, kMaxDevices> allocs_;
};

DeviceState& state(int index) {
  static std::array<DeviceState, 16> states;
  static std::array<std::once_flag, 16> once;
  if (index < 0 || index >= 16) fail<ValueError>("device", "cuda:{} does not exist", index);
  DeviceState& d = states[size_t(index)];
  std::call_once(once[size_t(index)], [&] {
    d.index = index;
    check(cudaSetDevice(index), "set device");
    check(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking), "create stream");
    check_blas(cublasCreate(&d.blas), "create cuBLAS handle");
    check_blas(cublasSetStream(d.blas, d.stream), "cuBLAS stream");
    d.workspace_bytes = size_t(32) << 20;
    check(cudaMalloc(&d.workspace, d.workspace_bytes), "cuBLAS workspace");
    check_blas(cublasSetWorkspace(d.blas, d.workspace, d.workspace_bytes), "cuBLAS workspace");
    // Exact f32 products unless asked otherwise (tf32 only where asked).
    check_blas(cublasSetMathMode(d.blas, CUBLAS_DEFAULT_MATH), "cuBLAS math mode");
    check(cudaMalloc(reinterpret_cast<void**>(&d.error), sizeof(int)), "error flag");
    check(cudaMemset(d.error, 0, sizeof(int)), "error flag");
  });
  cudaSetDevice(index);
  return d;
}

cudaStream_t stream_of(const Tensor& t) { return state(t.device().index).stream; }

int* error_flag(const Tensor& t) { return state(t.device().index).error; }

Tensor contiguous_on_device(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = contiguous(t);
  c.eval();
  return c;
}

void host_fallback(const Primitive& p, const std::vector<Tensor>& in,
                   const std::vector<Tensor>& out) {
  g_fallbacks[size_t(p.kind())].fetch_add(1, std::memory_order_relaxed);
  Kernel k = backend_for(DeviceType::cpu).kernel(p.kind());
  if (!k) fail<NotImplemented>(p.name(), "no kernel on cuda and none on the cpu to fall back to");
  std::vector<Tensor> hin, hout;
  {
    EagerMode lazy(false);
    for (const auto& t : in)
      hin.push_back(t.device().type == DeviceType::cpu ? t : t.to(Device::cpu()));
    eval(hin);
  }
  auto slot = std::make_shared<HostSlot>(p.kind());
  for (const auto& o : out)
    hout.push_back(Tensor::make(o.shape(), o.dtype(), Device::cpu(), slot, {}));
  if (p.effect() == Effect::writes_input) hout[0].share_buffer(hin[0]);
  k(p, hin, hout);
  Backend& cuda = backend_for(DeviceType::cuda);
  for (size_t i = 0; i < out.size(); ++i) {
    const Tensor& o = out[i];
    if (!(p.effect() == Effect::writes_input && i == 0)) o.alloc_contiguous();
    cuda.copy_from_host(hout[i].raw_data(), *o.buffer(), size_t(o.offset()) * size_of(o.dtype()),
                        o.nbytes());
  }
}

int64_t host_fallbacks() {
  int64_t n = 0;
  for (const auto& c : g_fallbacks) n += c.load();
  return n;
}

std::string host_fallback_report() {
  std::string s;
  for (int k = 0; k < kNumPrimitiveKinds; ++k)
    if (int64_t n = g_fallbacks[size_t(k)].load())
      s += fmt::format("{}{} x{}", s.empty() ? "" : ", ", kind_name(PrimitiveKind(k)), n);
  return s;
}

std::unique_ptr<Backend> make_backend() {
  auto b = std::make_unique<CudaBackend>();
  register_elementwise(*b);
  register_copies(*b);
  register_indexing(*b);
  register_matmul(*b);
  register_layers(*b);
  // Everything else runs the CPU kernel on host copies (counted and reported).
  for (int k = 0; k < kNumPrimitiveKinds; ++k)
    if (!b->kernel(PrimitiveKind(k))) b->register_kernel(PrimitiveKind(k), host_fallback);
  return b;
}

}  // namespace wick::cuda
