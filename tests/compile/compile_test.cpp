// compile(): compiled calls equal uncompiled ones bit for bit (the same kernels run on the same
// inputs), retracing happens only when the input signature changes, the passes remove what they
// claim, and a replay's peak memory is at most the uncompiled evaluation's.
#include "wick/compile/compile.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "models/tiny_model.h"
#include "testing/testing.h"
#include "wick/core/graph.h"
#include "wick/lora/lora.h"
#include "wick/ops.h"
#include "wick/ops/primitives.h"

namespace wick::testing {
namespace {

// Same shape, dtype and bytes (row-major).
void expect_bitwise(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  Tensor ca = contiguous(a.to(Device::cpu())).eval(), cb = contiguous(b.to(Device::cpu())).eval();
  EXPECT_EQ(std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()), 0)
      << "first values " << ca.to_vector<double>()[0] << " vs " << cb.to_vector<double>()[0];
}

void expect_all_bitwise(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    expect_bitwise(a[i], b[i]);
  }
}

// fn uncompiled: built lazily and evaluated in one walk, as a caller would.
std::vector<Tensor> uncompiled(const CompileFn& fn, const std::vector<Tensor>& in) {
  std::vector<Tensor> r = fn(in);
  eval(r);
  return r;
}

Tensor f32(const Shape& s, uint64_t seed) { return astype(randn(s, seed), DType::f32).eval(); }

struct Mlp {
  Tensor w1 = f32({64, 96}, 1), w3 = f32({64, 96}, 2), w2 = f32({96, 64}, 3);
  // A gated MLP with redundancies the passes remove: x * 1, a repeated matmul (the first one is
  // still read after the second runs, so merging them saves a buffer) and a reshape chain.
  std::vector<Tensor> operator()(const std::vector<Tensor>& in) const {
    const Tensor& x = in[0];
    Tensor h = matmul(x, w1) * silu(matmul(x, w1)) * matmul(x * 1.0, w3);
    Tensor y = matmul(h, w2) + sum(x, {-1}, true);
    y = reshape(reshape(y, {-1}), y.shape());
    return {y};
  }
};

TEST(Compile, MlpForwardBitwiseAndRetracesOnlyOnSignatureChange) {
  EagerMode lazy(false);
  Mlp mlp;
  CompileFn fn = [&](const std::vector<Tensor>& in) { return mlp(in); };
  CompiledFn cf = compile(fn);
  Tensor x1 = f32({8, 64}, 10), x2 = f32({8, 64}, 11), x3 = f32({5, 64}, 12);
  expect_all_bitwise(cf({x1}), uncompiled(fn, {x1}));
  EXPECT_EQ(cf.traces(), 1);
  expect_all_bitwise(cf({x2}), uncompiled(fn, {x2}));  // new values, same signature
  EXPECT_EQ(cf.traces(), 1);
  EXPECT_EQ(cf.hits(), 1);
  expect_all_bitwise(cf({x3}), uncompiled(fn, {x3}));  // new shape
  EXPECT_EQ(cf.traces(), 2);
  expect_all_bitwise(cf({x1}), uncompiled(fn, {x1}));  // the first signature again: cached
  EXPECT_EQ(cf.traces(), 2);
  // Same shape but transposed strides: layout decisions may differ, so it is a new signature.
  Tensor xt = transpose(f32({64, 8}, 13), 0, 1);
  expect_all_bitwise(cf({xt}), uncompiled(fn, {xt}));
  EXPECT_EQ(cf.traces(), 3);
  // A different dtype retraces too.
  Tensor xd = randn({8, 64}, 14);
  CompiledFn cf64 = compile(CompileFn(
      [&](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(in[0]) * 2.0}; }));
  cf64({xd});
  cf64({astype(xd, DType::f32)});
  cf64({xd});
  EXPECT_EQ(cf64.traces(), 2);
  EXPECT_EQ(cf64.hits(), 1);
}

TEST(Compile, PassesRemoveNodesAndDumpSaysWhat) {
  EagerMode lazy(false);
  Mlp mlp;
  CompiledFn all = compile(CompileFn([&](const std::vector<Tensor>& in) { return mlp(in); }));
  CompileOptions off{false, false, false, false};
  CompiledFn none = compile(CompileFn([&](const std::vector<Tensor>& in) { return mlp(in); }), off);
  Tensor x = f32({8, 64}, 20);
  expect_all_bitwise(all({x}), none({x}));
  const PassStats& s = all.last_stats();
  const PassStats& n = none.last_stats();
  EXPECT_EQ(n.kept, n.traced);
  EXPECT_EQ(s.traced, n.traced);
  // x * 1 and the reshape chain (simplify), the second matmul(x, w1) (cse), then the scalar 1,
  // its broadcast and the intermediate reshape are dead.
  EXPECT_EQ(s.simplified, 2);
  EXPECT_EQ(s.cse, 1);
  EXPECT_GE(s.dead, 3);
  EXPECT_EQ(s.folded, 0);  // the dead scalar is removed before folding could evaluate it
  EXPECT_LT(s.kept, s.traced);
  const std::string d = all.dump();
  EXPECT_NE(d.find("cse: "), std::string::npos) << d;
  EXPECT_NE(d.find("simplify: "), std::string::npos) << d;
  EXPECT_NE(d.find("dce: "), std::string::npos) << d;
  EXPECT_NE(d.find("= matmul() f32[8, 96] (%in0, %c"), std::string::npos) << d;
  EXPECT_NE(all.dump_dot().find("digraph"), std::string::npos);
  // One line per replayed node ("%9 = mul() f32[8, 96] (%3, %8)") besides inputs and constants.
  int64_t node_lines = 0;
  std::istringstream lines(d);
  for (std::string line; std::getline(lines, line);)
    node_lines += line.starts_with("%") && line.find("= input") == std::string::npos &&
                  line.find("= constant") == std::string::npos;
  EXPECT_EQ(node_lines, s.kept) << d;
}

TEST(Compile, FoldsLiteralSubgraphsOnce) {
  EagerMode lazy(false);
  CompileFn fn = [](const std::vector<Tensor>& in) {
    Tensor c = sqrt(scalar(2.0) * scalar(8.0));  // 4, from literals only
    return std::vector<Tensor>{in[0] * c + arange(0.0, 6.0, 1.0, DType::f32)};
  };
  CompiledFn cf = compile(fn);
  Tensor x = f32({3, 6}, 30);
  expect_all_bitwise(cf({x}), uncompiled(fn, {x}));
  // full(2), full(8), mul, sqrt, broadcast, arange are evaluated at trace time: mul and add remain.
  EXPECT_GE(cf.last_stats().folded, 5);
  EXPECT_EQ(cf.last_stats().kept, 2) << cf.dump();
}

TEST(Compile, ExactSimplificationsOnly) {
  EagerMode lazy(false);
  CompileFn fn = [](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    // x + 0 turns -0 into +0, so it must stay; x - 0, x / 1 and double transposes go.
    Tensor a = (x + 0.0) * 2.0;
    Tensor b = (x - 0.0) / 1.0;
    Tensor c = transpose(transpose(x, 0, 1), 0, 1) * 3.0;
    return std::vector<Tensor>{a, b + c};
  };
  CompiledFn cf = compile(fn);
  Tensor x = from_vector<float>({-0.0f, 1.0f, -2.5f, 0.0f, 7.0f, -0.0f}, {2, 3});
  std::vector<Tensor> r = cf({x});
  expect_all_bitwise(r, uncompiled(fn, {x}));
  EXPECT_FALSE(std::signbit(r[0].to_vector<float>()[0]));  // (-0 + 0) * 2 = +0: x + 0 stayed
  EXPECT_EQ(cf.last_stats().simplified, 3) << cf.dump();   // x - 0, x / 1, the permute pair
}

TEST(Compile, LlamaLoraValueAndGradBitwise) {
  EagerMode lazy(false);
  auto config = io::parse_llama_config(tiny_config_json("llama"), "llama");
  auto model = models::make_causal_lm(config, DType::f32);
  auto weights = tiny_weights(*model, 3);
  std::vector<std::string> names;
  for (auto& [k, v] : weights) names.push_back(k);
  models::load_weights(
      *model, names, [&](const std::string& k) { return weights.at(k); }, "tiny");
  lora::LoraConfig lc;
  lc.r = 4;
  lc.target_modules = {"all-linear"};
  auto layers = lora::apply_lora(*model, lc);
  Generator g(7);
  for (auto& l : layers)
    l.adapter->lora_B = random_uniform(l.adapter->lora_B.shape(), DType::f32, -0.3, 0.3, &g).eval();
  auto trainable = model->trainable_parameters();
  const int64_t V = config.vocab_size;
  // The step: inputs are ids, labels and every trainable tensor; outputs the loss and gradients.
  CompileFn step = [&](const std::vector<Tensor>& in) {
    std::vector<Tensor> saved, params(in.begin() + 2, in.end());
    for (size_t i = 0; i < trainable.size(); ++i) {
      saved.push_back(*trainable[i].tensor);
      *trainable[i].tensor = params[i];
    }
    auto [loss, grads] = value_and_grad(
        [&](const std::vector<Tensor>&) {
          Tensor logits = model->forward(in[0]);
          return cross_entropy(reshape(logits, {-1, V}), reshape(in[1], {-1}));
        },
        params);
    for (size_t i = 0; i < trainable.size(); ++i) *trainable[i].tensor = saved[i];
    grads.insert(grads.begin(), loss);
    return grads;
  };
  CompiledFn cstep = compile(step);
  CompileOptions with_fusion;
  with_fusion.fuse = true;
  CompiledFn fstep = compile(step, with_fusion);
  for (int call = 0; call < 2; ++call) {
    std::vector<int64_t> ids(12), labels(12);
    for (size_t i = 0; i < ids.size(); ++i) {
      ids[i] = int64_t((i * 7 + size_t(call) * 5 + 3) % size_t(V));
      labels[i] = int64_t((i * 11 + size_t(call)) % size_t(V));
    }
    std::vector<Tensor> in = {from_vector<int64_t>(ids, {2, 6}),
                              from_vector<int64_t>(labels, {2, 6})};
    for (auto& p : trainable) in.push_back(*p.tensor);
    std::vector<Tensor> c = cstep(in);
    std::vector<Tensor> u = uncompiled(step, in);
    ASSERT_EQ(c.size(), 1 + trainable.size());
    expect_all_bitwise(c, u);
    expect_all_bitwise(fstep(in), u);  // fused chains compute the same formulas
    EXPECT_GT(c[0].item<double>(), 0.0);
    // Take an SGD step on the inputs so the second call sees new parameter values.
    for (size_t i = 0; i < trainable.size(); ++i)
      *trainable[i].tensor = (*trainable[i].tensor - c[i + 1] * 0.1).eval();
  }
  EXPECT_EQ(cstep.traces(), 1);
  EXPECT_EQ(cstep.hits(), 1);
  EXPECT_GT(fstep.last_stats().fused, 0) << fstep.dump();
}

TEST(Compile, FusedElementwiseChainsAreBitwiseAndUseLessMemory) {
  EagerMode lazy(false);
  // silu(a) * b + c, then a scalar affine step and a reduction (which ends the chain).
  CompileFn fn = [](const std::vector<Tensor>& in) {
    Tensor y = silu(in[0]) * in[1] + in[2];
    Tensor z = y * 0.5 - 1.0;
    return std::vector<Tensor>{z, sum(exp(z) * in[0])};
  };
  CompileOptions opts;
  opts.fuse = true;
  CompiledFn cf = compile(fn, opts);
  Tensor a = f32({3, 37, 129}, 70), b = f32({3, 37, 129}, 71), c = f32({3, 37, 129}, 72);
  cf({a, b, c});
  size_t base = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  std::vector<Tensor> u = uncompiled(fn, {a, b, c});
  const size_t peak_u = cpu_peak_bytes() - base;
  base = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  std::vector<Tensor> r = cf({a, b, c});
  const size_t peak_c = cpu_peak_bytes() - base;
  expect_all_bitwise(r, u);
  const std::string d = cf.dump();
  EXPECT_NE(d.find("fused[silu, mul, add, mul, sub]"), std::string::npos) << d;
  EXPECT_NE(d.find("fused[exp, mul]"), std::string::npos) << d;
  EXPECT_EQ(cf.last_stats().fused, 7) << d;
  EXPECT_LT(peak_c, peak_u);
  // Broadcast operands other than single elements are not fused; the result is still right.
  CompiledFn rows = compile(CompileFn([](const std::vector<Tensor>& in) {
                              return std::vector<Tensor>{exp(in[0]) + in[1]};
                            }),
                            opts);
  Tensor x = f32({4, 5}, 73), bias = f32({5}, 74);
  expect_all_bitwise(rows({x, bias}), uncompiled(
                                          [](const std::vector<Tensor>& in) {
                                            return std::vector<Tensor>{exp(in[0]) + in[1]};
                                          },
                                          {x, bias}));
  EXPECT_EQ(rows.last_stats().fused, 0);
}

TEST(Compile, DecodeStepWithKvCacheWrite) {
  EagerMode lazy(false);
  // Inputs: cache_k, cache_v [1, 2, 6, 4], q [1, 2, 1, 4], k, v [1, 2, 1, 4], offset, length.
  CompileFn step = [](const std::vector<Tensor>& in) {
    Tensor ck = kv_cache_write(in[0], in[3], in[5]);
    Tensor cv = kv_cache_write(in[1], in[4] * 2.0, in[5]);
    Tensor out = cached_attention(in[2], ck, cv, in[6]);
    return std::vector<Tensor>{out, ck, cv};
  };
  CompiledFn cstep = compile(step);
  Tensor ck_c = zeros({1, 2, 6, 4}).eval(), cv_c = zeros({1, 2, 6, 4}).eval();
  Tensor ck_u = zeros({1, 2, 6, 4}).eval(), cv_u = zeros({1, 2, 6, 4}).eval();
  for (int64_t t = 0; t < 4; ++t) {
    auto pos = models::CacheStep::make(t, 1, Device::cpu());
    Tensor q = f32({1, 2, 1, 4}, 100 + uint64_t(t)), k = f32({1, 2, 1, 4}, 200 + uint64_t(t)),
           v = f32({1, 2, 1, 4}, 300 + uint64_t(t));
    std::vector<Tensor> c = cstep({ck_c, cv_c, q, k, v, pos.offset, pos.length});
    std::vector<Tensor> u = uncompiled(step, {ck_u, cv_u, q, k, v, pos.offset, pos.length});
    expect_all_bitwise(c, u);
    // The writes went into the caches' own buffers (in place), as uncompiled.
    EXPECT_EQ(c[1].buffer(), ck_c.buffer());
    ck_c = c[1], cv_c = c[2], ck_u = u[1], cv_u = u[2];
  }
  expect_bitwise(ck_c, ck_u);
  expect_bitwise(cv_c, cv_u);
  EXPECT_EQ(cstep.traces(), 1);
  EXPECT_EQ(cstep.hits(), 3);
  // An offset fixed at trace time (an int, or a tensor captured from outside) would make every
  // replay write the same position: refused.
  Tensor captured = models::CacheStep::make(2, 1, Device::cpu()).offset;
  for (const Tensor& offset : {Tensor(), captured}) {
    CompiledFn fixed = compile(CompileFn([&](const std::vector<Tensor>& in) {
      return std::vector<Tensor>{offset.valid() ? kv_cache_write(in[0], in[1], offset)
                                                : kv_cache_write(in[0], in[1], int64_t(2))};
    }));
    try {
      fixed({ck_c, f32({1, 2, 1, 4}, 400)});
      ADD_FAILURE() << "a fixed offset was accepted";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("the offset of kv_cache_write"), std::string::npos)
          << e.what();
    }
  }
}

Tensor keyed_dropout(const Tensor& x, const Tensor& key, double p) {
  return Tensor::make(x.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::Dropout>(p, 1.0 / (1.0 - p)), {x, key});
}

TEST(Compile, DropoutWithTheSameKeyEqualsUncompiled) {
  EagerMode lazy(false);
  Tensor w = f32({16, 16}, 40);
  // Inputs: x, key, w; outputs: y, loss, dloss/dw (the backward recomputes the mask from the key).
  CompileFn fn = [](const std::vector<Tensor>& in) {
    Tensor y;
    auto [loss, grads] = value_and_grad(
        [&](const std::vector<Tensor>& p) {
          y = keyed_dropout(matmul(in[0], p[0]), in[1], 0.25);
          return sum(y * y);
        },
        {in[2]});
    return std::vector<Tensor>{y, loss, grads[0]};
  };
  CompiledFn cf = compile(fn);
  Generator gen(5);
  Tensor x = f32({8, 16}, 41);
  Tensor key1 = random_key(gen, 8 * 16), key2 = random_key(gen, 8 * 16);
  std::vector<Tensor> c1 = cf({x, key1, w});
  expect_all_bitwise(c1, uncompiled(fn, {x, key1, w}));
  std::vector<Tensor> c2 = cf({x, key2, w});
  expect_all_bitwise(c2, uncompiled(fn, {x, key2, w}));
  EXPECT_NE(c1[0].to_vector<float>(), c2[0].to_vector<float>());  // a new key, a new mask
  EXPECT_EQ(cf.traces(), 1);
  // A key drawn from a generator while tracing would be frozen into the graph: refused.
  CompiledFn frozen = compile([](const Tensor& x) { return dropout(x, 0.5); });
  try {
    frozen.call(x);
    ADD_FAILURE() << "a key drawn while tracing was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("random key of dropout"), std::string::npos) << e.what();
  }
}

TEST(Compile, CapturedTensorsAreReadByReference) {
  EagerMode lazy(false);
  Tensor w = from_vector<float>({1, 2, 3, 4}, {2, 2});
  CompiledFn cf = compile([&w](const Tensor& x) { return matmul(x, w); });
  Tensor x = from_vector<float>({1, 0, 0, 1}, {2, 2});
  EXPECT_EQ(cf.call(x).to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  // Writes into the captured buffer are seen by the next replay ...
  w.data<float>()[0] = 10;
  EXPECT_EQ(cf.call(x).to_vector<float>(), (std::vector<float>{10, 2, 3, 4}));
  // ... rebinding the handle (what an optimizer step does) is not: pass such tensors as inputs.
  w = from_vector<float>({5, 6, 7, 8}, {2, 2});
  EXPECT_EQ(cf.call(x).to_vector<float>(), (std::vector<float>{10, 2, 3, 4}));
  EXPECT_EQ(cf.traces(), 1);
}

TEST(Compile, RefusesWhatItCannotReplay) {
  EagerMode lazy(false);
  // Reading an input's value while tracing.
  CompiledFn reads = compile([](const Tensor& x) { return x * x.item<double>(); });
  EXPECT_THROW(reads.call(scalar(2.0).eval()), ValueError);
  // Differentiating through a compiled call from outside.
  CompiledFn sq = compile([](const Tensor& x) { return x * x; });
  Tensor p = f32({3}, 50);
  EXPECT_THROW(
      value_and_grad([&](const std::vector<Tensor>& q) { return sum(sq.call(q[0])); }, {p}),
      NotImplemented);
  // Eager mode runs fn uncompiled.
  EagerMode eager_on(true);
  CompiledFn e = compile([](const Tensor& x) { return x + 1.0; });
  EXPECT_EQ(e.call(from_vector<float>({1}, {1})).to_vector<float>(), (std::vector<float>{2}));
  EXPECT_EQ(e.traces(), 0);
}

TEST(Compile, RunsOnTheCheckedDevice) {
  EagerMode lazy(false);
  const Device d = Device::checked();
  Tensor w = f32({16, 8}, 80).to(d).eval();
  CompileFn fn = [&](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{silu(matmul(in[0], w)) * 2.0 + 1.0};
  };
  CompileOptions opts;
  opts.fuse = true;  // nothing is fused off the CPU
  CompiledFn cf = compile(fn, opts);
  for (uint64_t seed : {81, 82}) {
    Tensor x = f32({4, 16}, seed).to(d).eval();
    std::vector<Tensor> r = cf({x});
    EXPECT_EQ(r[0].device(), d);
    expect_all_bitwise(r, uncompiled(fn, {x}));
  }
  EXPECT_EQ(cf.traces(), 1);
  EXPECT_EQ(cf.last_stats().fused, 0);
  // An op's own error while tracing (a CPU input against the checked weight) propagates and
  // stores nothing.
  EXPECT_THROW(cf({f32({4, 16}, 83)}), ValueError);
  EXPECT_EQ(cf.traces(), 1);
}

TEST(Compile, ReplayPeakMemoryAtMostUncompiled) {
  EagerMode lazy(false);
  Mlp mlp;
  CompileFn fn = [&](const std::vector<Tensor>& in) { return mlp(in); };
  CompiledFn cf = compile(fn);
  Tensor x = f32({256, 64}, 60);
  cf({x});  // trace
  size_t base = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  std::vector<Tensor> u = uncompiled(fn, {x});
  const size_t peak_u = cpu_peak_bytes() - base;
  u.clear();
  base = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  std::vector<Tensor> c = cf({x});
  const size_t peak_c = cpu_peak_bytes() - base;
  EXPECT_GT(peak_u, size_t(0));
  EXPECT_LE(peak_c, peak_u);
}

}  // namespace
}  // namespace wick::testing
