// test_simulate.cpp: the random simulator (seeds reproduce, crashes and
// losses show in traces, assumptions are honoured) and the drivers'
// printed verdicts, files and exit codes.
#include "check.h"
#include "fixtures.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>

using namespace psync::check;
using namespace psync::fixtures;

namespace {

SimulateOptions sim(int n, uint64_t runs, uint64_t seed, double loss, double crash = 0) {
  SimulateOptions o;
  o.n = n;
  o.runs = runs;
  o.seed = seed;
  o.loss = loss;
  o.crash = crash;
  o.progress = false;
  return o;
}

// Runs fn(FILE*) into a temporary file and returns what it printed.
template <class F>
std::string capture(F&& fn, int* rc) {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  *rc = fn(f);
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, k);
  std::fclose(f);
  return s;
}

// A fresh path in a private temporary directory.
std::string temp_path(const std::string& name) {
  static std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "psync-check-test-XXXXXX").string();  // $TMPDIR
    const char* d = mkdtemp(tmpl.data());
    REQUIRE(d != nullptr);
    return std::string(d);
  }();
  return dir + "/" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("simulation: OneThirdRule never violates safety and mostly decides") {
  SimulateResult r = simulate(one_third_rule(), sim(4, 300, 7, 0.1));
  REQUIRE(r.verdict == Verdict::kOk);
  CHECK(r.runs == 300);
  CHECK(r.runs_decided > 0);
  uint64_t total = std::accumulate(r.decide_histogram.begin(), r.decide_histogram.end(), uint64_t{0});
  CHECK(total == r.runs_decided);
  CHECK(r.decide_histogram[0] == 0);  // nobody decides before a round
  // The same seed gives the same runs.
  SimulateResult again = simulate(one_third_rule(), sim(4, 300, 7, 0.1));
  CHECK(again.decide_histogram == r.decide_histogram);
}

TEST_CASE("simulation: a violation names its spec and its seed reproduces it") {
  SimulateResult r = simulate(one_third_rule_majority(), sim(5, 20000, 1, 0.5));
  REQUIRE(r.verdict == Verdict::kViolation);
  // Either two processes decide differently or one changes its mind.
  CHECK((r.trace.spec == "agreement" || r.trace.spec == "conflict"));
  REQUIRE(r.trace.seed >= 1);
  CHECK(static_cast<uint64_t>(r.trace.seed) == 1 + r.runs - 1);  // run i uses seed + i
  SimulateResult replay = simulate(one_third_rule_majority(), sim(5, 1, static_cast<uint64_t>(r.trace.seed), 0.5));
  REQUIRE(replay.verdict == Verdict::kViolation);
  CHECK(replay.trace.steps.size() == r.trace.steps.size());
  CHECK(trace_to_json(replay.trace) == trace_to_json(r.trace));
}

TEST_CASE("simulation: coins come from the seed") {
  SimulateOptions o = sim(3, 100, 3, 0.0);
  o.rounds = 1;  // later rounds would decide again: a conflict
  SimulateResult r = simulate(coin_decide(), o);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "agreement");
  REQUIRE(r.trace.steps.size() == 1);
  bool differ = false;
  for (size_t i = 1; i < r.trace.steps[0].choices.size(); ++i)
    differ = differ || r.trace.steps[0].choices[i] != r.trace.steps[0].choices[0];
  CHECK(differ);
}

TEST_CASE("simulation: liveness windows are checked along the run") {
  // No loss: every round is uniform with all n members, so after one round
  // with split inputs the (too hasty) termination goal fails.
  SimulateOptions o = sim(4, 50, 11, 0.0);
  SimulateResult r = simulate(one_third_rule_hasty_termination(), o);
  REQUIRE(r.verdict == Verdict::kViolation);
  CHECK(r.trace.spec == "termination");
  CHECK(r.trace.spec_kind == "liveness");
  CHECK(r.trace.liveness_from >= 0);
  // The real spec (two rounds) holds in the same runs.
  CHECK(simulate(one_third_rule(), o).verdict == Verdict::kOk);
}

TEST_CASE("simulation: crashed processes stop and show in the trace") {
  SimulateOptions o = sim(3, 1, 5, 0.0, 0.9);
  o.rounds = 3;
  SimulateResult r = simulate(flip_flop(), o);  // conflicts in round 1 unless crashed
  // With crash probability 0.9 most processes stop in round 0; a survivor
  // (if any) conflicts in round 1. Either way the verdict is consistent:
  if (r.verdict == Verdict::kViolation) {
    CHECK(r.trace.spec == "conflict");
  } else {
    CHECK(r.verdict == Verdict::kOk);
  }
  // A run with certain crashes never conflicts: all crash in round 0.
  SimulateOptions all = sim(3, 20, 9, 0.0, 1.0);
  all.rounds = 4;
  SimulateResult none = simulate(flip_flop(), all);
  CHECK(none.verdict == Verdict::kOk);
  CHECK(none.runs_decided == 20);  // vacuously: every process crashed
}

TEST_CASE("simulation: HO draws honour `assume`") {
  SimulateResult r = simulate(ben_or(), sim(3, 500, 2, 0.4));
  CHECK(r.verdict == Verdict::kOk);
  CHECK(r.runs_decided > 0);
  SimulateResult bad = simulate(ben_or_without_assume(), sim(3, 20000, 2, 0.6));
  REQUIRE(bad.verdict == Verdict::kViolation);
  CHECK((bad.trace.spec == "agreement" || bad.trace.spec == "conflict"));
}

TEST_CASE("run_check: exit codes, verdict lines, trace files") {
  int rc = -1;
  CheckOptions o;
  o.n = 4;
  o.rounds = 4;
  o.symmetry = true;
  std::string ok = capture([&](std::FILE* f) { return run_check(one_third_rule(), o, f); }, &rc);
  CHECK(rc == kExitOk);
  CHECK(ok.find("ok: ") != std::string::npos);
  CHECK(ok.find("invariant agreement") != std::string::npos);
  CHECK(ok.find("liveness termination") != std::string::npos);
  CHECK(ok.find('\r') == std::string::npos);  // no progress line off a terminal

  std::string json = temp_path("trace.json");
  std::string svg = temp_path("trace.svg");
  std::string stats = temp_path("stats.json");
  o.n = 5;
  o.trace_json = json;
  o.svg = svg;
  o.stats_json = stats;
  std::string bad = capture([&](std::FILE* f) { return run_check(one_third_rule_majority(), o, f); }, &rc);
  CHECK(rc == kExitViolation);
  CHECK(bad.find("invariant `agreement` violated") != std::string::npos);
  CHECK(bad.find("round 1 (exchange)") != std::string::npos);
  CHECK(slurp(json).find("\"spec\": \"agreement\"") != std::string::npos);
  CHECK(slurp(svg).find("<svg") != std::string::npos);
  CHECK(slurp(stats).find("\"verdict\":\"violation\"") != std::string::npos);  // compact JSON (nlohmann)
  std::remove(json.c_str());
  std::remove(svg.c_str());
  std::remove(stats.c_str());

  CheckOptions u;
  u.n = 0;
  capture([&](std::FILE* f) { return run_check(one_third_rule(), u, f); }, &rc);
  CHECK(rc == kExitUsage);
  CheckOptions lim;
  lim.n = 4;
  lim.max_states = 20;
  capture([&](std::FILE* f) { return run_check(one_third_rule(), lim, f); }, &rc);
  CHECK(rc == kExitIncomplete);
}

TEST_CASE("run_check: a skipped liveness spec is never a bare ok") {
  // Over the cost limit: "ok (safety only; ...)" with the reason and the
  // flag that raises the limit, and a status of its own.
  int rc = -1;
  CheckOptions o;
  o.n = 5;
  o.symmetry = true;
  o.cyclic_rounds = true;
  o.brute_force_ho = true;  // generated from its shape, n = 5 is checked in full
  std::string out = capture([&](std::FILE* f) { return run_check(one_third_rule(), o, f); }, &rc);
  CHECK(rc == kExitPartial);
  CHECK(out.find("ok (safety only; not checked: liveness termination: ") != std::string::npos);
  CHECK(out.find("--max-ho-bits 16 (--ho-brute-force)") != std::string::npos);
  CHECK(out.find("\nok: ") == std::string::npos);
  CHECK(out.find("checked: invariant agreement, invariant validity\n") != std::string::npos);
  // Switched off on request: still not a bare ok, but what was asked for.
  o.liveness = false;
  out = capture([&](std::FILE* f) { return run_check(one_third_rule(), o, f); }, &rc);
  CHECK(rc == kExitOk);
  CHECK(out.find("ok (safety only; not checked: liveness termination: switched off (--no-liveness))") !=
        std::string::npos);
  // Within the limit the spec is checked and the ok is plain.
  o.liveness = true;
  o.n = 3;
  out = capture([&](std::FILE* f) { return run_check(one_third_rule(), o, f); }, &rc);
  CHECK(rc == kExitOk);
  CHECK(out.find("\nok: ") != std::string::npos);
  CHECK(out.find("liveness termination (after 2)") != std::string::npos);
}

TEST_CASE("run_check: a signal or the time limit stops the search, which says so with its figures") {
  int rc = -1;
  CheckOptions o;
  o.n = 4;
  o.rounds = 40;
  o.liveness = false;
  volatile int flag = 1;  // as if SIGINT had arrived
  o.stop = &flag;
  std::string out = capture([&](std::FILE* f) { return run_check(last_voting(), o, f); }, &rc);
  CHECK(rc == kExitIncomplete);
  CHECK(out.find("incomplete: interrupted by SIGINT after ") != std::string::npos);
  CHECK(out.find(" states, ") != std::string::npos);
  flag = 2;
  out = capture([&](std::FILE* f) { return run_check(last_voting(), o, f); }, &rc);
  CHECK(out.find("incomplete: interrupted by SIGTERM after ") != std::string::npos);
  o.stop = nullptr;
  o.time_limit_s = 0.2;
  CheckResult r = explore(last_voting(), o);
  CHECK(r.verdict == Verdict::kIncomplete);
  CHECK(r.stats.stopped == "time limit");
  CHECK(r.stats.states > 0);
  CHECK(r.stats.depth < 40);
  SimulateOptions s = sim(4, 1000000, 1, 0.1);
  s.time_limit_s = 0.2;
  out = capture([&](std::FILE* f) { return run_simulate(one_third_rule(), s, f); }, &rc);
  CHECK(rc == kExitIncomplete);
  CHECK(out.find("incomplete: the time limit (--time-limit) was reached after ") != std::string::npos);
}

TEST_CASE("run_simulate: runs that never decide are counted, and flagged when the protocol states liveness") {
  int rc = -1;
  // Heavy loss: OneThirdRule rarely hears more than 2n/3.
  std::string out = capture([&](std::FILE* f) { return run_simulate(one_third_rule(), sim(5, 300, 1, 0.8), f); }, &rc);
  CHECK(rc == kExitPartial);
  CHECK(out.find("undecided: ") != std::string::npos);
  CHECK(out.find("although the protocol states liveness `termination`") != std::string::npos);
  SimulateResult r = simulate(one_third_rule(), sim(5, 300, 1, 0.8));
  CHECK(r.runs_undecided > 0);
  CHECK(r.runs_decided + r.runs_undecided == r.runs);
  // Without a liveness spec they are counted but not flagged.
  out = capture([&](std::FILE* f) { return run_simulate(psync::test::compiled("tests/check/psync/uniform_voting.psync"), sim(5, 300, 1, 0.8), f); }, &rc);
  CHECK(out.find("undecided: ") == std::string::npos);
}

TEST_CASE("run_simulate: histogram on success, seed on failure") {
  int rc = -1;
  std::string ok = capture([&](std::FILE* f) { return run_simulate(one_third_rule(), sim(4, 200, 1, 0.2), f); }, &rc);
  CHECK(rc == kExitOk);
  CHECK(ok.find("rounds until every live process decided") != std::string::npos);
  CHECK(ok.find('#') != std::string::npos);
  std::string bad =
      capture([&](std::FILE* f) { return run_simulate(coin_decide(), sim(2, 100, 4, 0.0), f); }, &rc);
  CHECK(rc == kExitViolation);
  CHECK(bad.find("--seed ") != std::string::npos);
  SimulateOptions broken = sim(3, 1, 1, 2.0);
  capture([&](std::FILE* f) { return run_simulate(one_third_rule(), broken, f); }, &rc);
  CHECK(rc == kExitUsage);
}
