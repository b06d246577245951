// test_codegen.cpp: JIT-compile protocols and run the generated code in
// lock step (tests/unit/lockstep.h), asserting decisions and values.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "codegen/codegen.h"
#include "frontend_helpers.h"
#include "lockstep.h"

using namespace psync;
using namespace psync::test;

namespace {

struct Compiled {
  std::unique_ptr<Checked> front;
  std::unique_ptr<JitProtocol> jit;
  const psync_protocol_desc& d() const { return *jit->descriptor(); }
};

Compiled compile_text(const std::string& text, int opt = 2) {
  Compiled c;
  c.front = check_text(text);
  INFO(c.front->diags.text);
  REQUIRE(c.front->ok);
  std::string error;
  c.jit = jit_compile(*c.front->c->program, c.front->c->sources, opt, error);
  INFO(error);
  REQUIRE(c.jit);
  return c;
}

std::string read_example(const std::string& name) {
  std::ifstream in(std::string(PSYNC_SOURCE_DIR) + "/examples/" + name + ".psync");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A one-round protocol that decides `expr` (over input k and the mailbox of
// the ints everyone sent: each process sends `msg`).
int64_t decide_value(const std::string& expr, std::vector<int64_t> ks, int p = 0, const std::string& msg = "k",
                     const std::string& decls = "", Lockstep::HoFn ho = nullptr) {
  std::string text = "protocol E\ninput k: int\noutput decision: int\n" + decls +
                     "\nround a {\n  send " + msg + " to all\n  update(mbox) { decide(" + expr + ") }\n}\n";
  Compiled c = compile_text(text);
  std::vector<std::vector<int64_t>> inputs;
  for (auto k : ks) inputs.push_back({k});
  Lockstep ls(c.d(), static_cast<int>(ks.size()), inputs);
  ls.step(ho);
  REQUIRE(ls.decided(p));
  return ls.decision(p);
}

}  // namespace

TEST_CASE("descriptor: name, rounds, inputs, output, specs") {
  Compiled c = compile_text(read_example("one_third_rule"));
  const psync_protocol_desc& d = c.d();
  CHECK(d.abi_version == PSYNC_ABI_VERSION);
  CHECK(std::string(d.name) == "OneThirdRule");
  CHECK(d.num_rounds == 1);
  CHECK(std::string(d.rounds[0].name) == "exchange");
  CHECK(d.rounds[0].msg_size(5) == 8);
  CHECK(d.num_inputs == 1);
  CHECK(std::string(d.inputs[0].name) == "init");
  CHECK(d.inputs[0].offset == 32);  // after the four header words
  CHECK(std::string(d.output.name) == "decision");
  CHECK(d.output.kind == PSYNC_KIND_INT);
  CHECK(d.state_size(5) == 8 * 7);  // header (4 words), init, decision, x
  CHECK(d.num_specs == 3);  // agreement, validity (stdlib/consensus), termination
  CHECK(d.fingerprint != 0);
  // print_msg (version 4): one message as its type prints; the length it
  // needed, NUL-terminated, cut to fit.
  int64_t msg = 17;
  psync_env e{};
  e.n = 5;
  char buf[8];
  CHECK(d.rounds[0].print_msg(&msg, &e, buf, sizeof buf) == 2);
  CHECK(std::string(buf) == "17");
  CHECK(d.rounds[0].print_msg(&msg, &e, buf, 2) == 2);
  CHECK(std::string(buf) == "1");
}

TEST_CASE("OneThirdRule with inputs 1,1,2,1,1 decides 1 everywhere") {
  for (int opt : {0, 2}) {
    Compiled c = compile_text(read_example("one_third_rule"), opt);
    Lockstep ls(c.d(), 5, {{1}, {1}, {2}, {1}, {1}});
    ls.step();
    for (int p = 0; p < 5; ++p) {
      CHECK(ls.decided(p));
      CHECK(ls.decision(p) == 1);
    }
    CHECK(ls.decided_calls.size() == 5);
    CHECK(ls.eval_spec("agreement") == 1);
    CHECK(ls.eval_spec("validity") == 1);
    CHECK(ls.eval_spec("termination") == 1);
    CHECK(ls.print(2) == "init=2 decided=true decision=1 x=1");
  }
}

TEST_CASE("OneThirdRule: hearing from only 2n/3 processes never decides") {
  Compiled c = compile_text(read_example("one_third_rule"));
  Lockstep ls(c.d(), 6, {{1}, {1}, {1}, {1}, {1}, {1}});
  // Each process hears itself and the next three: 4 = 2*6/3, not more.
  auto ho = [](int64_t, int p) -> uint64_t {
    uint64_t s = 0;
    for (int k = 0; k < 4; ++k) s |= 1ull << ((p + k) % 6);
    return s;
  };
  ls.run(10, ho);
  for (int p = 0; p < 6; ++p) CHECK_FALSE(ls.decided(p));
  CHECK(ls.eval_spec("termination") == 0);
  CHECK(ls.eval_spec("agreement") == 1);
}

TEST_CASE("OneThirdRule: a majority split still converges once enough is heard") {
  Compiled c = compile_text(read_example("one_third_rule"));
  Lockstep ls(c.d(), 4, {{0}, {1}, {0}, {1}});
  ls.step();  // everyone adopts the smallest most frequent value, 0
  for (int p = 0; p < 4; ++p) CHECK_FALSE(ls.decided(p));
  ls.step();
  for (int p = 0; p < 4; ++p) {
    CHECK(ls.decided(p));
    CHECK(ls.decision(p) == 0);
  }
}

TEST_CASE("LastVoting n=3 decides the coordinator's value in one phase") {
  Compiled c = compile_text(read_example("last_voting"));
  CHECK(c.d().num_rounds == 4);
  CHECK((c.d().rounds[0].flags & PSYNC_ROUND_HAS_TIMEOUT) != 0);
  CHECK(c.d().rounds[0].timeout_us == 10000);
  bool has_go_when = c.d().rounds[0].go_when != nullptr;
  CHECK(has_go_when);
  Lockstep ls(c.d(), 3, {{5}, {7}, {9}});
  ls.run(4);
  for (int p = 0; p < 3; ++p) {
    CHECK(ls.decided(p));
    CHECK(ls.decision(p) == 5);
  }
  CHECK(ls.eval_spec("agreement") == 1);
}

TEST_CASE("LastVoting: a silenced coordinator prevents a decision in its phase") {
  Compiled c = compile_text(read_example("last_voting"));
  Lockstep ls(c.d(), 3, {{5}, {7}, {9}});
  // Phase 0's coordinator is process 0: nobody hears it, it hears only itself.
  auto ho = [](int64_t r, int p) -> uint64_t {
    if (r / 4 != 0) return ~0ull;
    return p == 0 ? 1ull : 0b110ull;
  };
  ls.run(4, ho);
  for (int p = 0; p < 3; ++p) CHECK_FALSE(ls.decided(p));
  ls.run(4, ho);  // phase 1, coordinator 1, everything delivered
  for (int p = 0; p < 3; ++p) {
    CHECK(ls.decided(p));
    // All timestamps are still -1, and max_by breaks ties by the lowest
    // sender: the new coordinator proposes process 0's value.
    CHECK(ls.decision(p) == 5);
  }
}

TEST_CASE("LastVoting: go when condition evaluates over the mailbox") {
  Compiled c = compile_text(read_example("last_voting"));
  const psync_round_desc& collect = c.d().rounds[0];
  Lockstep ls(c.d(), 3, {{5}, {7}, {9}});
  std::vector<uint64_t> mbox(1 + 3 * 2, 0);
  psync_env e = ls.env(0);  // process 0 is the coordinator in phase 0
  CHECK(collect.go_when(ls.state(0), &e, mbox.data()) == 0);
  mbox[0] = 0b011;
  CHECK(collect.go_when(ls.state(0), &e, mbox.data()) == 1);
  psync_env e1 = ls.env(1);  // not the coordinator: may always go
  mbox[0] = 0;
  CHECK(collect.go_when(ls.state(1), &e1, mbox.data()) == 1);
}

TEST_CASE("arithmetic: division by zero, overflow, remainder") {
  CHECK(decide_value("10 / k", {0}) == 0);
  CHECK(decide_value("7 % k", {0}) == 7);
  CHECK(decide_value("-7 % k", {2}) == -1);
  CHECK(decide_value("-7 / k", {2}) == -3);
  CHECK(decide_value("(-9223372036854775807 - 1) / k", {-1}) == INT64_MIN);
  CHECK(decide_value("9223372036854775807 + k", {1}) == INT64_MIN);
  CHECK(decide_value("k * k * k", {-3}) == -27);
  CHECK(decide_value("min(k, 3) + max(k, 3) + abs(-k)", {5}) == 13);
  CHECK(decide_value("k > 2 ? 1 : 2", {5}) == 1);
}

TEST_CASE("an int used as a pid is never reduced modulo n: out of range is a counted range event") {
  // A computed index outside 0..n-1 names no process: the mailbox has no
  // message there (zero), header.range_error is set and the hook says where.
  std::string text = "protocol E\ninput k: int\noutput decision: int\n"
                     "round a {\n  send k to all\n  update(mbox) { decide(mbox[k] + 1) }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 3, {{-1}, {4}, {2}});
  ls.step();
  CHECK(ls.decision(0) == 1);
  CHECK(ls.decision(1) == 1);
  CHECK(ls.decision(2) == 3);
  CHECK(ls.header(0).range_error == 1);
  CHECK(ls.header(1).range_error == 1);
  CHECK(ls.header(2).range_error == 0);
  REQUIRE(ls.range_errors.size() == 2);
  INFO(ls.range_errors[0]);
  CHECK(ls.range_errors[0].rfind("-1 ", 0) == 0);
  CHECK(ls.range_errors[0].find("test.psync:6:30: a mailbox index") != std::string::npos);
  CHECK(ls.range_errors[1].rfind("4 ", 0) == 0);
  // A constant out of range is refused at compile time (pid-out-of-range).
  auto bad = check_text("protocol E\ninput k: int\noutput decision: int\n"
                        "round a {\n  send k to all\n  update(mbox) { decide(mbox[-1]) }\n}\n");
  CHECK_FALSE(bad->ok);
  CHECK(bad->diags.text.find("[pid-out-of-range]") != std::string::npos);
}

TEST_CASE("mailbox operations") {
  std::vector<int64_t> ks{4, 1, 4, 2, 1};
  CHECK(decide_value("mbox.size", ks) == 5);
  CHECK(decide_value("mbox.count(4)", ks) == 2);
  CHECK(decide_value("mbox.count(m => m < 3)", ks) == 3);
  CHECK(decide_value("mbox.min()", ks) == 1);
  CHECK(decide_value("mbox.max()", ks) == 4);
  CHECK(decide_value("mbox.sum()", ks) == 12);
  CHECK(decide_value("mbox.sum(m => m * m)", ks) == 38);
  CHECK(decide_value("mbox.filter(m => m != 4).size", ks) == 3);
  CHECK(decide_value("mbox.filter(m => m != 4).max()", ks) == 2);
  CHECK(decide_value("mbox.fold(100, (acc, m) => acc - m)", ks) == 88);
  CHECK(decide_value("mbox.most_frequent()", ks) == 4);       // 4 and 1 tie; sender 0 sent 4
  CHECK(decide_value("mbox.min_most_frequent()", ks) == 1);   // ties go to the smallest value
  CHECK(decide_value("mbox.exists(m => m == 2) ? 1 : 0", ks) == 1);
  CHECK(decide_value("mbox.all(m => m > 0) ? 1 : 0", ks) == 1);
  CHECK(decide_value("mbox.all(m => m > 1) ? 1 : 0", ks) == 0);
  CHECK(decide_value("mbox.senders.size", ks) == 5);
  CHECK(decide_value("mbox.has(3) ? mbox[3] : -1", ks) == 2);
}

TEST_CASE("mailbox operations respect the heard-of set, and empty mailboxes give zero") {
  auto only_1_and_3 = [](int64_t, int) -> uint64_t { return 0b01010; };
  std::vector<int64_t> ks{4, 1, 4, 2, 1};
  CHECK(decide_value("mbox.size", ks, 0, "k", "", only_1_and_3) == 2);
  CHECK(decide_value("mbox.max()", ks, 0, "k", "", only_1_and_3) == 2);
  CHECK(decide_value("mbox.has(0) ? 1 : 0", ks, 0, "k", "", only_1_and_3) == 0);
  CHECK(decide_value("mbox[0]", ks, 0, "k", "", only_1_and_3) == 0);
  auto nobody = [](int64_t, int) -> uint64_t { return 0; };
  CHECK(decide_value("mbox.min() + mbox.max() + mbox.size + 7", ks, 0, "k", "", nobody) == 7);
  CHECK(decide_value("mbox.min_most_frequent()", ks, 0, "k", "", nobody) == 0);
}

TEST_CASE("tuples, records, options and min_by/max_by over composite messages") {
  std::vector<int64_t> ks{3, 9, 5};
  CHECK(decide_value("mbox.max_by(m => m.1).0", ks, 0, "(k, k * 2)") == 9);
  CHECK(decide_value("mbox.min_by(m => m.1).0", ks, 0, "(k, k * 2)") == 3);
  CHECK(decide_value("mbox.max_by(m => m.ts).v", ks, 0, "Vote { v: k, ts: 0 - k }", "type Vote = { v: int, ts: int }") == 3);
  CHECK(decide_value("mbox.count((k, 1))", ks, 0, "(k, 1)") == 1);
  CHECK(decide_value("mbox[1].get_or(0)", ks, 0, "some(k)") == 9);
  CHECK(decide_value("mbox[1].is_some ? 1 : 0", ks, 0, "some(k)") == 1);
  CHECK(decide_value("o.get_or(4) + (o.is_none ? 10 : 0)", ks, 0, "k", "let o: int? = none") == 14);
}

TEST_CASE("sets, arrays, fns, lets and for loops") {
  std::vector<int64_t> ks{1, 2, 3, 4};
  CHECK(decide_value("set(0, 2).with(3).without(0).size", ks) == 2);
  CHECK(decide_value("pids.size + (pids.has(3) ? 100 : 0)", ks) == 104);
  CHECK(decide_value("pids.has(k + 3) ? 1 : 0", ks) == 0);  // 4 names no process at n=4 (never 4 mod 4)
  CHECK(decide_value("set(1).union(set(2)).inter(set(2, 3)).has(2) ? 1 : 0", ks) == 1);
  CHECK(decide_value("twice(k) + 1", ks, 1, "k", "fn twice(a: int): int = 2 * a") == 5);
  CHECK(decide_value("coord + 0", ks, 0, "k", "let coord: pid = 2") == 2);
  std::string decls = "var acc: int = 0\nvar arr: [int; n] = [0; n]\n";
  std::string text = "protocol E\ninput k: int\noutput decision: int\n" + decls +
                     "round a {\n  send k to all\n  update(mbox) {\n"
                     "    for p in mbox.senders { arr[p] = mbox[p] * 10 }\n"
                     "    for i in 0..n { acc += arr[i] }\n"
                     "    decide(acc)\n  }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 4, {{1}, {2}, {3}, {4}});
  ls.step();
  CHECK(ls.decision(2) == 100);
  CHECK(ls.print(2).find("arr=[10,20,30,40]") != std::string::npos);
}

TEST_CASE("a second, different decision is a conflict; the first decision stays") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\n"
                     "round a {\n  send k to all\n  update(mbox) { decide(k) decide(k + r) }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 2, {{7}, {8}});
  ls.step();  // r = 0: same value twice, no conflict
  CHECK(ls.conflicts.empty());
  ls.step();  // r = 1: decide(k) again is fine, decide(k + 1) conflicts
  CHECK(ls.conflicts.size() == 2);
  CHECK(ls.decision(0) == 7);
  CHECK(ls.header(0).conflict == 1);
}

TEST_CASE("coin and random call the driver's hooks; halt stops a process") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\nvar x: int = 0\n"
                     "round a {\n  send k to all\n  update(mbox) { if coin() { x = random(10) } decide(x) if r == 1 { halt } }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 2, {{1}, {2}});
  ls.step();
  CHECK(ls.coin_calls == 2);
  CHECK(ls.random_calls == 2);
  CHECK(ls.decision(0) == 9);
  ls.step();
  CHECK(ls.halted(0));
}

TEST_CASE("event rounds: receive per message, go, finish") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\nvar total: int = 0\n"
                     "round a {\n  var seen: int = 0\n  send k to all\n"
                     "  receive(s, m) { seen += m if seen >= 5 { go } }\n"
                     "  finish(t) { total = seen decide(seen) }\n}\n";
  Compiled c = compile_text(text);
  CHECK((c.d().rounds[0].flags & PSYNC_ROUND_EVENT) != 0);
  Lockstep ls(c.d(), 3, {{1}, {2}, {3}});
  ls.step();
  CHECK(ls.decision(0) == 6);
  CHECK(ls.go_seen);
  ls.step();  // round-local `seen` was reset by the round's start
  CHECK(ls.print(0).find("total=6") != std::string::npos);
}

TEST_CASE("consts have defaults computed from n") {
  std::string text = "protocol E\nconst f: int = (n - 1) / 3\ninput k: int\noutput decision: int\n"
                     "round a {\n  send k to all\n  update(mbox) { decide(f) }\n}\n";
  Compiled c = compile_text(text);
  CHECK(c.d().num_consts == 1);
  std::vector<int64_t> out(1);
  c.d().const_defaults(7, out.data());
  CHECK(out[0] == 2);
  Lockstep ls(c.d(), 7, {});
  ls.step();
  CHECK(ls.decision(3) == 2);
}

TEST_CASE("property evaluators compare the old and the new states") {
  // (stdlib/consensus no longer states irrevocability, which decide()
  // guarantees; as a property of the test it still exercises old().)
  Compiled c = compile_text(read_example("one_third_rule") +
                            "\nproperty irrevocability: forall p: old(p.decided) ==> p.decided && "
                            "p.decision == old(p.decision)\n");
  const psync_spec_desc* irrevocability = nullptr;
  for (uint32_t i = 0; i < c.d().num_specs; ++i)
    if (std::string(c.d().specs[i].name) == "irrevocability") irrevocability = &c.d().specs[i];
  REQUIRE(irrevocability != nullptr);
  CHECK(irrevocability->kind == PSYNC_SPEC_PROPERTY);
  Lockstep before(c.d(), 3, {{1}, {1}, {1}});
  Lockstep after(c.d(), 3, {{1}, {1}, {1}});
  after.step();
  auto old_states = before.state_ptrs();
  auto new_states = after.state_ptrs();
  psync_env e = after.env(0);
  CHECK(irrevocability->eval2(old_states.data(), new_states.data(), &e) == 1);
  CHECK(irrevocability->eval2(new_states.data(), old_states.data(), &e) == 0);  // un-deciding
}

// ---------------------------------------------------------------- the ABI as the compiler sees it

TEST_CASE("the fingerprint covers the sources, the compiler version and the ABI version") {
  Compiled c = compile_text(read_example("one_third_rule"));
  const SourceManager& sources = c.front->c->sources;
  uint64_t f = program_fingerprint(sources);
  // compile_text builds the model (for the checker), whose state layout may
  // differ from a replica's: its fingerprint differs; a replica's is f.
  CHECK(c.d().fingerprint != f);
  CHECK((c.d().flags & PSYNC_PROTO_MODEL) != 0);
  std::string error;
  auto replica = jit_compile(*c.front->c->program, sources, 0, error, LowerMode::Replica);
  REQUIRE(replica);
  CHECK(replica->descriptor()->fingerprint == f);
  CHECK((replica->descriptor()->flags & PSYNC_PROTO_MODEL) == 0);
  CHECK(program_fingerprint(sources, compiler_version(), PSYNC_ABI_VERSION) == f);
  // A peer built by another compiler, or for another ABI, has another fingerprint.
  CHECK(program_fingerprint(sources, std::string(compiler_version()) + ".1", PSYNC_ABI_VERSION) != f);
  CHECK(program_fingerprint(sources, compiler_version(), PSYNC_ABI_VERSION + 1) != f);
  // And so does another program, built by the same compiler.
  Compiled other = compile_text(read_example("one_third_rule") + "\n// a comment\n");
  CHECK(other.d().fingerprint != f);
}

namespace {

// A driver that runs every process of a one-round protocol through `rounds`
// rounds in lock step, everyone hearing everyone, with the hooks table given.
struct MinimalDriver {
  const psync_protocol_desc& d;
  int n;
  psync_hooks hooks;
  std::vector<std::vector<uint64_t>> states;
  bool no_hooks_table = false;  ///< env.hooks = NULL

  MinimalDriver(const psync_protocol_desc& desc, int procs, psync_hooks h, int64_t input)
      : d(desc), n(procs), hooks(h), states(procs, std::vector<uint64_t>(desc.state_size(procs) / 8 + 1, 0)) {
    for (int p = 0; p < n; ++p) {
      psync_env e = env(p, 0);
      int64_t in = input + p;
      d.init(states[p].data(), &e, &in);
    }
  }
  psync_env env(int p, int64_t round) const {
    psync_env e{};
    e.n = n;
    e.me = p;
    e.round = round;
    e.phase = round;
    e.hooks = no_hooks_table ? nullptr : &hooks;
    return e;
  }
  void run(int rounds) {
    const psync_round_desc& rd = d.rounds[0];
    size_t box = 8 + rd.msg_size(n) * n;
    for (int64_t r = 0; r < rounds; ++r) {
      std::vector<std::vector<uint64_t>> out(n, std::vector<uint64_t>(box / 8 + 1, 0));
      for (int p = 0; p < n; ++p) {
        psync_env e = env(p, r);
        rd.send(states[p].data(), &e, out[p].data());
      }
      for (int p = 0; p < n; ++p) {
        std::vector<uint64_t> mbox(box / 8 + 1, 0);
        for (int q = 0; q < n; ++q) {
          mbox[0] |= 1ull << q;
          std::memcpy(reinterpret_cast<char*>(mbox.data()) + 8 + q * rd.msg_size(n),
                      reinterpret_cast<char*>(out[q].data()) + 8 + p * rd.msg_size(n), rd.msg_size(n));
        }
        psync_env e = env(p, r);
        rd.update(states[p].data(), &e, mbox.data());
      }
    }
  }
  const psync_proc_header& header(int p) const { return *reinterpret_cast<const psync_proc_header*>(states[p].data()); }
};

}  // namespace

TEST_CASE("abi.h: decided and conflict are optional hooks, coin and random required") {
  // Round 0 decides k; round 1 decides k + 1, a conflict. coin() and
  // random(k) run in every round.
  std::string text = "protocol E\ninput k: int\noutput decision: int\nvar c: int = 0\n"
                     "round a {\n  send k to all\n"
                     "  update(mbox) { if coin() { c = c + random(5) } decide(k + r) }\n}\n";
  for (int opt : {0, 2}) {
    Compiled c = compile_text(text, opt);
    static int coins = 0, randoms = 0;
    coins = randoms = 0;
    psync_hooks h{};
    h.coin = [](void*, const psync_env*) -> int32_t { return ++coins, 1; };
    h.random = [](void*, const psync_env*, int64_t k) -> int64_t { return ++randoms, k - 1; };
    // decided and conflict left NULL: generated code must not call them.
    MinimalDriver drv(c.d(), 3, h, 10);
    drv.run(2);
    CHECK(coins == 6);
    CHECK(randoms == 6);
    for (int p = 0; p < 3; ++p) {
      CHECK(drv.header(p).decided == 1);
      CHECK(drv.header(p).conflict == 1);  // recorded in the state without a notification
      int64_t decision;
      std::memcpy(&decision, reinterpret_cast<const char*>(drv.states[p].data()) + c.d().output.offset, 8);
      CHECK(decision == 10 + p);
    }
  }
}

TEST_CASE("abi.h: without coin() and random(k), env.hooks may be NULL") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\n"
                     "round a {\n  send k to all\n  update(mbox) { decide(k + r) }\n}\n";
  Compiled c = compile_text(text);
  MinimalDriver drv(c.d(), 2, psync_hooks{}, 5);
  drv.no_hooks_table = true;
  drv.run(2);
  for (int p = 0; p < 2; ++p) {
    CHECK(drv.header(p).decided == 1);
    CHECK(drv.header(p).conflict == 1);
  }
}

TEST_CASE("temporaries inside loops reuse one stack slot (allocas sit in the entry block)") {
  // Each iteration builds an [int; n] array (512 bytes at n = 64). With the
  // array's alloca inside the loop, 100,000 iterations would take 51 MB of
  // stack and crash; hoisted to the entry block, they take 512 bytes.
  std::string text = "protocol E\ninput k: int\noutput decision: int\nvar x: int = 0\n"
                     "round a {\n  send k to all\n  update(mbox) {\n"
                     "    for i in 0..100000 { let a: [int; n] = [i + mbox.size; n]\n x = a[me] }\n"
                     "    decide(x)\n  }\n}\n";
  for (int opt : {0, 2}) {
    Compiled c = compile_text(text, opt);
    std::vector<std::vector<int64_t>> inputs(64, std::vector<int64_t>{1});
    Lockstep ls(c.d(), 64, inputs);
    ls.step();
    CHECK(ls.decision(0) == 99999 + 64);
    CHECK(ls.decision(63) == 99999 + 64);
  }
}

// ---------------------------------------------------------------- issue 14: the language additions

TEST_CASE("bit operations and shifts are defined for every count") {
  CHECK(decide_value("(k & 12) | (k ^ 3)", {10}) == ((10 & 12) | (10 ^ 3)));
  CHECK(decide_value("~k", {5}) == ~int64_t{5});
  CHECK(decide_value("k << 3", {5}) == 40);
  CHECK(decide_value("k >> 1", {-5}) == -3);          // arithmetic shift
  CHECK(decide_value("k << 64", {5}) == 0);           // every bit shifted out
  CHECK(decide_value("k >> 70", {-5}) == -1);         // the sign fills
  CHECK(decide_value("k << -2", {20}) == 5);          // a negative count shifts the other way
  CHECK(decide_value("1 << k", {-9223372036854775807 - 1}) == 0);
}

TEST_CASE("enums, match, fns with return, and range sets") {
  std::string decls =
      "enum Role { Follower, Candidate, Leader }\n"
      "fn rank(x: Role): int {\n  match x {\n    Leader => { return 2 }\n    _ => { return x == Candidate ? 1 : 0 }\n  }\n}\n"
      "let role: Role = k > 5 ? Role.Leader : k > 2 ? Candidate : Follower\n"
      "let s: set<-2..6> = set(k, -2)\n";
  CHECK(decide_value("rank(role) * 10 + (match role { Follower => 1, Candidate | Leader => 2 })", {7}, 0, "k", decls) == 22);
  CHECK(decide_value("rank(role) * 10 + (match role { Follower => 1, Candidate | Leader => 2 })", {3}, 0, "k", decls) == 12);
  CHECK(decide_value("s.min * 100 + s.max * 10 + s.size", {3}, 0, "k", decls) == -200 + 30 + 2);
  CHECK(decide_value("s.minus(set(-2)).min", {4}, 0, "k", decls) == 4);
  CHECK(decide_value("e.is_empty && !e.with(3).is_empty ? 1 : 0", {4}, 0, "k", "let e: set<0..4> = set()") == 1);
}

TEST_CASE("a computed element outside a range set is a range event and is left out") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\nvar s: set<0..4> = set()\n"
                     "round a {\n  send k to all\n  update(mbox) { s = s.with(k); decide(s.size) }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 2, {{3}, {9}});
  ls.step();
  CHECK(ls.decision(0) == 1);
  CHECK(ls.decision(1) == 0);
  CHECK(ls.header(0).range_error == 0);
  CHECK(ls.header(1).range_error == 1);
}

TEST_CASE("per-peer sends: each process gets its own message") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\n"
                     "round a {\n  for q in pids { send k * 10 + q to q }\n  update(mbox) { decide(mbox.sum) }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 3, {{1}, {2}, {3}});
  ls.step();
  // Process p receives 10 * k_q + p from every q.
  CHECK(ls.decision(0) == 60 + 0);
  CHECK(ls.decision(1) == 60 + 3);
  CHECK(ls.decision(2) == 60 + 6);
}

TEST_CASE("log formats its values and calls the log hook") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\nenum C { Red, Blue }\n"
                     "round a {\n  send k to all\n  update(mbox) { log \"k={} c={} s={} {{}}\", k, Blue, mbox.senders }\n}\n";
  Compiled c = compile_text(text);
  Lockstep ls(c.d(), 2, {{7}, {8}});
  ls.step();
  REQUIRE(ls.logs.size() == 2);
  CHECK(ls.logs[0] == "k=7 c=Blue s={0, 1} {}");
  CHECK(ls.logs[1] == "k=8 c=Blue s={0, 1} {}");
}

TEST_CASE("model code: in the checker's build, absent from a replica's") {
  std::string text = "protocol E\ninput k: int\noutput decision: int\nmodel var steps: int = 0\n"
                     "round a {\n  send k to all\n  update(mbox) { model { steps += 1 } decide(mbox.size) }\n}\n"
                     "invariant counted: forall p: p.steps <= 1\n";
  Compiled model = compile_text(text);
  auto front = check_text(text);
  REQUIRE(front->ok);
  std::string error;
  auto replica = jit_compile(*front->c->program, front->c->sources, 0, error, LowerMode::Replica);
  REQUIRE(replica);
  // The model state has one more word, and the spec that reads it exists only there.
  CHECK(model.d().state_size(3) == replica->descriptor()->state_size(3) + 8);
  CHECK(model.d().num_specs == 1);
  CHECK(replica->descriptor()->num_specs == 0);
  Lockstep ls(model.d(), 3, {{1}, {2}, {3}});
  ls.step();
  CHECK(ls.print(0).find("steps=1") != std::string::npos);
  Lockstep lr(*replica->descriptor(), 3, {{1}, {2}, {3}});
  lr.step();
  CHECK(lr.print(0).find("steps") == std::string::npos);
  CHECK(lr.decision(0) == 3);
}
