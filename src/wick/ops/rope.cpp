// rope: a fused primitive (backend/cpu/rope.cpp) whose vjp is the same rotation by minus the
// angles (the transpose), plus the plain-op composition it is tested against.
#include "wick/ops/rope.h"

#include <cmath>
#include <vector>

#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/views.h"

namespace wick {

namespace {}  // namespace

std::vector<Tensor> prims::Rope::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                     const prims::Wanted& wanted) {
  if (wanted.size() > 1 && wanted[1])
    fail<NotImplemented>("rope", "no gradient with respect to inv_freq (a fixed buffer)");
  auto prim = std::make_shared<Rope>(layout, offset, !inverse, has_positions);
  std::vector<Tensor> ins = in;
  ins[0] = g;
  return {Tensor::make(g.shape(), g.dtype(), g.device(), prim, ins)};
}

namespace {

void check_rope(const Tensor& x, const Tensor& inv_freq, const char* op) {
  if (x.ndim() != 4) fail<ShapeError>(op, "x must be [B, H, T, Dh], got {}", shape_str(x.shape()));
  if (!is_floating(x.dtype()))
    fail<DtypeError>(op, "x must be a float tensor, got {}", dtype_name(x.dtype()));
  const int64_t Dh = x.shape(3);
  if (Dh % 2 != 0) fail<ShapeError>(op, "head dim must be even, got {}", Dh);
  if (inv_freq.dtype() != DType::f32)
    fail<DtypeError>(op, "inv_freq must be f32, got {}", dtype_name(inv_freq.dtype()));
  if (inv_freq.ndim() != 1 || inv_freq.shape(0) != Dh / 2)
    fail<ShapeError>(op, "inv_freq shape {}; expected [{}] (Dh / 2)", shape_str(inv_freq.shape()),
                     Dh / 2);
  if (inv_freq.device() != x.device()) fail<ValueError>(op, "inv_freq is on another device");
}

void check_positions(const Tensor& x, const Tensor& positions, const char* op) {
  if (!is_integral(positions.dtype()))
    fail<DtypeError>(op, "positions must be i32 or i64, got {}", dtype_name(positions.dtype()));
  const int64_t B = x.shape(0), T = x.shape(2);
  bool ok = (positions.ndim() == 1 && positions.shape(0) == T) ||
            (positions.ndim() == 2 && positions.shape(0) == B && positions.shape(1) == T);
  if (!ok)
    fail<ShapeError>(op, "positions shape {}; expected [{}] or [{}, {}]",
                     shape_str(positions.shape()), T, B, T);
  if (positions.device() != x.device()) fail<ValueError>(op, "positions is on another device");
}

// v [..., Dh/2] -> [..., Dh]: cat(v, v) for rotate_half, each element twice for interleaved
// (reshape copies the broadcast view once).
Tensor spread(const Tensor& v, RopeLayout layout) {
  Shape s = v.shape();
  const int64_t half = s.back();
  s.pop_back();
  Shape two = s, out = s;
  if (layout == RopeLayout::rotate_half) {
    two.insert(two.end(), {2, half});
    out.push_back(2 * half);
    return reshape(broadcast_to(unsqueeze(v, -2), two), out);
  }
  two.insert(two.end(), {half, 2});
  out.push_back(2 * half);
  return reshape(broadcast_to(unsqueeze(v, -1), two), out);
}

}  // namespace

Tensor rope(const Tensor& x, const Tensor& inv_freq, int64_t offset, RopeLayout layout) {
  check_rope(x, inv_freq, "rope");
  return Tensor::make(x.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::Rope>(layout, offset, false, false), {x, inv_freq});
}

Tensor rope_positions(const Tensor& x, const Tensor& inv_freq, const Tensor& positions,
                      RopeLayout layout) {
  check_rope(x, inv_freq, "rope");
  check_positions(x, positions, "rope");
  return Tensor::make(x.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::Rope>(layout, 0, false, true),
                      {x, inv_freq, positions});
}

Tensor rope_reference(const Tensor& x, const Tensor& inv_freq, const Tensor& positions,
                      RopeLayout layout) {
  check_rope(x, inv_freq, "rope_reference");
  check_positions(x, positions, "rope_reference");
  const int64_t Dh = x.shape(3), half = Dh / 2;
  // freqs [T or B,T, Dh/2] in f32, as transformers' inv_freq @ position_ids.
  Tensor pos = unsqueeze(astype(positions, DType::f32), -1);
  Tensor freqs = pos * inv_freq;
  Tensor c = astype(spread(cos(freqs), layout), x.dtype());
  Tensor s = astype(spread(sin(freqs), layout), x.dtype());
  if (positions.ndim() == 2) {  // [B, T, Dh] -> [B, 1, T, Dh]
    c = unsqueeze(c, 1);
    s = unsqueeze(s, 1);
  }
  // rotated = (-x2, x1) per pair, spread back to Dh with a first-of-pair mask.
  std::vector<int64_t> first_of_pair(static_cast<size_t>(Dh), 0);
  Tensor x1, x2;
  if (layout == RopeLayout::rotate_half) {
    for (int64_t i = 0; i < half; ++i) first_of_pair[size_t(i)] = 1;
    x1 = slice(x, 3, 0, half);
    x2 = slice(x, 3, half, Dh);
  } else {
    for (int64_t i = 0; i < half; ++i) first_of_pair[size_t(2 * i)] = 1;
    x1 = slice(x, 3, 0, Dh, 2);
    x2 = slice(x, 3, 1, Dh, 2);
  }
  Tensor first = equal(from_vector(first_of_pair, {Dh}), ones({Dh}, DType::i64));
  Tensor rotated = where(first, neg(spread(x2, layout)), spread(x1, layout));
  return x * c + rotated * s;
}

Tensor rope_inv_freq(int64_t dim, double theta) {
  if (dim <= 0 || dim % 2 != 0)
    fail<ValueError>("rope_inv_freq", "dim must be positive and even, got {}", dim);
  if (!(theta > 0)) fail<ValueError>("rope_inv_freq", "theta must be positive, got {}", theta);
  // f32 arithmetic like transformers: 1 / theta ** (arange(0, dim, 2).float() / dim).
  std::vector<float> f(size_t(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i)
    f[size_t(i)] = 1.0f / std::pow(float(theta), float(2 * i) / float(dim));
  return from_vector(f, {dim / 2});
}

}  // namespace wick
