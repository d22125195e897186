// Training parity against PEFT/transformers goldens (tests/fixtures/train,
// tests/fixtures/adapters): the tiny Llama, the same starting adapter, the same data in file order,
// AdamW, f32 on the CPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "wick/generate/generator.h"
#include "wick/io/safetensors.h"
#include "wick/lora/lora.h"
#include "wick/ops.h"
#include "wick/ops/linear_cross_entropy.h"
#include "wick/train/model_bridge.h"

namespace wick::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path parity_dir(const std::string& name) { return testing::temp_dir("parity_" + name); }

json read_json(const fs::path& f) {
  std::ifstream in(f);
  return json::parse(in);
}

std::unique_ptr<models::CausalLM> tiny_llama(const std::string& name = "llama") {
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  return models::load_causal_lm(testing::fixtures_dir() / "models" / name, lo);
}

Tokenizer tiny_tokenizer() {
  return Tokenizer::from_file((testing::fixtures_dir() / "models/llama").string());
}

// The golden runs' settings: AdamW lr 1e-3, constant lr, no clipping, file order, no eos added.
TrainConfig golden_config(const fs::path& out, int64_t batch, double wd, int64_t iters) {
  TrainConfig c;
  c.data = testing::fixtures_dir() / "train/data.jsonl";
  c.out = out;
  c.resume_adapter = testing::fixtures_dir() / "train/start_adapter";
  c.optimizer = "adamw";
  c.lr = 1e-3;
  c.weight_decay = wd;
  c.max_grad_norm = 0;
  c.iters = iters;
  c.batch_size = batch;
  c.shuffle = false;
  return c;
}

// Every tensor of `file` against the adapter tensors of the model (keys "base_model.model.<path>").
void expect_adapter_equals(nn::Module& m, const fs::path& file, double atol, double rtol) {
  auto st = io::SafeTensorsFile::open(file);
  size_t n = 0;
  for (const auto& p : m.trainable_parameters()) {
    const std::string key = "base_model.model." + p.path;
    ASSERT_TRUE(st.contains(key)) << key;
    SCOPED_TRACE(key);
    testing::allclose(*p.tensor, st.tensor(key, DType::f32), atol, rtol);
    ++n;
  }
  EXPECT_EQ(n, st.names().size());
}

class GoldenRun : public ::testing::TestWithParam<std::tuple<std::string, int64_t, double>> {};

// Sum cross-entropy / n_targets of a batch and its gradients with respect to `params`.
std::pair<double, std::vector<Tensor>> loss_and_grads(ModelBridge& bridge, const Batch& b,
                                                      const std::vector<Tensor>& params) {
  auto [v, g] = value_and_grad(
      [&](const std::vector<Tensor>&) {
        Tensor h = bridge.hidden_states(b.ids, b.positions, b.mask);
        return linear_cross_entropy(reshape(h, {-1, h.shape(-1)}), bridge.lm_head_weight(),
                                    b.targets, -100, Reduction::sum) /
               double(b.n_targets);
      },
      params);
  return {v.item<double>(), g};
}

TEST_P(GoldenRun, LossesIdsStepOneAndFinalAdapterMatchPeft) {
  const auto [name, batch, wd] = GetParam();
  const fs::path gold = testing::fixtures_dir() / "train" / name;
  const json log = read_json(gold / "log.json");
  const fs::path out = parity_dir(name);
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  Trainer t(bridge, tiny_tokenizer(), golden_config(out, batch, wd, 10), std::nullopt, 0);

  // Tokenisation: the ids of each golden batch row (without padding) are the samples' ids.
  for (const auto& step : log["steps"]) {
    const auto ex = step["examples"].get<std::vector<int>>();
    for (size_t j = 0; j < ex.size(); ++j) {
      std::vector<int32_t> ids;
      const auto& row = step["input_ids"][j];
      const auto& mask = step["attention_mask"][j];
      for (size_t k = 0; k < row.size(); ++k)
        if (mask[k].get<int>()) ids.push_back(row[k].get<int32_t>());
      EXPECT_EQ(t.train_samples()[size_t(ex[j])].ids, ids) << "example " << ex[j];
    }
  }

  // Step-1 gradients (before the optimizer step) against PEFT's.
  {
    std::vector<const Sample*> first;
    for (int64_t j = 0; j < batch; ++j) first.push_back(&t.train_samples()[size_t(j)]);
    const Batch b = pad_batch(first, 0);
    EXPECT_EQ(b.n_targets, log["steps"][0]["scored_tokens"].get<int64_t>());
    std::vector<Tensor> ps;
    for (const auto& p : t.trainable()) ps.push_back(*p.tensor);
    const auto g = loss_and_grads(bridge, b, ps).second;
    auto st = io::SafeTensorsFile::open(gold / "grads_step1.safetensors");
    ASSERT_EQ(st.names().size(), g.size());
    for (size_t i = 0; i < g.size(); ++i) {
      const std::string key = "base_model.model." + t.trainable()[i].path;
      SCOPED_TRACE(key);
      testing::allclose(g[i], st.tensor(key, DType::f32), 1e-6, 1e-4);
    }
  }

  const TrainResult r = t.run();
  ASSERT_EQ(r.history.size(), 10u);
  for (size_t s = 0; s < 10; ++s) {
    const double want = log["steps"][s]["loss"].get<double>();
    EXPECT_NEAR(r.history[s].loss, want, 1e-4 * std::abs(want)) << "step " << s + 1;
  }
  expect_adapter_equals(*model, gold / "final_adapter/adapter_model.safetensors", 1e-6, 1e-4);
  // The adapter wick wrote is a PEFT adapter with the same tensors.
  auto saved = io::SafeTensorsFile::open(out / "adapter_model.safetensors");
  auto want = io::SafeTensorsFile::open(gold / "final_adapter/adapter_model.safetensors");
  EXPECT_EQ(saved.names().size(), want.names().size());
  for (const auto& k : want.names())
    testing::allclose(saved.tensor(k, DType::f32), want.tensor(k, DType::f32), 1e-6, 1e-4);
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Peft, GoldenRun,
                         ::testing::Values(std::make_tuple("bs1_wd0", 1, 0.0),
                                           std::make_tuple("bs1_wd0.01", 1, 0.01),
                                           std::make_tuple("bs2_wd0", 2, 0.0)),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param);
                           for (auto& ch : n)
                             if (ch == '.') ch = '_';
                           return n;
                         });

TEST(GoldenRun, ParamsAfterStepOneMatch) {
  const fs::path out = parity_dir("step1");
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  Trainer t(bridge, tiny_tokenizer(), golden_config(out, 1, 0.01, 1), std::nullopt, 0);
  t.run();
  expect_adapter_equals(*model,
                        testing::fixtures_dir() / "train/bs1_wd0.01/params_after_step1.safetensors",
                        1e-7, 1e-5);
  fs::remove_all(out);
}

// One SGD step with lr 1 moves the parameters by exactly minus the gradient: the gradient of an
// optimizer step, seen through the trainer, for 4 micro-batches of 1 and for one batch of 4.
TEST(GoldenRun, GradAccumulationEqualsBatchOfFour) {
  auto st =
      io::SafeTensorsFile::open(testing::fixtures_dir() / "train/grad_accum/grads.safetensors");
  for (const auto& [batch, accum] : {std::pair<int64_t, int64_t>{1, 4}, {4, 1}}) {
    SCOPED_TRACE(fmt::format("batch {} x accum {}", batch, accum));
    const fs::path out = parity_dir("accum");
    auto model = tiny_llama();
    ModelBridge bridge(*model);
    TrainConfig c = golden_config(out, batch, 0, 1);
    c.optimizer = "sgd";
    c.lr = 1;
    c.grad_accum = accum;
    Trainer t(bridge, tiny_tokenizer(), c, std::nullopt, 0);
    std::vector<Tensor> before;
    for (const auto& p : t.trainable()) before.push_back(contiguous(*p.tensor * 1.0));
    eval(before);
    t.run();
    for (size_t i = 0; i < before.size(); ++i) {
      const std::string path = t.trainable()[i].path;
      for (const char* set : {"accum_token_weighted/", "batch4/"}) {
        SCOPED_TRACE(std::string(set) + path);
        testing::allclose(before[i] - *t.trainable()[i].tensor,
                          st.tensor(set + ("base_model.model." + path), DType::f32), 2e-6, 1e-4);
      }
    }
    fs::remove_all(out);
  }
}

// PEFT adapters loaded onto the tiny models give PEFT's logits and greedy continuation.
class PeftAdapter : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(PeftAdapter, LogitsGreedyAndSaveReload) {
  const auto [adapter, base] = GetParam();
  const fs::path dir = testing::fixtures_dir() / "adapters" / adapter;
  auto model = tiny_llama(base);
  lora::load_adapter(*model, dir);
  lora::set_training(*model, false);
  auto st = io::SafeTensorsFile::open(dir / "golden/logits.safetensors");
  Tensor ids = st.tensor("input_ids", DType::i64);
  const int64_t T = ids.shape(0);
  Tensor logits = model->forward(reshape(ids, {1, T}));
  testing::allclose(reshape(logits, {T, -1}), st.tensor("logits", DType::f32), 1e-4, 1e-4);

  const json g = read_json(dir / "golden/golden.json");
  const auto prompt = g["input_ids"].get<std::vector<int32_t>>();
  const auto want = g["greedy"]["new_ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(generate::greedy_no_cache(*model, prompt, int64_t(want.size())), want);

  // Saved by wick and reloaded onto a fresh model: the same logits, bit for bit.
  const fs::path out = parity_dir("peft_" + adapter);
  lora::save_adapter(*model, lora::read_adapter_config(dir), out);
  auto again = tiny_llama(base);
  lora::load_adapter(*again, out);
  lora::set_training(*again, false);
  Tensor l1 = model->forward(reshape(ids, {1, T}));
  Tensor l2 = again->forward(reshape(ids, {1, T}));
  EXPECT_EQ(l1.to_vector<float>(), l2.to_vector<float>());
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PeftAdapter,
                         ::testing::Values(std::make_pair("llama_lora_qv", "llama"),
                                           std::make_pair("qwen2_lora_all_linear", "qwen2")),
                         [](const auto& info) { return info.param.first; });

TEST(ModelBridge, PackedRowsAndTiedEmbeddings) {
  auto tied = tiny_llama("llama_tied");
  ModelBridge b(*tied);
  Tensor w = b.lm_head_weight();
  EXPECT_EQ(w.shape(), (Shape{384, 64}));
  // Two documents [5 6 | 7 8] in one row: each gets the hidden states it has alone.
  Tensor ids = from_vector<int64_t>({5, 6, 7, 8}, {1, 4});
  Tensor pos = from_vector<int64_t>({0, 1, 0, 1}, {1, 4});
  const float ninf = -std::numeric_limits<float>::infinity();
  Tensor mask = from_vector<float>({0, ninf, ninf, ninf,  //
                                    0, 0, ninf, ninf,     //
                                    ninf, ninf, 0, ninf,  //
                                    ninf, ninf, 0, 0},
                                   {1, 1, 4, 4});
  Tensor packed = b.hidden_states(ids, pos, mask);
  Tensor p01 = from_vector<int64_t>({0, 1}, {1, 2});
  testing::allclose(slice(packed, 1, 0, 2),
                    b.hidden_states(from_vector<int64_t>({5, 6}, {1, 2}), p01, std::nullopt), 1e-5,
                    1e-5);
  testing::allclose(slice(packed, 1, 2, 4),
                    b.hidden_states(from_vector<int64_t>({7, 8}, {1, 2}), p01, std::nullopt), 1e-5,
                    1e-5);
  EXPECT_THROW(b.hidden_states(ids, from_vector<int64_t>({0, 1, 0}, {1, 3}), std::nullopt),
               ShapeError);
  // Hidden states @ embeddings^T are the model's logits.
  Tensor p0 = from_vector<int64_t>({0, 1, 2, 3}, {1, 4});
  Tensor h = b.hidden_states(ids, p0, std::nullopt);
  testing::allclose(matmul(h, transpose(w, 0, 1)), tied->forward(ids), 1e-5, 1e-5);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= m)) m = std::abs(x[i] - y[i]);
  return m;
}

// Packing: prompt/completion and text examples with --mask-prompt (prompts are in the rows but
// not scored), truncated to max_seq_len, packed into one row or several give the loss and
// gradients of the same examples right-padded (token-weighted).
TEST(Packing, LossAndGradsEqualPadded) {
  const fs::path d = parity_dir("pack");
  std::ofstream(d / "train.jsonl")
      << R"({"prompt": "Q: what is two and two?", "completion": " A: four, of course."})"
      << "\n"
      << R"({"text": "The cat sat on the mat."})"
      << "\n"
      << R"({"prompt": "Say hi.", "completion": " hi"})"
      << "\n"
      << R"({"text": "Rain falls on the river, and the river runs to the sea, forever and ever."})"
      << "\n"
      << R"({"prompt": "x", "completion": "y"})"
      << "\n";
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  TrainConfig c = golden_config(d / "out", 5, 0, 1);
  c.data = d / "train.jsonl";
  c.pack = true;
  c.mask_prompt = true;
  c.max_seq_len = 24;
  Trainer t(bridge, tiny_tokenizer(), c, 2, 0);
  std::vector<Tensor> ps;
  for (const auto& p : t.trainable()) ps.push_back(*p.tensor);
  std::vector<const Sample*> all;
  for (const auto& s : t.train_samples()) all.push_back(&s);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0]->ids.size(), 24u);  // truncated
  EXPECT_EQ(all[0]->target[1], 0);     // a prompt token: not scored
  for (int64_t row_len : {int64_t(24), int64_t(2048)}) {
    const Batch packed = pack_batch(all, row_len, 0), padded = pad_batch(all, 0);
    SCOPED_TRACE(fmt::format("{} rows", packed.ids.shape(0)));
    ASSERT_TRUE(packed.mask);
    EXPECT_EQ(packed.n_targets, padded.n_targets);
    auto [lp, gp] = loss_and_grads(bridge, packed, ps);
    auto [lu, gu] = loss_and_grads(bridge, padded, ps);
    EXPECT_NEAR(lp, lu, 1e-6 * std::abs(lu));
    double worst = 0;
    for (size_t i = 0; i < gp.size(); ++i) worst = std::max(worst, max_abs_diff(gp[i], gu[i]));
    EXPECT_LT(worst, 1e-6);
    RecordProperty(fmt::format("rows{}", packed.ids.shape(0)),
                   fmt::format("loss {:.6f} vs {:.6f}, |dloss| {:.2e}, grad max abs {:.2e}", lp, lu,
                               std::abs(lp - lu), worst));
  }
  EXPECT_GT(pack_batch(all, 24, 0).ids.shape(0), 1);
  // The comparison can fail: without the mask (positions still restarting) examples see the ones
  // before them in the row and the loss moves.
  Batch leaky = pack_batch(all, 2048, 0);
  leaky.mask.reset();
  EXPECT_GT(std::abs(loss_and_grads(bridge, leaky, ps).first -
                     loss_and_grads(bridge, pad_batch(all, 0), ps).first),
            1e-3);
  // Packing needs a row length.
  TrainConfig no_len = c;
  no_len.max_seq_len = 0;
  EXPECT_THROW(Trainer(bridge, tiny_tokenizer(), no_len, 2, 0), ValueError);
  fs::remove_all(d);
}

// The first two golden examples packed in one row give PEFT's step-1 loss and gradients of the
// padded bs2 golden run.
TEST(Packing, StepOneGradsMatchPeftBatchOfTwo) {
  const fs::path gold = testing::fixtures_dir() / "train/bs2_wd0";
  const fs::path out = parity_dir("pack_step1");
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  Trainer t(bridge, tiny_tokenizer(), golden_config(out, 2, 0, 1), std::nullopt, 0);
  std::vector<Tensor> ps;
  for (const auto& p : t.trainable()) ps.push_back(*p.tensor);
  const Batch two = pack_batch({&t.train_samples().at(0), &t.train_samples().at(1)}, 2048, 0);
  EXPECT_EQ(two.ids.shape(0), 1);
  auto [l2, g2] = loss_and_grads(bridge, two, ps);
  const double want = read_json(gold / "log.json")["steps"][0]["loss"].get<double>();
  EXPECT_NEAR(l2, want, 1e-5 * std::abs(want));
  auto st = io::SafeTensorsFile::open(gold / "grads_step1.safetensors");
  ASSERT_EQ(st.names().size(), g2.size());
  for (size_t i = 0; i < g2.size(); ++i) {
    const std::string key = "base_model.model." + t.trainable()[i].path;
    SCOPED_TRACE(key);
    testing::allclose(g2[i], st.tensor(key, DType::f32), 1e-6, 1e-4);
  }
  fs::remove_all(out);
}

// A packed training run (batches of 2 examples in one row each) follows PEFT's padded bs2 run:
// the same losses and final adapter.
TEST(Packing, PackedRunMatchesPeftBatchOfTwo) {
  const fs::path gold = testing::fixtures_dir() / "train/bs2_wd0";
  const json log = read_json(gold / "log.json");
  const fs::path out = parity_dir("pack_run");
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  TrainConfig c = golden_config(out, 2, 0.0, 10);
  c.pack = true;
  Trainer t(bridge, tiny_tokenizer(), c, std::nullopt, 0);
  const TrainResult r = t.run();
  ASSERT_EQ(r.history.size(), 10u);
  for (size_t s = 0; s < 10; ++s) {
    const double want = log["steps"][s]["loss"].get<double>();
    EXPECT_NEAR(r.history[s].loss, want, 1e-4 * std::abs(want)) << "step " << s + 1;
  }
  expect_adapter_equals(*model, gold / "final_adapter/adapter_model.safetensors", 1e-6, 1e-4);
  fs::remove_all(out);
}

}  // namespace
}  // namespace wick::train

namespace wick::train {
namespace {

// {"messages"} data through the model folder's chat template (ChatML in the fixtures): with
// --mask-prompt only the last assistant turn (and the eos) are targets.
TEST(ChatData, MessagesUseTheFolderTemplateAndMaskThePrompt) {
  const fs::path d = parity_dir("chat");
  std::ofstream(d / "train.jsonl")
      << R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]})"
      << "\n";
  auto model = tiny_llama();
  ModelBridge bridge(*model);
  TrainConfig c = golden_config(d / "out", 1, 0, 1);
  c.data = d / "train.jsonl";
  c.resume_adapter.reset();
  c.lora.target_modules = {"q_proj"};
  c.mask_prompt = true;
  const ChatRenderer chat = chat_renderer(testing::fixtures_dir() / "models/llama");
  ASSERT_TRUE(chat);
  const Tokenizer tok = tiny_tokenizer();
  Trainer t(bridge, tok, c, 2, 0, chat);
  const Sample& s = t.train_samples().at(0);
  const std::string full =
      "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello there<|im_end|>\n";
  const std::string prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  std::vector<int32_t> want = tok.encode(full, false);
  want.push_back(2);  // the text ends with "\n", so the eos id is appended
  EXPECT_EQ(s.ids, want);
  const size_t n_prompt = tok.encode(prompt, false).size();
  for (size_t i = 0; i < s.target.size(); ++i) EXPECT_EQ(s.target[i], i >= n_prompt) << i;
  fs::remove_all(d);
}

}  // namespace
}  // namespace wick::train
