#pragma once
// Builtins of the Jinja interpreter: filters, tests, attribute/item access with Python's str and
// dict methods, iteration, and the global functions transformers provides.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wick/tokenizer/jinja_value.h"

namespace wick::jinja {

/// Applies filter `name` to `in` (EvalError for an unknown filter or bad arguments).
Value apply_filter(const std::string& name, const Value& in, const CallArgs& args);
/// Runs test `name` on `in` (EvalError for an unknown test).
bool apply_test(const std::string& name, const Value& in, const CallArgs& args);
/// obj.name: a dict member, a str/dict method bound to obj, a namespace/loop attribute, or
/// undefined (also for any attribute of undefined).
Value get_attribute(const Value& obj, const std::string& name);
/// obj[key]: dict member, list/str element (negative from the end), or undefined.
Value get_item(const Value& obj, const Value& key);
/// obj[start:stop:step] of a list or str (undefined bounds are omitted).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
/// Items of a for loop: list elements, dict keys, str characters; undefined gives none.
std::vector<Value> iterate(const Value& v);
/// Python `item in container`.
bool contains(const Value& container, const Value& item);
/// len(v) (undefined is 0).
size_t length(const Value& v);
/// Binary operator (+ - * / // % ** ~) with Python semantics.
Value binary_op(const std::string& op, const Value& a, const Value& b);
/// The global functions: range, namespace, dict, raise_exception, strftime_now.
std::vector<std::pair<std::string, Value>> make_globals();

/// Python str.upper / str.lower of UTF-8 text.
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);

}  // namespace wick::jinja
