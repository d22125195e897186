#pragma once
// Evaluates a parsed template against a context (a JSON object of variables).
#include <memory>
#include <string>

#include "wick/tokenizer/jinja_ast.h"

namespace wick::jinja {

/// Renders `body` with the variables of `context` (a JSON object). Throws EvalError (message
/// starts with "line N: ") for runtime errors and RaisedError for raise_exception().
std::string render(const Body& body, std::shared_ptr<const Json> context);

}  // namespace wick::jinja
