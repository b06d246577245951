// phase_order.cpp: which int words of a program hold phases (timestamps,
// ballots) that matter only through their order and their distance to the
// current phase, so that the checker may rename them (traits.h, PhaseOrder;
// docs/checker.md, "Unbounded verdicts for protocols that read phase").
//
// A type-based, flow-insensitive analysis: every int-like word a program
// handles (a leaf of a variable's, a message's or an expression's type) is
// a node, and a union-find joins the nodes that values flow between or that
// are compared with each other. `phase` is one node; a ballot `phase * n +
// p` (p a pid) is another. The abstraction is sound when the class of
// `phase` is used only
//   - in comparisons (==, !=, <, <=, >, >=) within the class, with
//     `phase - c` (c >= 0), with a constant c < 0, or as `v < 0` / `v >= 0`;
//   - in copies: assignments, sends, tuples, records, options, min/max, fn
//     arguments and results, match arms, mailbox operations that pick a
//     message;
//   - as `phase % n` or `phase % k` (the coordinator's rotation), kept;
//   - as `phase * n + p`, a ballot;
// the class of ballots likewise, plus `b / n` (its phase) and `b % n` (its
// process); and neither class holds a constant other than negative ones, an
// input, a const or an output, nor feeds other arithmetic, a decide or an
// index; and the program does not read `r`. Anything else marks its class
// unsound, with the place that did it (file:line:col).
#include "sema/traits.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace psync {

int int_leaf_count(const Type* t) {
  if (!t) return 0;
  switch (t->kind) {
    case TypeKind::Int:
    case TypeKind::Pid: return 1;
    case TypeKind::Option:
    case TypeKind::Array:
    case TypeKind::Mailbox: return int_leaf_count(t->elem);
    case TypeKind::Tuple:
    case TypeKind::Record: {
      int k = 0;
      for (const Type* e : t->elems) k += int_leaf_count(e);
      return k;
    }
    default: return 0;
  }
}

namespace {

using Leaves = std::vector<int>;

class PhaseWalker {
 public:
  PhaseWalker(PhaseOrder& out, const SourceManager& s) : out_(out), sources_(s) {
    phase_ = fresh();
    ballot_ = fresh();
  }

  void program(const Program& p) {
    for (auto& v : p.inputs) mark(var(*v), "an input holds it", v->range);
    for (auto& v : p.outputs) mark(var(*v), "it is decided", v->range);
    for (auto& v : p.vars) {
      if (v->output) mark(var(*v), "an output var holds it", v->range);
      if (v->init) unite(var(*v), leaves(*v->init), v->range);
    }
    for (auto& r : p.rounds)
      if (!r.poisoned) round(r);
    for (auto& s : p.specs) {
      if (s.pred) leaves(*s.pred);
      if (s.body) leaves(*s.body);
    }
    if (!reads_phase_ && !reads_round_) return;
    if (reads_round_) {
      out_.reason = "it reads r" + where(round_at_);
      return;
    }
    // `phase % n` and `b % n` are judged once the classes are known.
    for (const Modulo& m : modulos_) {
      int c = find(m.operand);
      if (c == find(phase_) && m.of_phase) {
        if (m.by_n) out_.modulo_n = true;
        else out_.modulus = std::lcm(out_.modulus, m.k);
      } else if (c == find(ballot_) && m.by_n) {
        // b % n is the ballot's process: renaming keeps it.
      } else if (c == find(phase_) || c == find(ballot_)) {
        mark({m.operand}, "it feeds arithmetic ('%')", m.at);
      }
    }
    int root = find(phase_);
    if (root == find(ballot_)) {
      out_.reason = "a ballot (phase * n + p) meets a phase value" + where(mixed_at_);
      return;
    }
    for (int c : {root, find(ballot_)}) {
      if (attr_[c].bad) {
        out_.reason = attr_[c].why + where(attr_[c].at);
        return;
      }
    }
    out_.applies = true;
    for (auto& [v, nodes] : vars_) {
      if (v->kind != VarKind::Var && v->kind != VarKind::RoundVar) continue;
      for (size_t k = 0; k < nodes.size(); ++k) {
        int c = find(nodes[k]);
        if (c == root) out_.leaves[v].push_back({static_cast<int>(k), false});
        else if (c == find(ballot_)) out_.leaves[v].push_back({static_cast<int>(k), true});
      }
    }
  }

 private:
  struct Attr {
    bool bad = false;
    std::string why;
    SourceRange at;
  };
  // `x % n` or `x % k`, judged at the end (of_phase: x is `phase` itself).
  struct Modulo {
    int operand;
    bool of_phase, by_n;
    int64_t k;
    SourceRange at;
  };

  // ---- union-find with the first reason a class is unsound

  int fresh() {
    parent_.push_back(static_cast<int>(parent_.size()));
    attr_.emplace_back();
    return parent_.back();
  }
  Leaves fresh(int k) {
    Leaves l;
    for (int i = 0; i < k; ++i) l.push_back(fresh());
    return l;
  }
  int find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void unite(int a, int b, const SourceRange& at) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    const int p = find(phase_), q = find(ballot_);
    if (((a == p && b == q) || (a == q && b == p)) && !mixed_at_.valid()) mixed_at_ = at;
    if (!attr_[a].bad && attr_[b].bad) std::swap(a, b);  // keep the first reason
    parent_[b] = a;
  }
  void unite(const Leaves& a, const Leaves& b, const SourceRange& at) {
    if (a.size() != b.size()) {  // cannot happen after sema; stay sound anyway
      mark(a, "values of different shapes meet", at);
      mark(b, "values of different shapes meet", at);
      return;
    }
    for (size_t i = 0; i < a.size(); ++i) unite(a[i], b[i], at);
  }
  // A value the program computes (a count, a sum, a process id...): it may
  // be any number, so a class holding one cannot be renamed.
  Leaves unknown(int k, const std::string& why, const SourceRange& at) {
    Leaves l = fresh(k);
    mark(l, why, at);
    return l;
  }
  Leaves unknown(int k, const SourceRange& at) { return unknown(k, "it holds a computed number", at); }

  void mark(const Leaves& l, const std::string& why, const SourceRange& at) {
    for (int n : l) {
      Attr& a = attr_[find(n)];
      if (a.bad) continue;
      a.bad = true;
      a.why = why;
      a.at = at;
    }
  }

  std::string where(const SourceRange& r) const {
    if (!r.valid()) return "";
    const SourceFile& f = sources_.file(r.file);
    auto lc = f.line_col(r.begin);
    return " (" + f.name() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ")";
  }

  // ---- the nodes of variables, lets and fns

  const Leaves& var(const VarDecl& v) {
    auto it = vars_.find(&v);
    if (it != vars_.end()) return it->second;
    Leaves l = fresh(int_leaf_count(v.type));
    if (v.kind == VarKind::Const) mark(l, "a const holds it", v.range);
    if (v.kind == VarKind::QuantVar || v.kind == VarKind::Sender || (v.type && v.type->is(TypeKind::Pid)))
      mark(l, "it is a process id", v.range);
    return vars_[&v] = l;
  }

  Leaves let_value(const VarDecl& v) {
    auto it = lets_.find(&v);
    if (it != lets_.end()) return it->second;
    Leaves l = fresh(int_leaf_count(v.type));
    lets_[&v] = l;
    if (v.init) unite(l, leaves(*v.init), v.range);
    return l;
  }

  Leaves fn_result(const FnDecl& f) {
    auto it = fns_.find(&f);
    if (it != fns_.end()) return it->second;
    Leaves l = fresh(int_leaf_count(f.result_type));
    fns_[&f] = l;
    if (f.body) {
      unite(l, leaves(*f.body), f.range);
    } else if (f.has_block) {
      const Leaves* outer = returns_;
      returns_ = &fns_[&f];
      stmts(f.block);
      returns_ = outer;
    } else {
      mark(l, "it is computed by fn '" + f.name + "'", f.range);
    }
    return fns_[&f];
  }

  // ---- expressions: the nodes of a value's int-like words, in layout order

  Leaves slice(const Leaves& whole, const Type* agg, int field) {
    int off = 0;
    const int count = static_cast<int>(agg->elems.size());
    for (int k = 0; k < field && k < count; ++k) off += int_leaf_count(agg->elems[k]);
    int len = field < count ? int_leaf_count(agg->elems[field]) : 0;
    if (off + len > static_cast<int>(whole.size())) return unknown(len, SourceRange{});  // cannot happen after sema
    return Leaves(whole.begin() + off, whole.begin() + off + len);
  }

  static bool is_phase(const Expr& e) { return e.builtin == Builtin::Phase; }
  static bool is_n(const Expr& e) { return e.builtin == Builtin::N; }
  static bool is_literal(const Expr& e) {
    return e.kind == ExprKind::IntLit ||
           (e.kind == ExprKind::Unary && e.unary_op == UnaryOp::Neg && e.args[0]->kind == ExprKind::IntLit);
  }
  static int64_t literal(const Expr& e) { return e.kind == ExprKind::IntLit ? e.int_value : -e.args[0]->int_value; }

  // A lambda given to a mailbox operation: its message parameter sees the
  // mailbox's message nodes (a fold's accumulator, acc); returns the body's.
  Leaves lambda(const Expr& lam, const Leaves& msg, const Leaves* acc = nullptr) {
    if (lam.kind != ExprKind::Lambda) return leaves(lam);
    size_t k = 0;
    if (acc && !lam.params.empty()) unite(var(*lam.params[k++]), *acc, lam.range);
    if (k < lam.params.size()) unite(var(*lam.params[k]), msg, lam.range);
    return leaves(*lam.args[0]);
  }

  Leaves comparison(const Expr& e) {
    const Expr& l = *e.args[0];
    const Expr& r = *e.args[1];
    if (is_literal(l) || is_literal(r)) {
      const bool lit_left = is_literal(l);
      const int64_t c = literal(lit_left ? l : r);
      BinaryOp op = e.binary_op;
      if (lit_left)  // c op v  is  v op' c
        op = op == BinaryOp::Lt ? BinaryOp::Gt : op == BinaryOp::Gt ? BinaryOp::Lt
           : op == BinaryOp::Le ? BinaryOp::Ge : op == BinaryOp::Ge ? BinaryOp::Le : op;
      // Renaming fixes negative values and keeps nonnegative ones
      // nonnegative: so v op c for c < 0, v < 0 and v >= 0 are kept.
      const bool kept = c < 0 || (c == 0 && (op == BinaryOp::Lt || op == BinaryOp::Ge));
      Leaves v = leaves(lit_left ? r : l);
      if (!kept) mark(v, "it is compared with the constant " + std::to_string(c), e.range);
      return {};
    }
    unite(leaves(l), leaves(r), e.range);
    return {};
  }

  // phase * n + p, either way round: a ballot.
  bool ballot_parts(const Expr& e, const Expr*& scaled, const Expr*& pid) const {
    if (e.kind != ExprKind::Binary || e.binary_op != BinaryOp::Add) return false;
    for (int side = 0; side < 2; ++side) {
      const Expr& m = *e.args[side];
      const Expr& p = *e.args[1 - side];
      if (m.kind != ExprKind::Binary || m.binary_op != BinaryOp::Mul || !p.type || !p.type->is(TypeKind::Pid))
        continue;
      for (int k = 0; k < 2; ++k)
        if (is_n(*m.args[1 - k])) {
          scaled = m.args[k].get();
          pid = &p;
          return true;
        }
    }
    return false;
  }

  Leaves binary(const Expr& e) {
    const Expr& l = *e.args[0];
    const Expr& r = *e.args[1];
    switch (e.binary_op) {
      case BinaryOp::And:
      case BinaryOp::Or:
      case BinaryOp::Implies:
        leaves(l);
        leaves(r);
        return {};
      case BinaryOp::Eq:
      case BinaryOp::Ne:
      case BinaryOp::Lt:
      case BinaryOp::Le:
      case BinaryOp::Gt:
      case BinaryOp::Ge: return comparison(e);
      case BinaryOp::Sub:
        // phase - c (c >= 0): a recent phase at a known distance.
        if (is_phase(l) && is_literal(r) && literal(r) >= 0) {
          leaves(l);
          out_.window = std::max(out_.window, literal(r));
          return {phase_};
        }
        break;
      case BinaryOp::Add: {
        const Expr *scaled = nullptr, *pid = nullptr;
        if (ballot_parts(e, scaled, pid)) {
          unite(leaves(*scaled), {phase_}, e.range);
          leaves(*pid);
          return {ballot_};
        }
        break;
      }
      case BinaryOp::Div:
        // b / n: the phase of a ballot.
        if (is_n(r)) {
          unite(leaves(l), {ballot_}, e.range);
          return {phase_};
        }
        break;
      case BinaryOp::Mod:
        if (is_n(r) || (r.kind == ExprKind::IntLit && r.int_value > 0)) {
          Leaves a = leaves(l);
          if (a.size() == 1) modulos_.push_back({a[0], is_phase(l), is_n(r), is_n(r) ? 1 : r.int_value, e.range});
          return unknown(1, "it is a remainder", e.range);
        }
        break;
      default: break;
    }
    Leaves a = leaves(l);
    Leaves b = leaves(r);
    std::string why = std::string("it feeds arithmetic ('") + binary_op_spelling(e.binary_op) + "')";
    mark(a, why, e.range);
    mark(b, why, e.range);
    return unknown(1, e.range);
  }

  Leaves builtin(const Expr& e) {
    const int width = int_leaf_count(e.type);
    switch (e.builtin) {
      case Builtin::Phase:
        reads_phase_ = true;
        return {phase_};
      case Builtin::Round:
        if (!reads_round_) round_at_ = e.range;
        reads_round_ = true;
        return unknown(1, e.range);
      case Builtin::N: return unknown(1, "it is combined with n", e.range);
      case Builtin::Me: return unknown(1, "it is a process id", e.range);
      case Builtin::ProcField:
        for (size_t i = 0; i < e.args.size(); ++i) leaves(*e.args[i]);
        if (e.decl && e.decl->kind == VarKind::Let) return let_value(*e.decl);
        return e.decl ? var(*e.decl) : unknown(width, e.range);
      case Builtin::Min:
      case Builtin::Max: {
        Leaves a = leaves(*e.args[0]);
        for (size_t i = 1; i < e.args.size(); ++i) unite(a, leaves(*e.args[i]), e.range);
        return a;
      }
      case Builtin::OptGet: return leaves(*e.args[0]);
      case Builtin::OptGetOr: {
        Leaves o = leaves(*e.args[0]);
        unite(o, leaves(*e.args[1]), e.range);
        return o;
      }
      default: break;
    }
    if (builtin_info(e.builtin).form == BuiltinForm::Mailbox || e.builtin == Builtin::MboxGet) return mailbox_op(e);
    // abs, random, coin, sets, ho(), tests, conversions: the arguments are
    // used as numbers; the result is new.
    const std::string why = std::string("it feeds ") + builtin_info(e.builtin).dump_name;
    for (auto& a : e.args) mark(leaves(*a), why, e.range);
    return unknown(width, "it is computed by " + std::string(builtin_info(e.builtin).dump_name), e.range);
  }

  Leaves mailbox_op(const Expr& e) {
    const int width = int_leaf_count(e.type);
    Leaves msg = leaves(*e.args[0]);
    switch (e.builtin) {
      case Builtin::MboxGet:
        leaves(*e.args[1]);
        return msg;
      case Builtin::MboxCount: unite(msg, leaves(*e.args[1]), e.range); return unknown(width, e.range);
      case Builtin::MboxHas:
      case Builtin::MboxSize:
      case Builtin::MboxSenders:
        for (size_t i = 1; i < e.args.size(); ++i) leaves(*e.args[i]);
        return unknown(width, e.range);
      case Builtin::MboxCountIf:
      case Builtin::MboxExists:
      case Builtin::MboxAll:
        lambda(*e.args[1], msg);
        return unknown(width, e.range);
      case Builtin::MboxFilter:
        lambda(*e.args[1], msg);
        return msg;
      case Builtin::MboxMin:
      case Builtin::MboxMax:
      case Builtin::MboxMostFrequent:
      case Builtin::MboxMinMostFrequent: return msg;
      case Builtin::MboxMinBy:
      case Builtin::MboxMaxBy:
        lambda(*e.args[1], msg);  // the keys are compared only with each other
        return msg;
      case Builtin::MboxSum: mark(msg, "it is summed", e.range); return unknown(width, e.range);
      case Builtin::MboxSumBy: mark(lambda(*e.args[1], msg), "it is summed", e.range); return unknown(width, e.range);
      case Builtin::MboxFold: {
        Leaves acc = leaves(*e.args[1]);
        unite(acc, lambda(*e.args[2], msg, &acc), e.range);
        return acc;
      }
      default:
        mark(msg, std::string("it feeds ") + builtin_info(e.builtin).dump_name, e.range);
        for (size_t i = 1; i < e.args.size(); ++i) leaves(*e.args[i]);
        return unknown(width, e.range);
    }
  }

  Leaves name(const Expr& e) {
    const VarDecl* v = e.decl;
    if (!v) return unknown(int_leaf_count(e.type), e.range);
    if (v->kind == VarKind::Let) return let_value(*v);
    return var(*v);
  }

  Leaves leaves(const Expr& e) {
    if (e.builtin != Builtin::None) return builtin(e);
    if (is_literal(e)) {
      // A constant that may be stored: only negative ones are never
      // renamed (comparisons with constants are judged in comparison()).
      Leaves l = fresh(1);
      if (literal(e) >= 0) mark(l, "it holds the constant " + std::to_string(literal(e)), e.range);
      return l;
    }
    const int width = int_leaf_count(e.type);
    switch (e.kind) {
      case ExprKind::NoneLit: return unknown(width, "none's payload word holds 0", e.range);
      case ExprKind::Name: return name(e);
      case ExprKind::Call: {
        if (!e.fn) {
          for (auto& a : e.args) mark(leaves(*a), "it is passed to a function", e.range);
          return unknown(width, e.range);
        }
        for (size_t i = 0; i < e.args.size(); ++i) {
          Leaves a = leaves(*e.args[i]);
          if (i < e.fn->params.size()) unite(var(*e.fn->params[i]), a, e.range);
        }
        return fn_result(*e.fn);
      }
      case ExprKind::Member:
      case ExprKind::TupleIndex: {
        Leaves whole = leaves(*e.args[0]);
        for (size_t i = 1; i < e.args.size(); ++i) leaves(*e.args[i]);
        const Type* agg = e.args[0]->type;
        if (!agg || !(agg->is(TypeKind::Tuple) || agg->is(TypeKind::Record))) return unknown(width, e.range);
        return slice(whole, agg, static_cast<int>(e.int_value));  // sema stores a field's index there too
      }
      case ExprKind::Index: {
        Leaves arr = leaves(*e.args[0]);
        mark(leaves(*e.args[1]), "it indexes an array", e.range);
        return arr;  // [T; n] shares its element's nodes
      }
      case ExprKind::Unary: {
        Leaves a = leaves(*e.args[0]);
        if (e.unary_op == UnaryOp::Not) return {};
        mark(a, std::string("it feeds arithmetic ('") + unary_op_spelling(e.unary_op) + "')", e.range);
        return unknown(width, e.range);
      }
      case ExprKind::Binary: return binary(e);
      case ExprKind::Cond: {
        leaves(*e.args[0]);
        Leaves a = leaves(*e.args[1]);
        unite(a, leaves(*e.args[2]), e.range);
        return a;
      }
      case ExprKind::Match: {
        leaves(*e.args[0]);
        Leaves out = fresh(width);
        for (auto& arm : e.arms)
          if (arm.value) unite(out, leaves(*arm.value), arm.range);
        return out;
      }
      case ExprKind::Quant:
      case ExprKind::Lambda:
        for (auto& v : e.params) var(*v);
        for (auto& a : e.args) leaves(*a);
        return {};
      case ExprKind::Some:
      case ExprKind::Old:
      case ExprKind::ArrayFill: return leaves(*e.args[0]);
      case ExprKind::Tuple:
      case ExprKind::Record: {
        Leaves l;
        for (auto& a : e.args) {
          Leaves p = leaves(*a);
          l.insert(l.end(), p.begin(), p.end());
        }
        return l;
      }
      default:
        for (auto& a : e.args) leaves(*a);
        return unknown(width, e.range);
    }
  }

  // ---- statements and rounds

  void stmts(const std::vector<StmtPtr>& body) {
    for (auto& s : body) stmt(*s);
  }

  // The place an assignment writes: x, x.f, x.0 or x[i] (of x's nodes).
  Leaves place(const Expr& t) { return leaves(t); }

  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::LocalVar:
        if (s.var && s.var->init) unite(var(*s.var), leaves(*s.var->init), s.range);
        break;
      case StmtKind::For:
        if (s.range_end) {  // i runs from a to b: a counter
          Leaves i = var(*s.var);
          mark(i, "a loop counts with it", s.range);
          mark(leaves(*s.cond), "a loop counts with it", s.range);
          mark(leaves(*s.range_end), "a loop counts with it", s.range);
        } else {  // for v in a set: v is any member, a number of the program's choosing
          if (s.var) mark(var(*s.var), "it is taken from a set", s.range);
          leaves(*s.cond);
        }
        break;
      case StmtKind::Decide:
        if (s.value) mark(leaves(*s.value), "it is decided", s.range);
        break;
      case StmtKind::Return:
        if (s.value) {
          Leaves v = leaves(*s.value);
          if (returns_) unite(*returns_, v, s.range);
          else mark(v, "it is returned", s.range);
        }
        break;
      case StmtKind::Log:
        for (auto& a : s.args) leaves(*a);
        break;
      case StmtKind::Match:
        leaves(*s.cond);
        for (auto& a : s.arms) stmts(a.body);
        break;
      case StmtKind::Assign: {
        Leaves p = place(*s.target);
        Leaves v = leaves(*s.value);
        if (s.assign_op == AssignOp::Set) {
          unite(p, v, s.range);
        } else {
          mark(p, "it feeds arithmetic (a compound assignment)", s.range);
          mark(v, "it feeds arithmetic (a compound assignment)", s.range);
        }
        break;
      }
      default:
        for (const ExprPtr* e : {&s.cond, &s.value, &s.target, &s.range_end})
          if (*e) leaves(**e);
        for (auto& a : s.args) leaves(*a);
        break;
    }
    stmts(s.body);
    stmts(s.else_body);
  }

  void round(const Round& r) {
    Leaves msg = fresh(int_leaf_count(r.message_type));
    for (auto& v : r.vars)
      if (v->init) unite(var(*v), leaves(*v->init), v->range);
    for (auto& lp : r.send_loops) {
      if (lp.var) mark(var(*lp.var), "a loop counts with it", lp.range);
      if (lp.coll) mark(leaves(*lp.coll), "a loop counts with it", lp.range);
      if (lp.end) mark(leaves(*lp.end), "a loop counts with it", lp.range);
    }
    for (auto& s : r.sends) {
      unite(msg, leaves(*s.value), s.range);
      if (s.dest_expr) leaves(*s.dest_expr);
      if (s.guard) leaves(*s.guard);
    }
    // The mailbox parameter (update) and the message parameter (receive)
    // carry the round's message words.
    if (r.update && !r.update->params.empty()) vars_[r.update->params[0].get()] = msg;
    if (r.receive && r.receive->params.size() > 1) vars_[r.receive->params[1].get()] = msg;
    for (auto* h : {&r.update, &r.receive, &r.finish})
      if (*h) stmts((*h)->body);
    if (r.progress.go_when) leaves(*r.progress.go_when);
  }

  PhaseOrder& out_;
  const SourceManager& sources_;
  std::vector<int> parent_;
  std::vector<Attr> attr_;
  int phase_ = 0, ballot_ = 0;
  bool reads_phase_ = false;
  bool reads_round_ = false;
  SourceRange round_at_, mixed_at_;
  std::vector<Modulo> modulos_;
  std::map<const VarDecl*, Leaves> vars_;
  std::map<const VarDecl*, Leaves> lets_;
  std::map<const FnDecl*, Leaves> fns_;
  const Leaves* returns_ = nullptr;  // the block fn being walked: its result's nodes
};

}  // namespace

PhaseOrder analyze_phase_order(const Program& program, const SourceManager& sources) {
  PhaseOrder out;
  PhaseWalker(out, sources).program(program);
  out.stale = analyze_stale_phases(program, out, sources);
  return out;
}

}  // namespace psync
