#pragma once
// Hugging Face chat templates: a Jinja-subset interpreter that renders a conversation exactly like
// transformers' apply_chat_template(messages, tokenize=False, add_generation_prompt=...), with
// jinja2's settings there (trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson,
// strftime_now). Documented deviations from jinja2: attribute/item access on an undefined value
// gives undefined (jinja2 raises); tuples are lists; str.upper covers Latin, Greek and Cyrillic
// only; strftime_now uses this machine's local time (as transformers' datetime.now()).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "wick/core/errors.h"

namespace wick {

/// Error raised by the template itself through raise_exception(msg) (transformers' TemplateError).
class TemplateError : public ValueError {
 public:
  using ValueError::ValueError;
};

/// A parsed chat template, rendered many times.
class ChatTemplate {
 public:
  /// Parses `source`; ValueError "[chat_template] syntax error at line N: ..." when malformed.
  /// `variables` (a JSON object, e.g. bos_token/eos_token) are defaults of every render.
  explicit ChatTemplate(const std::string& source,
                        const nlohmann::json& variables = nlohmann::json::object());
  /// Loads the template of a model folder (or of a tokenizer_config.json path): the folder's
  /// chat_template.jinja if present (transformers 5; it overrides the config), else
  /// tokenizer_config.json "chat_template" (a string, or a list of {name, template} -> "default"),
  /// else chat_template.json. Special tokens (bos/eos/unk/sep/pad/cls/mask, string or
  /// {"content": ...}) become variables. IoError naming the file when absent or malformed.
  static ChatTemplate from_folder(const std::filesystem::path& path);

  /// The prompt text for `messages` (a list of {"role", "content", ...}). The context is
  /// messages, tools=None, documents=None, add_generation_prompt, the template's variables, then
  /// `extra` (a JSON object: tools, enable_thinking, bos_token, ...; it overrides the variables).
  /// nlohmann::json keeps object keys sorted: use render_ordered to keep insertion order (it shows
  /// in tojson output). Errors: ValueError "[chat_template] line N: ..." for a runtime error,
  /// TemplateError carrying the message for raise_exception().
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;
  /// Same as render with insertion-ordered JSON (Python dict order).
  std::string render_ordered(
      const nlohmann::ordered_json& messages, bool add_generation_prompt,
      const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  /// The template source.
  const std::string& source() const { return source_; }
  /// Default variables (from the folder: bos_token, eos_token, ...).
  const nlohmann::ordered_json& variables() const;

 private:
  struct Impl;
  std::string source_;
  std::shared_ptr<const Impl> impl_;
};

/// Renders a template once (parses it on every call; use ChatTemplate to render many times).
std::string render_chat_template(const std::string& tmpl, const nlohmann::json& messages,
                                 bool add_generation_prompt,
                                 const nlohmann::json& extra = nlohmann::json::object());

}  // namespace wick
