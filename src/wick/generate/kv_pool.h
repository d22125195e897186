#pragma once
// A paged key/value cache: a pool of at most `capacity` blocks of `block_size` positions, each
// block holding per layer its keys and values [1, Hkv, n, Dh] for the n <= block_size positions
// written so far (memory follows the tokens held). Blocks are reference counted; a full block can
// be published under a hash of the token prefix it ends (chained over the blocks before it, with
// an adapter id), and stays cached after its last release until its slot is needed, so later
// sequences with the same prefix (a shared system prompt) reuse it instead of recomputing it.
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "wick/core/tensor.h"

namespace wick::generate {

class KVBlockPool {
 public:
  /// At most `max_cached` unreferenced published blocks are kept (the least recently released
  /// beyond that are freed), so the cache's memory stays bounded below the pool's.
  KVBlockPool(int64_t block_size, int64_t capacity, int64_t max_cached = 256);
  int64_t block_size() const { return block_size_; }
  int64_t capacity() const { return capacity_; }
  /// Blocks referenced by a sequence.
  int64_t in_use() const { return in_use_; }
  /// Unreferenced blocks kept for prefix reuse.
  int64_t cached() const { return int64_t(lru_.size()); }
  /// Blocks that allocate() can still hand out (free plus evictable cached ones).
  int64_t available() const { return capacity_ - in_use_; }
  /// Tokens held by referenced blocks.
  int64_t tokens_in_use() const;

  /// A new empty block with one reference; ValueError when the pool is exhausted. Evicts the
  /// least recently released cached block when no slot is free.
  int32_t allocate();
  /// Drops one reference; at zero a published block becomes cached, any other is freed.
  void release(int32_t id);
  /// The published block that follows `parent_hash` with exactly `tokens` under `adapter`, with a
  /// new reference; nullopt when none is cached.
  std::optional<int32_t> lookup(uint64_t parent_hash, int64_t adapter,
                                std::span<const int32_t> tokens);
  /// Publishes a full block for reuse; returns its hash (the parent hash of the next block).
  uint64_t publish(int32_t id, uint64_t parent_hash, int64_t adapter,
                   std::span<const int32_t> tokens);
  /// The hash a published block with these contents gets.
  static uint64_t chain_hash(uint64_t parent_hash, int64_t adapter,
                             std::span<const int32_t> tokens);

  /// Keys and values of a block, per layer (empty before the first write).
  std::vector<Tensor>& keys(int32_t id) { return blocks_[size_t(id)].k; }
  std::vector<Tensor>& values(int32_t id) { return blocks_[size_t(id)].v; }
  /// Positions written into a block.
  int64_t& length(int32_t id) { return blocks_[size_t(id)].length; }

 private:
  struct Block {
    std::vector<Tensor> k, v;
    int64_t length = 0;
    int32_t refs = 0;
    bool published = false;
    uint64_t hash = 0, parent = 0;
    int64_t adapter = -1;
    std::vector<int32_t> tokens;
    std::list<int32_t>::iterator lru_pos;
  };
  void forget(int32_t id);
  int64_t block_size_, capacity_, max_cached_;
  int64_t in_use_ = 0;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;
  std::list<int32_t> lru_;  // cached, least recently released first
  std::unordered_multimap<uint64_t, int32_t> by_hash_;
};

}  // namespace wick::generate
