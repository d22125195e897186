#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "wick/core/dtype.h"
#include "wick/core/errors.h"

namespace wick {

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(to_float(to_bf16(3.140625f)), 3.140625f);
  // 1 + 2^-8 is exactly halfway between two bf16 values; ties go to even (1.0).
  EXPECT_EQ(to_float(to_bf16(1.0f + 0.00390625f)), 1.0f);
  EXPECT_TRUE(std::isnan(to_float(to_bf16(NAN))));
  EXPECT_TRUE(std::isinf(to_float(to_bf16(INFINITY))));
}

TEST(DType, F16RoundTripsEveryValue) {
  // Every finite f16 converts to float and back to the same bits.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint16_t bits = uint16_t(h);
    float f = f16_bits_to_float(bits);
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_f16_bits(f), bits) << "bits " << h;
  }
  EXPECT_EQ(f16_bits_to_float(0x3c00), 1.0f);
  EXPECT_EQ(f16_bits_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(float_to_f16_bits(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(float_to_f16_bits(65504.0f), 0x7bff);
  EXPECT_TRUE(std::isnan(f16_bits_to_float(float_to_f16_bits(NAN))));
}

TEST(DType, Names) {
  EXPECT_EQ(dtype_from_name("bfloat16"), DType::bf16);
  EXPECT_STREQ(dtype_name(DType::boolean), "bool");
  EXPECT_THROW(dtype_from_name("f8"), ValueError);
}

}  // namespace wick
