// sema.cpp: name resolution and type checking (docs/language.md has the rules).
//
// One pass over the declarations in source order. Each expression is checked
// with an optional expected type (bidirectional, so `none`, record literals
// and lambda parameters get their types from context). The Context says
// where the checker stands (a const initialiser, a pure fn, round code, a
// specification...) and decides which names are visible there.
#include "sema/sema.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace psync {

namespace {

enum class Where { ConstInit, ProcInit, Let, Fn, RoundCode, Spec };

struct Context {
  Where where = Where::RoundCode;
  Round* round = nullptr;
  bool in_handler = false;        // update/receive/finish body (statements with effects)
  bool in_event_handler = false;  // receive/finish
  SpecKind spec = SpecKind::Invariant;
  bool in_old = false;
  bool allow_ho = false;          // assume and liveness predicates
  int fn_index = -1;              // Where::Fn: the fn being checked
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* kind_noun(VarKind k) {
  switch (k) {
    case VarKind::Const: return "const";
    case VarKind::Input: return "input";
    case VarKind::Output: return "output";
    case VarKind::Var: return "variable";
    case VarKind::Let: return "let binding";
    case VarKind::RoundVar: return "round variable";
    case VarKind::Local: return "local";
    case VarKind::Param: return "parameter";
    case VarKind::LambdaParam: return "lambda parameter";
    case VarKind::QuantVar: return "quantified process";
    case VarKind::LoopVar: return "loop variable";
    case VarKind::Mailbox: return "mailbox";
    case VarKind::Sender: return "sender";
    case VarKind::Message: return "message";
    case VarKind::TimedOut: return "parameter";
  }
  return "name";
}

class Sema {
 public:
  Sema(Program& p, TypeContext& t, DiagnosticEngine& d, const SemaOptions& o) : prog_(p), T(t), D(d), opts_(o) {}

  bool run() {
    int errors_before = D.error_count();
    declare_types();
    // Phase 1: every global name with its declared type, so that
    // declarations may refer to each other regardless of their order.
    for (auto* list : {&prog_.consts, &prog_.inputs, &prog_.outputs, &prog_.vars, &prog_.lets})
      for (auto& v : *list) declare_global_typed(*v);
    if (prog_.outputs.size() > 1)
      D.error("multiple-outputs", prog_.outputs[1]->range,
              "a protocol has at most one output (the value passed to decide)");
    for (size_t i = 0; i < prog_.fns.size(); ++i) declare_fn(static_cast<int>(i));
    // Phase 2: initialisers and bodies.
    // Fn bodies first: a const initialiser may call a fn only if the fn
    // reads no const (it would otherwise see consts not yet computed).
    for (size_t i = 0; i < prog_.fns.size(); ++i) check_fn_body(static_cast<int>(i));
    for (auto& v : prog_.consts) check_init(*v, Where::ConstInit);
    for (auto& v : prog_.vars) check_init(*v, Where::ProcInit);
    for (auto& v : prog_.lets) check_init(*v, Where::Let);
    check_let_cycles();
    if (!prog_.is_module && prog_.rounds.empty() && prog_.name.size() && !opts_.after_syntax_errors)
      D.error("no-rounds", prog_.name_range, "protocol '" + prog_.name + "' declares no round");
    std::map<std::string, SourceRange> round_names;
    for (auto& rd : prog_.rounds) {
      if (prog_.is_module) D.error("round-in-module", rd.name_range, "a module cannot declare rounds");
      auto [it, fresh] = round_names.emplace(rd.name, rd.name_range);
      if (!fresh) redefinition(rd.name, rd.name_range, it->second);
      check_round(rd);
    }
    std::map<std::string, SourceRange> spec_names;
    for (auto& s : prog_.specs) {
      auto [it, fresh] = spec_names.emplace(s.name, s.name_range);
      if (!fresh) redefinition(s.name, s.name_range, it->second);
      if (!s.poisoned) check_spec(s);
    }
    if (opts_.warn_unused) warn_unused();
    return D.error_count() == errors_before;
  }

 private:
  // ---------------------------------------------------------------- helpers
  void redefinition(const std::string& name, SourceRange here, SourceRange before) {
    D.error("redefinition", here, "redefinition of '" + name + "'");
    D.note(before, "previous definition of '" + name + "' is here");
  }

  static bool is_builtin_name(const std::string& s) {
    static const std::set<std::string> names = {"n", "me", "r", "phase", "pids", "decided", "uniform", "ho_size"};
    return names.count(s) > 0;
  }

  bool declare_global(VarDecl& v) {
    if (is_builtin_name(v.name)) {
      D.error("reserved-name", v.range, "'" + v.name + "' is a built-in name and cannot be redeclared");
      return false;
    }
    auto it = globals_.find(v.name);
    if (it != globals_.end()) {
      redefinition(v.name, v.range, it->second->range);
      return false;
    }
    if (fns_.count(v.name)) {
      redefinition(v.name, v.range, fns_[v.name]->name_range);
      return false;
    }
    globals_[v.name] = &v;
    return true;
  }

  void declare_local(VarDecl& v) {
    if (is_builtin_name(v.name)) {
      D.error("reserved-name", v.range, "'" + v.name + "' is a built-in name and cannot be redeclared");
      v.used = true;
      return;
    }
    if (!scopes_.empty()) {
      auto& top = scopes_.back();
      auto it = top.find(v.name);
      if (it != top.end()) {
        redefinition(v.name, v.range, it->second->range);
        v.used = true;
        return;
      }
      top[v.name] = &v;
    }
    if (v.kind == VarKind::Local || v.kind == VarKind::RoundVar || v.kind == VarKind::Param) locals_.push_back(&v);
  }

  struct ScopeGuard {
    Sema& s;
    explicit ScopeGuard(Sema& sema) : s(sema) { s.scopes_.emplace_back(); }
    ~ScopeGuard() { s.scopes_.pop_back(); }
  };

  struct ContextGuard {
    Sema& s;
    Context saved;
    ContextGuard(Sema& sema, Context c) : s(sema), saved(sema.cx_) { s.cx_ = c; }
    ~ContextGuard() { s.cx_ = saved; }
  };

  VarDecl* lookup(const std::string& name) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    auto g = globals_.find(name);
    return g == globals_.end() ? nullptr : g->second;
  }

  std::string suggestion(const std::string& name) {
    std::string best;
    if (name.size() < 3) return "";  // one- and two-letter names match everything
    size_t best_d = name.size() <= 5 ? 1 : 2;
    auto consider = [&](const std::string& cand) {
      if (cand.size() < 3) return;
      size_t d = edit_distance(name, cand);
      if (d > 0 && d <= best_d) { best_d = d; best = cand; }
    };
    for (auto& s : scopes_)
      for (auto& [k, _] : s) consider(k);
    for (auto& [k, _] : globals_) consider(k);
    for (auto& [k, _] : fns_) consider(k);
    for (const char* b : {"n", "me", "r", "phase", "pids"}) consider(b);
    return best.empty() ? "" : "; did you mean '" + best + "'?";
  }

  // ---------------------------------------------------------------- types
  void declare_types() {
    for (auto& a : prog_.types) {
      if (aliases_.count(a.name)) {
        redefinition(a.name, a.range, aliases_[a.name]->range);
        continue;
      }
      a.type = resolve_type(a.type_expr.get());
      aliases_[a.name] = &a;
    }
  }

  const Type* resolve_type(const TypeExpr* t) {
    if (!t) return T.error();
    switch (t->kind) {
      case TypeExprKind::Int: return T.int_();
      case TypeExprKind::Bool: return T.bool_();
      case TypeExprKind::Pid: return T.pid();
      case TypeExprKind::PidSet: return T.pid_set();
      case TypeExprKind::Unit: return T.unit();
      case TypeExprKind::Option: {
        const Type* e = resolve_type(t->elems[0].get());
        if (e->is(TypeKind::Option)) {
          D.error("nested-option", t->range, "nested option types ('" + type_name(e) + "?') are not supported");
          return T.error();
        }
        return T.option(e);
      }
      case TypeExprKind::Array: return T.array(resolve_type(t->elems[0].get()));
      case TypeExprKind::Tuple: {
        std::vector<const Type*> es;
        for (auto& e : t->elems) es.push_back(resolve_type(e.get()));
        return T.tuple(es);
      }
      case TypeExprKind::Record: {
        std::set<std::string> seen;
        std::vector<const Type*> es;
        for (size_t i = 0; i < t->elems.size(); ++i) {
          if (!seen.insert(t->field_names[i]).second) {
            D.error("duplicate-field", t->elems[i]->range, "field '" + t->field_names[i] + "' appears twice");
            return T.error();
          }
          es.push_back(resolve_type(t->elems[i].get()));
        }
        return T.record(t->field_names, es);
      }
      case TypeExprKind::Named: {
        if (t->name == "<error>") return T.error();
        auto it = aliases_.find(t->name);
        if (it == aliases_.end()) {
          std::string hint = t->name == "string" || t->name == "float" || t->name == "double"
                                 ? " (psync values are int, bool, pid, sets, options, tuples, records and arrays)"
                                 : "";
          D.error("unknown-type", t->range, "unknown type '" + t->name + "'" + hint);
          return T.error();
        }
        return it->second->type ? it->second->type : T.error();
      }
    }
    return T.error();
  }

  // Whether a value of type `from` may stand where `to` is expected.
  bool assignable(const Type* from, const Type* to) {
    if (from == to || from->is_error() || to->is_error()) return true;
    bool num_from = from->is(TypeKind::Int) || from->is(TypeKind::Pid);
    bool num_to = to->is(TypeKind::Int) || to->is(TypeKind::Pid);
    return num_from && num_to;
  }

  // Checks `e` against `want` and inserts an int->pid conversion if needed.
  bool coerce(ExprPtr& e, const Type* want, const std::string& what) {
    check(*e, want);
    return coerce_checked(e, want, what);
  }

  bool require(ExprPtr& e, TypeKind kind, const std::string& what) {
    const Type* want = kind == TypeKind::Bool ? T.bool_() : kind == TypeKind::Pid ? T.pid() : T.int_();
    return coerce(e, want, what);
  }

  static bool has_equality(const Type* t) {
    return !(t->is(TypeKind::Mailbox) || t->is(TypeKind::Lambda));
  }

  // ---------------------------------------------------------------- globals
  void declare_global_typed(VarDecl& v) {
    // A declaration with a syntax error gets the error type, which silences
    // every later check that involves it.
    v.type = v.type_expr && !v.poisoned ? resolve_type(v.type_expr.get()) : T.error();
    if (v.poisoned) v.used = true;
    if (v.type->is(TypeKind::Mailbox)) {
      D.error("mailbox-variable", v.range, "a mailbox cannot be stored in a variable");
      v.type = T.error();
    }
    // Consts, inputs and the output cross the command line and the ABI as one
    // word each (runtime/include/psync/abi.h).
    bool word = v.type->is_scalar() || v.type->is(TypeKind::PidSet) || v.type->is_error();
    if (!word && (v.kind == VarKind::Const || v.kind == VarKind::Input || v.kind == VarKind::Output)) {
      const char* noun = v.kind == VarKind::Const ? "const" : v.kind == VarKind::Input ? "input" : "output";
      D.error(std::string("non-scalar-") + noun, v.type_expr ? v.type_expr->range : v.range,
              std::string(v.kind == VarKind::Const ? "a " : "an ") + noun +
                  " must be int, bool, pid or set<pid>, not '" + type_name(v.type) + "'");
    }
    if (!declare_global(v)) v.used = true;  // rejected: no "never read" warning on top
    v.index = static_cast<int>(index_counter_[static_cast<int>(v.kind)]++);
  }

  void check_init(VarDecl& v, Where where) {
    if (!v.init || v.poisoned) return;
    Context c{where};
    c.fn_index = v.index;  // ConstInit: only earlier consts are available
    ContextGuard g(*this, c);
    current_let_ = v.kind == VarKind::Let ? &v : nullptr;
    coerce(v.init, v.type, "the initialiser of '" + v.name + "'");
    current_let_ = nullptr;
  }

  // A let is recomputed on each read, so a let defined through itself would
  // never finish: reject cycles among lets.
  void check_let_cycles() {
    std::map<const VarDecl*, int> state;  // 0 new, 1 on the stack, 2 done
    std::function<bool(const VarDecl*)> visit = [&](const VarDecl* v) {
      if (state[v] == 1) return true;
      if (state[v] == 2) return false;
      state[v] = 1;
      for (const VarDecl* w : let_deps_[v])
        if (visit(w)) {
          if (state[v] != 3) {
            D.error("recursive-let", v->range, "let '" + v->name + "' is defined in terms of itself");
          }
          state[v] = 2;
          return false;  // report each cycle once
        }
      state[v] = 2;
      return false;
    };
    for (auto& v : prog_.lets) visit(v.get());
  }

  void declare_fn(int index) {
    FnDecl& fn = *prog_.fns[index];
    if (is_builtin_name(fn.name) || builtin_fn(fn.name) != Builtin::None) {
      D.error("reserved-name", fn.name_range, "'" + fn.name + "' is a built-in function and cannot be redeclared");
    } else if (fns_.count(fn.name)) {
      redefinition(fn.name, fn.name_range, fns_[fn.name]->name_range);
    } else if (globals_.count(fn.name)) {
      redefinition(fn.name, fn.name_range, globals_[fn.name]->range);
    } else {
      fns_[fn.name] = &fn;
    }
    fn_order_[&fn] = index;
    for (auto& p : fn.params) p->type = resolve_type(p->type_expr.get());
    fn.result_type = resolve_type(fn.result_type_expr.get());
  }

  void check_fn_body(int index) {
    FnDecl& fn = *prog_.fns[index];
    if (fn.from_import || fn.poisoned)
      for (auto& p : fn.params) p->used = true;
    if (fn.poisoned) return;
    ScopeGuard sg(*this);
    Context c{Where::Fn};
    c.fn_index = index;
    ContextGuard g(*this, c);
    for (auto& p : fn.params) declare_local(*p);
    if (fn.body) coerce(fn.body, fn.result_type, "the body of fn '" + fn.name + "'");
  }

  // ---------------------------------------------------------------- rounds
  void check_round(Round& rd) {
    if (rd.poisoned) {
      rd.message_type = T.error();
      auto quiet = [](std::vector<VarDeclPtr>& vs) { for (auto& v : vs) v->used = true; };
      quiet(rd.vars);
      return;
    }
    ScopeGuard sg(*this);
    Context c{Where::RoundCode};
    c.round = &rd;
    ContextGuard g(*this, c);
    for (auto& v : rd.vars) {
      v->type = v->type_expr ? resolve_type(v->type_expr.get()) : nullptr;
      if (v->init) {
        if (v->type) coerce(v->init, v->type, "the initialiser of '" + v->name + "'");
        else v->type = check(*v->init, nullptr);
      }
      if (!v->type) v->type = T.error();
      v->index = static_cast<int>(&v - &rd.vars[0]);
      declare_local(*v);
    }
    // The sends fix the round's message type; they must all agree.
    const Type* msg = nullptr;
    SourceRange first_send;
    for (auto& s : rd.sends) {
      const Type* t = msg ? nullptr : check(*s.value, nullptr);
      if (!msg) {
        msg = t;
        first_send = s.value->range;
        if (msg->is(TypeKind::Mailbox) || msg->is(TypeKind::Lambda)) {
          D.error("bad-message-type", s.value->range, "a message cannot have type '" + type_name(msg) + "'");
          msg = T.error();
        }
      } else {
        const Type* got = check(*s.value, msg);
        if (!assignable(got, msg)) {
          D.error("send-type-mismatch", s.value->range,
                  "round '" + rd.name + "' sends '" + type_name(got) + "' here but '" + type_name(msg) +
                      "' in its first send; all sends of a round carry one message type");
          D.note(first_send, "first send of the round is here");
        } else {
          coerce_checked(s.value, msg, "the message");  // an int sent where pids are sent becomes a pid
        }
      }
      if (s.dest == DestKind::Expr) {
        const Type* dt = check(*s.dest_expr, nullptr);
        if (!dt->is(TypeKind::PidSet) && !dt->is_error()) coerce_checked(s.dest_expr, T.pid(), "the destination of a send");
      }
      if (s.guard) require(s.guard, TypeKind::Bool, "the condition of a send");
    }
    rd.message_type = msg ? msg : T.unit();
    if (rd.update && rd.is_event()) {
      D.error("mixed-round", rd.update->range,
              "round '" + rd.name + "' has both 'update' and 'receive'/'finish'; a round is either closed or an event round");
    }
    VarDecl* mbox = nullptr;
    if (rd.update) {
      mbox = rd.update->params[0].get();
      mbox->type = T.mailbox(rd.message_type);
      check_handler(*rd.update, false);
    }
    if (rd.receive) {
      rd.receive->params[0]->type = T.pid();
      rd.receive->params[1]->type = rd.message_type;
      check_handler(*rd.receive, true);
    }
    if (rd.finish) {
      rd.finish->params[0]->type = T.bool_();
      check_handler(*rd.finish, true);
    }
    Progress& pr = rd.progress;
    if (pr.go_when) {
      ScopeGuard s2(*this);
      if (mbox) scopes_.back()[mbox->name] = mbox;
      require(pr.go_when, TypeKind::Bool, "the 'go when' condition");
    }
    if (pr.wait && pr.timeout_us)
      D.error("wait-and-timeout", pr.range, "'wait' means the round has no timeout; remove 'wait' or 'timeout'");
    if (pr.timeout_us && *pr.timeout_us <= 0)
      D.error("bad-timeout", pr.range, "a timeout must be positive");
    if (pr.sync && *pr.sync < 1) D.error("bad-sync", pr.range, "'sync k' needs k >= 1");
    if (pr.strict_bound && *pr.strict_bound < 1)
      D.error("bad-strict-bound", pr.range, "'strict K' bounds the buffered future messages and needs K >= 1");
  }

  // Reports a mismatch of an already checked `e` with `want`, and makes an
  // int -> pid conversion explicit (Builtin::ToPid).
  bool coerce_checked(ExprPtr& e, const Type* want, const std::string& what) {
    const Type* got = e->type;
    if (!assignable(got, want)) {
      D.error("type-mismatch", e->range,
              what + " has type '" + type_name(got) + "' but '" + type_name(want) + "' is expected");
      return false;
    }
    if (got->is(TypeKind::Int) && want->is(TypeKind::Pid)) {
      auto conv = std::make_unique<Expr>();
      conv->kind = ExprKind::Call;
      conv->range = e->range;
      conv->name = "<to_pid>";
      conv->builtin = Builtin::ToPid;
      conv->type = T.pid();
      conv->args.push_back(std::move(e));
      e = std::move(conv);
    }
    return true;
  }

  void check_handler(Handler& h, bool event) {
    ScopeGuard sg(*this);
    Context c = cx_;
    c.in_handler = true;
    c.in_event_handler = event;
    ContextGuard g(*this, c);
    for (auto& p : h.params) declare_local(*p);
    check_block(h.body);
  }

  // ---------------------------------------------------------------- statements
  void check_block(std::vector<StmtPtr>& body) {
    ScopeGuard sg(*this);
    for (auto& s : body) check_stmt(*s);
  }

  void check_stmt(Stmt& s) {
    switch (s.kind) {
      case StmtKind::LocalVar: {
        VarDecl& v = *s.var;
        v.type = v.type_expr ? resolve_type(v.type_expr.get()) : nullptr;
        if (v.type) coerce(v.init, v.type, "the initialiser of '" + v.name + "'");
        else v.type = check(*v.init, nullptr);
        if (v.type->is(TypeKind::Mailbox) && v.mutable_) {
          D.error("mailbox-variable", v.range, "a mailbox cannot be stored in a 'var'; use 'let'");
        }
        declare_local(v);
        break;
      }
      case StmtKind::If:
        require(s.cond, TypeKind::Bool, "the condition of 'if'");
        check_block(s.body);
        check_block(s.else_body);
        break;
      case StmtKind::For: {
        ScopeGuard sg(*this);
        if (s.range_end) {
          require(s.cond, TypeKind::Int, "the start of a range");
          require(s.range_end, TypeKind::Int, "the end of a range");
          s.var->type = T.int_();
        } else {
          const Type* t = check(*s.cond, nullptr);
          if (!t->is(TypeKind::PidSet) && !t->is_error())
            D.error("bad-for-collection", s.cond->range,
                    "'for' iterates over a set<pid> or a range 'a..b', not over '" + type_name(t) + "'");
          s.var->type = T.pid();
        }
        s.var->used = true;
        declare_local(*s.var);
        for (auto& b : s.body) check_stmt(*b);
        break;
      }
      case StmtKind::Decide: {
        if (prog_.outputs.empty()) {
          D.error("decide-without-output", s.range, "'decide' needs an 'output' declaration giving the decision's type");
          check(*s.value, nullptr);
        } else {
          VarDecl& out = *prog_.outputs[0];
          coerce(s.value, out.type, "the decided value");
        }
        break;
      }
      case StmtKind::Halt: break;
      case StmtKind::Go:
        if (!cx_.in_event_handler)
          D.error("go-outside-event-round", s.range,
                  "'go' ends an event round early and is only allowed in 'receive' or 'finish'; "
                  "a closed round ends on its progress condition (use 'progress go when ...')");
        break;
      case StmtKind::Assign: check_assign(s); break;
      case StmtKind::ExprStmt: {
        check(*s.value, nullptr);
        if (s.value->kind != ExprKind::Error)
          D.error("unused-expression", s.value->range,
                  s.value->kind == ExprKind::Binary && s.value->binary_op == BinaryOp::Eq
                      ? "this comparison has no effect; did you mean '=' (assignment)?"
                      : "this expression has no effect");
        break;
      }
      case StmtKind::Block: check_block(s.body); break;
    }
  }

  // Returns the variable at the root of an assignable place, or null.
  VarDecl* lvalue_root(Expr& e) {
    switch (e.kind) {
      case ExprKind::Name: return e.decl;
      case ExprKind::Index:
        if (e.builtin == Builtin::MboxGet) return nullptr;
        return lvalue_root(*e.args[0]);
      case ExprKind::TupleIndex: return lvalue_root(*e.args[0]);
      case ExprKind::Member:
        if (e.builtin != Builtin::None) return nullptr;
        return lvalue_root(*e.args[0]);
      default: return nullptr;
    }
  }

  void check_assign(Stmt& s) {
    const Type* target = check(*s.target, nullptr);
    // A write is not a read: undo the `used` mark that check() set on the root.
    VarDecl* root = lvalue_root(*s.target);
    if (root && s.target->kind == ExprKind::Name && s.assign_op == AssignOp::Set) root->used = root_was_used_;
    if (target->is_error()) {
      check(*s.value, nullptr);
      return;
    }
    if (!root) {
      D.error("not-assignable", s.target->range, "the left side of an assignment must be a variable, a field or an array element");
      check(*s.value, nullptr);
      return;
    }
    if (!root->mutable_) {
      std::string extra = root->kind == VarKind::Output ? "; outputs are set with decide(...)" : "";
      D.error("assign-to-immutable", s.target->range,
              std::string("cannot assign to ") + kind_noun(root->kind) + " '" + root->name + "'" + extra);
      check(*s.value, nullptr);
      return;
    }
    if (s.assign_op != AssignOp::Set) {
      if (!target->is(TypeKind::Int) && !target->is(TypeKind::Pid)) {
        D.error("type-mismatch", s.target->range, "compound assignment needs an int, not '" + type_name(target) + "'");
        check(*s.value, nullptr);
        return;
      }
      require(s.value, TypeKind::Int, "the right side");
      return;
    }
    coerce(s.value, target, "the assigned value");
  }

  // ---------------------------------------------------------------- expressions
  static Builtin builtin_fn(const std::string& name) {
    static const std::map<std::string, Builtin> fns = {
        {"coin", Builtin::Coin}, {"random", Builtin::Random}, {"set", Builtin::Set}, {"ho", Builtin::Ho},
        {"min", Builtin::Min},   {"max", Builtin::Max},       {"abs", Builtin::Abs}};
    auto it = fns.find(name);
    return it == fns.end() ? Builtin::None : it->second;
  }

  const Type* set_type(Expr& e, const Type* t) {
    e.type = t;
    return t;
  }

  const Type* fail(Expr& e, const std::string& id, const std::string& msg) {
    D.error(id, e.range, msg);
    return set_type(e, T.error());
  }

  bool in_spec() const { return cx_.where == Where::Spec; }

  const Type* check(Expr& e, const Type* expected) {
    switch (e.kind) {
      case ExprKind::Error: return set_type(e, T.error());
      case ExprKind::IntLit: return set_type(e, T.int_());
      case ExprKind::BoolLit: return set_type(e, T.bool_());
      case ExprKind::UnitLit: return set_type(e, T.unit());
      case ExprKind::NoneLit:
        if (expected && expected->is(TypeKind::Option)) return set_type(e, expected);
        if (expected && expected->is_error()) return set_type(e, T.error());
        return fail(e, "cannot-infer-none",
                    "cannot infer the type of 'none' here; give the variable a type such as 'int?'");
      case ExprKind::Some: {
        const Type* inner_expected = expected && expected->is(TypeKind::Option) ? expected->elem : nullptr;
        if (inner_expected) {
          coerce(e.args[0], inner_expected, "the value in some(...)");
          return set_type(e, expected);
        }
        const Type* t = check(*e.args[0], nullptr);
        if (t->is(TypeKind::Option)) return fail(e, "nested-option", "nested option types are not supported");
        return set_type(e, T.option(t));
      }
      case ExprKind::Name: return check_name(e);
      case ExprKind::Call: return check_call(e);
      case ExprKind::Member: return check_member(e);
      case ExprKind::TupleIndex: {
        const Type* t = check(*e.args[0], nullptr);
        if (t->is_error()) return set_type(e, t);
        if (!t->is(TypeKind::Tuple))
          return fail(e, "not-a-tuple", "'." + std::to_string(e.int_value) + "' needs a tuple, not '" + type_name(t) + "'");
        if (e.int_value < 0 || static_cast<size_t>(e.int_value) >= t->elems.size())
          return fail(e, "tuple-index-out-of-range",
                      "tuple '" + type_name(t) + "' has no element " + std::to_string(e.int_value) + " (it has " +
                          std::to_string(t->elems.size()) + ")");
        return set_type(e, t->elems[e.int_value]);
      }
      case ExprKind::Index: {
        const Type* t = check(*e.args[0], nullptr);
        if (t->is_error()) {
          check(*e.args[1], nullptr);
          return set_type(e, t);
        }
        if (t->is(TypeKind::Mailbox)) {
          e.builtin = Builtin::MboxGet;
          require(e.args[1], TypeKind::Pid, "a mailbox index");
          return set_type(e, t->elem);
        }
        if (t->is(TypeKind::Array)) {
          require(e.args[1], TypeKind::Pid, "an array index");
          return set_type(e, t->elem);
        }
        check(*e.args[1], nullptr);
        return fail(e, "not-indexable", "'" + type_name(t) + "' cannot be indexed; only mailboxes and arrays can");
      }
      case ExprKind::Unary: {
        if (e.unary_op == UnaryOp::Not) {
          require(e.args[0], TypeKind::Bool, "the operand of '!'");
          return set_type(e, T.bool_());
        }
        require(e.args[0], TypeKind::Int, "the operand of '-'");
        return set_type(e, T.int_());
      }
      case ExprKind::Binary: return check_binary(e);
      case ExprKind::Cond: {
        require(e.args[0], TypeKind::Bool, "the condition of '?:'");
        const Type* a = check(*e.args[1], expected);
        if (a->is_error()) {
          check(*e.args[2], expected);
          return set_type(e, a);
        }
        coerce(e.args[2], a, "the second branch of '?:'");
        return set_type(e, a);
      }
      case ExprKind::Quant: {
        if (!in_spec())
          return fail(e, "quantifier-outside-spec",
                      std::string("'") + (e.bool_value ? "forall" : "exists") +
                          "' is only allowed in specifications (invariant, property, liveness, assume)");
        ScopeGuard sg(*this);
        for (auto& p : e.params) {
          p->type = T.pid();
          declare_local(*p);
        }
        require(e.args[0], TypeKind::Bool, "the body of a quantifier");
        return set_type(e, T.bool_());
      }
      case ExprKind::Lambda:
        return fail(e, "lambda-outside-mailbox-op",
                    "a lambda can only be an argument of a mailbox operation such as count, filter or fold");
      case ExprKind::Tuple: {
        std::vector<const Type*> ts;
        bool match = expected && expected->is(TypeKind::Tuple) && expected->elems.size() == e.args.size();
        for (size_t i = 0; i < e.args.size(); ++i) {
          if (match) {
            coerce(e.args[i], expected->elems[i], "tuple element " + std::to_string(i));
            ts.push_back(expected->elems[i]);
          } else {
            ts.push_back(check(*e.args[i], nullptr));
          }
        }
        return set_type(e, T.tuple(ts));
      }
      case ExprKind::ArrayFill: {
        if (expected && expected->is(TypeKind::Array)) {
          coerce(e.args[0], expected->elem, "the array element");
          return set_type(e, expected);
        }
        const Type* t = check(*e.args[0], nullptr);
        return set_type(e, T.array(t));
      }
      case ExprKind::Record: return check_record(e, expected);
      case ExprKind::Old: {
        if (!in_spec() || cx_.spec != SpecKind::Property)
          return fail(e, "old-outside-property",
                      "'old(...)' reads the state before a round and is only allowed in a 'property'");
        if (cx_.in_old) return fail(e, "nested-old", "'old(...)' cannot be nested");
        Context c = cx_;
        c.in_old = true;
        ContextGuard g(*this, c);
        return set_type(e, check(*e.args[0], expected));
      }
    }
    return set_type(e, T.error());
  }

  const Type* check_record(Expr& e, const Type* expected) {
    const Type* want = nullptr;
    if (!e.name.empty()) {
      auto it = aliases_.find(e.name);
      if (it == aliases_.end()) return fail(e, "unknown-type", "unknown record type '" + e.name + "'");
      want = it->second->type;
      if (!want || want->is_error()) return set_type(e, T.error());
      if (!want->is(TypeKind::Record))
        return fail(e, "not-a-record", "'" + e.name + "' is '" + type_name(want) + "', not a record type");
    } else if (expected && expected->is(TypeKind::Record)) {
      want = expected;
    }
    std::set<std::string> seen;
    for (auto& f : e.field_names)
      if (!seen.insert(f).second) return fail(e, "duplicate-field", "field '" + f + "' appears twice");
    if (!want) {
      std::vector<const Type*> ts;
      for (auto& a : e.args) ts.push_back(check(*a, nullptr));
      return set_type(e, T.record(e.field_names, ts));
    }
    // Reorder the literal into the type's field order.
    std::vector<ExprPtr> ordered(want->elems.size());
    bool ok = true;
    for (size_t i = 0; i < e.args.size(); ++i) {
      int idx = want->field_index(e.field_names[i]);
      if (idx < 0) {
        D.error("unknown-field", i < e.field_ranges.size() ? e.field_ranges[i] : e.args[i]->range,
                "record type '" + type_name(want) + "' has no field '" + e.field_names[i] + "'");
        check(*e.args[i], nullptr);
        ok = false;
        continue;
      }
      coerce(e.args[i], want->elems[idx], "field '" + e.field_names[i] + "'");
      ordered[idx] = std::move(e.args[i]);
    }
    for (size_t i = 0; i < ordered.size() && ok; ++i)
      if (!ordered[i]) {
        D.error("missing-field", e.range, "record literal is missing field '" + want->field_names[i] + "'");
        ok = false;
      }
    if (!ok) return set_type(e, T.error());
    e.args = std::move(ordered);
    e.field_names = want->field_names;
    return set_type(e, want);
  }

  const Type* check_name(Expr& e) {
    VarDecl* v = lookup(e.name);
    if (v) {
      root_was_used_ = v->used;
      v->used = true;
      e.decl = v;
      const bool process_level = v->kind == VarKind::Input || v->kind == VarKind::Output ||
                                 v->kind == VarKind::Var || v->kind == VarKind::Let;
      switch (cx_.where) {
        case Where::Spec:
          if (process_level)
            return fail(e, "spec-reads-unbound-state",
                        "a specification cannot read '" + e.name + "' of no particular process; write 'p." + e.name +
                            "' with p bound by forall or exists");
          break;
        case Where::Fn:
          if (v->kind == VarKind::Const) prog_.fns[cx_.fn_index]->reads_consts = true;
          if (v->kind != VarKind::Param && v->kind != VarKind::Const)
            return fail(e, "impure-fn",
                        "fn bodies are pure: they read only their parameters and consts, not " +
                            std::string(kind_noun(v->kind)) + " '" + e.name + "'");
          break;
        case Where::ConstInit:
          if (v->kind != VarKind::Const)
            return fail(e, "non-constant-initialiser",
                        "a const initialiser can only use other consts and 'n', not '" + e.name + "'");
          if (v->index >= cx_.fn_index)
            return fail(e, "const-used-before-declaration",
                        "const '" + e.name + "' is declared after this one; a const can only use the consts before it");
          break;
        case Where::Let:
          if (v->kind == VarKind::Let && current_let_) let_deps_[current_let_].push_back(v);
          break;
        default: break;
      }
      return set_type(e, v->type ? v->type : T.error());
    }
    static const std::map<std::string, Builtin> names = {
        {"n", Builtin::N},         {"me", Builtin::Me},           {"r", Builtin::Round},
        {"phase", Builtin::Phase}, {"pids", Builtin::Pids},       {"uniform", Builtin::Uniform},
        {"ho_size", Builtin::HoSize}, {"decided", Builtin::Decided}};
    auto it = names.find(e.name);
    if (it != names.end()) {
      e.builtin = it->second;
      switch (e.builtin) {
        case Builtin::N: return set_type(e, T.int_());
        case Builtin::Me:
          if (in_spec()) return fail(e, "me-in-spec", "'me' has no meaning in a specification; quantify over processes");
          if (cx_.where == Where::Fn || cx_.where == Where::ConstInit)
            return fail(e, "impure-fn", "'me' is not available in a pure fn or a const");
          return set_type(e, T.pid());
        case Builtin::Round:
        case Builtin::Phase:
          if (cx_.where == Where::Fn || cx_.where == Where::ConstInit)
            return fail(e, "impure-fn", "'" + e.name + "' is not available in a pure fn or a const");
          return set_type(e, T.int_());
        case Builtin::Pids: return set_type(e, T.pid_set());
        case Builtin::Decided:
          if (in_spec())
            return fail(e, "spec-reads-unbound-state", "write 'p.decided' with p bound by forall or exists");
          if (cx_.where == Where::Fn || cx_.where == Where::ConstInit)
            return fail(e, "impure-fn", "'decided' is not available in a pure fn or a const");
          return set_type(e, T.bool_());
        case Builtin::Uniform:
        case Builtin::HoSize:
          if (!in_spec() || !cx_.allow_ho)
            return fail(e, "ho-outside-predicate",
                        "'" + e.name + "' describes heard-of sets and is only allowed in 'assume' and in the 'where' "
                        "predicate of 'liveness'");
          return set_type(e, e.builtin == Builtin::Uniform ? T.bool_() : T.int_());
        default: break;
      }
    }
    if (fns_.count(e.name)) return fail(e, "fn-without-call", "'" + e.name + "' is a fn; call it as " + e.name + "(...)");
    return fail(e, "undeclared-name", "use of undeclared name '" + e.name + "'" + suggestion(e.name));
  }

  bool check_arity(Expr& e, size_t lo, size_t hi, const std::string& what) {
    size_t got = e.kind == ExprKind::Member ? e.args.size() - 1 : e.args.size();
    if (got < lo || got > hi) {
      std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
      D.error("wrong-arity", e.range,
              what + " takes " + want + " argument" + (hi == 1 && lo == 1 ? "" : "s") + ", but " + std::to_string(got) +
                  (got == 1 ? " was" : " were") + " given");
      size_t first = e.kind == ExprKind::Member ? 1 : 0;
      for (size_t i = first; i < e.args.size(); ++i)
        if (e.args[i]->kind != ExprKind::Lambda) check(*e.args[i], nullptr);
      e.type = T.error();
      return false;
    }
    return true;
  }

  bool in_round_code() const { return cx_.where == Where::RoundCode; }

  const Type* check_call(Expr& e) {
    if (e.builtin == Builtin::ToPid) return e.type;  // already checked
    auto fit = fns_.find(e.name);
    if (fit != fns_.end() && !lookup(e.name)) {
      FnDecl& fn = *fit->second;
      fn.used = true;
      e.fn = &fn;
      if (cx_.where == Where::Fn && fn_order_[&fn] >= cx_.fn_index) {
        for (auto& a : e.args) check(*a, nullptr);
        return fail(e, "recursive-fn",
                    "fn '" + fn.name + "' is not declared before this fn; fns cannot be recursive or call later fns");
      }
      if (cx_.where == Where::Fn && fn.reads_consts) prog_.fns[cx_.fn_index]->reads_consts = true;
      if (cx_.where == Where::ConstInit && fn.reads_consts) {
        for (auto& a : e.args) check(*a, nullptr);
        return fail(e, "non-constant-initialiser",
                    "a const initialiser cannot call fn '" + fn.name +
                        "', which reads consts (they may not be computed yet); pass them as arguments");
      }
      if (!check_arity(e, fn.params.size(), fn.params.size(), "fn '" + fn.name + "'")) return e.type;
      for (size_t i = 0; i < e.args.size(); ++i)
        coerce(e.args[i], fn.params[i]->type, "argument " + std::to_string(i + 1) + " of '" + fn.name + "'");
      return set_type(e, fn.result_type ? fn.result_type : T.error());
    }
    e.builtin = builtin_fn(e.name);
    switch (e.builtin) {
      case Builtin::Coin:
      case Builtin::Random:
        if (!in_round_code())
          return fail(e, "random-outside-round",
                      "'" + e.name + "()' is a random choice and is only allowed in round code");
        if (e.builtin == Builtin::Coin) {
          if (!check_arity(e, 0, 0, "coin()")) return e.type;
          return set_type(e, T.bool_());
        }
        if (!check_arity(e, 1, 1, "random(k)")) return e.type;
        require(e.args[0], TypeKind::Int, "the bound of random(k)");
        return set_type(e, T.int_());
      case Builtin::Set:
        for (auto& a : e.args) require(a, TypeKind::Pid, "an element of set(...)");
        return set_type(e, T.pid_set());
      case Builtin::Ho:
        if (!in_spec() || !cx_.allow_ho)
          return fail(e, "ho-outside-predicate",
                      "'ho(p)' is the heard-of set of p and is only allowed in 'assume' and in the 'where' predicate of "
                      "'liveness'");
        if (!check_arity(e, 1, 1, "ho(p)")) return e.type;
        require(e.args[0], TypeKind::Pid, "the argument of ho(p)");
        return set_type(e, T.pid_set());
      case Builtin::Min:
      case Builtin::Max:
        if (!check_arity(e, 2, 2, e.name + "(a, b)")) return e.type;
        require(e.args[0], TypeKind::Int, "argument 1 of " + e.name);
        require(e.args[1], TypeKind::Int, "argument 2 of " + e.name);
        return set_type(e, T.int_());
      case Builtin::Abs:
        if (!check_arity(e, 1, 1, "abs(a)")) return e.type;
        require(e.args[0], TypeKind::Int, "the argument of abs");
        return set_type(e, T.int_());
      default: break;
    }
    if (e.name == "decide") return fail(e, "decide-in-expression", "'decide(...)' is a statement, not an expression");
    if (VarDecl* v = lookup(e.name)) {
      v->used = true;
      return fail(e, "not-callable", std::string(kind_noun(v->kind)) + " '" + e.name + "' is not a function");
    }
    for (auto& a : e.args)
      if (a->kind != ExprKind::Lambda) check(*a, nullptr);
    return fail(e, "undeclared-function", "call to undeclared function '" + e.name + "'" + suggestion(e.name));
  }

  // p.x in a specification: the variable x of quantified process p.
  const Type* check_process_field(Expr& e, VarDecl& p) {
    p.used = true;
    e.args[0]->decl = &p;
    e.args[0]->type = T.pid();
    if (e.has_call_parens) return fail(e, "not-callable", "'" + e.name + "' of a process is not a function");
    if (e.name == "decided") {
      e.builtin = Builtin::Decided;
      return set_type(e, T.bool_());
    }
    auto it = globals_.find(e.name);
    if (it == globals_.end() || it->second->kind == VarKind::Const) {
      return fail(e, "unknown-process-field",
                  "processes have no variable '" + e.name + "'; a specification can read inputs, outputs, vars, lets "
                  "and 'decided'" + suggestion(e.name));
    }
    VarDecl* v = it->second;
    v->used = true;
    e.builtin = Builtin::ProcField;
    e.decl = v;
    return set_type(e, v->type ? v->type : T.error());
  }

  // Checks a lambda argument against its parameter types; returns the body type.
  const Type* check_lambda(Expr& lam, std::vector<const Type*> param_types, const Type* expected_result,
                           const std::string& op) {
    if (lam.kind != ExprKind::Lambda) {
      D.error("expected-lambda", lam.range, op + " expects a lambda such as 'm => m > 0'");
      check(lam, nullptr);
      return T.error();
    }
    if (lam.params.size() != param_types.size()) {
      D.error("lambda-arity", lam.range,
              "the lambda given to " + op + " takes " + std::to_string(param_types.size()) + " parameter" +
                  (param_types.size() == 1 ? "" : "s") + ", not " + std::to_string(lam.params.size()));
      lam.type = T.error();
      return T.error();
    }
    ScopeGuard sg(*this);
    for (size_t i = 0; i < lam.params.size(); ++i) {
      lam.params[i]->type = param_types[i];
      lam.params[i]->used = true;
      declare_local(*lam.params[i]);
    }
    lam.type = T.lambda();
    if (expected_result) {
      coerce(lam.args[0], expected_result, "the lambda given to " + op);
      return expected_result;
    }
    return check(*lam.args[0], nullptr);
  }

  const Type* check_member(Expr& e) {
    Expr& recv = *e.args[0];
    // p.x in a specification, where p is a quantified process.
    if (recv.kind == ExprKind::Name && in_spec()) {
      VarDecl* v = lookup(recv.name);
      if (v && v->kind == VarKind::QuantVar) return check_process_field(e, *v);
    }
    const Type* rt = check(recv, nullptr);
    if (rt->is_error()) {
      for (size_t i = 1; i < e.args.size(); ++i)
        if (e.args[i]->kind != ExprKind::Lambda) check(*e.args[i], nullptr);
      return set_type(e, T.error());
    }
    const std::string& m = e.name;
    std::string op = "'" + m + "'";
    switch (rt->kind) {
      case TypeKind::Mailbox: return check_mailbox_op(e, rt->elem);
      case TypeKind::PidSet: {
        static const std::map<std::string, std::pair<Builtin, int>> ops = {
            {"has", {Builtin::SetHas, 1}},       {"size", {Builtin::SetSize, 0}},
            {"with", {Builtin::SetWith, 1}},     {"without", {Builtin::SetWithout, 1}},
            {"union", {Builtin::SetUnion, 1}},   {"inter", {Builtin::SetInter, 1}},
            {"is_empty", {Builtin::SetIsEmpty, 0}}};
        auto it = ops.find(m);
        if (it == ops.end())
          return fail(e, "unknown-member",
                      "set<pid> has no operation '" + m + "' (it has has, size, with, without, union, inter, is_empty)");
        e.builtin = it->second.first;
        if (!check_arity(e, it->second.second, it->second.second, "set operation " + op)) return e.type;
        switch (e.builtin) {
          case Builtin::SetHas:
            require(e.args[1], TypeKind::Pid, "the argument of has");
            return set_type(e, T.bool_());
          case Builtin::SetSize: return set_type(e, T.int_());
          case Builtin::SetIsEmpty: return set_type(e, T.bool_());
          case Builtin::SetWith:
          case Builtin::SetWithout:
            require(e.args[1], TypeKind::Pid, "the argument of " + m);
            return set_type(e, T.pid_set());
          default:
            coerce(e.args[1], T.pid_set(), "the argument of " + m);
            return set_type(e, T.pid_set());
        }
      }
      case TypeKind::Option: {
        static const std::map<std::string, std::pair<Builtin, int>> ops = {{"is_some", {Builtin::OptIsSome, 0}},
                                                                          {"is_none", {Builtin::OptIsNone, 0}},
                                                                          {"get", {Builtin::OptGet, 0}},
                                                                          {"get_or", {Builtin::OptGetOr, 1}}};
        auto it = ops.find(m);
        if (it == ops.end())
          return fail(e, "unknown-member", "an option has no operation '" + m + "' (it has is_some, is_none, get, get_or)");
        e.builtin = it->second.first;
        if (!check_arity(e, it->second.second, it->second.second, "option operation " + op)) return e.type;
        if (e.builtin == Builtin::OptGetOr) {
          coerce(e.args[1], rt->elem, "the default of get_or");
          return set_type(e, rt->elem);
        }
        return set_type(e, e.builtin == Builtin::OptGet ? rt->elem : T.bool_());
      }
      case TypeKind::Record: {
        int idx = rt->field_index(m);
        if (idx < 0)
          return fail(e, "unknown-field", "record type '" + type_name(rt) + "' has no field '" + m + "'" );
        if (e.has_call_parens) return fail(e, "not-callable", "field '" + m + "' is not a function");
        e.int_value = idx;
        return set_type(e, rt->elems[idx]);
      }
      default:
        return fail(e, "unknown-member", "type '" + type_name(rt) + "' has no member '" + m + "'");
    }
  }

  const Type* check_mailbox_op(Expr& e, const Type* msg) {
    const std::string& m = e.name;
    const std::string op = "mailbox operation '" + m + "'";
    size_t nargs = e.args.size() - 1;
    auto ordered = [&](const Type* t) { return t->is(TypeKind::Int) || t->is(TypeKind::Pid); };
    if (m == "size") {
      e.builtin = Builtin::MboxSize;
      if (!check_arity(e, 0, 0, op)) return e.type;
      return set_type(e, T.int_());
    }
    if (m == "senders") {
      e.builtin = Builtin::MboxSenders;
      if (!check_arity(e, 0, 0, op)) return e.type;
      return set_type(e, T.pid_set());
    }
    if (m == "has") {
      e.builtin = Builtin::MboxHas;
      if (!check_arity(e, 1, 1, op)) return e.type;
      require(e.args[1], TypeKind::Pid, "the argument of has");
      return set_type(e, T.bool_());
    }
    if (m == "count") {
      if (!check_arity(e, 1, 1, op)) return e.type;
      if (e.args[1]->kind == ExprKind::Lambda) {
        e.builtin = Builtin::MboxCountIf;
        check_lambda(*e.args[1], {msg}, T.bool_(), "count");
      } else {
        e.builtin = Builtin::MboxCount;
        coerce(e.args[1], msg, "the value counted");
      }
      return set_type(e, T.int_());
    }
    if (m == "exists" || m == "all" || m == "filter") {
      e.builtin = m == "exists" ? Builtin::MboxExists : m == "all" ? Builtin::MboxAll : Builtin::MboxFilter;
      if (!check_arity(e, 1, 1, op)) return e.type;
      check_lambda(*e.args[1], {msg}, T.bool_(), m);
      return set_type(e, e.builtin == Builtin::MboxFilter ? T.mailbox(msg) : T.bool_());
    }
    if (m == "min" || m == "max" || m == "min_most_frequent") {
      e.builtin = m == "min" ? Builtin::MboxMin : m == "max" ? Builtin::MboxMax : Builtin::MboxMinMostFrequent;
      if (!check_arity(e, 0, 0, op)) return e.type;
      if (!ordered(msg) && !msg->is_error())
        return fail(e, "unordered-message", "'" + m + "' needs messages of type int or pid, not '" + type_name(msg) +
                                                "'; use min_by/max_by with a key");
      return set_type(e, msg);
    }
    if (m == "most_frequent") {
      e.builtin = Builtin::MboxMostFrequent;
      if (!check_arity(e, 0, 0, op)) return e.type;
      return set_type(e, msg);
    }
    if (m == "min_by" || m == "max_by") {
      e.builtin = m == "min_by" ? Builtin::MboxMinBy : Builtin::MboxMaxBy;
      if (!check_arity(e, 1, 1, op)) return e.type;
      check_lambda(*e.args[1], {msg}, T.int_(), m);
      return set_type(e, msg);
    }
    if (m == "sum") {
      if (!check_arity(e, 0, 1, op)) return e.type;
      if (nargs == 0) {
        e.builtin = Builtin::MboxSum;
        if (!msg->is(TypeKind::Int) && !msg->is_error())
          return fail(e, "type-mismatch", "'sum()' needs int messages; give a key: sum(m => ...)");
      } else {
        e.builtin = Builtin::MboxSumBy;
        check_lambda(*e.args[1], {msg}, T.int_(), "sum");
      }
      return set_type(e, T.int_());
    }
    if (m == "fold") {
      e.builtin = Builtin::MboxFold;
      if (!check_arity(e, 2, 2, op)) return e.type;
      const Type* acc = check(*e.args[1], nullptr);
      if (acc->is(TypeKind::Mailbox)) return fail(e, "type-mismatch", "a fold accumulator cannot be a mailbox");
      check_lambda(*e.args[2], {acc, msg}, acc, "fold");
      return set_type(e, acc);
    }
    return fail(e, "unknown-member",
                "mailboxes have no operation '" + m +
                    "' (they have size, has, senders, count, exists, all, filter, min, max, min_by, max_by, sum, "
                    "most_frequent, min_most_frequent, fold and m[p])" + suggestion(m));
  }

  const Type* check_binary(Expr& e) {
    BinaryOp op = e.binary_op;
    std::string sp = std::string("'") + binary_op_spelling(op) + "'";
    switch (op) {
      case BinaryOp::And:
      case BinaryOp::Or:
      case BinaryOp::Implies:
        require(e.args[0], TypeKind::Bool, "the left operand of " + sp);
        require(e.args[1], TypeKind::Bool, "the right operand of " + sp);
        return set_type(e, T.bool_());
      case BinaryOp::Add:
      case BinaryOp::Sub:
      case BinaryOp::Mul:
      case BinaryOp::Div:
      case BinaryOp::Mod:
        require(e.args[0], TypeKind::Int, "the left operand of " + sp);
        require(e.args[1], TypeKind::Int, "the right operand of " + sp);
        return set_type(e, T.int_());
      case BinaryOp::Lt:
      case BinaryOp::Le:
      case BinaryOp::Gt:
      case BinaryOp::Ge:
        require(e.args[0], TypeKind::Int, "the left operand of " + sp);
        require(e.args[1], TypeKind::Int, "the right operand of " + sp);
        return set_type(e, T.bool_());
      case BinaryOp::Eq:
      case BinaryOp::Ne: {
        const Type* l = check(*e.args[0], nullptr);
        if (l->is_error()) {
          check(*e.args[1], nullptr);
          return set_type(e, T.bool_());
        }
        if (!has_equality(l))
          return fail(e, "no-equality", "values of type '" + type_name(l) + "' cannot be compared");
        const Type* rt = check(*e.args[1], l);
        if (!assignable(rt, l))
          return fail(e, "type-mismatch",
                      "cannot compare '" + type_name(l) + "' with '" + type_name(rt) + "' using " + sp);
        return set_type(e, T.bool_());
      }
    }
    return set_type(e, T.error());
  }

  // ---------------------------------------------------------------- specs
  void check_spec(Spec& s) {
    ScopeGuard sg(*this);
    Context c{Where::Spec};
    c.spec = s.kind;
    c.allow_ho = s.kind == SpecKind::Assume;
    {
      ContextGuard g(*this, c);
      if (s.kind == SpecKind::Liveness && s.pred) {
        Context pc = c;
        pc.allow_ho = true;
        ContextGuard g2(*this, pc);
        require(s.pred, TypeKind::Bool, "the communication predicate of '" + s.name + "'");
      }
      require(s.body, TypeKind::Bool, "specification '" + s.name + "'");
    }
  }

  // ---------------------------------------------------------------- warnings
  void warn_unused() {
    auto warn = [&](VarDecl& v) {
      if (!v.used && !v.from_import && v.name != "<error>" && v.name[0] != '_')
        D.warning("unused-variable", v.range,
                  std::string(kind_noun(v.kind)) + " '" + v.name + "' is never read");
    };
    for (auto& v : prog_.vars) warn(*v);
    for (auto& v : prog_.lets) warn(*v);
    for (VarDecl* v : locals_) warn(*v);
  }

  Program& prog_;
  TypeContext& T;
  DiagnosticEngine& D;
  SemaOptions opts_;
  Context cx_;
  std::vector<std::map<std::string, VarDecl*>> scopes_;
  std::map<std::string, VarDecl*> globals_;
  std::map<std::string, FnDecl*> fns_;
  std::map<const FnDecl*, int> fn_order_;
  std::map<std::string, TypeAlias*> aliases_;
  std::vector<VarDecl*> locals_;
  std::map<int, int> index_counter_;
  bool root_was_used_ = false;
  VarDecl* current_let_ = nullptr;
  std::map<const VarDecl*, std::vector<const VarDecl*>> let_deps_;
};

}  // namespace

bool check_program(Program& program, TypeContext& types, DiagnosticEngine& diags, const SemaOptions& options) {
  return Sema(program, types, diags, options).run();
}

}  // namespace psync
