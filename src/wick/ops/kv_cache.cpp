// kv_cache_write: copies the new keys/values into the cache's buffer (strided copy into the
// region [:, :, offset:offset+T, :]) and makes the output a view of the cache, so decoding with
// a cache costs O(T_new) copying per step instead of re-concatenating the whole history. The
// output aliases the input buffer; chaining writes through their outputs orders them.
#include "wick/ops/kv_cache.h"

#include "wick/backend/cpu/copy.h"
#include "wick/core/primitive.h"

namespace wick {

namespace {

constexpr const char* kKvOp = "kv_cache_write";

class KvCacheWrite final : public Primitive {
 public:
  explicit KvCacheWrite(int64_t offset) : offset_(offset) {}
  const char* name() const override { return kKvOp; }
  bool non_differentiable() const override { return true; }
  void eval_cpu(const std::vector<Tensor>& in, const Tensor& out) override {
    const Tensor &cache = in[0], &x = in[1];
    if (!cache.is_contiguous())
      fail<ValueError>(kKvOp, "the cache must be row-major; got strides of a view");
    const Strides& cs = cache.strides();
    cpu::copy_into(x, cache, cs, offset_ * cs[2]);  // copy_into adds cache.offset()
    out.set_view(cache, cs, cache.offset());
  }

 private:
  const int64_t offset_;
};

}  // namespace

Tensor kv_cache_write(const Tensor& cache, const Tensor& x, int64_t offset) {
  if (cache.ndim() != 4 || x.ndim() != 4)
    fail<ShapeError>(kKvOp, "cache and x must be 4-d ([B, Hkv, T, Dh]); got {} and {}",
                     shape_str(cache.shape()), shape_str(x.shape()));
  if (cache.dtype() != x.dtype())
    fail<DtypeError>(kKvOp, "dtypes differ: cache {}, x {}", dtype_name(cache.dtype()),
                     dtype_name(x.dtype()));
  if (cache.device() != x.device()) fail<ValueError>(kKvOp, "cache and x on different devices");
  if (cache.shape(0) != x.shape(0) || cache.shape(1) != x.shape(1) || cache.shape(3) != x.shape(3))
    fail<ShapeError>(kKvOp, "x {} does not match cache {}; expected the same B, Hkv and Dh",
                     shape_str(x.shape()), shape_str(cache.shape()));
  if (offset < 0 || offset + x.shape(2) > cache.shape(2))
    fail<ShapeError>(kKvOp, "positions [{}, {}) outside the cache's {} slots", offset,
                     offset + x.shape(2), cache.shape(2));
  if (cache.is_evaluated() && !cache.is_contiguous())
    fail<ValueError>(kKvOp, "the cache must be row-major (it is written in place); got a view");
  return Tensor::make(cache.shape(), cache.dtype(), cache.device(),
                      std::make_shared<KvCacheWrite>(offset), {cache, x});
}

}  // namespace wick
