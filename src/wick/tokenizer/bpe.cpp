// Byte-pair encoding model: merges table, word cache and the merge loop.
#include <fmt/format.h>

#include <cstring>
#include <iterator>
#include <queue>

#include "wick/core/errors.h"
#include "wick/tokenizer/json_fields.h"
#include "wick/tokenizer/models.h"
#include "wick/tokenizer/unicode.h"

namespace wick::tok {

using nlohmann::json;

BpeModel::BpeModel(const json& j) {
  const json& jv = j.at("vocab");
  vocab_.reserve(jv.size());
  for (auto& [tok, id] : jv.items()) vocab_.emplace(tok, id.get<int32_t>());
  build_reverse();
  unk_token_ = opt_string(j, "unk_token");
  prefix_ = opt_string(j, "continuing_subword_prefix");
  suffix_ = opt_string(j, "end_of_word_suffix");
  if (prefix_ && prefix_->empty()) prefix_.reset();
  if (suffix_ && suffix_->empty()) suffix_.reset();
  fuse_unk_ = opt_bool(j, "fuse_unk", false);
  byte_fallback_ = opt_bool(j, "byte_fallback", false);
  ignore_merges_ = opt_bool(j, "ignore_merges", false);
  for (int b = 0; b < 256; ++b) {
    auto id = token_to_id(fmt::format("<0x{:02X}>", b));
    byte_ids_[b] = id ? *id : -1;
  }
  const json& merges = j.at("merges");
  size_t prefix_len = prefix_ ? prefix_->size() : 0;
  size_t cap = 16;
  while (cap < merges.size() * 2) cap *= 2;
  merges_.assign(cap, {kEmpty, Merge{0, 0}});
  merge_mask_ = cap - 1;
  int32_t rank = 0;
  std::string merged;
  for (const json& m : merges) {
    std::string_view a, b;
    if (m.is_string()) {
      std::string_view s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail<ValueError>("Tokenizer", "merge '{}' is not two tokens separated by one space", s);
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      a = m.at(0).get_ref<const std::string&>();
      b = m.at(1).get_ref<const std::string&>();
    }
    auto ia = token_to_id(a), ib = token_to_id(b);
    if (!ia || !ib)
      fail<ValueError>("Tokenizer", "merge '{} {}' uses a token missing from the vocab", a, b);
    if (b.size() < prefix_len)
      fail<ValueError>("Tokenizer", "merge '{} {}' is shorter than the subword prefix", a, b);
    merged.assign(a);
    merged.append(b.substr(prefix_len));
    auto in = token_to_id(merged);
    if (!in) fail<ValueError>("Tokenizer", "merged token '{}' is missing from the vocab", merged);
    uint64_t key =
        (static_cast<uint64_t>(static_cast<uint32_t>(*ia)) << 32) | static_cast<uint32_t>(*ib);
    size_t slot = (key * 0x9E3779B97F4A7C15ull) >> 20 & merge_mask_;
    while (merges_[slot].first != kEmpty && merges_[slot].first != key)
      slot = (slot + 1) & merge_mask_;
    merges_[slot] = {key, Merge{rank, *in}};  // a repeated pair: the later one wins, as in HF
    ++rank;
  }
  cache_.reset(new Shard[kShards]);
  for (int k = 0; k < kShards; ++k) cache_[k].slots.assign(kSlots, Slot{});
}

const BpeModel::Merge* BpeModel::find_merge(int32_t a, int32_t b) const {
  uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  size_t slot = (key * 0x9E3779B97F4A7C15ull) >> 20 & merge_mask_;
  while (true) {
    const auto& e = merges_[slot];
    if (e.first == key) return &e.second;
    if (e.first == kEmpty) return nullptr;
    slot = (slot + 1) & merge_mask_;
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() > 256) return tokenize_uncached(word, out);
  uint64_t h = std::hash<std::string_view>{}(word) | 1;
  Shard& sh = cache_[(h >> 1) % kShards];
  const bool flat = word.size() <= sizeof(Slot::key);
  size_t slot = (h >> 8) & (kSlots - 1);
  {
    std::lock_guard<std::mutex> lock(sh.mu);
    if (flat) {
      const Slot& e = sh.slots[slot];
      if (e.hash == h && e.key_len == word.size() &&
          std::memcmp(e.key, word.data(), word.size()) == 0) {
        out.insert(out.end(), e.ids, e.ids + e.n_ids);
        return;
      }
    } else {
      auto it = sh.map.find(word);
      if (it != sh.map.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
  }
  size_t start = out.size();
  tokenize_uncached(word, out);
  size_t n = out.size() - start;
  std::lock_guard<std::mutex> lock(sh.mu);
  if (flat && n <= std::size(Slot{}.ids)) {
    if (sh.slots[slot].hash != 0) slot ^= 1;  // the other way (replacing it if both are used)
    Slot& e = sh.slots[slot];
    e.hash = h;
    e.key_len = static_cast<uint8_t>(word.size());
    e.n_ids = static_cast<uint8_t>(n);
    std::memcpy(e.key, word.data(), word.size());
    std::copy(out.begin() + static_cast<ptrdiff_t>(start), out.end(), e.ids);
  } else if (sh.map.size() < 4096) {
    sh.map.emplace(std::string(word), std::vector<int32_t>(out.begin() + start, out.end()));
  }
}

void BpeModel::tokenize_uncached(std::string_view w, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (auto id = token_to_id(w)) {
      out.push_back(*id);
      return;
    }
  }
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Sym> syms;
  syms.reserve(w.size());
  auto add = [&](int32_t id) {
    int32_t n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, n + 1, true});
  };
  std::optional<int32_t> unk_id;
  if (unk_token_) unk_id = token_to_id(*unk_token_);
  bool pending_unk = false;
  std::string buf;
  for (size_t i = 0; i < w.size();) {
    size_t n = utf8_len(static_cast<unsigned char>(w[i]));
    bool first = i == 0, last = i + n >= w.size();
    std::string_view s = w.substr(i, n);
    if ((prefix_ && !first) || (suffix_ && last)) {
      buf.clear();
      if (prefix_ && !first) buf += *prefix_;
      buf.append(s);
      if (suffix_ && last) buf += *suffix_;
      s = buf;
    }
    i += n;
    if (auto id = token_to_id(s)) {
      if (pending_unk) {
        add(*unk_id);
        pending_unk = false;
      }
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool ok = true;
      for (unsigned char b : s) ok = ok && byte_ids_[b] >= 0;
      if (ok) {
        for (unsigned char b : s) add(byte_ids_[b]);
        continue;
      }
    }
    if (unk_token_) {
      if (!unk_id) fail<ValueError>("Tokenizer", "unk_token '{}' is not in the vocab", *unk_token_);
      if (pending_unk && !fuse_unk_) add(*unk_id);
      pending_unk = true;
    }
  }
  if (pending_unk) add(*unk_id);
  if (syms.empty()) return;
  syms.back().next = -1;

  struct Cand {
    int32_t rank, pos, new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  auto lookup = [&](int32_t a, int32_t b) { return find_merge(a, b); };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  for (size_t k = 0; k + 1 < syms.size(); ++k)
    if (auto* m = lookup(syms[k].id, syms[k + 1].id))
      queue.push({m->rank, static_cast<int32_t>(k), m->new_id});
  while (!queue.empty()) {
    Cand top = queue.top();
    queue.pop();
    Sym& cur = syms[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Sym& right = syms[cur.next];
    const Merge* m = lookup(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;
    cur.id = top.new_id;
    right.alive = false;
    cur.next = right.next;
    if (cur.next >= 0) syms[cur.next].prev = top.pos;
    if (cur.prev >= 0)
      if (auto* pm = lookup(syms[cur.prev].id, cur.id))
        queue.push({pm->rank, cur.prev, pm->new_id});
    if (cur.next >= 0)
      if (auto* nm = lookup(cur.id, syms[cur.next].id)) queue.push({nm->rank, top.pos, nm->new_id});
  }
  for (int32_t k = 0; k >= 0; k = syms[k].next) out.push_back(syms[k].id);
}

}  // namespace wick::tok
