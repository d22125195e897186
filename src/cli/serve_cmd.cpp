// wick serve: the OpenAI-compatible server (see wick/serve/server.h). SIGTERM and SIGINT drain:
// new requests get 503, running ones finish, then the process exits 0.
#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "wick/core/errors.h"
#include "wick/serve/server.h"

namespace wick::cli {

void register_serve(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  struct Args {
    std::string model, host = "127.0.0.1", api_key, dtype;
    std::vector<std::string> adapters;
    int port = 8080;
    int64_t max_batch = 32, block_size = 16, kv_blocks = 4096, prefill_chunk = 256;
    int64_t max_queue = 256, max_body = 1 << 20;
    bool no_prefix_cache = false;
    int64_t prefix_cache_blocks = 256;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Model folder (config.json, safetensors, tokenizer.json)")
      ->required();
  sub->add_option("--adapter", a->adapters,
                  "NAME=DIR: a PEFT LoRA adapter served as model NAME (repeatable)");
  sub->add_option("--host", a->host, "Address to bind")->capture_default_str();
  sub->add_option("--port", a->port, "Port to listen on (0: any free port)")->capture_default_str();
  sub->add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' on every request");
  sub->add_option("--dtype", a->dtype, "Compute dtype: f32, bf16 or f16 (default: as stored)");
  sub->add_option("--max-batch", a->max_batch, "Sequences decoded together")->capture_default_str();
  sub->add_option("--block-size", a->block_size, "Positions per KV block")->capture_default_str();
  sub->add_option("--kv-blocks", a->kv_blocks, "KV blocks in the pool")->capture_default_str();
  sub->add_option("--prefill-chunk", a->prefill_chunk, "Prompt tokens read per step")
      ->capture_default_str();
  sub->add_option("--max-queue", a->max_queue,
                  "Sequences queued or running before requests get 429")
      ->capture_default_str();
  sub->add_option("--max-body", a->max_body, "Largest request body in bytes")
      ->capture_default_str();
  sub->add_flag("--no-prefix-cache", a->no_prefix_cache,
                "Recompute shared prompt prefixes instead of reusing their KV blocks");
  sub->add_option("--prefix-cache-blocks", a->prefix_cache_blocks,
                  "Unused KV blocks kept for prefix reuse (least recently used beyond)")
      ->capture_default_str();
  add_runner(sub, [a] {
    serve::ServeOptions o;
    o.model_dir = a->model;
    for (const auto& spec : a->adapters) {
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        fail<ValueError>("serve", "--adapter '{}' must be NAME=DIR", spec);
      o.adapters.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    }
    o.dtype = parse_compute_dtype(a->dtype);
    o.device = selected_device();
    o.host = a->host;
    o.port = a->port;
    o.api_key = a->api_key;
    o.max_queue = a->max_queue;
    o.max_body_bytes = size_t(a->max_body);
    o.engine.max_batch = a->max_batch;
    o.engine.block_size = a->block_size;
    o.engine.num_blocks = a->kv_blocks;
    o.engine.prefill_chunk = a->prefill_chunk;
    o.engine.prefix_cache = !a->no_prefix_cache;
    o.engine.prefix_cache_blocks = a->prefix_cache_blocks;
    // Signals are taken by one thread (sigwait) that starts the drain; every other thread blocks
    // them, so none is interrupted inside a handler.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    serve::Server server(o);
    std::thread waiter([&server, set] {
      int sig = 0;
      sigwait(&set, &sig);
      if (sig == SIGTERM || sig == SIGINT) server.shutdown();
    });
    server.run([&](int port) {
      std::fprintf(stderr, "wick serve: %s on http://%s:%d (adapters: %zu)\n",
                   server.model_name().c_str(), a->host.c_str(), port, o.adapters.size());
    });
    std::fprintf(stderr, "wick serve: drained, exiting\n");
    // The waiter may still sit in sigwait (run ended without a signal): wake it.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  });
}

}  // namespace wick::cli
