// --device on the model commands: the checked device (a second CPU device that runs the CPU
// kernels, refuses host reads outside kernels and poisons freed memory) gives byte-identical
// results to the CPU for generate, perplexity, eval, embed, train and train --resume; an unusable
// device is one error line naming the usable ones; and the library's embedder, generator and
// batched (serve) forward run with a model on checked:0.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <span>

#include "wick/core/backend.h"
#include "wick/embed/embedder.h"
#include "wick/generate/generator.h"
#include "wick/models/llama_batched.h"
#include "wick/ops.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;

std::string dev_file_bytes(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  EXPECT_TRUE(in.good()) << f;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `wick ARGS --device D` for the CPU and the checked device; both must succeed.
std::pair<CliRun, CliRun> dev_on_both(const std::string& args) {
  CliRun cpu = wf_cli(args + " --device cpu");
  CliRun checked = wf_cli(args + " --device checked:0");
  EXPECT_EQ(cpu.rc, 0) << args << "\n" << cpu.out;
  EXPECT_EQ(checked.rc, 0) << args << "\n" << checked.out;
  return {cpu, checked};
}

TEST(WorkflowDevice, GreedyGenerateIsIdenticalOnTheCheckedDevice) {
  for (const char* name : {"llama", "qwen3"}) {
    SCOPED_TRACE(name);
    auto [cpu, checked] = dev_on_both("generate --model " + wf_model(name) +
                                      " --prompt 'the cat sat' --no-chat --max-tokens 8 "
                                      "--temperature 0 --json --threads 1");
    const auto a = wf_last_json(cpu.out), b = wf_last_json(checked.out);
    ASSERT_TRUE(a.contains("tokens")) << cpu.out;
    EXPECT_EQ(a["tokens"].size(), 8u);
    EXPECT_EQ(a["tokens"], b["tokens"]);
    EXPECT_EQ(a["text"], b["text"]);
    EXPECT_EQ(a["prompt_tokens"], b["prompt_tokens"]);
  }
}

TEST(WorkflowDevice, PerplexityAndEvalAreIdenticalOnTheCheckedDevice) {
  const fs::path data = wf_data_folder("device_eval");
  const fs::path text = testing::temp_dir("wf_device_ppl") / "text.txt";
  wf_write(text, "The dog ran in the park. A short line about a cat and a hat.\n");
  auto [pc, pk] = dev_on_both("perplexity --model " + wf_model("llama") + " --file " +
                              text.string() + " --context 8 --json --threads 1");
  EXPECT_GT(wf_last_json(pc.out)["tokens"].get<int64_t>(), 8);  // more than one window
  EXPECT_EQ(wf_last_json(pc.out).dump(), wf_last_json(pk.out).dump());
  // Packed batches carry a block-diagonal mask: it has to reach the device too.
  for (const char* pack : {"", " --pack"}) {
    auto [ec, ek] = dev_on_both("eval --model " + wf_model("llama") + " --data " +
                                (data / "valid.jsonl").string() +
                                " --batch-size 2 --max-seq-len 12 --json --threads 1" + pack);
    EXPECT_TRUE(wf_last_json(ec.out).contains("loss")) << ec.out;
    EXPECT_EQ(wf_last_json(ec.out).dump(), wf_last_json(ek.out).dump()) << pack;
  }
}

TEST(WorkflowDevice, EmbedWritesIdenticalVectorsOnTheCheckedDevice) {
  const fs::path dir = testing::temp_dir("wf_device_embed");
  wf_write(dir / "texts.txt", "a cat\nthe quick brown fox jumps\nhi\n");
  for (const char* name : {"bert_mean", "qwen3_embedding"}) {
    SCOPED_TRACE(name);
    const std::string base = "embed --model " + wf_model(name) + " --input " +
                             (dir / "texts.txt").string() +
                             " --format npy --batch-tokens 8 --threads 1 --output ";
    const fs::path a = dir / (std::string(name) + "_cpu.npy");
    const fs::path b = dir / (std::string(name) + "_checked.npy");
    const CliRun cpu = wf_cli(base + a.string() + " --device cpu");
    ASSERT_EQ(cpu.rc, 0) << cpu.out;
    const CliRun checked = wf_cli(base + b.string() + " --device checked:0");
    ASSERT_EQ(checked.rc, 0) << checked.out;
    EXPECT_GT(fs::file_size(a), 128u);
    EXPECT_EQ(dev_file_bytes(a), dev_file_bytes(b));
  }
}

// Losses of a metrics.jsonl (train steps and evaluations), without the timings.
std::vector<double> dev_losses(const fs::path& metrics) {
  std::vector<double> out;
  for (const auto& m : wf_json_lines(metrics))
    for (const char* k : {"loss", "eval_loss"})
      if (m.contains(k)) out.push_back(m[k].get<double>());
  return out;
}

TEST(WorkflowDevice, TrainAndResumeWriteIdenticalFilesOnTheCheckedDevice) {
  const fs::path data = wf_data_folder("device_train");
  const fs::path root = testing::temp_dir("wf_device_train");
  fs::remove_all(root);
  const std::string common = fmt::format(
      "train --model {} --data {} --iters 4 --lr 1e-2 --batch-size 2 --eval-every 2 "
      "--save-every 2 --max-seq-len 12 --lora-dropout 0.1 --threads 1",
      wf_model("llama"), data.string());
  for (const char* dev : {"cpu", "checked:0"}) {
    const CliRun r = wf_cli(common + " --out " + (root / dev).string() + " --device " + dev);
    ASSERT_EQ(r.rc, 0) << dev << "\n" << r.out;
  }
  const fs::path a = root / "cpu", b = root / "checked:0";
  for (const char* f : {"adapter_model.safetensors", "adapter_config.json",
                        "checkpoint-2/adapter_model.safetensors",
                        "checkpoint-2/optimizer.safetensors", "checkpoint-4/optimizer.safetensors"})
    EXPECT_EQ(dev_file_bytes(a / f), dev_file_bytes(b / f)) << f;
  const auto la = dev_losses(a / "metrics.jsonl");
  EXPECT_EQ(la.size(), 4u + 3u);  // 4 steps, evaluations at steps 0, 2 and 4
  EXPECT_EQ(la, dev_losses(b / "metrics.jsonl"));

  // Resuming from the step-2 checkpoint onto either device ends where the full run ended.
  for (const char* dev : {"cpu", "checked:0"}) {
    const fs::path out = root / (std::string("resumed_") + dev);
    const CliRun r = wf_cli(common + " --out " + out.string() + " --resume " +
                            (a / "checkpoint-2").string() + " --device " + dev);
    ASSERT_EQ(r.rc, 0) << dev << "\n" << r.out;
    EXPECT_EQ(dev_file_bytes(out / "adapter_model.safetensors"),
              dev_file_bytes(a / "adapter_model.safetensors"))
        << dev;
    EXPECT_EQ(dev_losses(out / "metrics.jsonl"), la) << dev;
  }
}

TEST(WorkflowDevice, FullFineTuningSavesIdenticalWeightsFromTheCheckedDevice) {
  const fs::path data = wf_data_folder("device_full");
  const fs::path root = testing::temp_dir("wf_device_full");
  fs::remove_all(root);
  for (const char* dev : {"cpu", "checked:0"}) {
    const CliRun r = wf_cli(fmt::format(
        "train --model {} --data {} --full --iters 2 --lr 1e-3 --batch-size 2 --save-every 1 "
        "--max-seq-len 12 --threads 1 --out {} --device {}",
        wf_model("llama"), data.string(), (root / dev).string(), dev));
    ASSERT_EQ(r.rc, 0) << dev << "\n" << r.out;
  }
  for (const char* f : {"model.safetensors", "checkpoint-1/model.safetensors",
                        "checkpoint-1/optimizer.safetensors"})
    EXPECT_EQ(dev_file_bytes(root / "cpu" / f), dev_file_bytes(root / "checked:0" / f)) << f;
  const fs::path out = root / "resumed";
  const CliRun r = wf_cli(fmt::format(
      "train --model {} --data {} --full --iters 2 --lr 1e-3 --batch-size 2 --max-seq-len 12 "
      "--threads 1 --out {} --resume {} --device checked:0",
      wf_model("llama"), data.string(), out.string(), (root / "cpu/checkpoint-1").string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(dev_file_bytes(out / "model.safetensors"),
            dev_file_bytes(root / "cpu/model.safetensors"));
}

TEST(WorkflowDevice, QuickstartWritesIdenticalModelsOnTheCheckedDevice) {
  if (!fs::exists("/usr/share/wordnet/index.noun") || !fs::exists("/usr/bin/bible"))
    GTEST_SKIP() << "wordnet or bible-kjv not installed";
  const fs::path root = testing::temp_dir("wf_device_quickstart");
  fs::remove_all(root);
  for (const char* dev : {"cpu", "checked:0"}) {
    const CliRun r =
        wf_cli("quickstart --tiny --threads 1 --out " + (root / dev).string() + " --device " + dev);
    ASSERT_EQ(r.rc, 0) << dev << "\n" << r.out;
  }
  for (const char* f : {"base-model/model.safetensors", "adapter/adapter_model.safetensors",
                        "merged-model/model.safetensors"})
    EXPECT_EQ(dev_file_bytes(root / "cpu" / f), dev_file_bytes(root / "checked:0" / f)) << f;
}

TEST(WorkflowDevice, AnUnusableDeviceIsOneLineNamingTheUsableOnes) {
  bool cuda_usable = false;
  for (Device d : available_devices()) cuda_usable |= d.type == DeviceType::cuda;
  std::vector<std::string> bad = {"checked:3", "cuda:7", "gpu"};
  if (!cuda_usable) bad.push_back("cuda:0");
  for (const std::string& dev : bad) {
    SCOPED_TRACE(dev);
    const CliRun r =
        wf_cli("generate --model " + wf_model("llama") + " --prompt hi --device " + dev);
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find("--device '" + dev + "'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("usable devices: auto, " + available_devices_string()), std::string::npos)
        << r.out;
  }
  const CliRun info = wf_cli("info");
  ASSERT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("devices: " + available_devices_string() +
                          " (auto: " + device_name(default_device()) + ")"),
            std::string::npos)
      << info.out;
  EXPECT_NE(available_devices_string().find("checked:0"), std::string::npos);
  // auto is what info says it is.
  const CliRun a = wf_cli("generate --model " + wf_model("llama") +
                          " --prompt hi --no-chat --max-tokens 2 --json --device auto");
  EXPECT_EQ(a.rc, 0) << a.out;
}

// ---- Library: the embedder, the generator and the batched forward of `wick serve` with their
// model on checked:0 equal the CPU.

TEST(LibraryDevice, SelectDeviceAcceptsOnlyUsableDevices) {
  EXPECT_EQ(select_device("auto"), default_device());
  EXPECT_EQ(select_device("cpu"), Device::cpu());
  EXPECT_EQ(select_device("checked:0"), Device::checked(0));
  EXPECT_EQ(select_device("checked"), Device::checked(0));
  const auto usable = available_devices();
  bool cuda_usable = false;
  for (Device d : usable) cuda_usable |= d.type == DeviceType::cuda;
  EXPECT_EQ(default_device(), cuda_usable ? Device::cuda(0) : Device::cpu());
  if (!cuda_usable) {
    EXPECT_THROW(select_device("cuda"), ValueError);
  }
  for (const char* bad : {"checked:1", "cuda:99", "tpu", "cpu:0x", ""}) {
    SCOPED_TRACE(bad);
    try {
      select_device(bad);
      ADD_FAILURE() << "accepted";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("usable devices: auto, cpu"), std::string::npos)
          << e.what();
    }
  }
}

TEST(LibraryDevice, EmbedderRunsOnTheCheckedDevice) {
  const std::vector<std::string> texts = {"a cat", "the quick brown fox jumps", "hi"};
  for (const char* name : {"bert_mean", "qwen3_embedding"}) {
    SCOPED_TRACE(name);
    embed::EmbedOptions o;
    o.batch_tokens = 8;
    const Tensor a = embed::Embedder::load(wf_model(name), o).encode(texts);
    o.device = Device::checked();
    const embed::Embedder e = embed::Embedder::load(wf_model(name), o);
    EXPECT_EQ(e.device(), Device::checked());
    const Tensor b = e.encode(texts);
    EXPECT_EQ(b.device(), Device::cpu());
    EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  }
}

TEST(LibraryDevice, GeneratorRunsOnTheCheckedDevice) {
  const Tokenizer tok = Tokenizer::from_file(wf_model("llama"));
  auto cpu = models::load_causal_lm(wf_model("llama"));
  auto dev = models::load_causal_lm(wf_model("llama"));
  dev->to(Device::checked());
  EXPECT_EQ(nn::module_device(*dev), Device::checked());
  const std::vector<int32_t> prompt = tok.encode("the cat sat", false);
  generate::GenerateOptions o;
  o.max_tokens = 6;
  o.sampling.temperature = 0;
  const auto a = generate::generate(*cpu, tok, prompt, o);
  const auto b = generate::generate(*dev, tok, prompt, o);
  EXPECT_EQ(a.tokens.size(), 6u);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(generate::greedy_no_cache(*dev, prompt, 4), generate::greedy_no_cache(*cpu, prompt, 4));
}

TEST(LibraryDevice, BatchedForwardRunsOnTheCheckedDevice) {
  auto run = [](Device d) {
    auto m = models::load_causal_lm(wf_model("llama"));
    m->to(d);
    const models::LoraFactors lora =
        models::load_lora_factors(*m, testing::fixtures_dir() / "adapters" / "llama_lora_qv");
    // A long prefill (dense attention) and a one-token row with an adapter (cached attention).
    std::vector<models::BatchedRow> rows(2);
    for (int i = 0; i < 12; ++i) rows[0].ids.push_back(3 + i);
    rows[0].want_logits = true;
    rows[1].ids = {7};
    rows[1].adapter = &lora;
    rows[1].want_logits = true;
    models::BatchedOutput out = models::forward_batched(*m, rows);
    EXPECT_EQ(out.logits.device(), d);
    return out.logits.to_vector<float>();
  };
  const auto a = run(Device::cpu());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, run(Device::checked()));
}

}  // namespace
}  // namespace wick::workflow
