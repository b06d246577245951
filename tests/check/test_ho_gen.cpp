// test_ho_gen.cpp: heard-of vectors generated from a predicate's shape
// (runtime/check/ho_gen.cpp) give exactly what filtering all 2^(n*n) of them
// gives: the same states, transitions, liveness verdicts and counterexamples,
// for every predicate shape of examples/ and stdlib, and for broken variants.
#include "check.h"
#include "compiled.h"

#include <doctest/doctest.h>

#include <string>

using namespace psync::check;

namespace {

struct Case {
  const char* file;
  int n;
  int rounds;  // -1: the checker's default
};

// Liveness windows start at every round, so that every state's window is
// generated both ways.
CheckResult run(const Case& c, bool brute) {
  CheckOptions o;
  o.n = c.n;
  o.rounds = c.rounds;
  o.progress = false;
  o.liveness_every_round = true;
  o.liveness_max_ho_bits = 30;
  o.brute_force_ho = brute;
  return explore(psync::test::compiled(c.file), o);
}

void same_exploration(const Case& c) {
  const std::string file = c.file;
  CAPTURE(file);
  CAPTURE(c.n);
  CheckResult gen = run(c, false);
  CheckResult all = run(c, true);
  REQUIRE(gen.error == all.error);
  MESSAGE(file << " n=" << c.n << ": " << std::string(gen.verdict == Verdict::kOk ? "ok" : "violation ") << gen.trace.spec);
  CHECK(gen.verdict == all.verdict);
  CHECK(gen.stats.unchecked == all.stats.unchecked);
  if (gen.verdict == Verdict::kOk) {
    // Every state expanded, every window checked: the successor sets match.
    CHECK(gen.stats.states == all.stats.states);
    CHECK(gen.stats.transitions == all.stats.transitions);
    CHECK(gen.stats.liveness_checks == all.stats.liveness_checks);
  }
  // A violation stops the search part-way through a layer, where the order
  // of successors matters; the shortest counterexample is the same length.
  CHECK(gen.trace.spec == all.trace.spec);
  CHECK(gen.trace.steps.size() == all.trace.steps.size());
  CHECK(gen.trace.liveness_from == all.trace.liveness_from);
}

}  // namespace

TEST_CASE("ho generation: uniform and ho_size (OneThirdRule, leader election) as brute force") {
  for (Case c : {Case{"examples/one_third_rule.psync", 3, -1}, Case{"examples/one_third_rule.psync", 4, 3},
                 Case{"tests/check/psync/otr_no_termination.psync", 3, -1},
                 Case{"tests/check/psync/otr_half_threshold.psync", 3, -1},
                 Case{"examples/leader_election.psync", 3, 4}})
    same_exploration(c);
}

TEST_CASE("ho generation: ho(p) and ho(p.coord) parts (LastVoting, ShortLastVoting, Paxos) as brute force") {
  for (Case c : {Case{"examples/last_voting.psync", 3, 5}, Case{"tests/check/psync/lv_phase_window.psync", 3, 5},
                 Case{"examples/short_last_voting.psync", 3, 4}, Case{"examples/paxos.psync", 3, 4}})
    same_exploration(c);
}

TEST_CASE("ho generation: crash sets and `where true` (FloodSet, FloodMin) as brute force") {
  for (Case c : {Case{"examples/flood_set.psync", 3, -1}, Case{"examples/flood_min.psync", 3, -1},
                 Case{"tests/check/psync/flood_set_f_rounds.psync", 3, -1}})
    same_exploration(c);
}

TEST_CASE("ho generation: no split, upward closed (UniformVoting) and majorities with coins (Ben-Or) as brute force") {
  for (Case c : {Case{"examples/uniform_voting.psync", 3, -1}, Case{"tests/check/psync/uniform_voting.psync", 3, -1},
                 Case{"examples/ben_or.psync", 3, 6}, Case{"tests/check/psync/ben_or_half_threshold.psync", 3, 6}})
    same_exploration(c);
}

TEST_CASE("ho generation: exists inside a part, a fixed process, everyone (broadcast, lattice) as brute force") {
  for (Case c : {Case{"examples/reliable_broadcast.psync", 3, -1}, Case{"examples/lattice_agreement.psync", 3, 5}})
    same_exploration(c);
}

TEST_CASE("ho generation: a residual that is not upward closed is filtered from per-process sets, as brute force") {
  for (Case c : {Case{"examples/raft_election.psync", 3, 6}}) same_exploration(c);
}

TEST_CASE("ho generation: a OneThirdRule whose termination fails is caught at n = 5") {
  CheckOptions o;
  o.n = 5;
  o.progress = false;
  o.symmetry = true;
  o.cyclic_rounds = true;
  CheckResult r = explore(psync::test::compiled("tests/check/psync/otr_no_termination.psync"), o);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "termination");
  CHECK(r.trace.spec_kind == "liveness");
  CHECK(r.stats.unchecked.empty());
  // ...and the correct protocol holds there, liveness included.
  r = explore(psync::test::compiled("examples/one_third_rule.psync"), o);
  CHECK(r.verdict == Verdict::kOk);
  CHECK(r.stats.unchecked.empty());
  CHECK(r.stats.liveness_checks > 0);
}
