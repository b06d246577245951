// test_sema.cpp: unit tests of name resolution and type checking.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "frontend_helpers.h"

using namespace psync;
using namespace psync::test;

TEST_CASE("the examples type-check cleanly") {
  for (const char* name : {"one_third_rule", "last_voting"}) {
    std::ifstream in(std::string(PSYNC_SOURCE_DIR) + "/examples/" + name + ".psync");
    std::stringstream buf;
    buf << in.rdbuf();
    auto r = check_text(buf.str());
    INFO(name, "\n", r->diags.text);
    CHECK(r->ok);
    CHECK(r->diags.diagnostics.empty());
  }
}

TEST_CASE("sends of a round agree on one message type") {
  auto r = check_text(protocol_with_update("", "", "send x to all\n  send true to me"));
  CHECK(r->has_error("send-type-mismatch"));
}

TEST_CASE("the mailbox has the round's message type") {
  auto r = check_text(protocol_with_update("var b: bool = false", "b = mbox[me]"));
  CHECK(r->has_error("type-mismatch"));
  auto ok = check_text(protocol_with_update("", "x = mbox[me]"));
  CHECK(ok->ok);
}

// ---------------------------------------------------------------- helpers

namespace {

// The first round of the checked program.
const Round& first_round(const Checked& r) { return r.c->program->rounds.at(0); }

// Depth-first search for the first expression satisfying `pred`.
template <typename Pred>
const Expr* find_expr(const Expr& e, Pred pred) {
  if (pred(e)) return &e;
  for (auto& a : e.args)
    if (const Expr* f = find_expr(*a, pred)) return f;
  return nullptr;
}

template <typename Pred>
const Expr* find_in_stmts(const std::vector<StmtPtr>& body, Pred pred) {
  for (auto& s : body) {
    for (const Expr* e : {s->cond.get(), s->range_end.get(), s->target.get(), s->value.get()})
      if (e)
        if (const Expr* f = find_expr(*e, pred)) return f;
    if (s->var && s->var->init)
      if (const Expr* f = find_expr(*s->var->init, pred)) return f;
    if (const Expr* f = find_in_stmts(s->body, pred)) return f;
    if (const Expr* f = find_in_stmts(s->else_body, pred)) return f;
  }
  return nullptr;
}

// The first expression of the update of the first round calling builtin `b`.
const Expr* find_builtin(const Checked& r, Builtin b) {
  return find_in_stmts(first_round(r).update->body, [&](const Expr& e) { return e.builtin == b; });
}

int count_id(const Checked& r, const std::string& id) {
  int k = 0;
  for (auto& d : r.diags.diagnostics) k += d.id == id;
  return k;
}

}  // namespace

// ---------------------------------------------------------------- errors

TEST_CASE("undeclared names, with a suggestion for near misses") {
  auto r = check_text(protocol_with_update("", "    x = inut + 1"));
  REQUIRE(r->has_error("undeclared-name"));
  CHECK(r->diags.diagnostics[0].message.find("did you mean 'init'") != std::string::npos);
  auto f = check_text(protocol_with_update("", "    x = frobnicate(1)"));
  CHECK(f->has_error("undeclared-function"));
}

TEST_CASE("redefinitions carry a note pointing at the first definition") {
  auto r = check_text(protocol_with_update("var x: bool = true", ""));
  REQUIRE(r->has_error("redefinition"));
  const Diagnostic* d = nullptr;
  for (auto& x : r->diags.diagnostics)
    if (x.id == "redefinition") d = &x;
  REQUIRE(d);
  REQUIRE(d->notes.size() == 1);
  CHECK(d->notes[0].severity == Severity::Note);
  CHECK(d->notes[0].range.begin < d->range.begin);
}

TEST_CASE("decide takes the output's type and needs an output") {
  CHECK(check_text(protocol_with_update("", "    decide(true)"))->has_error("type-mismatch"));
  CHECK(check_text(protocol_with_update("", "    decide(x)"))->ok);
  auto r = check_text("protocol T\ninput init: int\nvar x: int = init\nround a {\n  send x to all\n  update(mbox) { decide(x) }\n}\n");
  CHECK(r->has_error("decide-without-output"));
}

TEST_CASE("go is only allowed in event rounds") {
  CHECK(check_text(protocol_with_update("", "    go"))->has_error("go-outside-event-round"));
  auto ok = check_text(
      "protocol T\ninput init: int\noutput decision: int\nvar x: int = init\nround a {\n  send x to all\n"
      "  receive(s, m) { x = m\n go }\n  finish(t) { if t { go } }\n}\n");
  INFO(ok->diags.text);
  CHECK(ok->ok);
}

TEST_CASE("a round is either closed or an event round") {
  auto r = check_text(
      "protocol T\ninput init: int\noutput decision: int\nvar x: int = init\nround a {\n  send x to all\n"
      "  update(mbox) { x = 1 }\n  receive(s, m) { x = m }\n}\n");
  CHECK(r->has_error("mixed-round"));
}

TEST_CASE("receive's message parameter has the round's message type") {
  auto r = check_text(
      "protocol T\ninput init: int\noutput decision: int\nvar x: int = init\nvar b: bool = false\nround a {\n"
      "  send x to all\n  receive(s, m) { b = m }\n}\n");
  CHECK(r->has_error("type-mismatch"));
}

TEST_CASE("specifications read state only through quantified processes") {
  auto base = protocol_with_update("", "    x = mbox.size");
  CHECK(check_text(base + "invariant i: forall p: x > 0\n")->has_error("spec-reads-unbound-state"));
  CHECK(check_text(base + "invariant i: forall p: p.decided ==> decided\n")->has_error("spec-reads-unbound-state"));
  CHECK(check_text(base + "invariant i: forall p: me == p\n")->has_error("me-in-spec"));
  CHECK(check_text(base + "invariant i: forall p: p.nope > 0\n")->has_error("unknown-process-field"));
  CHECK(check_text(base + "invariant i: forall p: p.x >= 0 || p.init < 0\n")->ok);
}

TEST_CASE("old() only in properties, ho()/uniform only in assume and liveness predicates") {
  auto base = protocol_with_update("", "    x = mbox.size");
  CHECK(check_text(base + "invariant i: forall p: old(p.x) <= p.x\n")->has_error("old-outside-property"));
  CHECK(check_text(base + "property i: forall p: old(old(p.x)) <= p.x\n")->has_error("nested-old"));
  CHECK(check_text(base + "property i: forall p: old(p.x) <= p.x\n")->ok);
  CHECK(check_text(base + "invariant i: forall p: ho(p).size > 0\n")->has_error("ho-outside-predicate"));
  CHECK(check_text(protocol_with_update("", "    if uniform { x = 1 }"))->has_error("ho-outside-predicate"));
  CHECK(check_text(base + "assume a: forall p, q: ho(p).inter(ho(q)).size > 0\n")->ok);
  CHECK(check_text(base + "liveness l: after 2 rounds where uniform && ho_size > n / 2: forall p: p.decided\n")->ok);
}

TEST_CASE("quantifiers only in specifications") {
  CHECK(check_text(protocol_with_update("", "    if forall p: true { x = 1 }"))->has_error("quantifier-outside-spec"));
  CHECK(check_text(protocol_with_update("let a: bool = exists p: true", "    x = a ? 1 : 0"))
            ->has_error("quantifier-outside-spec"));
}

TEST_CASE("lambdas: only as mailbox-operation arguments, with the right arity and body type") {
  CHECK(check_text(protocol_with_update("", "    let f = m => m\n    x = 1"))->has_error("lambda-outside-mailbox-op"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.count((a, b) => a > b)"))->has_error("lambda-arity"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.count(m => m + 1)"))->has_error("type-mismatch"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.filter(3).size"))->has_error("expected-lambda"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.fold(0, (acc, m) => acc > m)"))->has_error("type-mismatch"));
}

TEST_CASE("options: none needs a type from context, get_or takes the element type") {
  CHECK(check_text(protocol_with_update("", "    let v = none\n    x = 1"))->has_error("cannot-infer-none"));
  CHECK(check_text(protocol_with_update("var o: int? = none", "    x = o.get_or(true)"))->has_error("type-mismatch"));
  CHECK(check_text(protocol_with_update("var o: int? = none", "    x = o.value"))->has_error("unknown-member"));
  CHECK(check_text(protocol_with_update("var o: int?? = none", "    x = 1"))->has_error("nested-option"));
  auto ok = check_text(protocol_with_update("var o: int? = none", "    o = some(x)\n    x = o.get_or(0)"));
  INFO(ok->diags.text);
  CHECK(ok->ok);
}

TEST_CASE("records: unknown, missing and duplicate fields") {
  const std::string ty = "type Vote = { v: int, ts: int }\n";
  CHECK(check_text(protocol_with_update(ty + "var l: Vote = Vote { v: 0, ts: 0 }", "    x = l.phase"))
            ->has_error("unknown-field"));
  CHECK(check_text(protocol_with_update(ty + "var l: Vote = Vote { v: 0 }", "    x = l.v"))->has_error("missing-field"));
  CHECK(check_text(protocol_with_update(ty + "var l: Vote = Vote { v: 0, v: 1, ts: 0 }", "    x = l.v"))
            ->has_error("duplicate-field"));
  CHECK(check_text(protocol_with_update(ty + "var l: Vote = Vote { v: 0, ts: 0, stamp: 1 }", "    x = l.v"))
            ->has_error("unknown-field"));
  CHECK(check_text(protocol_with_update("type W = { v: int, v: bool }", "    x = 1"))->has_error("duplicate-field"));
  CHECK(check_text(protocol_with_update("var q: int = Point { a: 1 }", "    x = q"))->has_error("unknown-type"));
}

TEST_CASE("tuples and arrays") {
  CHECK(check_text(protocol_with_update("", "    x = mbox[me].2", "send (x, 1) to all"))
            ->has_error("tuple-index-out-of-range"));
  CHECK(check_text(protocol_with_update("", "    x = x.0"))->has_error("not-a-tuple"));
  CHECK(check_text(protocol_with_update("var v: [int; k] = [0; n]", "    x = v[me]"))->has_error("array-size-not-n"));
  CHECK(check_text(protocol_with_update("var v: [int; n] = [0; n]", "    x = v[true]"))->has_error("type-mismatch"));
  CHECK(check_text(protocol_with_update("", "    x = x[0]"))->has_error("not-indexable"));
}

TEST_CASE("fns are pure and not recursive") {
  CHECK(check_text(protocol_with_update("fn f(a: int): int = a + init", "    x = f(1)"))->has_error("impure-fn"));
  CHECK(check_text(protocol_with_update("fn f(): pid = me", "    x = 1"))->has_error("impure-fn"));
  CHECK(check_text(protocol_with_update("fn f(k: int): int = k <= 1 ? 1 : k * f(k - 1)", "    x = f(3)"))
            ->has_error("recursive-fn"));
  CHECK(check_text(protocol_with_update("fn f(a: int, b: int): int = a + b", "    x = f(1)"))->has_error("wrong-arity"));
  CHECK(check_text(protocol_with_update("fn f(): bool = coin()", "    x = 1"))->has_error("random-outside-round"));
  auto ok = check_text(protocol_with_update("const k: int = 3\nfn g(a: int): int = a * k\nfn h(a: int): int = g(a) + 1",
                                            "    x = h(x)"));
  INFO(ok->diags.text);
  CHECK(ok->ok);
}

TEST_CASE("assignments to inputs, consts, lets, outputs and loop variables are rejected") {
  CHECK(check_text(protocol_with_update("", "    init = 2"))->has_error("assign-to-immutable"));
  CHECK(check_text(protocol_with_update("const f: int = 1", "    f = 2"))->has_error("assign-to-immutable"));
  CHECK(check_text(protocol_with_update("let t: int = 2 * x", "    t = 3"))->has_error("assign-to-immutable"));
  CHECK(check_text(protocol_with_update("", "    decision = x"))->has_error("assign-to-immutable"));
  CHECK(check_text(protocol_with_update("", "    for p in pids { p = me }"))->has_error("assign-to-immutable"));
  CHECK(check_text(protocol_with_update("", "    me = 1"))->has_error("not-assignable"));
  CHECK(check_text(protocol_with_update("var b: bool = false", "    b += 1\n    x = b ? 1 : 0"))
            ->has_error("type-mismatch"));
}

TEST_CASE("mailbox operations: unknown names, arity, ordered messages") {
  CHECK(check_text(protocol_with_update("", "    x = mbox.median()"))->has_error("unknown-member"));
  CHECK(check_text(protocol_with_update("", "    if mbox.has() { x = 1 }"))->has_error("wrong-arity"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.min().0", "send (x, 1) to all"))->has_error("unordered-message"));
  CHECK(check_text(protocol_with_update("", "    x = mbox.sum()", "send (x, 1) to all"))->has_error("type-mismatch"));
  CHECK(check_text(protocol_with_update("", "    if mbox == mbox { x = 1 }"))->has_error("no-equality"));
}

TEST_CASE("progress clauses are validated") {
  auto with = [](const std::string& progress) {
    return check_text("protocol T\ninput init: int\noutput decision: int\nvar x: int = init\nround a {\n  send x to all\n"
                      "  update(mbox) { x = 1 }\n  progress " + progress + "\n}\n");
  };
  CHECK(with("wait, timeout 10ms")->has_error("wait-and-timeout"));
  CHECK(with("timeout 0ms")->has_error("bad-timeout"));
  CHECK(with("sync 0")->has_error("bad-sync"));
  CHECK(with("strict 0")->has_error("bad-strict-bound"));
  CHECK(with("go when x")->has_error("type-mismatch"));
  auto ok = with("timeout 10ms, go when mbox.size > n / 2, strict 4, sync 2");
  INFO(ok->diags.text);
  CHECK(ok->ok);
}

TEST_CASE("consts are one word, inputs one word or bytes<K>, outputs any value") {
  CHECK(check_text("protocol T\nconst c: (int, int) = (1, 2)\ninput init: int\noutput decision: int\nvar x: int = init\n"
                   "round a {\n  send x to all\n  update(mbox) { x = 1 }\n}\n")
            ->has_error("non-scalar-const"));
  CHECK(check_text("protocol T\ninput init: int?\noutput decision: int\nvar x: int = 0\n"
                   "round a {\n  send x to all\n  update(mbox) { x = 1 }\n}\n")
            ->has_error("non-scalar-input"));
  CHECK(check_text("protocol T\ninput init: int\noutput decision: ()\nvar x: int = init\n"
                   "round a {\n  send x to all\n  update(mbox) { x = 1 }\n}\n")
            ->has_error("non-scalar-output"));
  CHECK(check_text("protocol T\ninput init: bytes<8>\noutput decision: [int; n]\nvar x: int = 0\n"
                   "round a {\n  send x to all\n  update(mbox) { x = 1 }\n}\n")
            ->ok);
  CHECK(check_text("protocol T\ninput init: set<pid>\noutput decision: pid\nvar x: int = 0\n"
                   "round a {\n  send x to all\n  update(mbox) { x = 1 }\n}\n")
            ->ok);
}

TEST_CASE("reserved names, overflowing literals, missing rounds") {
  CHECK(check_text(protocol_with_update("var phase: int = 0", "    x = 1"))->has_error("reserved-name"));
  CHECK(check_text(protocol_with_update("fn coin(): bool = true", "    x = 1"))->has_error("reserved-name"));
  CHECK(check_text(protocol_with_update("", "    x = 9223372036854775808"))->has_error("integer-overflow"));
  CHECK(check_text(protocol_with_update("", "    x = -9223372036854775808"))->ok);
  CHECK(check_text("protocol T\ninput init: int\noutput decision: int\n")->has_error("no-rounds"));
}

TEST_CASE("every error of a file is reported in one run") {
  auto r = check_text(protocol_with_update("var flag: bool = 3", "    x = true\n    flag += 1\n    decide(flag)\n    go"));
  CHECK(count_id(*r, "type-mismatch") == 4);
  CHECK(r->has_error("go-outside-event-round"));
  CHECK(r->errors() == 5);
}

TEST_CASE("unused variables are warnings, not errors") {
  auto r = check_text(protocol_with_update("var spare: int = 0\nvar _quiet: int = 0", "    let tmp = 1\n    x = 2"));
  CHECK(r->ok);
  CHECK(r->errors() == 0);
  CHECK(count_id(*r, "unused-variable") == 2);
  for (auto& d : r->diags.diagnostics) CHECK(d.message.find("_quiet") == std::string::npos);
}

// ---------------------------------------------------------------- positive: the typed tree

TEST_CASE("names resolve to their declaration kinds") {
  auto r = check_text(
      "protocol T\nconst k: int = 2\ninput init: int\noutput decision: int\nvar x: int = init\nlet twice: int = k * x\n"
      "round a {\n  var seen: int = 0\n  send x to all\n  update(mbox) {\n    let l = twice\n    for p in mbox.senders { seen += 1 }\n"
      "    x = l + seen + k + mbox.size\n  }\n}\n");
  INFO(r->diags.text);
  REQUIRE(r->ok);
  const Program& p = *r->c->program;
  CHECK(p.consts.at(0)->kind == VarKind::Const);
  CHECK(p.vars.at(0)->init->decl == p.inputs.at(0).get());
  CHECK(p.vars.at(0)->init->decl->kind == VarKind::Input);
  const Round& rd = first_round(*r);
  CHECK(rd.vars.at(0)->kind == VarKind::RoundVar);
  CHECK(rd.update->params.at(0)->kind == VarKind::Mailbox);
  // x = l + seen + k + mbox.size
  const Stmt& assign = *rd.update->body.at(2);
  REQUIRE(assign.kind == StmtKind::Assign);
  CHECK(assign.target->decl->kind == VarKind::Var);
  std::vector<VarKind> kinds;
  find_expr(*assign.value, [&](const Expr& e) {
    if (e.kind == ExprKind::Name && e.decl) kinds.push_back(e.decl->kind);
    return false;
  });
  CHECK(kinds == std::vector<VarKind>{VarKind::Local, VarKind::RoundVar, VarKind::Const, VarKind::Mailbox});
  const Stmt& loop = *rd.update->body.at(1);
  CHECK(loop.var->kind == VarKind::LoopVar);
  CHECK(loop.var->type == r->c->types.pid());
  // let twice reads x as a Let-kind global.
  CHECK(p.lets.at(0)->kind == VarKind::Let);
  CHECK(rd.update->body.at(0)->var->init->decl == p.lets.at(0).get());
}

TEST_CASE("rounds get their message types from their sends") {
  auto r = check_text(
      "protocol T\ninput init: int\noutput decision: int\nvar x: int = init\nvar ts: int = 0\n"
      "round a {\n  send (x, ts) to all\n  update(mbox) { x = mbox.max_by(m => m.1).0 }\n}\n"
      "round b {\n  send me to all\n  update(mbox) { x = mbox.size }\n}\n"
      "round c {\n  update(mbox) { x = mbox.size }\n}\n"
      "round d {\n  send true to all if x > 0\n  receive(s, m) { if m { x = 1 } }\n}\n");
  INFO(r->diags.text);
  REQUIRE(r->ok);
  TypeContext& T = r->c->types;
  auto& rounds = r->c->program->rounds;
  REQUIRE(rounds.size() == 4);
  CHECK(rounds[0].message_type == T.tuple({T.int_(), T.int_()}));
  CHECK(rounds[0].update->params[0]->type == T.mailbox(T.tuple({T.int_(), T.int_()})));
  CHECK(rounds[1].message_type == T.pid());
  CHECK(rounds[2].message_type == T.unit());
  CHECK(rounds[3].message_type == T.bool_());
  CHECK(rounds[3].is_event());
  CHECK(rounds[3].receive->params[0]->type == T.pid());
  CHECK(rounds[3].receive->params[1]->type == T.bool_());
  for (size_t i = 0; i < rounds.size(); ++i) CHECK(rounds[i].index == static_cast<int>(i));
}

TEST_CASE("mailbox operations get their builtins and result types") {
  auto r = check_text(protocol_with_update(
      "",
      "    let a = mbox.size\n    let b = mbox.has(me)\n    let c = mbox.senders\n    let d = mbox.count(x)\n"
      "    let e = mbox.count(m => m > 0)\n    let f = mbox.filter(m => m > 0)\n    let g = mbox.min()\n"
      "    let h = mbox.most_frequent()\n    let i = mbox.fold(true, (acc, m) => acc && m > 0)\n    let j = mbox[me]\n"
      "    let k = mbox.sum()\n    let l = mbox.exists(m => m == 0)\n"
      "    x = a + d + e + f.size + g + h + j + k\n    if b && i && l && c.has(me) { x = 0 }"));
  INFO(r->diags.text);
  REQUIRE(r->ok);
  TypeContext& T = r->c->types;
  struct Want {
    Builtin b;
    const Type* t;
  };
  for (Want w : {Want{Builtin::MboxSize, T.int_()}, Want{Builtin::MboxHas, T.bool_()},
                 Want{Builtin::MboxSenders, T.pid_set()}, Want{Builtin::MboxCount, T.int_()},
                 Want{Builtin::MboxCountIf, T.int_()}, Want{Builtin::MboxFilter, T.mailbox(T.int_())},
                 Want{Builtin::MboxMin, T.int_()}, Want{Builtin::MboxMostFrequent, T.int_()},
                 Want{Builtin::MboxFold, T.bool_()}, Want{Builtin::MboxGet, T.int_()}, Want{Builtin::MboxSum, T.int_()},
                 Want{Builtin::MboxExists, T.bool_()}}) {
    const Expr* e = find_builtin(*r, w.b);
    INFO(builtin_name(w.b));
    REQUIRE(e);
    CHECK(e->type == w.t);
  }
  // Lambda parameters take the message type.
  const Expr* lam = find_in_stmts(first_round(*r).update->body, [](const Expr& e) { return e.kind == ExprKind::Lambda; });
  REQUIRE(lam);
  CHECK(lam->params.at(0)->type == T.int_());
  CHECK(lam->params.at(0)->kind == VarKind::LambdaParam);
}

TEST_CASE("builtin names and functions resolve") {
  auto r = check_text(protocol_with_update(
      "", "    if coin() { x = random(n) + r + phase + abs(x) + min(x, 1) + max(x, 2) }\n    let s = set(me, 0)\n"
          "    if s.has(me) && pids.size == n { x = 0 }"));
  INFO(r->diags.text);
  REQUIRE(r->ok);
  TypeContext& T = r->c->types;
  for (Builtin b : {Builtin::Coin, Builtin::Random, Builtin::Round, Builtin::Phase, Builtin::Abs, Builtin::Min,
                    Builtin::Max, Builtin::Set, Builtin::Me, Builtin::N, Builtin::Pids, Builtin::SetHas,
                    Builtin::SetSize}) {
    INFO(builtin_name(b));
    CHECK(find_builtin(*r, b) != nullptr);
  }
  CHECK(find_builtin(*r, Builtin::Coin)->type == T.bool_());
  CHECK(find_builtin(*r, Builtin::Set)->type == T.pid_set());
  CHECK(find_builtin(*r, Builtin::Me)->type == T.pid());
  CHECK(find_builtin(*r, Builtin::Pids)->type == T.pid_set());
}

TEST_CASE("an int used as a pid gets a to_pid conversion") {
  auto r = check_text(protocol_with_update("let coord: pid = phase % n", "    if mbox.has(0) { x = mbox[x] }",
                                           "send x to (me + 1)"));
  INFO(r->diags.text);
  REQUIRE(r->ok);
  const Program& p = *r->c->program;
  CHECK(p.lets.at(0)->init->builtin == Builtin::ToPid);
  CHECK(p.lets.at(0)->init->type == r->c->types.pid());
  CHECK(p.lets.at(0)->init->args.at(0)->type == r->c->types.int_());
  const Send& s = first_round(*r).sends.at(0);
  REQUIRE(s.dest_expr);
  CHECK(s.dest_expr->builtin == Builtin::ToPid);
  const Expr* has = find_builtin(*r, Builtin::MboxHas);
  REQUIRE(has);
  CHECK(has->args.at(1)->builtin == Builtin::ToPid);
  const Expr* get = find_builtin(*r, Builtin::MboxGet);
  REQUIRE(get);
  CHECK(get->args.at(1)->builtin == Builtin::ToPid);
}

TEST_CASE("specifications: quantified processes and process fields") {
  auto r = check_text(protocol_with_update("", "    x = mbox.size") +
                      "invariant agree: forall p, q: p.decided && q.decided ==> p.decision == q.decision\n"
                      "property keep: forall p: old(p.decided) ==> p.decided\n");
  INFO(r->diags.text);
  REQUIRE(r->ok);
  const Program& p = *r->c->program;
  REQUIRE(p.specs.size() == 2);
  CHECK(p.specs[0].kind == SpecKind::Invariant);
  CHECK(p.specs[1].kind == SpecKind::Property);
  const Expr& q = *p.specs[0].body;
  REQUIRE(q.kind == ExprKind::Quant);
  CHECK(q.bool_value);  // forall
  REQUIRE(q.params.size() == 2);
  CHECK(q.params[0]->kind == VarKind::QuantVar);
  const Expr* field = find_expr(q, [](const Expr& e) { return e.builtin == Builtin::ProcField; });
  REQUIRE(field);
  CHECK(field->decl == p.outputs.at(0).get());
  CHECK(find_expr(q, [](const Expr& e) { return e.builtin == Builtin::Decided; }) != nullptr);
  CHECK(find_expr(*p.specs[1].body, [](const Expr& e) { return e.kind == ExprKind::Old; })->type ==
        r->c->types.bool_());
}

TEST_CASE("records are reordered into the type's field order") {
  auto r = check_text(protocol_with_update("type Vote = { v: int, ts: int }\nvar l: Vote = Vote { ts: 7, v: init }",
                                           "    l = { ts: phase, v: x }\n    x = l.ts"));
  INFO(r->diags.text);
  REQUIRE(r->ok);
  const Expr& lit = *r->c->program->vars.at(1)->init;
  REQUIRE(lit.kind == ExprKind::Record);
  CHECK(lit.field_names == std::vector<std::string>{"v", "ts"});
  CHECK(lit.args.at(0)->kind == ExprKind::Name);
  CHECK(lit.args.at(1)->int_value == 7);
  CHECK(lit.type->field_index("ts") == 1);
}

// ---------------------------------------------------------------- built-ins and traits

#include <type_traits>

#include "sema/traits.h"

namespace {

ProgramTraits traits_of(const std::string& text) {
  auto r = check_text(text);
  INFO(r->diags.text);
  REQUIRE(r->ok);
  return analyze_traits(*r->c->program, r->c->sources);
}

// A one-round protocol over int messages whose update runs `body`.
std::string int_protocol(const std::string& body, const std::string& decls = "") {
  return "protocol S\ninput init: int\noutput decision: int\nvar x: int = init\n" + decls +
         "\nround a {\n  send x to all\n  update(mbox) {\n    " + body + "\n  }\n}\n";
}

}  // namespace

TEST_CASE("builtins.def: lookups by form and spelling, and the spellings that messages list") {
  CHECK(find_builtin(BuiltinForm::Name, "me") == Builtin::Me);
  CHECK(find_builtin(BuiltinForm::Fn, "min") == Builtin::Min);
  CHECK(find_builtin(BuiltinForm::Mailbox, "min") == Builtin::MboxMin);
  CHECK(find_builtin(BuiltinForm::Mailbox, "count") == Builtin::MboxCount);  // the first row; the check picks count_if
  CHECK(find_builtin(BuiltinForm::Set, "min") == Builtin::SetMin);
  CHECK(find_builtin(BuiltinForm::Set, "count") == Builtin::None);
  CHECK(std::string(builtin_name(Builtin::MboxCountIf)) == "mbox.count_if");
  CHECK(builtin_spellings(BuiltinForm::Set) == "has, size, with, without, union, inter, is_empty, minus, min, max");
  CHECK(builtin_spellings(BuiltinForm::Mailbox) ==
        "size, has, senders, count, exists, all, filter, min, max, min_by, max_by, sum, most_frequent, "
        "min_most_frequent, fold");
  for (int b = 1; b <= static_cast<int>(Builtin::ToPid); ++b) {
    const BuiltinInfo& info = builtin_info(static_cast<Builtin>(b));
    INFO(std::string(info.dump_name));
    CHECK((info.symmetry == BuiltinSymmetry::Breaks) == (info.why[0] != '\0'));
  }
}

TEST_CASE("symmetry: a mailbox operation that reads the order of senders turns symmetry reduction off") {
  // min_most_frequent breaks ties by value, most_frequent by sender id.
  ProgramTraits sym = traits_of(int_protocol("x = mbox.min_most_frequent()"));
  CHECK(sym.symmetric);
  struct Case {
    const char* body;
    const char* reason;
  };
  for (Case c : {Case{"x = mbox.most_frequent()", "most_frequent breaks ties by sender id"},
                 Case{"x = mbox.min_by(m => m % 2)", "min_by/max_by break ties by sender id"},
                 Case{"x = mbox.max_by(m => m % 2)", "min_by/max_by break ties by sender id"},
                 Case{"x = mbox.fold(0, (acc, m) => acc * 2 + m)", "fold visits messages in sender order"},
                 Case{"x = me", "stores a process id in the state ('x')"}}) {
    ProgramTraits t = traits_of(int_protocol(c.body));
    INFO(std::string(c.body), " -> ", t.asymmetry_reason);
    CHECK_FALSE(t.symmetric);
    CHECK(t.asymmetry_reason.find(c.reason) == 0);
    CHECK(t.asymmetry_reason.find("(test.psync:9)") != std::string::npos);
  }
  // Order-blind operations keep it on.
  for (const char* body : {"x = mbox.sum()", "x = mbox.count(m => m > 0)", "x = mbox.min()",
                           "if mbox.exists(m => m > x) { x = mbox.max() }", "x = mbox.filter(m => m > 0).size"}) {
    INFO(std::string(body));
    CHECK(traits_of(int_protocol(body)).symmetric);
  }
}

TEST_CASE("symmetry: the trait walker follows builtins.def for every built-in") {
  // One synthetic invariant per built-in, typed int and without arguments,
  // so that only the table's verdict (not the process-id rules) decides.
  TypeContext types;
  SourceManager sources;
  for (int b = 1; b <= static_cast<int>(Builtin::ToPid); ++b) {
    Builtin id = static_cast<Builtin>(b);
    const BuiltinInfo& info = builtin_info(id);
    INFO(std::string(info.dump_name));
    Program p;
    Spec spec;
    spec.kind = SpecKind::Invariant;
    spec.body = std::make_unique<Expr>();
    spec.body->kind = info.form == BuiltinForm::Name ? ExprKind::Name : ExprKind::Call;
    spec.body->builtin = id;
    spec.body->type = types.int_();
    p.specs.push_back(std::move(spec));
    ProgramTraits t = analyze_traits(p, sources);
    CHECK(t.symmetric == (info.symmetry != BuiltinSymmetry::Breaks));
    if (!t.symmetric) CHECK(t.asymmetry_reason == info.why);
    CHECK(t.reads_round_number == (info.symmetry == BuiltinSymmetry::RoundNumber));
  }
}

TEST_CASE("symmetry: a specification or code that names particular processes turns it off") {
  // Each of these tells processes apart; the reason names the file and line.
  struct Case {
    const char* decls;
    const char* body;
    const char* reason;
  };
  for (Case c : {Case{"invariant first: forall p: p == 0 ==> p.x == p.init", "x = mbox.min()", "compares a process id with a fixed value"},
                 Case{"invariant ordered: forall p, q: p < q ==> p.x <= q.x", "x = mbox.min()", "orders process ids"},
                 Case{"invariant num: forall p: p.x + p >= 0", "x = mbox.min()", "uses a process id as a number"},
                 Case{"var leader: pid = me", "x = mbox.min()", "stores a process id in the state"},
                 Case{"", "x = mbox.min() + me", "uses a process id as a number"},
                 Case{"", "if me < 1 { x = mbox.min() }", "orders process ids"},
                 Case{"var seen: set<pid> = pids", "seen = mbox.senders", "stores a process id in the state"},
                 Case{"var heard: [bool; n] = [false; n]", "heard[me] = true", "indexes an array by process id"},
                 Case{"const boss: pid = 1", "if mbox.has(boss) { x = mbox[boss] }", "names a particular process"}}) {
    ProgramTraits t = traits_of(int_protocol(c.body, c.decls));
    INFO(std::string(c.decls), " / ", std::string(c.body), " -> ", t.asymmetry_reason);
    CHECK_FALSE(t.symmetric);
    CHECK(t.asymmetry_reason.find(c.reason) == 0);
    CHECK(t.asymmetry_reason.find("(test.psync:") != std::string::npos);
  }
  // Process ids used in ways that commute with renaming keep it on.
  for (Case c : {Case{"invariant agree: forall p, q: p.decided && q.decided ==> p.decision == q.decision", "x = mbox.min()", ""},
                 Case{"invariant distinct: forall p, q: p != q ==> p.x == p.x", "x = mbox.min()", ""},
                 Case{"", "if mbox.has(me) { x = mbox[me] }", ""},
                 Case{"", "if mbox.senders.has(me) && mbox.senders.size > 1 { x = mbox.max() }", ""},
                 Case{"assume heard: forall p, q: ho(p).has(q) || ho(q).has(p)", "x = mbox.min()", ""}}) {
    ProgramTraits t = traits_of(int_protocol(c.body, c.decls));
    INFO(std::string(c.decls), " / ", std::string(c.body), " -> ", t.asymmetry_reason);
    CHECK(t.symmetric);
  }
}

TEST_CASE("symmetry and the round number follow only code that can run: unused fns and lets do not count") {
  auto with_import = [](const std::string& decls, const std::string& body) {
    return "protocol S\nimport predicates\ninput init: int\noutput decision: int\nvar x: int = init\n" + decls +
           "\nround a {\n  send x to all\n  update(mbox) {\n    " + body + "\n  }\n}\n";
  };
  // stdlib/predicates.psync has fns over set<pid>; importing it unused
  // changes nothing, and neither does an unused let reading phase or me.
  ProgramTraits imported = traits_of(with_import("let late: bool = x > phase\nlet who: pid = me", "x = mbox.min()"));
  CHECK(imported.symmetric);
  CHECK_FALSE(imported.reads_round_number);
  // Used, they count.
  ProgramTraits used = traits_of(with_import("assume everyone_heard: forall p: everyone(ho(p))", "x = mbox.min()"));
  CHECK(used.symmetric);  // everyone(s) = s == pids commutes with renaming
  ProgramTraits round = traits_of(with_import("let late: bool = x > phase", "if late { x = mbox.min() }"));
  CHECK(round.reads_round_number);
  ProgramTraits via_fn =
      traits_of(int_protocol("x = mbox.min()", "fn first(p: pid): bool = p == 0\ninvariant i: forall p: first(p) ==> p.x >= 0"));
  CHECK_FALSE(via_fn.symmetric);
  CHECK(via_fn.asymmetry_reason.find("compares a process id with a fixed value (test.psync:") == 0);
}

TEST_CASE("a cycle of lets is reported once, at the let that closes it") {
  auto two = check_text(int_protocol("x = a", "let a: int = b + 1\nlet b: int = a - 1"));
  CHECK(two->errors() == 1);
  CHECK(two->has_error("recursive-let"));
  auto self = check_text(int_protocol("x = a", "let a: int = a"));
  CHECK(self->errors() == 1);
  auto three = check_text(int_protocol("x = a", "let a: int = b\nlet b: int = c\nlet c: int = a\nlet d: int = a"));
  CHECK(three->errors() == 1);
  auto chain = check_text(int_protocol("x = a", "let a: int = b\nlet b: int = 1"));
  CHECK(chain->ok);
}

// Types exist only in a TypeContext, which interns them: a Type made
// elsewhere (lowering used to make some) would break pointer equality.
static_assert(!std::is_default_constructible_v<Type>);
static_assert(!std::is_copy_constructible_v<Type>);
static_assert(!std::is_move_constructible_v<Type>);
