// Dropout: the keep-mask is drawn from the Generator when the op is built (so a graph replays
// the same mask, and a fixed generator state gives a fixed mask) and stored as a bool tensor
// that the forward and the backward share as an input.
#include "wick/ops/random.h"

#include "wick/backend/cpu/cpu_utils.h"
#include "wick/backend/cpu/indexing.h"
#include "wick/core/primitive.h"
#include "wick/ops/creation.h"

namespace wick {

namespace {

// out = x * (keep ? scale : 0); its vjp is the same op on the cotangent with the same keep.
class Dropout final : public Primitive {
 public:
  explicit Dropout(double scale) : scale_(scale) {}
  const char* name() const override { return "dropout"; }
  void eval_cpu(const std::vector<Tensor>& in, const Tensor& out) override {
    cpu::dropout(in[0], in[1], scale_, out);
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& g,
                          const std::vector<bool>&) override {
    return {Tensor::make(g.shape(), g.dtype(), g.device(), std::make_shared<Dropout>(scale_),
                         {g, in[1]}),
            Tensor()};
  }

 private:
  const double scale_;
};

// keep[i] = (u_i >= p) with u_i the generator's i-th next_double(). The generator is counter
// based, so chunks draw in parallel from their own counter and the result equals a serial draw.
Tensor draw_keep(const Shape& shape, double p, Generator& gen) {
  Tensor keep = zeros(shape, DType::boolean);
  const int64_t n = keep.numel();
  if (p >= 1 || n == 0) return keep;
  const uint64_t seed = gen.seed(), c0 = gen.counter();
  bool* kp = keep.data<bool>();
  cpu::parallel_for(n, cpu::kGrain, [&](int64_t b, int64_t e) {
    Generator local(seed);
    local.set_state(seed, c0 + uint64_t(b));
    for (int64_t i = b; i < e; ++i) kp[i] = local.next_double() >= p;
  });
  gen.set_state(seed, c0 + uint64_t(n));
  return keep;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, Generator* gen) {
  const char* op = "dropout";
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, "p must be in [0, 1], got {}", p);
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (x.device().type != DeviceType::cpu)
    fail<NotImplemented>(op, "drawing a mask on {} is not supported in this build",
                         device_name(x.device()));
  if (p == 0) return x;
  // p == 1 keeps nothing (torch returns zeros; NaN/Inf inputs still give NaN, as x * 0).
  Tensor keep = draw_keep(x.shape(), p, gen ? *gen : default_generator());
  const double scale = p >= 1 ? 0.0 : 1.0 / (1.0 - p);
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<Dropout>(scale),
                      {x, keep});
}

}  // namespace wick
