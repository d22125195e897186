#include "wick/tokenizer/trainer.h"

#include <omp.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "wick/core/errors.h"
#include "wick/tokenizer/models.h"
#include "wick/tokenizer/pre_tokenizers.h"
#include "wick/tokenizer/unicode.h"

namespace wick {

namespace {

using nlohmann::ordered_json;

// The Llama 3 pre-tokenization regex (digits in groups of up to three).
constexpr const char* kSplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

using WordCounts = std::unordered_map<std::string, int64_t, tok::StringHash, std::equal_to<>>;

// Counts the pre-tokenized words (as raw bytes) of all texts, in parallel.
WordCounts count_words(const std::vector<std::string>& texts, int threads) {
  tok::Regex re(kSplitPattern);
  int nt = threads > 0 ? threads : omp_get_max_threads();
  std::vector<WordCounts> local(static_cast<size_t>(nt));
  const auto n = static_cast<int64_t>(texts.size());
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    WordCounts& wc = local[static_cast<size_t>(omp_get_thread_num())];
    std::string text = tok::utf8_lossy(texts[i]);
    std::vector<std::pair<size_t, size_t>> m;
    re.find_all(text, m);
    size_t prev = 0;
    auto add = [&](size_t b, size_t e) {
      if (e <= b) return;
      std::string_view w(text.data() + b, e - b);
      auto it = wc.find(w);
      if (it == wc.end()) {
        wc.emplace(std::string(w), 1);
      } else {
        ++it->second;
      }
    };
    for (auto [b, e] : m) {
      add(prev, b);
      add(b, e);
      prev = e;
    }
    add(prev, text.size());
  }
  WordCounts all = std::move(local[0]);
  for (size_t t = 1; t < local.size(); ++t)
    for (auto& [w, c] : local[t]) all[w] += c;
  return all;
}

uint64_t key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

std::string train_bpe(const std::vector<std::string>& texts, size_t vocab_size,
                      const std::vector<std::string>& special_tokens,
                      const BpeTrainerOptions& options) {
  const size_t base = special_tokens.size() + 256;
  if (vocab_size < base)
    fail<ValueError>("train_bpe", "vocab_size {} is smaller than {} special tokens + 256 bytes",
                     vocab_size, special_tokens.size());
  // Vocabulary: special tokens, then the 256 byte-level characters, then merges.
  std::vector<std::string> tokens;
  tok::Vocab vocab;
  auto add_token = [&](const std::string& t) {
    auto it = vocab.find(t);
    if (it != vocab.end()) return it->second;
    auto id = static_cast<int32_t>(tokens.size());
    tokens.push_back(t);
    vocab.emplace(t, id);
    return id;
  };
  for (auto& s : special_tokens) {
    if (vocab.count(s)) fail<ValueError>("train_bpe", "special token '{}' given twice", s);
    add_token(s);
  }
  int32_t byte_id[256];
  for (int b = 0; b < 256; ++b) {
    std::string c;
    tok::utf8_append(c, tok::byte_to_char()[b]);
    if (vocab.count(c))
      fail<ValueError>("train_bpe", "special token '{}' collides with a byte token", c);
    byte_id[b] = add_token(c);
  }

  // Words as symbol sequences with counts.
  WordCounts counts = count_words(texts, options.num_threads);
  struct Word {
    std::vector<int32_t> syms;
    int64_t count;
  };
  std::vector<Word> words;
  words.reserve(counts.size());
  for (auto& [w, c] : counts) {
    Word word{{}, c};
    for (unsigned char b : w) word.syms.push_back(byte_id[b]);
    words.push_back(std::move(word));
  }
  counts.clear();

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t wi = 0; wi < words.size(); ++wi) {
    const auto& s = words[wi].syms;
    for (size_t k = 0; k + 1 < s.size(); ++k) {
      uint64_t p = key(s[k], s[k + 1]);
      pair_count[p] += words[wi].count;
      auto& v = where[p];
      if (v.empty() || v.back() != static_cast<int32_t>(wi)) v.push_back(static_cast<int32_t>(wi));
    }
  }
  // Max-heap on (count, then the smaller pair) with lazy updates.
  struct Entry {
    int64_t count;
    uint64_t pair;
    bool operator<(const Entry& o) const {
      return count != o.count ? count < o.count : pair > o.pair;
    }
  };
  std::priority_queue<Entry> heap;
  for (auto& [p, c] : pair_count)
    if (c > 0) heap.push({c, p});

  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<uint32_t> seen(words.size(), 0);
  uint32_t stamp = 0;
  std::vector<int32_t> merged;
  const auto min_freq = static_cast<int64_t>(std::max<size_t>(options.min_frequency, 1));
  while (tokens.size() < vocab_size && !heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    int64_t current = it == pair_count.end() ? 0 : it->second;
    if (current != top.count) {
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (current < min_freq) break;
    auto a = static_cast<int32_t>(top.pair >> 32), b = static_cast<int32_t>(top.pair & 0xFFFFFFFF);
    int32_t nid = add_token(tokens[a] + tokens[b]);
    merges.emplace_back(a, b);
    ++stamp;
    std::vector<int32_t> affected = std::move(where[top.pair]);
    where.erase(top.pair);
    std::unordered_map<uint64_t, int64_t> delta;
    for (int32_t wi : affected) {
      if (seen[wi] == stamp) continue;
      seen[wi] = stamp;
      Word& w = words[wi];
      auto& s = w.syms;
      merged.clear();
      bool changed = false;
      for (size_t k = 0; k < s.size(); ++k) {
        if (k + 1 < s.size() && s[k] == a && s[k + 1] == b) {
          merged.push_back(nid);
          ++k;
          changed = true;
        } else {
          merged.push_back(s[k]);
        }
      }
      if (!changed) continue;
      for (size_t k = 0; k + 1 < s.size(); ++k) delta[key(s[k], s[k + 1])] -= w.count;
      for (size_t k = 0; k + 1 < merged.size(); ++k) {
        uint64_t p = key(merged[k], merged[k + 1]);
        delta[p] += w.count;
        if (merged[k] == nid || merged[k + 1] == nid) {
          auto& v = where[p];
          if (v.empty() || v.back() != wi) v.push_back(wi);
        }
      }
      s.swap(merged);
    }
    for (auto& [p, d] : delta) {
      if (d == 0) continue;
      int64_t& c = pair_count[p];
      c += d;
      if (d > 0) heap.push({c, p});
      if (c <= 0) pair_count.erase(p);
    }
  }

  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i)
    added.push_back({{"id", i},
                     {"content", special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"},
                           {"pattern", {{"Regex", kSplitPattern}}},
                           {"behavior", "Isolated"},
                           {"invert", false}},
                          {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", false}}}}};
  j["post_processor"] = {{"type", "ByteLevel"},
                         {"add_prefix_space", true},
                         {"trim_offsets", false},
                         {"use_regex", true}};
  j["decoder"] = {{"type", "ByteLevel"},
                  {"add_prefix_space", true},
                  {"trim_offsets", true},
                  {"use_regex", true}};
  ordered_json v = ordered_json::object();
  for (size_t i = 0; i < tokens.size(); ++i) v[tokens[i]] = i;
  ordered_json m = ordered_json::array();
  for (auto [a, b] : merges) m.push_back({tokens[a], tokens[b]});
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", v},
                {"merges", m}};
  return j.dump();
}

void train_bpe_to_file(const std::vector<std::string>& texts, size_t vocab_size,
                       const std::vector<std::string>& special_tokens, const std::string& path,
                       const BpeTrainerOptions& options) {
  std::string json = train_bpe(texts, vocab_size, special_tokens, options);
  std::ofstream out(path, std::ios::binary);
  if (!out) fail<IoError>("train_bpe_to_file", "cannot write '{}'", path);
  out << json;
  if (!out) fail<IoError>("train_bpe_to_file", "write to '{}' failed", path);
}

}  // namespace wick
