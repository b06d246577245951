// cluster.h: `psyncc run`: start N replicas of a compiled protocol as
// separate processes on loopback, gather their JSON decision lines, and
// summarise them (agreement per instance, rounds and latency percentiles).
// In: a linked protocol binary. Out: a Summary, and the children are gone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace psync {

struct ClusterOptions {
  std::string binary;                   // the linked protocol
  int n = 3;
  std::vector<std::string> node_args;   // passed to every replica (--input, --timeout, ...)
  std::vector<std::pair<int, int64_t>> kills;  // (replica, after microseconds): SIGKILL
  std::string transport = "udp";
  int64_t time_limit_us = 60'000'000;   // the whole run; children are killed after it
  bool show_logs = false;               // forward replicas' stderr
};

struct Decision {
  int id = 0;
  uint64_t instance = 0;
  int64_t round = 0;
  std::string value;  // as printed (JSON)
  int64_t us = 0;
};

struct ClusterResult {
  std::vector<Decision> decisions;
  std::vector<int> exit_status;        // per replica; -signal if killed
  std::vector<std::string> stderr_tail;
  bool timed_out = false;
  bool interrupted = false;
  std::string error;                   // could not start
};

/// Runs the cluster to completion (or the time limit, or Ctrl-C).
ClusterResult run_cluster(const ClusterOptions& options);

/// Parses one decision line printed by a node; false if it is not one.
bool parse_decision_line(const std::string& line, Decision& out);

/// Prints the summary; returns the exit status for psyncc: 0 when every
/// instance has agreeing decisions from every replica that was not killed,
/// 1 on disagreement or a missing decision.
int print_summary(const ClusterOptions& options, const ClusterResult& result, std::FILE* out);

}  // namespace psync
