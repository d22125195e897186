#include "testing/testing.h"

namespace wick::testing {

std::string source_path(const std::string& rel) { return std::string(WICK_SOURCE_DIR) + "/" + rel; }

}  // namespace wick::testing
