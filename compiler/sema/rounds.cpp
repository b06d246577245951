// rounds.cpp: checking of rounds (round-local vars, sends and their message
// type, handlers, progress clauses), of the statements in handlers, and of
// specifications.
#include "sema/checker.h"

namespace psync::sema {

// ---------------------------------------------------------------- rounds

void Checker::check_round(Round& rd) {
  if (rd.poisoned) {
    rd.message_type = T.error();
    for (auto& v : rd.vars) v->used = true;
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
  check_sends(rd);
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
  check_progress(rd, mbox);
}

// The sends fix the round's message type; they must all agree.
void Checker::check_sends(Round& rd) {
  const Type* msg = nullptr;
  SourceRange first_send;
  for (auto& s : rd.sends) {
    if (!msg) {
      msg = check(*s.value, nullptr);
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
}

void Checker::check_progress(Round& rd, VarDecl* mbox) {
  Progress& pr = rd.progress;
  if (pr.go_when) {
    ScopeGuard s2(*this);
    if (mbox) bind_in_scope(*mbox);
    require(pr.go_when, TypeKind::Bool, "the 'go when' condition");
  }
  if (pr.wait && pr.timeout_us)
    D.error("wait-and-timeout", pr.range, "'wait' means the round has no timeout; remove 'wait' or 'timeout'");
  if (pr.timeout_us && *pr.timeout_us <= 0) D.error("bad-timeout", pr.range, "a timeout must be positive");
  if (pr.sync && *pr.sync < 1) D.error("bad-sync", pr.range, "'sync k' needs k >= 1");
  if (pr.strict_bound && *pr.strict_bound < 1)
    D.error("bad-strict-bound", pr.range, "'strict K' bounds the buffered future messages and needs K >= 1");
}

void Checker::check_handler(Handler& h, bool event) {
  ScopeGuard sg(*this);
  Context c = cx;
  c.in_handler = true;
  c.in_event_handler = event;
  ContextGuard g(*this, c);
  for (auto& p : h.params) declare_local(*p);
  check_block(h.body);
}

// ---------------------------------------------------------------- statements

void Checker::check_block(std::vector<StmtPtr>& body) {
  ScopeGuard sg(*this);
  for (auto& s : body) check_stmt(*s);
}

void Checker::check_stmt(Stmt& s) {
  switch (s.kind) {
    case StmtKind::LocalVar: {
      VarDecl& v = *s.var;
      v.type = v.type_expr ? resolve_type(v.type_expr.get()) : nullptr;
      if (v.type) coerce(v.init, v.type, "the initialiser of '" + v.name + "'");
      else v.type = check(*v.init, nullptr);
      if (v.type->is(TypeKind::Mailbox) && v.mutable_)
        D.error("mailbox-variable", v.range, "a mailbox cannot be stored in a 'var'; use 'let'");
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
    case StmtKind::Decide:
      if (prog.outputs.empty()) {
        D.error("decide-without-output", s.range, "'decide' needs an 'output' declaration giving the decision's type");
        check(*s.value, nullptr);
      } else {
        coerce(s.value, prog.outputs[0]->type, "the decided value");
      }
      break;
    case StmtKind::Halt: break;
    case StmtKind::Go:
      if (!cx.in_event_handler)
        D.error("go-outside-event-round", s.range,
                "'go' ends an event round early and is only allowed in 'receive' or 'finish'; "
                "a closed round ends on its progress condition (use 'progress go when ...')");
      break;
    case StmtKind::Assign: check_assign(s); break;
    case StmtKind::ExprStmt:
      check(*s.value, nullptr);
      if (s.value->kind != ExprKind::Error)
        D.error("unused-expression", s.value->range,
                s.value->kind == ExprKind::Binary && s.value->binary_op == BinaryOp::Eq
                    ? "this comparison has no effect; did you mean '=' (assignment)?"
                    : "this expression has no effect");
      break;
    case StmtKind::Block: check_block(s.body); break;
  }
}

namespace {

// The variable at the root of an assignable place, or null.
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

}  // namespace

void Checker::check_assign(Stmt& s) {
  const Type* target = check(*s.target, nullptr);
  // A write is not a read: undo the `used` mark that check() set on the root.
  VarDecl* root = lvalue_root(*s.target);
  if (root && s.target->kind == ExprKind::Name && s.assign_op == AssignOp::Set) root->used = root_was_used;
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

// ---------------------------------------------------------------- specifications

void Checker::check_spec(Spec& s) {
  ScopeGuard sg(*this);
  Context c{Where::Spec};
  c.spec = s.kind;
  c.allow_ho = s.kind == SpecKind::Assume;
  ContextGuard g(*this, c);
  if (s.kind == SpecKind::Liveness && s.pred) {
    Context pc = c;
    pc.allow_ho = true;
    ContextGuard g2(*this, pc);
    require(s.pred, TypeKind::Bool, "the communication predicate of '" + s.name + "'");
  }
  require(s.body, TypeKind::Bool, "specification '" + s.name + "'");
}

}  // namespace psync::sema
