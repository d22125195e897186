// Op coverage: every primitive in core/primitives.def must have a forward test and, unless it is
// non-differentiable, a gradient test in this binary. Coverage is recorded by testing::allclose
// (forward) and testing::check_grad (gradient) on pending graphs. The check runs in a global test
// environment's TearDown, i.e. after every test of the binary whatever the link (and so the
// registration) order; its failures fail the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "testing/testing.h"
#include "wick/core/primitive.h"

namespace wick {
namespace {

// Primitives without a gradient test by design: their output is never differentiated through.
// Append new non-differentiable primitives here (sorted).
const std::set<std::string> kNonDifferentiable = {
    "arange",         "argmax",        "cached_attention", "equal",     "full",
    "greater",        "greater_equal", "kv_cache_write",   "less",      "less_equal",
    "logical_and",    "logical_not",   "logical_or",       "not_equal", "random_normal",
    "random_uniform", "sign",          "stop_gradient",
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void check_coverage() {
  const auto& fwd = testing::covered(testing::Coverage::forward);
  const auto& grad = testing::covered(testing::Coverage::gradient);
  std::set<std::string> listed;
  for (const char* n : all_primitive_names()) {
    std::string name = n;
    EXPECT_TRUE(listed.insert(name).second) << name << " is listed twice in primitives.def";
    EXPECT_TRUE(has(fwd, name)) << "primitive '" << name << "' has no forward test";
    if (!kNonDifferentiable.count(name)) {
      EXPECT_TRUE(has(grad, name)) << "primitive '" << name << "' has no gradient test";
    }
  }
  // A primitive that ran in a test but is missing from primitives.def is a listing mistake.
  for (const auto* cov : {&fwd, &grad})
    for (const auto& name : *cov)
      EXPECT_TRUE(listed.count(name)) << "primitive '" << name << "' is not in primitives.def";
  for (const auto& name : kNonDifferentiable)
    EXPECT_TRUE(listed.count(name)) << "'" << name << "' in kNonDifferentiable is not a primitive";
}

class CoverageCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string filter = ::testing::GTEST_FLAG(filter);
    if (filter != "*" && !filter.empty()) return;  // coverage needs the whole suite
    check_coverage();
  }
};

[[maybe_unused]] ::testing::Environment* const kCoverageCheck =
    ::testing::AddGlobalTestEnvironment(new CoverageCheck);

}  // namespace
}  // namespace wick
