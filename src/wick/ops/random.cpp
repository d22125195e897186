// Dropout: the keep-mask is a function of a random key drawn from the Generator when the op is
// built (so a fixed generator state gives a fixed mask, and a replayed graph with a new key a new
// one); the kernel recomputes it from the key, in the forward and in the backward pass.
#include "wick/ops/random.h"

#include "wick/ops/creation.h"
#include "wick/ops/primitives.h"

namespace wick {

namespace prims {
std::vector<Tensor> Dropout::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  return {Tensor::make(g.shape(), g.dtype(), g.device(), std::make_shared<Dropout>(p, scale),
                       {g, in[1]}),
          Tensor()};
}
}  // namespace prims

Tensor dropout(const Tensor& x, double p, Generator* gen) {
  const char* op = "dropout";
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, "p must be in [0, 1], got {}", p);
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (p == 0) return x;
  // p == 1 keeps nothing (torch returns zeros; NaN/Inf inputs still give NaN, as x * 0).
  Generator& g = gen ? *gen : default_generator();
  Tensor key = random_key(g, p >= 1 ? 0 : x.numel()).to(x.device());
  const double scale = p >= 1 ? 0.0 : 1.0 / (1.0 - p);
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Dropout>(p, scale),
                      {x, key});
}

}  // namespace wick
