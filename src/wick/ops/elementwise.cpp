// Elementwise ops: frontends (validation, broadcasting), primitives and their vjps.
#include "wick/ops/elementwise.h"

#include <cmath>
#include <numbers>

#include "wick/ops/creation.h"
#include "wick/ops/primitives.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

PrimitiveKind unary_kind(UnaryOp op) {
  static const PrimitiveKind kinds[] = {
      PrimitiveKind::neg,         PrimitiveKind::abs,       PrimitiveKind::exp,
      PrimitiveKind::log,         PrimitiveKind::sqrt,      PrimitiveKind::rsqrt,
      PrimitiveKind::sin,         PrimitiveKind::cos,       PrimitiveKind::tanh,
      PrimitiveKind::sigmoid,     PrimitiveKind::relu,      PrimitiveKind::silu,
      PrimitiveKind::gelu,        PrimitiveKind::gelu_tanh, PrimitiveKind::square,
      PrimitiveKind::log1p,       PrimitiveKind::expm1,     PrimitiveKind::sign,
      PrimitiveKind::logical_not, PrimitiveKind::erf};
  return kinds[int(op)];
}
PrimitiveKind binary_kind(BinaryOp op) {
  static const PrimitiveKind kinds[] = {
      PrimitiveKind::add,           PrimitiveKind::sub,         PrimitiveKind::mul,
      PrimitiveKind::div,           PrimitiveKind::maximum,     PrimitiveKind::minimum,
      PrimitiveKind::pow,           PrimitiveKind::equal,       PrimitiveKind::not_equal,
      PrimitiveKind::less,          PrimitiveKind::less_equal,  PrimitiveKind::greater,
      PrimitiveKind::greater_equal, PrimitiveKind::logical_and, PrimitiveKind::logical_or};
  return kinds[int(op)];
}
const char* unary_name(UnaryOp op) { return kind_name(unary_kind(op)); }
const char* binary_name(BinaryOp op) { return kind_name(binary_kind(op)); }
bool float_only(UnaryOp op) {
  return !(op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::square ||
           op == UnaryOp::sign || op == UnaryOp::logical_not);
}
bool is_predicate(BinaryOp op) { return op >= BinaryOp::eq; }

}  // namespace

namespace prims {

namespace {
Tensor zeros_grad(const Tensor& like) { return zeros(like.shape(), like.dtype(), like.device()); }
}  // namespace

Unary::Unary(UnaryOp op) : Primitive(unary_kind(op)), op(op) {}
Binary::Binary(BinaryOp op) : Primitive(binary_kind(op)), op(op) {}

std::vector<Tensor> Unary::vjp(const Inputs& in, const Tensor& out, const Tensor& g,
                               const Wanted&) {
  const Tensor& x = in[0];
  switch (op) {
    case UnaryOp::neg:
      return {-g};
    case UnaryOp::abs:
      return {g * sign(x)};
    case UnaryOp::exp:
      return {g * out};
    case UnaryOp::log:
      return {g / x};
    case UnaryOp::sqrt:
      return {g * 0.5 / out};
    case UnaryOp::rsqrt:
      return {g * -0.5 * out / x};
    case UnaryOp::sin:
      return {g * cos(x)};
    case UnaryOp::cos:
      return {-(g * sin(x))};
    case UnaryOp::tanh:
      return {g * (1.0 - square(out))};
    case UnaryOp::sigmoid:
      return {g * out * (1.0 - out)};
    case UnaryOp::relu:
      return {where(greater(x, scalar(0, x.dtype(), x.device())), g, zeros_grad(g))};
    case UnaryOp::silu: {
      Tensor s = sigmoid(x);
      return {g * s * (1.0 + x * (1.0 - s))};
    }
    case UnaryOp::gelu: {
      Tensor cdf = 0.5 * (1.0 + erf(x * std::numbers::sqrt2 * 0.5));
      Tensor pdf = exp(square(x) * -0.5) * (0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
      return {g * (cdf + x * pdf)};
    }
    case UnaryOp::gelu_tanh: {
      const double k = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // sqrt(2/pi)
      Tensor x2 = square(x);
      Tensor t = tanh((x + x2 * x * 0.044715) * k);
      Tensor d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - square(t)) * k * (1.0 + x2 * (3 * 0.044715));
      return {g * d};
    }
    case UnaryOp::square:
      return {g * x * 2.0};
    case UnaryOp::log1p:
      return {g / (x + 1.0)};
    case UnaryOp::expm1:
      return {g * (out + 1.0)};
    case UnaryOp::erf:
      return {g * exp(-square(x)) * (2.0 * std::numbers::inv_sqrtpi)};
    case UnaryOp::sign:
    case UnaryOp::logical_not:
      return {zeros_grad(x)};
  }
  return {};
}

std::vector<Tensor> PowScalar::vjp(const Inputs& in, const Tensor&, const Tensor& g,
                                   const Wanted&) {
  if (p == 0) return {zeros_grad(in[0])};
  return {g * p * pow(in[0], p - 1)};
}

std::vector<Tensor> Clamp::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  const Tensor& x = in[0];
  Tensor inside = logical_and(greater_equal(x, scalar(lo, x.dtype(), x.device())),
                              less_equal(x, scalar(hi, x.dtype(), x.device())));
  return {where(inside, g, zeros_grad(g))};
}

std::vector<Tensor> Binary::vjp(const Inputs& in, const Tensor& out, const Tensor& g,
                                const Wanted& wanted) {
  const Tensor &a = in[0], &b = in[1];
  switch (op) {
    case BinaryOp::add:
      return {g, g};
    case BinaryOp::sub:
      return {g, wanted[1] ? -g : Tensor()};
    case BinaryOp::mul:
      return {wanted[0] ? g * b : Tensor(), wanted[1] ? g * a : Tensor()};
    case BinaryOp::div:
      return {wanted[0] ? g / b : Tensor(), wanted[1] ? -(g * out / b) : Tensor()};
    case BinaryOp::maximum:
    case BinaryOp::minimum: {
      // Ties split the gradient in half (as PyTorch does).
      Tensor sel = op == BinaryOp::maximum ? greater(a, b) : less(a, b);
      Tensor tie = equal(a, b);
      Tensor z = zeros_grad(g);
      Tensor half = g * 0.5;
      Tensor ga = where(tie, half, where(sel, g, z));
      Tensor gb = where(tie, half, where(sel, z, g));
      return {ga, gb};
    }
    case BinaryOp::pow:
      return {wanted[0] ? g * b * pow(a, b - 1.0) : Tensor(),
              wanted[1] ? g * out * log(a) : Tensor()};
    default:
      return {zeros_grad(a), zeros_grad(b)};
  }
}

std::vector<Tensor> Where::vjp(const Inputs& in, const Tensor&, const Tensor& g,
                               const Wanted& wanted) {
  Tensor z = zeros_grad(g);
  return {Tensor(), wanted[1] ? where(in[0], g, z) : Tensor(),
          wanted[2] ? where(in[0], z, g) : Tensor()};
}

}  // namespace prims

namespace {

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device())
    fail<ValueError>(op, "inputs on different devices: {} and {}", device_name(a.device()),
                     device_name(b.device()));
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  if (float_only(op) && !is_floating(x.dtype()))
    fail<DtypeError>(unary_name(op), "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (op == UnaryOp::logical_not && x.dtype() != DType::boolean)
    fail<DtypeError>("logical_not", "expected bool, got {}", dtype_name(x.dtype()));
  if (op != UnaryOp::logical_not && x.dtype() == DType::boolean)
    fail<DtypeError>(unary_name(op), "expected a numeric dtype, got bool");
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Unary>(op), {x});
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  if (a.dtype() != b.dtype())
    fail<DtypeError>(name, "dtypes differ: {} and {}; cast one with astype", dtype_name(a.dtype()),
                     dtype_name(b.dtype()));
  const bool logical = op == BinaryOp::logical_and || op == BinaryOp::logical_or;
  const bool is_bool = a.dtype() == DType::boolean;
  if (logical && !is_bool) fail<DtypeError>(name, "expected bool, got {}", dtype_name(a.dtype()));
  if (!logical && !is_predicate(op) && is_bool)
    fail<DtypeError>(name, "expected a numeric dtype, got bool");
  if (is_bool && op != BinaryOp::eq && op != BinaryOp::ne && !logical)
    fail<DtypeError>(name, "ordering comparisons of bool tensors are not supported");
  if (op == BinaryOp::pow && !is_floating(a.dtype()))
    fail<DtypeError>(name, "expected a float dtype, got {}", dtype_name(a.dtype()));
  check_same_device(name, a, b);
  Shape sh = broadcast_shapes(a.shape(), b.shape(), name);
  DType out = is_predicate(op) ? DType::boolean : a.dtype();
  return Tensor::make(sh, out, a.device(), std::make_shared<prims::Binary>(op),
                      {broadcast_to(a, sh), broadcast_to(b, sh)});
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::rsqrt, x); }
Tensor sin(const Tensor& x) { return unary(UnaryOp::sin, x); }
Tensor cos(const Tensor& x) { return unary(UnaryOp::cos, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x); }
Tensor gelu(const Tensor& x) { return unary(UnaryOp::gelu, x); }
Tensor gelu_tanh(const Tensor& x) { return unary(UnaryOp::gelu_tanh, x); }
Tensor square(const Tensor& x) { return unary(UnaryOp::square, x); }
Tensor log1p(const Tensor& x) { return unary(UnaryOp::log1p, x); }
Tensor expm1(const Tensor& x) { return unary(UnaryOp::expm1, x); }
Tensor erf(const Tensor& x) { return unary(UnaryOp::erf, x); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::sign, x); }
Tensor logical_not(const Tensor& x) { return unary(UnaryOp::logical_not, x); }

Tensor pow(const Tensor& x, double exponent) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>("pow", "expected a float dtype, got {}", dtype_name(x.dtype()));
  if (exponent == 1) return x;
  return Tensor::make(x.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::PowScalar>(exponent), {x});
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (x.dtype() == DType::boolean) fail<DtypeError>("clamp", "expected a numeric dtype, got bool");
  if (lo > hi) fail<ValueError>("clamp", "lo {} is greater than hi {}", lo, hi);
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Clamp>(lo, hi),
                      {x});
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
Tensor equal(const Tensor& a, const Tensor& b) { return binary(BinaryOp::eq, a, b); }
Tensor not_equal(const Tensor& a, const Tensor& b) { return binary(BinaryOp::ne, a, b); }
Tensor less(const Tensor& a, const Tensor& b) { return binary(BinaryOp::lt, a, b); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return binary(BinaryOp::le, a, b); }
Tensor greater(const Tensor& a, const Tensor& b) { return binary(BinaryOp::gt, a, b); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return binary(BinaryOp::ge, a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary(BinaryOp::logical_and, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary(BinaryOp::logical_or, a, b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (cond.dtype() != DType::boolean)
    fail<DtypeError>("where", "condition must be bool, got {}", dtype_name(cond.dtype()));
  if (a.dtype() != b.dtype())
    fail<DtypeError>("where", "dtypes differ: {} and {}", dtype_name(a.dtype()),
                     dtype_name(b.dtype()));
  check_same_device("where", a, b);
  check_same_device("where", cond, a);
  Shape sh =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  return Tensor::make(sh, a.dtype(), a.device(), std::make_shared<prims::Where>(),
                      {broadcast_to(cond, sh), broadcast_to(a, sh), broadcast_to(b, sh)});
}

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar(b, a.dtype(), a.device())); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar(b, a.dtype(), a.device())); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar(b, a.dtype(), a.device())); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar(b, a.dtype(), a.device())); }
Tensor operator+(double a, const Tensor& b) { return add(scalar(a, b.dtype(), b.device()), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar(a, b.dtype(), b.device()), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar(a, b.dtype(), b.device()), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar(a, b.dtype(), b.device()), b); }

}  // namespace wick
