// Unigram model: Viterbi over the lattice of vocabulary pieces.
#include <fmt/format.h>

#include <limits>
#include <tuple>

#include "wick/core/errors.h"
#include "wick/tokenizer/models.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok {

using nlohmann::json;

UnigramModel::UnigramModel(const json& j) {
  const json& v = j.at("vocab");
  scores_.reserve(v.size());
  min_score_ = std::numeric_limits<double>::infinity();
  int32_t id = 0;
  for (const json& e : v) {
    std::string piece = e.at(0).get<std::string>();
    double score = e.at(1).get<double>();
    vocab_.emplace(piece, id++);
    scores_.push_back(score);
    min_score_ = std::min(min_score_, score);
    max_piece_len_ = std::max(max_piece_len_, piece.size());
  }
  build_reverse();
  if (j.contains("unk_id") && !j["unk_id"].is_null()) unk_id_ = j["unk_id"].get<int32_t>();
  byte_fallback_ = j.value("byte_fallback", false);
}

void UnigramModel::tokenize(std::string_view s, std::vector<int32_t>& out) const {
  if (s.empty()) return;
  constexpr double kUnkPenalty = 10.0;
  const double unk_score = min_score_ - kUnkPenalty;
  struct Node {
    int32_t id = -1;
    double score = 0;
    int64_t start = -1;
  };
  std::vector<Node> best(s.size() + 1);
  best[0].start = 0;
  for (size_t pos = 0; pos < s.size();) {
    size_t mblen = utf8_len(static_cast<unsigned char>(s[pos]));
    double base = best[pos].score;
    bool single = false;
    for (size_t len = 1; len <= max_piece_len_ && pos + len <= s.size(); ++len) {
      if (pos + len < s.size() && (static_cast<unsigned char>(s[pos + len]) & 0xC0) == 0x80)
        continue;
      auto it = vocab_.find(s.substr(pos, len));
      if (it == vocab_.end()) continue;
      Node& t = best[pos + len];
      double cand = base + scores_[it->second];
      if (t.start < 0 || cand > t.score) t = {it->second, cand, static_cast<int64_t>(pos)};
      if (len == mblen) single = true;
    }
    if (!single) {
      if (!unk_id_) fail<ValueError>("Tokenizer", "Unigram model needs an unk_id for this text");
      Node& t = best[pos + mblen];
      double cand = base + unk_score;
      if (t.start < 0 || cand > t.score) t = {*unk_id_, cand, static_cast<int64_t>(pos)};
    }
    pos += mblen;
  }
  // Backtrack, fusing consecutive unknown pieces.
  std::vector<std::tuple<size_t, size_t, bool>> segs;
  for (size_t end = s.size(); end > 0;) {
    const Node& n = best[end];
    size_t start = static_cast<size_t>(n.start);
    bool is_unk = unk_id_ && n.id == *unk_id_;
    if (is_unk && !segs.empty() && std::get<2>(segs.back())) {
      std::get<0>(segs.back()) = start;
    } else {
      segs.emplace_back(start, end, is_unk);
    }
    end = start;
  }
  for (size_t k = segs.size(); k-- > 0;) {
    auto [b, e, is_unk] = segs[k];
    std::string_view piece = s.substr(b, e - b);
    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> ids;
      for (unsigned char c : piece) {
        auto id = token_to_id(fmt::format("<0x{:02X}>", c));
        if (!id) break;
        ids.push_back(*id);
      }
      if (ids.size() == piece.size()) {
        out.insert(out.end(), ids.begin(), ids.end());
        continue;
      }
    }
    if (!unk_id_) fail<ValueError>("Tokenizer", "Unigram model needs an unk_id for this text");
    out.push_back(*unk_id_);
  }
}

}  // namespace wick::tok
