// silent_rounds.cpp: which process a round's messages can reach, for the
// derived `go when` (silent_rounds.h).
#include "codegen/lower/silent_rounds.h"

namespace psync::lower {

namespace {

// The same value at every process of a round, with nothing to report: what
// a receiver may evaluate in place of the sender. Conversions to pid (which
// report a value that names no process) are peeled off by the caller only.
bool uniform(const Expr& e, int depth = 0) {
  if (depth > 64) return false;  // a long chain of lets: not worth proving
  switch (e.kind) {
    case ExprKind::IntLit:
    case ExprKind::BoolLit: return true;
    case ExprKind::Name:
      if (e.decl != nullptr) {
        if (e.decl->kind == VarKind::Const) return true;
        return e.decl->kind == VarKind::Let && e.decl->init != nullptr && !e.decl->model &&
               uniform(*e.decl->init, depth + 1);
      }
      return e.builtin == Builtin::N || e.builtin == Builtin::Round || e.builtin == Builtin::Phase;
    case ExprKind::Unary: return e.unary_op != UnaryOp::Not && uniform(*e.args[0], depth + 1);
    case ExprKind::Binary:
      switch (e.binary_op) {
        case BinaryOp::Add:
        case BinaryOp::Sub:
        case BinaryOp::Mul:
        case BinaryOp::Div:  // a / 0 == 0 and a % 0 == a (lowering): nothing to report
        case BinaryOp::Mod: return uniform(*e.args[0], depth + 1) && uniform(*e.args[1], depth + 1);
        default: return false;
      }
    default: return false;
  }
}

// The integer a pid-valued destination converts: through `let`s and the
// implicit conversion to pid. Null when it is not uniform.
const Expr* receiver_value(const Expr& d) {
  const Expr* e = &d;
  for (int depth = 0; depth < 64; ++depth) {
    if (e->kind == ExprKind::Name && e->decl != nullptr && e->decl->kind == VarKind::Let && e->decl->init != nullptr &&
        !e->decl->model) {
      e = e->decl->init.get();
    } else if (e->kind == ExprKind::Call && e->builtin == Builtin::ToPid && e->args.size() == 1) {
      e = e->args[0].get();
    } else {
      break;
    }
  }
  return e->type != nullptr && e->type->is(TypeKind::Int) && uniform(*e) ? e : nullptr;
}

}  // namespace

std::optional<std::vector<const Expr*>> sole_receivers(const Program& prog, const Round& r) {
  if (r.is_event() || !prog.byzantine.empty()) return std::nullopt;
  std::vector<const Expr*> to;
  for (const Send& s : r.sends) {
    if (s.loop >= 0 || s.dest != DestKind::Expr || s.dest_expr == nullptr) return std::nullopt;
    if (s.dest_expr->type == nullptr || !s.dest_expr->type->is(TypeKind::Pid)) return std::nullopt;
    const Expr* v = receiver_value(*s.dest_expr);
    if (v == nullptr) return std::nullopt;
    to.push_back(v);
  }
  return to;
}

}  // namespace psync::lower
