#pragma once
// BERT encoder matching transformers' BertModel (BERT, MiniLM, E5, BGE): word + absolute position
// + token-type embeddings and LayerNorm, then post-LayerNorm encoder layers (self-attention with an
// additive padding mask, exact-erf GELU MLP). The pooler, if stored, is ignored. Deviation: the
// forward pass always runs in f32 (bf16/f16 weights are widened when loaded).
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/io/hf_config.h"
#include "wick/io/safetensors.h"
#include "wick/nn/module.h"

namespace wick::models {

/// torch.nn.LayerNorm over the last axis: weight [D], bias [D].
class LayerNorm : public nn::Module {
 public:
  LayerNorm(int64_t dim, double eps);
  /// x [..., D] -> [..., D] in x's dtype.
  Tensor forward(const Tensor& x) const;
  Tensor weight;
  Tensor bias;

 private:
  double eps_;
};

/// A lookup table registered as "<name>.weight" [rows, dim].
class EmbeddingTable : public nn::Module {
 public:
  EmbeddingTable(int64_t rows, int64_t dim);
  /// ids [...] integer -> [..., dim].
  Tensor forward(const Tensor& ids) const;
  Tensor weight;
};

/// Word, position and token-type embeddings, summed, then LayerNorm ("embeddings.*").
class BertEmbeddings : public nn::Module {
 public:
  explicit BertEmbeddings(const io::BertConfig& c);
  /// ids, type_ids [B, T] integer -> [B, T, D] (positions 0..T-1).
  Tensor forward(const Tensor& ids, const Tensor& type_ids) const;

 private:
  EmbeddingTable word_embeddings_, position_embeddings_, token_type_embeddings_;
  LayerNorm norm_;
};

/// A linear layer followed by LayerNorm of (its output + residual) ("dense", "LayerNorm").
class BertDenseNorm : public nn::Module {
 public:
  BertDenseNorm(int64_t in, int64_t out, double eps);
  /// LayerNorm(dense(x) + residual): x [..., in], residual [..., out].
  Tensor forward(const Tensor& x, const Tensor& residual) const;

 private:
  mutable nn::Linear dense_;
  LayerNorm norm_;
};

/// Multi-head self-attention projections ("query", "key", "value").
class BertSelfAttention : public nn::Module {
 public:
  BertSelfAttention(int64_t dim, int64_t heads);
  /// x [B, T, D], additive mask [B, 1, 1, T] (0 / -inf) or none -> context [B, T, D].
  Tensor forward(const Tensor& x, const std::optional<Tensor>& mask) const;

 private:
  int64_t heads_;
  mutable nn::Linear query_, key_, value_;
};

/// One encoder layer ("attention.self", "attention.output", "intermediate", "output").
class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const io::BertConfig& c);
  /// x [B, T, D], additive mask [B, 1, 1, T] or none -> [B, T, D].
  Tensor forward(const Tensor& x, const std::optional<Tensor>& mask) const;

 private:
  struct Attention : nn::Module {
    Attention(int64_t dim, int64_t heads, double eps);
    BertSelfAttention self;
    BertDenseNorm output;
  };
  struct Intermediate : nn::Module {
    Intermediate(int64_t dim, int64_t inter);
    nn::Linear dense;
  };
  Attention attention_;
  mutable Intermediate intermediate_;
  BertDenseNorm output_;
};

/// The BERT encoder. Parameter paths are checkpoint keys without the optional "bert." prefix.
class BertModel : public nn::Module {
 public:
  explicit BertModel(io::BertConfig c);
  /// Reads config.json and the weights of a model folder (see load_weights).
  static std::unique_ptr<BertModel> load(const std::filesystem::path& dir);
  /// Fills every parameter from `ckpt` (keys with or without "bert."; stored f32/bf16/f16, kept
  /// as f32); IoError naming the file and a missing or wrongly shaped tensor.
  void load_weights(const io::Checkpoint& ckpt);
  /// ids [B, T] (i32/i64); type_ids [B, T] or invalid (all 0); attention_mask [B, T] (1 keep,
  /// 0 pad) or invalid (all kept) -> last hidden state [B, T, D] f32.
  Tensor forward(const Tensor& ids, const Tensor& type_ids, const Tensor& attention_mask) const;
  const io::BertConfig& config() const { return config_; }

 private:
  struct Encoder : nn::Module {
    Encoder(const io::BertConfig& c);
    struct LayerList : nn::Module {
      void add(const std::string& name, BertLayer* l) { register_module(name, l); }
    } layer;
    std::vector<std::unique_ptr<BertLayer>> layers;
  };
  io::BertConfig config_;
  BertEmbeddings embeddings_;
  Encoder encoder_;
};

}  // namespace wick::models
