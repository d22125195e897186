// checkpoint(fn): same values and gradients as fn itself (bitwise, since the recomputation runs
// the same kernels on the same inputs), captured weights get gradients, dropout masks are reused,
// multiple/unused/nested outputs, and a lower peak of live buffers for a deep chain.
#include <gtest/gtest.h>

#include <string>

#include "testing/testing.h"

namespace wick {
namespace {

// One residual MLP block: x + tanh(x W) V, with W [D, F] and V [F, D] captured.
Tensor block(const Tensor& x, const Tensor& w, const Tensor& v) {
  return x + matmul(tanh(matmul(x, w)), v);
}

// Loss of an L-block chain over x [N, D]; every block checkpointed when `ckpt`.
Tensor chain_loss(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<Tensor>& vs,
                  bool ckpt) {
  Tensor h = x;
  for (size_t i = 0; i < ws.size(); ++i) {
    const Tensor& w = ws[i];
    const Tensor& v = vs[i];
    if (ckpt) {
      h = checkpoint([&](const std::vector<Tensor>& in) { return block(in[0], w, v); }, {h});
    } else {
      h = block(h, w, v);
    }
  }
  return sum(h * h);
}

std::vector<Tensor> chain_grads(const Tensor& x, const std::vector<Tensor>& ws,
                                const std::vector<Tensor>& vs, bool ckpt, Tensor* loss) {
  std::vector<Tensor> params{x};
  params.insert(params.end(), ws.begin(), ws.end());
  params.insert(params.end(), vs.begin(), vs.end());
  auto [value, grads] = value_and_grad(
      [&](const std::vector<Tensor>&) { return chain_loss(x, ws, vs, ckpt); }, params);
  std::vector<Tensor> all = grads;
  all.push_back(value);
  eval(all);
  *loss = value;
  return grads;
}

void expect_same_bits(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>()) << what;
}

TEST(Checkpoint, ValueEqualsTheFunction) {
  for (DType dt : {DType::f64, DType::f32, DType::bf16}) {
    Tensor x = astype(testing::randn({3, 5}, 1), dt).eval();
    Tensor w = astype(testing::randn({5, 7}, 2), dt).eval();
    Tensor v = astype(testing::randn({7, 5}, 3), dt).eval();
    Tensor expected = block(x, w, v).eval();
    Tensor y = checkpoint([&](const std::vector<Tensor>& in) { return block(in[0], w, v); }, {x});
    EXPECT_EQ(y.dtype(), dt);
    EXPECT_EQ(y.shape(), (Shape{3, 5}));
    EXPECT_TRUE(testing::allclose(y, expected, 0, 0)) << dtype_name(dt);
  }
}

TEST(Checkpoint, GradientMatchesFiniteDifferences) {
  // x explicit, w and v captured (they are check_grad inputs, so they are perturbed too).
  auto fn = [](const std::vector<Tensor>& in) {
    const Tensor w = in[1], v = in[2];
    return checkpoint([&](const std::vector<Tensor>& a) { return block(a[0], w, v) * a[1]; },
                      {in[0], in[3]});
  };
  EXPECT_GRAD(fn, (std::vector<Tensor>{testing::randn({3, 4}, 4), testing::randn({4, 6}, 5),
                                       testing::randn({6, 4}, 6), testing::randn({3, 4}, 7)}));
}

TEST(Checkpoint, DeepChainGivesTheSameLossAndGradientsBitwise) {
  for (DType dt : {DType::f64, DType::f32}) {
    const int L = 6;
    Tensor x = astype(testing::randn({4, 8}, 10), dt).eval();
    std::vector<Tensor> ws, vs;
    for (int i = 0; i < L; ++i) {
      ws.push_back(astype(testing::randn({8, 16}, 20 + i), dt) * 0.3);
      vs.push_back(astype(testing::randn({16, 8}, 40 + i), dt) * 0.3);
    }
    eval(ws);
    eval(vs);
    Tensor l0, l1;
    auto g0 = chain_grads(x, ws, vs, false, &l0);
    auto g1 = chain_grads(x, ws, vs, true, &l1);
    expect_same_bits(l1, l0, "loss");
    ASSERT_EQ(g0.size(), g1.size());
    for (size_t i = 0; i < g0.size(); ++i)
      expect_same_bits(g1[i], g0[i], "grad " + std::to_string(i));
  }
}

TEST(Checkpoint, EagerModeGivesTheSameResults) {
  Tensor x = testing::randn({4, 8}, 10);
  std::vector<Tensor> ws{testing::randn({8, 16}, 11), testing::randn({8, 16}, 12)};
  std::vector<Tensor> vs{testing::randn({16, 8}, 13), testing::randn({16, 8}, 14)};
  Tensor l0, l1;
  std::vector<Tensor> g0, g1;
  set_eager(true);
  try {
    g0 = chain_grads(x, ws, vs, false, &l0);
    g1 = chain_grads(x, ws, vs, true, &l1);
  } catch (...) {
    set_eager(false);
    throw;
  }
  set_eager(false);
  expect_same_bits(l1, l0, "loss");
  for (size_t i = 0; i < g0.size(); ++i)
    expect_same_bits(g1[i], g0[i], "grad " + std::to_string(i));
}

TEST(Checkpoint, DropoutMaskIsReusedByTheRecomputation) {
  Tensor x = testing::randn({6, 32}, 1);
  Tensor w = testing::randn({32, 32}, 2);
  auto run = [&](bool ckpt, Generator& g) {
    auto f = [&](const Tensor& h) { return tanh(matmul(dropout(h, 0.5, &g), w)); };
    auto [value, grads] = value_and_grad(
        [&](const std::vector<Tensor>&) {
          Tensor y = ckpt ? checkpoint([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x})
                          : f(x);
          return sum(y * y);
        },
        {x, w});
    eval({value, grads[0], grads[1]});
    return std::vector<Tensor>{value, grads[0], grads[1]};
  };
  Generator g0(99), g1(99);
  auto plain = run(false, g0);
  auto ckpt = run(true, g1);
  EXPECT_EQ(g1.counter(), g0.counter());  // the mask was drawn once, not again on recompute
  for (size_t i = 0; i < plain.size(); ++i) expect_same_bits(ckpt[i], plain[i], std::to_string(i));
  // The mask really drops: some rows of dL/dx vanish where whole inputs were dropped.
  auto gx = ckpt[1].to_vector<double>();
  int zeros = 0;
  for (double v : gx) zeros += v == 0.0;
  EXPECT_GT(zeros, 32);
}

TEST(Checkpoint, SeveralOutputsSomeUnusedAndNested) {
  Tensor x = testing::randn({3, 4}, 1);
  Tensor w = testing::randn({4, 4}, 2);
  auto inner = [&](const Tensor& a) { return tanh(matmul(a, w)); };
  auto body = [&](const std::vector<Tensor>& in, bool nest) {
    Tensor t = nest ? checkpoint([&](const std::vector<Tensor>& b) { return inner(b[0]); }, {in[0]})
                    : inner(in[0]);
    return std::vector<Tensor>{t * 2.0, exp(t), t + in[0]};
  };
  auto loss = [&](bool ckpt) {
    auto [value, grads] = value_and_grad(
        [&](const std::vector<Tensor>&) {
          std::vector<Tensor> o =
              ckpt ? checkpoint([&](const std::vector<Tensor>& in) { return body(in, true); }, {x})
                   : body({x}, false);
          return sum(o[0] * o[2]);  // o[1] unused
        },
        {x, w});
    eval({value, grads[0], grads[1]});
    return std::vector<Tensor>{value, grads[0], grads[1]};
  };
  auto plain = loss(false);
  auto ckpt = loss(true);
  // t feeds three outputs: its gradient terms may be summed in another order, so allow rounding.
  for (size_t i = 0; i < plain.size(); ++i)
    EXPECT_TRUE(testing::allclose(ckpt[i], plain[i], 1e-14, 1e-13)) << i;
  // Evaluating every output of one checkpoint runs fn once and hands out each output.
  auto outs = checkpoint([&](const std::vector<Tensor>& in) { return body(in, false); }, {x});
  auto ref = body({x}, false);
  for (size_t i = 0; i < outs.size(); ++i)
    EXPECT_TRUE(testing::allclose(outs[i], ref[i], 0, 0)) << i;
  // Nested gradient, by finite differences.
  EXPECT_GRAD(
      [&](const std::vector<Tensor>& in) {
        return checkpoint([&](const std::vector<Tensor>& a) { return body(a, true)[2]; }, {in[0]});
      },
      std::vector<Tensor>{x});
}

TEST(Checkpoint, FunctionReturningAnInputOrConstant) {
  Tensor x = testing::randn({2, 3}, 1);
  Tensor y = checkpoint([](const std::vector<Tensor>& in) { return in[0]; }, {x});
  EXPECT_TRUE(testing::allclose(y, x, 0, 0));
  EXPECT_GRAD(
      [](const std::vector<Tensor>& in) {
        return checkpoint([](const std::vector<Tensor>& a) { return a[0]; }, {in[0]}) * in[0];
      },
      std::vector<Tensor>{x});
}

TEST(Checkpoint, Errors) {
  Tensor x = testing::randn({2}, 1);
  try {
    checkpoint(CheckpointFn([](const std::vector<Tensor>&) { return std::vector<Tensor>{}; }), {x});
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("[checkpoint]"), std::string::npos) << e.what();
  }
  try {
    checkpoint([](const std::vector<Tensor>& in) { return in[0]; }, {Tensor()});
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("[checkpoint]"), std::string::npos) << e.what();
  }
  try {
    depend(x, {Tensor()});
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("[depend]"), std::string::npos) << e.what();
  }
}

TEST(Depend, IsItsFirstInputEvaluatedAfterTheOthers) {
  Tensor x = testing::randn({3, 4}, 1);
  Tensor y = testing::randn({5}, 2);
  Tensor after = exp(y);
  Tensor d = depend(x * 2.0, {after});
  auto xv = x.to_vector<double>();
  std::vector<double> expected;
  for (double v : xv) expected.push_back(2 * v);
  EXPECT_TRUE(testing::allclose(d, expected, 0, 0));
  EXPECT_TRUE(after.is_evaluated());  // evaluated as part of d's graph
  EXPECT_GRAD([](const std::vector<Tensor>& in) { return depend(in[0] * in[0], {sin(in[1])}); },
              (std::vector<Tensor>{testing::randn({3, 4}, 3), testing::randn({2}, 4)}));
}

// Peak of live CPU buffers while evaluating the loss and every gradient of a deep chain.
size_t chain_peak(bool ckpt) {
  const int L = 16;
  Tensor x = astype(testing::randn({512, 32}, 1), DType::f32).eval();
  std::vector<Tensor> ws, vs;
  for (int i = 0; i < L; ++i) {
    ws.push_back((astype(testing::randn({32, 64}, 10 + i), DType::f32) * 0.1).eval());
    vs.push_back((astype(testing::randn({64, 32}, 50 + i), DType::f32) * 0.1).eval());
  }
  std::vector<Tensor> params = ws;
  params.insert(params.end(), vs.begin(), vs.end());
  auto [value, grads] = value_and_grad(
      [&](const std::vector<Tensor>&) { return chain_loss(x, ws, vs, ckpt); }, params);
  grads.push_back(value);
  const size_t before = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  eval(grads);
  return cpu_peak_bytes() - before;
}

TEST(Checkpoint, DeepChainPeakMemoryIsLower) {
  const size_t plain = chain_peak(false);
  const size_t ckpt = chain_peak(true);
  // Without checkpointing each block keeps x W and tanh(x W) ([512, 64] f32, 128 KiB each) and
  // its output (64 KiB) for the backward: 16 blocks hold 5 MiB. With it, the 16 block outputs and
  // about one block's intermediates are alive at a time (the weight gradients are 0.25 MiB).
  EXPECT_LT(ckpt * 2, plain) << "plain " << plain << " bytes, checkpointed " << ckpt;
  RecordProperty("peak_plain_bytes", std::to_string(plain));
  RecordProperty("peak_ckpt_bytes", std::to_string(ckpt));
  std::printf("deep chain peak of live buffers: plain %zu bytes, checkpointed %zu bytes\n", plain,
              ckpt);
}

}  // namespace
}  // namespace wick
