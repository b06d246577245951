// fixture_tool.cpp: `psync-check-fixtures`, the checker's command line over
// the compiled fixtures of fixtures.h (by name) or any .psync file, with the
// knobs `psyncc check` decides itself (--symmetry, --cyclic). The CTest
// scripts and bench/check use it.
//
//   psync-check-fixtures check NAME|FILE.psync -n N [--rounds R] [--values A..B]
//       [--symmetry] [--cyclic] [--phases] [--no-liveness] [--threads T]
//       [--max-states M] [--trace-json F] [--svg F] [--stats-json F]
//   psync-check-fixtures simulate NAME|FILE.psync -n N [--runs K] [--seed S]
//       [--loss P] [--crash C] [--rounds R] [--values A..B]
//       [--trace-json F] [--svg F]
#include "check.h"
#include "fixtures.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

using namespace psync::check;

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "psync-check-fixtures: %s\n", why);
  std::fprintf(stderr, "usage: psync-check-fixtures check|simulate NAME|FILE.psync -n N [options]\nprotocols:");
  for (const auto& f : psync::fixtures::kFixtures) std::fprintf(stderr, " %s", f.name);
  std::fprintf(stderr, "\n");
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
  const psync::fixtures::Fixture* fixture = psync::fixtures::fixture_named(argv[2]);
  // A fixture's file is relative to the source tree; one on the command line, to here.
  const std::string file = fixture ? fixture->file : std::filesystem::absolute(argv[2]).string();
  if (!fixture && !(file.size() > 6 && file.compare(file.size() - 6, 6, ".psync") == 0))
    return usage("unknown protocol");
  const psync_protocol_desc* desc = nullptr;
  try {
    desc = &psync::test::compiled(file);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "psync-check-fixtures: %s\n", e.what());
    return kExitUsage;
  }
  CheckOptions c;
  SimulateOptions s;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--symmetry") c.symmetry = true;
    else if (a == "--cyclic") c.cyclic_rounds = true;
    else if (a == "--phases") c.phase_abstraction = true;
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
