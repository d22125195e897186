// kv_cache_write: in-place strided writes, chaining, errors.
#include <gtest/gtest.h>

#include "testing/testing.h"
#include "wick/ops/kv_cache.h"

namespace wick::testing {
namespace {

TEST(KvCacheWrite, WritesInPlaceAndChains) {
  for (DType dt : {DType::f32, DType::bf16}) {
    Tensor cache = zeros({1, 2, 5, 3}, dt);
    Tensor a = astype(randn({1, 2, 2, 3}, 3), dt).eval();
    Tensor braw = astype(randn({1, 1, 2, 3}, 4), dt).eval();
    Tensor b = transpose(braw, 1, 2);  // [1, 2, 1, 3], a strided view
    Tensor c2 = kv_cache_write(kv_cache_write(cache, a, 0), b, 3);
    auto av = a.to_vector<double>(), bv = braw.to_vector<double>();
    std::vector<double> expect(30, 0.0);
    for (int h = 0; h < 2; ++h)
      for (int d = 0; d < 3; ++d) {
        for (int t = 0; t < 2; ++t)
          expect[size_t((h * 5 + t) * 3 + d)] = av[size_t((h * 2 + t) * 3 + d)];
        expect[size_t((h * 5 + 3) * 3 + d)] = bv[size_t(h * 3 + d)];
      }
    EXPECT_TRUE(allclose(c2, expect, 0, 0));
    // In place: the original cache handle sees the writes.
    EXPECT_TRUE(allclose(cache, expect, 0, 0));
  }
  Tensor cache = zeros({1, 2, 5, 3});
  EXPECT_THROW(kv_cache_write(cache, zeros({1, 2, 2, 3}), 4), ShapeError);
  EXPECT_THROW(kv_cache_write(cache, zeros({1, 2, 1, 3}), -1), ShapeError);
  EXPECT_THROW(kv_cache_write(cache, zeros({1, 1, 1, 3}), 0), ShapeError);
  EXPECT_THROW(kv_cache_write(cache, zeros({1, 2, 1, 3}, DType::bf16), 0), DtypeError);
  Tensor strided = transpose(zeros({1, 5, 2, 3}), 1, 2).eval();
  ASSERT_FALSE(strided.is_contiguous());
  EXPECT_THROW(kv_cache_write(strided, zeros({1, 2, 1, 3}), 0), ValueError);
  try {
    kv_cache_write(cache, zeros({1, 2, 2, 3}), 4);
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[kv_cache_write]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wick::testing
