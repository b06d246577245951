// fixture_tool.cpp: `psync-check-fixtures`, the checker's command line over
// the hand-written descriptors, standing in for `psyncc check/simulate`
// until the back end lands. The CTest scripts and bench/check use it.
//
//   psync-check-fixtures check NAME -n N [--rounds R] [--values A..B]
//       [--symmetry] [--cyclic] [--no-liveness] [--threads T]
//       [--max-states M] [--trace-json F] [--svg F] [--stats-json F]
//   psync-check-fixtures simulate NAME -n N [--runs K] [--seed S]
//       [--loss P] [--crash C] [--rounds R] [--values A..B]
//       [--trace-json F] [--svg F]
#include "check.h"
#include "protocols.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace psync::check;

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "psync-check-fixtures: %s\n", why);
  std::fprintf(stderr,
               "usage: psync-check-fixtures check|simulate NAME -n N [options]\n"
               "protocols: %s\n",
               psync::fixtures::fixture_names());
  return kExitUsage;
}

bool parse_range(const char* s, int64_t& lo, int64_t& hi) {
  const char* dots = std::strstr(s, "..");
  if (!dots) return false;
  char* end = nullptr;
  lo = std::strtoll(s, &end, 10);
  if (end != dots) return false;
  hi = std::strtoll(dots + 2, &end, 10);
  return *end == '\0' && lo <= hi;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage("missing command or protocol");
  std::string cmd = argv[1];
  const psync_protocol_desc* desc = psync::fixtures::fixture_by_name(argv[2]);
  if (!desc) return usage("unknown protocol");
  CheckOptions c;
  SimulateOptions s;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--symmetry") c.symmetry = true;
    else if (a == "--cyclic") c.cyclic_rounds = true;
    else if (a == "--no-liveness") c.liveness = false;
    else if (!(v = value())) return usage(("missing value for " + a).c_str());
    else if (a == "-n") c.n = s.n = std::atoi(v);
    else if (a == "--rounds") c.rounds = s.rounds = std::atoi(v);
    else if (a == "--values") {
      if (!parse_range(v, c.values_lo, c.values_hi)) return usage("--values wants A..B");
      s.values_lo = c.values_lo;
      s.values_hi = c.values_hi;
    } else if (a == "--threads") c.threads = std::atoi(v);
    else if (a == "--max-states") c.max_states = std::strtoull(v, nullptr, 10);
    else if (a == "--trace-json") c.trace_json = s.trace_json = v;
    else if (a == "--svg") c.svg = s.svg = v;
    else if (a == "--stats-json") c.stats_json = v;
    else if (a == "--runs") s.runs = std::strtoull(v, nullptr, 10);
    else if (a == "--seed") s.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--loss") s.loss = std::atof(v);
    else if (a == "--crash") s.crash = std::atof(v);
    else return usage(("unknown option " + a).c_str());
  }
  if (cmd == "check") return run_check(*desc, c, stdout);
  if (cmd == "simulate") return run_simulate(*desc, s, stdout);
  return usage("command must be check or simulate");
}
