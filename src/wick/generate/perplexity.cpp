// Windowed perplexity (see perplexity.h).
#include "wick/generate/perplexity.h"

#include <cmath>

#include "wick/ops.h"

namespace wick::generate {

PerplexityResult perplexity(models::CausalLM& model, std::span<const int32_t> ids,
                            int64_t context) {
  if (context < 2) fail<ValueError>("perplexity", "context must be >= 2, got {}", context);
  const int64_t n = int64_t(ids.size());
  double total = 0;
  int64_t scored = 0;
  const Device device = nn::module_device(model);
  for (int64_t start = 0; start < n; start += context) {
    const int64_t len = std::min(context, n - start);
    if (len < 2) break;  // a one-token tail has nothing to score
    std::vector<int64_t> w(ids.begin() + start, ids.begin() + start + len);
    Tensor x = from_vector<int64_t>(w, {1, len}).to(device);
    Tensor logits = model.forward(x);  // [1, len, V]
    const int64_t V = logits.shape(-1);
    Tensor pred = astype(reshape(slice(logits, 1, 0, len - 1), {len - 1, V}), DType::f32);
    std::vector<int64_t> tgt(w.begin() + 1, w.end());
    Tensor nll =
        cross_entropy(pred, from_vector<int64_t>(tgt, {len - 1}).to(device), -100, Reduction::none);
    for (float v : nll.to_vector<float>()) total += double(v);
    scored += len - 1;
  }
  if (scored == 0)
    fail<ValueError>("perplexity", "need at least 2 tokens in a window; got {} tokens", n);
  PerplexityResult r;
  r.tokens = scored;
  r.nll = total / double(scored);
  r.ppl = std::exp(r.nll);
  return r;
}

}  // namespace wick::generate
