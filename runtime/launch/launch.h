// launch.h: the local cluster behind `psyncc run`. It starts n replicas of a
// linked protocol binary as separate processes on loopback, gathers their
// JSON decision lines, and judges the outcome (agreement and completeness per
// instance, how each replica ended; without a decision, the invariants over
// the replicas' final states). In: a protocol binary and its options.
// Out: a ClusterResult, then a Summary; every child has been reaped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

struct psync_protocol_desc;

namespace psync::launch {

// The invariants `psyncc run` evaluates over the replicas' final states, for
// a protocol without a decision (final_check.cpp). `desc` is the replica
// build, compiled in the launcher's own process: its state layout is the
// replicas' (a model build's is not), and its INVARIANT specs are the ones
// that can be evaluated.
struct InvariantPlan {
  const psync_protocol_desc* desc = nullptr;
  std::vector<int64_t> consts;            // the consts' values as the replicas run them
  std::vector<std::string> not_evaluated;  // "invariant x (reads model state)", "liveness y", ...: named on the output
};

struct Kill {
  int replica = 0;
  int64_t after_us = 0;  // since the launch, SIGKILL; 0: the replica dies before it runs (a crash at start)
};

struct ClusterOptions {
  std::string binary;                  // the linked protocol
  int n = 3;
  uint64_t instances = 1;              // every replica's --instances
  std::vector<std::string> node_args;  // passed to every replica (--input, --timeout, ...)
  std::vector<Kill> kills;
  std::string transport = "udp";
  // Every replica gets --time-limit and stops by itself then; whoever still
  // runs stop_grace_us later is stopped with SIGTERM (then SIGKILL).
  int64_t time_limit_us = 60'000'000;
  int64_t stop_grace_us = 2'000'000;
  bool show_logs = false;  // forward the replicas' stderr
  // The protocol declares a decision (`output x: T`, written by decide):
  // consensus, so every instance must be decided, in agreement. Without one
  // (only `output var`s, or nothing) no agreement is assumed: the replicas'
  // exit statuses decide, and their final output vars are reported.
  bool decides = true;
  // Every replica gets its own key pair (made under the run's temporary
  // directory) and the cluster file lists the public keys; false runs a
  // keyless cluster (each replica warns).
  bool keys = true;
  // Non-empty: replica I keeps its state in data_dir/replica-I (--data-dir).
  std::string data_dir;
  // Not null (a protocol without a decision): its invariants are evaluated
  // over each instance's final states, and a violation fails the run.
  const InvariantPlan* invariants = nullptr;
  // Called once the replicas' command line has passed --check-config, just
  // before they start (psyncc run prints its banner here).
  std::function<void()> on_start;
};

struct Decision {
  int id = 0;
  uint64_t instance = 0;
  int64_t round = 0;
  std::string value;  // as printed (JSON)
  int64_t us = 0;
};

// How one replica ended.
struct Replica {
  int status = 0;              // exit status, or -signal
  int64_t ended_us = -1;       // when it was reaped, since the launch
  bool killed = false;         // by a --kill, as asked
  bool stopped = false;        // by the launcher: past the time limit and its grace, or on Ctrl-C
  std::string stderr_tail;     // the last 8 KiB of its stderr
};

// A replica's `output var`s as one of its instances ended (node "final" line).
struct FinalState {
  int id = 0;
  uint64_t instance = 0;
  int64_t round = 0;
  std::string outputs;  // the JSON object, as printed
  std::string state;    // the whole process state, hex ("state"), empty if absent
};

// The invariants over one instance's final states.
struct InstanceInvariants {
  uint64_t instance = 0;
  bool evaluated = false;
  std::string why_not;               // when not evaluated
  int64_t round = 0;                 // the round the replicas ended in
  std::vector<std::string> violated;  // invariant names
};

struct ClusterResult {
  std::vector<Decision> decisions;
  std::vector<FinalState> finals;
  std::vector<Replica> replicas;
  bool interrupted = false;    // SIGINT or SIGTERM reached the launcher
  // Set when the cluster did not run. config_error: the replicas rejected
  // their command line (checked with --check-config before starting any).
  std::string error;
  bool config_error = false;
};

// Runs the cluster to completion: every replica has exited, or the time
// limit and its grace have passed, or the launcher was interrupted.
ClusterResult run_cluster(const ClusterOptions& options);

// Parses one decision line printed by a node; false if it is not one.
// Parses one final-state line ({"id":..,"instance":..,"round":..,"final":{...}}).
bool parse_final_line(const std::string& line, FinalState& f);
bool parse_decision_line(const std::string& line, Decision& out);

// Evaluates plan's invariants over each instance's final states (every
// replica's, all at one round), for instances 0..instances-1 that have any.
std::vector<InstanceInvariants> evaluate_final_invariants(const InvariantPlan& plan, int n, uint64_t instances,
                                                          const std::vector<FinalState>& finals);

// One instance as the summary shows it.
struct InstanceLine {
  uint64_t instance = 0;
  int deciders = 0;                 // distinct replicas that decided it
  std::vector<std::string> values;  // distinct, sorted
  bool complete = false;            // decided, by every replica not killed on request
};

struct Summary {
  uint64_t with_decisions = 0;   // instances some replica decided
  uint64_t disagreements = 0;    // instances with two different values
  uint64_t incomplete = 0;       // some replica that was not --kill-ed did not decide it (none decided, too)
  int expected_deciders = 0;     // n minus the replicas killed on request
  std::vector<InstanceLine> shown;  // every instance when there are at most 20; else disagreements and the first incomplete ones
  uint64_t incomplete_not_shown = 0;
  std::vector<int> at_time_limit;   // replicas that stopped themselves at the time limit with instances undecided
  std::vector<int> failed;          // replicas that ended otherwise badly (status, signal, stopped by the launcher)
  std::vector<InstanceInvariants> invariants;  // with ClusterOptions::invariants, one per instance with final states
  uint64_t invariant_violations = 0;           // instances where some invariant is false on the final states
  int exit_status = 0;  // what psyncc run returns: 0 ok, 1 not ok, 2 cluster failure, 130 interrupted
};

Summary summarize(const ClusterOptions& options, const ClusterResult& result);

// Prints the summary (errors to stderr) and returns Summary::exit_status.
int print_summary(const ClusterOptions& options, const ClusterResult& result, std::FILE* out);

// A fresh private directory under $TMPDIR (else /tmp): "<tmp>/<prefix>-XXXXXX".
// Empty on failure, with `error` set.
std::string make_temp_dir(const std::string& prefix, std::string& error);

}  // namespace psync::launch
