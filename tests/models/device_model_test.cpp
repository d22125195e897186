// Models on another device and the decode-step graph: a Llama LoRA training step and greedy
// decoding on the checked device equal the CPU's, and a decode step builds the same graph (kinds,
// parameters, shapes, wiring) for every token.
#include <gtest/gtest.h>

#include "testing/testing.h"
#include "wick/core/autograd.h"
#include "wick/core/backend.h"
#include "wick/core/graph.h"
#include "wick/core/primitive.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"

namespace wick {
namespace {

// The structure of a pending graph: each node's kind, parameters, shape, dtype and where its
// inputs come from (an earlier node or an evaluated leaf of some shape), in topological order.
std::vector<std::string> structure(const Tensor& root) {
  std::vector<Tensor> order = topo_sort({root}, false);
  std::unordered_map<Node*, size_t> index;
  std::vector<std::string> out;
  for (size_t i = 0; i < order.size(); ++i) {
    const Tensor& t = order[i];
    index[t.id()] = i;
    std::string s = t.primitive()->describe() + " " + shape_str(t.shape()) + " " +
                    dtype_name(t.dtype()) + " <-";
    for (const auto& in : t.inputs())
      s += in.is_pending() ? " #" + std::to_string(index.at(in.id()))
                           : " leaf" + shape_str(in.shape()) + dtype_name(in.dtype());
    out.push_back(s);
  }
  return out;
}

std::filesystem::path fixture(const char* name) {
  return testing::fixtures_dir() / "models" / name;
}

TEST(DecodeGraph, IsStructurallyIdenticalFromOneTokenToTheNext) {
  for (const char* name : {"llama", "mistral", "qwen3"}) {
    SCOPED_TRACE(name);
    auto m = models::load_causal_lm(fixture(name));
    models::KVCache cache = m->make_cache(1, 24);
    m->forward(from_vector<int64_t>({5, 9, 2, 7, 11}, {1, 5}), &cache, models::LogitsFor::last)
        .eval();
    std::vector<std::string> first;
    int64_t next = 3;
    for (int step = 0; step < 4; ++step) {
      Tensor logits =
          m->forward(from_vector<int64_t>({next}, {1, 1}), &cache, models::LogitsFor::last);
      auto s = structure(logits);
      if (step == 0) {
        first = s;
        bool fused = false, write = false;
        for (const auto& line : s) {
          fused |= line.rfind("cached_attention", 0) == 0;
          write |= line.rfind("kv_cache_write", 0) == 0;
        }
        EXPECT_TRUE(fused && write);
      } else {
        EXPECT_EQ(s, first) << "decode step " << step << " built a different graph";
      }
      next = argmax(reshape(logits, {-1}), 0).item<int64_t>();
    }
  }
}

// Greedy ids and last logits of `steps` decode steps after a prompt.
std::pair<std::vector<int64_t>, std::vector<double>> greedy(models::CausalLM& m, int steps,
                                                            Device d) {
  models::KVCache cache = m.make_cache(1, 16);
  Tensor logits = m.forward(from_vector<int64_t>({4, 8, 15, 16}, {1, 4}).to(d), &cache,
                            models::LogitsFor::last);
  std::vector<int64_t> ids;
  for (int i = 0; i < steps; ++i) {
    ids.push_back(argmax(reshape(logits, {-1}), 0).item<int64_t>());
    Tensor next = from_vector<int64_t>({ids.back()}, {1, 1}).to(logits.device());
    logits = m.forward(next, &cache, models::LogitsFor::last);
  }
  return {ids, astype(logits, DType::f64).to_vector<double>()};
}

TEST(CheckedDevice, GreedyDecodingEqualsTheCpus) {
  auto cpu = models::load_causal_lm(fixture("llama"));
  auto dev = models::load_causal_lm(fixture("llama"));
  dev->to(Device::checked());
  for (const auto& p : dev->parameters()) ASSERT_EQ(p.tensor->device(), Device::checked());
  auto a = greedy(*cpu, 6, Device::cpu());
  auto b = greedy(*dev, 6, Device::checked());
  EXPECT_EQ(a.first, b.first);
  EXPECT_TRUE(testing::allclose(b.second, a.second, 0, 0));
}

// Loss and LoRA gradients of one training step (B given random values so A gets a gradient).
std::pair<double, std::vector<std::vector<double>>> lora_step(models::CausalLM& m, Device d) {
  lora::LoraConfig c;
  c.r = 4;
  c.lora_alpha = 8;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto layers = lora::apply_lora(m, c);
  uint64_t seed = 100;
  for (auto& l : layers)
    l.adapter->lora_B = testing::randn(l.adapter->lora_B.shape(), seed++, DType::f32);
  m.to(d);
  auto params = m.trainable_parameters();
  std::vector<Tensor> ps;
  for (auto& p : params) ps.push_back(*p.tensor);
  Tensor ids = from_vector<int64_t>({3, 1, 4, 1, 5, 9, 2, 6, 5, 3}, {2, 5}).to(d);
  Tensor targets = from_vector<int64_t>({1, 4, 1, 5, -100, 2, 6, 5, 3, 5}, {10}).to(d);
  auto [loss, grads] = value_and_grad(
      [&](const std::vector<Tensor>&) {
        Tensor logits = m.forward(ids);
        return cross_entropy(reshape(logits, {10, -1}), targets);
      },
      ps);
  eval(grads);
  std::vector<std::vector<double>> g;
  for (auto& t : grads) g.push_back(astype(t, DType::f64).to_vector<double>());
  return {loss.item<double>(), g};
}

TEST(CheckedDevice, LoraTrainingStepEqualsTheCpus) {
  auto cpu = models::load_causal_lm(fixture("llama"));
  auto dev = models::load_causal_lm(fixture("llama"));
  auto a = lora_step(*cpu, Device::cpu());
  auto b = lora_step(*dev, Device::checked());
  EXPECT_TRUE(std::isfinite(a.first));
  EXPECT_EQ(a.first, b.first);
  ASSERT_EQ(a.second.size(), b.second.size());
  ASSERT_FALSE(a.second.empty());
  for (size_t i = 0; i < a.second.size(); ++i)
    EXPECT_TRUE(testing::allclose(b.second[i], a.second[i], 0, 0)) << "gradient " << i;
}

// ---- CUDA: the same model checks against the CPU, within f32 tolerances (cuBLAS sums in
// another order), and with no primitive of these paths falling back to host copies.

#ifdef WICK_HAS_CUDA
}  // namespace
}  // namespace wick
#include "wick/backend/cuda/cuda_backend.h"
namespace wick {
namespace {
int64_t cuda_fallbacks() { return cuda::host_fallbacks(); }
std::string cuda_fallback_report() { return cuda::host_fallback_report(); }
#else
int64_t cuda_fallbacks() { return 0; }
std::string cuda_fallback_report() { return {}; }
#endif

bool cuda_usable() {
  Backend* b = find_backend(DeviceType::cuda);
  return b && b->device_count() > 0;
}
#define WICK_SKIP_WITHOUT_CUDA()                                  \
  if (!cuda_usable())                                             \
  GTEST_SKIP() << "no usable CUDA device in this build/machine: " \
                  "CUDA model tests skipped"

TEST(CudaDevice, GreedyDecodingMatchesTheCpu) {
  WICK_SKIP_WITHOUT_CUDA();
  for (const char* name : {"llama", "mistral", "qwen2", "qwen3", "llama_tied"}) {
    SCOPED_TRACE(name);
    auto cpu = models::load_causal_lm(fixture(name));
    auto dev = models::load_causal_lm(fixture(name));
    dev->to(Device::cuda());
    auto a = greedy(*cpu, 6, Device::cpu());
    const int64_t before = cuda_fallbacks();
    auto b = greedy(*dev, 6, Device::cuda());
    EXPECT_EQ(cuda_fallbacks(), before) << "host fallbacks: " << cuda_fallback_report();
    EXPECT_EQ(a.first, b.first);
    EXPECT_TRUE(testing::allclose(b.second, a.second, 1e-4, 1e-4));
  }
}

TEST(CudaDevice, Bf16GreedyDecodingRuns) {
  WICK_SKIP_WITHOUT_CUDA();
  auto cpu = models::load_causal_lm(fixture("llama_bf16"));
  auto dev = models::load_causal_lm(fixture("llama_bf16"));
  dev->to(Device::cuda());
  auto a = greedy(*cpu, 4, Device::cpu());
  auto b = greedy(*dev, 4, Device::cuda());
  // bf16 rounding differs with the summation order: compare the logits loosely.
  EXPECT_TRUE(testing::allclose(b.second, a.second, 5e-2, 5e-2));
}

TEST(CudaDevice, LoraTrainingStepMatchesTheCpu) {
  WICK_SKIP_WITHOUT_CUDA();
  for (const char* name : {"llama", "qwen2"}) {
    SCOPED_TRACE(name);
    auto cpu = models::load_causal_lm(fixture(name));
    auto dev = models::load_causal_lm(fixture(name));
    auto a = lora_step(*cpu, Device::cpu());
    const int64_t before = cuda_fallbacks();
    auto b = lora_step(*dev, Device::cuda());
    EXPECT_EQ(cuda_fallbacks(), before) << "host fallbacks: " << cuda_fallback_report();
    EXPECT_TRUE(std::isfinite(b.first));
    EXPECT_NEAR(b.first, a.first, 1e-5 * std::abs(a.first));
    ASSERT_EQ(a.second.size(), b.second.size());
    for (size_t i = 0; i < a.second.size(); ++i)
      EXPECT_TRUE(testing::allclose(b.second[i], a.second[i], 1e-5, 1e-3)) << "gradient " << i;
  }
}

}  // namespace
}  // namespace wick
