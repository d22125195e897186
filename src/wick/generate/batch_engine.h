#pragma once
// Continuous (iteration-level) batching: sequences join and leave between steps; each step runs
// one forward over every active sequence (decode rows of one token, then prefill chunks of the
// prompts still being read, within a token budget, so a long prompt does not stall the streams
// already decoding). Keys and values live in a paged block pool with a prompt-prefix cache (see
// kv_pool.h). Each sequence has its own sampler settings, seed, stop conditions and adapter; the
// tokens and text equal generate()'s for the same settings (greedy: identical tokens).
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wick/generate/generator.h"
#include "wick/generate/kv_pool.h"
#include "wick/models/llama_batched.h"

namespace wick::generate {

struct BatchEngineOptions {
  int64_t block_size = 16;            // positions per KV block
  int64_t num_blocks = 4096;          // pool capacity in blocks
  int64_t max_batch = 32;             // sequences decoded together
  int64_t prefill_chunk = 256;        // prompt tokens per step (all prefill rows together)
  bool prefix_cache = true;           // reuse published blocks of equal prompt prefixes
  int64_t prefix_cache_blocks = 256;  // unreferenced blocks kept for reuse (LRU beyond)
};

/// One generated token as a sequence sees it.
struct TokenEvent {
  int32_t token = 0;
  std::string text;   // newly completed text (may be empty; never past a stop string)
  float logprob = 0;  // log-probability under the model (raw logits), when requested
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs alternatives, best first
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  GenerateOptions options;
  const models::LoraFactors* adapter = nullptr;  // must outlive the sequence
  int64_t adapter_id = -1;                       // distinguishes adapters in the prefix cache
  int64_t top_logprobs = -1;  // < 0: no logprobs; else logprob plus this many alternatives
  std::function<void(const TokenEvent&)> on_token;
  /// Called once with the result (finish reason, tokens, text), also after cancel() and on error
  /// (then `error` is set).
  std::function<void(const GenerateResult&, const std::string& error)> on_done;
};

struct EngineStats {
  int64_t waiting = 0, running = 0;
  int64_t blocks_in_use = 0, blocks_cached = 0, blocks_capacity = 0;
  int64_t prefix_hit_tokens = 0;  // prompt tokens read from the prefix cache (total)
  int64_t prompt_tokens = 0, generated_tokens = 0;  // totals
  int64_t steps = 0;
  int64_t last_batch = 0;  // rows of the last step
};

class BatchEngine {
 public:
  BatchEngine(models::CausalLM& model, const Tokenizer& tokenizer, BatchEngineOptions options = {});
  ~BatchEngine();
  /// Queues a sequence (thread-safe); returns its id. ValueError for an empty prompt, ids outside
  /// the vocabulary or a request that can never fit the pool.
  int64_t submit(SequenceRequest request);
  /// Stops a sequence (thread-safe): its blocks are freed at the next step and on_done is called
  /// with the tokens so far. Unknown ids are ignored.
  void cancel(int64_t id);
  /// Runs one step (admits waiting sequences, one forward, sampling, finishing); returns false
  /// when there was nothing to do. Callbacks run on the calling thread.
  bool step();
  /// Steps until every submitted sequence has finished.
  void run_until_idle();
  /// True when nothing is queued or running.
  bool idle() const;
  EngineStats stats() const;
  const BatchEngineOptions& options() const { return opt_; }

 private:
  struct Seq;
  void admit();
  void finish(Seq& s, FinishReason why, const std::string& error = {});
  void refresh_stats();  // the stats_ snapshot of pool and batch (caller holds mu_)
  models::CausalLM& model_;
  const Tokenizer& tok_;
  BatchEngineOptions opt_;
  KVBlockPool pool_;
  mutable std::mutex mu_;  // guards inbox_, cancels_, stats_ snapshot
  std::deque<std::unique_ptr<Seq>> inbox_;
  std::vector<int64_t> cancels_;
  std::deque<std::unique_ptr<Seq>> waiting_;
  std::vector<std::unique_ptr<Seq>> running_;
  int64_t next_id_ = 1;
  int64_t reserved_ = 0;  // blocks promised to running sequences but not yet allocated
  EngineStats stats_;
};

/// Convenience: generates every prompt with one engine (all submitted at once) and returns the
/// results in order.
std::vector<GenerateResult> generate_batch(models::CausalLM& model, const Tokenizer& tokenizer,
                                           const std::vector<std::vector<int32_t>>& prompts,
                                           const std::vector<GenerateOptions>& options,
                                           BatchEngineOptions engine = {});

}  // namespace wick::generate
