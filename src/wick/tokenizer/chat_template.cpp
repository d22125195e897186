// ChatTemplate: parse once, render with transformers' context (messages, tools, documents,
// add_generation_prompt, special tokens, extra kwargs), and loading from a model folder.
#include "wick/tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "wick/io/hf_config.h"
#include "wick/tokenizer/jinja_ast.h"
#include "wick/tokenizer/jinja_eval.h"
#include "wick/tokenizer/jinja_lexer.h"

namespace wick {

struct ChatTemplate::Impl {
  jinja::Body body;
  nlohmann::ordered_json variables;
};

ChatTemplate::ChatTemplate(const std::string& source, const nlohmann::json& variables)
    : source_(source) {
  auto impl = std::make_shared<Impl>();
  if (!variables.is_object())
    fail<ValueError>("chat_template", "variables must be a JSON object; got {}",
                     variables.type_name());
  try {
    impl->body = jinja::parse_template(source);
    impl->variables = jinja::to_ordered(variables);
  } catch (const jinja::SyntaxError& e) {
    fail<ValueError>("chat_template", "syntax error at line {}: {}", e.line(), e.what());
  } catch (const jinja::EvalError& e) {
    fail<ValueError>("chat_template", "{}", e.what());
  }
  impl_ = std::move(impl);
}

const nlohmann::ordered_json& ChatTemplate::variables() const { return impl_->variables; }

std::string ChatTemplate::render_ordered(const nlohmann::ordered_json& messages,
                                         bool add_generation_prompt,
                                         const nlohmann::ordered_json& extra) const {
  if (!messages.is_array())
    fail<ValueError>("chat_template", "messages must be a list; got {}", messages.type_name());
  if (!extra.is_object())
    fail<ValueError>("chat_template", "extra variables must be a JSON object; got {}",
                     extra.type_name());
  for (const char* k : {"messages", "add_generation_prompt"})
    if (extra.contains(k))
      fail<ValueError>("chat_template", "'{}' cannot be passed as an extra variable", k);
  try {
    auto ctx = std::make_shared<jinja::Json>(jinja::Json::object());
    (*ctx)["messages"] = jinja::to_ordered(messages);
    (*ctx)["tools"] = nullptr;
    (*ctx)["documents"] = nullptr;
    (*ctx)["add_generation_prompt"] = add_generation_prompt;
    for (auto it = impl_->variables.begin(); it != impl_->variables.end(); ++it)
      (*ctx)[it.key()] = it.value();
    for (auto it = extra.begin(); it != extra.end(); ++it)
      (*ctx)[it.key()] = jinja::to_ordered(it.value());
    return jinja::render(impl_->body, std::move(ctx));
  } catch (const jinja::RaisedError& e) {
    fail<TemplateError>("chat_template", "raise_exception: {}", e.what());
  } catch (const jinja::EvalError& e) {
    fail<ValueError>("chat_template", "{}", e.what());
  }
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra) const {
  nlohmann::ordered_json m, x;
  try {
    m = jinja::to_ordered(messages);
    x = jinja::to_ordered(extra);
  } catch (const jinja::EvalError& e) {
    fail<ValueError>("chat_template", "{}", e.what());
  }
  return render_ordered(m, add_generation_prompt, x);
}

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail<IoError>("chat_template", "cannot read {}", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A special token in tokenizer_config.json: a string, an AddedToken {"content": ...}, or null.
std::optional<std::string> token_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatTemplate ChatTemplate::from_folder(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  fs::path cfg_path = fs::is_directory(path) ? dir / "tokenizer_config.json" : path;
  nlohmann::json cfg = nlohmann::json::object();
  if (fs::exists(cfg_path)) cfg = io::read_json_file(cfg_path);
  if (!cfg.is_object())
    fail<IoError>("chat_template", "{}: expected a JSON object", cfg_path.string());

  std::string source;
  std::string origin;
  if (fs::exists(dir / "chat_template.jinja")) {
    source = read_text(dir / "chat_template.jinja");
    origin = (dir / "chat_template.jinja").string();
  } else if (cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
    const auto& ct = cfg["chat_template"];
    origin = cfg_path.string();
    if (ct.is_string()) {
      source = ct.get<std::string>();
    } else if (ct.is_array()) {
      std::string names;
      bool found = false;
      for (const auto& e : ct) {
        if (!e.is_object() || !e.contains("name") || !e.contains("template") ||
            !e["name"].is_string() || !e["template"].is_string())
          fail<IoError>("chat_template",
                        "{}: key 'chat_template': list entries must be {{\"name\": string, "
                        "\"template\": string}}",
                        cfg_path.string());
        names += (names.empty() ? "" : ", ") + e["name"].get<std::string>();
        if (e["name"] == "default") {
          source = e["template"].get<std::string>();
          found = true;
        }
      }
      if (!found)
        fail<IoError>("chat_template", "{}: no template named 'default' in 'chat_template' ({})",
                      cfg_path.string(), names);
    } else {
      fail<IoError>("chat_template", "{}: key 'chat_template' must be a string or a list; got {}",
                    cfg_path.string(), ct.type_name());
    }
  } else if (fs::exists(dir / "chat_template.json")) {
    nlohmann::json j = io::read_json_file(dir / "chat_template.json");
    if (!j.is_object() || !j.contains("chat_template") || !j["chat_template"].is_string())
      fail<IoError>("chat_template", "{}: expected {{\"chat_template\": string}}",
                    (dir / "chat_template.json").string());
    source = j["chat_template"].get<std::string>();
    origin = (dir / "chat_template.json").string();
  } else {
    fail<IoError>("chat_template",
                  "no chat template in {} (no chat_template.jinja, no 'chat_template' in "
                  "tokenizer_config.json)",
                  dir.string());
  }

  nlohmann::json vars = nlohmann::json::object();
  for (const char* k :
       {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
    if (cfg.contains(k))
      if (auto t = token_text(cfg[k])) vars[k] = *t;
  if (cfg.contains("additional_special_tokens") && cfg["additional_special_tokens"].is_array()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : cfg["additional_special_tokens"])
      if (auto t = token_text(e)) list.push_back(*t);
    vars["additional_special_tokens"] = list;
  }
  try {
    return ChatTemplate(source, vars);
  } catch (const ValueError& e) {
    fail<ValueError>("chat_template", "{}: {}", origin, e.what());
  }
}

std::string render_chat_template(const std::string& tmpl, const nlohmann::json& messages,
                                 bool add_generation_prompt, const nlohmann::json& extra) {
  return ChatTemplate(tmpl).render(messages, add_generation_prompt, extra);
}

}  // namespace wick
