// Attribute and item access, Python str/dict methods, operators, iteration and the global
// functions of the chat-template interpreter.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <ctime>

#include "wick/tokenizer/jinja_builtins.h"
#include "wick/tokenizer/unicode.h"

namespace wick::jinja {
namespace {

// Simple upper-case mapping: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic.
void append_upper(std::string& out, char32_t c) {
  char32_t u = c;
  if (c >= 'a' && c <= 'z') {
    u = c - 32;
  } else if (c == 0xDF) {
    out += "SS";
    return;
  } else if (c == 0xB5) {
    u = 0x39C;
  } else if (c >= 0xE0 && c <= 0xFE && c != 0xF7) {
    u = c - 32;
  } else if (c == 0xFF) {
    u = 0x178;
  } else if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
    u = (c & 1) ? c - 1 : c;
  } else if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
    u = (c & 1) ? c : c - 1;
  } else if (c >= 0x3B1 && c <= 0x3C9) {
    u = c == 0x3C2 ? 0x3A3 : c - 32;
  } else if (c >= 0x430 && c <= 0x44F) {
    u = c - 32;
  } else if (c >= 0x450 && c <= 0x45F) {
    u = c - 80;
  }
  out += u32_to_utf8(std::u32string(1, u));
}

bool is_cased(char32_t c) {
  std::string u, l, self = u32_to_utf8(std::u32string(1, c));
  append_upper(u, c);
  tok::append_lowercase(l, c);
  return u != self || l != self;
}

std::string upper_cp(char32_t c) {
  std::string s;
  append_upper(s, c);
  return s;
}
std::string lower_cp(char32_t c) {
  std::string s;
  tok::append_lowercase(s, c);
  return s;
}

[[noreturn]] void type_error(const std::string& msg) { throw EvalError(msg); }

const std::string& need_str(const Value& v, const std::string& what) {
  if (!v.is_string()) type_error(fmt::format("{} expects a string, got {}", what, type_name(v)));
  return v.str();
}

int64_t need_int(const Value& v, const std::string& what) {
  if (!v.is_int() && !v.is_bool())
    type_error(fmt::format("{} expects an integer, got {}", what, type_name(v)));
  return as_int(v.json());
}

// str.split / rsplit (sep null: runs of whitespace, empty pieces dropped).
Json py_split(const std::string& s, const Value& sep_v, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep_v.undefined() || sep_v.is_none()) {
    std::u32string cps = utf8_to_u32(s);
    std::vector<std::pair<size_t, size_t>> words;  // code point ranges
    for (size_t i = 0; i < cps.size();) {
      while (i < cps.size() && py_isspace(cps[i])) ++i;
      if (i == cps.size()) break;
      size_t b = i;
      while (i < cps.size() && !py_isspace(cps[i])) ++i;
      words.emplace_back(b, i);
    }
    if (maxsplit >= 0 && static_cast<int64_t>(words.size()) > maxsplit + 1) {
      // The unsplit remainder keeps its inner whitespace (trailing/leading stripped).
      size_t keep = static_cast<size_t>(maxsplit);
      if (!from_right) {
        for (size_t k = 0; k < keep; ++k)
          parts.push_back(
              u32_to_utf8(cps.substr(words[k].first, words[k].second - words[k].first)));
        size_t b = words[keep].first, e = words.back().second;
        parts.push_back(u32_to_utf8(cps.substr(b, e - b)));
      } else {
        size_t first = words.size() - keep;
        size_t b = words.front().first, e = words[first - 1].second;
        parts.push_back(u32_to_utf8(cps.substr(b, e - b)));
        for (size_t k = first; k < words.size(); ++k)
          parts.push_back(
              u32_to_utf8(cps.substr(words[k].first, words[k].second - words[k].first)));
      }
    } else {
      for (auto [b, e] : words) parts.push_back(u32_to_utf8(cps.substr(b, e - b)));
    }
  } else {
    const std::string& sep = need_str(sep_v, "split");
    if (sep.empty()) type_error("split: empty separator");
    if (!from_right) {
      size_t pos = 0;
      int64_t n = 0;
      while (maxsplit < 0 || n < maxsplit) {
        size_t f = s.find(sep, pos);
        if (f == std::string::npos) break;
        parts.push_back(s.substr(pos, f - pos));
        pos = f + sep.size();
        ++n;
      }
      parts.push_back(s.substr(pos));
    } else {
      size_t end = s.size();
      int64_t n = 0;
      std::vector<std::string> rev;
      while (maxsplit < 0 || n < maxsplit) {
        if (end < sep.size()) break;
        size_t f = s.rfind(sep, end - sep.size());
        if (f == std::string::npos) break;
        rev.push_back(s.substr(f + sep.size(), end - f - sep.size()));
        end = f;
        ++n;
      }
      rev.push_back(s.substr(0, end));
      parts.assign(rev.rbegin(), rev.rend());
    }
  }
  Json a = Json::array();
  for (auto& p : parts) a.push_back(std::move(p));
  return a;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to,
                       int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between characters (and at both ends).
    int64_t n = 0;
    for (size_t i = 0; i < s.size();) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      char32_t c;
      size_t k = utf8_decode(s, i, c);
      out.append(s, i, k);
      i += k;
    }
    if (count < 0 || n < count) out += to;
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    pos = f + from.size();
    ++n;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// str.format with {} / {0} / {name} fields (no format specs or conversions).
std::string py_format(const std::string& f, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '{' && i + 1 < f.size() && f[i + 1] == '{') {
      out.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < f.size() && f[i + 1] == '}') {
      out.push_back('}');
      ++i;
    } else if (c == '{') {
      size_t e = f.find('}', i);
      if (e == std::string::npos) type_error("format: unmatched '{'");
      std::string field = f.substr(i + 1, e - i - 1);
      if (field.find_first_of(":!") != std::string::npos)
        type_error("format: format specs and conversions are not supported");
      Value v;
      if (field.empty()) {
        if (auto_idx >= a.args.size()) type_error("format: not enough arguments");
        v = a.args[auto_idx++];
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        size_t k = std::stoul(field);
        if (k >= a.args.size()) type_error("format: argument index out of range");
        v = a.args[k];
      } else {
        bool found = false;
        for (const auto& [name, x] : a.kwargs)
          if (name == field) {
            v = x;
            found = true;
          }
        if (!found) type_error("format: missing argument '" + field + "'");
      }
      out += to_str(v);
      i = e;
    } else if (c == '}') {
      type_error("format: single '}'");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Value make_fn(const std::string& name, Function::Fn fn) {
  return Value(std::make_shared<Function>(name, std::move(fn)));
}

Value str_method(const Value& self, const std::string& name) {
  static const char* kNames[] = {
      "startswith", "endswith", "split",   "rsplit",       "strip",        "lstrip",  "rstrip",
      "upper",      "lower",    "title",   "capitalize",   "replace",      "format",  "join",
      "find",       "rfind",    "count",   "splitlines",   "isdigit",      "isalpha", "isalnum",
      "isspace",    "isupper",  "islower", "removeprefix", "removesuffix", "swapcase"};
  if (std::find_if(std::begin(kNames), std::end(kNames),
                   [&](const char* n) { return name == n; }) == std::end(kNames))
    return {};
  return make_fn("str." + name, [self, name](CallArgs& a) -> Value {
    const std::string& s = self.str();
    const std::string what = "str." + name;
    auto p = [&](std::vector<std::string> names) { return Params(what, a, std::move(names)); };
    if (name == "startswith" || name == "endswith") {
      Params ps = p({"prefix"});
      std::vector<std::string> opts;
      if (ps[0].is_list()) {
        for (size_t i = 0; i < ps[0].json().size(); ++i)
          opts.push_back(need_str(ps[0].at(i), what));
      } else {
        opts.push_back(need_str(ps[0], what));
      }
      for (const auto& o : opts) {
        bool hit = name == "startswith"
                       ? s.compare(0, o.size(), o) == 0
                       : s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0;
        if (hit) return Value(Json(true));
      }
      return Value(Json(false));
    }
    if (name == "split" || name == "rsplit") {
      Params ps = p({"sep", "maxsplit"});
      return Value(py_split(s, ps[0], ps.has(1) ? need_int(ps[1], what) : -1, name == "rsplit"));
    }
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      Params ps = p({"chars"});
      const std::string* chars = nullptr;
      if (ps.has(0) && !ps[0].is_none()) chars = &need_str(ps[0], what);
      return Value(Json(py_strip(s, chars, name != "rstrip", name != "lstrip")));
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
        name == "swapcase") {
      p({});
      if (name == "upper") return Value(Json(py_upper(s)));
      if (name == "lower") return Value(Json(py_lower(s)));
      std::string out;
      bool prev_cased = false;
      size_t idx = 0;
      for (char32_t c : utf8_to_u32(s)) {
        if (name == "title") {
          out += prev_cased ? lower_cp(c) : upper_cp(c);
          prev_cased = is_cased(c);
        } else if (name == "capitalize") {
          out += idx == 0 ? upper_cp(c) : lower_cp(c);
        } else {
          std::string u = upper_cp(c), self_s = u32_to_utf8(std::u32string(1, c));
          out += u != self_s ? u : lower_cp(c);
        }
        ++idx;
      }
      return Value(Json(out));
    }
    if (name == "replace") {
      Params ps = p({"old", "new", "count"});
      return Value(Json(py_replace(s, need_str(ps[0], what), need_str(ps[1], what),
                                   ps.has(2) ? need_int(ps[2], what) : -1)));
    }
    if (name == "format") return Value(Json(py_format(s, a)));
    if (name == "join") {
      Params ps = p({"iterable"});
      std::string out;
      bool first = true;
      for (const Value& v : iterate(ps[0])) {
        if (!first) out += s;
        first = false;
        out += need_str(v, what);
      }
      return Value(Json(out));
    }
    if (name == "find" || name == "rfind" || name == "count") {
      Params ps = p({"sub"});
      const std::string& sub = need_str(ps[0], what);
      if (name == "count") {
        if (sub.empty()) return Value(Json(static_cast<int64_t>(utf8_length(s) + 1)));
        int64_t n = 0;
        for (size_t f = s.find(sub); f != std::string::npos; f = s.find(sub, f + sub.size())) ++n;
        return Value(Json(n));
      }
      size_t f = name == "find" ? s.find(sub) : s.rfind(sub);
      if (f == std::string::npos) return Value(Json(static_cast<int64_t>(-1)));
      return Value(Json(static_cast<int64_t>(utf8_length(s.substr(0, f)))));
    }
    if (name == "splitlines") {
      Params ps = p({"keepends"});
      bool keep = truthy(ps[0]);
      Json out = Json::array();
      std::u32string cps = utf8_to_u32(s), cur;
      for (size_t i = 0; i < cps.size(); ++i) {
        char32_t c = cps[i];
        bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
                   c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!brk) {
          cur.push_back(c);
          continue;
        }
        if (keep) cur.push_back(c);
        if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') {
          if (keep) cur.push_back('\n');
          ++i;
        }
        out.push_back(u32_to_utf8(cur));
        cur.clear();
      }
      if (!cur.empty()) out.push_back(u32_to_utf8(cur));
      return Value(out);
    }
    if (name == "removeprefix" || name == "removesuffix") {
      Params ps = p({"affix"});
      const std::string& x = need_str(ps[0], what);
      if (name == "removeprefix" && s.compare(0, x.size(), x) == 0)
        return Value(Json(s.substr(x.size())));
      if (name == "removesuffix" && s.size() >= x.size() &&
          s.compare(s.size() - x.size(), x.size(), x) == 0)
        return Value(Json(s.substr(0, s.size() - x.size())));
      return Value(Json(s));
    }
    // is* predicates.
    p({});
    std::u32string cps = utf8_to_u32(s);
    if (cps.empty()) return Value(Json(false));
    bool all = true, any_cased = false;
    for (char32_t c : cps) {
      bool ok = true;
      if (name == "isdigit") ok = c >= '0' && c <= '9';
      if (name == "isalpha") ok = tok::is_alphanumeric(c) && !(c >= '0' && c <= '9');
      if (name == "isalnum") ok = tok::is_alphanumeric(c);
      if (name == "isspace") ok = py_isspace(c);
      if (name == "isupper" || name == "islower") {
        std::string self_s = u32_to_utf8(std::u32string(1, c));
        bool is_up = lower_cp(c) != self_s, is_low = upper_cp(c) != self_s;
        if (is_up || is_low) any_cased = true;
        ok = name == "isupper" ? !is_low : !is_up;
      }
      all = all && ok;
    }
    if (name == "isupper" || name == "islower") all = all && any_cased;
    return Value(Json(all));
  });
}

Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return make_fn("dict." + name, [self, name](CallArgs& a) -> Value {
      Params("dict." + name, a, {});
      Json out = Json::array();
      for (auto it = self.json().begin(); it != self.json().end(); ++it) {
        if (name == "items")
          out.push_back(Json::array({it.key(), it.value()}));
        else if (name == "keys")
          out.push_back(it.key());
        else
          out.push_back(it.value());
      }
      return Value(out);
    });
  }
  if (name == "get") {
    return make_fn("dict.get", [self](CallArgs& a) -> Value {
      Params ps("dict.get", a, {"key", "default"});
      Value v = ps[0].is_string() ? self.member(ps[0].str()) : Value();
      if (!v.undefined()) return v;
      return ps.has(1) ? ps[1] : Value(Json());
    });
  }
  return {};
}

// printf-style `fmt % args` for %s %r %d %i %f %x %% (and %.Nf).
std::string percent_format(const std::string& f, const Value& args) {
  std::vector<Value> list;
  if (args.is_list()) {
    for (size_t i = 0; i < args.json().size(); ++i) list.push_back(args.at(i));
  } else {
    list.push_back(args);
  }
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out.push_back(f[i]);
      continue;
    }
    if (++i >= f.size()) type_error("incomplete format");
    int prec = -1;
    if (f[i] == '.') {
      prec = 0;
      while (++i < f.size() && std::isdigit(static_cast<unsigned char>(f[i])))
        prec = prec * 10 + (f[i] - '0');
    }
    char c = f[i];
    if (c == '%') {
      out.push_back('%');
      continue;
    }
    if (k >= list.size()) type_error("not enough arguments for format string");
    const Value& v = list[k++];
    if (c == 's') {
      out += to_str(v);
    } else if (c == 'r') {
      out += v.is_json() ? repr(v.json()) : to_str(v);
    } else if (c == 'd' || c == 'i' || c == 'x' || c == 'f') {
      if (!v.is_number()) type_error(fmt::format("%{} format: a number is required", c));
      if (c == 'f')
        out += fmt::format("{:.{}f}", as_double(v.json()), prec < 0 ? 6 : prec);
      else if (c == 'x')
        out += fmt::format("{:x}", as_int(v.json()));
      else
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.json().get<double>())
                                           : as_int(v.json()));
    } else {
      type_error(fmt::format("unsupported format character '{}'", c));
    }
  }
  if (k < list.size() && args.is_list())
    type_error("not all arguments converted during string formatting");
  return out;
}

}  // namespace

std::string py_upper(const std::string& s) {
  std::string out;
  for (char32_t c : utf8_to_u32(s)) append_upper(out, c);
  return out;
}

std::string py_lower(const std::string& s) {
  std::string out;
  for (char32_t c : utf8_to_u32(s)) tok::append_lowercase(out, c);
  return out;
}

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.undefined()) return {};
  if (obj.is_object()) return obj.object()->get_attr(name);
  if (obj.is_dict()) {
    // jinja2 tries getattr first, so dict methods win over keys of the same name.
    Value m = dict_method(obj, name);
    return m.undefined() ? obj.member(name) : m;
  }
  if (obj.is_string()) return str_method(obj, name);
  return {};
}

static bool index_of(const Value& key, size_t size, size_t& idx) {
  if (!key.is_int() && !key.is_bool()) return false;
  int64_t i = as_int(key.json());
  if (i < 0) i += static_cast<int64_t>(size);
  if (i < 0 || i >= static_cast<int64_t>(size)) return false;
  idx = static_cast<size_t>(i);
  return true;
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.undefined()) return {};
  if (obj.is_object()) return key.is_string() ? obj.object()->get_attr(key.str()) : Value();
  size_t idx;
  if (obj.is_dict()) {
    if (key.is_string()) {
      Value v = obj.member(key.str());
      return v.undefined() ? dict_method(obj, key.str()) : v;
    }
    return {};
  }
  if (obj.is_list()) return index_of(key, obj.json().size(), idx) ? obj.at(idx) : Value();
  if (obj.is_string()) {
    if (key.is_string()) return str_method(obj, key.str());
    std::u32string cps = utf8_to_u32(obj.str());
    if (!index_of(key, cps.size(), idx)) return {};
    return Value(Json(u32_to_utf8(cps.substr(idx, 1))));
  }
  return {};
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  auto opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.undefined() || v.is_none()) return std::nullopt;
    return need_int(v, std::string("slice ") + what);
  };
  std::optional<int64_t> b = opt(start, "start"), e = opt(stop, "stop"), s = opt(step, "step");
  int64_t st = s.value_or(1);
  if (st == 0) type_error("slice step cannot be zero");
  auto pick = [&](int64_t n, auto&& emit) {
    auto norm = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? *v + n : *v;
      if (st > 0) return std::clamp<int64_t>(x, 0, n);
      return std::clamp<int64_t>(x, -1, n - 1);
    };
    if (st > 0) {
      for (int64_t i = norm(b, 0), end = norm(e, n); i < end; i += st) emit(static_cast<size_t>(i));
    } else {
      for (int64_t i = norm(b, n - 1), end = norm(e, -1); i > end; i += st)
        emit(static_cast<size_t>(i));
    }
  };
  if (obj.is_list()) {
    Json out = Json::array();
    const Json& j = obj.json();
    pick(static_cast<int64_t>(j.size()), [&](size_t i) { out.push_back(j[i]); });
    return Value(out);
  }
  if (obj.is_string()) {
    std::u32string cps = utf8_to_u32(obj.str()), out;
    pick(static_cast<int64_t>(cps.size()), [&](size_t i) { out.push_back(cps[i]); });
    return Value(Json(u32_to_utf8(out)));
  }
  if (obj.undefined()) return {};
  type_error(fmt::format("'{}' object is not subscriptable", type_name(obj)));
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> out;
  if (v.undefined()) return out;
  if (v.is_list()) {
    out.reserve(v.json().size());
    for (size_t i = 0; i < v.json().size(); ++i) out.push_back(v.at(i));
  } else if (v.is_dict()) {
    for (auto it = v.json().begin(); it != v.json().end(); ++it) out.emplace_back(Json(it.key()));
  } else if (v.is_string()) {
    for (char32_t c : utf8_to_u32(v.str()))
      out.emplace_back(Json(u32_to_utf8(std::u32string(1, c))));
  } else {
    type_error(fmt::format("'{}' object is not iterable", type_name(v)));
  }
  return out;
}

bool contains(const Value& container, const Value& item) {
  if (container.undefined()) return false;
  if (container.is_string()) {
    if (!item.is_string())
      type_error(
          fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_list()) {
    for (size_t i = 0; i < container.json().size(); ++i)
      if (py_eq(container.at(i), item)) return true;
    return false;
  }
  if (container.is_dict()) return item.is_string() && !container.member(item.str()).undefined();
  type_error(fmt::format("argument of type '{}' is not iterable", type_name(container)));
}

size_t length(const Value& v) {
  if (v.undefined()) return 0;
  if (v.is_string()) return utf8_length(v.str());
  if (v.is_list() || v.is_dict()) return v.json().size();
  if (auto* ns = v.is_object() ? dynamic_cast<Namespace*>(v.object()) : nullptr)
    return ns->attrs().size();
  type_error(fmt::format("object of type '{}' has no len()", type_name(v)));
}

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(Json(to_str(a) + to_str(b)));
  if (a.undefined() || b.undefined())
    type_error(fmt::format("undefined value used with operator '{}'", op));
  auto bad = [&]() -> Value {
    type_error(fmt::format("unsupported operand types for {}: '{}' and '{}'", op, type_name(a),
                           type_name(b)));
  };
  if (!a.is_json() || !b.is_json()) return bad();
  const Json &x = a.json(), &y = b.json();
  bool nums = a.is_number() && b.is_number();
  bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) {
      int64_t r = 0;
      if (__builtin_add_overflow(as_int(x), as_int(y), &r)) type_error("integer overflow");
      return Value(Json(r));
    }
    if (nums) return Value(Json(as_double(x) + as_double(y)));
    if (x.is_string() && y.is_string()) return Value(Json(a.str() + b.str()));
    if (x.is_array() && y.is_array()) {
      Json r = x;
      for (const auto& e : y) r.push_back(e);
      return Value(r);
    }
    return bad();
  }
  if (op == "-") {
    if (ints) {
      int64_t r = 0;
      if (__builtin_sub_overflow(as_int(x), as_int(y), &r)) type_error("integer overflow");
      return Value(Json(r));
    }
    if (nums) return Value(Json(as_double(x) - as_double(y)));
    return bad();
  }
  if (op == "*") {
    if (ints) {
      int64_t r = 0;
      if (__builtin_mul_overflow(as_int(x), as_int(y), &r)) type_error("integer overflow");
      return Value(Json(r));
    }
    if (nums) return Value(Json(as_double(x) * as_double(y)));
    const Value* seq = (x.is_string() || x.is_array()) ? &a : &b;
    const Value* cnt = seq == &a ? &b : &a;
    if (!(seq->is_string() || seq->is_list()) || !(cnt->is_int() || cnt->is_bool())) return bad();
    int64_t n = std::max<int64_t>(0, as_int(cnt->json()));
    size_t unit = seq->is_string() ? seq->str().size() : seq->json().size();
    if (unit > 0 && static_cast<uint64_t>(n) > (size_t{1} << 28) / unit)
      type_error("repetition result too large");
    if (seq->is_string()) {
      std::string r;
      for (int64_t i = 0; i < n; ++i) r += seq->str();
      return Value(Json(r));
    }
    Json r = Json::array();
    for (int64_t i = 0; i < n; ++i)
      for (const auto& e : seq->json()) r.push_back(e);
    return Value(r);
  }
  if (op == "%" && x.is_string()) return Value(Json(percent_format(a.str(), b)));
  if (!nums) return bad();
  if (op == "/") {
    if (as_double(y) == 0) type_error("division by zero");
    return Value(Json(as_double(x) / as_double(y)));
  }
  if (op == "//" || op == "%") {
    if (as_double(y) == 0) type_error(op == "//" ? "integer division by zero" : "modulo by zero");
    if (ints) {
      int64_t p = as_int(x), q = as_int(y);
      if (p == INT64_MIN && q == -1) type_error("integer overflow");
      int64_t d = p / q, m = p % q;
      if (m != 0 && ((m < 0) != (q < 0))) {
        --d;
        m += q;
      }
      return Value(Json(op == "//" ? d : m));
    }
    double p = as_double(x), q = as_double(y);
    double m = std::fmod(p, q);
    if (m != 0 && ((m < 0) != (q < 0))) m += q;
    if (op == "%") return Value(Json(m));
    return Value(Json(std::floor(p / q)));
  }
  if (op == "**") {
    if (ints && as_int(y) >= 0) {
      int64_t base = as_int(x), e = as_int(y), r = 1;
      for (int64_t i = 0; i < e; ++i) {
        if (__builtin_mul_overflow(r, base, &r)) type_error("integer overflow");
        if (r == 0 || r == 1) break;
      }
      return Value(Json(r));
    }
    return Value(Json(std::pow(as_double(x), as_double(y))));
  }
  return bad();
}

std::vector<std::pair<std::string, Value>> make_globals() {
  std::vector<std::pair<std::string, Value>> g;
  g.emplace_back("range", make_fn("range", [](CallArgs& a) -> Value {
                   Params ps("range", a, {"start", "stop", "step"});
                   int64_t start = 0, stop, step = 1;
                   if (!ps.has(0)) type_error("range expected at least 1 argument");
                   if (ps.has(1)) {
                     start = need_int(ps[0], "range");
                     stop = need_int(ps[1], "range");
                   } else {
                     stop = need_int(ps[0], "range");
                   }
                   if (ps.has(2)) step = need_int(ps[2], "range");
                   if (step == 0) type_error("range() arg 3 must not be zero");
                   Json out = Json::array();
                   for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                     // jinja2's sandbox caps ranges at 100000 items.
                     if (out.size() >= 100000) type_error("range too big (limit 100000 items)");
                     out.push_back(i);
                   }
                   return Value(out);
                 }));
  g.emplace_back("namespace", make_fn("namespace", [](CallArgs& a) -> Value {
                   auto ns = std::make_shared<Namespace>();
                   for (const Value& d : a.args) {
                     if (!d.is_dict()) type_error("namespace() positional argument must be a dict");
                     for (auto it = d.json().begin(); it != d.json().end(); ++it)
                       ns->set_attr(it.key(), Value(Json(it.value())));
                   }
                   for (const auto& [k, v] : a.kwargs) ns->set_attr(k, v);
                   return Value(std::shared_ptr<Object>(ns));
                 }));
  g.emplace_back("dict", make_fn("dict", [](CallArgs& a) -> Value {
                   Json out = Json::object();
                   for (const Value& d : a.args) {
                     if (!d.is_dict()) type_error("dict() positional argument must be a dict");
                     for (auto it = d.json().begin(); it != d.json().end(); ++it)
                       out[it.key()] = it.value();
                   }
                   for (const auto& [k, v] : a.kwargs) out[k] = to_json_value(v);
                   return Value(out);
                 }));
  g.emplace_back("raise_exception", make_fn("raise_exception", [](CallArgs& a) -> Value {
                   Params ps("raise_exception", a, {"message"});
                   throw RaisedError(to_str(ps[0]));
                 }));
  // transformers: datetime.now().strftime(format), i.e. local time of this machine.
  g.emplace_back("strftime_now", make_fn("strftime_now", [](CallArgs& a) -> Value {
                   Params ps("strftime_now", a, {"format"});
                   const std::string& f = need_str(ps[0], "strftime_now");
                   std::time_t now = std::time(nullptr);
                   std::tm tm{};
                   localtime_r(&now, &tm);
                   std::string buf(256 + f.size() * 8, '\0');
                   size_t n = std::strftime(buf.data(), buf.size(), f.c_str(), &tm);
                   buf.resize(n);
                   return Value(Json(buf));
                 }));
  return g;
}

}  // namespace wick::jinja
