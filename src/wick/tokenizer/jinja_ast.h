#pragma once
// Syntax tree of a parsed template.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wick/tokenizer/jinja_value.h"

namespace wick::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Const,     // value
  Name,      // name
  List,      // items
  Tuple,     // items
  Dict,      // items = k0, v0, k1, v1, ...
  Attr,      // a.name
  Item,      // a[b]
  Slice,     // a[items[0]:items[1]:items[2]] (null entries are omitted bounds)
  Call,      // a(args, kwargs)
  Filter,    // a | name(args, kwargs)   (a null for a filter block's body)
  Test,      // a is [not] name(args)     (negate)
  Neg,       // -a
  Pos,       // +a
  Not,       // not a
  Binary,    // a op b  (+ - * / // % ** ~)
  And,       // a and b
  Or,        // a or b
  Compare,   // a ops[0] items[0] ops[1] items[1] ...
  CondExpr,  // b if a else items[0] (items empty: no else)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  std::string name;  // Name / Attr / Filter / Test / Binary operator
  Value value;       // Const
  ExprPtr a, b;
  std::vector<ExprPtr> items;  // List/Tuple/Dict/Slice/Compare operands, call arguments
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare operators
  bool negate = false;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

enum class StmtKind {
  Text,         // text
  Output,       // {{ expr }}
  If,           // conds[i] -> bodies[i]; else_body
  For,          // for targets in expr [if expr2]: body, else_body
  Set,          // set targets = expr; or set targets[0].attr = expr (attr non-empty)
  SetBlock,     // {% set target %}body{% endset %}, filtered by expr (a Filter chain over null)
  Macro,        // macro name(params = defaults) body
  CallBlock,    // {% call(params) expr %}body{% endcall %}
  FilterBlock,  // {% filter ... %}body{% endfilter %}
  With,         // {% with targets = items %}body{% endwith %}
  Break,
  Continue,
  Block,  // a body rendered as-is ({% generation %})
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;  // Text; Macro name; Set attribute
  ExprPtr expr, expr2;
  std::vector<ExprPtr> conds;  // If conditions; Macro / CallBlock / With defaults or values
  std::vector<Body> bodies;
  Body body, else_body;
  std::vector<std::string> targets;  // for/set/macro/with names
};

/// Parses a token stream into statements; throws SyntaxError.
Body parse_template(std::string_view source);

}  // namespace wick::jinja
