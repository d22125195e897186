#pragma once
// Validation loss as the trainer computes it: the examples in order, in micro-batches of
// `batch_size` (padded, or packed into rows of max_seq_len), mean cross-entropy over every
// scored target of the set. Shared by Trainer::evaluate and `wick eval`.
#include <cstdint>
#include <vector>

#include "wick/train/dataset.h"
#include "wick/train/trainer.h"

namespace wick::train {

struct EvalOptions {
  int64_t batch_size = 1;
  bool pack = false;
  size_t max_seq_len = 2048;  // the packed row length
  int32_t pad_id = 0;
  int64_t max_batches = 0;  // 0: every batch
};

struct EvalResult {
  double loss = 0;      // mean nll per scored target (nan when nothing is scored)
  int64_t targets = 0;  // scored targets
  int64_t tokens = 0;   // input tokens run through the model
  int64_t batches = 0;  // batches evaluated
  double perplexity() const;
};

/// Sum of the cross-entropy of one batch's scored targets divided by their count.
double batch_loss(CausalLM& model, const Batch& b);
/// Mean loss over `data`; does not change the model's training mode (callers switch dropout off).
EvalResult evaluate_loss(CausalLM& model, const std::vector<Sample>& data, const EvalOptions& o);

}  // namespace wick::train
