// Filters and tests of the chat-template interpreter, following jinja2 3.1 (filters.py, tests.py)
// and transformers' tojson (json.dumps without HTML escaping).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

#include "wick/tokenizer/jinja_builtins.h"

namespace wick::jinja {
namespace {

using FilterFn = std::function<Value(const Value&, const CallArgs&)>;

[[noreturn]] void err(const std::string& msg) { throw EvalError(msg); }

Value str_v(std::string s) { return Value(Json(std::move(s))); }

Json list_of(const std::vector<Value>& items) {
  Json out = Json::array();
  for (const Value& v : items) out.push_back(to_json_value(v));
  return out;
}

// environment.getitem over a dotted path ("a.b.0"), as jinja2's make_attrgetter.
Value attr_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? get_item(cur, Value(Json(std::stoll(part)))) : get_item(cur, Value(Json(part)));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Sort key: lower-cased strings unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return str_v(py_lower(v.str()));
  return v;
}

std::vector<Value> sorted(std::vector<Value> items, bool reverse, bool case_sensitive,
                          const std::function<Value(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items) keyed.emplace_back(sort_key(key(v), case_sensitive), v);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? py_cmp(b.first, a.first) < 0 : py_cmp(a.first, b.first) < 0;
  });
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(v);
  return out;
}

std::function<Value(const Value&)> key_fn(const Value& attribute) {
  if (attribute.undefined() || attribute.is_none()) return [](const Value& v) { return v; };
  std::string path = to_str(attribute);
  return [path](const Value& v) { return attr_path(v, path); };
}

// select / reject / selectattr / rejectattr.
Value select(const Value& in, const CallArgs& a, bool attr, bool keep) {
  size_t first = attr ? 1 : 0;
  if (attr && a.args.empty()) err("selectattr/rejectattr need an attribute name");
  std::string test = a.args.size() > first ? to_str(a.args[first]) : "";
  CallArgs targs;
  for (size_t i = first + 1; i < a.args.size(); ++i) targs.args.push_back(a.args[i]);
  Json out = Json::array();
  for (const Value& v : iterate(in)) {
    Value x = attr ? attr_path(v, to_str(a.args[0])) : v;
    bool ok = test.empty() ? truthy(x) : apply_test(test, x, targs);
    if (ok == keep) out.push_back(to_json_value(v));
  }
  return Value(out);
}

std::string indent_text(const std::string& s, const std::string& ind, bool first, bool blank) {
  // jinja2: s += "\n"; lines = s.splitlines(); ...
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  lines.push_back(cur);  // the appended "\n" ends this last line
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i)
      rv += "\n" + (lines[i].empty() ? lines[i] : ind + lines[i]);
  }
  return first ? ind + rv : rv;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Value to_int(const Value& v, const Value& dflt, int base) {
  if (v.is_int() || v.is_bool()) return Value(Json(as_int(v.json())));
  if (v.is_float()) {
    double d = v.json().get<double>();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(Json(static_cast<int64_t>(d)));
    return dflt;
  }
  if (v.is_string()) {
    std::string s = py_strip(v.str(), nullptr, true, true);
    std::string t;
    for (char c : s)
      if (c != '_') t.push_back(c);
    try {
      size_t used = 0;
      long long r = std::stoll(t, &used, base);
      if (used == t.size() && !t.empty()) return Value(Json(static_cast<int64_t>(r)));
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      double d = std::stod(t, &used);
      if (used == t.size() && std::isfinite(d)) return Value(Json(static_cast<int64_t>(d)));
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

const std::unordered_map<std::string, FilterFn>& filters() {
  static const std::unordered_map<std::string, FilterFn> table = [] {
    std::unordered_map<std::string, FilterFn> f;
    auto P = [](const char* name, const CallArgs& a, std::vector<std::string> names) {
      return Params(std::string("filter ") + name, a, std::move(names));
    };
    f["trim"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("trim", a, {"chars"});
      std::string chars = p.has(0) ? to_str(p[0]) : "";
      return str_v(py_strip(to_str(v), p.has(0) && !p[0].is_none() ? &chars : nullptr, true, true));
    };
    f["length"] = [P](const Value& v, const CallArgs& a) {
      P("length", a, {});
      return Value(Json(static_cast<int64_t>(length(v))));
    };
    f["count"] = f["length"];
    f["tojson"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
      DumpOptions o;
      o.ensure_ascii = truthy(p[0]);
      if (p.has(1) && !p[1].is_none()) {
        o.has_indent = true;
        o.item_sep = ",";
        if (p[1].is_string()) {
          o.indent = p[1].str();
        } else if (p[1].is_int()) {
          o.indent =
              std::string(static_cast<size_t>(std::max<int64_t>(0, as_int(p[1].json()))), ' ');
        } else {
          err("tojson: indent must be an int or a string");
        }
      }
      if (p.has(2) && !p[2].is_none()) {
        if (!p[2].is_list() || p[2].json().size() != 2) err("tojson: separators must be a pair");
        o.item_sep = to_str(p[2].at(0));
        o.key_sep = to_str(p[2].at(1));
      }
      o.sort_keys = truthy(p[3]);
      if (v.undefined()) err("tojson: value is undefined");
      return str_v(dumps(to_json_value(v), o));
    };
    f["items"] = [P](const Value& v, const CallArgs& a) {
      P("items", a, {});
      if (v.undefined()) return Value(Json::array());
      if (!v.is_dict()) err(fmt::format("items: expected a mapping, got {}", type_name(v)));
      CallArgs none;
      return get_attribute(v, "items").object()->call(none);
    };
    f["upper"] = [P](const Value& v, const CallArgs& a) {
      P("upper", a, {});
      return str_v(py_upper(to_str(v)));
    };
    f["lower"] = [P](const Value& v, const CallArgs& a) {
      P("lower", a, {});
      return str_v(py_lower(to_str(v)));
    };
    f["capitalize"] = [P](const Value& v, const CallArgs& a) {
      P("capitalize", a, {});
      CallArgs none;
      return get_attribute(Value(Json(to_str(v))), "capitalize").object()->call(none);
    };
    f["title"] = [P](const Value& v, const CallArgs& a) {
      P("title", a, {});
      // jinja2: split on runs of [-\s({[<]; each piece: first char upper, rest lower.
      std::u32string s = utf8_to_u32(to_str(v));
      std::string out;
      bool start = true;
      for (char32_t c : s) {
        bool delim = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        std::string one = u32_to_utf8(std::u32string(1, c));
        if (delim) {
          out += one;
          start = true;
        } else {
          out += start ? py_upper(one) : py_lower(one);
          start = false;
        }
      }
      return str_v(out);
    };
    f["first"] = [P](const Value& v, const CallArgs& a) {
      P("first", a, {});
      auto items = iterate(v);
      return items.empty() ? Value() : items.front();
    };
    f["last"] = [P](const Value& v, const CallArgs& a) {
      P("last", a, {});
      auto items = iterate(v);
      return items.empty() ? Value() : items.back();
    };
    f["join"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("join", a, {"d", "attribute"});
      std::string sep = p.has(0) ? to_str(p[0]) : "", out;
      auto key = key_fn(p[1]);
      bool first = true;
      for (const Value& x : iterate(v)) {
        if (!first) out += sep;
        first = false;
        out += to_str(key(x));
      }
      return str_v(out);
    };
    f["default"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("default", a, {"default_value", "boolean"});
      bool use = truthy(p[1]) ? !truthy(v) : v.undefined();
      if (!use) return v;
      return p.has(0) ? p[0] : str_v("");
    };
    f["d"] = f["default"];
    f["replace"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("replace", a, {"old", "new", "count"});
      CallArgs ca;
      ca.args = {Value(Json(to_str(p[0]))), Value(Json(to_str(p[1])))};
      if (p.has(2) && !p[2].is_none()) ca.args.push_back(p[2]);
      return get_attribute(Value(Json(to_str(v))), "replace").object()->call(ca);
    };
    f["string"] = [P](const Value& v, const CallArgs& a) {
      P("string", a, {});
      return str_v(to_str(v));
    };
    f["safe"] = [P](const Value& v, const CallArgs& a) {
      P("safe", a, {});
      return v;
    };
    f["escape"] = [P](const Value& v, const CallArgs& a) {
      P("escape", a, {});
      return str_v(html_escape(to_str(v)));
    };
    f["e"] = f["escape"];
    f["int"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("int", a, {"default", "base"});
      int base = p.has(1) ? static_cast<int>(as_int(p[1].json())) : 10;
      return to_int(v, p.has(0) ? p[0] : Value(Json(0)), base);
    };
    f["float"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("float", a, {"default"});
      Value dflt = p.has(0) ? p[0] : Value(Json(0.0));
      if (v.is_number()) return Value(Json(as_double(v.json())));
      if (v.is_string()) {
        std::string s = py_strip(v.str(), nullptr, true, true);
        try {
          size_t used = 0;
          double d = std::stod(s, &used);
          if (used == s.size()) return Value(Json(d));
        } catch (const std::exception&) {
        }
      }
      return dflt;
    };
    f["list"] = [P](const Value& v, const CallArgs& a) {
      P("list", a, {});
      return Value(list_of(iterate(v)));
    };
    f["map"] = [](const Value& v, const CallArgs& a) {
      Json out = Json::array();
      std::string attribute;
      Value dflt;
      bool by_attr = false;
      for (const auto& [k, x] : a.kwargs) {
        if (k == "attribute") {
          attribute = to_str(x);
          by_attr = true;
        } else if (k == "default") {
          dflt = x;
        } else if (a.args.empty()) {
          err("filter map got an unexpected argument '" + k + "'");
        }
      }
      if (!by_attr && a.args.empty()) err("filter map needs a filter name or attribute=");
      CallArgs fargs;
      if (!by_attr) {
        fargs.args.assign(a.args.begin() + 1, a.args.end());
        fargs.kwargs = a.kwargs;
      }
      for (const Value& x : iterate(v)) {
        Value r = by_attr ? attr_path(x, attribute) : apply_filter(to_str(a.args[0]), x, fargs);
        if (by_attr && r.undefined()) r = dflt;
        out.push_back(to_json_value(r));
      }
      return Value(out);
    };
    f["select"] = [](const Value& v, const CallArgs& a) { return select(v, a, false, true); };
    f["reject"] = [](const Value& v, const CallArgs& a) { return select(v, a, false, false); };
    f["selectattr"] = [](const Value& v, const CallArgs& a) { return select(v, a, true, true); };
    f["rejectattr"] = [](const Value& v, const CallArgs& a) { return select(v, a, true, false); };
    f["indent"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("indent", a, {"width", "first", "blank"});
      std::string ind = "    ";
      if (p.has(0))
        ind =
            p[0].is_string()
                ? p[0].str()
                : std::string(static_cast<size_t>(std::max<int64_t>(0, as_int(p[0].json()))), ' ');
      return str_v(indent_text(to_str(v), ind, truthy(p[1]), truthy(p[2])));
    };
    f["abs"] = [P](const Value& v, const CallArgs& a) {
      P("abs", a, {});
      if (v.is_float()) return Value(Json(std::fabs(v.json().get<double>())));
      if (v.is_int() || v.is_bool()) return Value(Json(std::llabs(as_int(v.json()))));
      err("abs: expected a number, got " + type_name(v));
    };
    f["round"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("round", a, {"precision", "method"});
      if (!v.is_number()) err("round: expected a number, got " + type_name(v));
      int64_t prec = p.has(0) ? as_int(p[0].json()) : 0;
      std::string method = p.has(1) ? to_str(p[1]) : "common";
      double x = as_double(v.json()), scale = std::pow(10.0, static_cast<double>(prec));
      double y = x * scale;
      if (method == "common")
        y = std::nearbyint(y);
      else if (method == "floor")
        y = std::floor(y);
      else if (method == "ceil")
        y = std::ceil(y);
      else
        err("round: method must be common, ceil or floor");
      return Value(Json(y / scale));
    };
    f["reverse"] = [P](const Value& v, const CallArgs& a) {
      P("reverse", a, {});
      if (v.is_string()) return get_slice(v, {}, {}, Value(Json(-1)));
      auto items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value(list_of(items));
    };
    f["sort"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("sort", a, {"reverse", "case_sensitive", "attribute"});
      return Value(list_of(sorted(iterate(v), truthy(p[0]), truthy(p[1]), key_fn(p[2]))));
    };
    f["dictsort"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("dictsort", a, {"case_sensitive", "by", "reverse"});
      if (!v.is_dict()) err("dictsort: expected a mapping, got " + type_name(v));
      bool by_value = p.has(1) && to_str(p[1]) == "value";
      std::vector<Value> pairs;
      for (auto it = v.json().begin(); it != v.json().end(); ++it)
        pairs.emplace_back(Json::array({it.key(), it.value()}));
      auto key = [by_value](const Value& x) { return x.at(by_value ? 1 : 0); };
      return Value(list_of(sorted(pairs, truthy(p[2]), truthy(p[0]), key)));
    };
    f["unique"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("unique", a, {"case_sensitive", "attribute"});
      auto key = key_fn(p[1]);
      std::vector<Value> seen, out;
      for (const Value& x : iterate(v)) {
        Value k = sort_key(key(x), truthy(p[0]));
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return py_eq(s, k); })) {
          seen.push_back(k);
          out.push_back(x);
        }
      }
      return Value(list_of(out));
    };
    auto minmax = [P](bool want_max) {
      return [P, want_max](const Value& v, const CallArgs& a) {
        Params p = P(want_max ? "max" : "min", a, {"case_sensitive", "attribute"});
        auto items = iterate(v);
        if (items.empty()) return Value();
        auto key = key_fn(p[1]);
        bool cs = truthy(p[0]);
        Value best = items[0];
        for (size_t i = 1; i < items.size(); ++i) {
          int c = py_cmp(sort_key(key(items[i]), cs), sort_key(key(best), cs));
          if (want_max ? c > 0 : c < 0) best = items[i];
        }
        return best;
      };
    };
    f["max"] = minmax(true);
    f["min"] = minmax(false);
    f["sum"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("sum", a, {"attribute", "start"});
      auto key = key_fn(p[0]);
      Value total = p.has(1) ? p[1] : Value(Json(0));
      for (const Value& x : iterate(v)) total = binary_op("+", total, key(x));
      return total;
    };
    f["wordcount"] = [P](const Value& v, const CallArgs& a) {
      P("wordcount", a, {});
      CallArgs none;
      Value parts = get_attribute(Value(Json(to_str(v))), "split").object()->call(none);
      return Value(Json(static_cast<int64_t>(parts.json().size())));
    };
    f["format"] = [](const Value& v, const CallArgs& a) {
      Json args = Json::array();
      for (const Value& x : a.args) args.push_back(to_json_value(x));
      return binary_op("%", Value(Json(to_str(v))), Value(args));
    };
    f["attr"] = [P](const Value& v, const CallArgs& a) {
      Params p = P("attr", a, {"name"});
      // getattr only: a dict's keys are not attributes (its methods are).
      Value r = get_attribute(v, to_str(p[0]));
      return v.is_dict() && !r.is_object() ? Value() : r;
    };
    return f;
  }();
  return table;
}

bool num_test(const Value& v) { return v.is_number(); }

}  // namespace

Value apply_filter(const std::string& name, const Value& in, const CallArgs& args) {
  const auto& t = filters();
  auto it = t.find(name);
  if (it == t.end()) err(fmt::format("no filter named '{}'", name));
  return it->second(in, args);
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& a) {
  auto arg = [&](const char* what) -> Value {
    Params p(std::string("test ") + what, a, {"other"});
    if (a.args.empty() && a.kwargs.empty()) err(fmt::format("test '{}' needs an argument", what));
    return p[0];
  };
  auto noargs = [&]() {
    if (!a.args.empty() || !a.kwargs.empty())
      err(fmt::format("test '{}' takes no arguments", name));
  };
  if (name == "defined") return noargs(), !v.undefined();
  if (name == "undefined") return noargs(), v.undefined();
  if (name == "none") return noargs(), v.is_none();
  if (name == "boolean") return noargs(), v.is_bool();
  if (name == "true") return noargs(), v.is_bool() && v.json().get<bool>();
  if (name == "false") return noargs(), v.is_bool() && !v.json().get<bool>();
  if (name == "integer") return noargs(), v.is_int();
  if (name == "float") return noargs(), v.is_float();
  if (name == "number") return noargs(), num_test(v);
  if (name == "string") return noargs(), v.is_string();
  if (name == "mapping") return noargs(), v.is_dict();
  // jinja2's Undefined has __iter__, __len__ and __getitem__, so it passes these two.
  if (name == "iterable")
    return noargs(), v.undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "sequence")
    return noargs(), v.undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "callable") return noargs(), v.is_object() && v.object()->callable();
  if (name == "escaped") return noargs(), false;
  if (name == "lower") return noargs(), v.is_string() && py_lower(v.str()) == v.str();
  if (name == "upper") return noargs(), v.is_string() && py_upper(v.str()) == v.str();
  if (name == "odd" || name == "even") {
    noargs();
    if (!v.is_int() && !v.is_bool()) err(fmt::format("test '{}' needs an integer", name));
    int64_t r = as_int(v.json()) % 2;
    return name == "odd" ? r != 0 : r == 0;
  }
  if (name == "divisibleby") {
    const Value& o = arg("divisibleby");
    if (!(v.is_int() || v.is_bool()) || !(o.is_int() || o.is_bool()) || as_int(o.json()) == 0)
      err("test 'divisibleby' needs integers and a non-zero divisor");
    return as_int(v.json()) % as_int(o.json()) == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return py_eq(v, arg("eq"));
  if (name == "ne" || name == "!=") return !py_eq(v, arg("ne"));
  if (name == "lt" || name == "lessthan" || name == "<") return py_cmp(v, arg("lt")) < 0;
  if (name == "le" || name == "<=") return py_cmp(v, arg("le")) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return py_cmp(v, arg("gt")) > 0;
  if (name == "ge" || name == ">=") return py_cmp(v, arg("ge")) >= 0;
  if (name == "in") return contains(arg("in"), v);
  if (name == "sameas") {
    const Value& o = arg("sameas");
    // Python identity: None/True/False are singletons; objects compare by address.
    if (v.is_object() || o.is_object()) return v.object() == o.object();
    if (v.is_none() || v.is_bool())
      return o.is_json() && v.json() == o.json() && o.json().type() == v.json().type();
    return v.is_json() && o.is_json() && v.json_ptr() == o.json_ptr();
  }
  err(fmt::format("no test named '{}'", name));
}

}  // namespace wick::jinja
