// End-to-end runs of the `wick train` command on the tiny Llama fixture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/testing.h"
#include "wick/io/safetensors.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"

namespace wick::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path cli_dir(const std::string& name) { return testing::temp_dir("train_cli_" + name); }

// Runs the CLI with `args`; returns its exit status and output (stdout + stderr).
std::pair<int, std::string> wick(const std::string& args) {
  const std::string cmd = std::string(WICK_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = pclose(p);
  return {WEXITSTATUS(st), out};
}

std::vector<json> read_json_lines(const fs::path& f) {
  std::ifstream in(f);
  std::vector<json> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(json::parse(l));
  return out;
}

TEST(TrainCli, LoraRunMatchesPeftLossesAndWritesAdapterMetricsPlot) {
  const fs::path out = cli_dir("lora");
  const std::string model = (testing::fixtures_dir() / "models/llama").string();
  auto [rc, text] = wick(
      fmt::format("train --model {} --data {} --out {} --resume-adapter {} --lr 1e-3 --iters 3 "
                  "--batch-size 2 --no-shuffle --no-eos --max-grad-norm 0 --save-every 2",
                  model, (testing::fixtures_dir() / "train/data.jsonl").string(), out.string(),
                  (testing::fixtures_dir() / "train/start_adapter").string()));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("step 3/3"), std::string::npos) << text;
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "metrics.jsonl",
                        "loss.svg", "checkpoint-2/optimizer.safetensors"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  std::ifstream lf(testing::fixtures_dir() / "train/bs2_wd0/log.json");
  const json log = json::parse(lf);
  const auto m = read_json_lines(out / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    for (const char* k : {"step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s"})
      EXPECT_TRUE(m[s].contains(k)) << k;
    const double want = log["steps"][s]["loss"].get<double>();
    EXPECT_NEAR(m[s]["loss"].get<double>(), want, 1e-4 * want) << "step " << s + 1;
  }
  fs::remove_all(out);
}

// --pack: each micro-batch of 2 examples becomes one packed row (positions restarting, attention
// kept inside each example), which scores the same tokens as PEFT's padded batches.
TEST(TrainCli, PackedRunMatchesPeftPaddedLosses) {
  const fs::path out = cli_dir("pack");
  const std::string model = (testing::fixtures_dir() / "models/llama").string();
  auto [rc, text] = wick(
      fmt::format("train --model {} --data {} --out {} --resume-adapter {} --lr 1e-3 --iters 3 "
                  "--batch-size 2 --no-shuffle --no-eos --max-grad-norm 0 --pack",
                  model, (testing::fixtures_dir() / "train/data.jsonl").string(), out.string(),
                  (testing::fixtures_dir() / "train/start_adapter").string()));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("step 3/3"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
  std::ifstream lf(testing::fixtures_dir() / "train/bs2_wd0/log.json");
  const json log = json::parse(lf);
  const auto m = read_json_lines(out / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    const double want = log["steps"][s]["loss"].get<double>();
    EXPECT_NEAR(m[s]["loss"].get<double>(), want, 1e-4 * want) << "step " << s + 1;
  }
  fs::remove_all(out);
}

TEST(TrainCli, FullRunWritesALoadableModelFolderAndConfigFileWorks) {
  const fs::path out = cli_dir("full");
  const fs::path cfg =
      out.parent_path() / ("wick_train_cli_cfg_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(cfg) << "model: " << (testing::fixtures_dir() / "models/llama").string() << "\n"
                     << "data: " << (testing::fixtures_dir() / "train/data.jsonl").string() << "\n"
                     << "lr: 1.0e-3\niters: 2\nbatch_size: 2\nfull: true\n";
  auto [rc, text] = wick(fmt::format("train --config {} --out {}", cfg.string(), out.string()));
  ASSERT_EQ(rc, 0) << text;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json",
                        "generation_config.json", "metrics.jsonl", "loss.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  auto trained = models::load_causal_lm(out);
  auto base = models::load_causal_lm(testing::fixtures_dir() / "models/llama");
  Tensor ids = from_vector<int64_t>({5, 6, 7}, {1, 3});
  const double diff = max(abs(trained->forward(ids) - base->forward(ids))).item<double>();
  EXPECT_GT(diff, 1e-4);  // the weights were trained
  fs::remove_all(out);
  fs::remove(cfg);
}

// --grad-checkpoint trains to the same logged losses as without it.
TEST(TrainCli, GradCheckpointGivesTheSameLosses) {
  const fs::path out = cli_dir("ckpt");
  const std::string model = (testing::fixtures_dir() / "models/llama").string();
  std::vector<double> losses[2];
  for (int ckpt = 0; ckpt < 2; ++ckpt) {
    const fs::path o = out / std::to_string(ckpt);
    auto [rc, text] =
        wick(fmt::format("train --model {} --data {} --out {} --iters 2 --batch-size 2{}", model,
                         (testing::fixtures_dir() / "train/data.jsonl").string(), o.string(),
                         ckpt ? " --grad-checkpoint" : ""));
    ASSERT_EQ(rc, 0) << text;
    for (const auto& m : read_json_lines(o / "metrics.jsonl"))
      if (m.contains("loss")) losses[ckpt].push_back(m["loss"].get<double>());
  }
  EXPECT_EQ(losses[0].size(), 2u);
  EXPECT_EQ(losses[1], losses[0]);
  fs::remove_all(out);
}

TEST(TrainCli, BadArgumentsGiveOneClearError) {
  const fs::path out = cli_dir("bad");
  const std::string model = (testing::fixtures_dir() / "models/llama").string();
  auto [rc, text] =
      wick(fmt::format("train --model {} --data /nonexistent.jsonl --out {}", model, out.string()));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("nonexistent"), std::string::npos) << text;
  std::tie(rc, text) =
      wick(fmt::format("train --model {} --data {} --out {} --optimizer lion", model,
                       (testing::fixtures_dir() / "train/data.jsonl").string(), out.string()));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("lion"), std::string::npos) << text;
  fs::remove_all(out);
}

}  // namespace
}  // namespace wick::train
