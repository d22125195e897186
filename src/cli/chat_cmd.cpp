// wick chat: interactive chat with the model's template and the conversation history.
#include <string>

#include "cli/commands.h"
#include "cli/model_options.h"

namespace wick::cli {

void register_chat(CLI::App& app) {
  auto* sub = app.add_subcommand("chat", "Chat with a model interactively");
  auto model = std::make_shared<std::string>();
  sub->add_option("--model", *model, "Model folder")->required();
  add_runner(sub, [model] {
    LoadedModel m = load_model_for_cli(*model, "", "");
    // Rendering the history needs the chat-template engine, which is not in this build yet.
    encode_chat_prompt(m, "");
  });
}

}  // namespace wick::cli
