// kv_cache_write: copies the new keys/values into the cache's buffer (the region
// [:, :, offset:offset+T, :]) in place and makes the output an alias of the cache, so decoding with
// a cache costs O(T_new) copying per step instead of re-concatenating the whole history. The
// offset is a tensor input, so every decode step builds the same graph; chaining writes through
// their outputs orders them.
#include "wick/ops/kv_cache.h"

#include "wick/ops/creation.h"
#include "wick/ops/primitives.h"

namespace wick {

namespace {
constexpr const char* kKvOp = "kv_cache_write";
}  // namespace

Tensor kv_cache_write(const Tensor& cache, const Tensor& x, const Tensor& offset) {
  if (cache.ndim() != 4 || x.ndim() != 4)
    fail<ShapeError>(kKvOp, "cache and x must be 4-d ([B, Hkv, T, Dh]); got {} and {}",
                     shape_str(cache.shape()), shape_str(x.shape()));
  if (cache.dtype() != x.dtype())
    fail<DtypeError>(kKvOp, "dtypes differ: cache {}, x {}", dtype_name(cache.dtype()),
                     dtype_name(x.dtype()));
  if (cache.device() != x.device() || offset.device() != cache.device())
    fail<ValueError>(kKvOp, "cache, x and offset on different devices");
  if (cache.shape(0) != x.shape(0) || cache.shape(1) != x.shape(1) || cache.shape(3) != x.shape(3))
    fail<ShapeError>(kKvOp, "x {} does not match cache {}; expected the same B, Hkv and Dh",
                     shape_str(x.shape()), shape_str(cache.shape()));
  if (offset.numel() != 1 || offset.dtype() != DType::i64)
    fail<ShapeError>(kKvOp, "offset must be one i64 value, got {} {}", dtype_name(offset.dtype()),
                     shape_str(offset.shape()));
  if (x.shape(2) > cache.shape(2))
    fail<ShapeError>(kKvOp, "{} new positions exceed the cache's {} slots", x.shape(2),
                     cache.shape(2));
  if (offset.is_evaluated() && offset.device().type == DeviceType::cpu) {
    const int64_t o = offset.item<int64_t>();
    if (o < 0 || o + x.shape(2) > cache.shape(2))
      fail<ShapeError>(kKvOp, "positions [{}, {}) outside the cache's {} slots", o, o + x.shape(2),
                       cache.shape(2));
  }
  if (!cache.is_contiguous() || cache.offset() != 0)
    fail<ValueError>(kKvOp, "the cache must be row-major (it is written in place); got a view");
  return Tensor::make(cache.shape(), cache.dtype(), cache.device(),
                      std::make_shared<prims::KvCacheWrite>(), {cache, x, offset});
}

Tensor kv_cache_write(const Tensor& cache, const Tensor& x, int64_t offset) {
  return kv_cache_write(cache, x, scalar(double(offset), DType::i64, cache.device()).eval());
}

}  // namespace wick
