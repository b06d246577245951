// stale_phase.cpp: which phase values the checker may fold once they are
// stale, and whether old ballots may be ranked as whole ballots (traits.h,
// StalePhases; docs/checker.md, "Stale phase values").
//
// A value is *stale* at a round boundary of phase p when it is positive and
// older than the window (a phase v < p - D, a ballot b with b / n < p - D).
// Every value that round code computes from `phase` (`phase - c`, `phase *
// n + me`, messages made only of those, ...) is *fresh* (at least p - D), so
// a stale value is below it. Two facts, both flow-sensitive per round:
//  1. Folding. A state var whose every read in round i is a comparison with
//     a fresh value, with a value that is fresh or not positive (an empty
//     mailbox's zero, -1), or with a constant <= 0, or sits in a send
//     whose guard is false for a stale value (`x / n == phase`), and which
//     keeps that property in round i+1 if round i may leave it unwritten,
//     gives the same futures for every stale value it holds before round i:
//     all of them may be stored as one (the checker stores 1).
//  2. Whole ballots. When every `b / n` and `b % n` the program computes
//     applies to a fresh ballot, compares `b / n` with a fresh phase, or is
//     not evaluated for a stale b (a guarded send, as above), the process
//     part of an old ballot is never observed, so old ballots may be ranked
//     among themselves as whole ballots instead of (phase rank, process).
#include <algorithm>
#include <set>

#include "sema/traits.h"

namespace psync {

namespace {

// What a value computed in round code is, relative to a stale value held in
// a state var: always above it (Fresh), above it or at most 0 (FreshOrLow:
// stale values are positive, so every comparison still agrees), or
// anything (Unknown). Ordered for meet().
enum class Fr { Fresh, FreshOrLow, Unknown };
using Frs = std::vector<Fr>;

Fr meet(Fr a, Fr b) { return std::max(a, b); }
Frs meet(Frs a, const Frs& b) {
  if (a.size() != b.size()) return Frs(std::max(a.size(), b.size()), Fr::Unknown);
  for (size_t i = 0; i < a.size(); ++i) a[i] = meet(a[i], b[i]);
  return a;
}
// An empty mailbox's operations and none's payload give zeros.
Frs lowered(Frs a) {
  for (Fr& f : a) f = meet(f, Fr::FreshOrLow);
  return a;
}

bool is_literal(const Expr& e) {
  return e.kind == ExprKind::IntLit ||
         (e.kind == ExprKind::Unary && e.unary_op == UnaryOp::Neg && e.args[0]->kind == ExprKind::IntLit);
}
int64_t literal(const Expr& e) { return e.kind == ExprKind::IntLit ? e.int_value : -e.args[0]->int_value; }
bool is_n(const Expr& e) { return e.builtin == Builtin::N; }
bool is_comparison(const Expr& e) {
  if (e.kind != ExprKind::Binary || e.builtin != Builtin::None) return false;
  switch (e.binary_op) {
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge: return true;
    default: return false;
  }
}
bool is_by_n(const Expr& e, BinaryOp op) {
  return e.kind == ExprKind::Binary && e.builtin == Builtin::None && e.binary_op == op && is_n(*e.args[1]);
}

class StaleWalker {
 public:
  StaleWalker(const Program& p, const PhaseOrder& po, const SourceManager& s) : prog_(p), sources_(s) {
    // Only whole int vars fold (a phase word inside a tuple or an array
    // is never folded).
    for (auto& [v, leaves] : po.leaves) {
      if (v->kind == VarKind::Var && !v->output && v->type && v->type->is(TypeKind::Int) && leaves.size() == 1)
        tracked_.insert(v);
      for (const PhaseOrder::Leaf& l : leaves) stores_ballots_ = stores_ballots_ || l.ballot;
    }
  }

  StalePhases run() {
    StalePhases out;
    const size_t k = prog_.rounds.size();
    for (auto& r : prog_.rounds) out.round_names.push_back(r.name);
    if (k == 0 || k > 64) return out;
    // Specs, lets and fns read at any time: a var they read never folds.
    std::set<const VarDecl*> always;
    {
      bad_.clear();
      for (auto& l : prog_.lets)
        if (l->init) visit(*l->init);
      for (auto& f : prog_.fns) {
        if (f->body) visit(*f->body);
        if (f->has_block) stmts(f->block);
      }
      for (auto& s : prog_.specs) {
        if (s.pred) visit(*s.pred);
        if (s.body) visit(*s.body);
      }
      always = bad_;
    }
    // ok[i]: the vars whose every read in round i is allowed.
    std::vector<std::set<const VarDecl*>> bad_in(k);
    for (size_t i = 0; i < k; ++i) {
      bad_.clear();
      if (!prog_.rounds[i].poisoned) round(prog_.rounds[i]);
      else bad_ = tracked_;
      bad_in[i] = bad_;
    }
    // Greatest fixpoint of fold(x, i) = ok(x, i) && fold(x, i + 1): a
    // stale value may survive round i (no definite write is assumed).
    for (const VarDecl* v : tracked_) {
      if (always.count(v)) continue;
      uint64_t mask = 0;
      for (size_t i = 0; i < k; ++i)
        if (!bad_in[i].count(v)) mask |= uint64_t{1} << i;
      for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < k; ++i)
          if ((mask >> i & 1) && !(mask >> ((i + 1) % k) & 1)) {
            mask &= ~(uint64_t{1} << i);
            changed = true;
          }
      }
      if (mask) out.fold[v] = mask;
    }
    if (stores_ballots_) {
      out.whole_ballots = !whole_blocked_.valid() && whole_why_.empty();
      if (!out.whole_ballots) out.whole_reason = whole_why_ + where(whole_blocked_);
    }
    return out;
  }

 private:
  std::string where(const SourceRange& r) const {
    if (!r.valid()) return "";
    const SourceFile& f = sources_.file(r.file);
    auto lc = f.line_col(r.begin);
    return " (" + f.name() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ")";
  }
  void block_whole(const std::string& why, const SourceRange& at) {
    if (!whole_why_.empty()) return;
    whole_why_ = why;
    whole_blocked_ = at;
  }

  // A read of a tracked var by name.
  const VarDecl* tracked(const Expr& e) const {
    if (e.kind != ExprKind::Name || e.builtin != Builtin::None || !e.decl) return nullptr;
    return tracked_.count(e.decl) ? e.decl : nullptr;
  }

  // ---- freshness of values computed in the round being walked

  Frs unknown(const Expr& e) const { return Frs(static_cast<size_t>(int_leaf_count(e.type)), Fr::Unknown); }

  Frs of_var(const VarDecl& v, const Expr& at) {
    if (v.kind == VarKind::Let) return v.init ? fr(*v.init) : unknown(at);
    auto it = bound_.find(&v);
    if (it != bound_.end()) return it->second;
    if (v.kind != VarKind::Local) return unknown(at);
    // A local: the meet of its initialiser and every whole assignment.
    if (busy_.count(&v)) return unknown(at);
    busy_.insert(&v);
    Frs f = v.init ? fr(*v.init) : Frs(static_cast<size_t>(int_leaf_count(v.type)), Fr::FreshOrLow);
    auto as = local_sets_.find(&v);
    if (as != local_sets_.end())
      for (const Expr* e : as->second) f = e ? meet(f, fr(*e)) : unknown(at);
    busy_.erase(&v);
    return f;
  }

  Frs fr(const Expr& e) {
    switch (e.builtin) {
      case Builtin::None: break;
      case Builtin::Phase: return {Fr::Fresh};
      case Builtin::Min:
      case Builtin::Max: {
        Frs f = fr(*e.args[0]);
        for (size_t i = 1; i < e.args.size(); ++i) f = meet(f, fr(*e.args[i]));
        return f;
      }
      case Builtin::OptGet: return lowered(fr(*e.args[0]));
      case Builtin::OptGetOr: return meet(lowered(fr(*e.args[0])), fr(*e.args[1]));
      case Builtin::MboxFilter: return fr(*e.args[0]);
      case Builtin::MboxMin:
      case Builtin::MboxMax:
      case Builtin::MboxMinBy:
      case Builtin::MboxMaxBy:
      case Builtin::MboxMostFrequent:
      case Builtin::MboxMinMostFrequent:
      case Builtin::MboxGet: return lowered(fr(*e.args[0]));
      default: return unknown(e);
    }
    if (is_literal(e)) return {literal(e) <= 0 ? Fr::FreshOrLow : Fr::Unknown};
    switch (e.kind) {
      case ExprKind::Name: return e.decl ? of_var(*e.decl, e) : unknown(e);
      case ExprKind::Binary: {
        const Expr& l = *e.args[0];
        const Expr& r = *e.args[1];
        if (e.binary_op == BinaryOp::Sub && l.builtin == Builtin::Phase && is_literal(r) && literal(r) >= 0)
          return {Fr::Fresh};  // phase - c, c <= the window
        if (e.binary_op == BinaryOp::Div && is_n(r)) return fr(l);  // b / n: a fresh ballot's phase is fresh
        if (e.binary_op == BinaryOp::Add)
          for (int side = 0; side < 2; ++side) {  // phase * n + p with a fresh phase: a fresh ballot
            const Expr& m = *e.args[side];
            const Expr& p = *e.args[1 - side];
            if (m.kind != ExprKind::Binary || m.binary_op != BinaryOp::Mul || !p.type || !p.type->is(TypeKind::Pid))
              continue;
            for (int j = 0; j < 2; ++j)
              if (is_n(*m.args[1 - j]) && fr(*m.args[j]) == Frs{Fr::Fresh}) return {Fr::Fresh};
          }
        return unknown(e);
      }
      case ExprKind::Member:
      case ExprKind::TupleIndex: {
        const Type* agg = e.args[0]->type;
        if (!agg || !(agg->is(TypeKind::Tuple) || agg->is(TypeKind::Record))) return unknown(e);
        Frs whole = fr(*e.args[0]);
        int off = 0;
        const int field = static_cast<int>(e.int_value);
        for (int i = 0; i < field && i < static_cast<int>(agg->elems.size()); ++i) off += int_leaf_count(agg->elems[i]);
        const int len = int_leaf_count(e.type);
        if (off + len > static_cast<int>(whole.size())) return unknown(e);
        return Frs(whole.begin() + off, whole.begin() + off + len);
      }
      case ExprKind::Tuple:
      case ExprKind::Record: {
        Frs f;
        for (auto& a : e.args) {
          Frs p = fr(*a);
          f.insert(f.end(), p.begin(), p.end());
        }
        return f;
      }
      case ExprKind::Some: return fr(*e.args[0]);
      case ExprKind::Cond: return meet(fr(*e.args[1]), fr(*e.args[2]));
      case ExprKind::Match: {
        Frs f;
        bool first = true;
        for (auto& arm : e.arms) {
          if (!arm.value) continue;
          f = first ? fr(*arm.value) : meet(f, fr(*arm.value));
          first = false;
        }
        return first ? unknown(e) : f;
      }
      default: return unknown(e);
    }
  }

  // ---- reads: which are allowed for a stale value

  // `x op e` or `e op x`: every stale x compares alike with e when e is
  // fresh, or at most 0. `x / n op e` (x a ballot): when e is a fresh
  // phase or a negative constant.
  bool allowed_comparison(const Expr& e) {
    if (!is_comparison(e)) return false;
    for (int side = 0; side < 2; ++side) {
      const Expr& a = *e.args[side];
      const Expr& o = *e.args[1 - side];
      if (tracked(a)) {
        if ((is_literal(o) && literal(o) <= 0) || fr(o) != Frs{Fr::Unknown}) {
          if (fr(o).size() != 1) return false;
          visit(o);
          return true;
        }
      } else if (is_by_n(a, BinaryOp::Div) && tracked(*a.args[0])) {
        if ((is_literal(o) && literal(o) < 0) || fr(o) == Frs{Fr::Fresh}) {
          visit(o);
          return true;
        }
      }
    }
    return false;
  }

  // A conjunct that is false whenever x holds a stale value: `x / n == F`,
  // `x == e`, `x >= F`, `x > F` (F fresh, e fresh or at most 0), either way
  // round. Returns x.
  const VarDecl* falsified_when_stale(const Expr& e) {
    if (!is_comparison(e)) return nullptr;
    for (int side = 0; side < 2; ++side) {
      const Expr& a = *e.args[side];
      const Expr& o = *e.args[1 - side];
      BinaryOp op = e.binary_op;
      if (side == 1)  // e op x  is  x op' e
        op = op == BinaryOp::Lt ? BinaryOp::Gt : op == BinaryOp::Gt ? BinaryOp::Lt
           : op == BinaryOp::Le ? BinaryOp::Ge : op == BinaryOp::Ge ? BinaryOp::Le : op;
      const Frs f = fr(o);
      if (const VarDecl* x = tracked(a)) {
        if (op == BinaryOp::Eq && f.size() == 1 && f[0] != Fr::Unknown) return x;
        if ((op == BinaryOp::Ge || op == BinaryOp::Gt) && f == Frs{Fr::Fresh}) return x;
      } else if (is_by_n(a, BinaryOp::Div) && tracked(*a.args[0])) {
        if ((op == BinaryOp::Eq || op == BinaryOp::Ge || op == BinaryOp::Gt) && f == Frs{Fr::Fresh})
          return tracked(*a.args[0]);
      }
    }
    return nullptr;
  }

  void conjuncts(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == ExprKind::Binary && e.builtin == Builtin::None && e.binary_op == BinaryOp::And) {
      conjuncts(*e.args[0], out);
      conjuncts(*e.args[1], out);
    } else {
      out.push_back(&e);
    }
  }

  // `b / n` or `b % n`: may the process part of an old ballot be observed?
  void check_by_n(const Expr& e) {
    const Expr& b = *e.args[0];
    if (const VarDecl* x = tracked(b); x && free_.count(x)) return;
    if (fr(b) == Frs{Fr::Fresh}) return;
    block_whole(std::string("it computes '") + (e.binary_op == BinaryOp::Div ? "/" : "%") +
                    " n' of a value that may be an old ballot",
                e.range);
  }

  void visit(const Expr& e) {
    if (allowed_comparison(e)) return;  // `x / n op F` included: its b / n is harmless
    if (const VarDecl* x = tracked(e)) {
      if (!free_.count(x)) bad_.insert(x);
      return;
    }
    if (e.builtin == Builtin::ProcField && e.decl && tracked_.count(e.decl)) bad_.insert(e.decl);
    if (is_by_n(e, BinaryOp::Div) || is_by_n(e, BinaryOp::Mod)) check_by_n(e);
    // A lambda's message parameter sees real messages (not an empty
    // mailbox's zeros); a fold's accumulator anything.
    if (builtin_info(e.builtin).form == BuiltinForm::Mailbox && !e.args.empty()) {
      const Frs msg = fr(*e.args[0]);
      for (size_t i = 1; i < e.args.size(); ++i) {
        const Expr& lam = *e.args[i];
        if (lam.kind != ExprKind::Lambda || lam.params.empty()) continue;
        for (auto& p : lam.params) bound_[p.get()] = Frs(static_cast<size_t>(int_leaf_count(p->type)), Fr::Unknown);
        bound_[lam.params.back().get()] = msg;
      }
    }
    for (auto& a : e.args)
      if (a) visit(*a);
    for (auto& arm : e.arms)
      if (arm.value) visit(*arm.value);
  }

  void collect_local_sets(const std::vector<StmtPtr>& body) {
    for (auto& s : body) {
      if (s->kind == StmtKind::Assign && s->target->kind == ExprKind::Name && s->target->decl &&
          s->target->decl->kind == VarKind::Local)
        local_sets_[s->target->decl].push_back(s->assign_op == AssignOp::Set ? s->value.get() : nullptr);
      else if (s->kind == StmtKind::Assign && s->target->decl && s->target->decl->kind == VarKind::Local)
        local_sets_[s->target->decl].push_back(nullptr);  // a partial write: anything
      collect_local_sets(s->body);
      collect_local_sets(s->else_body);
      for (auto& arm : s->arms) collect_local_sets(arm.body);
    }
  }

  void stmts(const std::vector<StmtPtr>& body) {
    for (auto& sp : body) {
      const Stmt& s = *sp;
      if (s.kind == StmtKind::LocalVar) {
        if (s.var && s.var->init) visit(*s.var->init);
      } else if (s.kind == StmtKind::Assign && s.assign_op == AssignOp::Set && tracked(*s.target)) {
        visit(*s.value);  // a whole write of a tracked var is not a read
      } else {
        for (const ExprPtr* e : {&s.cond, &s.range_end, &s.target, &s.value})
          if (*e) visit(**e);
        for (auto& a : s.args) visit(*a);
      }
      stmts(s.body);
      stmts(s.else_body);
      for (auto& arm : s.arms) stmts(arm.body);
    }
  }

  void round(const Round& r) {
    bound_.clear();
    local_sets_.clear();
    free_.clear();
    for (auto* h : {&r.update, &r.receive, &r.finish})
      if (*h) collect_local_sets((*h)->body);
    // The round's message words: fresh when every send makes them so (a
    // liar may send anything).
    Frs msg(static_cast<size_t>(int_leaf_count(r.message_type)), prog_.byzantine.empty() ? Fr::Fresh : Fr::Unknown);
    for (auto& s : r.sends) msg = meet(msg, fr(*s.value));
    if (r.update && !r.update->params.empty()) bound_[r.update->params[0].get()] = msg;
    if (r.receive && r.receive->params.size() > 1) bound_[r.receive->params[1].get()] = msg;
    for (auto& v : r.vars)
      if (v->init) visit(*v->init);
    for (auto& lp : r.send_loops) {
      if (lp.coll) visit(*lp.coll);
      if (lp.end) visit(*lp.end);
    }
    for (auto& s : r.sends) {
      free_.clear();
      if (s.guard) {
        std::vector<const Expr*> cs;
        conjuncts(*s.guard, cs);
        for (const Expr* c : cs) {
          visit(*c);
          if (const VarDecl* x = falsified_when_stale(*c)) free_.insert(x);  // later reads: never with a stale x
        }
      }
      visit(*s.value);
      if (s.dest_expr) visit(*s.dest_expr);
      free_.clear();
    }
    if (r.progress.go_when) visit(*r.progress.go_when);
    if (r.progress.timeout) visit(*r.progress.timeout);
    for (auto* h : {&r.update, &r.receive, &r.finish})
      if (*h) stmts((*h)->body);
  }

  const Program& prog_;
  const SourceManager& sources_;
  std::set<const VarDecl*> tracked_;
  bool stores_ballots_ = false;
  std::set<const VarDecl*> bad_;  // tracked vars read in a way a stale value could show
  std::set<const VarDecl*> free_;  // vars a send guard proved fresh
  std::map<const VarDecl*, Frs> bound_;  // mailbox, message and lambda parameters
  std::map<const VarDecl*, std::vector<const Expr*>> local_sets_;
  std::set<const VarDecl*> busy_;
  std::string whole_why_;
  SourceRange whole_blocked_;
};

}  // namespace

StalePhases analyze_stale_phases(const Program& program, const PhaseOrder& phases, const SourceManager& sources) {
  if (!phases.applies) return {};
  return StaleWalker(program, phases, sources).run();
}

}  // namespace psync
