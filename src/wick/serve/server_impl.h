#pragma once
// Internals shared by server.cpp (wiring, models, embeddings, metrics) and completions.cpp (chat
// and text completions).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "wick/embed/embedder.h"
#include "wick/models/llama_batched.h"
#include "wick/serve/metrics.h"
#include "wick/serve/openai_request.h"
#include "wick/serve/server.h"
#include "wick/tokenizer/chat_template.h"

namespace wick::serve {

/// Events of one request's sequences (n choices per prompt), filled by the engine thread.
struct RequestChannel {
  struct Event {
    size_t choice = 0;
    bool done = false;
    generate::TokenEvent token;
    generate::GenerateResult result;
    std::string error;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
  std::vector<int64_t> seq_ids;
  size_t running = 0;
};

struct Server::Impl {
  ServeOptions opt;
  std::string name;
  std::unique_ptr<models::CausalLM> model;
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::string chat_template_error;
  std::vector<int64_t> eos_ids;
  std::map<std::string, std::pair<int64_t, models::LoraFactors>> adapters;  // name -> (id, factors)
  std::unique_ptr<generate::BatchEngine> engine;
  std::mutex embed_mu;
  // Held by the engine step and the embedding forward: tensor evaluations never overlap.
  std::mutex compute_mu;
  std::optional<embed::Embedder> embedder;
  Metrics metrics;
  httplib::Server http;
  std::thread engine_thread;
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  std::atomic<bool> stop_engine{false}, draining{false};
  std::atomic<int64_t> in_flight{0};       // generation requests being answered
  std::atomic<int64_t> live_sequences{0};  // sequences submitted and not finished
  std::atomic<uint64_t> request_counter{0};
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  void wake() {
    std::lock_guard<std::mutex> lock(wake_mu);
    wake_cv.notify_all();
  }
  /// The adapter of a request's model name: null for the base model; ApiError 404 when unknown.
  const std::pair<int64_t, models::LoraFactors>* resolve_model(const std::string& model) const;
  /// POST /v1/chat/completions (chat) or /v1/completions.
  void handle_generation(const httplib::Request& req, httplib::Response& res, bool chat);
};

/// Sets an OpenAI error object as the response.
void set_error(httplib::Response& res, const ApiError& e);
/// JSON text safe for invalid UTF-8 (replaced).
std::string dump_json(const nlohmann::json& j);

}  // namespace wick::serve
