// POST /v1/chat/completions and /v1/completions: requests become engine sequences (n per
// prompt); answers are one JSON object or a server-sent event stream ending with "data: [DONE]".
// A stream whose client has gone (a failed write) cancels its sequences, freeing their KV blocks.
#include <fmt/format.h>

#include <random>

#include "wick/serve/server_impl.h"

namespace wick::serve {

namespace {

using nlohmann::json;
using ServeClock = std::chrono::steady_clock;

const char* openai_finish(generate::FinishReason r) {
  return r == generate::FinishReason::length ? "length" : "stop";
}

json token_bytes(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

// The state of one generation request, shared by the handler, the stream and the callbacks.
struct Pending {
  Server::Impl* server = nullptr;
  bool chat = false;
  GenerationRequest req;
  std::string id;
  int64_t created = 0;
  size_t choices = 0;
  int64_t prompt_tokens = 0;
  std::shared_ptr<RequestChannel> channel = std::make_shared<RequestChannel>();
  ServeClock::time_point start = ServeClock::now();
  bool first_token_seen = false;
  bool finished = false;  // metrics recorded, in_flight released
  // Accumulated per choice (non-streaming answers and usage).
  std::vector<std::string> text;
  std::vector<json> logprobs;
  std::vector<int64_t> completion_tokens;
  std::vector<std::string> finish_reason;
  std::vector<size_t> text_offset;

  void cancel_all() {
    for (int64_t sid : channel->seq_ids) server->engine->cancel(sid);
    server->wake();
  }
  void close() {
    if (finished) return;
    finished = true;
    int64_t gen = 0;
    for (int64_t c : completion_tokens) gen += c;
    server->metrics.tokens(prompt_tokens, gen);
    server->metrics.latency(std::chrono::duration<double>(ServeClock::now() - start).count());
    --server->in_flight;
  }
  json usage() const {
    int64_t gen = 0;
    for (int64_t c : completion_tokens) gen += c;
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", gen},
            {"total_tokens", prompt_tokens + gen}};
  }
  // The logprobs entry of one token (chat: {"content": [...]} items; completions: parallel lists).
  json chat_logprob(const generate::TokenEvent& t) const {
    const std::string tok = server->tokenizer.decode({t.token});
    json top = json::array();
    for (const auto& [id, lp] : t.top) {
      const std::string s = server->tokenizer.decode({id});
      top.push_back({{"token", s}, {"logprob", lp}, {"bytes", token_bytes(s)}});
    }
    return {
        {"token", tok}, {"logprob", t.logprob}, {"bytes", token_bytes(tok)}, {"top_logprobs", top}};
  }
  void add_completion_logprob(json& lp, const generate::TokenEvent& t, size_t offset) const {
    const std::string tok = server->tokenizer.decode({t.token});
    json top = json::object();
    for (const auto& [id, p] : t.top) top[server->tokenizer.decode({id})] = p;
    lp["tokens"].push_back(tok);
    lp["token_logprobs"].push_back(t.logprob);
    lp["top_logprobs"].push_back(top);
    lp["text_offset"].push_back(offset);
  }
  static json empty_completion_logprobs() {
    return {{"tokens", json::array()},
            {"token_logprobs", json::array()},
            {"top_logprobs", json::array()},
            {"text_offset", json::array()}};
  }
};

// Waits for the next events (up to `wait`); returns them.
std::deque<RequestChannel::Event> take_events(RequestChannel& ch, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(ch.mu);
  ch.cv.wait_for(lock, wait, [&ch] { return !ch.events.empty(); });
  std::deque<RequestChannel::Event> out;
  out.swap(ch.events);
  return out;
}

std::string sse(const json& j) { return "data: " + dump_json(j) + "\n\n"; }

}  // namespace

void Server::Impl::handle_generation(const httplib::Request& hreq, httplib::Response& res,
                                     bool chat) {
  const json body = parse_body(hreq.body);
  auto p = std::make_shared<Pending>();
  p->server = this;
  p->chat = chat;
  p->req = chat ? parse_chat_request(body) : parse_completion_request(body);
  const GenerationRequest& g = p->req;
  const auto* adapter = resolve_model(g.model);
  if (draining)
    throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");

  // Prompts as token ids, as `wick generate` (--chat) encodes them.
  std::vector<std::vector<int32_t>> prompts;
  if (chat) {
    if (!chat_template)
      throw ApiError(400, "this model has no chat template: " + chat_template_error, "messages");
    try {
      prompts.push_back(tokenizer.encode(chat_template->render(g.messages, true), false));
    } catch (const ValueError& e) {
      throw ApiError(400, e.what(), "messages");
    }
  } else {
    for (const auto& s : g.prompts) prompts.push_back(tokenizer.encode(s, true));
  }
  const int64_t ctx = model->config().max_position_embeddings;
  std::vector<int64_t> max_tokens;
  for (const auto& ids : prompts) {
    const int64_t P = int64_t(ids.size());
    const int64_t want = g.max_tokens.value_or(ctx - P);
    if (P + want > ctx || want < 1)
      throw ApiError(400,
                     fmt::format("this model's context is {} tokens; the prompt has {} and {} "
                                 "more were requested",
                                 ctx, P, want),
                     chat ? "messages" : "prompt", "invalid_request_error",
                     "context_length_exceeded");
    max_tokens.push_back(want);
    p->prompt_tokens += P;
  }
  const int64_t seqs = int64_t(prompts.size()) * g.n;
  if (live_sequences + seqs > opt.max_queue) {
    res.set_header("Retry-After", "1");
    throw ApiError(429,
                   fmt::format("the server is busy ({} sequences queued or running; limit {})",
                               int64_t(live_sequences), opt.max_queue),
                   "", "rate_limit_exceeded", "queue_full");
  }

  p->choices = size_t(seqs);
  p->id = fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", ++request_counter);
  p->created = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  p->text.assign(p->choices, "");
  p->logprobs.assign(p->choices, chat ? json::array() : Pending::empty_completion_logprobs());
  p->completion_tokens.assign(p->choices, 0);
  p->finish_reason.assign(p->choices, "");
  p->text_offset.assign(p->choices, 0);
  ++in_flight;
  static std::atomic<uint64_t> seed_source{std::random_device{}()};
  {
    std::lock_guard<std::mutex> lock(p->channel->mu);
    p->channel->running = p->choices;
  }
  try {
    for (size_t pi = 0; pi < prompts.size(); ++pi)
      for (int64_t j = 0; j < g.n; ++j) {
        const size_t choice = pi * size_t(g.n) + size_t(j);
        generate::SequenceRequest sr;
        sr.prompt = prompts[pi];
        sr.options.max_tokens = max_tokens[pi];
        if (!g.ignore_eos) sr.options.eos_ids = eos_ids;
        sr.options.stop = g.stop;
        auto& so = sr.options.sampling;
        so.temperature = g.temperature;
        so.top_p = g.top_p;
        so.top_k = g.top_k;
        so.min_p = g.min_p;
        so.presence_penalty = g.presence_penalty;
        so.frequency_penalty = g.frequency_penalty;
        so.repetition_penalty = g.repetition_penalty;
        so.seed = g.seed ? uint64_t(*g.seed) + uint64_t(j) : seed_source.fetch_add(1);
        if (adapter) {
          sr.adapter = &adapter->second;
          sr.adapter_id = adapter->first;
        }
        sr.top_logprobs = g.logprobs ? g.top_logprobs : -1;
        std::weak_ptr<RequestChannel> weak = p->channel;
        sr.on_token = [weak, choice](const generate::TokenEvent& t) {
          if (auto ch = weak.lock()) {
            std::lock_guard<std::mutex> lock(ch->mu);
            RequestChannel::Event ev;
            ev.choice = choice;
            ev.token = t;
            ch->events.push_back(std::move(ev));
            ch->cv.notify_all();
          }
        };
        auto* self = this;
        sr.on_done = [weak, choice, self](const generate::GenerateResult& r, const std::string& e) {
          --self->live_sequences;
          if (auto ch = weak.lock()) {
            std::lock_guard<std::mutex> lock(ch->mu);
            RequestChannel::Event ev;
            ev.choice = choice;
            ev.done = true;
            ev.result = r;
            ev.error = e;
            ch->events.push_back(std::move(ev));
            --ch->running;
            ch->cv.notify_all();
          }
        };
        ++live_sequences;
        try {
          p->channel->seq_ids.push_back(engine->submit(std::move(sr)));
        } catch (...) {
          --live_sequences;
          throw;
        }
      }
  } catch (const ValueError& e) {
    p->cancel_all();
    p->close();
    throw ApiError(400, e.what());
  }
  wake();

  // Folds one event into the per-choice state; returns the stream chunks it makes.
  auto apply = [p](const RequestChannel::Event& ev, std::string* chunks) {
    const size_t c = ev.choice;
    const GenerationRequest& g = p->req;
    if (!ev.done) {
      if (!p->first_token_seen && ev.token.token >= 0) {
        p->first_token_seen = true;
        p->server->metrics.first_token(
            std::chrono::duration<double>(ServeClock::now() - p->start).count());
      }
      if (ev.token.token >= 0) ++p->completion_tokens[c];
      json lp = nullptr;
      if (g.logprobs && ev.token.token >= 0) {
        if (p->chat) {
          lp = {{"content", json::array({p->chat_logprob(ev.token)})}};
          p->logprobs[c].push_back(lp["content"][0]);
        } else {
          lp = Pending::empty_completion_logprobs();
          p->add_completion_logprob(lp, ev.token, p->text_offset[c]);
          p->add_completion_logprob(p->logprobs[c], ev.token, p->text_offset[c]);
        }
      }
      p->text[c] += ev.token.text;
      p->text_offset[c] += ev.token.text.size();
      if (chunks && (!ev.token.text.empty() || !lp.is_null())) {
        json choice = {{"index", c}, {"logprobs", lp}, {"finish_reason", nullptr}};
        if (p->chat)
          choice["delta"] = {{"content", ev.token.text}};
        else
          choice["text"] = ev.token.text;
        json chunk = {{"id", p->id},
                      {"object", p->chat ? "chat.completion.chunk" : "text_completion"},
                      {"created", p->created},
                      {"model", g.model},
                      {"choices", json::array({choice})}};
        if (g.include_usage) chunk["usage"] = nullptr;
        *chunks += sse(chunk);
      }
      return;
    }
    p->finish_reason[c] = openai_finish(ev.result.finish_reason);
    if (chunks && ev.error.empty()) {
      json choice = {{"index", c}, {"logprobs", nullptr}, {"finish_reason", p->finish_reason[c]}};
      if (p->chat)
        choice["delta"] = json::object();
      else
        choice["text"] = "";
      json chunk = {{"id", p->id},
                    {"object", p->chat ? "chat.completion.chunk" : "text_completion"},
                    {"created", p->created},
                    {"model", g.model},
                    {"choices", json::array({choice})}};
      if (g.include_usage) chunk["usage"] = nullptr;
      *chunks += sse(chunk);
    }
  };

  if (!g.stream) {
    std::string error;
    for (;;) {
      auto evs = take_events(*p->channel, std::chrono::milliseconds(200));
      for (const auto& ev : evs) {
        apply(ev, nullptr);
        if (ev.done && !ev.error.empty()) error = ev.error;
      }
      std::lock_guard<std::mutex> lock(p->channel->mu);
      if (p->channel->running == 0 && p->channel->events.empty()) break;
    }
    p->close();
    if (!error.empty()) throw ApiError(500, error, "", "server_error");
    json choices = json::array();
    for (size_t c = 0; c < p->choices; ++c) {
      json lp = g.logprobs ? (chat ? json{{"content", p->logprobs[c]}} : p->logprobs[c]) : json();
      json choice = {{"index", c}, {"logprobs", lp}, {"finish_reason", p->finish_reason[c]}};
      if (chat)
        choice["message"] = {{"role", "assistant"}, {"content", p->text[c]}};
      else
        choice["text"] = p->text[c];
      choices.push_back(choice);
    }
    res.set_content(dump_json({{"id", p->id},
                               {"object", chat ? "chat.completion" : "text_completion"},
                               {"created", p->created},
                               {"model", g.model},
                               {"choices", choices},
                               {"usage", p->usage()}}),
                    "application/json");
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  auto started = std::make_shared<bool>(false);
  res.set_chunked_content_provider(
      "text/event-stream",
      [p, apply, started](size_t, httplib::DataSink& sink) {
        std::string out;
        if (!*started) {
          *started = true;
          if (p->chat)
            for (size_t c = 0; c < p->choices; ++c) {
              json chunk = {
                  {"id", p->id},
                  {"object", "chat.completion.chunk"},
                  {"created", p->created},
                  {"model", p->req.model},
                  {"choices", json::array({{{"index", c},
                                            {"delta", {{"role", "assistant"}, {"content", ""}}},
                                            {"logprobs", nullptr},
                                            {"finish_reason", nullptr}}})}};
              if (p->req.include_usage) chunk["usage"] = nullptr;
              out += sse(chunk);
            }
        }
        std::string error;
        for (const auto& ev : take_events(*p->channel, std::chrono::milliseconds(100))) {
          apply(ev, &out);
          if (ev.done && !ev.error.empty()) error = ev.error;
        }
        bool all_done;
        {
          std::lock_guard<std::mutex> lock(p->channel->mu);
          all_done = p->channel->running == 0 && p->channel->events.empty();
        }
        if (!error.empty()) out += sse(error_body(ApiError(500, error, "", "server_error")));
        if (all_done) {
          if (p->req.include_usage)
            out += sse({{"id", p->id},
                        {"object", p->chat ? "chat.completion.chunk" : "text_completion"},
                        {"created", p->created},
                        {"model", p->req.model},
                        {"choices", json::array()},
                        {"usage", p->usage()}});
          out += "data: [DONE]\n\n";
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          p->cancel_all();  // the client has gone: free its sequences now
          return false;
        }
        if (all_done) sink.done();
        return true;
      },
      [p](bool success) {
        if (!success) p->cancel_all();
        p->close();
      });
}

}  // namespace wick::serve
