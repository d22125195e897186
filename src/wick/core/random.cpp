#include "wick/core/random.h"

#include <cmath>
#include <numbers>

namespace wick {

uint64_t Generator::next_u64() { return random_bits(seed_, counter_++); }

double Generator::next_double() { return bits_to_double(next_u64()); }

double Generator::next_normal() {
  double u1 = next_double(), u2 = next_double();
  return box_muller(u1, u2);
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace wick
