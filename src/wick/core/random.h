#pragma once
// Seeded, counter-based random numbers (splitmix64 over a key and a counter): the same seed gives
// the same numbers on every machine, and the state is two integers (saved in checkpoints).
#include <cstdint>

namespace wick {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  /// Next 64 random bits.
  uint64_t next_u64();
  /// Uniform in [0, 1) with 53 bits.
  double next_double();
  /// Standard normal (Box-Muller).
  double next_normal();
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }
  void set_state(uint64_t seed, uint64_t counter) {
    seed_ = seed;
    counter_ = counter;
  }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

/// The process-wide generator used when an op is given none.
Generator& default_generator();
/// Reseeds the default generator.
void manual_seed(uint64_t seed);

}  // namespace wick
