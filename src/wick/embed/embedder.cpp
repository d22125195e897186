#include "wick/embed/embedder.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "wick/embed/decoder.h"
#include "wick/io/hf_config.h"
#include "wick/models/bert.h"
#include "wick/ops.h"
#include "wick/tokenizer/unicode.h"

namespace wick::embed {

namespace {

constexpr const char* kEmbedOp = "embed";

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : tok::to_u32(tok::utf8_lossy(s))) tok::append_lowercase(out, c);
  return out;
}

}  // namespace

Tensor pool(const Tensor& hidden, const Tensor& mask, Pooling mode) {
  if (hidden.ndim() != 3 || !is_floating(hidden.dtype()))
    fail<ShapeError>("pool", "hidden must be float [B, T, D], got {} {}",
                     dtype_name(hidden.dtype()), shape_str(hidden.shape()));
  if (mask.ndim() != 2 || mask.shape(0) != hidden.shape(0) || mask.shape(1) != hidden.shape(1))
    fail<ShapeError>("pool", "mask {} does not match hidden {}; expected [B, T]",
                     shape_str(mask.shape()), shape_str(hidden.shape()));
  const int64_t T = hidden.shape(1);
  const DType dt = hidden.dtype();
  // Padded positions are replaced (never multiplied by 0), so even a non-finite padded row
  // cannot reach the result.
  const Device dev = hidden.device();
  Tensor keep = not_equal(mask, scalar(0, mask.dtype(), dev));
  Tensor keep3 = unsqueeze(keep, 2);
  switch (mode) {
    case Pooling::cls:
      return squeeze(slice(hidden, 1, 0, 1), 1);
    case Pooling::mean: {
      Tensor s = sum(where(keep3, hidden, scalar(0, dt, dev)), {1});
      Tensor n = sum(astype(keep, dt), {1}, true);
      return s / maximum(n, scalar(1e-9, dt, dev));
    }
    case Pooling::max:
      return max(where(keep3, hidden, scalar(-1e9, dt, dev)), {1});
    case Pooling::last: {
      // Last kept position: argmax of (t + 1) * keep (works for left and right padding).
      Tensor pos = reshape(arange(1.0, double(T) + 1, 1, DType::i64, dev), {1, T});
      Tensor last = argmax(where(keep, pos, scalar(0, DType::i64, dev)), 1, true);  // [B, 1]
      Tensor one = unsqueeze(equal(pos, last + scalar(1, DType::i64, dev)), 2);
      return sum(where(one, hidden, scalar(0, dt, dev)), {1});
    }
  }
  fail<ValueError>("pool", "bad pooling mode");
}

Tensor l2_normalize(const Tensor& x) {
  Tensor n = sqrt(sum(square(x), {-1}, true));
  return x / maximum(n, scalar(1e-12, x.dtype(), x.device()));
}

Embedder Embedder::load(const std::filesystem::path& dir, const EmbedOptions& opts) {
  const FolderConfig fc = read_folder_config(dir);
  Embedder e;
  const auto config_file = fc.transformer_dir / "config.json";
  const auto config = io::read_json_file(config_file);
  const std::string type = io::config_model_type(config);
  int64_t max_positions = 0;
  Pooling default_pooling = fc.pooling;
  if (type == "bert") {
    auto cfg = io::parse_bert_config(config, config_file.string());
    auto model = std::make_shared<models::BertModel>(cfg);
    model->load_weights(io::load_checkpoint(fc.transformer_dir));
    model->to(opts.device);
    e.dim_ = cfg.hidden_size;
    max_positions = cfg.max_position_embeddings;
    const models::BertModel* m = model.get();
    e.encoder_ = [m](const Tensor& ids, const Tensor& mask) { return m->forward(ids, {}, mask); };
    e.keep_alive_ = model;
    e.model_kind_ = "bert";
  } else if (is_decoder_model_type(type)) {
    std::shared_ptr<models::CausalLM> model = load_decoder_encoder(fc.transformer_dir);
    model->to(opts.device);
    e.dim_ = model->config().hidden_size;
    max_positions = model->config().max_position_embeddings;
    models::CausalLM* m = model.get();
    // No mask needed: encode() pads on the right and attention is causal, so a real token never
    // attends to padding (see decoder_hidden_states).
    e.encoder_ = [m](const Tensor& ids, const Tensor&) { return decoder_hidden_states(*m, ids); };
    e.keep_alive_ = model;
    e.model_kind_ = type;
    // A plain decoder folder embeds as Qwen3-Embedding does: last token, L2-normalised.
    if (!fc.sentence_transformers) default_pooling = Pooling::last;
  } else {
    fail<NotImplemented>(kEmbedOp,
                         "{}: model_type '{}' is not supported as an embedder (supported: bert, "
                         "llama, mistral, qwen2, qwen3)",
                         config_file.string(), type);
  }
  e.tokenizer_ = Tokenizer::from_file(fc.transformer_dir.string());
  e.pooling_ = opts.pooling.value_or(default_pooling);
  e.normalize_ = opts.normalize.value_or(fc.normalize);
  e.include_prompt_ = fc.include_prompt;
  e.do_lower_case_ = fc.do_lower_case;
  if (opts.prefix) {
    e.prefix_ = *opts.prefix;
  } else if (!fc.default_prompt_name.empty()) {
    e.prefix_ = fc.prompts.at(fc.default_prompt_name);
  }
  // sentence-transformers: max_seq_length, else min(max positions, tokenizer model_max_length).
  e.max_length_ = max_positions;
  if (opts.max_length) {
    if (*opts.max_length < 2 || *opts.max_length > max_positions)
      fail<ValueError>(kEmbedOp,
                       "max length {} out of range; expected 2..{} (max_position_embeddings)",
                       *opts.max_length, max_positions);
    e.max_length_ = *opts.max_length;
  } else if (fc.max_seq_length) {
    e.max_length_ = std::min(*fc.max_seq_length, max_positions);
  } else if (fc.model_max_length) {
    e.max_length_ = std::min(*fc.model_max_length, max_positions);
  }
  if (opts.batch_tokens < 1)
    fail<ValueError>(kEmbedOp, "batch tokens must be positive, got {}", opts.batch_tokens);
  e.batch_tokens_ = opts.batch_tokens;
  e.device_ = opts.device;
  e.tokenizer_.set_truncation({size_t(e.max_length_), false});
  e.tokenizer_.no_padding();
  return e;
}

std::vector<std::vector<int32_t>> Embedder::token_ids(const std::vector<std::string>& texts) const {
  std::vector<std::string> full;
  full.reserve(texts.size());
  for (const auto& t : texts) {
    std::string s = prefix_ + t;
    full.push_back(do_lower_case_ ? lowercase(s) : std::move(s));
  }
  return tokenizer_.encode_batch(full);
}

Tensor Embedder::encode(const std::vector<std::string>& texts) const {
  return encode_ids(token_ids(texts));
}

Tensor Embedder::encode_ids(const std::vector<std::vector<int32_t>>& ids) const {
  const int64_t N = int64_t(ids.size());
  std::vector<float> out(static_cast<size_t>(N * dim_));
  if (N == 0) return from_vector(out, {0, dim_});
  for (const auto& row : ids)
    if (int64_t(row.size()) > max_length_)
      fail<ValueError>(kEmbedOp, "a text has {} tokens; expected at most {} (max length)",
                       row.size(), max_length_);
  // Prompt tokens excluded from pooling (include_prompt false): as sentence-transformers, the
  // prompt's own token count minus its trailing special token.
  int64_t prompt_len = 0;
  if (!include_prompt_ && !prefix_.empty())
    prompt_len = std::max<int64_t>(
        0, int64_t(tokenizer_.encode(do_lower_case_ ? lowercase(prefix_) : prefix_).size()) - 1);
  // Longest first, so each batch is padded to its first text's length.
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return ids[size_t(a)].size() > ids[size_t(b)].size();
  });
  // Right padding: real tokens sit at positions 0..len-1 of every row (decoders rely on this).
  for (int64_t start = 0; start < N;) {
    const int64_t T = std::max<int64_t>(int64_t(ids[size_t(order[size_t(start)])].size()), 1);
    const int64_t B = std::min(N - start, std::max<int64_t>(batch_tokens_ / T, 1));
    std::vector<int32_t> bid(size_t(B * T), 0), bmask(size_t(B * T), 0);
    for (int64_t b = 0; b < B; ++b) {
      const auto& row = ids[size_t(order[size_t(start + b)])];
      for (size_t t = 0; t < row.size(); ++t) {
        bid[size_t(b * T) + t] = row[t];
        bmask[size_t(b * T) + t] = 1;
      }
    }
    Tensor id_t = from_vector(bid, {B, T}).to(device_);
    Tensor mask_t = from_vector(bmask, {B, T}).to(device_);
    Tensor hidden = astype(encoder_(id_t, mask_t), DType::f32);
    Tensor pool_mask = mask_t;
    if (prompt_len > 0) {
      // Never drop every token: a text that is all prompt keeps its own positions.
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = int64_t(ids[size_t(order[size_t(start + b)])].size());
        for (int64_t t = 0; t < std::min(prompt_len, len - 1); ++t) bmask[size_t(b * T + t)] = 0;
      }
      pool_mask = from_vector(bmask, {B, T}).to(device_);
    }
    Tensor v = pool(hidden, pool_mask, pooling_);
    if (normalize_) v = l2_normalize(v);
    v = contiguous(v).to(Device::cpu()).eval();
    const float* src = v.data<float>();
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(out.data() + order[size_t(start + b)] * dim_, src + b * dim_,
                  size_t(dim_) * sizeof(float));
    start += B;
  }
  return from_vector(out, {N, dim_});
}

std::string Embedder::settings_string() const {
  return fmt::format(
      "model={} pooling={} normalize={} max_length={} lower={} include_prompt={} "
      "prefix={}",
      model_kind_, pooling_name(pooling_), normalize_, max_length_, do_lower_case_, include_prompt_,
      prefix_);
}

}  // namespace wick::embed
