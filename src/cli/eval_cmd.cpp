// wick eval: loss and perplexity of a model (optionally with a LoRA adapter) on a JSONL split,
// computed exactly as `wick train` computes its validation loss: the same record formats,
// tokenization, prompt masking, eos, truncation, batching and packing code (wick::train).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"
#include "wick/train/evaluate.h"
#include "wick/train/model_bridge.h"

namespace wick::cli {

namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::string model, adapter, data;
  int64_t batch_size = 1;
  size_t max_seq_len = train::TrainConfig{}.max_seq_len;
  bool json = false, pack = false, mask_prompt = false, no_mask_prompt = false, no_eos = false;
  train::DataKeys keys;
};

// A .jsonl file as given; a folder's test.jsonl, else its valid.jsonl.
fs::path eval_split(const fs::path& p) {
  if (fs::is_regular_file(p)) return p;
  if (!fs::is_directory(p)) fail<IoError>("eval", "--data '{}' does not exist", p.string());
  for (const char* name : {"test.jsonl", "valid.jsonl"})
    if (fs::is_regular_file(p / name)) return p / name;
  fail<IoError>("eval", "--data folder '{}' has neither test.jsonl nor valid.jsonl", p.string());
}

void run_eval(const EvalArgs& a) {
  const fs::path file = eval_split(a.data);
  // As train_from_folder: f32 compute, the folder's tokenizer, eos/pad and chat template.
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  std::unique_ptr<models::CausalLM> model = models::load_causal_lm(a.model, lo);
  const Tokenizer tok = Tokenizer::from_file(a.model);
  const train::SpecialIds ids = train::special_ids(a.model, model->config());
  if (!a.adapter.empty()) {
    lora::check_adapter_base(a.adapter, model->config(), a.model);
    lora::load_adapter(*model, a.adapter);
    lora::set_training(*model, false);
  }
  model->to(selected_device());
  train::TokenizeOptions to;
  to.max_seq_len = a.max_seq_len;
  to.mask_prompt = !a.no_mask_prompt;
  to.eos_id = a.no_eos ? std::nullopt : ids.eos;
  to.chat = train::chat_renderer(a.model);
  const std::vector<train::Sample> samples =
      train::tokenize(train::read_jsonl(file, a.keys), tok, to);
  const train::DataStats st = train::data_stats(samples);
  train::ModelBridge bridge(*model);
  train::EvalOptions eo;
  eo.batch_size = a.batch_size;
  eo.pack = a.pack;
  eo.max_seq_len = a.max_seq_len;
  eo.pad_id = ids.pad;
  const train::EvalResult r = train::evaluate_loss(bridge, samples, eo);
  if (r.targets == 0)
    fail<ValueError>("eval", "'{}' has no scored tokens (every token is masked as prompt)",
                     file.string());
  if (a.json) {
    const nlohmann::json j{{"data", file.string()}, {"examples", st.examples},
                           {"tokens", r.targets},   {"truncated", st.truncated},
                           {"loss", r.loss},        {"ppl", r.perplexity()},
                           {"adapter", a.adapter}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("data: %s (%lld examples, %lld scored tokens, %lld truncated to %zu)\n",
              file.string().c_str(), (long long)st.examples, (long long)r.targets,
              (long long)st.truncated, a.max_seq_len);
  std::printf("loss: %.6f\nperplexity: %.6f\n", r.loss, r.perplexity());
}

}  // namespace

void register_eval(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "eval", "Loss and perplexity on a JSONL split, computed as training computes it");
  auto a = std::make_shared<EvalArgs>();
  sub->add_option("--model", a->model, "Model folder")->required();
  sub->add_option("--adapter", a->adapter, "PEFT LoRA adapter folder (applied unmerged)");
  sub->add_option("--data", a->data,
                  "JSONL file, or a folder (its test.jsonl, else valid.jsonl); any format "
                  "`wick train` reads")
      ->required();
  sub->add_option("--batch-size", a->batch_size, "Examples per batch (as training's)")
      ->capture_default_str();
  sub->add_option("--max-seq-len", a->max_seq_len, "Truncate examples to this many tokens")
      ->capture_default_str();
  sub->add_flag("--pack", a->pack, "Pack each batch's examples into rows (as train --pack)");
  auto* mask = sub->add_flag("--mask-prompt", a->mask_prompt,
                             "Score completions only (the default; kept for compatibility)");
  sub->add_flag("--no-mask-prompt", a->no_mask_prompt, "Score the prompt tokens too")
      ->excludes(mask);
  sub->add_flag("--no-eos", a->no_eos, "Do not append the eos token to each example");
  sub->add_option("--text-key", a->keys.text, "Field of plain-text records")->capture_default_str();
  sub->add_option("--prompt-key", a->keys.prompt, "Field of the prompt")->capture_default_str();
  sub->add_option("--completion-key", a->keys.completion, "Field of the completion")
      ->capture_default_str();
  sub->add_flag("--json", a->json,
                R"(Print {"data", "examples", "tokens", "truncated", "loss", "ppl", "adapter"})");
  add_runner(sub, [a] { run_eval(*a); });
}

}  // namespace wick::cli
