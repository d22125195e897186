// wick chat: interactive chat with the model's template and the conversation history. Each turn
// renders the whole history and generates the reply (streamed); the history is re-prefilled every
// turn (no cache reuse across turns).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/model_options.h"
#include "wick/generate/generator.h"

namespace wick::cli {

void register_chat(CLI::App& app) {
  auto* sub =
      app.add_subcommand("chat", "Chat with a model interactively (empty line or EOF ends)");
  struct Args {
    std::string model, adapter, system, dtype;
    int64_t max_tokens = 512;
    std::optional<double> temperature;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Model folder")->required();
  sub->add_option("--adapter", a->adapter, "PEFT LoRA adapter folder");
  sub->add_option("--system,--system-prompt", a->system, "System message");
  sub->add_option("--max-tokens", a->max_tokens, "Most tokens per reply")->capture_default_str();
  sub->add_option("--temperature", a->temperature, "Sampling temperature (0: greedy)");
  sub->add_option("--seed", a->seed, "Random seed")->capture_default_str();
  sub->add_option("--dtype", a->dtype, "Compute dtype: f32, bf16 or f16 (default: as stored)");
  add_runner(sub, [a] {
    check_int_flag("--max-tokens", a->max_tokens, 0, kMaxNewTokens);
    check_sampling_flags(a->temperature, {}, {}, {}, {});
    LoadedModel m = load_model_for_cli(a->model, a->dtype, a->adapter, selected_device());
    nlohmann::json history = nlohmann::json::array();
    if (!a->system.empty()) history.push_back({{"role", "system"}, {"content", a->system}});
    generate::GenerateOptions o;
    o.max_tokens = a->max_tokens;
    o.sampling = default_sampling(m.generation);
    if (a->temperature) o.sampling.temperature = *a->temperature;
    o.sampling.seed = a->seed;
    o.eos_ids = m.eos_ids;
    std::string line;
    bool warned = false;
    for (;;) {
      std::fputs("> ", stderr);
      if (!std::getline(std::cin, line) || line.empty()) break;
      history.push_back({{"role", "user"}, {"content", line}});
      const std::vector<int32_t> prompt = encode_chat(m, history);
      o.max_tokens = fit_to_context(int64_t(prompt.size()), a->max_tokens,
                                    m.model->config().max_position_embeddings, &warned);
      auto r = generate::generate(*m.model, m.tokenizer, prompt, o, [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
      });
      std::printf("\n");
      history.push_back({{"role", "assistant"}, {"content", r.text}});
      ++o.sampling.seed;  // a fresh stream per turn, reproducible from --seed
    }
  });
}

}  // namespace wick::cli
