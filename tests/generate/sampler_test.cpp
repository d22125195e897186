// Sampler chain: each step against values worked out by hand from the transformers / OpenAI
// definitions, and the draw against its distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "wick/core/errors.h"
#include "wick/generate/sampler.h"

namespace wick::generate {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegativeOnce) {
  std::vector<float> l = {2.0f, -1.0f, 0.5f, 3.0f};
  std::vector<int32_t> ctx = {0, 1, 0, 0};  // repeats count once
  apply_repetition_penalty(l, ctx, 2.0);
  EXPECT_EQ(l, (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
  EXPECT_THROW(apply_repetition_penalty(l, std::vector<int32_t>{4}, 2.0), ValueError);
  EXPECT_THROW(apply_repetition_penalty(l, ctx, 0.0), ValueError);
}

TEST(Sampler, PresenceAndFrequency) {
  std::vector<float> l = {1.0f, 1.0f, 1.0f};
  std::vector<int32_t> gen = {2, 2, 0};
  apply_presence_frequency(l, gen, 0.5, 0.25);
  EXPECT_FLOAT_EQ(l[0], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(l[1], 1.0f);
  EXPECT_FLOAT_EQ(l[2], 1.0f - 0.5f - 0.5f);
}

TEST(Sampler, TopKKeepsTies) {
  std::vector<float> l = {1, 5, 3, 3, 0};
  apply_top_k(l, 2);  // 2nd largest is 3: both 3s stay
  EXPECT_EQ(l, (std::vector<float>{-kInf, 5, 3, 3, -kInf}));
  std::vector<float> m = {1, 2};
  apply_top_k(m, 5);  // k >= V: unchanged
  EXPECT_EQ(m, (std::vector<float>{1, 2}));
}

TEST(Sampler, TopPMatchesTransformersRule) {
  // probabilities 0.1, 0.2, 0.3, 0.4 (logits = log p).
  auto make = [] {
    return std::vector<float>{std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  };
  auto l = make();
  apply_top_p(l, 0.65);  // ascending cumsum 0.1, 0.3, 0.6, 1.0; drop <= 0.35 -> 0.1 and 0.2
  EXPECT_EQ(l[0], -kInf);
  EXPECT_EQ(l[1], -kInf);
  EXPECT_NE(l[2], -kInf);
  l = make();
  apply_top_p(l, 0.01);  // only the most likely survives
  EXPECT_EQ(l[2], -kInf);
  EXPECT_NE(l[3], -kInf);
  l = make();
  apply_top_p(l, 0.95);  // drop cumsum <= 0.05: nothing
  for (float x : l) EXPECT_NE(x, -kInf);
}

TEST(Sampler, MinPRelativeToTop) {
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  apply_min_p(l, 0.4);  // threshold 0.2
  EXPECT_NE(l[0], -kInf);
  EXPECT_NE(l[1], -kInf);
  EXPECT_EQ(l[2], -kInf);
  EXPECT_EQ(l[3], -kInf);
}

TEST(Sampler, TemperatureZeroIsGreedy) {
  Sampler s({.temperature = 0});
  std::vector<float> l = {0.1f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(l, {}, {}), 1);  // first maximum
  EXPECT_THROW(Sampler({.temperature = -1}), ValueError);
}

TEST(Sampler, GreedyAfterRepetitionPenalty) {
  Sampler s({.temperature = 0, .repetition_penalty = 4.0});
  std::vector<float> l = {3.0f, 1.0f};
  std::vector<int32_t> prompt = {0};
  EXPECT_EQ(s.sample(l, prompt, {}), 1);  // 3 / 4 < 1
}

TEST(Sampler, SeededDrawsFollowTheDistribution) {
  const std::vector<float> base = {std::log(0.2f), std::log(0.5f), std::log(0.3f)};
  Sampler s({.temperature = 1.0, .seed = 42});
  std::vector<int> counts(3, 0);
  std::vector<int32_t> first;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto l = base;
    int32_t t = s.sample(l, {}, {});
    ++counts[size_t(t)];
    if (i < 50) first.push_back(t);
  }
  // 5 standard deviations of a binomial: sqrt(n p (1-p)) ~ 71 for p = 0.5.
  EXPECT_NEAR(counts[0], 0.2 * n, 5 * std::sqrt(n * 0.2 * 0.8));
  EXPECT_NEAR(counts[1], 0.5 * n, 5 * std::sqrt(n * 0.5 * 0.5));
  EXPECT_NEAR(counts[2], 0.3 * n, 5 * std::sqrt(n * 0.3 * 0.7));
  // Same seed, same draws.
  Sampler again({.temperature = 1.0, .seed = 42});
  for (int i = 0; i < 50; ++i) {
    auto l = base;
    EXPECT_EQ(again.sample(l, {}, {}), first[size_t(i)]);
  }
}

TEST(Sampler, HighTemperatureFlattensLowSharpens) {
  const std::vector<float> base = {0.0f, 1.0f};
  auto freq1 = [&](double temp) {
    Sampler s({.temperature = temp, .seed = 7});
    int c = 0;
    for (int i = 0; i < 4000; ++i) {
      auto l = base;
      c += s.sample(l, {}, {});
    }
    return c / 4000.0;
  };
  // p(1) = sigmoid(1 / T): 0.731 at T=1, 0.993 at T=0.2, 0.562 at T=4.
  EXPECT_NEAR(freq1(1.0), 0.731, 0.04);
  EXPECT_NEAR(freq1(0.2), 0.993, 0.01);
  EXPECT_NEAR(freq1(4.0), 0.562, 0.04);
}

TEST(Sampler, TopKOneIsGreedyWhenSampling) {
  Sampler s({.temperature = 1.5, .top_k = 1, .seed = 3});
  for (int i = 0; i < 100; ++i) {
    std::vector<float> l = {0.5f, 0.4f, 0.6f};
    EXPECT_EQ(s.sample(l, {}, {}), 2);
  }
}

}  // namespace
}  // namespace wick::generate
