// --grad-checkpoint: training with every decoder layer checkpointed gives bitwise the same losses
// and weights as without (LoRA with dropout, and full fine-tuning), and a lower peak of live
// buffers on a deeper model with a longer sequence.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "wick/io/hf_config.h"
#include "wick/ops.h"
#include "wick/ops/linear_cross_entropy.h"
#include "wick/train/model_bridge.h"

namespace wick::train {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<models::CausalLM> ckpt_llama() {
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  return models::load_causal_lm(testing::fixtures_dir() / "models/llama", lo);
}

struct Run {
  std::vector<double> losses;
  std::vector<std::vector<float>> params;
};

Run train(bool full, bool ckpt, const fs::path& out) {
  auto model = ckpt_llama();
  ModelBridge bridge(*model);
  TrainConfig c;
  c.data = testing::fixtures_dir() / "train/data.jsonl";
  c.out = out;
  c.full = full;
  c.lora.r = 4;
  c.lora.lora_alpha = 8;
  c.lora.lora_dropout = 0.1;  // masks must be the same on recompute
  c.lora.target_modules = {"all-linear"};
  c.lr = 1e-3;
  c.iters = 2;
  c.batch_size = 2;
  c.seed = 5;
  c.grad_checkpoint = ckpt;
  Trainer t(bridge, Tokenizer::from_file((testing::fixtures_dir() / "models/llama").string()), c,
            std::nullopt, 0);
  Run r;
  for (const auto& h : t.run().history) r.losses.push_back(h.loss);
  for (const auto& p : t.trainable()) r.params.push_back(p.tensor->to_vector<float>());
  return r;
}

void expect_same_training(bool full) {
  const fs::path d = testing::temp_dir(full ? "ckpt_full" : "ckpt_lora");
  Run plain = train(full, false, d / "plain");
  Run ckpt = train(full, true, d / "ckpt");
  ASSERT_EQ(plain.losses.size(), 2u);
  EXPECT_EQ(ckpt.losses, plain.losses);
  ASSERT_EQ(ckpt.params.size(), plain.params.size());
  for (size_t i = 0; i < plain.params.size(); ++i) EXPECT_EQ(ckpt.params[i], plain.params[i]) << i;
  std::printf("%s losses plain/checkpointed:", full ? "full" : "lora");
  for (size_t i = 0; i < plain.losses.size(); ++i)
    std::printf(" %.17g/%.17g", plain.losses[i], ckpt.losses[i]);
  std::printf("\n");
  fs::remove_all(d);
}

TEST(GradCheckpoint, LoraTrainingGivesTheSameLossesAndAdapter) { expect_same_training(false); }

TEST(GradCheckpoint, FullTrainingGivesTheSameLossesAndWeights) { expect_same_training(true); }

// The fixture Llama's shapes with 6 layers and random weights.
std::unique_ptr<models::CausalLM> deep_llama() {
  std::ifstream in(testing::fixtures_dir() / "models/llama/config.json");
  auto j = nlohmann::json::parse(in);
  j["num_hidden_layers"] = 6;
  auto m = models::make_causal_lm(io::parse_llama_config(j, "deep"), DType::f32);
  std::map<std::string, Tensor> w;
  uint64_t seed = 1;
  for (const auto& p : m->parameters()) {
    Tensor t = testing::randn(p.shape, seed++) * 0.1;
    if (p.path.ends_with("norm.weight")) t = t + 1.0;
    w[p.path] = astype(t, DType::f32).eval();
  }
  std::vector<std::string> names;
  for (auto& [k, v] : w) names.push_back(k);
  models::load_weights(
      *m, names, [&](const std::string& k) { return w.at(k); }, "deep");
  return m;
}

// Loss and gradients of every weight (full fine-tuning) for one [1, 160] sequence; returns the
// peak of live CPU buffers above what was allocated before the evaluation, and the results.
size_t step_peak(bool ckpt, std::vector<std::vector<float>>* results) {
  auto m = deep_llama();
  m->set_grad_checkpoint(ckpt);
  ModelBridge bridge(*m);
  const int64_t T = 160;
  std::vector<int64_t> ids(T), pos(T), targets(T);
  for (int64_t i = 0; i < T; ++i) {
    ids[size_t(i)] = (i * 37 + 11) % 384;
    pos[size_t(i)] = i;
    targets[size_t(i)] = (i * 37 + 48) % 384;
  }
  Tensor tid = from_vector<int64_t>(ids, {1, T}), tpos = from_vector<int64_t>(pos, {1, T});
  Tensor ttg = from_vector<int64_t>(targets, {T});
  std::vector<Tensor> ps;
  for (const auto& p : m->parameters()) ps.push_back(*p.tensor);
  auto [v, g] = value_and_grad(
      [&](const std::vector<Tensor>&) {
        Tensor h = bridge.hidden_states(tid, tpos, std::nullopt);
        return linear_cross_entropy(reshape(h, {-1, h.shape(-1)}), bridge.lm_head_weight(), ttg,
                                    -100, Reduction::mean);
      },
      ps);
  g.push_back(v);
  const size_t before = cpu_bytes_in_use();
  reset_cpu_peak_bytes();
  eval(g);
  const size_t peak = cpu_peak_bytes() - before;
  for (const auto& t : g) results->push_back(t.to_vector<float>());
  return peak;
}

// Generation with a cache is untouched by the setting; a forward without one gives the same logits.
TEST(GradCheckpoint, ForwardWithAndWithoutCacheIsUnchanged) {
  auto m = ckpt_llama();
  Tensor ids = from_vector<int64_t>({5, 6, 7, 8, 9}, {1, 5});
  Tensor plain = m->forward(ids).eval();
  m->set_grad_checkpoint(true);
  EXPECT_TRUE(testing::allclose(m->forward(ids), plain, 0, 0));
  auto cache = m->make_cache(1, 8);
  EXPECT_TRUE(testing::allclose(m->forward(ids, &cache), plain, 1e-6, 1e-5));
}

TEST(GradCheckpoint, DeepModelLongSequencePeakIsLowerWithTheSameGradients) {
  std::vector<std::vector<float>> plain_r, ckpt_r;
  const size_t plain = step_peak(false, &plain_r);
  const size_t ckpt = step_peak(true, &ckpt_r);
  std::printf(
      "6 layers, T=160, full gradients: peak live buffers plain %zu bytes, "
      "checkpointed %zu bytes\n",
      plain, ckpt);
  EXPECT_LT(double(ckpt), 0.6 * double(plain));
  ASSERT_EQ(ckpt_r.size(), plain_r.size());
  for (size_t i = 0; i < plain_r.size(); ++i) EXPECT_EQ(ckpt_r[i], plain_r[i]) << i;
}

}  // namespace
}  // namespace wick::train
