// Lazy creation, random keys, device copies and the decode-step ops (kv_cache_write with a tensor
// offset, cached_attention against its masked composition).
#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"
#include "wick/core/autograd.h"
#include "wick/core/primitive.h"
#include "wick/ops.h"
#include "wick/ops/attention.h"
#include "wick/ops/kv_cache.h"
#include "wick/ops/primitives.h"

namespace wick {
namespace {

using testing::randn;

TEST(Creation, FullAndArangeAreLazyPrimitivesWithReadableParameters) {
  Tensor f = full({2, 3}, 2.5, DType::f32);
  ASSERT_TRUE(f.is_pending());
  EXPECT_EQ(f.primitive()->kind(), PrimitiveKind::full);
  EXPECT_EQ(f.primitive()->describe(), "full(value=2.5)");
  EXPECT_TRUE(testing::allclose(f, std::vector<double>(6, 2.5), 0, 0));
  Tensor a = arange(1.0, 2.0, 0.25, DType::f64);
  EXPECT_TRUE(a.is_pending());
  EXPECT_TRUE(testing::allclose(a, {1.0, 1.25, 1.5, 1.75}, 0, 0));
  // Integer ranges saturate instead of wrapping.
  EXPECT_TRUE(testing::allclose(astype(arange(0, 3, 1, DType::i32), DType::f64), {0, 1, 2}, 0, 0));
}

TEST(Creation, RandomDrawsEqualTheGeneratorsSerialDraws) {
  Generator g(42), serial(42);
  Tensor u = random_uniform({1000}, DType::f64, -1, 3, &g);
  Tensor n = random_normal({501}, DType::f64, 0.5, 2, &g);
  EXPECT_TRUE(u.is_pending());
  std::vector<double> eu, en;
  for (int i = 0; i < 1000; ++i) eu.push_back(-1 + 4 * serial.next_double());
  for (int i = 0; i < 501; ++i) en.push_back(0.5 + 2 * serial.next_normal());
  EXPECT_TRUE(testing::allclose(u, eu, 0, 0));
  EXPECT_TRUE(testing::allclose(n, en, 1e-15, 1e-15));
  EXPECT_EQ(g.counter(), serial.counter());  // advanced by the draws when built
}

TEST(Creation, TheRandomKeyIsAnInputSoEqualGraphsDiffer) {
  Generator g(1);
  Tensor a = random_normal({4}, DType::f32, 0, 1, &g);
  Tensor b = random_normal({4}, DType::f32, 0, 1, &g);
  // Same primitive (kind and parameters), different key inputs, different numbers.
  EXPECT_TRUE(a.primitive()->is_equivalent(*b.primitive()));
  EXPECT_EQ(a.primitive()->hash(), b.primitive()->hash());
  EXPECT_NE(a.to_vector<float>(), b.to_vector<float>());
}

TEST(Devices, ToDeviceRoundTripAndGradient) {
  Tensor x = randn({3, 5}, 3);
  Tensor y = x.to(Device::checked()).to(Device::cpu());
  EXPECT_TRUE(testing::allclose(y * 1.0, x.to_vector<double>(), 0, 0));
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) {
        return (square(in[0].to(Device::checked())) * 3.0).to(Device::cpu());
      },
      std::vector<Tensor>{x});
}

TEST(KvCache, TensorOffsetWritesInPlace) {
  Tensor cache = zeros({1, 2, 5, 3}, DType::f64).eval();
  Tensor x = randn({1, 2, 2, 3}, 5);
  Tensor off = scalar(2, DType::i64).eval();
  Tensor out = kv_cache_write(cache, x, off);
  std::vector<double> expect(30, 0.0);
  auto xv = x.to_vector<double>();
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < 2; ++t)
      for (int d = 0; d < 3; ++d)
        expect[size_t((h * 5 + 2 + t) * 3 + d)] = xv[size_t((h * 2 + t) * 3 + d)];
  EXPECT_TRUE(testing::allclose(out * 1.0, expect, 0, 0));
  EXPECT_EQ(out.buffer(), cache.buffer());  // written in place
  // A position past the cache is refused when the offset is known.
  testing::expect_error<ShapeError>([&] { kv_cache_write(cache, x, scalar(4, DType::i64).eval()); },
                                    "kv_cache_write");
  // ... and by the kernel when it is not.
  testing::expect_error<ShapeError>([&] { kv_cache_write(cache, x, scalar(4, DType::i64)).eval(); },
                                    "kv_cache_write");
}

TEST(CachedAttention, EqualsTheMaskedCompositionForEveryLengthAndWindow) {
  const int64_t B = 2, H = 6, Hkv = 2, S = 9, Dh = 5;
  for (int64_t T : {1, 3})
    for (int64_t window : {0, 2, 4})
      for (int64_t len = T; len <= S; len += 2) {
        SCOPED_TRACE(::testing::Message() << "T " << T << " window " << window << " len " << len);
        Tensor q = randn({B, H, T, Dh}, 11 + T), k = randn({B, Hkv, S, Dh}, 12),
               v = randn({B, Hkv, S, Dh}, 13);
        Tensor length = scalar(double(len), DType::i64).eval();
        Tensor fused = cached_attention(q, k, v, length, window);
        const auto prim = fused.primitive();  // evaluation detaches it
        // Reference: the plain composition over the filled prefix with a causal/window mask.
        Tensor kp = slice(k, 2, 0, len), vp = slice(v, 2, 0, len);
        Tensor rows = reshape(arange(double(len - T), double(len), 1, DType::i64), {T, 1});
        Tensor cols = reshape(arange(len), {1, len});
        Tensor allowed = less_equal(cols, rows);
        if (window > 0) allowed = logical_and(allowed, greater(cols, rows - double(window)));
        Tensor ref = scaled_dot_product_attention(q, kp, vp, allowed, Causal::no);
        EXPECT_TRUE(testing::allclose(fused, ref.to_vector<double>(), 1e-12, 1e-11));
        // The primitive's own fallback (used on devices without a kernel) agrees too.
        auto fb = prim->fallback({q, k, v, length});
        ASSERT_EQ(fb.size(), 1u);
        EXPECT_TRUE(testing::allclose(fb[0], ref.to_vector<double>(), 1e-12, 1e-11));
      }
}

}  // namespace
}  // namespace wick

namespace wick {
namespace {

// Gradients of linear_cross_entropy with respect to hidden and weight: one node with two outputs.
std::pair<Tensor, Tensor> lce_grads(const Tensor& h, const Tensor& w, const Tensor& t) {
  auto g = vjp({linear_cross_entropy(h, w, t, -100, Reduction::mean, 2)}, {scalar(1, h.dtype())},
               {h, w});
  return {g[0], g[1]};
}

TEST(MultiOutput, BothLinearCrossEntropyGradientsComeFromOneNode) {
  Tensor h = testing::randn({7, 5}, 21), w = testing::randn({11, 5}, 22);
  Tensor t = from_vector<int64_t>({3, -100, 10, 0, 5, 5, 1}, {7});
  auto [gh, gw] = lce_grads(h, w, t);
  ASSERT_EQ(gh.primitive()->kind(), PrimitiveKind::linear_cross_entropy_grad);
  ASSERT_NE(gh.id()->group, nullptr);
  EXPECT_EQ(gh.id()->group, gw.id()->group);
  EXPECT_EQ(gh.output_index(), 0);
  EXPECT_EQ(gw.output_index(), 1);
  EXPECT_EQ(gh.siblings().size(), 2u);
  // Equal, bit for bit, to the one-output nodes (the same chunked products).
  Tensor gh1 = vjp({linear_cross_entropy(h, w, t, -100, Reduction::mean, 2)},
                   {scalar(1, DType::f64)}, {h})[0];
  Tensor gw1 = vjp({linear_cross_entropy(stop_gradient(h), w, t, -100, Reduction::mean, 2)},
                   {scalar(1, DType::f64)}, {w})[0];
  EXPECT_EQ(gh1.id()->group, nullptr);
  eval({gh, gw, gh1, gw1});
  EXPECT_TRUE(testing::allclose(gh, gh1.to_vector<double>(), 0, 0));
  EXPECT_TRUE(testing::allclose(gw, gw1.to_vector<double>(), 0, 0));
  // And to the plain composition.
  auto ref = vjp({linear_cross_entropy_reference(h, w, t)}, {scalar(1, DType::f64)}, {h, w});
  EXPECT_TRUE(testing::allclose(gw, ref[1].to_vector<double>(), 1e-12, 1e-10));
}

TEST(MultiOutput, AnUnusedSiblingMayBeDroppedAndEagerModeWorks) {
  Tensor h = testing::randn({4, 3}, 23), w = testing::randn({6, 3}, 24);
  Tensor t = from_vector<int64_t>({1, 2, 5, 0}, {4});
  Tensor gh;
  {
    auto g = lce_grads(h, w, t);
    gh = g.first;
  }  // the weight gradient's node is gone before evaluation
  const auto ref = lce_grads(h, w, t).first.to_vector<double>();
  EXPECT_TRUE(testing::allclose(gh, ref, 0, 0));
  EagerMode on(true);  // eager differentiation goes through value_and_grad (graph retained)
  auto [loss, g] = value_and_grad(
      [&](const std::vector<Tensor>& p) {
        return linear_cross_entropy(p[0], p[1], t, -100, Reduction::mean, 2);
      },
      {h, w});
  EXPECT_TRUE(g[0].is_evaluated() && g[1].is_evaluated());
  EXPECT_TRUE(testing::allclose(g[0], ref, 0, 0));
}

TEST(MultiOutput, SecondOrderThroughBothOutputs) {
  Tensor h = testing::randn({5, 4}, 25), w = testing::randn({7, 4}, 26);
  Tensor t = from_vector<int64_t>({1, 6, -100, 0, 3}, {5});
  Tensor rh = testing::randn({5, 4}, 27), rw = testing::randn({7, 4}, 28);
  EXPECT_TRUE(testing::check_grad(
      [&](const std::vector<Tensor>& in) {
        auto [gh, gw] = lce_grads(in[0], in[1], t);
        return sum(gh * rh) + sum(gw * rw);
      },
      {h, w}, 1e-6, 1e-6, 1e-5));
}

}  // namespace
}  // namespace wick
