// Indexing ops against plain-loop f64 references: take/index_select/embedding, take_along_axis,
// scatter_add, concat/stack/split, tril/triu, causal and padding masks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "testing/testing.h"

namespace wick {
namespace {

using testing::kInf;

const std::vector<DType> kAllDtypes = {DType::f32, DType::f64, DType::bf16,   DType::f16,
                                       DType::i32, DType::i64, DType::boolean};
const std::vector<DType> kFloatDtypes = {DType::f32, DType::f64, DType::bf16, DType::f16};

// An evaluated input of `dtype`: N(0,1) for floats, N(0,50) truncated for ints, sign for bool.
Tensor make_input(const Shape& s, uint64_t seed, DType dt) {
  Tensor r = testing::randn(s, seed);
  Tensor t;
  if (dt == DType::boolean) {
    t = greater(r, scalar(0, DType::f64));
  } else if (!is_floating(dt)) {
    t = astype(r * 50.0, dt);
  } else {
    t = astype(r, dt);
  }
  t.eval();
  return t;
}

// Evaluated integer tensor of `shape` with values drawn from [0, n) (repeats likely).
Tensor make_indices(const Shape& s, int64_t n, uint64_t seed, DType dt = DType::i64) {
  Generator g(seed);
  std::vector<int64_t> v(size_t(numel_of(s)));
  for (auto& e : v) e = int64_t(g.next_u64() % uint64_t(n));
  return from_vector(v, s, dt);
}

int64_t prod(const Shape& s, size_t b, size_t e) {
  int64_t n = 1;
  for (size_t d = b; d < e; ++d) n *= s[d];
  return n;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    c[d] = i % s[d];
    i /= s[d];
  }
  return c;
}

int64_t ravel(const std::vector<int64_t>& c, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + c[d];
  return i;
}

std::vector<double> ref_take(const std::vector<double>& x, const Shape& xs,
                             const std::vector<int64_t>& idx, size_t a) {
  const int64_t outer = prod(xs, 0, a), n = xs[a], inner = prod(xs, a + 1, xs.size());
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j : idx)
      for (int64_t i = 0; i < inner; ++i) out.push_back(x[size_t((o * n + j) * inner + i)]);
  return out;
}

std::vector<double> ref_take_along(const std::vector<double>& x, const Shape& xs,
                                   const std::vector<int64_t>& idx, const Shape& is, size_t a) {
  std::vector<double> out(idx.size());
  for (size_t p = 0; p < idx.size(); ++p) {
    auto c = unravel(int64_t(p), is);
    c[a] = idx[p];
    out[p] = x[size_t(ravel(c, xs))];
  }
  return out;
}

std::vector<double> ref_scatter_add(std::vector<double> base, const Shape& bs,
                                    const std::vector<int64_t>& idx, const Shape& is,
                                    const std::vector<double>& src, const Shape& ss, size_t a) {
  for (size_t p = 0; p < idx.size(); ++p) {
    auto c = unravel(int64_t(p), is);
    const double v = src[size_t(ravel(c, ss))];
    c[a] = idx[p];
    base[size_t(ravel(c, bs))] += v;
  }
  return base;
}

using testing::expect_error;

// ---- take / index_select / embedding ----------------------------------------------------------

TEST(Take, MatchesLoopReferenceForEveryDtypeAndAxis) {
  const Shape xs = {3, 127, 5};
  for (DType dt : kAllDtypes) {
    Tensor x = make_input(xs, 1, dt);
    auto xv = x.to_vector<double>();
    for (int axis : {0, 1, 2, -1}) {
      const size_t a = size_t(axis < 0 ? axis + 3 : axis);
      Tensor idx = make_indices({2, 4}, xs[a], 10 + a);  // 2-d indices with repeats
      Tensor y = take(x, idx, axis);
      Shape want(xs.begin(), xs.begin() + long(a));
      want.insert(want.end(), {2, 4});
      want.insert(want.end(), xs.begin() + long(a) + 1, xs.end());
      EXPECT_EQ(y.shape(), want);
      EXPECT_EQ(y.dtype(), dt);
      EXPECT_TRUE(testing::allclose(y, ref_take(xv, xs, idx.to_vector<int64_t>(), a), 0, 0))
          << dtype_name(dt) << " axis " << axis;
    }
  }
}

TEST(Take, NonContiguousAndBroadcastInputsAndI32Indices) {
  Tensor base = make_input({5, 7, 4}, 2, DType::f32);
  Tensor xt = transpose(base, 0, 2);                                    // [4, 7, 5], strided
  Tensor xs = slice(xt, 1, 1, 7, 2);                                    // [4, 3, 5], stepped
  Tensor xb = broadcast_to(make_input({1, 6}, 3, DType::f32), {3, 6});  // 0-stride rows
  Tensor it = transpose(make_indices({3, 2}, 3, 4, DType::i32), 0, 1);  // strided i32 indices
  struct Case {
    Tensor x;
    int axis;
  };
  for (const auto& c : {Case{xt, 1}, Case{xt, 2}, Case{xs, 1}, Case{xs, 0}, Case{xb, 0}}) {
    Tensor x = c.x;
    x.eval();
    EXPECT_FALSE(x.is_contiguous());
    const size_t a = size_t(c.axis);
    Tensor idx = it;
    auto y = take(x, idx, c.axis);
    EXPECT_TRUE(testing::allclose(
        y, ref_take(x.to_vector<double>(), x.shape(), idx.to_vector<int64_t>(), a), 0, 0))
        << "axis " << c.axis << " shape " << shape_str(x.shape());
  }
}

TEST(Take, LargeRowsAndManyIndicesRunInParallel) {
  Tensor x = make_input({3, 4097}, 5, DType::f32);
  auto xv = x.to_vector<double>();
  Tensor rows = make_indices({5}, 3, 6);
  EXPECT_TRUE(testing::allclose(take(x, rows, 0),
                                ref_take(xv, {3, 4097}, rows.to_vector<int64_t>(), 0), 0, 0));
  Tensor cols = make_indices({4097}, 4097, 7, DType::i32);
  EXPECT_TRUE(testing::allclose(take(x, cols, 1),
                                ref_take(xv, {3, 4097}, cols.to_vector<int64_t>(), 1), 0, 0));
}

TEST(Take, ZeroDimIndicesDropTheAxis) {
  Tensor x = make_input({4, 3}, 8, DType::f64);
  Tensor y = take(x, from_vector<int64_t>({2}, {}), 0);
  EXPECT_EQ(y.shape(), Shape({3}));
  auto xv = x.to_vector<double>();
  EXPECT_TRUE(testing::allclose(y, {xv[6], xv[7], xv[8]}, 0, 0));
}

TEST(Take, NaNAndInfAreCopied) {
  Tensor x = from_vector<double>({1, std::nan(""), kInf, -kInf}, {4}, DType::f32);
  Tensor y = take(x, from_vector<int64_t>({3, 1, 2}, {3}), 0);
  EXPECT_TRUE(testing::allclose(y, {-kInf, std::nan(""), kInf}, 0, 0, true));
}

TEST(IndexSelect, IsTakeWithOneDimIndices) {
  Tensor x = make_input({4, 6}, 9, DType::bf16);
  Tensor idx = from_vector<int32_t>({5, 0, 5}, {3});
  auto xv = x.to_vector<double>();
  Tensor y = index_select(x, 1, idx);
  EXPECT_EQ(y.shape(), Shape({4, 3}));
  EXPECT_TRUE(testing::allclose(y, ref_take(xv, {4, 6}, {5, 0, 5}, 1), 0, 0));
  EXPECT_EQ(index_select(x, 0, from_vector<int64_t>({1}, {})).shape(), Shape({1, 6}));
  expect_error<ShapeError>([&] { index_select(x, 0, make_indices({2, 2}, 4, 1)); }, "index_select");
}

TEST(Embedding, LooksUpRows) {
  Tensor w = make_input({11, 3}, 10, DType::f32);
  Tensor ids = from_vector<int64_t>({0, 10, 3, 3, 7, 0, 1, 2}, {2, 4});
  Tensor y = embedding(w, ids);
  EXPECT_EQ(y.shape(), Shape({2, 4, 3}));
  EXPECT_TRUE(testing::allclose(
      y, ref_take(w.to_vector<double>(), {11, 3}, ids.to_vector<int64_t>(), 0), 0, 0));
  expect_error<ShapeError>([&] { embedding(make_input({11}, 1, DType::f32), ids); }, "embedding");
}

TEST(Take, ErrorsNameTheOp) {
  Tensor x = make_input({4, 3}, 11, DType::f32);
  // Evaluated indices are checked at build time.
  expect_error<ValueError>([&] { take(x, from_vector<int64_t>({0, 4}, {2}), 0); }, "take");
  expect_error<ValueError>([&] { take(x, from_vector<int64_t>({-1}, {1}), 0); }, "take");
  expect_error<ValueError>([&] { embedding(x, from_vector<int32_t>({7}, {1})); }, "embedding");
  // Pending indices are checked when evaluated.
  Tensor pending = from_vector<int64_t>({1, 2}, {2}) * from_vector<int64_t>({1, 3}, {2});
  Tensor y = take(x, pending, 1);
  expect_error<ValueError>([&] { y.eval(); }, "take");
  expect_error<DtypeError>([&] { take(x, from_vector<float>({0}, {1}), 0); }, "take");
  expect_error<DtypeError>([&] { embedding(x, make_input({2}, 1, DType::boolean)); }, "embedding");
  expect_error<ShapeError>([&] { take(x, from_vector<int64_t>({0}, {1}), 2); }, "take");
  expect_error<ShapeError>([&] { take(scalar(1), from_vector<int64_t>({0}, {1}), 0); }, "take");
}

TEST(Take, GradientScatterAddsRepeatedIndices) {
  Tensor idx = from_vector<int64_t>({2, 0, 2, 2, 4}, {5});
  for (int axis : {0, 1}) {
    Tensor x = testing::randn({5, 5}, 12);
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return take(in[0], idx, axis); },
                std::vector<Tensor>{x});
  }
  Tensor ids = from_vector<int32_t>({1, 1, 0, 3, 1, 0}, {2, 3});
  EXPECT_GRAD([&](const std::vector<Tensor>& in) { return embedding(in[0], ids); },
              std::vector<Tensor>{testing::randn({4, 3}, 13)});
  EXPECT_GRAD([&](const std::vector<Tensor>& in) { return take(in[0], ids, 1); },
              std::vector<Tensor>{testing::randn({2, 4, 3}, 14)});
  // d/dw sum(embedding(w, ids)) counts how often each row was used.
  Tensor w = ones({4, 2}, DType::f32);
  auto [v, g] =
      value_and_grad([&](const std::vector<Tensor>& p) { return sum(embedding(p[0], ids)); }, {w});
  EXPECT_TRUE(testing::allclose(g[0], {2, 2, 3, 3, 0, 0, 1, 1}, 0, 0));
}

// ---- take_along_axis --------------------------------------------------------------------------

TEST(TakeAlongAxis, MatchesLoopReference) {
  const Shape xs = {4, 6, 5};
  for (DType dt : kAllDtypes) {
    Tensor x = make_input(xs, 20, dt);
    auto xv = x.to_vector<double>();
    for (int axis : {0, 1, 2}) {
      Shape is = {3, 4, 4};
      is[size_t(axis)] = 9;  // longer than x along the axis: repeats
      Tensor idx = make_indices(is, xs[size_t(axis)], 21 + uint64_t(axis), DType::i32);
      Tensor y = take_along_axis(x, idx, axis);
      EXPECT_EQ(y.shape(), is);
      EXPECT_TRUE(testing::allclose(
          y, ref_take_along(xv, xs, idx.to_vector<int64_t>(), is, size_t(axis)), 0, 0))
          << dtype_name(dt) << " axis " << axis;
    }
  }
}

TEST(TakeAlongAxis, NonContiguousInputsAndLargeRows) {
  Tensor x = transpose(make_input({7, 3}, 22, DType::f16), 0, 1);  // [3, 7]
  x.eval();
  Tensor idx = transpose(make_indices({4, 3}, 7, 23), 0, 1);  // [3, 4]
  EXPECT_TRUE(testing::allclose(
      take_along_axis(x, idx, 1),
      ref_take_along(x.to_vector<double>(), {3, 7}, idx.to_vector<int64_t>(), {3, 4}, 1), 0, 0));
  // Broadcast indices over a wide row ([1] -> [2, 4097]).
  Tensor w = make_input({2, 4097}, 24, DType::f32);
  Tensor ib = broadcast_to(from_vector<int64_t>({1, 0}, {2, 1}), {2, 4097});
  EXPECT_TRUE(testing::allclose(
      take_along_axis(w, ib, 0),
      ref_take_along(w.to_vector<double>(), {2, 4097}, ib.to_vector<int64_t>(), {2, 4097}, 0), 0,
      0));
}

TEST(TakeAlongAxis, GradientAndErrors) {
  Tensor idx = from_vector<int64_t>({0, 0, 2, 1, 1, 1, 2, 2}, {2, 4});
  EXPECT_GRAD([&](const std::vector<Tensor>& in) { return take_along_axis(in[0], idx, 1); },
              std::vector<Tensor>{testing::randn({3, 3}, 26)});
  Tensor x = make_input({3, 3}, 27, DType::f32);
  expect_error<ShapeError>([&] { take_along_axis(x, make_indices({3}, 3, 1), 1); },
                           "take_along_axis");
  expect_error<ShapeError>(
      [&] {
        take_along_axis(x, make_indices({4, 1}, 3, 1), 1);
      },
      "take_along_axis");
  expect_error<ValueError>(
      [&] {
        take_along_axis(x, from_vector<int64_t>({3}, {1, 1}), 1);
      },
      "take_along_axis");
  expect_error<DtypeError>([&] { take_along_axis(x, x, 1); }, "take_along_axis");
}

// ---- scatter_add ------------------------------------------------------------------------------

TEST(ScatterAdd, MatchesLoopReferenceWithRepeats) {
  const Shape bs = {4, 6, 5}, ss = {9, 9, 9};
  for (DType dt : kFloatDtypes) {
    Tensor base = make_input(bs, 30, dt), src = make_input(ss, 31, dt);
    for (int axis : {0, 1, 2}) {
      Shape is = {3, 5, 4};  // within base off the axis, within src everywhere
      is[size_t(axis)] = 8;  // longer than base along the axis: repeats
      Tensor idx = make_indices(is, bs[size_t(axis)], 32 + uint64_t(axis));
      Tensor y = scatter_add(base, axis, idx, src);
      auto want = ref_scatter_add(base.to_vector<double>(), bs, idx.to_vector<int64_t>(), is,
                                  src.to_vector<double>(), ss, size_t(axis));
      auto tol = testing::default_tol(dt);
      EXPECT_TRUE(testing::allclose(y, want, tol.atol * 10, tol.rtol))
          << dtype_name(dt) << " axis " << axis;
    }
  }
}

TEST(ScatterAdd, NonContiguousInputs) {
  Tensor base = transpose(make_input({5, 4}, 33, DType::f64), 0, 1);     // [4, 5]
  Tensor src = slice(make_input({4, 10}, 34, DType::f64), 1, 0, 10, 2);  // [4, 5] stepped
  Tensor idx = transpose(make_indices({5, 4}, 4, 35), 0, 1);             // [4, 5]
  eval({base, src, idx});
  auto want = ref_scatter_add(base.to_vector<double>(), {4, 5}, idx.to_vector<int64_t>(), {4, 5},
                              src.to_vector<double>(), {4, 5}, 0);
  EXPECT_TRUE(testing::allclose(scatter_add(base, 0, idx, src), want, 1e-12, 1e-12));
}

TEST(ScatterAdd, ManyRepeatsAreDeterministic) {
  // 2000 rows land on 7: each output sums ~290 values; columns run in parallel.
  Tensor base = make_input({7, 300}, 36, DType::f32), src = make_input({2000, 300}, 37, DType::f32);
  Tensor idx = make_indices({2000, 300}, 7, 38);
  Tensor y1 = scatter_add(base, 0, idx, src), y2 = scatter_add(base, 0, idx, src);
  auto want = ref_scatter_add(base.to_vector<double>(), {7, 300}, idx.to_vector<int64_t>(),
                              {2000, 300}, src.to_vector<double>(), {2000, 300}, 0);
  // f32 sums of ~290 N(0,1) terms: measured max abs error 4.5e-5 at |y| ~ 37.
  EXPECT_TRUE(testing::allclose(y1, want, 1e-4, 1e-5));
  EXPECT_EQ(y1.to_vector<float>(), y2.to_vector<float>());
  // bf16 accumulates in f32: the error is the final rounding, at most half a bf16 step (2^-8
  // relative); rounding every add in bf16 would be far worse. Measured 2.9e-3 relative.
  Tensor yb = scatter_add(astype(base, DType::bf16), 0, idx, astype(src, DType::bf16));
  auto wantb = ref_scatter_add(astype(base, DType::bf16).to_vector<double>(), {7, 300},
                               idx.to_vector<int64_t>(), {2000, 300},
                               astype(src, DType::bf16).to_vector<double>(), {2000, 300}, 0);
  EXPECT_TRUE(testing::allclose(yb, wantb, 1e-6, 4e-3));
}

TEST(ScatterAdd, GradientBothInputs) {
  Tensor idx = from_vector<int64_t>({0, 2, 2, 2, 1, 0}, {2, 3});
  for (int axis : {0, 1}) {
    // src [3, 4] is larger than idx [2, 3]: the unused part gets zero gradient.
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return scatter_add(in[0], axis, idx, in[1]); },
                (std::vector<Tensor>{testing::randn({3, 3}, 40), testing::randn({3, 4}, 41)}));
  }
}

TEST(ScatterAdd, Errors) {
  Tensor base = make_input({3, 3}, 42, DType::f32), src = make_input({3, 3}, 43, DType::f32);
  Tensor idx = make_indices({3, 3}, 3, 44);
  expect_error<DtypeError>(
      [&] {
        scatter_add(make_input({3, 3}, 1, DType::i32), 0, idx, make_input({3, 3}, 1, DType::i32));
      },
      "scatter_add");
  expect_error<DtypeError>([&] { scatter_add(base, 0, idx, astype(src, DType::f64)); },
                           "scatter_add");
  expect_error<DtypeError>([&] { scatter_add(base, 0, src, src); }, "scatter_add");
  expect_error<ValueError>(
      [&] {
        scatter_add(base, 0, from_vector<int64_t>({0, 3}, {1, 2}), src);
      },
      "scatter_add");
  expect_error<ShapeError>(
      [&] {
        scatter_add(base, 0, make_indices({4, 3}, 3, 1), src);
      },
      "scatter_add");
  expect_error<ShapeError>([&] { scatter_add(base, 0, make_indices({3}, 3, 1), src); },
                           "scatter_add");
  expect_error<ShapeError>([&] { scatter_add(base, 2, idx, src); }, "scatter_add");
}

// ---- concat / stack / split -------------------------------------------------------------------

TEST(Concat, MatchesLoopReferenceForEveryDtype) {
  for (DType dt : kAllDtypes) {
    for (int axis : {0, 1, -1}) {
      const size_t a = size_t(axis < 0 ? axis + 3 : axis);
      std::vector<Tensor> xs;
      std::vector<int64_t> lens = {3, 0, 1, 5};
      for (size_t k = 0; k < lens.size(); ++k) {
        Shape s = {2, 3, 4};
        s[a] = lens[k];
        xs.push_back(make_input(s, 50 + k, dt));
      }
      Tensor y = concat(xs, axis);
      Shape ys = {2, 3, 4};
      ys[a] = 9;
      EXPECT_EQ(y.shape(), ys);
      std::vector<double> want(size_t(numel_of(ys)));
      int64_t start = 0;
      for (size_t k = 0; k < xs.size(); ++k) {
        auto v = xs[k].to_vector<double>();
        for (size_t p = 0; p < v.size(); ++p) {
          auto c = unravel(int64_t(p), xs[k].shape());
          c[a] += start;
          want[size_t(ravel(c, ys))] = v[p];
        }
        start += lens[k];
      }
      EXPECT_TRUE(testing::allclose(y, want, 0, 0)) << dtype_name(dt) << " axis " << axis;
    }
  }
}

TEST(Concat, NonContiguousAndLargeInputs) {
  Tensor a = transpose(make_input({4097, 3}, 51, DType::f32), 0, 1);  // [3, 4097] strided
  Tensor b = broadcast_to(make_input({1, 4097}, 52, DType::f32), {2, 4097});
  Tensor c = make_input({3, 4097}, 53, DType::f32);
  eval({a, b});
  std::vector<double> want;
  for (const Tensor& t : {a, b, c})
    for (double v : t.to_vector<double>()) want.push_back(v);
  EXPECT_TRUE(testing::allclose(concat({a, b, c}, 0), want, 0, 0));
  std::vector<double> want1;
  auto av = a.to_vector<double>(), cv = c.to_vector<double>();
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t j = 0; j < 4097; ++j) want1.push_back(av[size_t(r * 4097 + j)]);
    for (int64_t j = 0; j < 4097; ++j) want1.push_back(cv[size_t(r * 4097 + j)]);
  }
  EXPECT_TRUE(testing::allclose(concat({a, c}, 1), want1, 0, 0));
}

TEST(Concat, GradientIsSlices) {
  for (int axis : {0, 1}) {
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return concat(in, axis); },
                (std::vector<Tensor>{testing::randn({2, 3}, 54), testing::randn({2, 3}, 55),
                                     testing::randn({2, 3}, 56)}));
  }
  // The same tensor twice: gradients add.
  Tensor x = ones({2}, DType::f64);
  auto [v, g] = value_and_grad(
      [&](const std::vector<Tensor>& p) {
        return sum(concat({p[0], p[0] * 3.0}, 0));
      },
      {x});
  EXPECT_TRUE(testing::allclose(g[0], {4, 4}, 0, 0));
}

TEST(Concat, Errors) {
  Tensor a = make_input({2, 3}, 57, DType::f32);
  expect_error<ShapeError>([&] { concat({a, make_input({3, 3}, 1, DType::f32)}, 1); }, "concat");
  expect_error<ShapeError>([&] { concat({a, make_input({2, 3, 1}, 1, DType::f32)}, 0); }, "concat");
  expect_error<DtypeError>([&] { concat({a, make_input({2, 3}, 1, DType::f64)}, 0); }, "concat");
  expect_error<ValueError>([&] { concat({}, 0); }, "concat");
  expect_error<ShapeError>([&] { concat({a, a}, 2); }, "concat");
}

TEST(Stack, JoinsAlongANewAxis) {
  Tensor a = make_input({2, 3}, 58, DType::i32), b = make_input({2, 3}, 59, DType::i32);
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> want;  // axis 1: out[i][k][j]
  for (int i = 0; i < 2; ++i)
    for (const auto* v : {&av, &bv})
      for (int j = 0; j < 3; ++j) want.push_back((*v)[size_t(i * 3 + j)]);
  Tensor y = stack({a, b}, 1);
  EXPECT_EQ(y.shape(), Shape({2, 2, 3}));
  EXPECT_TRUE(testing::allclose(y, want, 0, 0));
  EXPECT_EQ(stack({a, b}, -1).shape(), Shape({2, 3, 2}));
  for (int axis : {0, 1, 2})
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return stack(in, axis); },
                (std::vector<Tensor>{testing::randn({3, 2}, 60), testing::randn({3, 2}, 61)}));
  // Strided and broadcast inputs.
  Tensor t = transpose(make_input({3, 2}, 64, DType::f32), 0, 1);  // [2, 3]
  Tensor bc = broadcast_to(make_input({1, 3}, 65, DType::f32), {2, 3});
  eval({t, bc});
  auto tv = t.to_vector<double>(), bcv = bc.to_vector<double>();
  std::vector<double> want2;  // axis 2: out[i][j][k]
  for (size_t p = 0; p < 6; ++p) {
    want2.push_back(tv[p]);
    want2.push_back(bcv[p]);
  }
  EXPECT_TRUE(testing::allclose(stack({t, bc}, 2), want2, 0, 0));
  expect_error<ShapeError>([&] { stack({a, make_input({3, 2}, 1, DType::i32)}, 0); }, "stack");
  expect_error<DtypeError>([&] { stack({a, make_input({2, 3}, 1, DType::i64)}, 0); }, "stack");
  expect_error<ValueError>([&] { stack({}, 0); }, "stack");
}

TEST(Split, PiecesAreViewsWithTheRightValues) {
  Tensor x = make_input({3, 10}, 62, DType::f32);
  auto xv = x.to_vector<double>();
  auto parts = split(x, std::vector<int64_t>{2, 0, 7, 1}, 1);
  ASSERT_EQ(parts.size(), 4u);
  int64_t start = 0;
  for (const auto& p : parts) {
    const int64_t n = p.shape()[1];
    std::vector<double> want;
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t j = 0; j < n; ++j) want.push_back(xv[size_t(r * 10 + start + j)]);
    EXPECT_TRUE(testing::allclose(p, want, 0, 0));
    if (n > 0) {
      EXPECT_EQ(p.buffer(), x.buffer());  // a view, not a copy
    }
    start += n;
  }
  auto halves = split(x, 2, 1);
  EXPECT_EQ(halves[1].shape(), Shape({3, 5}));
  EXPECT_TRUE(testing::allclose(halves[1], slice(x, 1, 5, 10), 0, 0));
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) {
        auto p = split(in[0], std::vector<int64_t>{1, 2}, 0);
        return p[1] * 2.0 + sum(p[0]);
      },
      std::vector<Tensor>{testing::randn({3, 2}, 63)});
  expect_error<ShapeError>([&] { split(x, std::vector<int64_t>{2, 7}, 1); }, "split");
  expect_error<ValueError>([&] { split(x, std::vector<int64_t>{11, -1}, 1); }, "split");
  expect_error<ShapeError>([&] { split(x, 3, 1); }, "split");
  expect_error<ValueError>([&] { split(x, 0, 1); }, "split");
}

// ---- tril / triu ------------------------------------------------------------------------------

TEST(Tri, MatchesDefinition) {
  for (DType dt : {DType::f32, DType::bf16, DType::i32, DType::boolean}) {
    for (Shape s : {Shape{3, 5, 7}, Shape{127, 3}, Shape{1, 1}}) {
      Tensor x = make_input(s, 70, dt);
      auto xv = x.to_vector<double>();
      const int64_t m = s[s.size() - 2], n = s.back();
      for (int64_t k : {-2, 0, 1, 9}) {
        std::vector<double> lo(xv.size()), up(xv.size());
        for (size_t p = 0; p < xv.size(); ++p) {
          const int64_t i = int64_t(p) / n % m, j = int64_t(p) % n;
          lo[p] = j - i <= k ? xv[p] : 0;
          up[p] = j - i >= k ? xv[p] : 0;
        }
        EXPECT_TRUE(testing::allclose(tril(x, k), lo, 0, 0)) << dtype_name(dt) << " k " << k;
        EXPECT_TRUE(testing::allclose(triu(x, k), up, 0, 0)) << dtype_name(dt) << " k " << k;
      }
    }
  }
}

TEST(Tri, NonContiguousInputAndNaNOutsideIsZeroed) {
  Tensor x = transpose(make_input({2, 4, 3}, 71, DType::f64), 0, 2);  // [3, 4, 2]
  x.eval();
  auto xv = x.to_vector<double>();
  std::vector<double> want(xv.size());
  for (size_t p = 0; p < xv.size(); ++p) {
    const int64_t i = int64_t(p) / 2 % 4, j = int64_t(p) % 2;
    want[p] = j <= i ? xv[p] : 0;
  }
  EXPECT_TRUE(testing::allclose(tril(x), want, 0, 0));
  Tensor nan_above = from_vector<double>({1, std::nan(""), 2, 3}, {2, 2});
  EXPECT_TRUE(testing::allclose(tril(nan_above), {1, 0, 2, 3}, 0, 0));
}

TEST(Tri, GradientMasksTheCotangent) {
  for (int64_t k : {-1, 0, 2}) {
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return tril(in[0], k); },
                std::vector<Tensor>{testing::randn({2, 3, 4}, 72)});
    EXPECT_GRAD([&](const std::vector<Tensor>& in) { return triu(in[0], k); },
                std::vector<Tensor>{testing::randn({2, 3, 4}, 73)});
  }
  expect_error<ShapeError>([] { tril(ones({3})); }, "tril");
  expect_error<ShapeError>([] { triu(scalar(1)); }, "triu");
}

// ---- masks ------------------------------------------------------------------------------------

TEST(CausalMask, MatchesDefinition) {
  struct Case {
    int64_t t, s, offset, eff;
  };
  for (DType dt : kFloatDtypes) {
    for (auto c : {Case{3, 5, -1, 2}, Case{5, 5, -1, 0}, Case{4, 6, 0, 0}, Case{1, 1, -1, 0},
                   Case{127, 130, -1, 3}, Case{3, 3, -2, -2}}) {
      Tensor m = causal_mask(c.t, c.s, dt, c.offset);
      EXPECT_EQ(m.shape(), Shape({c.t, c.s}));
      EXPECT_EQ(m.dtype(), dt);
      std::vector<double> want;
      for (int64_t t = 0; t < c.t; ++t)
        for (int64_t s = 0; s < c.s; ++s) want.push_back(s <= t + c.eff ? 0.0 : -kInf);
      EXPECT_TRUE(testing::allclose(m, want, 0, 0, true)) << dtype_name(dt);
    }
  }
  expect_error<DtypeError>([] { causal_mask(2, 2, DType::i32); }, "causal_mask");
  expect_error<ShapeError>([] { causal_mask(-1, 2); }, "causal_mask");
}

TEST(PaddingMask, MatchesDefinition) {
  std::vector<int64_t> am = {1, 1, 1, 0, 0, 0, 1, 1, 1, 1};
  std::vector<double> want;
  for (auto v : am) want.push_back(v ? 0.0 : -kInf);
  for (DType mdt : {DType::i32, DType::i64, DType::boolean}) {
    for (DType dt : kFloatDtypes) {
      Tensor m = padding_mask(from_vector(am, {2, 5}, mdt), dt);
      EXPECT_EQ(m.shape(), Shape({2, 1, 1, 5}));
      EXPECT_EQ(m.dtype(), dt);
      EXPECT_TRUE(testing::allclose(m, want, 0, 0, true)) << dtype_name(mdt) << dtype_name(dt);
    }
  }
  expect_error<ShapeError>([] { padding_mask(from_vector<int64_t>({1, 0}, {2})); }, "padding_mask");
  expect_error<DtypeError>([] { padding_mask(ones({2, 2})); }, "padding_mask");
  expect_error<DtypeError>(
      [] {
        padding_mask(from_vector<int64_t>({1, 0}, {1, 2}), DType::i64);
      },
      "padding_mask");
}

}  // namespace
}  // namespace wick
