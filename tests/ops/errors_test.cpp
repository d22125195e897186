// Bad input to the core ops fails when the op is built, with a typed error whose message names the
// op ("[matmul] ...").
#include <gtest/gtest.h>

#include <string>

#include "testing/testing.h"

namespace wick {
namespace {

// Runs fn, expecting exception type E whose message contains "[op]".
template <class E, class F>
::testing::AssertionResult throws(F&& fn, const std::string& op) {
  try {
    fn();
  } catch (const E& e) {
    std::string m = e.what();
    if (m.find("[" + op + "]") == std::string::npos)
      return ::testing::AssertionFailure() << "message does not name [" << op << "]: " << m;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "wrong exception type: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception";
}

const Tensor f32_23 = zeros({2, 3});
const Tensor f64_23 = zeros({2, 3}, DType::f64);
const Tensor i32_23 = zeros({2, 3}, DType::i32);
const Tensor b_23 = zeros({2, 3}, DType::boolean);

TEST(Errors, Elementwise) {
  EXPECT_TRUE(throws<ShapeError>([] { add(f32_23, zeros({3, 2})); }, "add"));
  EXPECT_TRUE(throws<ShapeError>([] { greater(f32_23, zeros({4})); }, "greater"));
  EXPECT_TRUE(throws<DtypeError>([] { mul(f32_23, f64_23); }, "mul"));
  EXPECT_TRUE(throws<DtypeError>([] { maximum(f32_23, i32_23); }, "maximum"));
  EXPECT_TRUE(throws<DtypeError>([] { add(b_23, b_23); }, "add"));
  EXPECT_TRUE(throws<DtypeError>([] { less(b_23, b_23); }, "less"));
  EXPECT_TRUE(throws<DtypeError>([] { logical_and(f32_23, f32_23); }, "logical_and"));
  EXPECT_TRUE(throws<DtypeError>([] { pow(i32_23, i32_23); }, "pow"));
  EXPECT_TRUE(throws<DtypeError>([] { pow(i32_23, 2.0); }, "pow"));
  EXPECT_TRUE(throws<DtypeError>([] { exp(i32_23); }, "exp"));
  EXPECT_TRUE(throws<DtypeError>([] { gelu(i32_23); }, "gelu"));
  EXPECT_TRUE(throws<DtypeError>([] { neg(b_23); }, "neg"));
  EXPECT_TRUE(throws<DtypeError>([] { logical_not(f32_23); }, "logical_not"));
  EXPECT_TRUE(throws<DtypeError>([] { clamp(b_23, 0, 1); }, "clamp"));
  EXPECT_TRUE(throws<ValueError>([] { clamp(f32_23, 1, 0); }, "clamp"));
  EXPECT_TRUE(throws<DtypeError>([] { where(f32_23, f32_23, f32_23); }, "where"));
  EXPECT_TRUE(throws<DtypeError>([] { where(b_23, f32_23, f64_23); }, "where"));
  EXPECT_TRUE(throws<ShapeError>([] { where(b_23, f32_23, zeros({4})); }, "where"));
}

TEST(Errors, Reductions) {
  EXPECT_TRUE(throws<ShapeError>([] { sum(f32_23, {2}); }, "sum"));
  EXPECT_TRUE(throws<ShapeError>([] { max(f32_23, {-3}); }, "max"));
  EXPECT_TRUE(throws<ShapeError>([] { min(f32_23, {0, 0}); }, "min"));
  EXPECT_TRUE(throws<ShapeError>([] { max(zeros({0, 3}), {0}); }, "max"));
  EXPECT_TRUE(throws<ShapeError>([] { min(zeros({0})); }, "min"));
  EXPECT_TRUE(throws<ShapeError>([] { argmax(zeros({3, 0}), 1); }, "argmax"));
  EXPECT_TRUE(throws<ShapeError>([] { argmax(f32_23, 2); }, "argmax"));
  EXPECT_TRUE(throws<DtypeError>([] { sum(b_23); }, "sum"));
  EXPECT_TRUE(throws<DtypeError>([] { argmax(b_23, 0); }, "argmax"));
  EXPECT_TRUE(throws<DtypeError>([] { mean(i32_23); }, "mean"));
  EXPECT_TRUE(throws<DtypeError>([] { var(i32_23); }, "var"));
  EXPECT_TRUE(throws<DtypeError>([] { logsumexp(i32_23); }, "logsumexp"));
  EXPECT_TRUE(throws<ShapeError>([] { mean(f32_23, {5}); }, "mean"));
}

TEST(Errors, Matmul) {
  EXPECT_TRUE(throws<ShapeError>([] { matmul(f32_23, f32_23); }, "matmul"));
  EXPECT_TRUE(throws<ShapeError>([] { matmul(zeros({3}), zeros({3, 2})); }, "matmul"));
  EXPECT_TRUE(throws<ShapeError>([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 2})); }, "matmul"));
  EXPECT_TRUE(throws<DtypeError>([] { matmul(f32_23, zeros({3, 2}, DType::f64)); }, "matmul"));
  EXPECT_TRUE(throws<DtypeError>([] { matmul(i32_23, zeros({3, 2}, DType::i32)); }, "matmul"));
  EXPECT_TRUE(throws<ShapeError>([] { linear(f32_23, zeros({4, 2})); }, "linear"));
  EXPECT_TRUE(throws<ShapeError>([] { linear(f32_23, zeros({3})); }, "linear"));
  EXPECT_TRUE(throws<ShapeError>([] { linear(f32_23, zeros({4, 3}), zeros({3})); }, "linear"));
}

TEST(Errors, Views) {
  EXPECT_TRUE(throws<ShapeError>([] { reshape(f32_23, {4, 2}); }, "reshape"));
  EXPECT_TRUE(throws<ShapeError>([] { reshape(f32_23, {-1, -1}); }, "reshape"));
  EXPECT_TRUE(throws<ShapeError>([] { reshape(f32_23, {4, -1}); }, "reshape"));
  EXPECT_TRUE(throws<ShapeError>([] { reshape(f32_23, {-2, 3}); }, "reshape"));
  EXPECT_TRUE(throws<ShapeError>([] { permute(f32_23, {0}); }, "permute"));
  EXPECT_TRUE(throws<ShapeError>([] { permute(f32_23, {1, 1}); }, "permute"));
  EXPECT_TRUE(throws<ShapeError>([] { permute(f32_23, {0, 2}); }, "permute"));
  EXPECT_TRUE(throws<ShapeError>([] { transpose(f32_23, 0, 2); }, "transpose"));
  EXPECT_TRUE(throws<ShapeError>([] { mT(zeros({3})); }, "mT"));
  EXPECT_TRUE(throws<ShapeError>([] { slice(f32_23, 2, 0, 1); }, "slice"));
  EXPECT_TRUE(throws<ValueError>([] { slice(f32_23, 0, 0, 1, 0); }, "slice"));
  EXPECT_TRUE(throws<ValueError>([] { slice(f32_23, 0, 1, 0, -1); }, "slice"));
  EXPECT_TRUE(throws<ShapeError>([] { broadcast_to(f32_23, {3, 3}); }, "broadcast_to"));
  EXPECT_TRUE(throws<ShapeError>([] { broadcast_to(f32_23, {3}); }, "broadcast_to"));
  EXPECT_TRUE(throws<ShapeError>([] { broadcast_to(f32_23, {2, 1}); }, "broadcast_to"));
  EXPECT_TRUE(throws<ShapeError>([] { squeeze(f32_23, 0); }, "squeeze"));
  EXPECT_TRUE(throws<ShapeError>([] { squeeze(f32_23, 3); }, "squeeze"));
  EXPECT_TRUE(throws<ShapeError>([] { unsqueeze(f32_23, 4); }, "unsqueeze"));
  EXPECT_TRUE(throws<ShapeError>([] { flatten(f32_23, 1, 0); }, "flatten"));
  EXPECT_TRUE(throws<ShapeError>([] { flatten(f32_23, 0, 5); }, "flatten"));
}

TEST(Errors, CreationAndTensor) {
  EXPECT_TRUE(throws<ShapeError>([] { zeros({2, -1}); }, "full"));
  EXPECT_TRUE(throws<ValueError>([] { arange(0, 3, 0); }, "arange"));
  EXPECT_TRUE(throws<ShapeError>([] { from_vector<float>({1, 2}, {3}); }, "from_vector"));
  EXPECT_TRUE(throws<DtypeError>([] { random_normal({2}, DType::i64); }, "random_normal"));
  EXPECT_TRUE(throws<ShapeError>([] { f32_23.item<float>(); }, "item"));
  EXPECT_TRUE(throws<ShapeError>([] { f32_23.shape(2); }, "shape"));
  EXPECT_TRUE(throws<ValueError>([] { dtype_from_name("f8"); }, "dtype"));
  EXPECT_TRUE(throws<ValueError>([] { Tensor().shape(); }, "tensor"));
  // Errors surface when the op is built, not later at eval.
  Tensor a = zeros({2, 3}) * 2.0;
  EXPECT_TRUE(a.is_pending());
  EXPECT_TRUE(throws<ShapeError>([&] { matmul(a, a); }, "matmul"));
}

}  // namespace
}  // namespace wick
