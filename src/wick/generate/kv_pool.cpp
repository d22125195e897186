// Paged key/value block pool (see kv_pool.h).
#include "wick/generate/kv_pool.h"

#include <algorithm>

#include "wick/core/errors.h"

namespace wick::generate {

namespace {
constexpr const char* kPoolOp = "kv_pool";

uint64_t mix64(uint64_t h, uint64_t x) {
  // splitmix64 finaliser over the running hash and the next word.
  uint64_t z = h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

KVBlockPool::KVBlockPool(int64_t block_size, int64_t capacity, int64_t max_cached)
    : block_size_(block_size), capacity_(capacity), max_cached_(max_cached) {
  if (block_size <= 0 || capacity <= 0 || max_cached < 0)
    fail<ValueError>(kPoolOp,
                     "block size and capacity must be positive and the cache size >= 0; got {}, "
                     "{} and {}",
                     block_size, capacity, max_cached);
  blocks_.resize(size_t(capacity));
  for (int64_t i = capacity - 1; i >= 0; --i) free_.push_back(int32_t(i));
}

int64_t KVBlockPool::tokens_in_use() const {
  int64_t n = 0;
  for (const auto& b : blocks_)
    if (b.refs > 0) n += b.length;
  return n;
}

uint64_t KVBlockPool::chain_hash(uint64_t parent_hash, int64_t adapter,
                                 std::span<const int32_t> tokens) {
  uint64_t h = mix64(parent_hash, uint64_t(adapter));
  for (int32_t t : tokens) h = mix64(h, uint64_t(uint32_t(t)));
  return h;
}

void KVBlockPool::forget(int32_t id) {
  Block& b = blocks_[size_t(id)];
  if (b.published) {
    auto range = by_hash_.equal_range(b.hash);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == id) {
        by_hash_.erase(it);
        break;
      }
  }
  b = Block{};
}

int32_t KVBlockPool::allocate() {
  int32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    id = lru_.front();
    lru_.pop_front();
    forget(id);
  } else {
    fail<ValueError>(kPoolOp, "out of key/value blocks; expected one of {} free, got none",
                     capacity_);
  }
  blocks_[size_t(id)].refs = 1;
  ++in_use_;
  return id;
}

void KVBlockPool::release(int32_t id) {
  Block& b = blocks_[size_t(id)];
  if (b.refs <= 0) fail<ValueError>(kPoolOp, "block {} released more often than referenced", id);
  if (--b.refs > 0) return;
  --in_use_;
  if (b.published && max_cached_ > 0) {
    lru_.push_back(id);
    b.lru_pos = std::prev(lru_.end());
    if (int64_t(lru_.size()) > max_cached_) {
      const int32_t old = lru_.front();
      lru_.pop_front();
      forget(old);
      free_.push_back(old);
    }
  } else if (b.published) {
    forget(id);
    free_.push_back(id);
  } else {
    b = Block{};
    free_.push_back(id);
  }
}

std::optional<int32_t> KVBlockPool::lookup(uint64_t parent_hash, int64_t adapter,
                                           std::span<const int32_t> tokens) {
  const uint64_t h = chain_hash(parent_hash, adapter, tokens);
  auto range = by_hash_.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    Block& b = blocks_[size_t(it->second)];
    // The hash picks candidates; the contents decide (no reuse on a collision).
    if (b.parent != parent_hash || b.adapter != adapter ||
        !std::equal(b.tokens.begin(), b.tokens.end(), tokens.begin(), tokens.end()))
      continue;
    if (b.refs == 0) {
      lru_.erase(b.lru_pos);
      ++in_use_;
    }
    ++b.refs;
    return it->second;
  }
  return std::nullopt;
}

uint64_t KVBlockPool::publish(int32_t id, uint64_t parent_hash, int64_t adapter,
                              std::span<const int32_t> tokens) {
  Block& b = blocks_[size_t(id)];
  const uint64_t h = chain_hash(parent_hash, adapter, tokens);
  if (b.published) return b.hash;
  b.published = true;
  b.hash = h;
  b.parent = parent_hash;
  b.adapter = adapter;
  b.tokens.assign(tokens.begin(), tokens.end());
  by_hash_.emplace(h, id);
  return h;
}

}  // namespace wick::generate
