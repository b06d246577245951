// test_explore.cpp: verdicts of the exhaustive explorer on compiled
// protocols (fixtures.h): specs that hold, shortest counterexamples for
// broken variants, coin branching, `assume`, liveness windows, conflicts,
// halting, and descriptors it must refuse.
#include "check.h"
#include "fixtures.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace psync::check;
using namespace psync::fixtures;

namespace {

CheckOptions opts(int n, int rounds, bool symmetry = false) {
  CheckOptions o;
  o.n = n;
  o.rounds = rounds;
  o.symmetry = symmetry;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("OneThirdRule n=4: agreement, validity and termination hold") {
  for (bool sym : {false, true}) {
    CAPTURE(sym);
    CheckOptions o = opts(4, 6, sym);
    CheckResult r = explore(one_third_rule(), o);
    REQUIRE(r.verdict == Verdict::kOk);
    CHECK(r.stats.depth == 6);
    CHECK(r.stats.states > r.stats.initial_states);
    CHECK(r.stats.transitions >= r.stats.states - r.stats.initial_states);
    CHECK(r.stats.liveness_checks > 0);
    CHECK(r.stats.initial_states == (sym ? 5u : 16u));  // 2^4 input vectors, 5 up to permutation
  }
}

TEST_CASE("symmetry reduction keeps the verdict and shrinks the state space") {
  CheckResult plain = explore(one_third_rule(), opts(4, 5, false));
  CheckResult sym = explore(one_third_rule(), opts(4, 5, true));
  REQUIRE(plain.verdict == Verdict::kOk);
  REQUIRE(sym.verdict == Verdict::kOk);
  CHECK(sym.stats.states < plain.stats.states);
}

TEST_CASE("cyclic rounds: OneThirdRule's reachable states close, so ok covers every round") {
  CheckOptions o = opts(4, -1, true);
  o.cyclic_rounds = true;
  CheckResult r = explore(one_third_rule(), o);
  REQUIRE(r.verdict == Verdict::kOk);
  CHECK(r.stats.exhausted);
  CHECK(r.stats.bound == -1);
  // Bounded runs deep enough see exactly the same (round-free) states.
  CheckOptions deeper = o;
  deeper.rounds = r.stats.depth + 3;
  CheckResult r2 = explore(one_third_rule(), deeper);
  CHECK(r2.stats.states == r.stats.states);
}

TEST_CASE("OneThirdRule with a majority threshold violates agreement, shortest in 2 rounds") {
  for (bool sym : {false, true}) {
    CAPTURE(sym);
    CheckResult r = explore(one_third_rule_majority(), opts(5, 6, sym));
    REQUIRE(r.verdict == Verdict::kViolation);
    CHECK(r.trace.spec == "agreement");
    CHECK(r.trace.spec_kind == "invariant");
    CHECK(r.trace.steps.size() == 2);
    // Shortest: no violation exists within one round.
    CHECK(explore(one_third_rule_majority(), opts(5, 1, sym)).verdict == Verdict::kOk);
    // The trace ends with two processes decided on different values.
    const auto& last = r.trace.steps.back().after;
    int d0 = 0, d1 = 0;
    for (const auto& p : last) {
      if (!p.decided) continue;
      if (p.vars.find("decision=0") != std::string::npos) ++d0;
      if (p.vars.find("decision=1") != std::string::npos) ++d1;
    }
    CHECK(d0 > 0);
    CHECK(d1 > 0);
  }
}

TEST_CASE("the counterexample's messages agree with its HO sets and mailboxes") {
  CheckResult r = explore(one_third_rule_majority(), opts(5, 3, true));
  REQUIRE(r.verdict == Verdict::kViolation);
  for (const TraceStep& st : r.trace.steps) {
    REQUIRE(st.ho.size() == 5);
    REQUIRE(st.after.size() == 5);
    CHECK(st.messages.size() == 25);  // everyone sends x to all
    for (const TraceMessage& m : st.messages) CHECK(m.delivered == ((st.ho[static_cast<size_t>(m.to)] >> m.from & 1) != 0));
  }
  // OTR majority at n = 5: a process decides only on more than 2 equal values.
  for (size_t i = 0; i < 5; ++i)
    if (r.trace.steps[0].after[i].decided) CHECK(__builtin_popcountll(r.trace.steps[0].ho[i]) > 2);
}

TEST_CASE("event rounds: receive in sender order, go, finish, and the verdicts of closed rounds") {
  // Each event transition is a closed transition on the mailbox of the
  // first senders, and round-local counters are cleared when the round
  // ends (docs/abi.md, section 2): the event version reaches no state the
  // closed one does not.
  CheckOptions o = opts(3, 4, true);
  CheckResult ok = explore(one_third_rule_event(), o);
  CHECK(ok.verdict == Verdict::kOk);
  CHECK(ok.stats.states <= explore(one_third_rule(), o).stats.states);
  // n = 3, majority threshold: {p1,p2} decide 1 in round 0 while ties pull
  // the others to 0; they decide 0 in round 1.
  CheckResult bad = explore(one_third_rule_event_majority(), opts(3, 5, true));
  REQUIRE(bad.verdict == Verdict::kViolation);
  CHECK(bad.trace.spec == "agreement");
  REQUIRE(bad.trace.steps.size() == 2);
  // In round 0 a process hears the others' initial x in sender order and
  // goes after the second message (more than n/2): finish adopts the
  // majority of those two (0 on a tie) and decides it when they agree.
  auto x_of = [](const TraceProcess& p) {
    size_t at = p.vars.find(" x=");
    REQUIRE(at != std::string::npos);
    return std::stoll(p.vars.substr(at + 3));
  };
  const TraceStep& first = bad.trace.steps[0];
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    int64_t c[2] = {0, 0}, heard = 0;
    for (size_t q = 0; q < 3 && heard < 2; ++q)
      if (first.ho[i] >> q & 1) {
        ++c[x_of(bad.trace.initial[q])];
        ++heard;
      }
    if (heard < 2) {
      CHECK(x_of(first.after[i]) == x_of(bad.trace.initial[i]));
      CHECK(!first.after[i].decided);
    } else {
      CHECK(x_of(first.after[i]) == (c[0] >= c[1] ? 0 : 1));
      CHECK(first.after[i].decided == (c[0] == 2 || c[1] == 2));
    }
  }
}

TEST_CASE("liveness: one uniform round is not enough for OneThirdRule") {
  for (bool sym : {false, true}) {
    CAPTURE(sym);
    CheckResult r = explore(one_third_rule_hasty_termination(), opts(4, 4, sym));
    REQUIRE(r.verdict == Verdict::kViolation);
    CHECK(r.trace.spec == "termination");
    CHECK(r.trace.spec_kind == "liveness");
    CHECK(r.trace.steps.size() == 1);  // from an initial state, one window round
    CHECK(r.trace.liveness_from == 0);
    // The window's HO vector is uniform with more than 2n/3 members.
    const TraceStep& w = r.trace.steps[0];
    CHECK(std::all_of(w.ho.begin(), w.ho.end(), [&](uint64_t h) { return h == w.ho[0]; }));
    CHECK(__builtin_popcountll(w.ho[0]) > 2);
  }
}

TEST_CASE("liveness can be switched off") {
  CheckOptions o = opts(4, 3, true);
  o.liveness = false;
  CheckResult r = explore(one_third_rule_hasty_termination(), o);
  CHECK(r.verdict == Verdict::kOk);
  CHECK(r.stats.liveness_checks == 0);
}

TEST_CASE("properties are checked on every transition") {
  // "x never changes" is false: a process adopts the other value in round 0.
  CheckResult r = explore(fixture("otr-x-changes"), opts(4, 4, true));
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "x_stable");
  CHECK(r.trace.spec_kind == "property");
  CHECK(r.trace.steps.size() == 1);
}

TEST_CASE("invariants are checked in initial states") {
  const psync_protocol_desc& d = fixture("otr-inputs-zero");
  CheckResult r = explore(d, opts(3, 4));
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "inputs_zero");
  CHECK(r.trace.steps.empty());
  CHECK(r.trace.initial.size() == 3);
  CheckOptions only_zero = opts(3, 4);
  only_zero.values_hi = 0;
  CHECK(explore(d, only_zero).verdict == Verdict::kOk);
}

TEST_CASE("coin() branches: every outcome of every process is explored") {
  // decide(coin()) for two processes: 4 successors, 3 up to symmetry.
  CheckResult plain = explore(coin_decide_unchecked(), opts(2, 1));
  REQUIRE(plain.verdict == Verdict::kOk);
  CHECK(plain.stats.states == 1 + 4);
  CHECK(plain.stats.transitions == 4);
  CheckResult sym = explore(coin_decide_unchecked(), opts(2, 1, true));
  CHECK(sym.stats.states == 1 + 3);

  CheckResult r = explore(coin_decide(), opts(2, 3));
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "agreement");
  REQUIRE(r.trace.steps.size() == 1);
  const TraceStep& st = r.trace.steps[0];
  CHECK(st.choices[0] != st.choices[1]);  // the two coins differ
  CHECK(st.choices[0].find("update") != std::string::npos);
}

TEST_CASE("random(k) branches k ways, and consts can be overridden") {
  CheckOptions o = opts(2, 1);
  o.consts = {{"k", 3}};
  CheckResult r = explore(coin_decide_unchecked(), o);
  REQUIRE(r.verdict == Verdict::kOk);
  CHECK(r.stats.states == 1 + 9);
  o.symmetry = true;
  CHECK(explore(coin_decide_unchecked(), o).stats.states == 1 + 6);
  o.consts = {{"nope", 1}};
  CHECK(explore(coin_decide_unchecked(), o).verdict == Verdict::kError);
}

TEST_CASE("assume restricts HO sets: Ben-Or is safe only when every HO set is a majority") {
  CheckResult ok = explore(ben_or(), opts(3, 6, true));
  CHECK(ok.verdict == Verdict::kOk);

  CheckResult bad = explore(ben_or_without_assume(), opts(3, 6, true));
  REQUIRE(bad.verdict == Verdict::kViolation);
  // Two decisions need two phases (4 rounds); the second one is a different
  // value at another process (agreement) or the same one (conflict).
  CHECK((bad.trace.spec == "agreement" || bad.trace.spec == "conflict"));
  CHECK(bad.trace.steps.size() == 4);
  CHECK(explore(ben_or_without_assume(), opts(3, 3, true)).verdict == Verdict::kOk);
  // Somewhere a process heard from at most one process and flipped its coin.
  bool small_ho = false, flipped = false;
  for (const TraceStep& st : bad.trace.steps)
    for (size_t i = 0; i < st.ho.size(); ++i) {
      small_ho = small_ho || __builtin_popcountll(st.ho[i]) <= 1;
      flipped = flipped || !st.choices[i].empty();
    }
  CHECK(small_ho);
  CHECK(flipped);
}

TEST_CASE("under assume, the counterexample's HO vectors satisfy the assumption") {
  // Ben-Or with the assume but a broken invariant: "nobody ever decides".
  CheckResult r = explore(fixture("benor-never-decides"), opts(3, 4));
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "undecided");
  CHECK(r.trace.steps.size() == 2);
  for (const TraceStep& st : r.trace.steps)
    for (uint64_t h : st.ho) CHECK(__builtin_popcountll(h) >= 2);
}

TEST_CASE("deciding two different values is a violation, and halted processes stay put") {
  CheckResult r = explore(flip_flop(), opts(2, 4));
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "conflict");
  CHECK(r.trace.spec_kind == "conflict");
  CHECK(r.trace.steps.size() == 2);
  CHECK(r.trace.steps.back().after[0].conflict);

  CheckResult h = explore(flip_flop_halting(), opts(2, 4));
  CHECK(h.verdict == Verdict::kOk);
}

TEST_CASE("LastVoting n=3: safe for 3 phases, and ignoring timestamps breaks agreement in 2 phases") {
  CheckResult ok = explore(last_voting(), opts(3, 12));
  CHECK(ok.verdict == Verdict::kOk);
  CheckResult bad = explore(last_voting_no_timestamps(), opts(3, 12));
  REQUIRE(bad.verdict == Verdict::kViolation);
  CHECK(bad.trace.spec == "agreement");
  CHECK(bad.trace.steps.size() == 8);
  CHECK(explore(last_voting_no_timestamps(), opts(3, 7)).verdict == Verdict::kOk);
}

TEST_CASE("state limit yields an incomplete verdict") {
  CheckOptions o = opts(4, 6);
  o.max_states = 50;
  CHECK(explore(one_third_rule(), o).verdict == Verdict::kIncomplete);
}

TEST_CASE("a limit after a liveness violation was found leaves the violation standing") {
  const psync_protocol_desc& d = psync::test::compiled("tests/check/psync/otr_long_window.psync");
  // The state limit while the search looks for a shorter safety violation:
  // the counterexample is whole, but not proven shortest.
  CheckOptions o = opts(6, -1, true);
  o.values_hi = 2;
  o.max_states = 300;
  CheckResult r = explore(d, o);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "termination");
  CHECK(r.trace.steps.size() == 6);
  CHECK(r.stats.stopped == "state limit");
  CHECK(r.stats.search_cut);
  CHECK_FALSE(r.trace.shortest);
  CHECK(r.stats.trace_cut.empty());
  // A stop as the window is searched again: the trace ends where it starts.
  o = opts(4, -1, true);
  o.test_fault = "stop-in-rebuild";
  r = explore(d, o);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.stats.trace_cut == "time limit");
  CHECK(r.stats.stopped.empty());  // the search itself was complete
  CHECK_FALSE(r.stats.search_cut);
  CHECK(r.trace.steps.empty());
  CHECK(r.trace.window_missing == 6);
  CHECK(r.trace.liveness_from == 0);
}

TEST_CASE("bad options are errors, not crashes") {
  CheckOptions o = opts(0, 3);
  CHECK(explore(one_third_rule(), o).verdict == Verdict::kError);
  o = opts(3, 3);
  o.values_lo = 2;
  o.values_hi = 1;
  CHECK(explore(one_third_rule(), o).verdict == Verdict::kError);
  psync_protocol_desc d = one_third_rule();
  d.abi_version = 999;
  CHECK(explore(d, opts(3, 3)).verdict == Verdict::kError);
}

TEST_CASE("a descriptor the node would refuse is refused here too") {
  // The explorer and the simulator validate like the node (runtime/abi/
  // validate.h); a round without msg_size used to pass here and crash there.
  psync_round_desc round = one_third_rule().rounds[0];
  round.msg_size = nullptr;
  psync_protocol_desc d = one_third_rule();
  d.rounds = &round;
  CheckResult r = explore(d, opts(3, 3));
  REQUIRE(r.verdict == Verdict::kError);
  CHECK(r.error == "bad protocol descriptor: round `exchange` has no msg_size");
  SimulateOptions s;
  s.n = 3;
  s.runs = 1;
  s.progress = false;
  SimulateResult sr = simulate(d, s);
  REQUIRE(sr.verdict == Verdict::kError);
  CHECK(sr.error == r.error);
}

TEST_CASE("liveness windows start at phase boundaries unless asked otherwise") {
  // A liveness window of one phase (its coordinator in all four rounds).
  // From a phase boundary it holds; a window that starts mid-phase straddles
  // two coordinators and need not end decided.
  const psync_protocol_desc& lv = fixture("last-voting-phase-window");
  CheckOptions o = opts(3, 8);
  CheckResult phases = explore(lv, o);
  CHECK(phases.verdict == Verdict::kOk);
  CHECK(phases.stats.liveness_checks > 0);
  o.liveness_every_round = true;
  CheckResult every = explore(lv, o);
  REQUIRE(every.verdict == Verdict::kViolation);
  CHECK(every.trace.spec == "termination");
  REQUIRE(every.trace.liveness_from >= 0);
  CHECK(every.trace.steps[static_cast<size_t>(every.trace.liveness_from)].round % 4 != 0);
  // The example's own window (7 rounds) contains a whole phase wherever it starts.
  CHECK(explore(last_voting(), o).verdict == Verdict::kOk);
}

TEST_CASE("an unsound symmetry claim is caught, not silently trusted") {
  // LastVoting's coordinator is phase % n: renaming processes changes it.
  CheckResult r = explore(last_voting(), opts(3, 8, true));
  REQUIRE(r.verdict == Verdict::kError);
  CHECK(r.error.find("symmetry") != std::string::npos);
  // Symmetric protocols pass the same sampled check.
  CHECK(explore(ben_or(), opts(3, 4, true)).verdict == Verdict::kOk);
  CHECK(explore(one_third_rule_event(), opts(3, 3, true)).verdict == Verdict::kOk);
}
