// Model loading shared by the model commands.
#include "cli/model_options.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "cli/flag_checks.h"
#include "wick/core/errors.h"
#include "wick/generate/generator.h"
#include "wick/io/checked_size.h"
#include "wick/lora/base_info.h"
#include "wick/lora/lora.h"
#include "wick/tokenizer/chat_template.h"

namespace wick::cli {

std::optional<DType> parse_compute_dtype(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s == "f32" || s == "float32") return DType::f32;
  if (s == "bf16" || s == "bfloat16") return DType::bf16;
  if (s == "f16" || s == "float16") return DType::f16;
  fail<ValueError>("cli", "--dtype '{}' is not supported; expected f32, bf16 or f16", s);
}

LoadedModel load_model_for_cli(const std::string& dir, const std::string& dtype,
                               const std::string& adapter, Device device) {
  models::LoadOptions o;
  o.dtype = parse_compute_dtype(dtype);
  LoadedModel m{dir,
                models::load_causal_lm(dir, o),
                Tokenizer::from_file(dir),
                io::load_generation_config(dir),
                {}};
  m.eos_ids = generate::default_eos_ids(dir, m.model->config());
  // A PEFT adapter attaches LoRA layers to the matching Linear modules (unmerged).
  // It is refused when it records a different base model; dropout is off for inference.
  if (!adapter.empty()) {
    lora::check_adapter_base(adapter, m.model->config(), dir);
    lora::load_adapter(*m.model, adapter);
    lora::set_training(*m.model, false);
  }
  m.model->to(device);
  return m;
}

generate::SamplerOptions default_sampling(const io::GenerationConfig& g) {
  generate::SamplerOptions s;
  s.temperature = 0;  // transformers: greedy unless do_sample
  if (g.do_sample.value_or(false)) {
    s.temperature = g.temperature.value_or(1.0);
    s.top_k = g.top_k.value_or(50);  // transformers' default top_k when sampling
    s.top_p = g.top_p.value_or(1.0);
  }
  s.repetition_penalty = g.repetition_penalty.value_or(1.0);
  return s;
}

int64_t fit_to_context(int64_t prompt_tokens, int64_t max_tokens, int64_t context, bool* warned) {
  // The KV cache holds prompt + max_tokens positions: checked, then bounded by the context
  // (at most max(context, prompt + 1) long).
  if (io::checked_add(prompt_tokens, max_tokens, "prompt tokens + --max-tokens") <= context)
    return max_tokens;
  const int64_t fitted = std::max<int64_t>(1, std::min(max_tokens, context - prompt_tokens));
  if (warned && !*warned) {
    std::fprintf(stderr,
                 "wick: warning: the prompt (%lld tokens) plus --max-tokens %lld exceeds the "
                 "model's context of %lld tokens; generating at most %lld tokens\n",
                 (long long)prompt_tokens, (long long)max_tokens, (long long)context,
                 (long long)fitted);
    *warned = true;
  }
  return fitted;
}

void check_sampling_flags(const std::optional<double>& temperature,
                          const std::optional<int64_t>& top_k, const std::optional<double>& top_p,
                          const std::optional<double>& min_p,
                          const std::optional<double>& repeat_penalty) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  check_real_flag("--temperature", temperature, 0, kInf);
  check_int_flag("--top-k", top_k, 0, std::numeric_limits<int32_t>::max());
  check_real_flag("--top-p", top_p, 0, 1, /*lo_open=*/true);
  check_real_flag("--min-p", min_p, 0, 1);
  check_real_flag("--repeat-penalty", repeat_penalty, 0, kInf, /*lo_open=*/true);
}

std::vector<int32_t> encode_chat(const LoadedModel& m, const nlohmann::json& messages) {
  ChatTemplate t = ChatTemplate::from_folder(m.dir);
  return m.tokenizer.encode(t.render(messages, true), false);
}

}  // namespace wick::cli
