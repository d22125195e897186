// wick generate: text generation from a prompt, streamed to stdout.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/model_options.h"
#include "wick/core/errors.h"
#include "wick/generate/generator.h"
#include "wick/tokenizer/chat_template.h"

namespace wick::cli {

namespace {

// The prompt text: --prompt TEXT, --prompt - (standard input) or --prompt-file FILE.
std::string read_generate_prompt(const std::string& prompt, const std::string& file) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail<IoError>("generate", "--prompt-file: cannot open '{}'", file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  if (prompt == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return prompt;
}

}  // namespace

bool folder_has_chat_template(const std::string& dir) {
  try {
    (void)ChatTemplate::from_folder(dir);
    return true;
  } catch (const IoError&) {
    return false;
  }
}

void register_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate text from a prompt");
  struct Args {
    std::string model, prompt, prompt_file, adapter, dtype, system_prompt;
    bool chat = false, no_chat = false, json = false;
    int64_t max_tokens = 256;
    std::optional<double> temperature, top_p, min_p, repeat_penalty;
    std::optional<int64_t> top_k;
    uint64_t seed = 0;
    std::vector<std::string> stop;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Model folder (config.json, safetensors, tokenizer.json)")
      ->required();
  auto* prompt = sub->add_option("--prompt", a->prompt, "Prompt text ('-': read standard input)");
  auto* prompt_file = sub->add_option("--prompt-file", a->prompt_file, "Read the prompt from FILE");
  prompt->excludes(prompt_file);
  sub->add_option("--adapter", a->adapter, "PEFT LoRA adapter folder");
  auto* chat = sub->add_flag("--chat", a->chat,
                             "Apply the model's chat template (the default when the model folder "
                             "has one; an error when it has none)");
  sub->add_flag("--no-chat", a->no_chat, "Use the prompt as raw text, without the chat template")
      ->excludes(chat);
  sub->add_option("--system-prompt", a->system_prompt,
                  "System message placed before the prompt (chat template)");
  sub->add_option("--max-tokens", a->max_tokens, "Most tokens to generate")->capture_default_str();
  sub->add_option("--temperature", a->temperature,
                  "Sampling temperature (0: greedy; default from generation_config.json, else "
                  "greedy)");
  sub->add_option("--top-k", a->top_k, "Keep the k most likely tokens (0: off)");
  sub->add_option("--top-p", a->top_p, "Nucleus sampling mass (1: off)");
  sub->add_option("--min-p", a->min_p, "Drop tokens below min-p times the top probability");
  sub->add_option("--repeat-penalty", a->repeat_penalty, "Repetition penalty (1: off)");
  sub->add_option("--seed", a->seed, "Random seed")->capture_default_str();
  sub->add_option("--stop", a->stop, "Stop when this text appears (repeatable)");
  sub->add_option("--dtype", a->dtype, "Compute dtype: f32, bf16 or f16 (default: as stored)");
  sub->add_flag("--json", a->json,
                "Print one JSON object at the end (ids, text, finish reason, speeds) instead of "
                "streaming text");
  add_runner(sub, [a, prompt, prompt_file] {
    check_int_flag("--max-tokens", a->max_tokens, 0, kMaxNewTokens);
    check_sampling_flags(a->temperature, a->top_k, a->top_p, a->min_p, a->repeat_penalty);
    if (prompt->count() == 0 && prompt_file->count() == 0)
      fail<ValueError>("generate",
                       "no prompt given; expected --prompt TEXT, --prompt - (standard "
                       "input) or --prompt-file FILE");
    const std::string text = read_generate_prompt(a->prompt, a->prompt_file);
    const bool has_template = folder_has_chat_template(a->model);
    if (a->chat && !has_template)
      fail<ValueError>("generate", "--chat: the model folder '{}' has no chat template", a->model);
    const bool use_chat = !a->no_chat && has_template;
    if (!a->system_prompt.empty() && !use_chat)
      fail<ValueError>("generate", "--system-prompt needs the chat template, and {}",
                       a->no_chat ? "--no-chat turns it off"
                                  : fmt::format("the model folder '{}' has none", a->model));
    LoadedModel m = load_model_for_cli(a->model, a->dtype, a->adapter, selected_device());
    std::vector<int32_t> prompt_ids;
    if (use_chat) {
      nlohmann::json msgs = nlohmann::json::array();
      if (!a->system_prompt.empty())
        msgs.push_back({{"role", "system"}, {"content", a->system_prompt}});
      msgs.push_back({{"role", "user"}, {"content", text}});
      prompt_ids = encode_chat(m, msgs);
    } else {
      prompt_ids = m.tokenizer.encode(text, true);
    }
    generate::GenerateOptions o;
    bool warned = false;
    o.max_tokens = fit_to_context(int64_t(prompt_ids.size()), a->max_tokens,
                                  m.model->config().max_position_embeddings, &warned);
    o.sampling = default_sampling(m.generation);
    if (a->temperature) o.sampling.temperature = *a->temperature;
    if (a->top_k) o.sampling.top_k = *a->top_k;
    if (a->top_p) o.sampling.top_p = *a->top_p;
    if (a->min_p) o.sampling.min_p = *a->min_p;
    if (a->repeat_penalty) o.sampling.repetition_penalty = *a->repeat_penalty;
    o.sampling.seed = a->seed;
    o.stop = a->stop;
    o.eos_ids = m.eos_ids;
    generate::TextCallback stream;
    if (!a->json)
      stream = [](std::string_view s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
      };
    auto r = generate::generate(*m.model, m.tokenizer, prompt_ids, o, stream);
    if (a->json) {
      nlohmann::json j;
      j["chat"] = use_chat;
      j["prompt_tokens"] = r.prompt_tokens;
      j["tokens"] = r.tokens;
      j["text"] = r.text;
      j["finish_reason"] = generate::finish_reason_name(r.finish_reason);
      j["prefill_tokens_per_second"] = r.prefill_tokens_per_second();
      j["decode_tokens_per_second"] = r.decode_tokens_per_second();
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("\n");
      std::fprintf(stderr,
                   "[%zu prompt tokens, %.1f tok/s prefill; %zu generated, %.1f tok/s "
                   "decode; finish: %s]\n",
                   r.prompt_tokens.size(), r.prefill_tokens_per_second(), r.tokens.size(),
                   r.decode_tokens_per_second(), generate::finish_reason_name(r.finish_reason));
    }
  });
}

}  // namespace wick::cli
