// The JSONL formats of TRL and mlx-lm, and prompt masking by default.
#include <gtest/gtest.h>

#include "wick/tokenizer/chat_template.h"
#include "wick/train/dataset.h"
#include "wick/train/model_bridge.h"
#include "workflow/workflow_util.h"

namespace wick::workflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(WorkflowData, ReadsEveryFormatWithCustomKeys) {
  const fs::path f = testing::temp_dir("wf_formats") / "d.jsonl";
  wf_write(
      f,
      "{\"text\": \"plain\"}\n"
      "{\"prompt\": \"p\", \"completion\": \"c\"}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}, {\"role\": \"assistant\", "
      "\"content\": \"a\"}]}\n"
      "{\"prompt\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", "
      "\"content\": \"u\"}], \"completion\": [{\"role\": \"assistant\", \"content\": \"a\"}]}\n"
      "{\"conversations\": [{\"from\": \"system\", \"value\": \"s\"}, {\"from\": \"human\", "
      "\"value\": \"h\"}, {\"from\": \"gpt\", \"value\": \"g\"}]}\n");
  const auto r = train::read_jsonl(f);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].kind, train::Record::Kind::text);
  EXPECT_EQ(r[1].kind, train::Record::Kind::prompt_completion);
  EXPECT_EQ(r[2].kind, train::Record::Kind::messages);
  EXPECT_EQ(r[2].prompt_turns, 0u);
  EXPECT_EQ(r[3].kind, train::Record::Kind::messages);
  EXPECT_EQ(r[3].prompt_turns, 2u);
  EXPECT_EQ(json::parse(r[3].messages_json).size(), 3u);
  const json sg = json::parse(r[4].messages_json);
  ASSERT_EQ(sg.size(), 3u);
  EXPECT_EQ(sg[0]["role"], "system");
  EXPECT_EQ(sg[1]["role"], "user");
  EXPECT_EQ(sg[1]["content"], "h");
  EXPECT_EQ(sg[2]["role"], "assistant");

  const fs::path k = f.parent_path() / "keys.jsonl";
  wf_write(k, "{\"instruction\": \"do\", \"output\": \"done\"}\n{\"body\": \"words\"}\n");
  train::DataKeys keys;
  keys.text = "body";
  keys.prompt = "instruction";
  keys.completion = "output";
  const auto rk = train::read_jsonl(k, keys);
  ASSERT_EQ(rk.size(), 2u);
  EXPECT_EQ(rk[0].prompt, "do");
  EXPECT_EQ(rk[0].completion, "done");
  EXPECT_EQ(rk[1].text, "words");
  try {
    train::read_jsonl(k);
    FAIL() << "default keys must not read custom fields";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("keys.jsonl:1"), std::string::npos) << e.what();
  }
  const fs::path bad = f.parent_path() / "bad.jsonl";
  wf_write(bad, "{\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}\n");
  try {
    train::read_jsonl(bad);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("robot"), std::string::npos) << e.what();
  }
}

// Conversational prompt/completion: the prompt turns (rendered with the generation prompt) are not
// scored, the completion's turns are; ShareGPT scores the last assistant turn.
TEST(WorkflowData, ConversationalPromptCompletionMasksThePrompt) {
  const std::string d = wf_model("llama");
  const Tokenizer tok = Tokenizer::from_file(d);
  const ChatTemplate t = ChatTemplate::from_folder(d);
  const fs::path f = testing::temp_dir("wf_conv") / "d.jsonl";
  wf_write(f,
           "{\"prompt\": [{\"role\": \"user\", \"content\": \"Name a colour.\"}], \"completion\": "
           "[{\"role\": \"assistant\", \"content\": \"Blue.\"}]}\n"
           "{\"conversations\": [{\"from\": \"human\", \"value\": \"Name a colour.\"}, {\"from\": "
           "\"gpt\", \"value\": \"Blue.\"}]}\n");
  train::TokenizeOptions o;
  o.mask_prompt = true;
  o.chat = train::chat_renderer(d);
  const auto s = train::tokenize(train::read_jsonl(f), tok, o);
  ASSERT_EQ(s.size(), 2u);
  const json user = json::array({{{"role", "user"}, {"content", "Name a colour."}}});
  const size_t n_prompt = tok.encode(t.render(user, true), false).size();
  for (const auto& x : s) {
    ASSERT_GT(x.ids.size(), n_prompt);
    for (size_t i = 0; i < x.ids.size(); ++i) EXPECT_EQ(x.target[i], i < n_prompt ? 0 : 1) << i;
  }
  EXPECT_EQ(s[0].ids, s[1].ids);  // the same conversation in two formats
  o.mask_prompt = false;
  const auto all = train::tokenize(train::read_jsonl(f), tok, o);
  for (uint8_t v : all[0].target) EXPECT_EQ(v, 1);
}

TEST(WorkflowData, TruncationIsCounted) {
  train::Sample a, b;
  a.ids = {1, 2, 3};
  a.target = {1, 1, 1};
  b.ids = {1, 2};
  b.target = {0, 1};
  b.truncated_from = 9;
  const auto st = train::data_stats({a, b});
  EXPECT_EQ(st.examples, 2);
  EXPECT_EQ(st.tokens, 5);
  EXPECT_EQ(st.targets, 3);
  EXPECT_EQ(st.truncated, 1);
  EXPECT_EQ(st.longest, 9);
}

// The CLI masks prompts by default (TRL's completion-only loss); --no-mask-prompt trains on all,
// and --mask-prompt is still accepted.
TEST(WorkflowData, CliMasksPromptsByDefault) {
  const fs::path dir = testing::temp_dir("wf_mask");
  wf_write(dir / "train.jsonl",
           "{\"question\": \"What is the capital of France?\", \"answer\": \" Paris.\"}\n");
  auto steps_tokens = [&](const std::string& flags) {
    const fs::path out = dir / ("out" + std::to_string(std::hash<std::string>{}(flags)));
    fs::remove_all(out);
    const CliRun r =
        wf_cli(fmt::format("train --model {} --data {} --out {} --iters 1 --prompt-key question "
                           "--completion-key answer {}",
                           wf_model("llama"), (dir / "train.jsonl").string(), out.string(), flags));
    EXPECT_EQ(r.rc, 0) << r.out;
    const size_t at = r.out.find(" scored)");
    const size_t open = r.out.rfind('(', at);
    return r.out.substr(open + 1, at - open - 1);
  };
  const std::string masked = steps_tokens(""), explicit_mask = steps_tokens("--mask-prompt"),
                    all = steps_tokens("--no-mask-prompt");
  EXPECT_EQ(masked, explicit_mask);
  EXPECT_LT(std::stoll(masked), std::stoll(all)) << masked << " vs " << all;
}

}  // namespace
}  // namespace wick::workflow
