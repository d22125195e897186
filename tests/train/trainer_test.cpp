#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "tiny_lm.h"
#include "wick/ops/linear_cross_entropy.h"
#include "wick/train/trainer.h"

namespace wick::train {
namespace {

namespace fs = std::filesystem;

fs::path trainer_dir(const std::string& name) { return testing::temp_dir("train_" + name); }

void write(const fs::path& f, const std::string& s) { std::ofstream(f) << s; }

fs::path qa_data(const fs::path& dir) {
  write(dir / "train.jsonl",
        "{\"prompt\": \"q: cat?\", \"completion\": \" a: meow.\"}\n"
        "{\"prompt\": \"q: dog?\", \"completion\": \" a: woof woof.\"}\n"
        "{\"prompt\": \"q: cow?\", \"completion\": \" a: moo.\"}\n"
        "{\"text\": \"the sheep says baa.\"}\n"
        "{\"prompt\": \"q: owl?\", \"completion\": \" a: hoot.\"}\n"
        "{\"prompt\": \"q: duck?\", \"completion\": \" a: quack.\"}\n"
        "{\"prompt\": \"q: hen?\", \"completion\": \" a: cluck.\"}\n"
        "{\"text\": \"the horse says neigh.\"}\n");
  write(dir / "valid.jsonl", "{\"prompt\": \"q: cat?\", \"completion\": \" a: meow.\"}\n");
  return dir;
}

TrainConfig base_config(const fs::path& data, const fs::path& out) {
  TrainConfig c;
  c.data = data;
  c.out = out;
  c.lora.r = 4;
  c.lora.lora_alpha = 8;
  c.lora.target_modules = {"all-linear"};
  c.lr = 1e-2;
  c.iters = 6;
  c.batch_size = 2;
  c.seed = 3;
  return c;
}

TEST(Data, MalformedLineNamesFileAndLine) {
  fs::path d = trainer_dir("malformed");
  write(d / "train.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"ok\"}\n{\"text\": 3}\n");
  try {
    read_jsonl(d / "train.jsonl");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("train.jsonl:4"), std::string::npos) << e.what();
  }
  write(d / "train.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"ok\"\n");
  try {
    read_jsonl(d / "train.jsonl");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("train.jsonl:2"), std::string::npos) << e.what();
  }
  write(d / "train.jsonl", "{\"prompt\": \"x\"}\n");
  EXPECT_THROW(read_jsonl(d / "train.jsonl"), IoError);
  EXPECT_THROW(resolve_data(d / "nope"), IoError);
  fs::remove_all(d);
}

TEST(Data, PromptMaskingTruncationAndEos) {
  Tokenizer tok = testing::char_tokenizer();
  Record r;
  r.kind = Record::Kind::prompt_completion;
  r.prompt = "ab";
  r.completion = "cd";
  TokenizeOptions o;
  o.eos_id = 1;
  o.mask_prompt = true;
  auto s = tokenize({r}, tok, o)[0];
  // <s> a b c d </s>; loss only on c d </s>.
  EXPECT_EQ(s.ids, (std::vector<int32_t>{0, 3, 4, 5, 6, 1}));
  EXPECT_EQ(s.target, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  Batch b = pad_batch({&s}, 1);
  EXPECT_EQ(b.n_targets, 3);
  EXPECT_EQ(b.targets.to_vector<int64_t>(), (std::vector<int64_t>{-100, -100, 5, 6, 1}));
  o.max_seq_len = 4;
  auto t = tokenize({r}, tok, o)[0];
  EXPECT_EQ(t.ids.size(), 4u);
  Record m;
  m.kind = Record::Kind::messages;
  m.messages_json = "[]";
  EXPECT_THROW(tokenize({m}, tok, o), NotImplemented);
}

// A packed batch must give each document exactly the loss it has alone (block-diagonal mask).
TEST(Data, PackedLossEqualsPaddedLoss) {
  testing::TinyLM m(testing::char_vocab_size(), 8, 1);
  Tokenizer tok = testing::char_tokenizer();
  std::vector<Record> rs(3);
  rs[0].text = "hello there";
  rs[1].text = "abc";
  rs[2].text = "a longer example.";
  auto ss = tokenize(rs, tok, {});
  std::vector<const Sample*> p = {&ss[0], &ss[1], &ss[2]};
  auto loss = [&](const Batch& b) {
    Tensor h = m.hidden_states(b.ids, b.positions, b.mask);
    return linear_cross_entropy(reshape(h, {-1, 8}), m.lm_head_weight(), b.targets, -100,
                                Reduction::sum)
        .item<double>();
  };
  Batch padded = pad_batch(p, 0), packed = pack_batch(p, 64, 0);
  EXPECT_EQ(packed.ids.shape(0), 1);
  EXPECT_EQ(padded.n_targets, packed.n_targets);
  EXPECT_NEAR(loss(padded), loss(packed), 1e-4);
  Batch two_rows = pack_batch(p, 20, 0);
  EXPECT_EQ(two_rows.ids.shape(0), 2);
  EXPECT_NEAR(loss(padded), loss(two_rows), 1e-4);
}

TEST(Trainer, LossFallsAndWritesPeftAdapterMetricsAndPlot) {
  fs::path d = trainer_dir("falls");
  testing::TinyLM m(testing::char_vocab_size(), 16, 1);
  auto c = base_config(qa_data(d), d / "out");
  c.iters = 30;
  c.lr = 3e-2;
  c.mask_prompt = true;
  c.eval_every = 10;
  Trainer t(m, testing::char_tokenizer(), c, 1, 1);
  auto r = t.run();
  ASSERT_EQ(r.history.size(), 30u);
  EXPECT_LT(r.history.back().loss, 0.6 * r.history.front().loss);
  ASSERT_EQ(r.evals.size(), 4u);  // step 0 (before training), 10, 20, 30
  EXPECT_EQ(r.evals.front().step, 0);
  EXPECT_LT(r.evals.back().loss, r.evals.front().loss);
  EXPECT_TRUE(fs::exists(d / "out" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(d / "out" / "adapter_config.json"));
  EXPECT_TRUE(fs::exists(d / "out" / "loss.svg"));
  std::ifstream in(d / "out" / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) {
    auto j = nlohmann::json::parse(l);
    EXPECT_TRUE(j.contains("step"));
    if (!j.contains("eval_loss")) {
      for (auto k : {"loss", "lr", "grad_norm", "tokens", "tokens_per_s"})
        EXPECT_TRUE(j.contains(k)) << k;
    }
    ++lines;
  }
  EXPECT_EQ(lines, 34);
  fs::remove_all(d);
}

// Accumulating 4 micro-batches of 1 equals one batch of 4 (loss normalised by the total target
// count of the step, not per micro-batch).
TEST(Trainer, GradAccumulationEqualsBigBatch) {
  fs::path d = trainer_dir("accum");
  qa_data(d);
  auto run = [&](int64_t bs, int64_t accum) {
    testing::TinyLM m(testing::char_vocab_size(), 8, 1);
    auto c = base_config(d / "train.jsonl", d / ("out" + std::to_string(bs)));
    c.batch_size = bs;
    c.grad_accum = accum;
    c.shuffle = false;
    c.iters = 3;
    c.lr_schedule = "linear";
    c.warmup = 1;
    c.weight_decay = 0.1;
    Trainer t(m, testing::char_tokenizer(), c, 1, 1);
    auto r = t.run();
    std::vector<double> out;
    for (auto& h : r.history) out.push_back(h.loss);
    for (auto& p : t.trainable())
      for (double v : p.tensor->to_vector<double>()) out.push_back(v);
    return out;
  };
  auto a = run(4, 1), b = run(1, 4);
  EXPECT_TRUE(testing::allclose(b, a, 1e-6, 1e-5));
  fs::remove_all(d);
}

// A run resumed from a checkpoint continues exactly like the uninterrupted run (CPU): data order,
// dropout masks, optimizer moments and the schedule all come back.
TEST(Trainer, ResumeEqualsUninterrupted) {
  fs::path d = trainer_dir("resume");
  qa_data(d);
  auto cfg = [&](const std::string& out) {
    auto c = base_config(d, d / out);
    c.lora.lora_dropout = 0.2;
    c.iters = 6;
    c.save_every = 3;
    c.lr_schedule = "cosine";
    c.warmup = 2;
    return c;
  };
  std::vector<double> full;
  {
    testing::TinyLM m(testing::char_vocab_size(), 8, 1);
    Trainer t(m, testing::char_tokenizer(), cfg("a"), 1, 1);
    for (auto& h : t.run().history) full.push_back(h.loss);
  }
  ASSERT_TRUE(fs::exists(d / "a" / "checkpoint-3" / "optimizer.safetensors"));
  ASSERT_FALSE(fs::exists(d / "a" / "checkpoint-3.tmp"));
  testing::TinyLM m(testing::char_vocab_size(), 8, 1);
  auto c = cfg("b");
  c.resume = d / "a" / "checkpoint-3";
  Trainer t(m, testing::char_tokenizer(), c, 1, 1);
  auto r = t.run();
  ASSERT_EQ(r.history.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(r.history[i].loss, full[i]) << "step " << i + 1;
  fs::remove_all(d);
}

TEST(Trainer, NonFiniteLossStopsAndKeepsLastCheckpoint) {
  fs::path d = trainer_dir("nan");
  qa_data(d);
  testing::TinyLM m(testing::char_vocab_size(), 8, 1);
  auto c = base_config(d, d / "out");
  c.optimizer = "sgd";
  c.max_grad_norm = 0;
  c.lr = 1e30;
  c.iters = 20;
  c.save_every = 1;
  Trainer t(m, testing::char_tokenizer(), c, 1, 1);
  try {
    t.run();
    FAIL() << "expected a stop";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("NaN") != std::string::npos || msg.find("inf") != std::string::npos ||
                msg.find("nan") != std::string::npos)
        << msg;
    EXPECT_NE(msg.find("checkpoint-"), std::string::npos) << msg;
  }
  // The checkpoint named last is complete and loads.
  fs::path last;
  for (auto& e : fs::directory_iterator(d / "out"))
    if (e.path().filename().string().starts_with("checkpoint-") && e.path().extension() != ".tmp")
      last = e.path();
  ASSERT_FALSE(last.empty());
  EXPECT_TRUE(fs::exists(last / "trainer_state.json"));
  testing::TinyLM m2(testing::char_vocab_size(), 8, 1);
  EXPECT_NO_THROW(lora::load_adapter(m2, last));
  fs::remove_all(d);
}

TEST(Trainer, FullFineTuningTrainsEveryParameter) {
  fs::path d = trainer_dir("full");
  qa_data(d);
  testing::TinyLM m(testing::char_vocab_size(), 8, 1);
  auto c = base_config(d, d / "out");
  c.full = true;
  c.iters = 5;
  c.lr = 1e-2;
  Tensor before = m.lm_head.weight;
  Trainer t(m, testing::char_tokenizer(), c, 1, 1);
  EXPECT_EQ(t.trainable().size(), m.parameters().size());
  auto r = t.run();
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  EXPECT_FALSE(testing::allclose(m.lm_head.weight, before, 1e-6, 0));
  EXPECT_TRUE(fs::exists(d / "out" / "model.safetensors"));
  fs::remove_all(d);
}

}  // namespace
}  // namespace wick::train
