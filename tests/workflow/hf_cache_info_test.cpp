// Hub ids resolved offline from a Hugging Face cache; `wick info --model` on every folder kind.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "wick/io/hf_cache.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;

// A cache laid out as huggingface_hub writes it, holding a copy of the llama fixture.
fs::path wf_fake_cache(const std::string& name) {
  const fs::path cache = testing::temp_dir("wf_hfcache_" + name);
  fs::remove_all(cache);
  const fs::path repo = cache / "models--TinyOrg--tiny-llama";
  const fs::path snap = repo / "snapshots" / "0123abcd";
  fs::create_directories(snap);
  fs::create_directories(repo / "snapshots" / "old456");
  fs::copy(wf_model("llama"), snap, fs::copy_options::recursive);
  wf_write(repo / "refs" / "main", "0123abcd");
  return cache;
}

TEST(WorkflowHfCache, ResolvesHubIdsThroughRefsMain) {
  const fs::path cache = wf_fake_cache("lib");
  EXPECT_TRUE(io::is_hub_id("TinyOrg/tiny-llama"));
  EXPECT_TRUE(io::is_hub_id("Qwen/Qwen2.5-0.5B-Instruct"));
  EXPECT_FALSE(io::is_hub_id("tiny-llama"));
  EXPECT_FALSE(io::is_hub_id("a/b/c"));
  EXPECT_FALSE(io::is_hub_id("../x"));
  EXPECT_EQ(io::find_hf_snapshot(cache, "TinyOrg/tiny-llama"),
            cache / "models--TinyOrg--tiny-llama" / "snapshots" / "0123abcd");
  EXPECT_TRUE(io::find_hf_snapshot(cache, "TinyOrg/other").empty());

  const char* old_hub = getenv("HF_HUB_CACHE");
  const std::string saved = old_hub ? old_hub : "";
  setenv("HF_HUB_CACHE", cache.c_str(), 1);
  EXPECT_EQ(io::resolve_model_path("TinyOrg/tiny-llama"),
            cache / "models--TinyOrg--tiny-llama" / "snapshots" / "0123abcd");
  // An existing path wins over the cache; a plain name is left alone.
  EXPECT_EQ(io::resolve_model_path(wf_model("llama")), fs::path(wf_model("llama")));
  try {
    io::resolve_model_path("TinyOrg/missing");
    FAIL();
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("TinyOrg/missing"), std::string::npos) << m;
    EXPECT_NE(m.find((cache / "models--TinyOrg--missing").string()), std::string::npos) << m;
  }
  if (old_hub)
    setenv("HF_HUB_CACHE", saved.c_str(), 1);
  else
    unsetenv("HF_HUB_CACHE");
}

TEST(WorkflowHfCache, CliTakesHubIdsFromHfHomeAndHubCache) {
  const fs::path cache = wf_fake_cache("cli");
  const CliRun info = wf_cli("info --model TinyOrg/tiny-llama", "HF_HUB_CACHE=" + cache.string());
  ASSERT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("LlamaForCausalLM"), std::string::npos) << info.out;
  // HF_HOME/hub is searched too.
  const fs::path home = testing::temp_dir("wf_hfhome");
  fs::remove_all(home);
  fs::create_directories(home);
  fs::rename(cache, home / "hub");
  const CliRun gen = wf_cli("generate --model TinyOrg/tiny-llama --prompt hi --max-tokens 2 --json",
                            "env -u HF_HUB_CACHE HF_HOME=" + home.string());
  ASSERT_EQ(gen.rc, 0) << gen.out;
  const CliRun missing =
      wf_cli("generate --model TinyOrg/nothing --prompt hi",
             "env -u HF_HUB_CACHE HF_HOME=" + home.string() + " HOME=" + home.string());
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.out.find((home / "hub" / "models--TinyOrg--nothing").string()),
            std::string::npos)
      << missing.out;
  EXPECT_NE(missing.out.find(".cache/huggingface/hub"), std::string::npos) << missing.out;
}

TEST(WorkflowInfo, EveryFolderKind) {
  struct Case {
    std::string path, expect;
  };
  const std::vector<Case> cases = {
      {wf_model("llama"), "LlamaForCausalLM"},
      {wf_model("qwen3"), "Qwen3ForCausalLM"},
      {wf_model("bert_cls_norm"), "model_type bert"},
      {wf_model("bert_mean"), "pooling mean"},
      {wf_model("qwen3_embedding"), "without lm_head"},
      {(testing::fixtures_dir() / "adapters/llama_lora_qv").string(), "LoRA adapter"},
      {(testing::fixtures_dir() / "adapters/qwen2_lora_all_linear").string(), "rank: "},
  };
  for (const auto& c : cases) {
    const CliRun r = wf_cli("info --model " + c.path);
    EXPECT_EQ(r.rc, 0) << c.path << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.path << "\n" << r.out;
    EXPECT_NE(r.out.find("parameters: "), std::string::npos) << c.path << "\n" << r.out;
  }
}

}  // namespace
}  // namespace wick::workflow
