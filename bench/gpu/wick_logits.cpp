// Logits of a model folder (optionally with a PEFT adapter applied unmerged) for given token ids,
// computed on a device and written as an f32 .npy [T, V]: the wick side of
// bench/gpu/formats_check.py (PEFT and transformers load what `wick train` and `wick merge` wrote;
// logits compared there).
//   wick_logits MODEL_DIR DEVICE OUT.npy [--adapter DIR] ID [ID ...]
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "wick/embed/npy.h"
#include "wick/lora/lora.h"
#include "wick/models/causal_lm.h"
#include "wick/ops.h"

using namespace wick;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: wick_logits MODEL_DIR DEVICE OUT.npy [--adapter DIR] ID...\n");
    return 2;
  }
  try {
    const std::string dir = argv[1], out = argv[3];
    const Device dev = parse_device(argv[2]);
    int i = 4;
    std::string adapter;
    if (std::string(argv[i]) == "--adapter" && i + 1 < argc) {
      adapter = argv[i + 1];
      i += 2;
    }
    std::vector<int64_t> ids;
    for (; i < argc; ++i) ids.push_back(std::stoll(argv[i]));
    if (ids.empty()) throw ValueError("[wick_logits] no token ids given");
    auto m = models::load_causal_lm(dir);
    if (!adapter.empty()) {
      lora::load_adapter(*m, adapter);
      lora::set_training(*m, false);
    }
    m->to(dev);
    const int64_t T = int64_t(ids.size());
    Tensor logits = m->forward(from_vector(ids, {1, T}).to(dev), nullptr, models::LogitsFor::all);
    Tensor host = astype(reshape(logits, {T, -1}), DType::f32).to(Device::cpu()).eval();
    std::ofstream f(out, std::ios::binary);
    const std::string bytes = embed::npy_bytes(host);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    if (!f) throw ValueError("[wick_logits] cannot write " + out);
    std::printf("wrote %s [%lld, %lld] on %s\n", out.c_str(), (long long)T,
                (long long)host.shape(1), device_name(dev).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wick_logits: %s\n", e.what());
    return 1;
  }
}
