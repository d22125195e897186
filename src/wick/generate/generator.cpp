// Decode loop (see generator.h).
#include "wick/generate/generator.h"

#include <algorithm>
#include <chrono>

#include "wick/generate/stop_text.h"
#include "wick/ops.h"

namespace wick::generate {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ids [1, T] i64 on the model's device.
Tensor ids_tensor(std::span<const int32_t> ids, Device device) {
  std::vector<int64_t> v(ids.begin(), ids.end());
  return from_vector<int64_t>(v, {1, int64_t(v.size())}).to(device);
}

// Logits of the last position as f32 on the host (to_vector copies from a device).
std::vector<float> last_logits(const Tensor& logits) {
  const int64_t V = logits.shape(-1);
  Tensor row = reshape(slice(logits, 1, logits.shape(1) - 1, logits.shape(1)), {V});
  return row.to_vector<float>();
}

}  // namespace

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::eos:
      return "eos";
    case FinishReason::stop:
      return "stop";
    case FinishReason::length:
      return "length";
  }
  return "length";
}

double GenerateResult::prefill_tokens_per_second() const {
  return prefill_seconds > 0 ? double(prompt_tokens.size()) / prefill_seconds : 0.0;
}

double GenerateResult::decode_tokens_per_second() const {
  return decode_seconds > 0 ? double(decode_steps) / decode_seconds : 0.0;
}

std::vector<int64_t> default_eos_ids(const std::filesystem::path& model_dir,
                                     const io::LlamaConfig& config) {
  io::GenerationConfig g = io::load_generation_config(model_dir);
  return g.eos_token_id.empty() ? config.eos_token_id : g.eos_token_id;
}

GenerateResult generate(models::CausalLM& model, const Tokenizer& tokenizer,
                        std::span<const int32_t> prompt, const GenerateOptions& options,
                        const TextCallback& on_text) {
  if (prompt.empty()) fail<ValueError>("generate", "empty prompt (no token ids)");
  if (options.max_tokens < 0)
    fail<ValueError>("generate", "max_tokens must be >= 0, got {}", options.max_tokens);
  const int64_t V = model.config().vocab_size;
  for (int32_t t : prompt)
    if (t < 0 || t >= V)
      fail<ValueError>("generate", "prompt id {} outside the vocabulary of {}", t, V);
  GenerateResult r;
  r.prompt_tokens.assign(prompt.begin(), prompt.end());
  if (options.max_tokens == 0) return r;
  Sampler sampler(options.sampling);
  StopText stops(options.stop, "generate");
  // Passes on the text that can no longer start a stop string; true when one appeared.
  auto add = [&](std::string_view piece) {
    std::string out;
    const bool hit = stops.add(piece, out);
    if (!out.empty() && on_text) on_text(out);
    return hit;
  };
  StreamDecoder decoder(tokenizer);
  const Device device = nn::module_device(model);
  models::KVCache cache =
      model.make_cache(1, int64_t(prompt.size()) + std::max<int64_t>(options.max_tokens, 1));

  auto t0 = Clock::now();
  std::vector<float> logits =
      last_logits(model.forward(ids_tensor(prompt, device), &cache, models::LogitsFor::last));
  r.prefill_seconds = seconds_since(t0);
  auto t1 = Clock::now();
  for (;;) {
    const int32_t next = sampler.sample(logits, r.prompt_tokens, r.tokens);
    r.tokens.push_back(next);
    if (std::find(options.eos_ids.begin(), options.eos_ids.end(), int64_t(next)) !=
        options.eos_ids.end()) {
      r.finish_reason = FinishReason::eos;
      break;
    }
    if (add(decoder.step(next))) {
      r.finish_reason = FinishReason::stop;
      break;
    }
    if (int64_t(r.tokens.size()) >= options.max_tokens) {
      r.finish_reason = FinishReason::length;
      break;
    }
    const int32_t step_ids[1] = {next};
    logits =
        last_logits(model.forward(ids_tensor(step_ids, device), &cache, models::LogitsFor::last));
    ++r.decode_steps;
  }
  if (r.finish_reason != FinishReason::stop && add(decoder.finish()))
    r.finish_reason = FinishReason::stop;
  std::string tail;
  stops.flush(tail);
  if (!tail.empty() && on_text) on_text(tail);
  r.decode_seconds = seconds_since(t1);
  r.text = stops.text();
  return r;
}

std::vector<int32_t> greedy_no_cache(models::CausalLM& model, std::span<const int32_t> prompt,
                                     int64_t max_tokens) {
  std::vector<int32_t> seq(prompt.begin(), prompt.end()), out;
  const Device device = nn::module_device(model);
  for (int64_t i = 0; i < max_tokens; ++i) {
    std::vector<float> logits =
        last_logits(model.forward(ids_tensor(seq, device), nullptr, models::LogitsFor::last));
    const int32_t next = argmax(logits);
    out.push_back(next);
    seq.push_back(next);
  }
  return out;
}

}  // namespace wick::generate
