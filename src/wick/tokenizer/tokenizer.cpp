#include "wick/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "wick/core/errors.h"
#include "wick/tokenizer/added_tokens.h"
#include "wick/tokenizer/decoders.h"
#include "wick/tokenizer/models.h"
#include "wick/tokenizer/normalizers.h"
#include "wick/tokenizer/post_processors.h"
#include "wick/tokenizer/pre_tokenizers.h"
#include "wick/tokenizer/unicode.h"

namespace wick {

using nlohmann::json;

struct Tokenizer::Impl {
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;
  std::vector<tok::AddedToken> added;
  std::unordered_map<int32_t, size_t> added_by_id;
  tok::Vocab added_by_content;
  tok::AddedTokenMatcher raw_matcher, normalized_matcher;

  void encode_ids(std::string_view text, tok::Ids& out) const;
};

void Tokenizer::Impl::encode_ids(std::string_view input, tok::Ids& out) const {
  std::string fixed;
  if (tok::utf8_valid_prefix(input) != input.size()) {
    fixed = tok::utf8_lossy(input);
    input = fixed;
  }
  if (input.empty()) return;
  std::vector<tok::Segment> segs, next;
  tok::Segment whole{std::string(input), -1, true};
  if (raw_matcher.empty()) {
    segs.push_back(std::move(whole));
  } else {
    raw_matcher.split(whole, segs);
  }
  if (normalizer) {
    for (auto& s : segs)
      if (s.id < 0) s.text = normalizer->normalize(s.text);
  }
  if (!normalized_matcher.empty()) {
    for (auto& s : segs) {
      if (s.id >= 0) {
        next.push_back(std::move(s));
      } else {
        normalized_matcher.split(s, next);
      }
    }
    segs.swap(next);
  }
  std::vector<tok::Piece> pieces;
  for (auto& s : segs) {
    if (s.id >= 0) {
      out.ids.push_back(s.id);
      continue;
    }
    if (s.text.empty()) continue;
    pieces.clear();
    pieces.push_back({std::move(s.text), s.at_start});
    if (pre_tokenizer) pre_tokenizer->apply(pieces);
    for (auto& p : pieces) model->tokenize(p.text, out.ids);
  }
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>("Tokenizer::from_file", "cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (std::filesystem::is_directory(path, ec)) {
    file = (std::filesystem::path(path) / "tokenizer.json").string();
    if (!std::filesystem::exists(file, ec))
      fail<IoError>("Tokenizer::from_file", "folder '{}' has no tokenizer.json", path);
  }
  return from_json_string(read_file(file), file);
}

Tokenizer Tokenizer::from_json_string(std::string_view text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail<IoError>("Tokenizer", "'{}' is not valid JSON: {}", origin, e.what());
  }
  auto impl = std::make_shared<Impl>();
  const char* key = "model";
  try {
    if (!j.is_object() || !j.contains("model"))
      fail<IoError>("Tokenizer", "'{}' has no \"model\" object (not a tokenizer.json?)", origin);
    impl->model = tok::make_model(j["model"]);
    key = "normalizer";
    impl->normalizer = tok::make_normalizer(j.value("normalizer", json()));
    key = "pre_tokenizer";
    impl->pre_tokenizer = tok::make_pre_tokenizer(j.value("pre_tokenizer", json()));
    key = "post_processor";
    impl->post_processor = tok::make_post_processor(j.value("post_processor", json()));
    key = "decoder";
    impl->decoder = tok::make_decoder(j.value("decoder", json()));
    key = "added_tokens";
    for (const json& a : j.value("added_tokens", json::array())) {
      tok::AddedToken t;
      t.content = a.at("content").get<std::string>();
      t.id = a.at("id").get<int32_t>();
      t.single_word = a.value("single_word", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.special = a.value("special", false);
      t.normalized = a.value("normalized", !t.special);
      impl->added.push_back(std::move(t));
    }
  } catch (const IoError&) {
    throw;
  } catch (const json::exception& e) {
    fail<IoError>("Tokenizer", "'{}': malformed \"{}\": {}", origin, key, e.what());
  } catch (const Error& e) {
    fail<IoError>("Tokenizer", "'{}': bad \"{}\": {}", origin, key, e.what());
  }
  // Ids as the HF library assigns them when it loads the file (it re-adds the tokens in order): a
  // token of the model's vocabulary keeps that id, a new one gets the next free id.
  const auto model_size = static_cast<int32_t>(impl->model->vocab().size());
  std::vector<tok::AddedToken> unique;
  int32_t max_added = -1;
  for (tok::AddedToken& t : impl->added) {
    if (t.content.empty()) continue;
    if (auto it = impl->added_by_content.find(t.content); it != impl->added_by_content.end()) {
      t.id = it->second;
      auto& old = unique[impl->added_by_id[t.id]];
      old = t;
      continue;
    }
    if (auto mid = impl->model->token_to_id(t.content)) {
      t.id = *mid;
    } else {
      t.id = max_added < 0                                  ? model_size
             : (max_added >= model_size || model_size == 0) ? max_added + 1
                                                            : model_size;
    }
    max_added = std::max(max_added, t.id);
    impl->added_by_content[t.content] = t.id;
    impl->added_by_id[t.id] = unique.size();
    unique.push_back(t);
  }
  impl->added.swap(unique);
  for (const tok::AddedToken& t : impl->added) {
    if (t.normalized) {
      std::string pattern = impl->normalizer ? impl->normalizer->normalize(t.content) : t.content;
      impl->normalized_matcher.add(pattern, &t);
    } else {
      impl->raw_matcher.add(t.content, &t);
    }
  }
  Tokenizer out;
  if (j.contains("truncation") && j["truncation"].is_object()) {
    TruncationOptions tr;
    tr.max_length = j["truncation"].value("max_length", size_t{0});
    tr.left = j["truncation"].value("direction", std::string("Right")) == "Left";
    out.truncation_ = tr;
  }
  if (j.contains("padding") && j["padding"].is_object()) {
    const json& p = j["padding"];
    PaddingOptions po;
    po.left = p.value("direction", std::string("Right")) == "Left";
    po.pad_id = p.value("pad_id", 0);
    po.pad_type_id = p.value("pad_type_id", 0);
    if (p.contains("strategy") && p["strategy"].is_object() && p["strategy"].contains("Fixed"))
      po.length = p["strategy"]["Fixed"].get<size_t>();
    if (p.contains("pad_to_multiple_of") && !p["pad_to_multiple_of"].is_null())
      po.multiple_of = p["pad_to_multiple_of"].get<size_t>();
    out.padding_ = po;
  }
  out.impl_ = std::move(impl);
  return out;
}

Encoding Tokenizer::encode_full(std::string_view text, bool add_special_tokens) const {
  tok::Ids seq;
  impl_->encode_ids(text, seq);
  if (truncation_ && truncation_->max_length > 0) {
    size_t added =
        add_special_tokens && impl_->post_processor ? impl_->post_processor->added_tokens() : 0;
    size_t keep = truncation_->max_length > added ? truncation_->max_length - added : 0;
    if (seq.ids.size() > keep) {
      if (truncation_->left) {
        seq.ids.erase(seq.ids.begin(), seq.ids.end() - static_cast<ptrdiff_t>(keep));
      } else {
        seq.ids.resize(keep);
      }
    }
  }
  seq.type_ids.assign(seq.ids.size(), 0);
  seq.special.assign(seq.ids.size(), 0);
  if (add_special_tokens && impl_->post_processor) impl_->post_processor->process(seq);
  Encoding e;
  e.ids = std::move(seq.ids);
  e.type_ids = std::move(seq.type_ids);
  e.special_tokens_mask = std::move(seq.special);
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return encode_full(text, add_special_tokens).ids;
}

std::vector<Encoding> Tokenizer::encode_batch_full(const std::vector<std::string>& texts,
                                                   bool add_special_tokens) const {
  std::vector<Encoding> out(texts.size());
  const auto n = static_cast<int64_t>(texts.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    try {
      out[i] = encode_full(texts[i], add_special_tokens);
    } catch (...) {
#pragma omp critical
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  if (!padding_) return out;
  size_t len = padding_->length;
  if (len == 0)
    for (auto& e : out) len = std::max(len, e.ids.size());
  if (padding_->multiple_of > 0 && len % padding_->multiple_of != 0)
    len += padding_->multiple_of - len % padding_->multiple_of;
  for (auto& e : out) {
    if (e.ids.size() >= len) continue;
    size_t pad = len - e.ids.size();
    auto fill = [&](auto& v, auto value) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if (padding_->left) {
        v.insert(v.begin(), pad, static_cast<T>(value));
      } else {
        v.insert(v.end(), pad, static_cast<T>(value));
      }
    };
    fill(e.ids, padding_->pad_id);
    fill(e.type_ids, padding_->pad_type_id);
    fill(e.attention_mask, 0);
    fill(e.special_tokens_mask, 1);
  }
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special_tokens) const {
  auto full = encode_batch_full(texts, add_special_tokens);
  std::vector<std::vector<int32_t>> out(full.size());
  for (size_t i = 0; i < full.size(); ++i) out[i] = std::move(full[i].ids);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    auto it = impl_->added_by_id.find(id);
    if (it != impl_->added_by_id.end()) {
      const tok::AddedToken& t = impl_->added[it->second];
      if (skip_special_tokens && t.special) continue;
      tokens.push_back(t.content);
      continue;
    }
    if (const std::string* s = impl_->model->id_to_token(id)) tokens.push_back(*s);
  }
  if (!impl_->decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  impl_->decoder->decode_chain(tokens);
  std::string out;
  for (auto& t : tokens) out += t;
  return out;
}

std::vector<std::string> Tokenizer::decode_batch(const std::vector<std::vector<int32_t>>& ids,
                                                 bool skip_special_tokens) const {
  std::vector<std::string> out(ids.size());
  const auto n = static_cast<int64_t>(ids.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) out[i] = decode(ids[i], skip_special_tokens);
  return out;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->added_by_content.find(token);
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  if (const std::string* s = impl_->model->id_to_token(id)) return *s;
  return std::nullopt;
}

size_t Tokenizer::vocab_size() const {
  size_t n = impl_->model->vocab_size();
  for (auto& t : impl_->added) n = std::max(n, static_cast<size_t>(t.id) + 1);
  return n;
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

std::vector<std::string> Tokenizer::special_tokens() const {
  std::vector<std::pair<int32_t, std::string>> v;
  for (auto& t : impl_->added)
    if (t.special) v.emplace_back(t.id, t.content);
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (auto& [id, s] : v) out.push_back(s);
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool skip_special_tokens)
    : tok_(tok), skip_(skip_special_tokens) {}

std::string StreamDecoder::step(int32_t id) {
  ids_.push_back(id);
  std::string text = tok_.decode(ids_, skip_);
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  bool held = text.size() >= 3 && std::string_view(text).substr(text.size() - 3) == kReplacement;
  if (held || text.size() <= prefix_.size() || text.compare(0, prefix_.size(), prefix_) != 0)
    return {};
  std::string fresh = text.substr(prefix_.size());
  // Keep a few emitted ids as context, so that decoders that look at neighbours (leading space
  // stripping, WordPiece cleanup, byte runs) see the same surroundings as a full decode. The cut
  // must decode to a suffix of the text (not inside a character made of several byte tokens).
  constexpr size_t kContext = 6, kTries = 6;
  size_t first = ids_.size() > kContext ? ids_.size() - kContext : 0;
  for (size_t cut = first; cut > 0 && cut + kTries > first; --cut) {
    std::vector<int32_t> tail(ids_.begin() + static_cast<ptrdiff_t>(cut), ids_.end());
    std::string p = tok_.decode(tail, skip_);
    if (p.size() <= text.size() && text.compare(text.size() - p.size(), p.size(), p) == 0) {
      ids_.swap(tail);
      prefix_ = std::move(p);
      return fresh;
    }
  }
  prefix_ = std::move(text);
  return fresh;
}

std::string StreamDecoder::finish() {
  std::string text = tok_.decode(ids_, skip_);
  std::string rest;
  if (text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0)
    rest = text.substr(prefix_.size());
  ids_.clear();
  prefix_.clear();
  return rest;
}

}  // namespace wick
