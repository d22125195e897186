#pragma once
// Seeded, counter-based random numbers (splitmix64 over a key and a counter): the same seed gives
// the same numbers on every machine, and the state is two integers (saved in checkpoints).
#include <cmath>
#include <cstdint>
#include <numbers>

namespace wick {

/// The counter-based generator's function: 64 random bits for (seed, counter). Any device
/// computes element i of a draw from (seed, first counter + i), in any order.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline uint64_t random_bits(uint64_t seed, uint64_t counter) {
  return splitmix64(splitmix64(seed) ^ (counter * 0xd1342543de82ef95ull));
}
/// Uniform in [0, 1) with 53 bits.
inline double bits_to_double(uint64_t b) { return double(b >> 11) * 0x1.0p-53; }
/// Standard normal from two uniforms (Box-Muller, cosine branch).
inline double box_muller(double u1, double u2) {
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

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
