#include "wick/core/primitive.h"

namespace wick {

const std::vector<const char*>& all_primitive_names() {
  static const std::vector<const char*> names = {
#define WICK_PRIMITIVE(name) #name,
#include "wick/ops/primitives.def"
#undef WICK_PRIMITIVE
  };
  return names;
}

}  // namespace wick
