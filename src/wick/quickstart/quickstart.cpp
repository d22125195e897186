#include "wick/quickstart/quickstart.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "wick/generate/generator.h"
#include "wick/generate/perplexity.h"
#include "wick/io/atomic_file.h"
#include "wick/io/hf_config.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"
#include "wick/quickstart/corpus.h"
#include "wick/tokenizer/trainer.h"
#include "wick/train/model_bridge.h"

namespace wick::quickstart {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kEos = "<|endoftext|>";  // id 0: end of text and padding
// Words whose definitions are shown before and after fine-tuning (always in the training set).
const std::vector<std::string> kDemoWords = {"king", "bread", "river", "shepherd", "wine"};

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string jsonl(const std::vector<json>& rows) {
  std::string s;
  for (const auto& r : rows) s += r.dump() + "\n";
  return s;
}

json model_config(const QuickstartSizes& s, size_t vocab) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", s.hidden},
          {"intermediate_size", s.ffn},
          {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},
          {"num_key_value_heads", s.heads},
          {"head_dim", s.hidden / s.heads},
          {"vocab_size", vocab},
          {"max_position_embeddings", 2 * s.seq_len},
          {"rms_norm_eps", 1e-5},
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
          {"tie_word_embeddings", true},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"bos_token_id", nullptr},
          {"eos_token_id", 0},
          {"pad_token_id", 0},
          {"dtype", "float32"}};
}

// GPT-2-style init: N(0, 0.02^2) for matrices, ones for RMSNorm weights.
void init_weights(models::CausalLM& m, uint64_t seed) {
  Generator g(seed);
  std::vector<Tensor> all;
  for (auto& p : m.parameters()) {
    const bool norm = p.path.ends_with("norm.weight");
    *p.tensor = norm ? ones(p.shape) : random_normal(p.shape, DType::f32, 0.0, 0.02, &g);
    all.push_back(*p.tensor);
  }
  eval(all);
}

// A continuation sampled with the demo's temperature and top-p from a fixed seed (greedy decoding
// loops on models this small).
std::string sample_demo(models::CausalLM& m, const Tokenizer& tok, const std::string& prompt,
                        const QuickstartSizes& s, uint64_t seed) {
  const std::vector<int32_t> ids = tok.encode(prompt, false);
  generate::GenerateOptions o;
  o.max_tokens = s.generate_tokens;
  o.sampling.temperature = s.temperature;
  o.sampling.top_p = s.top_p;
  o.sampling.seed = seed;
  o.eos_ids = {0};
  return generate::generate(m, tok, ids, o).text;
}

double to_bits_per_byte(double nats, size_t bytes) {
  return bytes == 0 ? std::nan("") : nats / (double(bytes) * std::log(2.0));
}

// Total nats of `texts` under the model: each text starts after an end-of-text token (as a
// document follows one in packed pretraining) and every one of its tokens is scored, in windows
// of `context` tokens that overlap by one.
double heldout_nats(models::CausalLM& m, const Tokenizer& tok,
                    const std::vector<std::string>& texts, int64_t context) {
  double nats = 0;
  for (const auto& t : texts) {
    std::vector<int32_t> ids = {0};
    const std::vector<int32_t> body = tok.encode(t, false);
    ids.insert(ids.end(), body.begin(), body.end());
    for (size_t start = 0; start + 1 < ids.size(); start += size_t(context - 1)) {
      const size_t len = std::min(ids.size() - start, size_t(context));
      const auto r = generate::perplexity(m, std::span(ids).subspan(start, len), context);
      nats += r.nll * double(r.tokens);
    }
  }
  return nats;
}

Tensor prompt_logits(models::CausalLM& m, const Tokenizer& tok, const std::string& prompt) {
  const std::vector<int32_t> ids = tok.encode(prompt, false);
  std::vector<int64_t> v(ids.begin(), ids.end());
  return m.forward(from_vector(v, {1, int64_t(v.size())}).to(nn::module_device(m)));
}

train::TrainCallbacks stage_callbacks(const QuickstartCallbacks& cb, const std::string& stage) {
  train::TrainCallbacks t;
  if (cb.on_step) t.on_step = [&cb, stage](const train::StepInfo& s) { cb.on_step(stage, s); };
  if (cb.on_message) t.on_message = cb.on_message;
  return t;
}

}  // namespace

QuickstartSizes QuickstartSizes::defaults(bool tiny) {
  QuickstartSizes s;
  if (tiny) {
    s.bible_range = "Gen1:1-Gen4:26";
    s.doc_chars = 160;
    s.vocab_size = 320;
    s.hidden = 32, s.layers = 2, s.heads = 2, s.ffn = 64;
    s.seq_len = 48;
    s.pretrain_steps = 30, s.pretrain_batch = 4, s.pretrain_lr = 1e-2;
    s.definitions = 48;
    s.lora_rank = 4, s.finetune_steps = 15, s.finetune_batch = 4, s.finetune_lr = 1e-2;
    s.generate_tokens = 12;
  } else {
    s.bible_range = "Gen1:1-Rev22:21";
    s.doc_chars = 400;
    s.vocab_size = 1024;
    s.hidden = 192, s.layers = 4, s.heads = 4, s.ffn = 512;
    s.seq_len = 128;
    s.pretrain_steps = 300, s.pretrain_batch = 16, s.pretrain_lr = 4e-3;
    // 8 epochs over 400 definitions: the adapter's output takes the glosses' form ("a ...").
    s.definitions = 400;
    s.lora_rank = 16, s.finetune_steps = 200, s.finetune_batch = 16, s.finetune_lr = 5e-3;
    s.generate_tokens = 32;
  }
  return s;
}

QuickstartResult run_quickstart(const QuickstartOptions& o, const QuickstartCallbacks& cb) {
  const auto t_start = Clock::now();
  const QuickstartSizes& s = o.sizes;
  auto say = [&](const std::string& m) {
    if (cb.on_message) cb.on_message(m);
  };
  QuickstartResult r;
  r.tokenizer_dir = o.out / "tokenizer";
  r.base_dir = o.out / "base-model";
  r.adapter_dir = o.out / "adapter";
  r.merged_dir = o.out / "merged-model";
  r.data_dir = o.out / "data";
  // Never delete what this run did not create: the output folder must be new or empty (as merge
  // requires), so there is nothing of the user's in it to replace.
  {
    std::error_code ec;
    const auto st = fs::symlink_status(o.out, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st))
        fail<IoError>("quickstart", "--out '{}' exists and is not a folder", o.out.string());
      if (!fs::is_empty(o.out, ec) || ec)
        fail<IoError>("quickstart",
                      "--out '{}' is not empty; quickstart writes into a new or empty folder "
                      "(choose another --out or remove it first)",
                      o.out.string());
    }
  }
  for (const auto& d : {r.tokenizer_dir, r.base_dir, r.data_dir}) fs::create_directories(d);

  // 1. Corpus and tokenizer.
  say(fmt::format("reading the King James Bible ({})", s.bible_range));
  const std::vector<std::string> verses = parse_bible_verses(read_bible(s.bible_range));
  std::vector<std::string> docs, heldout;
  {
    // Every 100th document (at least 2) is held out of pretraining to measure bits per byte.
    const std::vector<std::string> all = group_verses(verses, s.doc_chars);
    const size_t every = std::min<size_t>(100, std::max<size_t>(2, all.size() / 2));
    for (size_t i = 0; i < all.size(); ++i)
      (i % every == every / 2 ? heldout : docs).push_back(all[i]);
  }
  for (const auto& v : verses) r.corpus_chars += v.size();
  r.documents = docs.size();
  r.heldout_documents = heldout.size();
  for (const auto& d : heldout) r.heldout_bytes += d.size();
  auto t0 = Clock::now();
  say(fmt::format("training a byte-level BPE tokenizer (vocab {}) on {} verses", s.vocab_size,
                  verses.size()));
  const std::string tok_json = train_bpe(verses, s.vocab_size, {kEos});
  const Tokenizer tok = Tokenizer::from_json_string(tok_json, "quickstart tokenizer");
  r.vocab_size = tok.vocab_size();
  const json tok_config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                           {"eos_token", kEos},
                           {"pad_token", kEos},
                           {"model_max_length", 2 * s.seq_len},
                           {"clean_up_tokenization_spaces", false}};
  for (const auto& d : {r.tokenizer_dir, r.base_dir}) {
    io::atomic_write_file(d / "tokenizer.json", tok_json);
    io::write_json_file(d / "tokenizer_config.json", tok_config);
  }
  r.seconds_tokenizer = since(t0);

  // 2. Pretraining from scratch (full training).
  const json cfg_json = model_config(s, r.vocab_size);
  io::write_json_file(r.base_dir / "config.json", cfg_json);
  io::write_json_file(r.base_dir / "generation_config.json",
                      {{"eos_token_id", 0}, {"pad_token_id", 0}, {"do_sample", false}});
  std::vector<json> rows;
  for (const auto& d : docs) rows.push_back({{"text", d}});
  io::atomic_write_file(r.data_dir / "pretrain.jsonl", jsonl(rows));
  rows.clear();
  for (const auto& d : heldout) rows.push_back({{"text", d}});
  io::atomic_write_file(r.data_dir / "pretrain-heldout.jsonl", jsonl(rows));
  {
    auto model =
        models::make_causal_lm(io::parse_llama_config(cfg_json, "quickstart config"), DType::f32);
    init_weights(*model, o.seed);
    for (auto& p : model->parameters()) r.parameters += numel_of(p.shape);
    say(
        fmt::format("pretraining a Llama model ({:.2f}M parameters: D {}, {} layers, {} heads, "
                    "FFN {}) for {} steps of {} x {} tokens",
                    double(r.parameters) / 1e6, s.hidden, s.layers, s.heads, s.ffn,
                    s.pretrain_steps, s.pretrain_batch, s.seq_len));
    train::TrainConfig c;
    c.data = r.data_dir / "pretrain.jsonl";
    c.out = r.base_dir;
    c.full = true;
    c.lr = s.pretrain_lr;
    c.lr_schedule = "cosine";
    c.warmup = std::max<int64_t>(1, s.pretrain_steps / 10);
    c.weight_decay = 0.01;
    c.iters = s.pretrain_steps;
    c.batch_size = s.pretrain_batch;
    c.max_seq_len = size_t(s.seq_len + 1);
    c.seed = o.seed;
    c.device = o.device;
    t0 = Clock::now();
    train::ModelBridge bridge(*model);
    train::Trainer trainer(bridge, tok, c, 0, 0);
    const train::TrainResult tr = trainer.run(stage_callbacks(cb, "pretrain"));
    r.pretrain_first_loss = tr.history.front().loss;
    r.pretrain_last_loss = tr.history.back().loss;
    r.seconds_pretrain = since(t0);
  }

  // 3. The base model, reloaded from its folder: a verse and the definitions before fine-tuning.
  models::LoadOptions lo;
  lo.dtype = DType::f32;
  auto model = models::load_causal_lm(r.base_dir, lo);
  model->to(o.device);
  say(fmt::format("scoring {} held-out documents ({} bytes)", heldout.size(), r.heldout_bytes));
  r.bible_bits_per_byte =
      to_bits_per_byte(heldout_nats(*model, tok, heldout, s.seq_len), r.heldout_bytes);
  r.bible_prompt = "And God said";
  r.bible_continuation = sample_demo(*model, tok, r.bible_prompt, s, o.seed);
  for (size_t i = 0; i < kDemoWords.size(); ++i) {
    DemoGeneration g;
    g.prompt = "Define: " + kDemoWords[i] + "\n";
    g.base = sample_demo(*model, tok, g.prompt, s, o.seed + 1 + i);
    r.generations.push_back(g);
  }

  // 4. LoRA fine-tuning on WordNet definitions, loss on the gloss only.
  std::vector<Definition> defs = read_wordnet_nouns(o.wordnet_dir);
  {
    Generator g(o.seed + 7);
    for (size_t i = defs.size() - 1; i > 0; --i)
      std::swap(defs[i], defs[size_t(g.next_u64() % (i + 1))]);
  }
  const size_t n_valid = std::max<size_t>(4, s.definitions / 10);
  std::vector<json> train_rows, valid_rows;
  auto row = [](const Definition& d) {
    return json{{"prompt", "Define: " + d.word + "\n"}, {"completion", d.gloss}};
  };
  for (const auto& w : kDemoWords) {
    auto it =
        std::find_if(defs.begin(), defs.end(), [&](const Definition& d) { return d.word == w; });
    if (it != defs.end()) train_rows.push_back(row(*it));
  }
  for (const auto& d : defs) {
    if (std::find(kDemoWords.begin(), kDemoWords.end(), d.word) != kDemoWords.end()) continue;
    if (valid_rows.size() < n_valid)
      valid_rows.push_back(row(d));
    else if (train_rows.size() < s.definitions)
      train_rows.push_back(row(d));
    else
      break;
  }
  r.definitions = train_rows.size();
  size_t valid_bytes = 0;
  for (const auto& v : valid_rows) valid_bytes += v["completion"].get<std::string>().size();
  const fs::path def_dir = r.data_dir / "definitions";
  fs::create_directories(def_dir);
  io::atomic_write_file(def_dir / "train.jsonl", jsonl(train_rows));
  io::atomic_write_file(def_dir / "valid.jsonl", jsonl(valid_rows));
  {
    train::TrainConfig c;
    c.data = def_dir;
    c.out = r.adapter_dir;
    c.lora.r = s.lora_rank;
    c.lora.lora_alpha = double(2 * s.lora_rank);
    c.lora.target_modules = {"all-linear"};
    c.lora.init_seed = o.seed;
    c.base_model_name_or_path = "../base-model";
    c.lr = s.finetune_lr;
    c.lr_schedule = "cosine";
    c.warmup = std::max<int64_t>(1, s.finetune_steps / 10);
    c.iters = s.finetune_steps;
    c.batch_size = s.finetune_batch;
    c.max_seq_len = size_t(s.seq_len + 1);
    c.mask_prompt = true;
    c.seed = o.seed;
    c.device = o.device;
    say(
        fmt::format("LoRA fine-tuning (r {}, all linear layers) on {} WordNet definitions for {} "
                    "steps of {}",
                    s.lora_rank, r.definitions, s.finetune_steps, s.finetune_batch));
    t0 = Clock::now();
    train::ModelBridge bridge(*model);
    train::Trainer trainer(bridge, tok, c, 0, 0);
    for (const auto& p : trainer.trainable()) r.adapter_parameters += p.tensor->numel();
    // The trainer evaluates the untrained adapter (step 0) before the first step.
    const train::TrainResult tr = trainer.run(stage_callbacks(cb, "finetune"));
    r.finetune_eval_loss_base =
        tr.evals.empty() || tr.evals.front().step != 0 ? std::nan("") : tr.evals.front().loss;
    r.finetune_first_loss = tr.history.front().loss;
    r.finetune_last_loss = tr.history.back().loss;
    r.finetune_eval_loss = tr.final_eval_loss.value_or(std::nan(""));
    // The eval loss is the mean over the scored targets: the gloss tokens and the end token.
    int64_t targets = 0;
    for (const auto& v : trainer.valid_samples())
      for (uint8_t t : v.target) targets += t;
    r.definitions_bits_per_byte_base =
        to_bits_per_byte(r.finetune_eval_loss_base * double(targets), valid_bytes);
    r.definitions_bits_per_byte =
        to_bits_per_byte(r.finetune_eval_loss * double(targets), valid_bytes);
    r.seconds_finetune = since(t0);
  }
  lora::set_training(*model, false);
  for (size_t i = 0; i < r.generations.size(); ++i)
    r.generations[i].adapted = sample_demo(*model, tok, r.generations[i].prompt, s, o.seed + 1 + i);

  // 5. Merge, and check the merged folder against base + adapter.
  say("merging the adapter into the base model");
  lora::merge_adapter_into_checkpoint(r.base_dir, r.adapter_dir, r.merged_dir);
  auto merged = models::load_causal_lm(r.merged_dir, lo);
  merged->to(o.device);
  for (const auto& g : r.generations) {
    Tensor d =
        max(abs(prompt_logits(*model, tok, g.prompt) - prompt_logits(*merged, tok, g.prompt)));
    r.merged_max_abs_diff = std::max(r.merged_max_abs_diff, d.item<double>());
  }
  r.seconds_total = since(t_start);

  json summary = {{"seed", o.seed},
                  {"corpus_chars", r.corpus_chars},
                  {"documents", r.documents},
                  {"vocab_size", r.vocab_size},
                  {"parameters", r.parameters},
                  {"adapter_parameters", r.adapter_parameters},
                  {"pretrain_loss", {r.pretrain_first_loss, r.pretrain_last_loss}},
                  {"finetune_loss", {r.finetune_first_loss, r.finetune_last_loss}},
                  {"finetune_eval_loss", {r.finetune_eval_loss_base, r.finetune_eval_loss}},
                  {"heldout_bits_per_byte",
                   {{"bible", r.bible_bits_per_byte},
                    {"bible_documents", r.heldout_documents},
                    {"bible_bytes", r.heldout_bytes},
                    {"definitions_base", r.definitions_bits_per_byte_base},
                    {"definitions_adapter", r.definitions_bits_per_byte},
                    {"definitions_bytes", valid_bytes}}},
                  {"sampling", {{"temperature", s.temperature}, {"top_p", s.top_p}}},
                  {"bible", {{"prompt", r.bible_prompt}, {"continuation", r.bible_continuation}}},
                  {"merged_max_abs_diff", r.merged_max_abs_diff},
                  {"seconds",
                   {{"tokenizer", r.seconds_tokenizer},
                    {"pretrain", r.seconds_pretrain},
                    {"finetune", r.seconds_finetune},
                    {"total", r.seconds_total}}}};
  for (const auto& g : r.generations)
    summary["generations"].push_back(
        {{"prompt", g.prompt}, {"base", g.base}, {"adapted", g.adapted}});
  io::write_json_file(o.out / "summary.json", summary);
  return r;
}

}  // namespace wick::quickstart
