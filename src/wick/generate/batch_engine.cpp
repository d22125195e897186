// Continuous batching engine (see batch_engine.h).
#include "wick/generate/batch_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "wick/generate/stop_text.h"
#include "wick/ops.h"

namespace wick::generate {

namespace {

constexpr const char* kEngineOp = "batch_engine";
using EngineClock = std::chrono::steady_clock;

}  // namespace

namespace {

int64_t blocks_for(int64_t positions, int64_t block_size) {
  return (positions + block_size - 1) / block_size;
}

}  // namespace

struct BatchEngine::Seq {
  Seq(int64_t id_, SequenceRequest r, const Tokenizer& tok)
      : id(id_),
        req(std::move(r)),
        sampler(req.options.sampling),
        text(req.options.stop, kEngineOp),
        decoder(tok) {}
  int64_t id;
  SequenceRequest req;
  Sampler sampler;
  StopText text;
  StreamDecoder decoder;
  GenerateResult result;
  std::vector<int32_t> tokens;  // prompt, then generated ids (the cache holds the first `held`)
  std::vector<int32_t> blocks;
  int64_t held = 0;
  int64_t published = 0;  // leading blocks published to the prefix cache
  uint64_t chain = 0;     // hash of the published prefix
  int64_t reserve = 0;    // blocks promised but not yet allocated
  bool done = false;
  EngineClock::time_point start, first_token;
};

BatchEngine::BatchEngine(models::CausalLM& model, const Tokenizer& tokenizer,
                         BatchEngineOptions options)
    : model_(model),
      tok_(tokenizer),
      opt_(options),
      pool_(options.block_size, options.num_blocks, options.prefix_cache_blocks) {
  if (opt_.max_batch <= 0 || opt_.prefill_chunk <= 0)
    fail<ValueError>(kEngineOp, "max_batch and prefill_chunk must be positive, got {} and {}",
                     opt_.max_batch, opt_.prefill_chunk);
}

BatchEngine::~BatchEngine() = default;

int64_t BatchEngine::submit(SequenceRequest request) {
  if (request.prompt.empty()) fail<ValueError>(kEngineOp, "empty prompt (no token ids)");
  if (request.options.max_tokens < 0)
    fail<ValueError>(kEngineOp, "max_tokens must be >= 0, got {}", request.options.max_tokens);
  const int64_t V = model_.config().vocab_size;
  for (int32_t t : request.prompt)
    if (t < 0 || t >= V)
      fail<ValueError>(kEngineOp, "prompt id {} outside the vocabulary of {}", t, V);
  const int64_t need =
      blocks_for(int64_t(request.prompt.size()) + request.options.max_tokens, opt_.block_size);
  if (need > opt_.num_blocks)
    fail<ValueError>(kEngineOp, "prompt + max_tokens need {} KV blocks; expected at most {}", need,
                     opt_.num_blocks);
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t id = next_id_++;
  auto s = std::make_unique<Seq>(id, std::move(request), tok_);
  s->tokens = s->req.prompt;
  s->result.prompt_tokens = s->req.prompt;
  s->start = EngineClock::now();
  inbox_.push_back(std::move(s));
  return id;
}

void BatchEngine::cancel(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancels_.push_back(id);
}

bool BatchEngine::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inbox_.empty() && waiting_.empty() && running_.empty();
}

EngineStats BatchEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineStats s = stats_;
  s.waiting = int64_t(waiting_.size() + inbox_.size());
  return s;
}

void BatchEngine::finish(Seq& s, FinishReason why, const std::string& error) {
  if (s.done) return;
  s.done = true;
  s.result.finish_reason = why;
  if (error.empty()) {
    std::string tail;
    if (why != FinishReason::stop && s.text.add(s.decoder.finish(), tail))
      s.result.finish_reason = FinishReason::stop;
    s.text.flush(tail);
    if (!tail.empty() && s.req.on_token) {
      TokenEvent e;
      e.token = -1;
      e.text = tail;
      s.req.on_token(e);
    }
  }
  s.result.text = s.text.text();
  const auto now = EngineClock::now();
  if (s.first_token == EngineClock::time_point{}) s.first_token = now;
  s.result.prefill_seconds = std::chrono::duration<double>(s.first_token - s.start).count();
  s.result.decode_seconds = std::chrono::duration<double>(now - s.first_token).count();
  s.result.decode_steps = std::max<int64_t>(int64_t(s.result.tokens.size()) - 1, 0);
  for (int32_t b : s.blocks) pool_.release(b);
  s.blocks.clear();
  reserved_ -= s.reserve;
  s.reserve = 0;
  if (s.req.on_done) s.req.on_done(s.result, error);
}

void BatchEngine::admit() {
  while (!waiting_.empty() && int64_t(running_.size()) < opt_.max_batch) {
    Seq& s = *waiting_.front();
    const int64_t P = int64_t(s.req.prompt.size());
    if (s.req.options.max_tokens == 0) {
      auto owned = std::move(waiting_.front());
      waiting_.pop_front();
      finish(*owned, FinishReason::length);
      continue;
    }
    // Prefix cache: whole blocks strictly before the last prompt token (that one is always
    // computed, for its logits).
    std::vector<int32_t> hit;
    uint64_t chain = 0;
    if (opt_.prefix_cache) {
      const int64_t bs = opt_.block_size;
      for (int64_t b = 0; b < (P - 1) / bs; ++b) {
        std::span<const int32_t> toks(s.req.prompt.data() + b * bs, size_t(bs));
        auto id = pool_.lookup(chain, s.req.adapter_id, toks);
        if (!id) break;
        hit.push_back(*id);
        chain = KVBlockPool::chain_hash(chain, s.req.adapter_id, toks);
      }
    }
    const int64_t need =
        blocks_for(P + s.req.options.max_tokens, opt_.block_size) - int64_t(hit.size());
    if (need > pool_.available() - reserved_) {
      for (int32_t b : hit) pool_.release(b);
      break;  // waits for blocks to be freed (first come, first served)
    }
    s.blocks = hit;
    s.held = int64_t(hit.size()) * opt_.block_size;
    s.published = int64_t(hit.size());
    s.chain = chain;
    s.reserve = need;
    reserved_ += need;
    stats_.prefix_hit_tokens += s.held;
    stats_.prompt_tokens += P;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

bool BatchEngine::step() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!inbox_.empty()) {
      waiting_.push_back(std::move(inbox_.front()));
      inbox_.pop_front();
    }
    for (int64_t id : cancels_) {
      for (auto& s : running_)
        if (s->id == id) finish(*s, FinishReason::length, "cancelled");
      for (auto& s : waiting_)
        if (s->id == id) finish(*s, FinishReason::length, "cancelled");
    }
    cancels_.clear();
    std::erase_if(waiting_, [](const auto& s) { return s->done; });
    std::erase_if(running_, [](const auto& s) { return s->done; });
    admit();
    refresh_stats();
  }
  if (running_.empty()) return !waiting_.empty();

  const size_t L = size_t(model_.config().num_hidden_layers);
  const int64_t bs = opt_.block_size;
  std::vector<models::BatchedRow> rows;
  std::vector<Seq*> row_seq;
  int64_t budget = opt_.prefill_chunk;
  auto add_row = [&](Seq& s, int64_t from, int64_t count, bool logits) {
    models::BatchedRow r;
    r.ids.assign(s.tokens.begin() + from, s.tokens.begin() + from + count);
    r.start = s.held;
    if (s.held > 0) {
      r.past_k.assign(L, {});
      r.past_v.assign(L, {});
      for (int32_t b : s.blocks)
        for (size_t l = 0; l < L; ++l) {
          r.past_k[l].push_back(pool_.keys(b)[l]);
          r.past_v[l].push_back(pool_.values(b)[l]);
        }
    }
    r.adapter = s.req.adapter;
    r.want_logits = logits;
    rows.push_back(std::move(r));
    row_seq.push_back(&s);
  };
  // Decode rows first, then prefill chunks within the token budget.
  for (auto& s : running_) {
    const int64_t P = int64_t(s->req.prompt.size());
    if (s->held >= P) add_row(*s, s->held, int64_t(s->tokens.size()) - s->held, true);
  }
  for (auto& s : running_) {
    const int64_t P = int64_t(s->req.prompt.size());
    if (s->held >= P || budget <= 0) continue;
    const int64_t n = std::min(P - s->held, budget);
    budget -= n;
    add_row(*s, s->held, n, s->held + n == P);
  }
  if (rows.empty()) return true;

  std::vector<float> logits;
  int64_t V = model_.config().vocab_size;
  try {
    models::BatchedOutput out = models::forward_batched(model_, rows);
    std::vector<Tensor> pending;
    if (out.logits.valid()) pending.push_back(out.logits);
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t l = 0; l < L; ++l) {
        pending.push_back(out.new_k[i][l]);
        pending.push_back(out.new_v[i][l]);
      }
    eval(pending);
    if (out.logits.valid()) logits = out.logits.to_vector<float>();
    // Append each row's keys/values to its blocks, block by block.
    std::vector<Tensor> written;
    for (size_t i = 0; i < rows.size(); ++i) {
      Seq& s = *row_seq[i];
      const int64_t T = int64_t(rows[i].ids.size());
      int64_t done_t = 0;
      while (done_t < T) {
        const int64_t pos = s.held + done_t;
        const size_t bi = size_t(pos / bs);
        if (bi == s.blocks.size()) {
          s.blocks.push_back(pool_.allocate());
          --s.reserve;
          --reserved_;
        }
        const int32_t b = s.blocks[bi];
        const int64_t n = std::min(T - done_t, bs - pos % bs);
        auto& ks = pool_.keys(b);
        auto& vs = pool_.values(b);
        const bool fresh = ks.empty();
        if (fresh) {
          ks.resize(L);
          vs.resize(L);
        }
        for (size_t l = 0; l < L; ++l) {
          const Tensor& nk = out.new_k[i][l];
          const Tensor& nv = out.new_v[i][l];
          Tensor sk = n == T ? nk : contiguous(slice(nk, 2, done_t, done_t + n));
          Tensor sv = n == T ? nv : contiguous(slice(nv, 2, done_t, done_t + n));
          ks[l] = fresh ? sk : concat({ks[l], sk}, 2);
          vs[l] = fresh ? sv : concat({vs[l], sv}, 2);
          written.push_back(ks[l]);
          written.push_back(vs[l]);
        }
        pool_.length(b) += n;
        done_t += n;
      }
      s.held += T;
      while (opt_.prefix_cache && (s.published + 1) * bs <= s.held) {
        std::span<const int32_t> toks(s.tokens.data() + s.published * bs, size_t(bs));
        s.chain = pool_.publish(s.blocks[size_t(s.published)], s.chain, s.req.adapter_id, toks);
        ++s.published;
      }
    }
    eval(written);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    for (Seq* s : row_seq) finish(*s, FinishReason::length, e.what());
    std::erase_if(running_, [](const auto& s) { return s->done; });
    refresh_stats();
    return true;
  }

  // Sampling, in row order, for the rows that produced logits.
  size_t li = 0;
  int64_t generated = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].want_logits) continue;
    Seq& s = *row_seq[i];
    std::span<float> row(logits.data() + li * size_t(V), size_t(V));
    ++li;
    TokenEvent ev;
    std::vector<float> logp;
    if (s.req.top_logprobs >= 0) {
      // log_softmax of the raw logits, in f64 for the normaliser.
      double mx = -INFINITY;
      for (float x : row) mx = std::max(mx, double(x));
      double sum = 0;
      for (float x : row) sum += std::exp(double(x) - mx);
      const double lse = mx + std::log(sum);
      logp.resize(row.size());
      for (size_t j = 0; j < row.size(); ++j) logp[j] = float(double(row[j]) - lse);
    }
    const int32_t next = s.sampler.sample(row, s.req.prompt, s.result.tokens);
    if (s.result.tokens.empty()) s.first_token = EngineClock::now();
    s.result.tokens.push_back(next);
    s.tokens.push_back(next);
    ++generated;
    ev.token = next;
    if (!logp.empty()) {
      ev.logprob = logp[size_t(next)];
      std::vector<int32_t> order(logp.size());
      for (size_t j = 0; j < order.size(); ++j) order[j] = int32_t(j);
      const size_t k = std::min(order.size(), size_t(s.req.top_logprobs));
      std::partial_sort(order.begin(), order.begin() + ptrdiff_t(k), order.end(),
                        [&](int32_t a, int32_t b) { return logp[size_t(a)] > logp[size_t(b)]; });
      for (size_t j = 0; j < k; ++j) ev.top.emplace_back(order[j], logp[size_t(order[j])]);
    }
    const auto& eos = s.req.options.eos_ids;
    std::optional<FinishReason> why;
    if (std::find(eos.begin(), eos.end(), int64_t(next)) != eos.end()) {
      why = FinishReason::eos;
    } else if (s.text.add(s.decoder.step(next), ev.text)) {
      why = FinishReason::stop;
    } else if (int64_t(s.result.tokens.size()) >= s.req.options.max_tokens) {
      why = FinishReason::length;
    }
    if (s.req.on_token) s.req.on_token(ev);
    if (why) finish(s, *why);
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(running_, [](const auto& s) { return s->done; });
  ++stats_.steps;
  stats_.generated_tokens += generated;
  stats_.last_batch = int64_t(rows.size());
  refresh_stats();
  return true;
}

void BatchEngine::refresh_stats() {
  stats_.running = int64_t(running_.size());
  stats_.blocks_in_use = pool_.in_use();
  stats_.blocks_cached = pool_.cached();
  stats_.blocks_capacity = pool_.capacity();
}

void BatchEngine::run_until_idle() {
  while (!idle()) step();
}

std::vector<GenerateResult> generate_batch(models::CausalLM& model, const Tokenizer& tokenizer,
                                           const std::vector<std::vector<int32_t>>& prompts,
                                           const std::vector<GenerateOptions>& options,
                                           BatchEngineOptions engine) {
  if (prompts.size() != options.size())
    fail<ValueError>(kEngineOp, "{} prompts but {} option sets; expected one each", prompts.size(),
                     options.size());
  BatchEngine e(model, tokenizer, engine);
  std::vector<GenerateResult> out(prompts.size());
  std::vector<std::string> errors(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    SequenceRequest r;
    r.prompt = prompts[i];
    r.options = options[i];
    r.on_done = [&out, &errors, i](const GenerateResult& g, const std::string& err) {
      out[i] = g;
      errors[i] = err;
    };
    e.submit(std::move(r));
  }
  e.run_until_idle();
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) fail<ValueError>(kEngineOp, "sequence {} failed: {}", i, errors[i]);
  return out;
}

}  // namespace wick::generate
