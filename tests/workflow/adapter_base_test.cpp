// Adapters record their base model; applying one to another model is refused, naming both.
#include <gtest/gtest.h>

#include "wick/io/hf_config.h"
#include "wick/lora/base_info.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(WorkflowAdapterBase, TrainRecordsTheBaseAndAMismatchIsRefused) {
  const fs::path out = testing::temp_dir("wf_base_out");
  fs::remove_all(out);
  const std::string llama = wf_model("llama");
  const CliRun t =
      wf_cli(fmt::format("train --model {} --data {} --out {} --iters 1", llama,
                         (testing::fixtures_dir() / "train/data.jsonl").string(), out.string()));
  ASSERT_EQ(t.rc, 0) << t.out;
  const auto rec = lora::read_base_info(out);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(*rec, lora::base_info_of(io::load_llama_config(llama)));
  // adapter_config.json stays PEFT's own (no extra keys).
  const json cfg = io::read_json_file(out / "adapter_config.json");
  EXPECT_FALSE(cfg.contains("architecture"));

  // The matching model takes it.
  const CliRun ok = wf_cli("generate --model " + llama + " --adapter " + out.string() +
                           " --prompt hi --no-chat --max-tokens 2 --json");
  ASSERT_EQ(ok.rc, 0) << ok.out;

  // Same tensor shapes, a different recorded base: refused, naming both.
  const fs::path other = testing::temp_dir("wf_base_other");
  fs::remove_all(other);
  fs::copy(out, other, fs::copy_options::recursive);
  json b = io::read_json_file(other / lora::kBaseInfoFile);
  b["vocab_size"] = b["vocab_size"].get<int64_t>() + 7;
  b["architecture"] = "Qwen2ForCausalLM";
  wf_write(other / lora::kBaseInfoFile, b.dump());
  for (const std::string& cmd :
       {"generate --prompt hi --no-chat --max-tokens 2 --model " + llama,
        "perplexity --file " + (testing::fixtures_dir() / "README.md").string() + " --model " +
            llama,
        "eval --data " + (testing::fixtures_dir() / "train/data.jsonl").string() + " --model " +
            llama,
        "merge --out " + (other / "merged").string() + " --model " + llama}) {
    const CliRun bad = wf_cli(cmd + " --adapter " + other.string());
    EXPECT_NE(bad.rc, 0) << cmd;
    EXPECT_NE(bad.out.find("was trained on a different model"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("Qwen2ForCausalLM"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("LlamaForCausalLM"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find(llama), std::string::npos) << bad.out;
  }
  EXPECT_FALSE(fs::exists(other / "merged"));
  // Training on from it is refused too.
  const CliRun resume =
      wf_cli(fmt::format("train --model {} --data {} --out {} --iters 1 --resume-adapter {}", llama,
                         (testing::fixtures_dir() / "train/data.jsonl").string(),
                         (other.parent_path() / "t_resume").string(), other.string()));
  EXPECT_NE(resume.rc, 0);
  EXPECT_NE(resume.out.find("was trained on a different model"), std::string::npos) << resume.out;

  // A real mismatch: the llama adapter on the qwen2 fixture.
  const CliRun q = wf_cli("generate --model " + wf_model("qwen2") + " --adapter " + out.string() +
                          " --prompt hi --no-chat --max-tokens 2");
  EXPECT_NE(q.rc, 0);
  EXPECT_NE(q.out.find("was trained on a different model"), std::string::npos) << q.out;
}

TEST(WorkflowAdapterBase, PeftAdaptersWithoutTheRecordStillLoad) {
  const std::string a = (testing::fixtures_dir() / "adapters/llama_lora_qv").string();
  ASSERT_FALSE(fs::exists(fs::path(a) / lora::kBaseInfoFile));
  const CliRun r = wf_cli("generate --model " + wf_model("llama") + " --adapter " + a +
                          " --prompt hi --no-chat --max-tokens 2 --json");
  EXPECT_EQ(r.rc, 0) << r.out;
}

}  // namespace
}  // namespace wick::workflow
