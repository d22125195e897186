// Model base (vocabulary lookups), WordPiece, WordLevel and the model factory.
#include <fmt/format.h>

#include "wick/core/errors.h"
#include "wick/tokenizer/models.h"

namespace wick::tok {

using nlohmann::json;

std::optional<int32_t> Model::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Model::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_r_.size() || !has_id_[id]) return nullptr;
  return &vocab_r_[id];
}

void Model::build_reverse() {
  int32_t max_id = -1;
  const std::string* max_token = nullptr;
  for (auto& [t, id] : vocab_) {
    if (id < 0) fail<ValueError>("Tokenizer", "negative id {} for token '{}'", id, t);
    if (id > max_id) max_token = &t;
    max_id = std::max(max_id, id);
  }
  // The reverse table is dense: an id far past the number of entries (a hostile 1e9) would ask
  // for gigabytes, so it is refused here with the token that carries it.
  const size_t dense_limit = 2 * vocab_.size() + (size_t(1) << 20);
  if (max_id >= 0 && size_t(max_id) >= dense_limit)
    fail<ValueError>("Tokenizer",
                     "model.vocab: id {} of token '{}' is out of range for a vocabulary of {} "
                     "entries; expected ids 0..{}",
                     max_id, *max_token, vocab_.size(), dense_limit - 1);
  vocab_r_.assign(static_cast<size_t>(max_id + 1), std::string());
  has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (auto& [t, id] : vocab_) {
    vocab_r_[id] = t;
    has_id_[id] = true;
  }
}

WordPieceModel::WordPieceModel(const json& j) {
  for (auto& [tok, id] : j.at("vocab").items()) vocab_[tok] = id.get<int32_t>();
  build_reverse();
  unk_token_ = j.value("unk_token", std::string("[UNK]"));
  prefix_ = j.value("continuing_subword_prefix", std::string("##"));
  max_chars_ = j.value("max_input_chars_per_word", size_t{100});
}

void WordPieceModel::tokenize(std::string_view w, std::vector<int32_t>& out) const {
  auto unk = [&] {
    auto id = token_to_id(unk_token_);
    if (!id) fail<ValueError>("Tokenizer", "unk_token '{}' is not in the vocab", unk_token_);
    out.push_back(*id);
  };
  size_t nchars = 0;
  for (char c : w) nchars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (nchars > max_chars_) return unk();
  size_t start = 0, mark = out.size();
  std::string buf;
  while (start < w.size()) {
    size_t end = w.size();
    std::optional<int32_t> cur;
    while (start < end) {
      std::string_view sub = w.substr(start, end - start);
      if (start > 0) {
        buf = prefix_;
        buf.append(sub);
        sub = buf;
      }
      if ((cur = token_to_id(sub))) break;
      do --end;
      while (end > start && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80);
    }
    if (!cur) {
      out.resize(mark);
      return unk();
    }
    out.push_back(*cur);
    start = end;
  }
}

WordLevelModel::WordLevelModel(const json& j) {
  for (auto& [tok, id] : j.at("vocab").items()) vocab_[tok] = id.get<int32_t>();
  build_reverse();
  unk_token_ = j.value("unk_token", std::string("<unk>"));
}

void WordLevelModel::tokenize(std::string_view w, std::vector<int32_t>& out) const {
  auto id = token_to_id(w);
  if (!id) id = token_to_id(unk_token_);
  if (!id) fail<ValueError>("Tokenizer", "unk_token '{}' is not in the vocab", unk_token_);
  out.push_back(*id);
}

std::unique_ptr<Model> make_model(const json& j) {
  std::string type = j.value("type", std::string());
  if (type.empty()) {  // old files omit the type: guess from the fields
    if (j.contains("merges"))
      type = "BPE";
    else if (j.contains("max_input_chars_per_word"))
      type = "WordPiece";
    else if (j.contains("vocab") && j["vocab"].is_array())
      type = "Unigram";
  }
  if (type == "BPE") return std::make_unique<BpeModel>(j);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(j);
  if (type == "Unigram") return std::make_unique<UnigramModel>(j);
  if (type == "WordLevel") return std::make_unique<WordLevelModel>(j);
  fail<NotImplemented>("Tokenizer", "model type '{}' is not supported", type);
}

}  // namespace wick::tok
