// wick generate's prompt options and the flags every command takes (--threads, --device).
#include <gtest/gtest.h>

#include "wick/tokenizer/chat_template.h"
#include "wick/tokenizer/tokenizer.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> wf_prompt_ids(const CliRun& r) {
  return wf_last_json(r.out)["prompt_tokens"].get<std::vector<int32_t>>();
}

TEST(WorkflowGenerate, ChatTemplateByDefaultNoChatSystemPromptStdinAndFile) {
  const std::string d = wf_model("llama");
  const std::string g = "generate --model " + d + " --max-tokens 2 --json ";
  const ChatTemplate t = ChatTemplate::from_folder(d);
  const Tokenizer tok = Tokenizer::from_file(d);
  const auto user = nlohmann::json::array({{{"role", "user"}, {"content", "Hello there"}}});

  const CliRun def = wf_cli(g + "--prompt 'Hello there'");
  ASSERT_EQ(def.rc, 0) << def.out;
  EXPECT_EQ(wf_prompt_ids(def), tok.encode(t.render(user, true), false));
  EXPECT_TRUE(wf_last_json(def.out)["chat"].get<bool>());
  const CliRun chat = wf_cli(g + "--prompt 'Hello there' --chat");  // still accepted
  ASSERT_EQ(chat.rc, 0) << chat.out;
  EXPECT_EQ(wf_prompt_ids(chat), wf_prompt_ids(def));

  const CliRun raw = wf_cli(g + "--prompt 'Hello there' --no-chat");
  ASSERT_EQ(raw.rc, 0) << raw.out;
  EXPECT_EQ(wf_prompt_ids(raw), tok.encode("Hello there", true));

  const CliRun sys = wf_cli(g + "--prompt 'Hello there' --system-prompt 'Be brief.'");
  ASSERT_EQ(sys.rc, 0) << sys.out;
  auto with_system = nlohmann::json::array({{{"role", "system"}, {"content", "Be brief."}},
                                            {{"role", "user"}, {"content", "Hello there"}}});
  EXPECT_EQ(wf_prompt_ids(sys), tok.encode(t.render(with_system, true), false));

  const fs::path dir = testing::temp_dir("wf_generate");
  wf_write(dir / "prompt.txt", "Hello there");
  const CliRun in = wf_cli(g + "--prompt - < " + (dir / "prompt.txt").string());
  ASSERT_EQ(in.rc, 0) << in.out;
  EXPECT_EQ(wf_prompt_ids(in), wf_prompt_ids(def));
  const CliRun file = wf_cli(g + "--prompt-file " + (dir / "prompt.txt").string());
  ASSERT_EQ(file.rc, 0) << file.out;
  EXPECT_EQ(wf_prompt_ids(file), wf_prompt_ids(def));

  const CliRun none = wf_cli(g);
  EXPECT_NE(none.rc, 0);
  EXPECT_NE(none.out.find("--prompt-file"), std::string::npos) << none.out;
  const CliRun missing = wf_cli(g + "--prompt-file /nonexistent/p.txt");
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.out.find("/nonexistent/p.txt"), std::string::npos) << missing.out;
  const CliRun sys_raw = wf_cli(g + "--prompt hi --no-chat --system-prompt x");
  EXPECT_NE(sys_raw.rc, 0);
  EXPECT_NE(sys_raw.out.find("--system-prompt"), std::string::npos) << sys_raw.out;
}

TEST(WorkflowGenerate, ThreadsAndDeviceOnEveryCommand) {
  const std::string d = wf_model("llama");
  const CliRun ok = wf_cli("generate --model " + d +
                           " --prompt hi --no-chat --max-tokens 2 --json --threads 1 --device cpu");
  ASSERT_EQ(ok.rc, 0) << ok.out;
  const CliRun cuda = wf_cli("generate --model " + d + " --prompt hi --device cuda:9");
  EXPECT_NE(cuda.rc, 0);
  EXPECT_NE(
      cuda.out.find("--device 'cuda:9' is not usable in this build; usable devices: auto, cpu"),
      std::string::npos)
      << cuda.out;
  const CliRun info = wf_cli("info --threads 1");
  ASSERT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("threads: 1"), std::string::npos) << info.out;
  for (const char* cmd : {"train", "eval", "perplexity", "embed", "search", "tokenize", "merge",
                          "chat", "quickstart", "info", "generate"}) {
    const CliRun h = wf_cli(std::string(cmd) + " --help");
    EXPECT_NE(h.out.find("--threads"), std::string::npos) << cmd;
    EXPECT_NE(h.out.find("--device"), std::string::npos) << cmd;
  }
  const CliRun bad = wf_cli("tokenize --tokenizer " + d + " --text hi --device gpu");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("'gpu'"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace wick::workflow
