// Primitives as data: kinds from primitives.def, readable parameters, equivalence and hashing,
// declared effects and build-time layouts; scoped eager mode.
#include <gtest/gtest.h>

#include <thread>

#include "testing/testing.h"
#include "wick/core/autograd.h"
#include "wick/core/primitive.h"
#include "wick/ops.h"
#include "wick/ops/kv_cache.h"

namespace wick {
namespace {

TEST(Primitive, KindsNamesAndParameters) {
  EXPECT_EQ(int(all_primitive_names().size()), kNumPrimitiveKinds);
  EXPECT_STREQ(kind_name(PrimitiveKind::rms_norm), "rms_norm");
  Tensor x = testing::randn({2, 8}, 1, DType::f32);
  Tensor w = testing::randn({8}, 2, DType::f32);
  Tensor y = rms_norm(x, w, 1e-6);
  ASSERT_EQ(y.primitive()->kind(), PrimitiveKind::rms_norm);
  EXPECT_EQ(y.primitive()->describe(), "rms_norm(eps=1e-06, has_weight=1)");
  Tensor p = permute(reshape(x, {2, 2, 4}), {2, 0, 1});
  EXPECT_EQ(p.primitive()->describe(), "permute(axes=[2, 0, 1])");
}

TEST(Primitive, EquivalenceAndHashFollowKindAndParameters) {
  Tensor x = testing::randn({4, 6}, 3, DType::f32);
  auto prim = [](const Tensor& t) { return t.primitive(); };
  Tensor a = sum(x, {1}), b = sum(x, {1}), c = sum(x, {0}), d = max(x, {1});
  EXPECT_TRUE(prim(a)->is_equivalent(*prim(b)));
  EXPECT_EQ(prim(a)->hash(), prim(b)->hash());
  EXPECT_FALSE(prim(a)->is_equivalent(*prim(c)));  // other axes
  EXPECT_FALSE(prim(a)->is_equivalent(*prim(d)));  // other kind
  EXPECT_NE(prim(a)->hash(), prim(c)->hash());
  Tensor e = clamp(x, -1, 1), f = clamp(x, -1, 2);
  EXPECT_FALSE(prim(e)->is_equivalent(*prim(f)));
  // NaN parameters compare equal to themselves (bitwise), so CSE can merge such nodes.
  Tensor n1 = full({2}, NAN), n2 = full({2}, NAN);
  EXPECT_TRUE(prim(n1)->is_equivalent(*prim(n2)));
}

TEST(Primitive, DeclaredEffects) {
  Tensor x = testing::randn({4, 6}, 4, DType::f32);
  EXPECT_EQ(transpose(x, 0, 1).primitive()->effect(), Effect::view);
  EXPECT_EQ(slice(x, 1, 1, 3).primitive()->effect(), Effect::view);
  EXPECT_EQ(broadcast_to(reshape(x, {1, 4, 6}), {2, 4, 6}).primitive()->effect(), Effect::view);
  EXPECT_EQ(stop_gradient(x).primitive()->effect(), Effect::view);
  EXPECT_EQ(exp(x).primitive()->effect(), Effect::none);
  Tensor cache = zeros({1, 1, 4, 6}).eval();
  Tensor w = kv_cache_write(cache, reshape(slice(x, 0, 0, 1), {1, 1, 1, 6}), 2);
  EXPECT_EQ(w.primitive()->effect(), Effect::writes_input);
}

TEST(Primitive, LayoutsAreKnownWhenBuilt) {
  Tensor x = exp(testing::randn({4, 6}, 5, DType::f32));  // pending, row-major
  EXPECT_TRUE(x.is_pending());
  EXPECT_TRUE(x.is_contiguous());
  Tensor t = transpose(x, 0, 1);
  EXPECT_EQ(t.strides(), (Strides{1, 6}));
  // A reshape of a transpose cannot be a view: the copy is in the graph before it is run.
  Tensor r = reshape(t, {24});
  EXPECT_EQ(r.primitive()->kind(), PrimitiveKind::reshape);
  EXPECT_EQ(r.inputs()[0].primitive()->kind(), PrimitiveKind::contiguous);
  // A reshape of the row-major tensor is a view of it.
  Tensor v = reshape(x, {2, 12});
  EXPECT_TRUE(v.inputs()[0].same(x));
  v.eval();
  EXPECT_EQ(v.buffer(), x.buffer());
  EXPECT_TRUE(testing::allclose(
      r, astype(reshape(transpose(x, 0, 1), {24}), DType::f64).to_vector<double>(), 0, 0));
}

TEST(Modes, EagerIsScopedPerThread) {
  const bool before = eager();
  {
    EagerMode on(true);
    EXPECT_TRUE(exp(testing::randn({2}, 6, DType::f32)).is_evaluated());
    bool other = true;
    std::thread th([&] { other = eager(); });
    th.join();
    EXPECT_EQ(other, before);  // another thread keeps the process default
    {
      EagerMode off(false);
      EXPECT_TRUE(exp(testing::randn({2}, 6, DType::f32)).is_pending());
    }
    EXPECT_TRUE(eager());
  }
  EXPECT_EQ(eager(), before);
}

}  // namespace
}  // namespace wick
