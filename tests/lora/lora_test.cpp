#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../train/tiny_lm.h"
#include "testing/testing.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"

namespace wick::lora {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) { return testing::temp_dir("lora_" + name); }

// y = x W^T + s * x A^T B^T in plain loops.
std::vector<double> ref_forward(const std::vector<double>& x, const std::vector<double>& W,
                                const std::vector<double>& A, const std::vector<double>& Bm,
                                int64_t N, int64_t In, int64_t Out, int64_t R, double s) {
  std::vector<double> y(N * Out, 0);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> xa(R, 0);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < In; ++i) xa[r] += x[n * In + i] * A[r * In + i];
    for (int64_t o = 0; o < Out; ++o) {
      double acc = 0, lo = 0;
      for (int64_t i = 0; i < In; ++i) acc += x[n * In + i] * W[o * In + i];
      for (int64_t r = 0; r < R; ++r) lo += xa[r] * Bm[o * R + r];
      y[n * Out + o] = acc + s * lo;
    }
  }
  return y;
}

TEST(LoraLinear, InitFollowsPeft) {
  Generator g(3);
  LoraLinear a(64, 10, 4, 2.0, 0.0, g, nullptr);
  EXPECT_EQ(a.lora_A.shape(), (Shape{4, 64}));
  EXPECT_EQ(a.lora_B.shape(), (Shape{10, 4}));
  auto A = a.lora_A.to_vector<double>();
  const double bound = 1.0 / std::sqrt(64.0);
  double mx = 0;
  for (double v : A) mx = std::max(mx, std::abs(v));
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.9 * bound);  // 256 uniform draws reach close to the bound
  for (double v : a.lora_B.to_vector<double>()) EXPECT_EQ(v, 0.0);
  Generator g2(3);
  LoraLinear b(64, 10, 4, 2.0, 0.0, g2, nullptr);
  EXPECT_EQ(a.lora_A.to_vector<float>(), b.lora_A.to_vector<float>());
}

TEST(LoraLinear, ForwardMatchesLoopsAndGradientsCheck) {
  const int64_t N = 3, In = 5, Out = 4, R = 2;
  nn::Linear lin(In, Out, false);
  lin.weight = testing::randn({Out, In}, 1);
  Generator g(0);
  auto ad = std::make_shared<LoraLinear>(In, Out, R, 1.5, 0.0, g, nullptr);
  ad->lora_A = testing::randn({R, In}, 2);
  ad->lora_B = testing::randn({Out, R}, 3);
  lin.set_adapter(ad);
  Tensor x = testing::randn({N, In}, 4);
  auto want = ref_forward(x.to_vector<double>(), lin.weight.to_vector<double>(),
                          ad->lora_A.to_vector<double>(), ad->lora_B.to_vector<double>(), N, In,
                          Out, R, 1.5);
  EXPECT_TRUE(testing::allclose(lin.forward(x), want, 1e-12, 1e-12));
  // f32 base weight with an f32 adapter; a bf16 base output gets the adapter delta cast back.
  nn::Linear lb(In, Out, false);
  lb.weight = astype(lin.weight, DType::bf16);
  Generator g1(0);
  auto ab = std::make_shared<LoraLinear>(In, Out, R, 1.5, 0.0, g1, nullptr);
  ab->lora_A = astype(ad->lora_A, DType::f32);
  ab->lora_B = astype(ad->lora_B, DType::f32);
  lb.set_adapter(ab);
  Tensor yb = lb.forward(astype(x, DType::bf16));
  EXPECT_EQ(yb.dtype(), DType::bf16);
  EXPECT_TRUE(testing::allclose(astype(yb, DType::f64), want, 0.1, 0.05));
  // Gradients with respect to x, A and B (f64 finite differences).
  EXPECT_TRUE(testing::check_grad(
      [&](const std::vector<Tensor>& in) {
        ad->lora_A = in[1];
        ad->lora_B = in[2];
        return lin.forward(in[0]);
      },
      {x, testing::randn({R, In}, 5), testing::randn({Out, R}, 6)}));
}

TEST(LoraLinear, DropoutOnlyOnAdapterInputAndOnlyInTraining) {
  const int64_t In = 64, Out = 3, R = 2;
  nn::Linear lin(In, Out, false);
  lin.weight = zeros({Out, In}, DType::f32);
  Generator g(0), dg(9);
  auto ad = std::make_shared<LoraLinear>(In, Out, R, 1.0, 0.5, g, &dg);
  ad->lora_A = ones({R, In});
  ad->lora_B = ones({Out, R});
  lin.set_adapter(ad);
  Tensor x = ones({1, In});
  // Training: each kept input is scaled by 2 -> output = 2 * R * kept; not all 64 kept.
  auto y = lin.forward(x).to_vector<double>();
  EXPECT_NE(y[0], 2.0 * 64);
  EXPECT_EQ(std::fmod(y[0], 4.0), 0.0);
  ad->set_training(false);
  EXPECT_EQ(lin.forward(x).to_vector<double>()[0], 2.0 * 64);
}

TEST(ApplyLora, TargetsAllLinearAndLayersAndPeftKeys) {
  testing::TinyLM m(45, 8, 1);
  LoraConfig c;
  c.r = 2;
  c.target_modules = {"q_proj", "v_proj"};
  auto layers = apply_lora(m, c);
  ASSERT_EQ(layers.size(), 4u);
  EXPECT_EQ(layers[0].path, "model.layers.0.self_attn.q_proj");
  auto tr = m.trainable_parameters();
  ASSERT_EQ(tr.size(), 8u);
  EXPECT_EQ(tr[0].path, "model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(tr[1].path, "model.layers.0.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(tr[0].tensor->shape(), (Shape{2, 8}));
  EXPECT_EQ(tr[1].tensor->shape(), (Shape{8, 2}));

  testing::TinyLM m2(45, 8, 1);
  LoraConfig all;
  all.target_modules = {"all-linear"};
  all.layers_to_transform = {1};
  auto l2 = apply_lora(m2, all);
  ASSERT_EQ(l2.size(), 4u);  // q, v, up, down of layer 1; never lm_head
  for (auto& l : l2) EXPECT_NE(l.path.find("layers.1."), std::string::npos) << l.path;
  testing::TinyLM m3(45, 8, 1);
  LoraConfig none;
  none.target_modules = {"k_proj"};
  EXPECT_THROW(apply_lora(m3, none), ValueError);
  none.r = 0;
  EXPECT_THROW(apply_lora(m3, none), ValueError);
}

TEST(ApplyLora, MergeEqualsAdapterForwardAndUnmergeRestores) {
  testing::TinyLM m(45, 8, 1);
  LoraConfig c;
  c.r = 4;
  c.lora_alpha = 8;
  c.target_modules = {"all-linear"};
  auto layers = apply_lora(m, c);
  Generator g(5);
  for (auto& l : layers)
    l.adapter->lora_B = random_uniform(l.adapter->lora_B.shape(), DType::f32, -0.3, 0.3, &g);
  Tensor ids = from_vector<int64_t>({2, 5, 7, 9, 11, 3}, {2, 3});
  Tensor pos = from_vector<int64_t>({0, 1, 2, 0, 1, 2}, {2, 3});
  Tensor with = m.hidden_states(ids, pos, std::nullopt);
  with.eval();
  Tensor w0 = m.model.l0.self_attn.q_proj.weight;
  merge(m);
  EXPECT_TRUE(layers[0].adapter->merged());
  EXPECT_TRUE(testing::allclose(m.hidden_states(ids, pos, std::nullopt), with, 2e-5, 2e-5));
  unmerge(m);
  EXPECT_TRUE(testing::allclose(m.model.l0.self_attn.q_proj.weight, w0, 1e-6, 1e-6));
  merge_and_unload(m);
  EXPECT_TRUE(adapted_layers(m).empty());
  EXPECT_TRUE(testing::allclose(m.hidden_states(ids, pos, std::nullopt), with, 2e-5, 2e-5));
}

TEST(PeftFormat, SaveWritesPeftFilesAndLoadRoundTrips) {
  fs::path d = temp_dir("save");
  testing::TinyLM m(45, 8, 1);
  LoraConfig c;
  c.r = 2;
  c.lora_alpha = 4;
  c.lora_dropout = 0.05;
  c.target_modules = {"all-linear"};
  c.base_model_name_or_path = "tiny";
  auto layers = apply_lora(m, c);
  Generator g(7);
  for (auto& l : layers)
    l.adapter->lora_B = random_uniform(l.adapter->lora_B.shape(), DType::f32, -1, 1, &g);
  save_adapter(m, c, d);
  auto st = io::SafeTensorsFile::open(d / "adapter_model.safetensors");
  auto names = st.names();
  ASSERT_EQ(names.size(), 16u);
  EXPECT_TRUE(st.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(st.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
  EXPECT_EQ(st.info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape,
            (Shape{8, 2}));
  EXPECT_EQ(st.info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape,
            (Shape{2, 16}));
  std::ifstream in(d / "adapter_config.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 2);
  EXPECT_EQ(j["lora_alpha"], 4.0);
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["base_model_name_or_path"], "tiny");
  EXPECT_EQ(j["target_modules"], nlohmann::json({"down_proj", "q_proj", "up_proj", "v_proj"}));

  testing::TinyLM m2(45, 8, 1);
  LoraConfig c2 = load_adapter(m2, d);
  EXPECT_EQ(c2.r, 2);
  EXPECT_DOUBLE_EQ(c2.scale(), 2.0);
  auto a = adapted_layers(m), b = adapted_layers(m2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].adapter->lora_B.to_vector<float>(), b[i].adapter->lora_B.to_vector<float>());
    EXPECT_EQ(a[i].adapter->lora_A.to_vector<float>(), b[i].adapter->lora_A.to_vector<float>());
  }
  fs::remove_all(d);
}

TEST(PeftFormat, LoadErrorsNameTheTensor) {
  fs::path d = temp_dir("errors");
  auto write_cfg = [&](const std::string& targets) {
    std::ofstream(d / "adapter_config.json")
        << R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": )" << targets << "}";
  };
  write_cfg(R"(["q_proj"])");
  const std::string p = "base_model.model.model.layers.";
  auto A = zeros({2, 8}), B = zeros({8, 2});
  // Unknown key.
  io::write_safetensors(d / "adapter_model.safetensors",
                        {{p + "0.self_attn.q_proj.lora_A.weight", A},
                         {p + "0.self_attn.q_proj.lora_B.weight", B},
                         {p + "1.self_attn.q_proj.lora_A.weight", A},
                         {p + "1.self_attn.q_proj.lora_B.weight", B},
                         {p + "0.self_attn.k_proj.lora_A.weight", A}});
  auto expect_msg = [&](const std::string& needle) {
    testing::TinyLM m(45, 8, 1);
    try {
      load_adapter(m, d);
      ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg("k_proj.lora_A.weight");
  // Missing key.
  io::write_safetensors(d / "adapter_model.safetensors",
                        {{p + "0.self_attn.q_proj.lora_A.weight", A},
                         {p + "0.self_attn.q_proj.lora_B.weight", B},
                         {p + "1.self_attn.q_proj.lora_A.weight", A}});
  expect_msg("layers.1.self_attn.q_proj.lora_B.weight");
  // Wrong shape.
  io::write_safetensors(d / "adapter_model.safetensors",
                        {{p + "0.self_attn.q_proj.lora_A.weight", zeros({3, 8})},
                         {p + "0.self_attn.q_proj.lora_B.weight", B},
                         {p + "1.self_attn.q_proj.lora_A.weight", A},
                         {p + "1.self_attn.q_proj.lora_B.weight", B}});
  expect_msg("[3, 8]");
  // Malformed config.
  std::ofstream(d / "adapter_config.json") << R"({"peft_type": "LORA", "r": "two"})";
  expect_msg("'r'");
  fs::remove_all(d);
}

// wick merge's core against PEFT's merge_and_unload() of the same adapter (fixtures).
TEST(PeftFormat, MergeCheckpointMatchesPeftMergedModel) {
  fs::path out = temp_dir("merge") / "merged";
  const fs::path fx = testing::source_path("tests/fixtures");
  EXPECT_EQ(merge_adapter_into_checkpoint(fx / "models/llama", fx / "adapters/llama_lora_qv", out),
            4);
  auto got = io::load_checkpoint(out);
  auto want = io::load_checkpoint(fx / "merged/llama_lora_qv");
  auto base = io::load_checkpoint(fx / "models/llama");
  EXPECT_EQ(got.names(), want.names());
  int changed = 0;
  for (const auto& n : want.names()) {
    EXPECT_EQ(got.info(n).dtype, want.info(n).dtype) << n;
    EXPECT_TRUE(
        testing::allclose(got.tensor(n, DType::f64), want.tensor(n, DType::f64), 1e-6, 1e-5))
        << n;
    changed += !testing::allclose(got.tensor(n, DType::f64), base.tensor(n, DType::f64), 0, 0);
  }
  EXPECT_EQ(changed, 4);
  for (const char* f :
       {"config.json", "tokenizer.json", "generation_config.json", "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  // A second merge into the now non-empty folder is refused.
  EXPECT_THROW(
      merge_adapter_into_checkpoint(fx / "models/llama", fx / "adapters/llama_lora_qv", out),
      IoError);
  fs::remove_all(out.parent_path());
}

}  // namespace
}  // namespace wick::lora
