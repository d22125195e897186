#pragma once
// Values of the Jinja interpreter behind chat templates. Data (strings, numbers, lists, dicts) is
// an immutable nlohmann::ordered_json shared by pointer (sub-values alias their root, so reading
// messages[0] copies nothing); namespaces, the loop object and callables are Objects.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wick::jinja {

using Json = nlohmann::ordered_json;

/// Deepest nesting of data, expressions, statements and macro calls the interpreter accepts.
constexpr int kMaxDepth = 256;

class Object;

/// A template value: undefined, a JSON datum (None/bool/int/float/str/list/dict), or an Object.
class Value {
 public:
  Value() = default;
  /// An owned JSON datum.
  Value(Json j) : json_(std::make_shared<const Json>(std::move(j))) {}  // NOLINT
  /// A datum inside a shared root (aliasing pointer: keeps the root alive, copies nothing).
  Value(std::shared_ptr<const Json> root, const Json* node) : json_(std::move(root), node) {}
  /// An object (namespace, loop, callable).
  Value(std::shared_ptr<Object> o) : obj_(std::move(o)) {}  // NOLINT

  bool undefined() const { return !json_ && !obj_; }
  bool is_json() const { return static_cast<bool>(json_); }
  bool is_object() const { return static_cast<bool>(obj_); }
  const Json& json() const { return *json_; }
  const std::shared_ptr<const Json>& json_ptr() const { return json_; }
  Object* object() const { return obj_.get(); }
  const std::shared_ptr<Object>& object_ptr() const { return obj_; }

  bool is_none() const { return json_ && json_->is_null(); }
  bool is_string() const { return json_ && json_->is_string(); }
  bool is_list() const { return json_ && json_->is_array(); }
  bool is_dict() const { return json_ && json_->is_object(); }
  bool is_bool() const { return json_ && json_->is_boolean(); }
  bool is_int() const { return json_ && json_->is_number_integer(); }
  bool is_float() const { return json_ && json_->is_number_float(); }
  /// int, float or bool (Python's numbers.Number).
  bool is_number() const { return json_ && (json_->is_number() || json_->is_boolean()); }
  const std::string& str() const { return json_->get_ref<const std::string&>(); }

  /// Element i of a list (aliasing the list).
  Value at(size_t i) const { return Value(json_, &(*json_)[i]); }
  /// Member of a dict, or undefined.
  Value member(const std::string& key) const;

 private:
  std::shared_ptr<const Json> json_;
  std::shared_ptr<Object> obj_;
};

/// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

/// A non-data value: namespace, loop context, function, macro.
class Object {
 public:
  virtual ~Object() = default;
  /// Python-ish type name for messages and str().
  virtual std::string type_name() const = 0;
  /// Attribute lookup; undefined when absent.
  virtual Value get_attr(const std::string& name) const;
  virtual bool callable() const { return false; }
  /// Calls the object (only when callable()).
  virtual Value call(CallArgs& args);
};

/// namespace(): the one mutable value, assigned with {% set ns.attr = ... %}.
class Namespace : public Object {
 public:
  std::string type_name() const override { return "Namespace"; }
  Value get_attr(const std::string& name) const override;
  void set_attr(const std::string& name, Value v);
  const std::vector<std::pair<std::string, Value>>& attrs() const { return attrs_; }

 private:
  std::vector<std::pair<std::string, Value>> attrs_;
};

/// A builtin function, bound method, macro or caller.
class Function : public Object {
 public:
  using Fn = std::function<Value(CallArgs&)>;
  Function(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string type_name() const override { return "function " + name_; }
  bool callable() const override { return true; }
  Value call(CallArgs& args) override { return fn_(args); }

 private:
  std::string name_;
  Fn fn_;
};

/// Binds a call's arguments to named parameters (positional first, then keywords); throws
/// ValueError for unknown, duplicate or too many arguments.
class Params {
 public:
  Params(const std::string& what, const CallArgs& a, std::vector<std::string> names);
  bool has(size_t i) const { return !vals_[i].undefined(); }
  const Value& operator[](size_t i) const { return vals_[i]; }

 private:
  std::vector<Value> vals_;
};

/// Runtime error of template evaluation (line is added by the interpreter).
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// raise_exception(msg) in a template.
class RaisedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Python truthiness (undefined is false).
bool truthy(const Value& v);
/// Python str(v) (undefined is "").
std::string to_str(const Value& v);
/// Python repr of a datum.
std::string repr(const Json& j);
/// Python repr(float).
std::string float_repr(double d);
/// Python type name of a value ("str", "int", "list", "dict", "NoneType", ...).
std::string type_name(const Value& v);
/// Converts a value to plain JSON (undefined becomes None; objects are an error).
Json to_json_value(const Value& v);

/// json.dumps(j, ensure_ascii, indent, separators, sort_keys) with Python's defaults.
struct DumpOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;
  std::string item_sep = ", ";
  std::string key_sep = ": ";
  bool sort_keys = false;
};
std::string dumps(const Json& j, const DumpOptions& o);

/// Python ==, with 1 == 1.0 == True.
bool py_eq(const Value& a, const Value& b);
/// Python ordering: negative, zero or positive; throws EvalError when not comparable.
int py_cmp(const Value& a, const Value& b);
/// Numeric value of an int/float/bool datum.
double as_double(const Json& j);
/// Integer value of an int/bool datum.
int64_t as_int(const Json& j);

/// Copies a JSON tree of another flavour (nlohmann::json) into ordered JSON, capping depth.
template <class J>
Json to_ordered(const J& j, int depth = 0);

// UTF-8 helpers (robust to invalid bytes, which count as one code point each).
/// Decodes the code point at s[i]; returns its byte length (>= 1).
size_t utf8_decode(std::string_view s, size_t i, char32_t& cp);
/// Code points of s.
std::u32string utf8_to_u32(std::string_view s);
/// UTF-8 of code points.
std::string u32_to_utf8(std::u32string_view s);
/// Number of code points.
size_t utf8_length(std::string_view s);
/// Python str.isspace for one code point.
bool py_isspace(char32_t c);
/// str.strip/lstrip/rstrip with chars (whitespace when chars is null).
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);

template <class J>
Json to_ordered(const J& j, int depth) {
  if (depth > kMaxDepth) throw EvalError("data nested deeper than 256 levels");
  if (j.is_object()) {
    Json o = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) o[it.key()] = to_ordered(it.value(), depth + 1);
    return o;
  }
  if (j.is_array()) {
    Json a = Json::array();
    for (const auto& e : j) a.push_back(to_ordered(e, depth + 1));
    return a;
  }
  if (j.is_string()) return Json(j.template get<std::string>());
  if (j.is_boolean()) return Json(j.template get<bool>());
  if (j.is_number_unsigned()) {
    uint64_t u = j.template get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return Json(static_cast<int64_t>(u));
    return Json(u);
  }
  if (j.is_number_integer()) return Json(j.template get<int64_t>());
  if (j.is_number_float()) return Json(j.template get<double>());
  return Json();
}

}  // namespace wick::jinja
