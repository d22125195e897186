#pragma once
// Tokenization models of tokenizer.json ("model"): BPE, WordPiece, WordLevel and Unigram.
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wick::tok {

/// Hash for string keys that also accepts string_view lookups.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
/// token -> id map with string_view lookups.
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

/// Turns one pre-tokenized piece into ids.
class Model {
 public:
  virtual ~Model() = default;
  /// Appends the ids of one pre-tokenized word.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  /// The id of a token of the model's vocabulary.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  /// The token of an id, or nullptr.
  const std::string* id_to_token(int32_t id) const;
  /// Number of ids (largest id + 1).
  size_t vocab_size() const { return vocab_r_.size(); }
  /// The vocabulary (token -> id).
  const Vocab& vocab() const { return vocab_; }

 protected:
  /// Fills vocab_r_ from vocab_.
  void build_reverse();
  Vocab vocab_;
  std::vector<std::string> vocab_r_;
  std::vector<bool> has_id_;
};

/// Builds a model from its JSON object.
std::unique_ptr<Model> make_model(const nlohmann::json& j);

/// Byte-pair encoding (GPT-2 byte-level and SentencePiece-style with byte fallback).
class BpeModel : public Model {
 public:
  /// Reads the "model" object of a tokenizer.json.
  explicit BpeModel(const nlohmann::json& j);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  void tokenize_uncached(std::string_view word, std::vector<int32_t>& out) const;
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  // (left id, right id) -> merge, in an open-addressing table (linear probing, kEmpty = free).
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  std::vector<std::pair<uint64_t, Merge>> merges_;
  uint64_t merge_mask_ = 0;
  const Merge* find_merge(int32_t a, int32_t b) const;
  std::optional<std::string> unk_token_, prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256];
  // Word -> ids cache: short words (most of them) live in a flat table of one cache line each,
  // longer ones in a map; both split in shards with their own lock.
  static constexpr int kShards = 32;
  static constexpr size_t kSlots = 8192;  // per shard, power of two; two-way associative
  struct Slot {
    uint64_t hash;  // 0: empty
    uint8_t key_len, n_ids;
    char key[22];
    int32_t ids[8];
  };
  struct Shard {
    std::mutex mu;
    std::vector<Slot> slots;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
  };
  mutable std::unique_ptr<Shard[]> cache_;
};

/// WordPiece (BERT): greedy longest-match-first with a continuing-subword prefix.
class WordPieceModel : public Model {
 public:
  /// Reads the "model" object of a tokenizer.json.
  explicit WordPieceModel(const nlohmann::json& j);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  std::string unk_token_, prefix_;
  size_t max_chars_ = 100;
};

/// WordLevel: one id per whole word, unk_token otherwise.
class WordLevelModel : public Model {
 public:
  /// Reads the "model" object of a tokenizer.json.
  explicit WordLevelModel(const nlohmann::json& j);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  std::string unk_token_;
};

/// Unigram (SentencePiece): Viterbi over the piece lattice.
class UnigramModel : public Model {
 public:
  /// Reads the "model" object of a tokenizer.json.
  explicit UnigramModel(const nlohmann::json& j);
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  std::vector<double> scores_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  size_t max_piece_len_ = 0;
};

}  // namespace wick::tok
