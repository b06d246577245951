// predicate_shape.cpp: splits a heard-of predicate into `uniform`, per-process
// parts and a residual, and decides whether the residual is upward closed.
// codegen/lower emits the result (abi.h, psync_spec_desc.ho_shape).
#include "sema/predicate_shape.h"

#include <map>
#include <set>

namespace psync {

namespace {

// ---------------------------------------------------------------- polarity

// How a value varies as processes are added to HO sets: not at all, up
// (a bool becomes true, a set grows, an int grows), down, or either way.
enum class Pol { Const, Up, Down, Any };

Pol flip(Pol p) { return p == Pol::Up ? Pol::Down : p == Pol::Down ? Pol::Up : p; }
Pol both(Pol a, Pol b) {
  if (a == Pol::Const) return b;
  if (b == Pol::Const || a == b) return a;
  return Pol::Any;
}

using Env = std::map<const VarDecl*, Pol>;  // fn parameters bound to an HO-reading argument

Pol polarity(const Expr& e, const Env& env, int depth);

Pol all_const(const Expr& e, const Env& env, int depth) {
  for (const auto& a : e.args)
    if (polarity(*a, env, depth) != Pol::Const) return Pol::Any;
  return Pol::Const;
}

// A non-negative integer literal: scaling by it keeps the direction.
bool non_negative_literal(const Expr& e) { return e.kind == ExprKind::IntLit && e.int_value >= 0; }

Pol polarity_binary(const Expr& e, const Env& env, int depth) {
  Pol a = polarity(*e.args[0], env, depth);
  Pol b = polarity(*e.args[1], env, depth);
  switch (e.binary_op) {
    case BinaryOp::And:
    case BinaryOp::Or:
    case BinaryOp::Add: return both(a, b);
    case BinaryOp::Implies:
    case BinaryOp::Lt:
    case BinaryOp::Le: return both(flip(a), b);
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Sub: return both(a, flip(b));
    case BinaryOp::Mul:
      if (non_negative_literal(*e.args[0])) return b;
      if (non_negative_literal(*e.args[1])) return a;
      return both(a, b) == Pol::Const ? Pol::Const : Pol::Any;
    case BinaryOp::Div:  // floor division by a positive literal keeps the order
      if (e.args[1]->kind == ExprKind::IntLit && e.args[1]->int_value > 0) return a;
      return both(a, b) == Pol::Const ? Pol::Const : Pol::Any;
    default: return both(a, b) == Pol::Const ? Pol::Const : Pol::Any;
  }
}

Pol polarity_builtin(const Expr& e, const Env& env, int depth) {
  auto arg = [&](size_t k) { return polarity(*e.args[k], env, depth); };
  switch (e.builtin) {
    case Builtin::Uniform: return Pol::Any;  // neither up nor down closed
    case Builtin::HoSize: return Pol::Up;
    case Builtin::Ho: return arg(0) == Pol::Const ? Pol::Up : Pol::Any;
    case Builtin::Min:
    case Builtin::Max:
    case Builtin::SetInter:
    case Builtin::SetUnion: return both(arg(0), arg(1));
    case Builtin::SetMinus: return both(arg(0), flip(arg(1)));
    case Builtin::SetSize: return arg(0);
    case Builtin::SetIsEmpty: return flip(arg(0));
    case Builtin::SetHas:
    case Builtin::SetWith:
    case Builtin::SetWithout: return arg(1) == Pol::Const ? arg(0) : Pol::Any;
    default: return all_const(e, env, depth);
  }
}

Pol polarity(const Expr& e, const Env& env, int depth) {
  switch (e.kind) {
    case ExprKind::Name:
      if (e.decl) {
        auto it = env.find(e.decl);
        return it == env.end() ? Pol::Const : it->second;
      }
      return polarity_builtin(e, env, depth);
    case ExprKind::Call:
      if (e.fn) {
        // A fn's body seen through: its parameters take the arguments'
        // directions. A block body, or deep recursion, is not analysed.
        Env inner;
        bool reads_ho = false;
        for (size_t k = 0; k < e.args.size() && k < e.fn->params.size(); ++k) {
          Pol p = polarity(*e.args[k], env, depth);
          reads_ho = reads_ho || p != Pol::Const;
          inner[e.fn->params[k].get()] = p;
        }
        if (!reads_ho) return Pol::Const;
        if (!e.fn->body || e.fn->has_block || depth > 16) return Pol::Any;
        return polarity(*e.fn->body, inner, depth + 1);
      }
      return polarity_builtin(e, env, depth);
    case ExprKind::Member: return e.builtin == Builtin::ProcField ? all_const(e, env, depth) : polarity_builtin(e, env, depth);
    case ExprKind::Unary: {
      Pol a = polarity(*e.args[0], env, depth);
      if (e.unary_op == UnaryOp::BitNot) return a == Pol::Const ? a : Pol::Any;
      return flip(a);  // !x, -x
    }
    case ExprKind::Binary: return polarity_binary(e, env, depth);
    case ExprKind::Quant: return polarity(*e.args[0], env, depth);  // forall and exists keep the direction
    case ExprKind::Cond: {
      if (polarity(*e.args[0], env, depth) != Pol::Const) return Pol::Any;
      return both(polarity(*e.args[1], env, depth), polarity(*e.args[2], env, depth));
    }
    default: return all_const(e, env, depth);
  }
}

// ---------------------------------------------------------------- HO references

struct Reads {
  std::vector<const Expr*> ho_args;  // e of each ho(e)
  bool ho_size = false;
  bool uniform = false;
  std::set<const VarDecl*> bound_inside;  // names bound by quantifiers and lambdas inside
};

void collect_reads(const Expr& e, Reads& r) {
  if (e.builtin == Builtin::Ho && !e.args.empty()) r.ho_args.push_back(e.args[0].get());
  if (e.builtin == Builtin::HoSize) r.ho_size = true;
  if (e.builtin == Builtin::Uniform) r.uniform = true;
  for (const auto& p : e.params) r.bound_inside.insert(p.get());
  for (const auto& a : e.args) collect_reads(*a, r);
  for (const auto& arm : e.arms)
    if (arm.value) collect_reads(*arm.value, r);
}

bool same_expr(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.builtin != b.builtin || a.decl != b.decl || a.fn != b.fn || a.name != b.name ||
      a.int_value != b.int_value || a.bool_value != b.bool_value || a.unary_op != b.unary_op ||
      a.binary_op != b.binary_op || a.args.size() != b.args.size() || !a.params.empty() || !b.params.empty() ||
      !a.arms.empty() || !b.arms.empty())
    return false;
  for (size_t k = 0; k < a.args.size(); ++k)
    if (!same_expr(*a.args[k], *b.args[k])) return false;
  return true;
}

bool mentions(const Expr& e, const std::set<const VarDecl*>& names) {
  if (e.decl && names.count(e.decl)) return true;
  for (const auto& a : e.args)
    if (mentions(*a, names)) return true;
  return false;
}

// ---------------------------------------------------------------- splitting

void classify(const Expr& leaf, const std::vector<const Expr*>& binders, PredicateShape& shape) {
  if (leaf.kind == ExprKind::Name && leaf.builtin == Builtin::Uniform) {
    shape.uniform = true;
    return;
  }
  Reads r;
  collect_reads(leaf, r);
  PredicatePart part{&leaf, binders, nullptr};
  if (!r.uniform && !r.ho_size) {
    bool one_target = true;
    for (const Expr* a : r.ho_args)
      one_target = one_target && same_expr(*a, *r.ho_args[0]) && !mentions(*a, r.bound_inside);
    if (one_target) {
      part.target = r.ho_args.empty() ? nullptr : r.ho_args[0];
      shape.local.push_back(part);
      return;
    }
  }
  Pol p = polarity(leaf, {}, 0);
  bool upward = p == Pol::Up || p == Pol::Const;
  if (!r.uniform && r.ho_args.empty() && upward) {  // ho_size alone, upward closed
    shape.local.push_back(part);
    return;
  }
  shape.residual.push_back(part);
  shape.residual_monotone = shape.residual_monotone && upward;
}

// a && b and forall x: (a && b) split into their conjuncts.
void split(const Expr& e, std::vector<const Expr*>& binders, PredicateShape& shape) {
  if (e.kind == ExprKind::Binary && e.binary_op == BinaryOp::And) {
    split(*e.args[0], binders, shape);
    split(*e.args[1], binders, shape);
    return;
  }
  if (e.kind == ExprKind::Quant && e.bool_value) {
    binders.push_back(&e);
    split(*e.args[0], binders, shape);
    binders.pop_back();
    return;
  }
  classify(e, binders, shape);
}

std::string target_text(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Name: return e.name;
    case ExprKind::IntLit: return std::to_string(e.int_value);
    case ExprKind::Member:
      if (!e.args.empty()) return target_text(*e.args[0]) + "." + e.name;
      return e.name;
    default: return "...";
  }
}

}  // namespace

PredicateShape analyse_predicate(const Expr& pred) {
  PredicateShape shape;
  std::vector<const Expr*> binders;
  split(pred, binders, shape);
  return shape;
}

std::string PredicateShape::describe() const {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (uniform) add("uniform");
  for (const PredicatePart& p : local) {
    Reads r;
    collect_reads(*p.expr, r);
    add(p.target ? "local ho(" + target_text(*p.target) + ")" : r.ho_size ? "local ho_size" : "local constant");
  }
  for (size_t k = 0; k < residual.size(); ++k) add(residual_monotone ? "residual upward-closed" : "residual");
  return out.empty() ? "true" : out;
}

}  // namespace psync
