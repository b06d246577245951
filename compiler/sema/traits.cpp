// traits.cpp: the symmetry and round-number walk behind analyze_traits (see
// traits.h). Built-ins get their verdict from the Symmetry column of
// ast/builtins.def; operators, variables and statements from the rules
// below. Only code that can run is walked: specs, rounds, initialisers, and
// the fns and lets they reach, so an unused import changes nothing.
//
// The checker's symmetry reduction sorts process states without renaming
// anything inside them. That is sound when, for every permutation pi of the
// processes, the successors of pi(state) are pi of the successors and every
// spec has the same value on pi(state) (docs/checker.md, section 3). So a
// value may name a process ("equivariant": it becomes pi(v) when the
// processes are renamed: `me`, a quantified process, ho(p), mbox.senders) as
// long as it is only used in ways that commute with renaming: set
// operations, membership, equality with another such value, a mailbox slot,
// a send destination. Storing or sending it, ordering it, using it as a
// number, comparing it with a fixed number, or reading a pid-valued state
// variable (whose contents are not renamed) breaks the symmetry.
#include "sema/traits.h"

#include <map>
#include <set>
#include <vector>

namespace psync {

namespace {

// How a value behaves when processes are renamed. Breaking is not a class:
// it is reported where it happens and ends the question.
enum class Sym { Inv, Eqv };

Sym join(Sym a, Sym b) { return a == Sym::Eqv || b == Sym::Eqv ? Sym::Eqv : Sym::Inv; }

bool holds_pid(const Type* t) {
  if (!t) return false;
  switch (t->kind) {
    case TypeKind::Pid:
    case TypeKind::PidSet: return true;
    case TypeKind::Option:
    case TypeKind::Array:
    case TypeKind::Mailbox: return holds_pid(t->elem);
    case TypeKind::Tuple:
    case TypeKind::Record:
      for (const Type* e : t->elems)
        if (holds_pid(e)) return true;
      return false;
    default: return false;
  }
}

// Built-ins that may take an equivariant argument without telling processes
// apart: set algebra, membership, a mailbox slot, ho(p), options around them.
bool takes_process_ids(Builtin b) {
  switch (b) {
    case Builtin::Set:
    case Builtin::Ho:
    case Builtin::MboxHas:
    case Builtin::MboxGet:
    case Builtin::SetHas:
    case Builtin::SetSize:
    case Builtin::SetWith:
    case Builtin::SetWithout:
    case Builtin::SetUnion:
    case Builtin::SetInter:
    case Builtin::SetIsEmpty:
    case Builtin::OptIsSome:
    case Builtin::OptIsNone:
    case Builtin::OptGet:
    case Builtin::OptGetOr: return true;
    default: return false;
  }
}

class TraitWalker {
 public:
  TraitWalker(ProgramTraits& t, const SourceManager& s) : t_(t), sources_(s) {}

  void program(const Program& p) {
    // Locals are typed flow-insensitively; walking until no local changes
    // class makes a read before a later assignment (in a loop) see it.
    for (int pass = 0; pass < 8; ++pass) {
      changed_ = false;
      lets_done_.clear();
      fns_done_.clear();
      walk_program(p);
      if (!changed_) break;
    }
  }

 private:
  // ---- reporting

  std::string where(const SourceRange& r) const {
    if (!r.valid()) return "";
    const SourceFile& f = sources_.file(r.file);
    return " (" + f.name() + ":" + std::to_string(f.line_col(r.begin).line) + ")";
  }

  void breaks(const SourceRange& r, const std::string& why) {
    if (!t_.symmetric) return;
    t_.symmetric = false;
    t_.asymmetry_reason = why + where(r);
  }

  // ---- expressions

  Sym name(const Expr& e) {
    const VarDecl* v = e.decl;
    if (!v) return Sym::Inv;
    switch (v->kind) {
      case VarKind::QuantVar:
      case VarKind::Sender: return Sym::Eqv;
      case VarKind::Local:
      case VarKind::LoopVar:
      case VarKind::Param: {
        auto it = locals_.find(v);
        return it == locals_.end() ? Sym::Inv : it->second;
      }
      case VarKind::Let: return let_value(*v, e.range);
      case VarKind::Const:
        if (holds_pid(v->type)) breaks(e.range, "names a particular process (const '" + v->name + "')");
        return Sym::Inv;
      case VarKind::Input:
      case VarKind::Output:
      case VarKind::Var:
      case VarKind::RoundVar:
        if (holds_pid(v->type)) breaks(e.range, "reads a process id stored in the state ('" + v->name + "')");
        return Sym::Inv;
      default: return Sym::Inv;  // mailboxes, messages, lambda params, timed_out
    }
  }

  // A let is evaluated where it is read, so it is walked once per reading
  // context (me is the reader in round code, the quantified process in p.x).
  Sym let_value(const VarDecl& v, const SourceRange&) {
    if (!v.init) return Sym::Inv;
    auto it = lets_done_.find(&v);
    if (it != lets_done_.end()) return it->second;
    lets_done_[&v] = Sym::Inv;  // sema rejects cycles; this only stops re-entry
    Sym s = expr(*v.init);
    lets_done_[&v] = s;
    return s;
  }

  Sym call_fn(const Expr& e) {
    std::vector<Sym> args;
    for (auto& a : e.args) args.push_back(expr(*a));
    if (!e.fn || (!e.fn->body && !e.fn->has_block)) return Sym::Inv;
    auto key = std::make_pair(e.fn, args);
    auto it = fns_done_.find(key);
    if (it != fns_done_.end()) return it->second;
    fns_done_[key] = Sym::Inv;
    for (size_t i = 0; i < e.fn->params.size() && i < args.size(); ++i) bind(*e.fn->params[i], args[i]);
    Sym s = Sym::Inv;
    if (e.fn->body) {
      s = expr(*e.fn->body);
    } else {  // a block body: its class is that of the values it returns
      Sym* outer = returns_;
      returns_ = &s;
      stmts(e.fn->block);
      returns_ = outer;
    }
    fns_done_[key] = s;
    return s;
  }

  void bind(const VarDecl& v, Sym s) {
    Sym& cur = locals_[&v];
    if (join(cur, s) != cur) {
      cur = join(cur, s);
      changed_ = true;
    }
  }

  Sym builtin(const Expr& e) {
    const BuiltinInfo& b = builtin_info(e.builtin);
    switch (b.symmetry) {
      case BuiltinSymmetry::Breaks: breaks(e.range, b.why); break;
      case BuiltinSymmetry::RoundNumber: t_.reads_round_number = true; break;
      default: break;
    }
    if (e.builtin == Builtin::ProcField) return proc_field(e);
    if (e.builtin == Builtin::Me) return Sym::Eqv;
    if (e.builtin == Builtin::Decided && e.kind == ExprKind::Member) {  // p.decided
      for (auto& a : e.args) expr(*a);
      return Sym::Inv;
    }
    std::vector<Sym> args;
    for (auto& a : e.args) args.push_back(expr(*a));
    Sym any = Sym::Inv;
    for (Sym s : args) any = join(any, s);
    if (any == Sym::Eqv && !takes_process_ids(e.builtin))
      breaks(e.range, std::string("uses a process id as a number (") + b.dump_name + ")");
    if (b.symmetry == BuiltinSymmetry::Equivariant) return e.builtin == Builtin::Pids ? Sym::Eqv : any;
    if (e.builtin == Builtin::MboxSenders) return Sym::Eqv;
    // Results that hold a process id carry their arguments' class; counts,
    // tests and mailbox slots are invariant.
    return holds_pid(e.type) ? any : Sym::Inv;
  }

  // p.x in a specification: x as process p sees it. A pid-valued variable
  // is not renamed with p; a let is evaluated in p's state.
  Sym proc_field(const Expr& e) {
    for (auto& a : e.args) expr(*a);
    const VarDecl* v = e.decl;
    if (!v) return Sym::Inv;
    if (v->kind == VarKind::Let) return let_value(*v, e.range);
    if (holds_pid(v->type)) breaks(e.range, "a specification reads a process id stored in the state ('" + v->name + "')");
    return Sym::Inv;
  }

  Sym binary(const Expr& e) {
    Sym l = expr(*e.args[0]);
    Sym r = expr(*e.args[1]);
    switch (e.binary_op) {
      case BinaryOp::And:
      case BinaryOp::Or:
      case BinaryOp::Implies: return Sym::Inv;
      case BinaryOp::Eq:
      case BinaryOp::Ne:
        if (l != r) breaks(e.range, "compares a process id with a fixed value");
        return Sym::Inv;
      case BinaryOp::Lt:
      case BinaryOp::Le:
      case BinaryOp::Gt:
      case BinaryOp::Ge:
        if (join(l, r) == Sym::Eqv) breaks(e.range, "orders process ids");
        return Sym::Inv;
      default:
        if (join(l, r) == Sym::Eqv) breaks(e.range, "uses a process id as a number");
        return Sym::Inv;
    }
  }

  Sym expr(const Expr& e) {
    if (e.builtin != Builtin::None) return builtin(e);
    switch (e.kind) {
      case ExprKind::Name: return name(e);
      case ExprKind::Call: return call_fn(e);
      case ExprKind::Member: return expr(*e.args[0]);  // a record field: the record's class
      case ExprKind::Index:
        expr(*e.args[0]);
        if (expr(*e.args[1]) == Sym::Eqv) breaks(e.range, "indexes an array by process id");
        return Sym::Inv;
      case ExprKind::Unary:
        if (expr(*e.args[0]) == Sym::Eqv && e.unary_op == UnaryOp::Neg)
          breaks(e.range, "uses a process id as a number");
        return Sym::Inv;
      case ExprKind::Binary: return binary(e);
      case ExprKind::Cond: {
        expr(*e.args[0]);
        return join(expr(*e.args[1]), expr(*e.args[2]));
      }
      case ExprKind::Quant:
        for (auto& v : e.params) bind(*v, Sym::Eqv);
        expr(*e.args[0]);
        return Sym::Inv;
      case ExprKind::Lambda:
        // Mailbox lambdas see messages, which never hold an equivariant
        // value (sending one breaks the symmetry first).
        return expr(*e.args[0]);
      case ExprKind::Match: {  // on an enum: the arms' values decide the class
        expr(*e.args[0]);
        Sym s = Sym::Inv;
        for (auto& a : e.arms)
          if (a.value) s = join(s, expr(*a.value));
        return s;
      }
      default: {
        Sym s = Sym::Inv;
        for (auto& a : e.args) s = join(s, expr(*a));
        return s;  // literals, tuples, records, some(...), old(...), arrays
      }
    }
  }

  // ---- statements

  // The variable an assignment writes (x in x.f[i] = v), and whether it is
  // indexed by a process id on the way.
  const VarDecl* assigned_root(const Expr& target) {
    const Expr* t = &target;
    while (t->kind != ExprKind::Name && !t->args.empty()) {
      if (t->kind == ExprKind::Index && t->args.size() > 1 && expr(*t->args[1]) == Sym::Eqv)
        breaks(t->range, "indexes an array by process id");
      t = t->args[0].get();
    }
    return t->kind == ExprKind::Name ? t->decl : nullptr;
  }

  void store(const VarDecl* v, Sym s, const SourceRange& r) {
    if (!v) return;
    if (v->kind == VarKind::Local || v->kind == VarKind::LoopVar) {
      bind(*v, s);
      return;
    }
    if (s == Sym::Eqv) breaks(r, "stores a process id in the state ('" + v->name + "')");
  }

  void stmts(const std::vector<StmtPtr>& body) {
    for (auto& s : body) stmt(*s);
  }

  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::LocalVar:
        if (s.var && s.var->init) bind(*s.var, expr(*s.var->init));
        break;
      case StmtKind::For:
        if (s.range_end) {
          expr(*s.cond);
          expr(*s.range_end);
        } else if (s.cond->type && s.cond->type->is(TypeKind::PidSet)) {
          // The body runs in the order of process ids; renaming processes
          // reorders it, which only commutes for an order-blind body.
          expr(*s.cond);
          breaks(s.range, "iterates over process ids in their order (for ... in a set<pid>)");
        } else {
          expr(*s.cond);
        }
        break;
      case StmtKind::Return:
        if (s.value) {
          Sym v = expr(*s.value);
          if (returns_) *returns_ = join(*returns_, v);
        }
        break;
      case StmtKind::Match:
        expr(*s.cond);
        for (auto& a : s.arms) stmts(a.body);
        break;
      case StmtKind::Decide:
        if (s.value && expr(*s.value) == Sym::Eqv) breaks(s.range, "decides a process id");
        break;
      case StmtKind::Assign: {
        Sym v = expr(*s.value);
        store(assigned_root(*s.target), v, s.range);
        break;
      }
      default:
        for (const ExprPtr* e : {&s.cond, &s.value})
          if (*e) expr(**e);
        for (auto& a : s.args) expr(*a);  // log's values
        break;
    }
    stmts(s.body);
    stmts(s.else_body);
  }

  // ---- the program

  void walk_program(const Program& p) {
    for (auto& v : p.vars)
      if (v->init) store(v.get(), expr(*v->init), v->range);
    for (auto& r : p.rounds) {
      for (auto& v : r.vars)
        if (v->init) store(v.get(), expr(*v->init), v->range);
      for (auto& lp : r.send_loops) {
        // for q in pids { send ... to q }: every process gets the same
        // treatment, and q is renamed with the processes; a range or
        // another set names processes.
        if (!lp.end && lp.coll->builtin == Builtin::Pids) {
          bind(*lp.var, Sym::Eqv);
          continue;
        }
        breaks(lp.range, "round '" + r.name + "' sends to the processes of a set or range one by one");
        expr(*lp.coll);
        if (lp.end) expr(*lp.end);
      }
      for (auto& s : r.sends) {
        if (expr(*s.value) == Sym::Eqv) breaks(s.range, "sends a process id");
        if (s.dest_expr) expr(*s.dest_expr);  // `to me`, `to S`, `to q`: renamed with the sender
        if (s.guard) expr(*s.guard);
      }
      for (auto* h : {&r.update, &r.receive, &r.finish})
        if (*h) stmts((*h)->body);
      // `timeout e` is not part of the checker's model (time is not), so it
      // cannot make a checked protocol asymmetric.
      if (r.progress.go_when) expr(*r.progress.go_when);
    }
    for (auto& s : p.specs) {
      if (s.pred) expr(*s.pred);
      if (s.body) expr(*s.body);
    }
  }

  ProgramTraits& t_;
  const SourceManager& sources_;
  std::map<const VarDecl*, Sym> locals_;
  std::map<const VarDecl*, Sym> lets_done_;
  std::map<std::pair<const FnDecl*, std::vector<Sym>>, Sym> fns_done_;
  bool changed_ = false;
  Sym* returns_ = nullptr;  // the block fn being walked: the join of its returns
};

}  // namespace

ProgramTraits analyze_traits(const Program& program, const SourceManager& sources) {
  ProgramTraits t;
  TraitWalker(t, sources).program(program);
  if (t.reads_round_number) t.phase_order = analyze_phase_order(program, sources);
  t.dead_state = analyze_dead_state(program);
  return t;
}

}  // namespace psync
