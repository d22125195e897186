// Overflow-safe size arithmetic (wick/io/checked_size.h).
#include <gtest/gtest.h>

#include <limits>

#include "wick/io/checked_size.h"

namespace wick::io {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(CheckedSize, ProductsAndSumsThatFit) {
  EXPECT_EQ(checked_mul(int64_t(1) << 31, int64_t(1) << 31, "x"), int64_t(1) << 62);
  EXPECT_EQ(checked_add(kMax - 1, 1, "x"), kMax);
  EXPECT_EQ(checked_size({2, 3, 7}, "x"), 42);
  EXPECT_EQ(checked_size({}, "x"), 1);
  EXPECT_EQ(checked_size({5, 0, int64_t(1) << 62}, "x"), 0);
  EXPECT_EQ(checked_range(5, 0, 5, "--k"), 5);
}

TEST(CheckedSize, OverflowNegativeAndLimitAreErrorsNamingTheInput) {
  // 2^62 tokens of KV cache times 2 (the generate --max-tokens crash of issue 13).
  EXPECT_THROW(checked_mul(int64_t(1) << 62, 2, "kv"), ValueError);
  EXPECT_THROW(checked_mul(int64_t(1) << 32, int64_t(1) << 32, "kv"), ValueError);
  EXPECT_THROW(checked_add(kMax, 1, "x"), ValueError);
  EXPECT_THROW(checked_mul(-1, 2, "x"), ValueError);
  EXPECT_THROW(checked_add(3, -1, "x"), ValueError);
  EXPECT_THROW(checked_size({1 << 20, 1 << 20}, "x", int64_t(1) << 39), ValueError);
  try {
    checked_range(-3, 0, 100, "--top-k");
    FAIL() << "no throw";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "[range] --top-k = -3 is out of range; expected 0..100");
  }
  try {
    checked_mul(int64_t(1) << 62, 4, "config.json: vocab_size x hidden_size");
    FAIL() << "no throw";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: vocab_size x hidden_size"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace wick::io
