// build_exprs.cpp: the AstBuilder's walk over expressions and statements.
// Every level of nesting counts against ParseLimits::max_expr_depth, so a
// tree deeper than that becomes an error node instead of a deep recursion.
#include "parse/builder.h"

namespace psync::parse {

// ---------------------------------------------------------- expressions

ExprPtr AstBuilder::make(ExprKind kind, SourceRange r) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->range = r;
  return e;
}

ExprPtr AstBuilder::build_expr(P::ExprContext* ctx, int depth) {
  if (!ctx) return error_expr({file_, 0, 0});
  SourceRange r = range(ctx);
  if (depth > limits_.max_expr_depth) {
    if (!depth_reported_) {
      diags_.error("expression-too-complex", r,
                   "expression nested more than " + std::to_string(limits_.max_expr_depth) + " levels deep");
      depth_reported_ = true;
    }
    return error_expr(r);
  }
  int d = depth + 1;
  if (auto* c = as<P::PrimaryExprContext>(ctx)) return build_primary(c->primary(), d);
  if (auto* c = as<P::MemberExprContext>(ctx)) {
    auto e = make(ExprKind::Member, r);
    e->args.push_back(build_expr(c->expr(), d));
    e->name = c->memberName() ? c->memberName()->getText() : "<error>";
    e->has_call_parens = c->call != nullptr;
    if (c->args())
      for (auto* a : c->args()->expr()) e->args.push_back(build_expr(a, d));
    return e;
  }
  if (auto* c = as<P::TupleIndexExprContext>(ctx)) {
    auto e = make(ExprKind::TupleIndex, r);
    e->args.push_back(build_expr(c->expr(), d));
    e->int_value = parse_int(c->INT()).value_or(0);
    return e;
  }
  if (auto* c = as<P::IndexExprContext>(ctx)) {
    auto e = make(ExprKind::Index, r);
    e->args.push_back(build_expr(c->expr(0), d));
    e->args.push_back(build_expr(c->expr(1), d));
    return e;
  }
  if (auto* c = as<P::UnaryExprContext>(ctx)) {
    // Fold a minus sign into a literal so that -9223372036854775808 works.
    if (c->op && c->op->getText() == "-") {
      if (auto* pe = as<P::PrimaryExprContext>(c->expr())) {
        if (auto* lit = as<P::IntLitContext>(pe->primary())) {
          if (present(lit->INT()) && lit->INT()->getText() == "9223372036854775808") {
            auto e = make(ExprKind::IntLit, r);
            e->int_value = INT64_MIN;
            return e;
          }
        }
      }
    }
    auto e = make(ExprKind::Unary, r);
    std::string op = c->op ? c->op->getText() : "-";
    e->unary_op = op == "!" ? UnaryOp::Not : op == "~" ? UnaryOp::BitNot : UnaryOp::Neg;
    e->args.push_back(build_expr(c->expr(), d));
    return e;
  }
  if (auto* c = as<P::MulExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
  if (auto* c = as<P::AddExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
  if (auto* c = as<P::ShiftExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
  if (auto* c = as<P::BitAndExprContext>(ctx)) return binary_op(BinaryOp::BitAnd, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::BitXorExprContext>(ctx)) return binary_op(BinaryOp::BitXor, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::BitOrExprContext>(ctx)) return binary_op(BinaryOp::BitOr, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::RelExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
  if (auto* c = as<P::EqExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
  if (auto* c = as<P::AndExprContext>(ctx)) return binary_op(BinaryOp::And, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::OrExprContext>(ctx)) return binary_op(BinaryOp::Or, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::ImpliesExprContext>(ctx))
    return binary_op(BinaryOp::Implies, c->expr(0), c->expr(1), r, d);
  if (auto* c = as<P::CondExprContext>(ctx)) {
    auto e = make(ExprKind::Cond, r);
    for (size_t i = 0; i < 3; ++i) e->args.push_back(build_expr(c->expr(i), d));
    return e;
  }
  if (auto* c = as<P::QuantExprContext>(ctx)) {
    auto e = make(ExprKind::Quant, r);
    e->bool_value = c->quant && c->quant->getType() == PSyncLexer::FORALL;
    for (auto* id : c->ID()) e->params.push_back(make_var(VarKind::QuantVar, id));
    e->args.push_back(build_expr(c->expr(), d));
    return e;
  }
  if (auto* c = as<P::LambdaExprContext>(ctx)) {
    auto e = make(ExprKind::Lambda, r);
    if (auto* s = as<P::SingleLambdaParamContext>(c->lambdaParams())) {
      e->params.push_back(make_var(VarKind::LambdaParam, s->ID()));
    } else if (auto* m = as<P::MultiLambdaParamsContext>(c->lambdaParams())) {
      for (auto* id : m->ID()) e->params.push_back(make_var(VarKind::LambdaParam, id));
    }
    e->args.push_back(build_expr(c->expr(), d));
    return e;
  }
  return error_expr(r);
}

ExprPtr AstBuilder::binary(P::ExprContext* l, antlr4::Token* op, P::ExprContext* rhs, SourceRange r, int d) {
  static const std::pair<const char*, BinaryOp> ops[] = {
      {"*", BinaryOp::Mul}, {"/", BinaryOp::Div}, {"%", BinaryOp::Mod}, {"+", BinaryOp::Add},
      {"-", BinaryOp::Sub}, {"<", BinaryOp::Lt},  {"<=", BinaryOp::Le}, {">", BinaryOp::Gt},
      {">=", BinaryOp::Ge}, {"==", BinaryOp::Eq}, {"!=", BinaryOp::Ne}, {"<<", BinaryOp::Shl},
      {">>", BinaryOp::Shr}};
  BinaryOp bop = BinaryOp::Add;
  std::string text = op ? op->getText() : "+";
  for (auto& [s, o] : ops)
    if (text == s) bop = o;
  return binary_op(bop, l, rhs, r, d);
}

ExprPtr AstBuilder::binary_op(BinaryOp op, P::ExprContext* l, P::ExprContext* rhs, SourceRange r, int d) {
  auto e = make(ExprKind::Binary, r);
  e->binary_op = op;
  e->args.push_back(build_expr(l, d));
  e->args.push_back(build_expr(rhs, d));
  return e;
}

ExprPtr AstBuilder::build_primary(P::PrimaryContext* ctx, int d) {
  if (!ctx) return error_expr({file_, 0, 0});
  SourceRange r = range(ctx);
  if (auto* c = as<P::IntLitContext>(ctx)) {
    auto v = parse_int(c->INT());
    if (!v) return error_expr(r);
    auto e = make(ExprKind::IntLit, r);
    e->int_value = *v;
    return e;
  }
  if (auto* c = as<P::DurationLitContext>(ctx)) {
    auto v = parse_duration_us(c->DURATION());
    if (!v) return error_expr(r);
    auto e = make(ExprKind::IntLit, r);
    e->int_value = *v;
    e->duration = true;
    return e;
  }
  if (auto* c = as<P::MatchExprContext>(ctx)) {
    auto e = make(ExprKind::Match, r);
    e->args.push_back(build_expr(c->expr(), d));
    for (auto* arm : c->matchExprArm()) {
      MatchArm a = build_arm(arm->matchPattern(), arm);
      a.value = build_expr(arm->expr(), d);
      e->arms.push_back(std::move(a));
    }
    return e;
  }
  if (auto* c = as<P::BoolLitContext>(ctx)) {
    auto e = make(ExprKind::BoolLit, r);
    e->bool_value = c->TRUE() != nullptr;
    return e;
  }
  if (as<P::NoneLitContext>(ctx)) return make(ExprKind::NoneLit, r);
  if (auto* c = as<P::SomeLitContext>(ctx)) {
    auto e = make(ExprKind::Some, r);
    e->args.push_back(build_expr(c->expr(), d));
    return e;
  }
  if (auto* c = as<P::OldExprContext>(ctx)) {
    auto e = make(ExprKind::Old, r);
    e->args.push_back(build_expr(c->expr(), d));
    return e;
  }
  if (auto* c = as<P::CallExprContext>(ctx)) {
    auto e = make(ExprKind::Call, r);
    e->name = c->callee ? c->callee->getText() : "<error>";
    if (c->args())
      for (auto* a : c->args()->expr()) e->args.push_back(build_expr(a, d));
    return e;
  }
  if (auto* c = as<P::NameExprContext>(ctx)) {
    auto e = make(ExprKind::Name, r);
    e->name = id_text(c->ID());
    return e;
  }
  if (auto* c = as<P::StringLitContext>(ctx)) {
    auto v = decode_string(c->STRING());
    if (!v) return error_expr(r);
    auto e = make(ExprKind::StringLit, r);
    e->str_value = std::move(*v);
    return e;
  }
  if (as<P::UnitLitContext>(ctx)) return make(ExprKind::UnitLit, r);
  if (auto* c = as<P::ParenExprContext>(ctx)) {
    // One alternative for (e) and (a, b, ...): ANTLR then needs no
    // lookahead to the closing parenthesis at every nesting level.
    if (c->expr().size() == 1) return build_expr(c->expr(0), d);
    auto e = make(ExprKind::Tuple, r);
    for (auto* x : c->expr()) e->args.push_back(build_expr(x, d));
    return e;
  }
  if (auto* c = as<P::ArrayLitContext>(ctx)) {
    auto e = make(ExprKind::ArrayFill, r);
    e->args.push_back(build_expr(c->expr(), d));
    if (present(c->ID()) && c->ID()->getText() != "n")
      diags_.error("array-size-not-n", range(c->ID()),
                   "array size must be 'n' (arrays are indexed by process id), found '" + c->ID()->getText() + "'");
    return e;
  }
  if (auto* c = as<P::RecordLitContext>(ctx)) {
    auto e = make(ExprKind::Record, r);
    if (present(c->ID())) e->name = c->ID()->getText();
    for (auto* f : c->fieldInit()) {
      e->field_names.push_back(id_text(f->ID()));
      e->field_ranges.push_back(range(f->ID()));
      e->args.push_back(build_expr(f->expr(), d));
    }
    return e;
  }
  return error_expr(r);
}

ExprPtr AstBuilder::build_condition(P::ExprContext* cond, antlr4::Token* eq, P::ExprContext* rhs, int depth) {
  if (!eq) return build_expr(cond, depth);
  SourceRange r = range(cond ? cond->getStart() : eq, rhs ? rhs->getStop() : eq);
  diags_.error("assignment-in-condition", range(eq, eq),
               "'=' assigns and cannot be a condition; did you mean '==' (comparison)?");
  return binary_op(BinaryOp::Eq, cond, rhs, r, depth + 1);
}

MatchArm AstBuilder::build_arm(P::MatchPatternContext* pat, antlr4::ParserRuleContext* arm) {
  MatchArm a;
  a.range = range(arm);
  if (!pat) return a;
  for (auto* id : pat->ID()) {
    if (present(id) && id->getText() == "_") {
      a.wildcard = true;
      continue;
    }
    a.variants.push_back(id_text(id));
    a.variant_ranges.push_back(range(id));
  }
  return a;
}

// ---------------------------------------------------------- statements

std::vector<StmtPtr> AstBuilder::build_block(P::BlockContext* ctx, int depth) {
  std::vector<StmtPtr> out;
  if (!ctx) return out;
  for (auto* s : ctx->stmt())
    if (auto st = build_stmt(s, depth + 1)) out.push_back(std::move(st));
  return out;
}

StmtPtr AstBuilder::make_stmt(StmtKind kind, SourceRange r) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->range = r;
  return s;
}

StmtPtr AstBuilder::build_if(P::IfChainContext* c, int depth) {
  auto s = make_stmt(StmtKind::If, range(c));
  s->cond = build_condition(c->cond, c->eq, c->rhs, depth);
  s->body = build_block(c->block(0), depth);
  if (c->ELSE()) {
    s->has_else = true;
    if (c->ifChain()) {
      if (depth > limits_.max_expr_depth) return s;
      s->else_body.push_back(build_if(c->ifChain(), depth + 1));
    } else {
      s->else_body = build_block(c->block(1), depth);
    }
  }
  return s;
}

StmtPtr AstBuilder::build_stmt(P::StmtContext* ctx, int depth) {
  if (!ctx) return nullptr;
  SourceRange r = range(ctx);
  if (auto* c = as<P::LocalVarStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::LocalVar, r);
    s->var = make_var(VarKind::Local, c->ID());
    s->var->mutable_ = true;
    if (c->type()) s->var->type_expr = build_type(c->type());
    s->var->init = build_expr(c->expr(), depth);
    return s;
  }
  if (auto* c = as<P::LocalLetStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::LocalVar, r);
    s->var = make_var(VarKind::Local, c->ID());
    if (c->type()) s->var->type_expr = build_type(c->type());
    s->var->init = build_expr(c->expr(), depth);
    return s;
  }
  if (auto* c = as<P::IfStmtContext>(ctx)) return build_if(c->ifChain(), depth);
  if (auto* c = as<P::ForStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::For, r);
    s->var = make_var(VarKind::LoopVar, c->ID());
    s->cond = build_expr(c->expr(0), depth);
    if (c->DOTDOT()) s->range_end = build_expr(c->expr(1), depth);
    s->body = build_block(c->block(), depth);
    return s;
  }
  if (auto* c = as<P::DecideStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Decide, r);
    s->value = build_expr(c->expr(), depth);
    return s;
  }
  if (as<P::HaltStmtContext>(ctx)) return make_stmt(StmtKind::Halt, r);
  if (as<P::GoStmtContext>(ctx)) return make_stmt(StmtKind::Go, r);
  if (auto* c = as<P::MatchStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Match, r);
    s->cond = build_expr(c->expr(), depth);
    for (auto* arm : c->matchStmtArm()) {
      MatchArm a = build_arm(arm->matchPattern(), arm);
      a.body = build_block(arm->block(), depth);
      s->arms.push_back(std::move(a));
    }
    return s;
  }
  if (auto* c = as<P::ReturnStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Return, r);
    s->value = build_expr(c->expr(), depth);
    return s;
  }
  if (auto* c = as<P::LogStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Log, r);
    if (auto text = decode_string(c->STRING())) s->text = std::move(*text);
    for (auto* a : c->expr()) s->args.push_back(build_expr(a, depth));
    return s;
  }
  if (auto* c = as<P::ModelStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Model, r);
    s->body = build_block(c->block(), depth);
    return s;
  }
  if (auto* c = as<P::AssignStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::Assign, r);
    static const std::pair<const char*, AssignOp> ops[] = {
        {"=", AssignOp::Set},     {"+=", AssignOp::Add},    {"-=", AssignOp::Sub},
        {"*=", AssignOp::Mul},    {"&=", AssignOp::BitAnd}, {"|=", AssignOp::BitOr},
        {"^=", AssignOp::BitXor}, {"<<=", AssignOp::Shl},   {">>=", AssignOp::Shr}};
    std::string op = c->op ? c->op->getText() : "=";
    s->assign_op = AssignOp::Set;
    for (auto& [text, o] : ops)
      if (op == text) s->assign_op = o;
    s->target = build_expr(c->expr(0), depth);
    s->value = build_expr(c->expr(1), depth);
    return s;
  }
  if (auto* c = as<P::ExprStmtContext>(ctx)) {
    auto s = make_stmt(StmtKind::ExprStmt, r);
    s->value = build_expr(c->expr(), depth);
    return s;
  }
  return nullptr;  // empty statement
}

}  // namespace psync::parse
