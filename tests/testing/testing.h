#pragma once
// Test helpers shared by every test binary.
#include <string>

namespace wick::testing {

/// Absolute path of a file under the source tree (fixtures, goldens).
std::string source_path(const std::string& rel);

}  // namespace wick::testing
