#pragma once
// Embedder: texts -> sentence vectors. Tokenises (with the model's prompt/prefix), truncates at
// the model's maximum length, groups texts of similar length into padded batches under a token
// budget, runs the encoder, pools (cls | mean | max | last) over the real tokens only, optionally
// L2-normalises, and returns the vectors in input order. Padding never leaks into a result:
// batches are padded on the right, encoders mask padded keys in attention, decoders need no mask
// (causal attention never looks right), and pooling ignores padded positions, so a text's vector
// does not depend on which other texts share its batch. Pooling defaults to the folder's
// sentence-transformers Pooling module; without one, mean for encoders and last token for
// decoders (as Qwen3-Embedding), L2-normalised.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/embed/folder_config.h"
#include "wick/tokenizer/tokenizer.h"

namespace wick::embed {

/// Settings that override what the model folder says.
struct EmbedOptions {
  std::optional<Pooling> pooling;
  std::optional<bool> normalize;
  std::optional<std::string> prefix;  // replaces the folder's default prompt
  std::optional<int64_t> max_length;  // tokens, special tokens included
  int64_t batch_tokens = 1024;        // padded tokens per batch (at least one text per batch)
  Device device = Device::cpu();      // where the model runs (vectors come back on the CPU)
};

/// hidden [B, T, D], mask [B, T] (i32, 1 keep / 0 pad), mode -> pooled [B, D] f32 (padded positions
/// never contribute; mean divides by max(count, 1e-9); max sees -1e9 at padded positions; last
/// takes the last kept position), as sentence-transformers' Pooling does.
Tensor pool(const Tensor& hidden, const Tensor& mask, Pooling mode);
/// x [B, D] / max(||x||_2, 1e-12) per row (torch.nn.functional.normalize).
Tensor l2_normalize(const Tensor& x);

class Embedder {
 public:
  /// Encoder callback: ids [B, T] i64, attention mask [B, T] i32 -> hidden states [B, T, D].
  using Encoder = std::function<Tensor(const Tensor& ids, const Tensor& mask)>;

  /// Loads a model folder (BERT encoders; Llama/Mistral/Qwen2/Qwen3 decoders, also as bare bodies
  /// such as Qwen3Model); IoError / NotImplemented naming the file.
  static Embedder load(const std::filesystem::path& dir, const EmbedOptions& opts = {});

  /// Embeds texts -> [N, D] f32 (evaluated, on the CPU), row i for texts[i].
  Tensor encode(const std::vector<std::string>& texts) const;
  /// Embeds already tokenised texts (each at most max_length() ids) -> [N, D] f32, as encode().
  Tensor encode_ids(const std::vector<std::vector<int32_t>>& ids) const;
  /// Token ids each text is embedded from (prefix added, truncated): what encode() feeds the model.
  std::vector<std::vector<int32_t>> token_ids(const std::vector<std::string>& texts) const;

  int64_t dim() const { return dim_; }
  Pooling pooling() const { return pooling_; }
  bool normalize() const { return normalize_; }
  int64_t max_length() const { return max_length_; }
  const std::string& prefix() const { return prefix_; }
  int64_t batch_tokens() const { return batch_tokens_; }
  /// The device the model runs on.
  Device device() const { return device_; }
  /// One line naming every setting that changes the vectors (for cache keys).
  std::string settings_string() const;

 private:
  Encoder encoder_;
  std::shared_ptr<const void> keep_alive_;  // the model behind encoder_
  Tokenizer tokenizer_;
  int64_t dim_ = 0;
  Pooling pooling_ = Pooling::mean;
  bool normalize_ = true;
  bool include_prompt_ = true;
  bool do_lower_case_ = false;
  int64_t max_length_ = 0;
  int64_t batch_tokens_ = 8192;
  Device device_ = Device::cpu();
  std::string prefix_;
  std::string model_kind_;
};

}  // namespace wick::embed
