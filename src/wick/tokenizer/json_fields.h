#pragma once
// Small readers of optional tokenizer.json fields shared by the component factories.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace wick::tok {

/// j[key] as a bool, or `def` when the key is absent or null.
inline bool opt_bool(const nlohmann::json& j, const char* key, bool def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  return it->get<bool>();
}

/// j[key] as a string, or nothing when the key is absent or null.
inline std::optional<std::string> opt_string(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace wick::tok
