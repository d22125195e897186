#include "wick/train/evaluate.h"

#include <cmath>

#include "wick/ops.h"
#include "wick/ops/linear_cross_entropy.h"

namespace wick::train {

double EvalResult::perplexity() const { return std::exp(loss); }

double batch_loss(CausalLM& model, const Batch& host_batch) {
  const Batch b = batch_to(host_batch, nn::module_device(model.module()));
  Tensor h = model.hidden_states(b.ids, b.positions, b.mask);
  const int64_t D = h.shape(-1);
  Tensor loss = linear_cross_entropy(reshape(h, {-1, D}), model.lm_head_weight(), b.targets, -100,
                                     Reduction::sum);
  return loss.item<double>() / double(std::max<int64_t>(1, b.n_targets));
}

EvalResult evaluate_loss(CausalLM& model, const std::vector<Sample>& data, const EvalOptions& o) {
  if (o.batch_size < 1) fail<ValueError>("eval", "batch size must be >= 1, got {}", o.batch_size);
  double total = 0;
  EvalResult r;
  const size_t bs = size_t(o.batch_size);
  for (size_t i = 0; i < data.size(); i += bs) {
    if (o.max_batches > 0 && r.batches >= o.max_batches) break;
    std::vector<const Sample*> s;
    for (size_t k = i; k < std::min(data.size(), i + bs); ++k) s.push_back(&data[k]);
    const Batch b =
        o.pack ? pack_batch(s, int64_t(o.max_seq_len), o.pad_id) : pad_batch(s, o.pad_id);
    if (b.n_targets == 0) continue;
    total += batch_loss(model, b) * double(b.n_targets);
    r.targets += b.n_targets;
    r.tokens += b.n_tokens;
    ++r.batches;
  }
  r.loss = r.targets ? total / double(r.targets) : std::nan("");
  return r;
}

}  // namespace wick::train
