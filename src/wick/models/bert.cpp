// BERT encoder. Reference: transformers.models.bert.modeling_bert (BertModel, eager attention).
// Deviations: the additive padding mask uses -inf instead of finfo.min (identical results for
// any query that sees at least one key, which [CLS] guarantees); compute is always f32.
#include "wick/models/bert.h"

#include <cmath>
#include <string>

#include "wick/ops.h"

namespace wick::models {

namespace {
constexpr const char* kBertOp = "bert";

// True when every entry of an integer mask is non-zero (evaluates it).
bool all_kept(const Tensor& mask) {
  for (int64_t v : mask.to_vector<int64_t>())
    if (v == 0) return false;
  return true;
}
}  // namespace

LayerNorm::LayerNorm(int64_t dim, double eps) : eps_(eps) {
  register_parameter("weight", &weight, {dim});
  register_parameter("bias", &bias, {dim});
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps_); }

EmbeddingTable::EmbeddingTable(int64_t rows, int64_t dim) {
  register_parameter("weight", &weight, {rows, dim});
}

Tensor EmbeddingTable::forward(const Tensor& ids) const { return embedding(weight, ids); }

BertEmbeddings::BertEmbeddings(const io::BertConfig& c)
    : word_embeddings_(c.vocab_size, c.hidden_size),
      position_embeddings_(c.max_position_embeddings, c.hidden_size),
      token_type_embeddings_(std::max<int64_t>(c.type_vocab_size, 1), c.hidden_size),
      norm_(c.hidden_size, c.layer_norm_eps) {
  register_module("word_embeddings", &word_embeddings_);
  register_module("position_embeddings", &position_embeddings_);
  if (c.type_vocab_size > 0) register_module("token_type_embeddings", &token_type_embeddings_);
  register_module("LayerNorm", &norm_);
}

Tensor BertEmbeddings::forward(const Tensor& ids, const Tensor& type_ids) const {
  const int64_t T = ids.shape(1);
  if (T > position_embeddings_.weight.shape(0))
    fail<ValueError>(kBertOp, "sequence of {} tokens exceeds max_position_embeddings {}", T,
                     position_embeddings_.weight.shape(0));
  Tensor x = word_embeddings_.forward(ids);
  if (token_type_embeddings_.weight.valid()) {
    x = x + (type_ids.valid() ? token_type_embeddings_.forward(type_ids)
                              : slice(token_type_embeddings_.weight, 0, 0, 1));
  }
  x = x + slice(position_embeddings_.weight, 0, 0, T);
  return norm_.forward(x);
}

BertDenseNorm::BertDenseNorm(int64_t in, int64_t out, double eps)
    : dense_(in, out, true), norm_(out, eps) {
  register_module("dense", &dense_);
  register_module("LayerNorm", &norm_);
}

Tensor BertDenseNorm::forward(const Tensor& x, const Tensor& residual) const {
  return norm_.forward(dense_.forward(x) + residual);
}

BertSelfAttention::BertSelfAttention(int64_t dim, int64_t heads)
    : heads_(heads), query_(dim, dim, true), key_(dim, dim, true), value_(dim, dim, true) {
  register_module("query", &query_);
  register_module("key", &key_);
  register_module("value", &value_);
}

Tensor BertSelfAttention::forward(const Tensor& x, const std::optional<Tensor>& mask) const {
  const int64_t B = x.shape(0), T = x.shape(1), D = x.shape(2), H = heads_, Dh = D / H;
  // [B, T, D] -> [B, H, T, Dh] as strided views (BLAS reads them without copies). The softmax
  // scale goes on q ([B, T, D]) rather than on the H/Dh-times larger scores.
  auto heads = [&](const Tensor& t) { return transpose(reshape(t, {B, T, H, Dh}), 1, 2); };
  Tensor q = heads(query_.forward(x) * (1.0 / std::sqrt(double(Dh))));
  Tensor scores = matmul(q, mT(heads(key_.forward(x))));  // [B, H, T, T]
  if (mask) scores = scores + *mask;
  Tensor ctx = matmul(softmax(scores, -1), heads(value_.forward(x)));
  return reshape(contiguous(transpose(ctx, 1, 2)), {B, T, D});
}

BertLayer::Attention::Attention(int64_t dim, int64_t heads, double eps)
    : self(dim, heads), output(dim, dim, eps) {
  register_module("self", &self);
  register_module("output", &output);
}

BertLayer::Intermediate::Intermediate(int64_t dim, int64_t inter) : dense(dim, inter, true) {
  register_module("dense", &dense);
}

BertLayer::BertLayer(const io::BertConfig& c)
    : attention_(c.hidden_size, c.num_attention_heads, c.layer_norm_eps),
      intermediate_(c.hidden_size, c.intermediate_size),
      output_(c.intermediate_size, c.hidden_size, c.layer_norm_eps) {
  register_module("attention", &attention_);
  register_module("intermediate", &intermediate_);
  register_module("output", &output_);
}

Tensor BertLayer::forward(const Tensor& x, const std::optional<Tensor>& mask) const {
  Tensor a = attention_.output.forward(attention_.self.forward(x, mask), x);
  Tensor h = gelu(intermediate_.dense.forward(a));
  return output_.forward(h, a);
}

BertModel::Encoder::Encoder(const io::BertConfig& c) {
  register_module("layer", &layer);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers.push_back(std::make_unique<BertLayer>(c));
    layer.add(std::to_string(i), layers.back().get());
  }
}

BertModel::BertModel(io::BertConfig c)
    : config_(std::move(c)), embeddings_(config_), encoder_(config_) {
  register_module("embeddings", &embeddings_);
  register_module("encoder", &encoder_);
}

std::unique_ptr<BertModel> BertModel::load(const std::filesystem::path& dir) {
  auto model = std::make_unique<BertModel>(io::load_bert_config(dir));
  model->load_weights(io::load_checkpoint(dir));
  return model;
}

void BertModel::load_weights(const io::Checkpoint& ckpt) {
  const std::string prefix = ckpt.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const std::string file = ckpt.source().string();
  // Check every slot first so that the error names the file and the full key.
  for (const auto& p : parameters()) {
    const std::string key = prefix + p.path;
    if (!ckpt.contains(key)) fail<IoError>(kBertOp, "{}: missing tensor '{}'", file, key);
    const auto& info = ckpt.info(key);
    if (info.shape != p.shape)
      fail<IoError>(kBertOp, "{}: tensor '{}' has shape {}; expected {}", file, key,
                    shape_str(info.shape), shape_str(p.shape));
    if (info.dtype != "F32" && info.dtype != "BF16" && info.dtype != "F16")
      fail<IoError>(kBertOp, "{}: tensor '{}' has dtype {}; expected F32, BF16 or F16", file, key,
                    info.dtype);
  }
  nn::load_parameters(*this, [&](const std::string& path) {
    return contiguous(ckpt.tensor(prefix + path, DType::f32)).eval();
  });
}

Tensor BertModel::forward(const Tensor& ids, const Tensor& type_ids,
                          const Tensor& attention_mask) const {
  if (ids.ndim() != 2)
    fail<ShapeError>(kBertOp, "ids must be [B, T], got {}", shape_str(ids.shape()));
  for (const Tensor* t : {&type_ids, &attention_mask})
    if (t->valid() && t->shape() != ids.shape())
      fail<ShapeError>(kBertOp, "type ids / attention mask {} must match ids {}",
                       shape_str(t->shape()), shape_str(ids.shape()));
  Tensor x = embeddings_.forward(ids, type_ids);
  // No mask at all when nothing is padded (a batch of equal lengths): one pass less per layer.
  std::optional<Tensor> mask;
  if (attention_mask.valid() && !all_kept(attention_mask)) mask = padding_mask(attention_mask);
  for (const auto& layer : encoder_.layers) x = layer->forward(x, mask);
  return x;
}

}  // namespace wick::models
