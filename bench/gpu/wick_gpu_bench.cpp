// The CUDA benchmarks of wick (run by bench/gpu/run.sh next to bench/gpu/torch_ref.py on the same
// card): prefill, greedy decoding at batch 1, and a LoRA training step (forward, backward through
// linear + cross-entropy, AdamW) of a model folder, on a device. Prints one JSON line per
// workload; every timing synchronises the device before reading the clock.
//   wick_gpu_bench MODEL_DIR [cuda|cpu] [prefill_T] [decode_tokens] [train_B] [train_T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "wick/backend/cuda/cuda_backend.h"
#include "wick/core/autograd.h"
#include "wick/core/backend.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"
#include "wick/ops/linear_cross_entropy.h"
#include "wick/optim/optimizer.h"
#include "wick/train/model_bridge.h"

using namespace wick;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sync(Device d) { backend_for(d.type).synchronize(d.index); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Tensor random_ids(int64_t b, int64_t t, int64_t vocab, uint64_t seed, Device d) {
  std::vector<int64_t> v(size_t(b * t));
  uint64_t x = seed;
  for (auto& e : v) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    e = int64_t((x >> 33) % uint64_t(vocab));
  }
  return from_vector(v, {b, t}).to(d).eval();
}

size_t peak_bytes(Device d) { return allocator_for(d).stats().peak; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: wick_gpu_bench MODEL_DIR [device] [T] [tokens] [B] [Ttrain]\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const Device dev = parse_device(argc > 2 ? argv[2] : "cuda");
    const int64_t T = argc > 3 ? std::stoll(argv[3]) : 512;
    const int64_t new_tokens = argc > 4 ? std::stoll(argv[4]) : 128;
    const int64_t TB = argc > 5 ? std::stoll(argv[5]) : 8;
    const int64_t TT = argc > 6 ? std::stoll(argv[6]) : 512;
    auto m = models::load_causal_lm(dir);
    m->to(dev);
    const int64_t V = m->config().vocab_size;
    const char* dt = dtype_name(m->compute_dtype());

    // Prefill: logits of the last position for a T-token prompt.
    {
      Tensor ids = random_ids(1, T, V, 1, dev);
      std::vector<double> ts;
      for (int r = 0; r < 6; ++r) {
        models::KVCache cache = m->make_cache(1, T);
        sync(dev);
        const double t0 = now_s();
        m->forward(ids, &cache, models::LogitsFor::last).eval();
        sync(dev);
        if (r) ts.push_back(now_s() - t0);
      }
      std::printf(
          "{\"workload\":\"prefill\",\"T\":%lld,\"dtype\":\"%s\",\"ms\":%.3f,"
          "\"tokens_per_s\":%.1f}\n",
          (long long)T, dt, median(ts) * 1e3, double(T) / median(ts));
    }
    // Greedy decoding at batch 1: a 16-token prompt then `new_tokens` steps (one id to the host
    // per step).
    {
      std::vector<double> ts;
      for (int r = 0; r < 3; ++r) {
        models::KVCache cache = m->make_cache(1, 16 + new_tokens + 1);
        Tensor logits = m->forward(random_ids(1, 16, V, 2, dev), &cache, models::LogitsFor::last);
        int64_t next = argmax(reshape(logits, {-1}), 0).item<int64_t>();
        sync(dev);
        const double t0 = now_s();
        for (int64_t i = 0; i < new_tokens; ++i) {
          Tensor in = from_vector<int64_t>({next}, {1, 1}).to(dev);
          logits = m->forward(in, &cache, models::LogitsFor::last);
          next = argmax(reshape(logits, {-1}), 0).item<int64_t>();
        }
        sync(dev);
        ts.push_back(now_s() - t0);
      }
      std::printf(
          "{\"workload\":\"decode\",\"tokens\":%lld,\"dtype\":\"%s\",\"ms\":%.3f,"
          "\"tokens_per_s\":%.1f}\n",
          (long long)new_tokens, dt, median(ts) * 1e3, double(new_tokens) / median(ts));
    }
    // LoRA training step: r 16 on all 7 projections, loss through chunked linear + cross-entropy,
    // AdamW on the adapters.
    if (TB > 0) {
      auto mt = models::load_causal_lm(dir);
      lora::LoraConfig c;
      c.r = 16;
      c.lora_alpha = 32;
      c.target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                          "gate_proj", "up_proj", "down_proj"};
      lora::apply_lora(*mt, c);
      mt->to(dev);
      train::ModelBridge bridge(*mt);
      auto params = mt->trainable_parameters();
      std::vector<Tensor*> ps;
      std::vector<Tensor> pv;
      for (auto& p : params) {
        ps.push_back(p.tensor);
        pv.push_back(*p.tensor);
      }
      optim::AdamW opt(0.0);
      Tensor ids = random_ids(TB, TT, V, 3, dev);
      Tensor targets = reshape(random_ids(TB, TT, V, 4, dev), {TB * TT});
      std::vector<int64_t> pos(size_t(TB * TT));
      for (int64_t i = 0; i < TB * TT; ++i) pos[size_t(i)] = i % TT;
      Tensor positions = from_vector(pos, {TB, TT}).to(dev).eval();
      allocator_for(dev).reset_peak();
      std::vector<double> ts;
      double loss_v = 0;
      for (int r = 0; r < 6; ++r) {
        sync(dev);
        const double t0 = now_s();
        for (size_t i = 0; i < ps.size(); ++i) pv[i] = *ps[i];
        auto [loss, grads] = value_and_grad(
            [&](const std::vector<Tensor>&) {
              Tensor h = bridge.hidden_states(ids, positions, std::nullopt);
              return linear_cross_entropy(reshape(h, {TB * TT, h.shape(-1)}),
                                          bridge.lm_head_weight(), targets);
            },
            pv);
        opt.step(ps, grads, 1e-4);
        std::vector<Tensor> all = grads;
        all.push_back(loss);
        for (auto* p : ps) all.push_back(*p);
        eval(all);
        loss_v = loss.item<double>();
        sync(dev);
        if (r) ts.push_back(now_s() - t0);
      }
      std::printf(
          "{\"workload\":\"lora_train\",\"batch\":%lld,\"T\":%lld,\"dtype\":\"%s\","
          "\"ms\":%.3f,\"tokens_per_s\":%.1f,\"peak_gib\":%.3f,\"loss\":%.4f}\n",
          (long long)TB, (long long)TT, dt, median(ts) * 1e3, double(TB * TT) / median(ts),
          double(peak_bytes(dev)) / double(1 << 30), loss_v);
    }
    std::printf("{\"host_fallbacks\":%lld,\"report\":\"%s\"}\n", (long long)cuda::host_fallbacks(),
                cuda::host_fallback_report().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wick_gpu_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
