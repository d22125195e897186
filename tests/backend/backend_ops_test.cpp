// The backend harness (ggml's test-backend-ops, for wick): every primitive kind, in every dtype it
// takes, on awkward and non-contiguous shapes, forward and vjp, on every device present, against a
// float64 CPU reference at the dtype's tolerance. Devices run the same case and must agree with the
// CPU bit for bit when they share its kernels (the checked device), within tolerance otherwise.
// The table is checked against primitives.def: a new kind without a case fails the coverage test.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "testing/testing.h"
#include "wick/core/autograd.h"
#include "wick/core/backend.h"
#include "wick/core/checkpoint.h"
#include "wick/core/primitive.h"
#include "wick/ops.h"
#include "wick/ops/attention.h"
#include "wick/ops/kv_cache.h"

namespace wick {
namespace {

using testing::randn;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

constexpr DType kF32 = DType::f32, kF64 = DType::f64, kBf16 = DType::bf16, kF16 = DType::f16;
const std::vector<DType> kFloats = {kF32, kBf16, kF16};

// One case: float inputs (f64 values, cast to the case dtype), integer inputs kept as given, the
// op.
struct Case {
  std::string kind;
  std::vector<Shape> shapes;                  // float inputs, N(0,1)
  std::function<std::vector<Tensor>()> ints;  // extra integer/bool inputs (appended), may be null
  Fn op;
  std::vector<DType> dtypes = kFloats;
  bool grad = true;         // check the vjp too
  double loose = 1;         // tolerance multiplier (reductions, matmul: accumulated error)
  bool positive = false;    // inputs |x| + 0.5 (log, sqrt, ...)
  bool transpose0 = false;  // feed input 0 transposed (non-contiguous)
};

Tensor cast_in(const Tensor& x, DType d) { return astype(x, d).eval(); }

std::vector<Tensor> make_inputs(const Case& c, DType dtype, Device dev) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    Shape s = c.shapes[i];
    if (i == 0 && c.transpose0 && s.size() >= 2) std::swap(s[s.size() - 1], s[s.size() - 2]);
    Tensor x = randn(s, 1000 + i);
    if (c.positive) x = abs(x) + 0.5;
    x = cast_in(x, dtype);
    if (i == 0 && c.transpose0 && s.size() >= 2) x = mT(x);  // a strided view
    in.push_back(dev.type == DeviceType::cpu ? x : x.to(dev).eval());
  }
  if (c.ints)
    for (auto& t : c.ints()) in.push_back(dev.type == DeviceType::cpu ? t : t.to(dev).eval());
  return in;
}

std::vector<Device> devices() {
  std::vector<Device> r;
  for (Device d : available_devices())
    if (d.type != DeviceType::cpu) r.push_back(d);
  return r;
}

Tensor ids(std::vector<int64_t> v, Shape s) { return from_vector(v, s); }

std::vector<Case> cases() {
  std::vector<Case> c;
  auto unary = [&](const char* k, Tensor (*f)(const Tensor&), bool positive = false) {
    c.push_back({k, {{7, 127}}, nullptr, [f](auto& x) { return f(x[0]); }});
    c.back().positive = positive;
    c.push_back({k, {{5, 3}}, nullptr, [f](auto& x) { return f(x[0]); }});
    c.back().positive = positive;
    c.back().transpose0 = true;
  };
  unary("abs", abs);
  unary("cos", cos);
  unary("erf", erf);
  unary("exp", exp);
  unary("expm1", expm1);
  unary("gelu", gelu);
  unary("gelu_tanh", gelu_tanh);
  unary("log", log, true);
  unary("log1p", log1p, true);
  unary("neg", neg);
  unary("relu", relu);
  unary("rsqrt", rsqrt, true);
  unary("sigmoid", sigmoid);
  unary("silu", silu);
  unary("sin", sin);
  unary("sqrt", sqrt, true);
  unary("square", square);
  unary("tanh", tanh);
  c.push_back({"sign", {{7, 9}}, nullptr, [](auto& x) { return sign(x[0]); }});
  c.back().grad = false;
  auto binary = [&](const char* k, Tensor (*f)(const Tensor&, const Tensor&), bool positive = false,
                    bool grad = true) {
    c.push_back({k, {{3, 1, 127}, {4, 127}}, nullptr, [f](auto& x) { return f(x[0], x[1]); }});
    c.back().positive = positive;
    c.back().grad = grad;
  };
  binary("add", add);
  binary("sub", sub);
  binary("mul", mul);
  binary("div", div, true);
  binary("maximum", maximum);
  binary("minimum", minimum);
  binary("pow", pow, true);
  for (auto [k, f] : std::vector<std::pair<const char*, Tensor (*)(const Tensor&, const Tensor&)>>{
           {"equal", equal},
           {"not_equal", not_equal},
           {"less", less},
           {"less_equal", less_equal},
           {"greater", greater},
           {"greater_equal", greater_equal}})
    binary(k, f, false, false);
  for (auto [k, f] : std::vector<std::pair<const char*, Tensor (*)(const Tensor&, const Tensor&)>>{
           {"logical_and", logical_and}, {"logical_or", logical_or}})
    c.push_back(
        {k,
         {{6, 5}, {6, 5}},
         nullptr,
         [f](auto& x) { return f(greater(x[0], zeros_like(x[0])), less(x[1], zeros_like(x[1]))); },
         kFloats,
         false});
  c.push_back({"logical_not",
               {{6, 5}},
               nullptr,
               [](auto& x) { return logical_not(greater(x[0], zeros_like(x[0]))); },
               kFloats,
               false});
  c.push_back({"pow_scalar", {{7, 33}}, nullptr, [](auto& x) { return pow(x[0], 3.0); }});
  c.push_back({"clamp", {{7, 33}}, nullptr, [](auto& x) { return clamp(x[0], -0.5, 0.7); }});
  c.push_back({"where", {{4, 9}, {4, 9}, {4, 9}}, nullptr, [](auto& x) {
                 return where(greater(x[0], zeros_like(x[0])), x[1], x[2]);
               }});
  c.push_back({"full", {{3, 4}}, nullptr, [](auto& x) {
                 return x[0] * full({3, 4}, 1.5, x[0].dtype(), x[0].device());
               }});
  c.push_back({"arange", {{5}}, nullptr, [](auto& x) {
                 return x[0] * arange(-2.0, 3.0, 1.0, x[0].dtype(), x[0].device());
               }});
  c.push_back({"random_normal", {{4, 6}}, nullptr, [](auto& x) {
                 Generator g(7);
                 return x[0] + random_normal({4, 6}, x[0].dtype(), 0.5, 2.0, &g, x[0].device());
               }});
  c.push_back({"random_uniform", {{4, 6}}, nullptr, [](auto& x) {
                 Generator g(9);
                 return x[0] * random_uniform({4, 6}, x[0].dtype(), -1, 3, &g, x[0].device());
               }});
  c.push_back({"dropout", {{8, 33}}, nullptr, [](auto& x) {
                 Generator g(11);
                 return dropout(x[0], 0.3, &g);
               }});
  // Views and copies.
  c.push_back({"reshape", {{4, 6}}, nullptr, [](auto& x) { return reshape(x[0], {2, 12}); }});
  c.back().transpose0 = true;  // not viewable: copies first
  c.push_back({"permute", {{2, 3, 4}}, nullptr, [](auto& x) { return permute(x[0], {2, 0, 1}); }});
  c.push_back({"slice", {{5, 9}}, nullptr, [](auto& x) { return slice(x[0], 1, 1, 8, 3); }});
  c.push_back({"broadcast_to", {{1, 5}}, nullptr, [](auto& x) {
                 return broadcast_to(x[0], {4, 5});
               }});
  c.push_back({"contiguous", {{4, 7}}, nullptr, [](auto& x) { return contiguous(x[0]); }});
  c.back().transpose0 = true;
  c.push_back({"astype", {{4, 7}}, nullptr, [](auto& x) {
                 return astype(astype(x[0], kF32), x[0].dtype());
               }});
  c.push_back(
      {"slice_scatter", {{5, 9}}, nullptr, [](auto& x) { return slice(x[0], 1, 1, 8, 3); }});
  c.push_back(
      {"stop_gradient", {{3, 4}}, nullptr, [](auto& x) { return x[0] * stop_gradient(x[0]); }});
  c.push_back(
      {"depend", {{3, 4}, {3, 4}}, nullptr, [](auto& x) { return depend(x[0], {x[1]}) * 2.0; }});
  c.push_back({"checkpoint", {{3, 4}}, nullptr, [](auto& x) {
                 return checkpoint([](const std::vector<Tensor>& in) { return tanh(in[0]) * 3.0; },
                                   {x[0]});
               }});
  c.push_back({"to_device", {{3, 4}}, nullptr, [](auto& x) {
                 return x[0].to(Device::cpu()).to(x[0].device()) * 2.0;
               }});
  // Reductions, softmax, norms, rope, matmul.
  c.push_back({"sum", {{7, 129}}, nullptr, [](auto& x) { return sum(x[0], {1}); }});
  c.back().loose = 10;
  c.push_back({"max", {{7, 129}}, nullptr, [](auto& x) { return max(x[0], {0}); }});
  c.push_back({"min", {{7, 129}}, nullptr, [](auto& x) { return min(x[0], {1}); }});
  c.push_back({"argmax",
               {{7, 129}},
               nullptr,
               [](auto& x) { return astype(argmax(x[0], 1), kF64); },
               kFloats,
               false});
  c.push_back({"softmax", {{3, 127}}, nullptr, [](auto& x) { return softmax(x[0], -1); }});
  c.push_back({"log_softmax", {{3, 127}}, nullptr, [](auto& x) { return log_softmax(x[0], 0); }});
  c.back().loose = 10;
  c.push_back({"rms_norm", {{3, 5, 64}, {64}}, nullptr, [](auto& x) {
                 return rms_norm(x[0], x[1], 1e-5);
               }});
  c.back().loose = 10;
  c.push_back({"layer_norm", {{3, 64}, {64}, {64}}, nullptr, [](auto& x) {
                 return layer_norm(x[0], x[1], x[2], 1e-5);
               }});
  c.back().loose = 10;
  c.push_back({"rope",
               {{1, 2, 5, 8}},
               nullptr,
               [](auto& x) {
                 Tensor f = rope_inv_freq(8, 10000.0).to(x[0].device());
                 return rope(x[0], f, 3, RopeLayout::rotate_half);
               },
               {kF32}});
  c.back().loose = 10;
  c.push_back(
      {"matmul", {{2, 7, 33}, {33, 5}}, nullptr, [](auto& x) { return matmul(x[0], x[1]); }});
  c.back().loose = 30;
  // Indexing.
  c.push_back({"take",
               {{9, 4}},
               [] {
                 return std::vector<Tensor>{ids({3, 0, 8, 3}, {2, 2})};
               },
               [](auto& x) { return take(x[0], x[1], 0); }});
  c.push_back({"take_along_axis",
               {{3, 5}},
               [] {
                 return std::vector<Tensor>{ids({0, 4, 1, 1, 2, 3}, {3, 2})};
               },
               [](auto& x) { return take_along_axis(x[0], x[1], 1); }});
  c.push_back({"scatter_add",
               {{4, 3}, {2, 3}},
               [] {
                 return std::vector<Tensor>{ids({1, 3, 1, 1, 0, 1}, {2, 3})};
               },
               [](auto& x) { return scatter_add(x[0], 0, x[2], x[1]); }});
  c.push_back({"concat", {{2, 3}, {4, 3}}, nullptr, [](auto& x) {
                 return concat({x[0], x[1]}, 0);
               }});
  c.push_back({"stack", {{2, 3}, {2, 3}}, nullptr, [](auto& x) { return stack({x[0], x[1]}, 1); }});
  c.push_back({"tril", {{5, 6}}, nullptr, [](auto& x) { return tril(x[0], 1); }});
  c.push_back({"triu", {{5, 6}}, nullptr, [](auto& x) { return triu(x[0], -1); }});
  // Losses.
  c.push_back({"cross_entropy",
               {{6, 11}},
               [] {
                 return std::vector<Tensor>{ids({3, -100, 10, 0, 5, 5}, {6})};
               },
               [](auto& x) { return cross_entropy(x[0], x[1]); }});
  c.back().loose = 10;
  c.push_back({"cross_entropy_grad",
               {{6, 11}},
               [] {
                 return std::vector<Tensor>{ids({3, -100, 10, 0, 5, 5}, {6})};
               },
               [](auto& x) { return cross_entropy(x[0], x[1], -100, Reduction::sum); }});
  c.back().loose = 10;
  c.push_back({"linear_cross_entropy",
               {{6, 8}, {13, 8}},
               [] {
                 return std::vector<Tensor>{ids({3, -100, 12, 0, 5, 5}, {6})};
               },
               [](auto& x) { return linear_cross_entropy(x[0], x[1], x[2]); },
               {kF32}});
  c.back().loose = 30;
  c.push_back(c.back());
  c.back().kind = "linear_cross_entropy_grad";
  // Decoding.
  c.push_back({"kv_cache_write",
               {{1, 2, 6, 4}, {1, 2, 2, 4}},
               nullptr,
               [](auto& x) {
                 Tensor cache = contiguous(x[0] * 1.0).eval();
                 Tensor off = scalar(3, DType::i64, x[0].device()).eval();
                 return kv_cache_write(cache, x[1], off) * 1.0;
               },
               kFloats,
               false});
  c.push_back({"cached_attention",
               {{1, 4, 2, 8}, {1, 2, 7, 8}, {1, 2, 7, 8}},
               nullptr,
               [](auto& x) {
                 Tensor len = scalar(5, DType::i64, x[0].device()).eval();
                 return cached_attention(x[0], contiguous(x[1]), contiguous(x[2]), len, 3);
               },
               kFloats,
               false});
  c.back().loose = 10;
  return c;
}

// The op applied to f64 CPU copies of the inputs (integer inputs unchanged).
std::vector<double> reference(const Case& c, const std::vector<Tensor>& in) {
  std::vector<Tensor> r;
  for (const auto& x : in) r.push_back(is_floating(x.dtype()) ? astype(x, kF64).eval() : x);
  Tensor out = c.op(r);
  return astype(out, kF64).to_vector<double>();
}

std::vector<double> values(const Tensor& t) {
  return astype(t.to(Device::cpu()), kF64).to_vector<double>();
}

TEST(BackendOps, EveryPrimitiveKindHasACase) {
  std::set<std::string> have;
  for (const auto& c : cases()) have.insert(c.kind);
  for (const char* k : all_primitive_names())
    EXPECT_TRUE(have.count(k)) << "primitive '" << k << "' has no case in the backend harness";
}

TEST(BackendOps, ForwardAndVjpOnEveryDevice) {
  const auto devs = devices();
  ASSERT_FALSE(devs.empty()) << "the checked device should always be present";
  for (const auto& c : cases()) {
    for (DType dt : c.dtypes) {
      SCOPED_TRACE(c.kind + " " + dtype_name(dt));
      std::vector<Tensor> in = make_inputs(c, dt, Device::cpu());
      Tensor cpu_out = c.op(in);
      const std::vector<double> cpu_v = values(cpu_out);
      const auto tol = testing::default_tol(dt);
      EXPECT_TRUE(
          testing::allclose(cpu_v, reference(c, in), tol.atol * c.loose, tol.rtol * c.loose, true));
      // A random cotangent's vjp on the CPU.
      std::vector<Tensor> wrt;
      for (const auto& x : in)
        if (is_floating(x.dtype())) wrt.push_back(x);
      std::vector<std::vector<double>> cpu_g;
      Tensor ct;
      if (c.grad) {
        ct = cast_in(randn(cpu_out.shape(), 77), cpu_out.dtype());
        for (auto& g : vjp({c.op(in)}, {ct}, wrt)) cpu_g.push_back(values(g));
      }
      for (Device d : devs) {
        SCOPED_TRACE(device_name(d));
        std::vector<Tensor> din = make_inputs(c, dt, d);
        Tensor out = c.op(din);
        EXPECT_EQ(out.device(), d);
        // The checked device runs the CPU's kernels: bit for bit. Other devices sum in another
        // order: the dtype's tolerance against the CPU.
        const bool exact = d.type == DeviceType::checked;
        const double atol = exact ? 0 : tol.atol * c.loose, rtol = exact ? 0 : tol.rtol * c.loose;
        EXPECT_TRUE(testing::allclose(values(out), cpu_v, atol, rtol, true));
        if (!c.grad) continue;
        std::vector<Tensor> dwrt;
        for (const auto& x : din)
          if (is_floating(x.dtype())) dwrt.push_back(x);
        auto gs = vjp({c.op(din)}, {ct.to(d)}, dwrt);
        for (size_t i = 0; i < gs.size(); ++i)
          EXPECT_TRUE(testing::allclose(values(gs[i]), cpu_g[i], atol, rtol, true)) << "grad " << i;
      }
    }
  }
}

}  // namespace
}  // namespace wick
