#pragma once
// Test helpers shared by every test binary: comparisons that fail on NaN and report the worst
// element, f64 finite-difference gradient checks, and the op-coverage record.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "wick/ops.h"

namespace wick::testing {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Absolute path of a file under the source tree (fixtures, goldens).
std::string source_path(const std::string& rel);
/// A fresh, empty folder <tmp>/wick_<name>_<pid> (removed first if it exists).
std::filesystem::path temp_dir(const std::string& name);
/// Runs f and expects an exception of type E whose message names "[op]".
template <class E, class F>
void expect_error(F&& f, const std::string& op) {
  try {
    f();
    ADD_FAILURE() << "expected an exception naming [" << op << "]";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find("[" + op + "]"), std::string::npos) << e.what();
  }
}

/// The committed fixtures folder, tests/fixtures.
inline std::filesystem::path fixtures_dir() { return source_path("tests/fixtures"); }

/// Default tolerances by dtype (STYLE.md): f32 1e-6/1e-5, f64 1e-12/1e-10, f16 2e-3/1e-2,
/// bf16 1.6e-2/5e-2.
struct Tol {
  double atol, rtol;
};
Tol default_tol(DType t);

/// |a - e| <= atol + rtol * |e| for every element; a NaN or Inf in either side fails unless the
/// other side has the same non-finite value at the same place and `allow_nonfinite` is set.
/// On failure the message holds the worst element (index, values, errors) and the first mismatches.
::testing::AssertionResult allclose(const std::vector<double>& actual,
                                    const std::vector<double>& expected, double atol, double rtol,
                                    bool allow_nonfinite = false);
/// Same for a tensor (evaluated here; shape must equal `shape` when given). Records the primitives
/// of a pending tensor's graph as forward-tested.
::testing::AssertionResult allclose(const Tensor& actual, const std::vector<double>& expected,
                                    double atol, double rtol, bool allow_nonfinite = false);
::testing::AssertionResult allclose(const Tensor& actual, const Tensor& expected, double atol,
                                    double rtol, bool allow_nonfinite = false);

#define EXPECT_ALLCLOSE(a, e, atol, rtol) \
  EXPECT_TRUE(::wick::testing::allclose((a), (e), (atol), (rtol)))

/// Checks the vjp of `fn` at f64 `inputs` against central finite differences with a random
/// cotangent; every input is perturbed element by element. Records the graph's primitives as
/// gradient-tested. `wrt` selects inputs (empty = all float inputs).
::testing::AssertionResult check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                      const std::vector<Tensor>& inputs, double eps = 1e-6,
                                      double atol = 1e-7, double rtol = 1e-6,
                                      std::vector<int> wrt = {});

#define EXPECT_GRAD(fn, inputs) EXPECT_TRUE(::wick::testing::check_grad((fn), (inputs)))

enum class Coverage { forward, gradient };
/// Records the primitives in the pending graph of `t` as tested for `kind`.
void note_graph(const Tensor& t, Coverage kind);
/// Names recorded so far.
const std::vector<std::string>& covered(Coverage kind);

/// Random f64 tensor N(0,1) of `shape` from a fixed seed (then cast with astype as needed).
Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::f64);

}  // namespace wick::testing
