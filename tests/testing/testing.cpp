#include "testing/testing.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <sstream>

#include <unistd.h>

#include "wick/core/graph.h"
#include "wick/core/primitive.h"

namespace wick::testing {

std::string source_path(const std::string& rel) { return std::string(WICK_SOURCE_DIR) + "/" + rel; }

std::filesystem::path temp_dir(const std::string& name) {
  auto d =
      std::filesystem::temp_directory_path() / ("wick_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

Tol default_tol(DType t) {
  switch (t) {
    case DType::f64:
      return {1e-12, 1e-10};
    case DType::f16:
      return {2e-3, 1e-2};
    case DType::bf16:
      return {1.6e-2, 5e-2};
    default:
      return {1e-6, 1e-5};
  }
}

::testing::AssertionResult allclose(const std::vector<double>& actual,
                                    const std::vector<double>& expected, double atol, double rtol,
                                    bool allow_nonfinite) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " != expected " << expected.size();
  size_t worst = 0, bad = 0;
  double worst_excess = -1;
  std::ostringstream first;
  for (size_t i = 0; i < actual.size(); ++i) {
    double a = actual[i], e = expected[i];
    bool ok;
    double excess;
    if (!std::isfinite(a) || !std::isfinite(e)) {
      bool same = (std::isnan(a) && std::isnan(e)) || a == e;
      ok = allow_nonfinite && same;
      excess = ok ? 0 : INFINITY;
    } else {
      double err = std::abs(a - e), tol = atol + rtol * std::abs(e);
      ok = err <= tol;
      excess = err - tol;
    }
    if (!ok) {
      if (bad < 5) first << "\n  [" << i << "] got " << a << " expected " << e;
      ++bad;
    }
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  double wa = actual[worst], we = expected[worst];
  return ::testing::AssertionFailure()
         << bad << " of " << actual.size() << " elements differ (atol " << atol << ", rtol " << rtol
         << "); worst at [" << worst << "]: got " << wa << " expected " << we << " abs err "
         << std::abs(wa - we) << " rel err " << std::abs(wa - we) / std::max(std::abs(we), 1e-300)
         << first.str();
}

::testing::AssertionResult allclose(const Tensor& actual, const std::vector<double>& expected,
                                    double atol, double rtol, bool allow_nonfinite) {
  note_graph(actual, Coverage::forward);
  return allclose(actual.to_vector<double>(), expected, atol, rtol, allow_nonfinite);
}

::testing::AssertionResult allclose(const Tensor& actual, const Tensor& expected, double atol,
                                    double rtol, bool allow_nonfinite) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " != expected "
                                         << shape_str(expected.shape());
  return allclose(actual, expected.to_vector<double>(), atol, rtol, allow_nonfinite);
}

namespace {
std::mutex g_mu;
std::set<std::string> g_cov[2];
std::vector<std::string> g_cov_list[2];
}  // namespace

void note_graph(const Tensor& t, Coverage kind) {
  if (!t.valid()) return;
  auto order = topo_sort({t}, true);
  std::lock_guard<std::mutex> lock(g_mu);
  for (const auto& n : order) {
    std::string name = n.primitive()->name();
    if (g_cov[int(kind)].insert(name).second) g_cov_list[int(kind)].push_back(name);
  }
}

const std::vector<std::string>& covered(Coverage kind) { return g_cov_list[int(kind)]; }

Tensor randn(const Shape& shape, uint64_t seed, DType dtype) {
  Generator g(seed);
  return random_normal(shape, dtype, 0, 1, &g);
}

namespace {
double dot_with(const Tensor& y, const std::vector<double>& c) {
  auto v = y.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * c[i];
  return s;
}
}  // namespace

::testing::AssertionResult check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                      const std::vector<Tensor>& inputs, double eps, double atol,
                                      double rtol, std::vector<int> wrt) {
  if (wrt.empty())
    for (size_t i = 0; i < inputs.size(); ++i)
      if (is_floating(inputs[i].dtype())) wrt.push_back(int(i));
  for (int i : wrt)
    if (inputs[size_t(i)].dtype() != DType::f64)
      return ::testing::AssertionFailure() << "check_grad needs f64 inputs (input " << i << ")";
  std::vector<Tensor> params;
  for (int i : wrt) params.push_back(inputs[size_t(i)]);
  // Analytic: vjp with a random cotangent.
  Tensor y;
  {
    RetainGraph keep;
    y = fn(inputs);
  }
  note_graph(y, Coverage::forward);
  Generator gen(1234);
  Tensor cot = random_normal(y.shape(), y.dtype(), 0, 1, &gen);
  auto cv = cot.to_vector<double>();
  auto grads = vjp({y}, {cot}, params);
  note_graph(y, Coverage::gradient);
  eval(grads);
  // Numeric: central differences of <fn(x), c>.
  for (size_t k = 0; k < wrt.size(); ++k) {
    const Tensor& x0 = inputs[size_t(wrt[k])];
    auto xv = x0.to_vector<double>();
    std::vector<double> numeric(xv.size());
    for (size_t j = 0; j < xv.size(); ++j) {
      auto run = [&](double delta) {
        auto pert = xv;
        pert[j] += delta;
        std::vector<Tensor> ins = inputs;
        ins[size_t(wrt[k])] = from_vector(pert, x0.shape());
        return dot_with(fn(ins), cv);
      };
      numeric[j] = (run(eps) - run(-eps)) / (2 * eps);
    }
    auto r = allclose(grads[k].to_vector<double>(), numeric, atol, rtol);
    if (!r)
      return ::testing::AssertionFailure() << "gradient of input " << wrt[k] << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace wick::testing
