// dead_state.cpp: which state variables the checker may zero at a round
// boundary because no future observation depends on them (traits.h,
// DeadState; docs/checker.md, "Dead state words").
//
// Two def-use analyses over the typed program, both conservative:
//  1. Liveness over the cycle of rounds (a classic backward live-variable
//     analysis, e.g. Aho, Lam, Sethi & Ullman, "Compilers", 2nd ed., 9.2.5):
//     a var is live at the boundary before round i when round i may read it
//     before writing it on some path, or round i may leave it unwritten and
//     it is live before round i+1. Specs, lets and fns count as reads at
//     every boundary.
//  2. Words that only feed timeouts: a var none of whose values reaches a
//     send, a condition, a decide, a spec or any other var that does; such
//     values flow only into `timeout` expressions, which the checker never
//     evaluates (it abstracts time into heard-of sets).
#include "sema/traits.h"

#include <algorithm>
#include <optional>
#include <iterator>
#include <set>

namespace psync {

namespace {

using VarSet = std::set<const VarDecl*>;

bool is_state_var(const VarDecl* v) { return v && v->kind == VarKind::Var && !v->output; }

// Every variable an expression reads, through names and `p.x`.
void reads_of(const Expr& e, VarSet& out) {
  if (e.decl && (e.kind == ExprKind::Name || e.builtin == Builtin::ProcField)) out.insert(e.decl);
  for (auto& a : e.args)
    if (a) reads_of(*a, out);
  for (auto& arm : e.arms) {
    if (arm.value) reads_of(*arm.value, out);
  }
}

// Statements' reads, for the places that count as reads everywhere.
void reads_of(const std::vector<StmtPtr>& body, VarSet& out) {
  for (auto& s : body) {
    if (s->var && s->var->init) reads_of(*s->var->init, out);
    for (const ExprPtr* e : {&s->cond, &s->range_end, &s->target, &s->value})
      if (*e) reads_of(**e, out);
    for (auto& a : s->args) reads_of(*a, out);
    reads_of(s->body, out);
    reads_of(s->else_body, out);
    for (auto& arm : s->arms) reads_of(arm.body, out);
  }
}

// ---- 1. liveness over the round cycle

// One round's upward-exposed reads (read before any write on some path) and
// its definite writes (whole-variable assignments on every path).
class RoundFlow {
 public:
  VarSet exposed;

  void read(const Expr* e, const VarSet& defined) {
    if (!e) return;
    VarSet r;
    reads_of(*e, r);
    for (const VarDecl* v : r)
      if (!defined.count(v)) exposed.insert(v);
  }

  // Walks statements from `defined`, returning what is written on every path
  // that reaches the end; paths that leave early (return, halt, go) meet
  // there through exits_.
  VarSet walk(const std::vector<StmtPtr>& body, VarSet defined) {
    for (auto& sp : body) {
      const Stmt& s = *sp;
      switch (s.kind) {
        case StmtKind::Assign: {
          read(s.value.get(), defined);
          const VarDecl* whole = s.target->kind == ExprKind::Name ? s.target->decl : nullptr;
          if (s.assign_op != AssignOp::Set || !whole) read(s.target.get(), defined);  // partial or compound: reads
          if (whole) defined.insert(whole);
          break;
        }
        case StmtKind::LocalVar:
          if (s.var && s.var->init) read(s.var->init.get(), defined);
          break;
        case StmtKind::If: {
          read(s.cond.get(), defined);
          VarSet a = walk(s.body, defined);
          VarSet b = walk(s.else_body, defined);
          defined = meet(a, b);
          break;
        }
        case StmtKind::For:
        case StmtKind::Match:
          // A loop may run zero times; a match's arms are walked for their
          // reads, and its writes are not counted.
          read(s.cond.get(), defined);
          read(s.range_end.get(), defined);
          walk(s.body, defined);
          for (auto& arm : s.arms) walk(arm.body, defined);
          break;
        case StmtKind::Return:
        case StmtKind::Halt:
        case StmtKind::Go:
          read(s.value.get(), defined);
          exits_ = exits_ ? meet(*exits_, defined) : defined;
          break;
        case StmtKind::Block:
        case StmtKind::Model: defined = walk(s.body, defined); break;
        default:  // decide, log, expression statements
          read(s.value.get(), defined);
          read(s.target.get(), defined);
          for (auto& a : s.args) read(a.get(), defined);
          break;
      }
    }
    return defined;
  }

  // The round: round vars reset, sends, go when / timeout, then the
  // handlers; returns the round's definite writes.
  VarSet round(const Round& r) {
    VarSet defined;
    for (auto& v : r.vars) {
      read(v->init.get(), defined);
      defined.insert(v.get());
    }
    for (auto& lp : r.send_loops) {
      read(lp.coll.get(), defined);
      read(lp.end.get(), defined);
    }
    for (auto& s : r.sends) {
      read(s.guard.get(), defined);
      read(s.value.get(), defined);
      read(s.dest_expr.get(), defined);
    }
    read(r.progress.go_when.get(), defined);
    read(r.progress.timeout.get(), defined);
    exits_.reset();
    VarSet end = defined;
    if (r.update) {
      end = walk(r.update->body, defined);
    } else {
      if (r.receive) walk(r.receive->body, defined);  // zero or more times
      exits_.reset();  // `go` in receive ends the round early, not the handler
      if (r.finish) end = walk(r.finish->body, defined);
    }
    return exits_ ? meet(end, *exits_) : end;
  }

 private:
  static VarSet meet(const VarSet& a, const VarSet& b) {
    VarSet out;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.begin()));
    return out;
  }
  std::optional<VarSet> exits_;
};

// ---- 2. values that feed only timeouts

// A right-hand side whose evaluation cannot fault (wrapping arithmetic,
// a / 0 == 0, comparisons, min/max, `if` expressions over names and
// literals): only such a flow keeps its sources out of the relevant set.
bool plain_arithmetic(const Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit:
    case ExprKind::BoolLit: return true;
    case ExprKind::Name: return e.builtin == Builtin::None || e.builtin == Builtin::N || e.builtin == Builtin::Phase;
    case ExprKind::Unary:
    case ExprKind::Binary:
    case ExprKind::Cond: break;
    default:
      if (e.builtin != Builtin::Min && e.builtin != Builtin::Max) return false;
  }
  for (auto& a : e.args)
    if (!a || !plain_arithmetic(*a)) return false;
  return true;
}

class Relevance {
 public:
  VarSet relevant;

  void seed(const Expr* e) {
    if (e) reads_of(*e, relevant);
  }
  // `t = e` (or `t op= e`) with t a whole variable and e plain arithmetic:
  // e's variables matter only if t does.
  void flow(const VarDecl* t, const Expr& e, bool compound) {
    if (!plain_arithmetic(e)) {
      seed(&e);
      return;
    }
    VarSet r;
    reads_of(e, r);
    if (compound) r.insert(t);
    for (const VarDecl* v : r) edges_.emplace_back(v, t);
  }

  void stmts(const std::vector<StmtPtr>& body) {
    for (auto& sp : body) {
      const Stmt& s = *sp;
      if (s.kind == StmtKind::Assign && s.target->kind == ExprKind::Name && s.target->decl) {
        flow(s.target->decl, *s.value, s.assign_op != AssignOp::Set);
      } else if (s.kind == StmtKind::LocalVar && s.var) {
        if (s.var->init) flow(s.var.get(), *s.var->init, false);
      } else {
        for (const ExprPtr* e : {&s.cond, &s.range_end, &s.target, &s.value})
          seed(e->get());
        for (auto& a : s.args) seed(a.get());
      }
      stmts(s.body);
      stmts(s.else_body);
      for (auto& arm : s.arms) stmts(arm.body);
    }
  }

  void close() {
    for (bool grew = true; grew;) {
      grew = false;
      for (auto& [from, to] : edges_)
        if (relevant.count(to) && relevant.insert(from).second) grew = true;
    }
  }

 private:
  std::vector<std::pair<const VarDecl*, const VarDecl*>> edges_;  // from matters if to does
};

}  // namespace

DeadState analyze_dead_state(const Program& p) {
  DeadState out;
  for (auto& r : p.rounds) out.round_names.push_back(r.name);
  if (p.rounds.empty()) return out;
  for (auto& r : p.rounds)
    if (r.poisoned) return out;
  // Read at every boundary: specs, lets, fns and top-level initialisers
  // (conservative: no flow through them is tracked).
  VarSet always;
  for (auto& s : p.specs) {
    if (s.pred) reads_of(*s.pred, always);
    if (s.body) reads_of(*s.body, always);
  }
  for (auto& l : p.lets)
    if (l->init) reads_of(*l->init, always);
  for (auto& f : p.fns) {
    if (f->body) reads_of(*f->body, always);
    reads_of(f->block, always);
  }
  std::vector<const VarDecl*> candidates;
  for (auto& v : p.vars)
    if (!v->output) candidates.push_back(v.get());
  // Round vars are not candidates: the generated code zeroes them as their
  // round ends already.

  // 1. live[i]: live at the boundary before round i.
  const size_t k = p.rounds.size();
  std::vector<VarSet> exposed(k), killed(k), live(k);
  for (size_t i = 0; i < k; ++i) {
    RoundFlow f;
    killed[i] = f.round(p.rounds[i]);
    exposed[i] = std::move(f.exposed);
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t j = k; j-- > 0;) {
      VarSet now = exposed[j];
      now.insert(always.begin(), always.end());
      for (const VarDecl* v : live[(j + 1) % k])
        if (!killed[j].count(v)) now.insert(v);
      if (now.size() != live[j].size()) {
        live[j] = std::move(now);
        grew = true;
      }
    }
  }

  // 2. Relevance: everything read outside a plain flow into a variable or a
  // `timeout` expression is relevant, and so is what flows into it.
  Relevance rel;
  rel.relevant = always;
  for (auto& v : p.vars) {
    if (v->output) rel.relevant.insert(v.get());  // reported: observable
    if (v->init) rel.flow(v.get(), *v->init, false);
  }
  for (auto& r : p.rounds) {
    for (auto& v : r.vars)
      if (v->init) rel.flow(v.get(), *v->init, false);
    for (auto& lp : r.send_loops) {
      rel.seed(lp.coll.get());
      rel.seed(lp.end.get());
    }
    for (auto& s : r.sends) {
      rel.seed(s.guard.get());
      rel.seed(s.value.get());
      rel.seed(s.dest_expr.get());
    }
    rel.seed(r.progress.go_when.get());  // not r.progress.timeout: the checker never evaluates it
    for (auto* h : {&r.update, &r.receive, &r.finish})
      if (*h) rel.stmts((*h)->body);
  }
  rel.close();

  for (const VarDecl* v : candidates) {
    if (!is_state_var(v)) continue;
    const bool timeout_only = !rel.relevant.count(v);
    uint64_t mask = 0;
    for (size_t i = 0; i < k && i < 64; ++i)
      if (timeout_only || !live[i].count(v)) mask |= uint64_t{1} << i;
    if (timeout_only) {
      mask = k >= 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
      out.timeout_only.push_back(v);
    }
    if (mask) out.dead[v] = mask;
  }
  return out;
}

}  // namespace psync
