// Recursive-descent parser with jinja2's grammar and precedence: condexpr < or < and < not <
// comparisons < + - < ~ < * / // % < ** < unary < postfix (. [] ()) < filters and tests. Depth is
// capped (kMaxDepth) so hostile input gives a SyntaxError instead of a stack overflow.
#include <fmt/format.h>

#include <set>

#include "wick/tokenizer/jinja_ast.h"
#include "wick/tokenizer/jinja_lexer.h"

namespace wick::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Body parse_all() {
    std::string end;
    Body b = parse_body({}, end);
    return b;
  }

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth)
        throw SyntaxError(p.cur().line, "template nested too deeply (limit 256)");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // Left-deep chains (a + b + c ..., a.b.c ..., x | f | g ...) are built in loops but nest the
  // tree as deeply as recursion would: each link counts towards the depth until the rule returns.
  struct ChainGuard {
    Parser& p;
    int links = 0;
    explicit ChainGuard(Parser& parser) : p(parser) {}
    void link() {
      ++links;
      if (++p.depth_ > kMaxDepth)
        throw SyntaxError(p.cur().line, "template nested too deeply (limit 256)");
    }
    ~ChainGuard() { p.depth_ -= links; }
  };

  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  [[noreturn]] void error(const std::string& msg) const { throw SyntaxError(cur().line, msg); }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case Tok::Eof:
        return "end of template";
      case Tok::VarEnd:
        return "'}}'";
      case Tok::BlockEnd:
        return "'%}'";
      case Tok::Text:
        return "text";
      case Tok::String:
        return "string";
      default:
        return "'" + t.text + "'";
    }
  }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++i_;
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    ++i_;
    return true;
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) error(fmt::format("expected '{}', got {}", op, describe(cur())));
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) error(fmt::format("expected a name, got {}", describe(cur())));
    return t_[i_++].text;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) error(fmt::format("expected '%}}', got {}", describe(cur())));
    ++i_;
  }

  ExprPtr make(ExprKind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // ------------------------------------------------------------------ statements

  // Parses statements until a block tag whose name is in `ends` (consumed up to the name, which is
  // returned in `end`) or the end of input (only when ends is empty).
  Body parse_body(const std::set<std::string>& ends, std::string& end) {
    DepthGuard g(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::Eof) {
        if (!ends.empty())
          error(fmt::format("unexpected end of template; expected '{}'", *ends.rbegin()));
        return body;
      }
      if (t.type == Tok::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        ++i_;
      } else if (t.type == Tok::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        ++i_;
        s->expr = parse_tuple(true);
        if (cur().type != Tok::VarEnd)
          error(fmt::format("expected '}}}}', got {}", describe(cur())));
        ++i_;
        body.push_back(std::move(s));
      } else if (t.type == Tok::BlockBegin) {
        ++i_;
        if (cur().type != Tok::Name) error("expected a statement name after '{%'");
        std::string name = cur().text;
        if (ends.count(name)) {
          ++i_;
          end = name;
          return body;
        }
        body.push_back(parse_statement());
      } else {
        error(fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement() {
    DepthGuard g(*this);
    auto s = std::make_unique<Stmt>();
    s->line = cur().line;
    std::string name = expect_name();
    std::string end;
    if (name == "if") {
      s->kind = StmtKind::If;
      s->conds.push_back(parse_tuple(true));
      expect_block_end();
      while (true) {
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
        if (end == "elif") {
          s->conds.push_back(parse_tuple(true));
          expect_block_end();
        } else if (end == "else") {
          expect_block_end();
          s->else_body = parse_body({"endif"}, end);
          break;
        } else {
          break;
        }
      }
    } else if (name == "for") {
      s->kind = StmtKind::For;
      s->targets = parse_targets();
      if (!skip_name("in")) error("expected 'in' in for loop");
      s->expr = parse_tuple(false);
      if (skip_name("if")) s->expr2 = parse_expression(true);
      if (is_name("recursive")) error("recursive for loops are not supported");
      expect_block_end();
      s->body = parse_body({"else", "endfor"}, end);
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, end);
      }
    } else if (name == "set") {
      s->targets = parse_targets();
      if (s->targets.size() == 1 && skip_op(".")) {
        s->text = expect_name();
        if (cur().type == Tok::Op && cur().text == ".")
          error("only ns.attr assignment is supported");
      }
      if (skip_op("=")) {
        s->kind = StmtKind::Set;
        s->expr = parse_tuple(true);
      } else {
        if (s->targets.size() != 1 || !s->text.empty()) error("block set needs a single name");
        s->kind = StmtKind::SetBlock;
        if (is_op("|")) s->expr = parse_filters(nullptr);
        expect_block_end();
        s->body = parse_body({"endset"}, end);
      }
    } else if (name == "macro") {
      s->kind = StmtKind::Macro;
      s->text = expect_name();
      parse_params(*s);
      expect_block_end();
      s->body = parse_body({"endmacro"}, end);
    } else if (name == "call") {
      s->kind = StmtKind::CallBlock;
      if (is_op("(")) parse_params(*s);
      s->expr = parse_expression(true);
      if (s->expr->kind != ExprKind::Call) error("expected a call after 'call'");
      expect_block_end();
      s->body = parse_body({"endcall"}, end);
    } else if (name == "filter") {
      s->kind = StmtKind::FilterBlock;
      s->expr = parse_filters(nullptr, true);
      expect_block_end();
      s->body = parse_body({"endfilter"}, end);
    } else if (name == "with") {
      s->kind = StmtKind::With;
      while (cur().type != Tok::BlockEnd) {
        if (!s->targets.empty()) expect_op(",");
        s->targets.push_back(expect_name());
        expect_op("=");
        s->conds.push_back(parse_expression(true));
      }
      expect_block_end();
      s->body = parse_body({"endwith"}, end);
    } else if (name == "break" || name == "continue") {
      s->kind = name == "break" ? StmtKind::Break : StmtKind::Continue;
    } else if (name == "generation") {
      s->kind = StmtKind::Block;
      expect_block_end();
      s->body = parse_body({"endgeneration"}, end);
    } else {
      throw SyntaxError(s->line, fmt::format("unknown or unsupported tag '{}'", name));
    }
    expect_block_end();
    return s;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (cur().type != Tok::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  void parse_params(Stmt& s) {
    expect_op("(");
    while (!skip_op(")")) {
      if (!s.targets.empty()) expect_op(",");
      if (skip_op(")")) break;
      s.targets.push_back(expect_name());
      s.conds.push_back(skip_op("=") ? parse_expression(true) : nullptr);
    }
  }

  // ------------------------------------------------------------------ expressions

  ExprPtr parse_tuple(bool with_condexpr) {
    int line = cur().line;
    ExprPtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    auto t = make(ExprKind::Tuple, line);
    t->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd || is_op(")")) break;
      t->items.push_back(parse_expression(with_condexpr));
    }
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard g(*this);
    ExprPtr e = parse_or();
    if (!with_condexpr) return e;
    ChainGuard chain(*this);
    while (is_name("if")) {
      chain.link();
      int line = cur().line;
      ++i_;
      auto c = make(ExprKind::CondExpr, line);
      c->a = parse_or();
      c->b = std::move(e);
      if (skip_name("else")) c->items.push_back(parse_expression(true));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(ExprKind k, const std::string& op, ExprPtr a, ExprPtr b, int line) {
    auto e = make(k, line);
    e->name = op;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  ExprPtr parse_or() {
    ChainGuard chain(*this);
    ExprPtr e = parse_and();
    while (is_name("or")) {
      chain.link();
      int line = t_[i_++].line;
      e = binary(ExprKind::Or, "or", std::move(e), parse_and(), line);
    }
    return e;
  }
  ExprPtr parse_and() {
    ChainGuard chain(*this);
    ExprPtr e = parse_not();
    while (is_name("and")) {
      chain.link();
      int line = t_[i_++].line;
      e = binary(ExprKind::And, "and", std::move(e), parse_not(), line);
    }
    return e;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(*this);
      auto e = make(ExprKind::Not, t_[i_++].line);
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
           cur().text == "<=" || cur().text == ">=")) {
        op = t_[i_++].text;
      } else if (is_name("in")) {
        ++i_;
        op = "in";
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        i_ += 2;
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::Compare, line);
        cmp->a = std::move(first);
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  ExprPtr parse_math1() {
    ChainGuard chain(*this);
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      chain.link();
      const Token& t = t_[i_++];
      e = binary(ExprKind::Binary, t.text, std::move(e), parse_concat(), t.line);
    }
    return e;
  }
  ExprPtr parse_concat() {
    ChainGuard chain(*this);
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      chain.link();
      int line = t_[i_++].line;
      e = binary(ExprKind::Binary, "~", std::move(e), parse_math2(), line);
    }
    return e;
  }
  ExprPtr parse_math2() {
    ChainGuard chain(*this);
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      chain.link();
      const Token& t = t_[i_++];
      e = binary(ExprKind::Binary, t.text, std::move(e), parse_pow(), t.line);
    }
    return e;
  }
  ExprPtr parse_pow() {
    ChainGuard chain(*this);
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      chain.link();
      int line = t_[i_++].line;
      e = binary(ExprKind::Binary, "**", std::move(e), parse_unary(true), line);
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = t_[i_++];
      e = make(t.text == "-" ? ExprKind::Neg : ExprKind::Pos, t.line);
      e->a = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::Name) {
      ++i_;
      const std::string& n = t.text;
      if (n == "true" || n == "True") return constant(Json(true), line);
      if (n == "false" || n == "False") return constant(Json(false), line);
      if (n == "none" || n == "None") return constant(Json(), line);
      auto e = make(ExprKind::Name, line);
      e->name = n;
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) s += t_[i_++].text;
      return constant(Json(s), line);
    }
    if (t.type == Tok::Int) {
      ++i_;
      return constant(Json(t.ival), line);
    }
    if (t.type == Tok::Float) {
      ++i_;
      return constant(Json(t.fval), line);
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make(ExprKind::Tuple, line);
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (skip_op("[")) {
      auto e = make(ExprKind::List, line);
      while (!skip_op("]")) {
        if (!e->items.empty()) expect_op(",");
        if (skip_op("]")) break;
        e->items.push_back(parse_expression(true));
      }
      return e;
    }
    if (skip_op("{")) {
      auto e = make(ExprKind::Dict, line);
      while (!skip_op("}")) {
        if (!e->items.empty()) expect_op(",");
        if (skip_op("}")) break;
        e->items.push_back(parse_expression(true));
        expect_op(":");
        e->items.push_back(parse_expression(true));
      }
      return e;
    }
    error(fmt::format("unexpected {}", describe(t)));
  }

  ExprPtr constant(Json j, int line) {
    auto e = make(ExprKind::Const, line);
    e->value = Value(std::move(j));
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    ChainGuard chain(*this);
    while (true) {
      if (!is_op(".") && !is_op("[") && !is_op("(")) return e;
      chain.link();
      int line = cur().line;
      if (skip_op(".")) {
        if (cur().type == Tok::Name) {
          auto a = make(ExprKind::Attr, line);
          a->name = t_[i_++].text;
          a->a = std::move(e);
          e = std::move(a);
        } else if (cur().type == Tok::Int) {
          auto a = make(ExprKind::Item, line);
          a->a = std::move(e);
          a->b = constant(Json(t_[i_++].ival), line);
          e = std::move(a);
        } else {
          error("expected an attribute name after '.'");
        }
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target, int line) {
    DepthGuard g(*this);
    ExprPtr parts[3];
    int n = 0;
    bool slice = false;
    while (true) {
      if (!is_op(":") && !is_op("]")) parts[n] = parse_expression(true);
      if (skip_op(":")) {
        slice = true;
        if (++n > 2) error("too many ':' in slice");
        continue;
      }
      expect_op("]");
      break;
    }
    if (!slice) {
      if (!parts[0]) error("empty subscript");
      auto e = make(ExprKind::Item, line);
      e->a = std::move(target);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = make(ExprKind::Slice, line);
    e->a = std::move(target);
    for (auto& p : parts) e->items.push_back(std::move(p));
    return e;
  }

  void parse_args(Expr& e) {
    expect_op("(");
    while (!skip_op(")")) {
      if (!e.items.empty() || !e.kwargs.empty()) {
        expect_op(",");
        if (skip_op(")")) break;
      }
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string k = t_[i_].text;
        i_ += 2;
        e.kwargs.emplace_back(k, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error("positional argument after keyword argument");
        e.items.push_back(parse_expression(true));
      }
    }
  }

  ExprPtr parse_call(ExprPtr target) {
    DepthGuard g(*this);
    auto e = make(ExprKind::Call, cur().line);
    e->a = std::move(target);
    parse_args(*e);
    return e;
  }

  // `| name(args)` chain; with `first_bare` the leading '|' is absent ({% filter name %}).
  ExprPtr parse_filters(ExprPtr e, bool first_bare = false) {
    ChainGuard chain(*this);
    bool first = true;
    while ((first && first_bare) || is_op("|")) {
      if (!(first && first_bare)) ++i_;
      first = false;
      chain.link();
      auto f = make(ExprKind::Filter, cur().line);
      f->name = expect_name();
      f->a = std::move(e);
      if (is_op("(")) parse_args(*f);
      e = std::move(f);
    }
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    ChainGuard chain(*this);
    while (true) {
      if (!is_op("|") && !is_name("is")) return e;
      chain.link();
      if (is_op("|")) {
        e = parse_filters(std::move(e));
      } else if (is_name("is")) {
        DepthGuard g(*this);
        auto t = make(ExprKind::Test, t_[i_++].line);
        t->negate = skip_name("not");
        t->name = expect_name();
        t->a = std::move(e);
        if (is_op("(")) {
          parse_args(*t);
        } else if ((cur().type == Tok::Name || cur().type == Tok::String ||
                    cur().type == Tok::Int || cur().type == Tok::Float || is_op("[") ||
                    is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          ExprPtr arg = parse_primary();
          t->items.push_back(parse_postfix(std::move(arg)));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(lex(source)).parse_all(); }

}  // namespace wick::jinja
