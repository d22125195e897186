// Tree-walking evaluator. Scoping follows jinja2: a for loop and a macro call open a frame
// (assignments inside stay there; reads fall back to the enclosing frames), if/else does not;
// namespace() objects are the way to carry state out of a loop.
#include "wick/tokenizer/jinja_eval.h"

#include <fmt/format.h>

#include "wick/tokenizer/jinja_builtins.h"

namespace wick::jinja {
namespace {

struct Frame {
  std::shared_ptr<Frame> parent;
  std::vector<std::pair<std::string, Value>> vars;

  Value* find(const std::string& name) {
    for (auto& [k, v] : vars)
      if (k == name) return &v;
    return nullptr;
  }
  void set(const std::string& name, Value v) {
    if (Value* p = find(name))
      *p = std::move(v);
    else
      vars.emplace_back(name, std::move(v));
  }
};

// An EvalError that already carries its line.
class LocatedError : public EvalError {
 public:
  using EvalError::EvalError;
};

// jinja2's LoopContext: one object per for statement, updated each iteration.
class LoopObject : public Object {
 public:
  std::vector<Value> items;
  size_t index0 = 0;
  int depth = 1;  // recursive loops (the only ones deeper than 1) are not supported

  std::string type_name() const override { return "LoopContext"; }
  Value get_attr(const std::string& name) const override {
    auto n = static_cast<int64_t>(items.size()), i = static_cast<int64_t>(index0);
    if (name == "index") return Value(Json(i + 1));
    if (name == "index0") return Value(Json(i));
    if (name == "revindex") return Value(Json(n - i));
    if (name == "revindex0") return Value(Json(n - i - 1));
    if (name == "first") return Value(Json(i == 0));
    if (name == "last") return Value(Json(i == n - 1));
    if (name == "length") return Value(Json(n));
    if (name == "depth") return Value(Json(depth));
    if (name == "depth0") return Value(Json(depth - 1));
    if (name == "previtem") return i > 0 ? items[index0 - 1] : Value();
    if (name == "nextitem") return i + 1 < n ? items[index0 + 1] : Value();
    if (name == "cycle") {
      size_t at = index0;
      return Value(std::make_shared<Function>("loop.cycle", [at](CallArgs& a) -> Value {
        if (a.args.empty()) throw EvalError("loop.cycle needs at least one argument");
        return a.args[at % a.args.size()];
      }));
    }
    return {};
  }
};

enum class Flow { Normal, Break, Continue };

constexpr int kMaxCallDepth = 100;

class Interp {
 public:
  explicit Interp(std::shared_ptr<const Json> ctx) {
    auto globals = std::make_shared<Frame>();
    globals->vars = make_globals();
    frame_ = std::make_shared<Frame>();
    frame_->parent = globals;
    for (auto it = ctx->begin(); it != ctx->end(); ++it)
      frame_->set(it.key(), Value(ctx, &it.value()));
  }

  Flow exec(const Body& body, std::string& out) {
    for (const auto& s : body) {
      Flow f = exec_one(*s, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

 private:
  std::shared_ptr<Frame> frame_;
  int call_depth_ = 0;
  const Value* block_input_ = nullptr;

  struct FrameSwap {
    Interp& in;
    std::shared_ptr<Frame> saved;
    FrameSwap(Interp& i, std::shared_ptr<Frame> f) : in(i), saved(std::move(i.frame_)) {
      in.frame_ = std::move(f);
    }
    ~FrameSwap() { in.frame_ = std::move(saved); }
  };

  std::shared_ptr<Frame> child() {
    auto f = std::make_shared<Frame>();
    f->parent = frame_;
    return f;
  }

  Value lookup(const std::string& name) const {
    for (Frame* f = frame_.get(); f; f = f->parent.get())
      if (Value* v = f->find(name)) return *v;
    return {};
  }

  Flow exec_one(const Stmt& s, std::string& out) {
    try {
      return exec_stmt(s, out);
    } catch (const LocatedError&) {
      throw;
    } catch (const EvalError& e) {
      throw LocatedError(fmt::format("line {}: {}", s.line, e.what()));
    }
  }

  void assign(const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      frame_->set(targets[0], v);
      return;
    }
    std::vector<Value> items = iterate(v);
    if (items.size() != targets.size())
      throw EvalError(
          fmt::format("cannot unpack {} values into {} names", items.size(), targets.size()));
    for (size_t i = 0; i < targets.size(); ++i) frame_->set(targets[i], items[i]);
  }

  std::string render_body(const Body& b) {
    std::string s;
    exec(b, s);
    return s;
  }

  Flow exec_stmt(const Stmt& s, std::string& out) {
    switch (s.kind) {
      case StmtKind::Text:
        out += s.text;
        return Flow::Normal;
      case StmtKind::Output:
        out += to_str(eval(*s.expr));
        return Flow::Normal;
      case StmtKind::If:
        for (size_t i = 0; i < s.conds.size(); ++i)
          if (truthy(eval(*s.conds[i]))) return exec(s.bodies[i], out);
        return exec(s.else_body, out);
      case StmtKind::For:
        return exec_for(s, out);
      case StmtKind::Set: {
        Value v = eval(*s.expr);
        if (!s.text.empty()) {
          Value target = lookup(s.targets[0]);
          auto* ns = target.is_object() ? dynamic_cast<Namespace*>(target.object()) : nullptr;
          if (!ns)
            throw EvalError(fmt::format("cannot assign attribute '{}' on '{}' (not a namespace)",
                                        s.text, s.targets[0]));
          ns->set_attr(s.text, std::move(v));
        } else {
          assign(s.targets, v);
        }
        return Flow::Normal;
      }
      case StmtKind::SetBlock: {
        Value v(Json(render_body(s.body)));
        if (s.expr) v = with_block_input(*s.expr, v);
        frame_->set(s.targets[0], v);
        return Flow::Normal;
      }
      case StmtKind::FilterBlock: {
        Value v(Json(render_body(s.body)));
        out += to_str(with_block_input(*s.expr, v));
        return Flow::Normal;
      }
      case StmtKind::Macro:
        frame_->set(s.text, make_macro(s, frame_, false));
        return Flow::Normal;
      case StmtKind::CallBlock: {
        const Expr& call = *s.expr;
        Value fn = eval(*call.a);
        CallArgs args = eval_args(call);
        args.kwargs.emplace_back("caller", make_macro(s, frame_, true));
        out += to_str(call_value(fn, args, call));
        return Flow::Normal;
      }
      case StmtKind::With: {
        auto f = child();
        for (size_t i = 0; i < s.targets.size(); ++i) f->set(s.targets[i], eval(*s.conds[i]));
        FrameSwap swap(*this, f);
        return exec(s.body, out);
      }
      case StmtKind::Break:
        return Flow::Break;
      case StmtKind::Continue:
        return Flow::Continue;
      case StmtKind::Block:
        return exec(s.body, out);
    }
    return Flow::Normal;
  }

  Value with_block_input(const Expr& filters, const Value& input) {
    const Value* saved = block_input_;
    block_input_ = &input;
    Value r = eval(filters);
    block_input_ = saved;
    return r;
  }

  // Each iteration runs in a fresh frame (jinja2 re-initialises the body's variables from the
  // enclosing scope on every iteration, so a plain `set` does not carry over).
  Flow exec_for(const Stmt& s, std::string& out) {
    Value seq = eval(*s.expr);
    auto loop = std::make_shared<LoopObject>();
    std::vector<Value> items = iterate(seq);
    if (s.expr2) {
      std::vector<Value> kept;
      for (const Value& v : items) {
        FrameSwap swap(*this, child());
        assign(s.targets, v);
        if (truthy(eval(*s.expr2))) kept.push_back(v);
      }
      items = std::move(kept);
    }
    loop->items = std::move(items);
    if (loop->items.empty()) {
      FrameSwap swap(*this, child());
      return exec(s.else_body, out);
    }
    Value loop_value{std::shared_ptr<Object>(loop)};
    for (size_t i = 0; i < loop->items.size(); ++i) {
      loop->index0 = i;
      FrameSwap swap(*this, child());
      frame_->set("loop", loop_value);
      assign(s.targets, loop->items[i]);
      if (exec(s.body, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  // The defining frame is held weakly: the frame holds the macro, so a strong pointer would be a
  // reference cycle.
  Value make_macro(const Stmt& s, const std::shared_ptr<Frame>& def_frame, bool is_caller) {
    const Stmt* stmt = &s;
    std::string name = is_caller ? "caller" : s.text;
    std::weak_ptr<Frame> weak_def = def_frame;
    return Value(
        std::make_shared<Function>(name, [this, stmt, weak_def, name](CallArgs& a) -> Value {
          struct DepthGuard {
            int& d;
            explicit DepthGuard(int& depth) : d(depth) { ++d; }
            ~DepthGuard() { --d; }
          } guard(call_depth_);
          if (call_depth_ > kMaxCallDepth)
            throw EvalError(fmt::format("macro calls nested too deeply (limit {})", kMaxCallDepth));
          auto def = weak_def.lock();
          if (!def) throw EvalError(fmt::format("macro '{}' called outside its scope", name));
          auto f = std::make_shared<Frame>();
          f->parent = def;
          FrameSwap swap(*this, f);
          const auto& params = stmt->targets;
          Json varargs = Json::array();
          for (size_t i = 0; i < a.args.size(); ++i) {
            if (i < params.size())
              f->set(params[i], a.args[i]);
            else
              varargs.push_back(to_json_value(a.args[i]));
          }
          Json kwargs = Json::object();
          for (const auto& [k, v] : a.kwargs) {
            auto it = std::find(params.begin(), params.end(), k);
            if (it != params.end()) {
              if (static_cast<size_t>(it - params.begin()) < a.args.size())
                throw EvalError(fmt::format("macro '{}' got multiple values for '{}'", name, k));
              f->set(k, v);
            } else if (k == "caller") {
              f->set(k, v);
            } else {
              kwargs[k] = to_json_value(v);
            }
          }
          for (size_t i = 0; i < params.size(); ++i)
            if (!f->find(params[i]) && stmt->conds[i]) f->set(params[i], eval(*stmt->conds[i]));
          f->set("varargs", Value(varargs));
          f->set("kwargs", Value(kwargs));
          std::string out;
          exec(stmt->body, out);
          return Value(Json(out));
        }));
  }

  CallArgs eval_args(const Expr& e) {
    CallArgs a;
    for (const auto& x : e.items) a.args.push_back(eval(*x));
    for (const auto& [k, x] : e.kwargs) a.kwargs.emplace_back(k, eval(*x));
    return a;
  }

  Value call_value(const Value& fn, CallArgs& args, const Expr& call) {
    if (fn.is_object() && fn.object()->callable()) return fn.object()->call(args);
    std::string what = call.a->kind == ExprKind::Name   ? "'" + call.a->name + "'"
                       : call.a->kind == ExprKind::Attr ? "attribute '" + call.a->name + "'"
                                                        : "value";
    if (fn.undefined()) throw EvalError(what + " is undefined and cannot be called");
    throw EvalError(fmt::format("{} of type '{}' is not callable", what, type_name(fn)));
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Const:
        return e.value;
      case ExprKind::Name:
        return lookup(e.name);
      case ExprKind::List:
      case ExprKind::Tuple: {
        Json a = Json::array();
        for (const auto& x : e.items) a.push_back(to_json_value(eval(*x)));
        return Value(a);
      }
      case ExprKind::Dict: {
        Json o = Json::object();
        for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
          Value k = eval(*e.items[i]);
          if (!k.is_string()) throw EvalError("dict keys must be strings, got " + type_name(k));
          o[k.str()] = to_json_value(eval(*e.items[i + 1]));
        }
        return Value(o);
      }
      case ExprKind::Attr:
        return get_attribute(eval(*e.a), e.name);
      case ExprKind::Item:
        return get_item(eval(*e.a), eval(*e.b));
      case ExprKind::Slice: {
        Value t = eval(*e.a);
        Value p[3];
        for (int i = 0; i < 3; ++i)
          if (e.items[static_cast<size_t>(i)]) p[i] = eval(*e.items[static_cast<size_t>(i)]);
        return get_slice(t, p[0], p[1], p[2]);
      }
      case ExprKind::Call: {
        Value fn = eval(*e.a);
        CallArgs args = eval_args(e);
        return call_value(fn, args, e);
      }
      case ExprKind::Filter: {
        Value in = e.a ? eval(*e.a) : *block_input_;
        CallArgs args = eval_args(e);
        return apply_filter(e.name, in, args);
      }
      case ExprKind::Test: {
        Value in = eval(*e.a);
        CallArgs args = eval_args(e);
        return Value(Json(apply_test(e.name, in, args) != e.negate));
      }
      case ExprKind::Neg:
      case ExprKind::Pos: {
        Value v = eval(*e.a);
        if (!v.is_number()) throw EvalError("bad operand type for unary minus: " + type_name(v));
        if (e.kind == ExprKind::Pos) return v.is_bool() ? Value(Json(as_int(v.json()))) : v;
        if (v.is_float()) return Value(Json(-v.json().get<double>()));
        return binary_op("-", Value(Json(0)), v);
      }
      case ExprKind::Not:
        return Value(Json(!truthy(eval(*e.a))));
      case ExprKind::And: {
        Value a = eval(*e.a);
        return truthy(a) ? eval(*e.b) : a;
      }
      case ExprKind::Or: {
        Value a = eval(*e.a);
        return truthy(a) ? a : eval(*e.b);
      }
      case ExprKind::Binary:
        return binary_op(e.name, eval(*e.a), eval(*e.b));
      case ExprKind::Compare: {
        Value left = eval(*e.a);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.items[i]);
          const std::string& op = e.ops[i];
          bool r;
          if (op == "==")
            r = py_eq(left, right);
          else if (op == "!=")
            r = !py_eq(left, right);
          else if (op == "in")
            r = contains(right, left);
          else if (op == "notin")
            r = !contains(right, left);
          else {
            int c = py_cmp(left, right);
            r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
          }
          if (!r) return Value(Json(false));
          left = std::move(right);
        }
        return Value(Json(true));
      }
      case ExprKind::CondExpr:
        if (truthy(eval(*e.a))) return eval(*e.b);
        return e.items.empty() ? Value() : eval(*e.items[0]);
    }
    return {};
  }
};

}  // namespace

std::string render(const Body& body, std::shared_ptr<const Json> context) {
  Interp in(std::move(context));
  std::string out;
  in.exec(body, out);
  return out;
}

}  // namespace wick::jinja
