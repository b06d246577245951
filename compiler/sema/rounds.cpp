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

// The sends fix the round's message type; they must all agree. Sends in a
// `for q in S { ... }` loop see q, and must be addressed to it.
void Checker::check_sends(Round& rd) {
  const Type* msg = nullptr;
  SourceRange first_send;
  int open_loop = -1;
  bool loop_scope = false;  // a scope pushed for the loop variable
  for (auto& s : rd.sends) {
    if (s.loop != open_loop) {
      if (loop_scope) scopes_.pop_back();
      loop_scope = false;
      open_loop = s.loop;
      if (s.loop >= 0) {
        SendLoop& lp = rd.send_loops[static_cast<size_t>(s.loop)];
        if (lp.end) {
          require(lp.coll, TypeKind::Int, "the start of a range");
          require(lp.end, TypeKind::Int, "the end of a range");
          lp.var->type = T.int_();
        } else {
          const Type* t = check(*lp.coll, nullptr);
          if (!t->is(TypeKind::PidSet) && !t->is_error())
            D.error("bad-for-collection", lp.coll->range,
                    "a 'for' of sends iterates over a set<pid> or a range 'a..b' of process ids, not over '" +
                        type_name(t) + "'");
          lp.var->type = T.pid();
        }
        lp.var->used = true;
        scopes_.emplace_back();
        loop_scope = true;
        declare_local(*lp.var);
      }
    }
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
      if (s.loop >= 0) {
        // One message per destination: inside the loop, each iteration
        // addresses its own process.
        const VarDecl* q = rd.send_loops[static_cast<size_t>(s.loop)].var.get();
        if (!dt->is_error() && !(s.dest_expr->kind == ExprKind::Name && s.dest_expr->decl == q))
          D.error("loop-send-destination", s.dest_expr->range,
                  "a send inside 'for " + q->name + " in ...' must be addressed to '" + q->name +
                      "' (one message per destination per round)");
      }
      if (!dt->is(TypeKind::PidSet) && !dt->is_error()) coerce_checked(s.dest_expr, T.pid(), "the destination of a send");
    } else if (s.loop >= 0) {
      D.error("loop-send-destination", s.range,
              "a send inside 'for " + rd.send_loops[static_cast<size_t>(s.loop)].var->name + " in ...' must be addressed to '" +
                  rd.send_loops[static_cast<size_t>(s.loop)].var->name + "', not to all");
    }
    if (s.guard) require(s.guard, TypeKind::Bool, "the condition of a send");
  }
  if (loop_scope) scopes_.pop_back();
  rd.message_type = msg ? msg : T.unit();
  check_send_overlaps(rd);
}

namespace {

// Structural equality of two typed expressions without coin() or random(k):
// equal expressions evaluate to equal values within one send step.
bool same_expr(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.type != b.type || a.builtin != b.builtin || a.decl != b.decl || a.fn != b.fn) return false;
  if (a.builtin == Builtin::Coin || a.builtin == Builtin::Random) return false;
  if (a.int_value != b.int_value || a.bool_value != b.bool_value || a.name != b.name) return false;
  if (a.unary_op != b.unary_op || a.binary_op != b.binary_op || a.field_names != b.field_names) return false;
  if (a.args.size() != b.args.size() || !a.params.empty() || !b.params.empty() || !a.arms.empty()) return false;
  for (size_t i = 0; i < a.args.size(); ++i)
    if (!same_expr(*a.args[i], *b.args[i])) return false;
  return true;
}

// Where a send may go, as far as the type checker can tell.
struct Reach {
  enum Kind { Everyone, One, Unknown } kind = Unknown;
  const Expr* who = nullptr;  // One: the pid expression
};

Reach reach_of(const Round& rd, const Send& s) {
  if (s.loop >= 0) {
    const SendLoop& lp = rd.send_loops[static_cast<size_t>(s.loop)];
    if (!lp.end && lp.coll->builtin == Builtin::Pids) return {Reach::Everyone, nullptr};
    return {};
  }
  if (s.dest == DestKind::All) return {Reach::Everyone, nullptr};
  if (s.dest_expr->builtin == Builtin::Pids) return {Reach::Everyone, nullptr};
  if (s.dest_expr->type && s.dest_expr->type->is(TypeKind::Pid)) return {Reach::One, s.dest_expr.get()};
  return {};
}

}  // namespace

// Two sends of a round that surely reach one process in the same step are
// an error: a process sends at most one message per destination. "Surely"
// means: both unconditional (or under the same condition) and aimed at
// everyone, or at everyone and one process, or at the same process. Where
// the checker cannot tell (guards, computed sets), the last send in source
// order wins at run time (docs/language.md, section 11.3).
void Checker::check_send_overlaps(Round& rd) {
  for (size_t j = 1; j < rd.sends.size(); ++j) {
    const Send& b = rd.sends[j];
    for (size_t i = 0; i < j; ++i) {
      const Send& a = rd.sends[i];
      bool same_guard = (!a.guard && !b.guard) || (a.guard && b.guard && same_expr(*a.guard, *b.guard));
      if (!same_guard) continue;
      bool overlap = false;
      if (a.loop >= 0 && a.loop == b.loop) {
        overlap = true;  // one loop body: both go to q in the same iteration
      } else {
        Reach ra = reach_of(rd, a), rb = reach_of(rd, b);
        if (ra.kind == Reach::Everyone && rb.kind != Reach::Unknown) overlap = true;
        else if (rb.kind == Reach::Everyone && ra.kind != Reach::Unknown) overlap = true;
        else if (ra.kind == Reach::One && rb.kind == Reach::One) overlap = same_expr(*ra.who, *rb.who);
      }
      if (!overlap) continue;
      D.error("duplicate-send", b.range,
              "this send and an earlier one of round '" + rd.name +
                  "' both reach the same process; a process sends at most one message per destination per round "
                  "(guard one of them, or send a tuple)");
      D.note(a.range, "the earlier send is here");
      break;
    }
  }
}

void Checker::check_progress(Round& rd, VarDecl* mbox) {
  Progress& pr = rd.progress;
  if (pr.go_when) {
    ScopeGuard s2(*this);
    if (mbox) bind_in_scope(*mbox);
    require(pr.go_when, TypeKind::Bool, "the 'go when' condition");
  }
  if (pr.timeout) {
    // Computed when the round starts, by the node only (the checker has no
    // clock): it may read the state, consts, r and phase, but not draw coins.
    Context c = cx;
    c.in_timeout = true;
    ContextGuard g(*this, c);
    if (pr.timeout->kind == ExprKind::IntLit && !pr.timeout->duration)
      D.error("timeout-without-unit", pr.timeout->range,
              "a timeout needs a unit: write " + std::to_string(pr.timeout->int_value) + "ms, " +
                  std::to_string(pr.timeout->int_value) + "us or " + std::to_string(pr.timeout->int_value) + "s");
    require(pr.timeout, TypeKind::Int, "a timeout (in microseconds)");
  }
  if (pr.wait && (pr.timeout_us || pr.timeout))
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

namespace {

// Whether control cannot fall through `body`: it ends in a return, or in an
// if/else or a match whose every branch does.
bool always_returns(const std::vector<StmtPtr>& body) {
  for (auto& s : body) {
    switch (s->kind) {
      case StmtKind::Return: return true;
      case StmtKind::Block:
        if (always_returns(s->body)) return true;
        break;
      case StmtKind::If:
        if (s->has_else && always_returns(s->body) && always_returns(s->else_body)) return true;
        break;
      case StmtKind::Match: {
        bool all = !s->arms.empty();
        for (auto& a : s->arms) all = all && always_returns(a.body);
        if (all) return true;
        break;
      }
      default: break;
    }
  }
  return false;
}

// The element type of iterating over a set (`for x in s`), or null.
const Type* set_element(TypeContext& T, const Type* t) {
  if (t->is(TypeKind::PidSet)) return T.pid();
  if (t->is(TypeKind::Set)) return t->elem->is(TypeKind::Enum) ? t->elem : T.int_();
  return nullptr;
}

}  // namespace

void Checker::check_fn_block(FnDecl& fn) {
  check_block(fn.block);
  if (!always_returns(fn.block))
    D.error("missing-return", fn.name_range, "fn '" + fn.name + "' can reach the end of its body without 'return'");
}

// `{}` placeholders, one per argument; `{{` and `}}` are literal braces.
void Checker::check_log(Stmt& s) {
  size_t holes = 0;
  bool bad = false;
  for (size_t i = 0; i < s.text.size(); ++i) {
    char c = s.text[i];
    if ((c == '{' || c == '}') && i + 1 < s.text.size() && s.text[i + 1] == c) {
      ++i;
    } else if (c == '{' && i + 1 < s.text.size() && s.text[i + 1] == '}') {
      ++holes;
      ++i;
    } else if (c == '{' || c == '}') {
      bad = true;
    }
  }
  for (auto& a : s.args) {
    const Type* t = check(*a, nullptr);
    if (t->is(TypeKind::Mailbox) || t->is(TypeKind::Lambda))
      D.error("type-mismatch", a->range, "a value of type '" + type_name(t) + "' cannot be logged");
  }
  if (bad)
    D.error("log-format-mismatch", s.range, "a lone '{' or '}' in a log format; write '{}' for a value, '{{' or '}}' for a brace");
  else if (holes != s.args.size())
    D.error("log-format-mismatch", s.range,
            "the format has " + std::to_string(holes) + " '{}' but " + std::to_string(s.args.size()) +
                (s.args.size() == 1 ? " value was" : " values were") + " given");
}

void Checker::check_match_arms(std::vector<MatchArm>& arms, const Type* t, SourceRange where) {
  if (t->is_error()) return;
  if (!t->is(TypeKind::Enum)) {
    D.error("match-not-enum", where, "'match' needs a value of an enum type, not '" + type_name(t) + "'");
    return;
  }
  std::vector<bool> covered(t->field_names.size(), false);
  bool after_wildcard = false;
  for (auto& a : arms) {
    a.indices.clear();
    if (after_wildcard) {
      // Its variants are all covered already: one error for the arm, not one per variant.
      D.error("unreachable-match-arm", a.range, "this arm comes after '_', which matches everything else");
      continue;
    }
    for (size_t k = 0; k < a.variants.size(); ++k) {
      int idx = t->field_index(a.variants[k]);
      SourceRange r = k < a.variant_ranges.size() ? a.variant_ranges[k] : a.range;
      if (idx < 0) {
        std::string list;
        for (auto& v : t->field_names) list += (list.empty() ? "" : ", ") + v;
        D.error("unknown-variant", r, "enum '" + t->name + "' has no variant '" + a.variants[k] + "' (it has " + list + ")");
        continue;
      }
      if (covered[static_cast<size_t>(idx)]) {
        D.error("duplicate-match-arm", r, "variant '" + a.variants[k] + "' is already matched by an earlier arm");
        continue;
      }
      covered[static_cast<size_t>(idx)] = true;
      a.indices.push_back(idx);
    }
    if (a.wildcard) {
      for (size_t k = 0; k < covered.size(); ++k)
        if (!covered[k]) {
          covered[k] = true;
          a.indices.push_back(static_cast<int64_t>(k));
        }
      if (a.indices.empty() && !after_wildcard)
        D.error("unreachable-match-arm", a.range, "'_' matches nothing: every variant has an arm already");
      after_wildcard = true;
    }
  }
  std::string missing;
  for (size_t k = 0; k < covered.size(); ++k)
    if (!covered[k]) missing += (missing.empty() ? "" : ", ") + t->field_names[k];
  if (!missing.empty())
    D.error("non-exhaustive-match", where, "'match' does not cover " + missing + " of enum '" + t->name + "'; add arms or '_'");
}

void Checker::check_stmt(Stmt& s) {
  const bool in_fn = cx.where == Where::Fn;
  // Statements with an effect on the process: not in a fn, which is pure.
  auto in_fn_error = [&](const char* what) {
    if (!in_fn) return false;
    D.error("statement-in-fn", s.range,
            std::string("'") + what + "' is not allowed in a fn: a fn only computes and returns a value");
    return true;
  };
  // Model code must not change what replicas do beyond stopping.
  auto model_effect = [&](const char* what) {
    if (!cx.in_model) return;
    D.error("model-code-effect", s.range,
            std::string("'") + what + "' in a model block would make the checked process differ from replicas, "
            "which never run it");
  };
  switch (s.kind) {
    case StmtKind::LocalVar: {
      VarDecl& v = *s.var;
      v.type = v.type_expr ? resolve_type(v.type_expr.get()) : nullptr;
      if (v.type) coerce(v.init, v.type, "the initialiser of '" + v.name + "'");
      else v.type = check(*v.init, nullptr);
      if (v.type->is(TypeKind::Mailbox) && v.mutable_)
        D.error("mailbox-variable", v.range, "a mailbox cannot be stored in a 'var'; use 'let'");
      v.model = cx.in_model;  // a local of model code is model state
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
        const Type* elem = set_element(T, t);
        if (!elem && !t->is_error())
          D.error("bad-for-collection", s.cond->range,
                  "'for' iterates over a set or a range 'a..b', not over '" + type_name(t) + "'");
        s.var->type = elem ? elem : T.error();
      }
      s.var->used = true;
      s.var->model = cx.in_model;
      declare_local(*s.var);
      for (auto& b : s.body) check_stmt(*b);
      break;
    }
    case StmtKind::Match: {
      const Type* t = check(*s.cond, nullptr);
      check_match_arms(s.arms, t, s.cond->range);
      for (auto& a : s.arms) check_block(a.body);
      break;
    }
    case StmtKind::Decide:
      if (in_fn_error("decide")) {
        check(*s.value, nullptr);
        break;
      }
      model_effect("decide");
      if (prog.outputs.empty()) {
        D.error("decide-without-output", s.range,
                "'decide' needs an 'output NAME: T' declaration giving the decision's type "
                "(an 'output var' is assigned, not decided)");
        check(*s.value, nullptr);
      } else {
        coerce(s.value, prog.outputs[0]->type, "the decided value");
      }
      break;
    case StmtKind::Halt: in_fn_error("halt"); break;
    case StmtKind::Go:
      if (in_fn_error("go")) break;
      model_effect("go");
      if (!cx.in_event_handler)
        D.error("go-outside-event-round", s.range,
                "'go' ends an event round early and is only allowed in 'receive' or 'finish'; "
                "a closed round ends on its progress condition (use 'progress go when ...')");
      break;
    case StmtKind::Return:
      if (!in_fn) {
        D.error("return-outside-fn", s.range, "'return' is only allowed in the body of a fn");
        check(*s.value, nullptr);
        break;
      }
      coerce(s.value, prog.fns[static_cast<size_t>(cx.fn_index)]->result_type, "the returned value");
      break;
    case StmtKind::Log:
      if (in_fn_error("log")) break;
      check_log(s);
      break;
    case StmtKind::Model: {
      if (in_fn_error("model")) break;
      Context c = cx;
      c.in_model = true;
      ContextGuard g(*this, c);
      check_block(s.body);
      break;
    }
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
    std::string extra =
        root->kind == VarKind::Output ? "; the decision is set with decide(...) (declare 'output var' for a value that changes)" : "";
    D.error("assign-to-immutable", s.target->range,
            std::string("cannot assign to ") + kind_noun(root->kind) + " '" + root->name + "'" + extra);
    check(*s.value, nullptr);
    return;
  }
  if (cx.in_model && cx.where == Where::RoundCode && !root->model) {
    D.error("model-code-writes-state", s.target->range,
            "model code cannot assign '" + root->name + "', which replicas have: they never run model code; "
            "declare it 'model var' or assign it outside the model block");
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
