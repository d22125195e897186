#include <cstdio>

#include "wick/ops.h"

int main() {
  wick::Tensor a = wick::from_vector<float>({1, 2, 3, 4}, {2, 2});
  float s = wick::sum(wick::matmul(a, a)).item<float>();
  std::printf("%g\n", s);
  return s == 54.0f ? 0 : 1;
}
