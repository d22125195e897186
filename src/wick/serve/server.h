#pragma once
// wick serve: an OpenAI-compatible HTTP server over one base model and any number of LoRA adapters,
// generating through the continuous-batching engine (one engine thread; HTTP handlers submit
// sequences and wait on their events). Endpoints: POST /v1/chat/completions, /v1/completions,
// /v1/embeddings; GET /v1/models, /health, /metrics.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wick/core/dtype.h"
#include "wick/generate/batch_engine.h"

namespace wick::serve {

struct ServeOptions {
  std::filesystem::path model_dir;
  /// (name, folder) of each PEFT adapter; a request's "model" picks one by name.
  std::vector<std::pair<std::string, std::filesystem::path>> adapters;
  std::optional<DType> dtype;     // compute dtype (empty: as stored)
  Device device = Device::cpu();  // where the model (and the embedder) runs
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port
  std::string api_key;              // empty: no authentication
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int64_t max_queue = 256;          // sequences queued or running; more get 429
  int64_t http_threads = 64;        // connections served at once
  double drain_seconds = 60;        // shutdown waits this long for running requests
  generate::BatchEngineOptions engine;
};

class Server {
 public:
  /// Loads the model folder (and its tokenizer, chat template, adapters); errors as the library's.
  explicit Server(ServeOptions options);
  ~Server();
  /// Binds and serves until shutdown() (IoError when the address cannot be bound); calls
  /// on_ready with the bound port first.
  void run(const std::function<void(int port)>& on_ready = {});
  /// Drains: new generation requests get 503, running ones finish (up to drain_seconds), then
  /// run() returns. Thread-safe, callable before run() returns from any thread.
  void shutdown();
  /// The served base model's name (the model folder's name).
  const std::string& model_name() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wick::serve
