// Python semantics of template values: truthiness, str/repr, json.dumps, ==, ordering.
#include "wick/tokenizer/jinja_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace wick::jinja {

Value Value::member(const std::string& key) const {
  if (!is_dict()) return {};
  auto it = json_->find(key);
  if (it == json_->end()) return {};
  return Value(json_, &*it);
}

Value Object::get_attr(const std::string&) const { return {}; }
Value Object::call(CallArgs&) { throw EvalError(type_name() + " is not callable"); }

Value Namespace::get_attr(const std::string& name) const {
  for (const auto& [k, v] : attrs_)
    if (k == name) return v;
  return {};
}

void Namespace::set_attr(const std::string& name, Value v) {
  for (auto& [k, old] : attrs_)
    if (k == name) {
      old = std::move(v);
      return;
    }
  attrs_.emplace_back(name, std::move(v));
}

Params::Params(const std::string& what, const CallArgs& a, std::vector<std::string> names)
    : vals_(names.size()) {
  if (a.args.size() > names.size())
    throw EvalError(
        fmt::format("{} takes at most {} arguments, got {}", what, names.size(), a.args.size()));
  for (size_t i = 0; i < a.args.size(); ++i) vals_[i] = a.args[i];
  for (const auto& [k, v] : a.kwargs) {
    auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end())
      throw EvalError(fmt::format("{} got an unexpected argument '{}'", what, k));
    size_t i = static_cast<size_t>(it - names.begin());
    if (i < a.args.size()) throw EvalError(fmt::format("{} got '{}' twice", what, k));
    vals_[i] = v;
  }
}

// ---------------------------------------------------------------------------- UTF-8

size_t utf8_decode(std::string_view s, size_t i, char32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80             ? 1
             : (b & 0xE0) == 0xC0 ? 2
             : (b & 0xF0) == 0xE0 ? 3
             : (b & 0xF8) == 0xF0 ? 4
                                  : 0;
  if (n == 1) {
    cp = b;
    return 1;
  }
  if (n == 0 || i + n > s.size()) {
    cp = b;
    return 1;
  }
  char32_t c = b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    auto t = static_cast<unsigned char>(s[i + k]);
    if ((t & 0xC0) != 0x80) {
      cp = b;
      return 1;
    }
    c = (c << 6) | (t & 0x3F);
  }
  cp = c;
  return n;
}

std::u32string utf8_to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    i += utf8_decode(s, i, c);
    out.push_back(c);
  }
  return out;
}

static void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string u32_to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    char32_t c;
    i += utf8_decode(s, i, c);
  }
  return n;
}

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  std::u32string set;
  if (chars) set = utf8_to_u32(*chars);
  auto strip_it = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : py_isspace(c);
  };
  // Work on code point boundaries so multi-byte characters are stripped whole.
  std::vector<size_t> starts;
  std::u32string cps;
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    starts.push_back(i);
    i += utf8_decode(s, i, c);
    cps.push_back(c);
  }
  starts.push_back(s.size());
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return std::string(s.substr(starts[b], starts[e] - starts[b]));
}

// ---------------------------------------------------------------------------- str / repr

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  // sci = [-]D[.DDDD]e(+|-)XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits.push_back(c);
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    } else {
      auto ip = static_cast<size_t>(exp + 1);
      if (digits.size() <= ip) {
        out += digits;
        out.append(ip - digits.size(), '0');
        out += ".0";
      } else {
        out.append(digits, 0, ip);
        out.push_back('.');
        out.append(digits, ip);
      }
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  }
  return out;
}

static std::string int_str(const Json& j) {
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  return std::to_string(j.get<int64_t>());
}

static void repr_string(const std::string& s, std::string& out) {
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  out.push_back(q);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back(q);
}

static void repr_into(const Json& j, std::string& out, int depth) {
  if (depth > kMaxDepth) throw EvalError("data nested deeper than 256 levels");
  switch (j.type()) {
    case Json::value_t::null:
      out += "None";
      break;
    case Json::value_t::boolean:
      out += j.get<bool>() ? "True" : "False";
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      out += int_str(j);
      break;
    case Json::value_t::number_float:
      out += float_repr(j.get<double>());
      break;
    case Json::value_t::string:
      repr_string(j.get_ref<const std::string&>(), out);
      break;
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += ", ";
        first = false;
        repr_into(e, out, depth + 1);
      }
      out.push_back(']');
      break;
    }
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        repr_string(it.key(), out);
        out += ": ";
        repr_into(it.value(), out, depth + 1);
      }
      out.push_back('}');
      break;
    }
    default:
      out += "<binary>";
  }
}

std::string repr(const Json& j) {
  std::string out;
  repr_into(j, out, 0);
  return out;
}

std::string to_str(const Value& v) {
  if (v.undefined()) return "";
  if (v.is_object()) {
    if (auto* ns = dynamic_cast<Namespace*>(v.object())) {
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [k, x] : ns->attrs()) {
        if (!first) out += ", ";
        first = false;
        repr_string(k, out);
        out += ": ";
        out += x.is_json() ? repr(x.json()) : to_str(x);
      }
      out += "}>";
      return out;
    }
    std::string out = "<";
    out += v.object()->type_name();
    out.push_back('>');
    return out;
  }
  const Json& j = v.json();
  if (j.is_string()) return j.get<std::string>();
  return repr(j);
}

std::string type_name(const Value& v) {
  if (v.undefined()) return "Undefined";
  if (v.is_object()) return v.object()->type_name();
  switch (v.json().type()) {
    case Json::value_t::null:
      return "NoneType";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "float";
    case Json::value_t::string:
      return "str";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "dict";
    default:
      return "binary";
  }
}

Json to_json_value(const Value& v) {
  if (v.undefined()) return Json();
  if (v.is_json()) return v.json();
  if (auto* ns = dynamic_cast<Namespace*>(v.object())) {
    Json o = Json::object();
    for (const auto& [k, x] : ns->attrs()) o[k] = to_json_value(x);
    return o;
  }
  throw EvalError("cannot use a " + v.object()->type_name() + " as data");
}

bool truthy(const Value& v) {
  if (v.undefined()) return false;
  if (v.is_object()) return true;
  const Json& j = v.json();
  switch (j.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return j.get<bool>();
    case Json::value_t::number_integer:
      return j.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return j.get<uint64_t>() != 0;
    case Json::value_t::number_float:
      return j.get<double>() != 0.0;
    case Json::value_t::string:
      return !j.get_ref<const std::string&>().empty();
    default:
      return !j.empty();
  }
}

// ---------------------------------------------------------------------------- json.dumps

static void dump_string(const std::string& s, std::string& out, bool ensure_ascii) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20)
            out += fmt::format("\\u{:04x}", c);
          else
            out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    char32_t cp;
    size_t n = utf8_decode(s, i, cp);
    if (ensure_ascii) {
      if (cp >= 0x10000) {
        char32_t v = cp - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
      }
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
  out.push_back('"');
}

static void dump_into(const Json& j, std::string& out, const DumpOptions& o, int level) {
  if (level > kMaxDepth) throw EvalError("data nested deeper than 256 levels");
  auto newline = [&](int lv) {
    out.push_back('\n');
    for (int k = 0; k < lv; ++k) out += o.indent;
  };
  switch (j.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      out += int_str(j);
      return;
    case Json::value_t::number_float: {
      double d = j.get<double>();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d > 0 ? "Infinity" : "-Infinity";
      else
        out += float_repr(d);
      return;
    }
    case Json::value_t::string:
      dump_string(j.get_ref<const std::string&>(), out, o.ensure_ascii);
      return;
    case Json::value_t::array: {
      if (j.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += o.item_sep;
        first = false;
        if (o.has_indent) newline(level + 1);
        dump_into(e, out, o, level + 1);
      }
      if (o.has_indent) newline(level);
      out.push_back(']');
      return;
    }
    case Json::value_t::object: {
      if (j.empty()) {
        out += "{}";
        return;
      }
      std::vector<std::pair<const std::string*, const Json*>> items;
      for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(&it.key(), &it.value());
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](const auto& a, const auto& b) { return *a.first < *b.first; });
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : items) {
        if (!first) out += o.item_sep;
        first = false;
        if (o.has_indent) newline(level + 1);
        dump_string(*k, out, o.ensure_ascii);
        out += o.key_sep;
        dump_into(*v, out, o, level + 1);
      }
      if (o.has_indent) newline(level);
      out.push_back('}');
      return;
    }
    default:
      throw EvalError("binary data is not JSON serializable");
  }
}

std::string dumps(const Json& j, const DumpOptions& o) {
  std::string out;
  dump_into(j, out, o, 0);
  return out;
}

// ---------------------------------------------------------------------------- ==, ordering

double as_double(const Json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1.0 : 0.0;
  if (j.is_number_unsigned()) return static_cast<double>(j.get<uint64_t>());
  if (j.is_number_integer()) return static_cast<double>(j.get<int64_t>());
  return j.get<double>();
}

int64_t as_int(const Json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1 : 0;
  if (j.is_number_unsigned()) return static_cast<int64_t>(j.get<uint64_t>());
  return j.get<int64_t>();
}

static bool num_like(const Json& j) { return j.is_number() || j.is_boolean(); }

static bool json_eq(const Json& a, const Json& b, int depth) {
  if (depth > kMaxDepth) throw EvalError("data nested deeper than 256 levels");
  if (num_like(a) && num_like(b)) {
    if (a.is_number_float() || b.is_number_float()) return as_double(a) == as_double(b);
    return as_int(a) == as_int(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!json_eq(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto f = b.find(it.key());
      if (f == b.end() || !json_eq(it.value(), *f, depth + 1)) return false;
    }
    return true;
  }
  return a == b;
}

bool py_eq(const Value& a, const Value& b) {
  if (a.undefined() || b.undefined()) return a.undefined() && b.undefined();
  if (a.is_object() || b.is_object()) return a.object() == b.object();
  return json_eq(a.json(), b.json(), 0);
}

static int json_cmp(const Json& a, const Json& b, int depth) {
  if (depth > kMaxDepth) throw EvalError("data nested deeper than 256 levels");
  if (num_like(a) && num_like(b)) {
    if (a.is_number_float() || b.is_number_float()) {
      double x = as_double(a), y = as_double(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = as_int(a), y = as_int(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_array() && b.is_array()) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (json_eq(a[i], b[i], depth + 1)) continue;
      return json_cmp(a[i], b[i], depth + 1);
    }
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
  }
  throw EvalError("cannot order values of these types");
}

int py_cmp(const Value& a, const Value& b) {
  if (!a.is_json() || !b.is_json())
    throw EvalError(
        fmt::format("'<' not supported between '{}' and '{}'", type_name(a), type_name(b)));
  try {
    return json_cmp(a.json(), b.json(), 0);
  } catch (const EvalError&) {
    throw EvalError(fmt::format("'<' not supported between instances of '{}' and '{}'",
                                type_name(a), type_name(b)));
  }
}

}  // namespace wick::jinja
