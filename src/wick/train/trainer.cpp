#include "wick/train/trainer.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "wick/io/atomic_file.h"
#include "wick/io/safetensors.h"
#include "wick/ops.h"
#include "wick/ops/linear_cross_entropy.h"
#include "wick/train/evaluate.h"

namespace wick::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c) {
  if (c.optimizer == "adamw") return std::make_unique<optim::AdamW>(c.weight_decay);
  if (c.optimizer == "sgd") return std::make_unique<optim::SGD>(c.weight_decay);
  fail<ValueError>("train", "unknown optimizer '{}'; expected adamw or sgd", c.optimizer);
}

json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) fail<IoError>("train", "cannot open '{}'", file.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail<IoError>("train", "'{}' is not valid JSON: {}", file.string(), e.what());
  }
}

// Copies every regular file of a model folder except weights (safetensors, their index, .bin).
void copy_model_files(const fs::path& from, const fs::path& to) {
  if (fs::equivalent(from, to)) return;
  for (const auto& e : fs::directory_iterator(from)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json") ||
        name.ends_with(".bin"))
      continue;
    fs::copy_file(e.path(), to / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

Trainer::Trainer(CausalLM& model, const Tokenizer& tok, TrainConfig config,
                 std::optional<int32_t> eos_id, int32_t pad_id, ChatRenderer chat)
    : model_(model), cfg_(std::move(config)), pad_id_(pad_id), dropout_gen_(cfg_.seed + 1) {
  if (cfg_.batch_size < 1) fail<ValueError>("train", "batch size must be >= 1");
  if (cfg_.grad_accum < 1) fail<ValueError>("train", "grad accumulation must be >= 1");
  if (!(cfg_.lr >= 0)) fail<ValueError>("train", "learning rate must be >= 0, got {}", cfg_.lr);
  if (cfg_.iters < 0 || cfg_.epochs < 0) fail<ValueError>("train", "iters/epochs must be >= 0");
  // NaN fails every one of these (written as !(in range)).
  if (!std::isfinite(cfg_.lr))
    fail<ValueError>("train", "learning rate must be finite, got {}", cfg_.lr);
  if (!(cfg_.weight_decay >= 0) || !std::isfinite(cfg_.weight_decay))
    fail<ValueError>("train", "weight decay must be a finite number >= 0, got {}",
                     cfg_.weight_decay);
  if (!(cfg_.max_grad_norm >= 0) || !std::isfinite(cfg_.max_grad_norm))
    fail<ValueError>("train", "max grad norm must be a finite number >= 0 (0: off), got {}",
                     cfg_.max_grad_norm);
  if (cfg_.warmup < 0) fail<ValueError>("train", "warmup must be >= 0 steps, got {}", cfg_.warmup);
  if (cfg_.save_every < 0 || cfg_.eval_every < 0)
    fail<ValueError>("train", "save/eval intervals must be >= 0 steps, got {} and {}",
                     cfg_.save_every, cfg_.eval_every);
  if (cfg_.out.empty()) fail<ValueError>("train", "no output folder given");
  if (cfg_.pack && cfg_.max_seq_len < 2)
    fail<ValueError>("train", "packing needs a max sequence length >= 2 (the row length), got {}",
                     cfg_.max_seq_len);
  const auto schedule = optim::parse_schedule(cfg_.lr_schedule);
  (void)schedule;
  DataFiles files = resolve_data(cfg_.data);
  TokenizeOptions to;
  to.max_seq_len = cfg_.max_seq_len;
  to.mask_prompt = cfg_.mask_prompt;
  to.eos_id = eos_id;
  to.chat = std::move(chat);
  train_ = tokenize(read_jsonl(files.train, cfg_.keys), tok, to);
  if (files.valid) valid_ = tokenize(read_jsonl(*files.valid, cfg_.keys), tok, to);
  if (valid_.empty() && cfg_.eval_every > 0)
    fail<ValueError>("train",
                     "eval-every {} needs validation data, and '{}' has none (put train.jsonl and "
                     "valid.jsonl in a folder and pass the folder)",
                     cfg_.eval_every, cfg_.data.string());
  if (valid_.empty() && (cfg_.keep_best || cfg_.early_stop > 0))
    fail<ValueError>("train", "{} needs validation data, and '{}' has none (valid.jsonl)",
                     cfg_.keep_best ? "keep-best" : "early-stop", cfg_.data.string());
  if (cfg_.early_stop < 0)
    fail<ValueError>("train", "early-stop must be >= 0, got {}", cfg_.early_stop);
  if (cfg_.early_stop > 0 && cfg_.eval_every <= 0)
    fail<ValueError>("train",
                     "early-stop {} needs periodic evaluation: set eval-every (validation runs "
                     "only at the end otherwise)",
                     cfg_.early_stop);
  if (train_.empty())
    fail<ValueError>("train", "'{}' holds no training examples", files.train.string());
  // A loss over zero targets is 0 and its gradient nothing: refuse instead of "training".
  int64_t n_targets = 0;
  for (const Sample& smp : train_)
    for (size_t t = 1; t < smp.target.size(); ++t) n_targets += smp.target[t];
  if (n_targets == 0)
    fail<ValueError>("train",
                     "'{}' has no target tokens to train on (every token is masked or each "
                     "example is a single token); expected at least 1",
                     files.train.string());

  nn::Module& root = model_.module();
  device_ = cfg_.device.value_or(nn::module_device(root));
  if (cfg_.full) {
    root.set_trainable(true);
  } else {
    if (cfg_.resume) {
      cfg_.lora = lora::read_adapter_config(*cfg_.resume);
    } else if (cfg_.resume_adapter) {
      const uint64_t seed = cfg_.lora.init_seed;
      cfg_.lora = lora::read_adapter_config(*cfg_.resume_adapter);
      cfg_.lora.init_seed = seed;
    }
    if (cfg_.lora.base_model_name_or_path.empty())
      cfg_.lora.base_model_name_or_path = cfg_.base_model_name_or_path;
    lora::apply_lora(root, cfg_.lora, &dropout_gen_);
    if (cfg_.resume_adapter && !cfg_.resume) lora::load_adapter_weights(root, *cfg_.resume_adapter);
  }
  // Adapters are made (or read) on the CPU: everything moves to the device once, here.
  root.to(device_);
  params_ = root.trainable_parameters();
  if (params_.empty()) fail<ValueError>("train", "the model has no trainable parameters");
  opt_ = make_optimizer(cfg_);
  if (cfg_.grad_checkpoint) model_.set_grad_checkpoint(true);

  const int64_t n = int64_t(train_.size());
  if (cfg_.iters > 0) {
    total_steps_ = cfg_.iters;
  } else {
    const int64_t epochs = cfg_.epochs > 0 ? cfg_.epochs : 1;
    const int64_t micro = (n + cfg_.batch_size - 1) / cfg_.batch_size;
    total_steps_ = std::max<int64_t>(1, (epochs * micro + cfg_.grad_accum - 1) / cfg_.grad_accum);
  }
  order_ = epoch_order(n, cfg_.seed, 0, cfg_.shuffle);
  if (cfg_.resume) load_checkpoint(*cfg_.resume);
}

Trainer::~Trainer() = default;

Batch Trainer::make_batch(const std::vector<const Sample*>& s) const {
  return batch_to(
      cfg_.pack ? pack_batch(s, int64_t(cfg_.max_seq_len), pad_id_) : pad_batch(s, pad_id_),
      device_);
}

std::vector<const Sample*> Trainer::next_micro_batch() {
  const int64_t n = int64_t(train_.size());
  if (pos_ >= n) {
    ++epoch_;
    pos_ = 0;
    order_ = epoch_order(n, cfg_.seed, epoch_, cfg_.shuffle);
  }
  std::vector<const Sample*> out;
  const int64_t end = std::min(n, pos_ + cfg_.batch_size);
  for (; pos_ < end; ++pos_) out.push_back(&train_[order_[pos_]]);
  return out;
}

double Trainer::batch_loss(const Batch& b) { return train::batch_loss(model_, b); }

double Trainer::evaluate(const std::vector<Sample>& data, int64_t* tokens) {
  lora::set_training(model_.module(), false);
  EvalOptions o;
  o.batch_size = cfg_.batch_size;
  o.pack = cfg_.pack;
  o.max_seq_len = cfg_.max_seq_len;
  o.pad_id = pad_id_;
  o.max_batches = cfg_.eval_batches;
  const EvalResult r = evaluate_loss(model_, data, o);
  lora::set_training(model_.module(), true);
  if (tokens) *tokens = r.targets;
  return r.loss;
}

RunSummary Trainer::summary() const {
  RunSummary s;
  for (const auto& p : model_.module().parameters()) s.total_params += p.tensor->numel();
  for (const auto& p : params_) s.trainable_params += p.tensor->numel();
  s.train = data_stats(train_);
  if (!valid_.empty()) s.valid = data_stats(valid_);
  s.max_seq_len = cfg_.max_seq_len;
  s.total_steps = total_steps_;
  s.start_step = step_;
  return s;
}

TrainResult Trainer::run(const TrainCallbacks& cb) {
  fs::create_directories(cfg_.out);
  const auto schedule = optim::parse_schedule(cfg_.lr_schedule);
  std::vector<Tensor*> ptrs;
  for (auto& p : params_) ptrs.push_back(p.tensor);
  lora::set_training(model_.module(), true);
  const auto t_start = Clock::now();
  const int64_t first_step = step_;
  const int64_t first_tokens = tokens_seen_;
  std::string last_checkpoint = cfg_.resume ? cfg_.resume->string() : "(none)";
  TrainResult r;
  // A finite loss improves on no loss or a nan one (an evaluation with nothing scored).
  auto improves = [&r](double loss) {
    return !r.best || loss < r.best->loss || (std::isnan(r.best->loss) && !std::isnan(loss));
  };
  for (const auto& e : evals_)  // evaluations before a resume count for best / early stop
    if (improves(e.loss)) r.best = e;
  int64_t since_best = 0;
  auto record_eval = [&](const EvalInfo& e) {
    evals_.push_back(e);
    metric_lines_.push_back(
        json({{"step", e.step}, {"eval_loss", e.loss}, {"eval_tokens", e.tokens}}).dump());
    if (cb.on_eval) cb.on_eval(e);
    if (improves(e.loss)) {
      r.best = e;
      since_best = 0;
      if (cfg_.keep_best) {
        const fs::path dir = cfg_.out / "checkpoint-best";
        save_checkpoint(dir);
        r.best_checkpoint = dir;
        if (cb.on_message)
          cb.on_message(fmt::format("best validation loss so far: {:.4f} at step {}, saved {}",
                                    e.loss, e.step, dir.string()));
      }
    } else {
      ++since_best;
    }
  };
  RunSummary summary = this->summary();
  if (step_ == 0 && !valid_.empty() && cfg_.initial_eval) {
    EvalInfo e;
    e.step = 0;
    e.loss = evaluate(valid_, &e.tokens);
    summary.initial_eval_loss = e.loss;
    if (cb.on_start) cb.on_start(summary);
    record_eval(e);
  } else if (cb.on_start) {
    cb.on_start(summary);
  }
  while (step_ < total_steps_) {
    const auto t0 = Clock::now();
    std::vector<Batch> micro;
    int64_t n_total = 0, tokens = 0;
    for (int64_t a = 0; a < cfg_.grad_accum; ++a) {
      micro.push_back(make_batch(next_micro_batch()));
      n_total += micro.back().n_targets;
      tokens += micro.back().n_tokens;
    }
    const double denom = double(std::max<int64_t>(1, n_total));
    std::vector<Tensor> acc;
    double loss = 0;
    for (const Batch& b : micro) {
      std::vector<Tensor> ps;
      for (auto* p : ptrs) ps.push_back(*p);
      auto fn = [&](const std::vector<Tensor>&) {
        Tensor h = model_.hidden_states(b.ids, b.positions, b.mask);
        const int64_t D = h.shape(-1);
        Tensor s = linear_cross_entropy(reshape(h, {-1, D}), model_.lm_head_weight(), b.targets,
                                        -100, Reduction::sum);
        return s / denom;
      };
      auto [v, g] = value_and_grad(fn, ps);
      std::vector<Tensor> todo = g;
      todo.push_back(v);
      eval(todo);
      loss += v.item<double>();
      if (acc.empty()) {
        acc = g;
      } else {
        for (size_t i = 0; i < acc.size(); ++i) acc[i] = acc[i] + g[i];
        eval(acc);
      }
    }
    if (!std::isfinite(loss))
      fail<ValueError>("train",
                       "step {}: the loss is {}; stopping without updating. The last good "
                       "checkpoint is {}",
                       step_ + 1, loss, last_checkpoint);
    const double norm = optim::clip_grad_norm(acc, cfg_.max_grad_norm);
    if (!std::isfinite(norm))
      fail<ValueError>("train",
                       "step {}: the gradient norm is {}; stopping without updating. The last "
                       "good checkpoint is {}",
                       step_ + 1, norm, last_checkpoint);
    const double lr = cfg_.lr * optim::lr_lambda(schedule, step_, cfg_.warmup, total_steps_);
    opt_->step(ptrs, acc, lr);
    ++step_;
    tokens_seen_ += tokens;

    StepInfo info;
    info.step = step_;
    info.total_steps = total_steps_;
    info.epoch = epoch_;
    info.loss = loss;
    info.lr = lr;
    info.grad_norm = norm;
    info.tokens = tokens;
    info.total_tokens = tokens_seen_;
    const double dt = seconds_since(t0);
    info.tokens_per_s = dt > 0 ? double(tokens) / dt : 0;
    info.elapsed_s = seconds_since(t_start);
    info.eta_s = info.elapsed_s / double(step_ - first_step) * double(total_steps_ - step_);
    history_.push_back(info);
    json m = {{"step", step_},    {"loss", loss},
              {"lr", lr},         {"grad_norm", norm},
              {"tokens", tokens}, {"tokens_per_s", info.tokens_per_s},
              {"epoch", epoch_},  {"elapsed_s", info.elapsed_s}};
    metric_lines_.push_back(m.dump());
    if (cb.on_step) cb.on_step(info);

    const bool last = step_ == total_steps_;
    if (!valid_.empty() && ((cfg_.eval_every > 0 && step_ % cfg_.eval_every == 0) || last)) {
      EvalInfo e;
      e.step = step_;
      e.loss = evaluate(valid_, &e.tokens);
      record_eval(e);
    }
    if (cfg_.save_every > 0 && step_ % cfg_.save_every == 0) {
      const fs::path dir = cfg_.out / fmt::format("checkpoint-{}", step_);
      save_checkpoint(dir);
      last_checkpoint = dir.string();
      if (cb.on_message) cb.on_message("saved " + dir.string());
    }
    write_metrics();
    if (cfg_.early_stop > 0 && since_best >= cfg_.early_stop && step_ < total_steps_) {
      r.stopped_early = true;
      if (cb.on_message)
        cb.on_message(fmt::format(
            "early stop at step {}: {} evaluations without improving on {:.4f} (step {})", step_,
            since_best, r.best->loss, r.best->step));
      break;
    }
  }
  save_final();
  r.elapsed_s = seconds_since(t_start);
  r.run_tokens = tokens_seen_ - first_tokens;
  r.steps = step_;
  r.final_loss = history_.empty() ? std::nan("") : history_.back().loss;
  if (!evals_.empty()) r.final_eval_loss = evals_.back().loss;
  r.history = history_;
  r.evals = evals_;
  return r;
}

void Trainer::write_metrics() {
  std::string text;
  for (const auto& l : metric_lines_) text += l + "\n";
  io::atomic_write_file(cfg_.metrics.value_or(cfg_.out / "metrics.jsonl"), text);
}

void Trainer::save_final() {
  nn::Module& root = model_.module();
  if (cfg_.full) {
    std::vector<std::pair<std::string, Tensor>> ts;
    for (auto& p : root.parameters()) ts.emplace_back(p.path, *p.tensor);
    io::write_safetensors(cfg_.out / "model.safetensors", ts, {{"format", "pt"}});
    if (cfg_.model_dir) copy_model_files(*cfg_.model_dir, cfg_.out);
  } else {
    lora::save_adapter(root, cfg_.lora, cfg_.out);
    if (cfg_.base_info) lora::write_base_info(cfg_.out, *cfg_.base_info);
  }
  write_metrics();
  if (!history_.empty()) write_loss_svg(cfg_.out / "loss.svg", history_, evals_, "training loss");
}

void Trainer::save_checkpoint(const fs::path& dir) {
  fs::path tmp = dir;
  tmp += ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  if (cfg_.full) {
    std::vector<std::pair<std::string, Tensor>> ts;
    for (auto& p : params_) ts.emplace_back(p.path, *p.tensor);
    io::write_safetensors(tmp / "model.safetensors", ts, {{"format", "pt"}});
  } else {
    lora::save_adapter(model_.module(), cfg_.lora, tmp);
    if (cfg_.base_info) lora::write_base_info(tmp, *cfg_.base_info);
  }
  io::write_safetensors(tmp / "optimizer.safetensors", opt_->state(),
                        {{"optimizer", cfg_.optimizer}});
  json st;
  st["step"] = step_;
  st["epoch"] = epoch_;
  st["position"] = pos_;
  st["tokens_seen"] = tokens_seen_;
  st["total_steps"] = total_steps_;
  st["rng"] = {{"seed", dropout_gen_.seed()}, {"counter", dropout_gen_.counter()}};
  st["data_size"] = train_.size();
  st["full"] = cfg_.full;
  st["optimizer"] = cfg_.optimizer;
  st["log_history"] = metric_lines_;
  std::vector<std::string> names;
  for (auto& p : params_) names.push_back(p.path);
  st["trainable"] = names;
  io::atomic_write_file(tmp / "trainer_state.json", st.dump(1) + "\n");
  // Replace any older folder of that name only once the new one is complete.
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(tmp, dir);
}

void Trainer::load_checkpoint(const fs::path& dir) {
  const fs::path sf = dir / "trainer_state.json";
  json st = read_json(sf);
  try {
    if (st.at("full").get<bool>() != cfg_.full)
      fail<ValueError>("resume", "'{}' was written by a {} run", sf.string(),
                       cfg_.full ? "LoRA" : "full fine-tuning");
    if (st.at("optimizer").get<std::string>() != cfg_.optimizer)
      fail<ValueError>("resume", "'{}' used optimizer {}, this run uses {}", sf.string(),
                       st.at("optimizer").get<std::string>(), cfg_.optimizer);
    if (st.at("data_size").get<size_t>() != train_.size())
      fail<ValueError>("resume", "'{}' was trained on {} examples, the data now has {}",
                       sf.string(), st.at("data_size").get<size_t>(), train_.size());
    auto names = st.at("trainable").get<std::vector<std::string>>();
    if (names.size() != params_.size())
      fail<ValueError>("resume", "'{}' has {} trainable tensors, the model {}", sf.string(),
                       names.size(), params_.size());
    step_ = st.at("step").get<int64_t>();
    epoch_ = st.at("epoch").get<int64_t>();
    pos_ = st.at("position").get<int64_t>();
    tokens_seen_ = st.at("tokens_seen").get<int64_t>();
    // A tampered or foreign state must not steer indexing: every counter is range-checked.
    auto range = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
      if (v < lo || v > hi)
        fail<ValueError>("resume", "'{}': \"{}\" = {} is out of range; expected {}..{}",
                         sf.string(), key, v, lo, hi);
    };
    range("step", step_, 1, total_steps_);
    range("epoch", epoch_, 0, std::max<int64_t>(step_ * cfg_.batch_size * cfg_.grad_accum, 1));
    range("position", pos_, 0, int64_t(train_.size()));
    range("tokens_seen", tokens_seen_, 0, std::numeric_limits<int64_t>::max());
    dropout_gen_.set_state(st.at("rng").at("seed").get<uint64_t>(),
                           st.at("rng").at("counter").get<uint64_t>());
    metric_lines_ = st.at("log_history").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    fail<IoError>("resume", "'{}' is malformed: {}", sf.string(), e.what());
  }
  order_ = epoch_order(int64_t(train_.size()), cfg_.seed, epoch_, cfg_.shuffle);
  try {
    for (const auto& l : metric_lines_) {
      json j = json::parse(l);
      if (j.contains("eval_loss"))
        evals_.push_back({j.at("step").get<int64_t>(), j.at("eval_loss").get<double>(),
                          j.at("eval_tokens").get<int64_t>()});
      else
        history_.push_back({.step = j.at("step").get<int64_t>(),
                            .loss = j.at("loss").get<double>(),
                            .lr = j.at("lr").get<double>()});
    }
  } catch (const json::exception& e) {
    fail<IoError>("resume", "'{}': malformed \"log_history\": {}", sf.string(), e.what());
  }
  if (cfg_.full) {
    auto st_file = io::SafeTensorsFile::open(dir / "model.safetensors");
    for (auto& p : params_) {
      if (!st_file.contains(p.path))
        fail<IoError>("resume", "'{}' lacks '{}'", st_file.label(), p.path);
      *p.tensor = contiguous(st_file.tensor(p.path, p.tensor->dtype()) * 1.0).to(device_);
      p.tensor->eval();
    }
  } else {
    lora::load_adapter_weights(model_.module(), dir);
    model_.module().to(device_);
  }
  auto of = io::SafeTensorsFile::open(dir / "optimizer.safetensors");
  optim::StateDict sd;
  for (const auto& name : of.names()) sd.emplace_back(name, of.tensor(name).to(device_));
  opt_->load_state(sd);
}

}  // namespace wick::train
