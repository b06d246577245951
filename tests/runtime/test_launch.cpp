// test_launch.cpp: the local cluster launcher behind `psyncc run`
// (runtime/launch), tested as a library. The judging of outcomes is pure and
// tested on made-up results; running replicas uses the hand-written
// OneThirdRule node (otr-node) and fake_node.sh, which misbehaves on demand.
#include "launch/launch.h"

#include <psync/abi.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace psync::launch;

namespace {

Decision decision(int id, uint64_t instance, const std::string& value, int64_t round = 1) {
  Decision d;
  d.id = id;
  d.instance = instance;
  d.value = value;
  d.round = round;
  d.us = 100;
  return d;
}

ClusterResult finished(int n) {
  ClusterResult r;
  r.replicas.assign(size_t(n), Replica{});
  for (Replica& rep : r.replicas) rep.ended_us = 1000;
  return r;
}

ClusterOptions options(int n, uint64_t instances) {
  ClusterOptions o;
  o.n = n;
  o.instances = instances;
  o.time_limit_us = 2'000'000;
  return o;
}

std::string printed(const ClusterOptions& o, const ClusterResult& r) {
  std::FILE* f = std::tmpfile();
  print_summary(o, r, f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, k);
  std::fclose(f);
  return text;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("launch: decision lines are recognised, everything else is not") {
  Decision d;
  REQUIRE(parse_decision_line("{\"id\":2,\"instance\":7,\"round\":3,\"value\":-4,\"us\":1804}", d));
  CHECK(d.id == 2);
  CHECK(d.instance == 7);
  CHECK(d.round == 3);
  CHECK(d.value == "-4");
  CHECK(d.us == 1804);
  REQUIRE(parse_decision_line("{\"id\":0,\"instance\":0,\"round\":1,\"value\":null,\"state\":\"x, y\",\"us\":5}", d));
  CHECK(d.value == "null");
  REQUIRE(parse_decision_line("{\"id\":0,\"instance\":0,\"round\":1,\"value\":[0,2],\"us\":5}", d));
  CHECK(d.value == "[0,2]");
  CHECK_FALSE(parse_decision_line("{\"stats\":{\"id\":0,\"elapsed_us\":5}}", d));
  CHECK_FALSE(parse_decision_line("psync: id=0 decided 1/1 instance(s)", d));
  CHECK_FALSE(parse_decision_line("{\"id\":\"zero\",\"instance\":0,\"round\":1,\"value\":1,\"us\":5}", d));
  CHECK_FALSE(parse_decision_line("", d));
}

TEST_CASE("launch: an instance nobody decided is incomplete") {
  ClusterOptions o = options(3, 3);
  ClusterResult r = finished(3);
  for (int id = 0; id < 3; ++id) r.decisions.push_back(decision(id, 0, "1"));
  r.decisions.push_back(decision(0, 1, "2"));
  r.decisions.push_back(decision(1, 1, "2"));
  // Instance 2: no decision at all.
  Summary s = summarize(o, r);
  CHECK(s.with_decisions == 2);
  CHECK(s.incomplete == 2);
  CHECK(s.disagreements == 0);
  REQUIRE(s.shown.size() == 3);
  CHECK(s.shown[0].complete);
  CHECK_FALSE(s.shown[1].complete);
  CHECK(s.shown[2].deciders == 0);
  CHECK_FALSE(s.shown[2].complete);
  CHECK(s.exit_status == 1);
  const std::string text = printed(o, r);
  CHECK(contains(text, "instance 2: 0/3 decided   <-- UNDECIDED\n"));
  CHECK(contains(text, "instances with decisions: 2 of 3, agreement: yes, incomplete: 2\n"));
}

TEST_CASE("launch: replicas killed on request are not expected to decide") {
  ClusterOptions o = options(3, 2);
  ClusterResult r = finished(3);
  r.replicas[2].killed = true;
  r.replicas[2].status = -9;
  r.decisions = {decision(0, 0, "5"), decision(1, 0, "5"), decision(0, 1, "5"), decision(1, 1, "5")};
  Summary s = summarize(o, r);
  CHECK(s.expected_deciders == 2);
  CHECK(s.incomplete == 0);
  CHECK(s.failed.empty());
  CHECK(s.exit_status == 0);
  CHECK(contains(printed(o, r), "replicas: 3 (1 killed), instances with decisions: 2 of 2, agreement: yes, incomplete: 0"));
}

TEST_CASE("launch: two values for one instance is a disagreement") {
  ClusterOptions o = options(3, 1);
  ClusterResult r = finished(3);
  r.decisions = {decision(0, 0, "1"), decision(1, 0, "1"), decision(2, 0, "2")};
  Summary s = summarize(o, r);
  CHECK(s.disagreements == 1);
  CHECK(s.exit_status == 1);
  const std::string text = printed(o, r);
  CHECK(contains(text, "instance 0: 3/3 decided, values 1, 2   <-- DISAGREEMENT"));
  CHECK(contains(text, "agreement: VIOLATED"));
}

TEST_CASE("launch: with many instances, disagreements and the first incomplete ones are named") {
  ClusterOptions o = options(2, 1000);
  ClusterResult r = finished(2);
  for (uint64_t i = 0; i < 1000; ++i) {
    if (i % 25 == 3) continue;  // 40 instances nobody decided: 3, 28, 53, ...
    r.decisions.push_back(decision(0, i, "7"));
    r.decisions.push_back(decision(1, i, i == 500 ? "8" : "7"));
  }
  Summary s = summarize(o, r);
  CHECK(s.with_decisions == 960);
  CHECK(s.incomplete == 40);
  CHECK(s.disagreements == 1);
  REQUIRE(s.shown.size() == 11);  // the disagreement and 10 undecided
  CHECK(s.shown[0].instance == 3);
  CHECK(s.shown[9].instance == 228);
  CHECK(s.shown[10].instance == 500);
  CHECK(s.incomplete_not_shown == 30);
  CHECK(contains(printed(o, r), "... and 30 more incomplete instance(s)\n"));
}

TEST_CASE("launch: how replicas ended is reported as it happened") {
  ClusterOptions o = options(4, 1);
  SUBCASE("stopping by themselves at the time limit is not a kill by signal 15") {
    ClusterResult r = finished(4);
    for (int i : {0, 1, 2}) {
      r.replicas[size_t(i)].status = 1;
      r.replicas[size_t(i)].ended_us = o.time_limit_us + 3'000;
    }
    r.replicas[3].killed = true;
    r.replicas[3].status = -9;
    Summary s = summarize(o, r);
    CHECK(s.at_time_limit == std::vector<int>{0, 1, 2});
    CHECK(s.failed.empty());
    CHECK(s.exit_status == 1);
    const std::string text = printed(o, r);
    CHECK(contains(text, "stopped: the time limit (2s) was reached; replicas 0, 1, 2 stopped there with instances undecided"));
    CHECK_FALSE(contains(text, "signal"));
  }
  SUBCASE("an undecided exit before the limit, a crash, and an overstay are failures") {
    ClusterResult r = finished(4);
    r.replicas[0].status = 1;  // gave up (--max-rounds) long before the limit
    r.replicas[1].status = -11;
    r.replicas[1].stderr_tail = "last words\n";
    r.replicas[2].stopped = true;
    r.replicas[2].status = -15;
    r.decisions = {decision(3, 0, "1")};
    Summary s = summarize(o, r);
    CHECK(s.failed == std::vector<int>{0, 1, 2});
    CHECK(s.at_time_limit.empty());
    CHECK(s.exit_status == 1);
    const std::string text = printed(o, r);
    CHECK(contains(text, "replica 0 exited with status 1 (an instance ended undecided)\n"));
    CHECK(contains(text, "replica 1 was killed by signal 11"));
    CHECK(contains(text, "  its last log lines:\nlast words\n"));
    CHECK(contains(text, "replica 2 did not stop at the time limit and was stopped by psyncc run\n"));
  }
  SUBCASE("a replica that could not start makes it a cluster failure") {
    ClusterResult r = finished(4);
    r.replicas[1].status = 2;
    CHECK(summarize(o, r).exit_status == 2);
  }
  SUBCASE("Ctrl-C: the replicas psyncc stopped are not failures") {
    ClusterResult r = finished(4);
    r.interrupted = true;
    for (Replica& rep : r.replicas) {
      rep.stopped = true;
      rep.status = 143;
    }
    Summary s = summarize(o, r);
    CHECK(s.failed.empty());
    CHECK(s.exit_status == 130);
    CHECK(contains(printed(o, r), "stopped: interrupted\n"));
  }
  SUBCASE("a cluster that did not run") {
    ClusterResult r;
    r.error = "--input init: 'x' is not an int";
    r.config_error = true;
    CHECK(summarize(o, r).exit_status == 2);
  }
}

TEST_CASE("launch: temporary directories live under $TMPDIR") {
  const std::string base = std::filesystem::current_path() / "launch-tmpdir";
  std::filesystem::create_directories(base);
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", base.c_str(), 1);
  std::string error;
  const std::string dir = make_temp_dir("psync-test", error);
  CHECK(error.empty());
  CHECK(dir.rfind(base + "/psync-test-", 0) == 0);
  CHECK(std::filesystem::is_directory(dir));
  setenv("TMPDIR", (base + "/missing").c_str(), 1);
  CHECK(make_temp_dir("psync-test", error).empty());
  CHECK(contains(error, "TMPDIR"));
  if (old) setenv("TMPDIR", saved.c_str(), 1);
  else unsetenv("TMPDIR");
  std::filesystem::remove_all(base);
}

// ---- Real processes on loopback -------------------------------------------------

TEST_CASE("launch: a healthy OneThirdRule cluster decides every instance") {
  // 3 of 4 alive is more than 2n/3: replica 3, killed at the start, is not missed.
  ClusterOptions o = options(4, 4);
  o.binary = PSYNC_OTR_NODE;
  o.node_args = {"--input", "init=3", "--window", "2"};
  o.kills = {{3, 0}};
  o.time_limit_us = 30'000'000;
  bool started = false;
  o.on_start = [&] { started = true; };
  ClusterResult r = run_cluster(o);
  CHECK(started);
  CHECK(r.error.empty());
  Summary s = summarize(o, r);
  CHECK(s.with_decisions == 4);
  CHECK(s.incomplete == 0);
  CHECK(s.failed.empty());
  CHECK(s.exit_status == 0);
  CHECK(r.replicas[3].killed);
  CHECK(r.replicas[3].status == -9);
  CHECK(r.decisions.size() == 12);  // killed before it ran, replica 3 decided nothing
  for (const Decision& d : r.decisions) CHECK(d.value == "3");
}

TEST_CASE("launch: a bad --input stops everything before any replica starts") {
  ClusterOptions o = options(3, 1);
  o.binary = PSYNC_OTR_NODE;
  o.node_args = {"--input", "init=x"};
  bool started = false;
  o.on_start = [&] { started = true; };
  ClusterResult r = run_cluster(o);
  CHECK_FALSE(started);
  CHECK(r.config_error);
  CHECK(r.error == "--input init: 'x' is not an int");
  CHECK(r.decisions.empty());
  CHECK(summarize(o, r).exit_status == 2);
}

TEST_CASE("launch: replicas stop themselves at the shared time limit") {
  // OneThirdRule needs more than 2n/3 messages: dropping every one it
  // receives, nobody decides.
  ClusterOptions o = options(3, 2);
  o.binary = PSYNC_OTR_NODE;
  o.node_args = {"--input", "init=1", "--drop", "1"};
  o.time_limit_us = 1'000'000;
  ClusterResult r = run_cluster(o);
  REQUIRE(r.error.empty());
  for (int i : {0, 1, 2}) {
    const Replica& rep = r.replicas[size_t(i)];
    CHECK_FALSE(rep.stopped);
    CHECK(rep.status == 1);
    CHECK(rep.ended_us >= o.time_limit_us);
    CHECK(rep.ended_us < o.time_limit_us + o.stop_grace_us);
  }
  Summary s = summarize(o, r);
  CHECK(s.at_time_limit == std::vector<int>{0, 1, 2});
  CHECK(s.failed.empty());
  CHECK(s.incomplete == 2);
  CHECK(s.exit_status == 1);
}

TEST_CASE("launch: misbehaving replicas") {
  ClusterOptions o = options(3, 1);
  o.binary = PSYNC_FAKE_NODE;
  SUBCASE("one that overstays the time limit is stopped and said to be") {
    setenv("FAKE_NODE_MODE", "hang", 1);
    o.time_limit_us = 200'000;
    o.stop_grace_us = 300'000;
    ClusterResult r = run_cluster(o);
    for (const Replica& rep : r.replicas) {
      CHECK(rep.stopped);
      CHECK(rep.status == -15);
      CHECK(rep.ended_us < 3'000'000);
    }
    Summary s = summarize(o, r);
    CHECK(s.failed.size() == 3);
    CHECK(s.exit_status == 1);
  }
  SUBCASE("a crash") {
    setenv("FAKE_NODE_MODE", "crash", 1);
    ClusterResult r = run_cluster(o);
    CHECK(r.replicas[0].status == -11);
    CHECK(summarize(o, r).exit_status == 1);
    CHECK(contains(printed(o, r), "replica 0 was killed by signal 11"));
  }
  SUBCASE("a port that cannot be bound") {
    setenv("FAKE_NODE_MODE", "no-port", 1);
    ClusterResult r = run_cluster(o);
    CHECK(summarize(o, r).exit_status == 2);
    CHECK(contains(printed(o, r), "Address already in use"));
  }
  SUBCASE("disagreement between real processes") {
    setenv("FAKE_NODE_MODE", "disagree", 1);
    ClusterResult r = run_cluster(o);
    Summary s = summarize(o, r);
    CHECK(s.disagreements == 1);
    CHECK(s.exit_status == 1);
  }
  SUBCASE("a configuration the replicas reject") {
    setenv("FAKE_NODE_MODE", "bad-config", 1);
    ClusterResult r = run_cluster(o);
    CHECK(r.config_error);
    CHECK(r.error == "--input init: 'x' is not an int");
  }
  SUBCASE("a binary that does not exist") {
    o.binary = "/nonexistent/psync-node";
    ClusterResult r = run_cluster(o);
    CHECK_FALSE(r.config_error);
    CHECK(contains(r.error, "/nonexistent/psync-node --check-config exited with status 127"));
    CHECK(summarize(o, r).exit_status == 2);
  }
  unsetenv("FAKE_NODE_MODE");
}

namespace {

// A made-up protocol for the final-state invariants: one word of state per
// process, and the invariant "no two processes hold 1".
uint64_t one_word(int32_t) { return 8; }
int32_t at_most_one_holder(const void* const* states, const psync_env* env) {
  int holders = 0;
  for (int32_t i = 0; i < env->n; ++i) holders += *static_cast<const int64_t*>(states[i]) == 1;
  return holders <= 1;
}

// The state as the node prints it: its bytes in order (little-endian here).
FinalState final_state(int id, uint64_t instance, int64_t round, int64_t word) {
  FinalState f;
  f.id = id;
  f.instance = instance;
  f.round = round;
  f.outputs = "{}";
  const auto* bytes = reinterpret_cast<const unsigned char*>(&word);
  char hex[3];
  for (size_t b = 0; b < sizeof word; ++b) {
    std::snprintf(hex, sizeof hex, "%02x", bytes[b]);
    f.state += hex;
  }
  return f;
}

}  // namespace

TEST_CASE("launch: a final-state line carries the state in hex") {
  FinalState f;
  REQUIRE(parse_final_line("{\"id\":1,\"instance\":4,\"round\":11,\"final\":{\"leader\":0},\"state\":\"0a0b\"}", f));
  CHECK(f.id == 1);
  CHECK(f.instance == 4);
  CHECK(f.round == 11);
  CHECK(f.outputs == "{\"leader\":0}");
  CHECK(f.state == "0a0b");
  REQUIRE(parse_final_line("{\"id\":1,\"instance\":4,\"round\":11,\"final\":{}}", f));
  CHECK(f.state.empty());
}

TEST_CASE("launch: invariants over the final states: held, violated, or said why not evaluated") {
  psync_spec_desc spec{};
  spec.name = "one_holder";
  spec.kind = PSYNC_SPEC_INVARIANT;
  spec.eval = at_most_one_holder;
  psync_protocol_desc desc{};
  desc.num_rounds = 1;
  desc.num_specs = 1;
  desc.specs = &spec;
  desc.state_size = one_word;
  InvariantPlan plan;
  plan.desc = &desc;
  plan.not_evaluated = {"liveness later (speaks of heard-of sets)"};
  ClusterOptions o = options(3, 6);
  o.decides = false;
  o.invariants = &plan;
  ClusterResult r = finished(3);
  for (int id = 0; id < 3; ++id) {
    r.finals.push_back(final_state(id, 0, 7, id == 1));          // one holder: holds
    r.finals.push_back(final_state(id, 1, 7, id != 1));          // two holders: violated
    if (id != 2) r.finals.push_back(final_state(id, 2, 7, 0));   // replica 2 missing
    r.finals.push_back(final_state(id, 3, id == 0 ? 6 : 7, 0));  // rounds differ
  }
  FinalState bad = final_state(0, 4, 7, 0);
  bad.state = "0a";  // not one word
  r.finals.push_back(bad);
  r.finals.push_back(final_state(1, 4, 7, 0));
  r.finals.push_back(final_state(2, 4, 7, 0));
  for (int id = 0; id < 3; ++id) r.finals.push_back(final_state(id, 5, -1, 0));  // no such round
  Summary s = summarize(o, r);
  REQUIRE(s.invariants.size() == 6);
  CHECK(s.invariants[0].evaluated);
  CHECK(s.invariants[0].violated.empty());
  CHECK(s.invariants[1].violated == std::vector<std::string>{"one_holder"});
  CHECK_FALSE(s.invariants[2].evaluated);
  CHECK_FALSE(s.invariants[3].evaluated);
  CHECK_FALSE(s.invariants[4].evaluated);
  CHECK_FALSE(s.invariants[5].evaluated);
  CHECK(s.invariant_violations == 1);
  CHECK(s.exit_status == 1);
  const std::string text = printed(o, r);
  CHECK(contains(text, "instance 1: invariant `one_holder` VIOLATED on the final states (round 7)\n"));
  CHECK(contains(text, "instance 2: invariants not evaluated: no final state from replica 2\n"));
  CHECK(contains(text, "instance 3: invariants not evaluated: the replicas ended in different rounds (6 and 7)\n"));
  CHECK(contains(text, "instance 4: invariants not evaluated: replica 0's final state is missing or not 8 bytes"));
  CHECK(contains(text, "instance 5: invariants not evaluated: the replicas reported round -1, outside 0..9223372036854775806\n"));
  CHECK(contains(text, "invariants on the final states: one_holder; 2 of 6 instance(s) evaluated, 1 violated; "
                       "not evaluated here: liveness later (speaks of heard-of sets)\n"));
  // Without a violation the run succeeds, unjudged instances included.
  r.finals.erase(std::remove_if(r.finals.begin(), r.finals.end(), [](const FinalState& f) { return f.instance == 1; }),
                 r.finals.end());
  CHECK(summarize(o, r).exit_status == 0);
}
