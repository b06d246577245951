// driver.cpp: run_check and run_simulate, what `psyncc check` and `psyncc
// simulate` call once the protocol is compiled: run the engine, print the
// verdict (with a live progress line on a terminal only), write the trace
// files, and turn the verdict into an exit code.
#include "engine.h"

#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace psync::check {

using detail::write_file;

namespace {

std::string human(double v) {
  char buf[32];
  if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

bool is_terminal(std::FILE* f) { return f && isatty(fileno(f)) == 1; }

void print_progress(const Progress& p, void* user) {
  auto* out = static_cast<std::FILE*>(user);
  double rate = p.seconds > 0 ? static_cast<double>(p.states) / p.seconds : 0;
  std::fprintf(out, "\r\033[K  states %s  frontier %s  %s states/s  depth %d", human(static_cast<double>(p.states)).c_str(),
               human(static_cast<double>(p.frontier)).c_str(), human(rate).c_str(), p.depth);
  std::fflush(out);
}

// Writes the requested trace files; returns false (after saying why) if one failed.
bool write_traces(const Trace& t, const std::string& json, const std::string& svg, std::FILE* out) {
  bool ok = true;
  if (!json.empty()) {
    std::string e = write_file(json, trace_to_json(t));
    if (e.empty()) std::fprintf(out, "wrote trace %s\n", json.c_str());
    else { std::fprintf(out, "error: %s\n", e.c_str()); ok = false; }
  }
  if (!svg.empty()) {
    std::string e = write_file(svg, trace_to_svg(t));
    if (e.empty()) std::fprintf(out, "wrote diagram %s\n", svg.c_str());
    else { std::fprintf(out, "error: %s\n", e.c_str()); ok = false; }
  }
  return ok;
}

// The specs that were checked: every spec but those named in `unchecked`.
std::string specs_summary(const psync_protocol_desc& d, const std::vector<std::string>& unchecked) {
  std::string s;
  for (uint32_t i = 0; i < d.num_specs; ++i) {
    const psync_spec_desc& sp = d.specs[i];
    std::string label = detail::spec_kind_name(sp.kind) + " " + (sp.name ? sp.name : "?");
    bool skipped = false;
    for (const std::string& u : unchecked) skipped = skipped || u.rfind(label + ":", 0) == 0;
    if (skipped) continue;
    if (!s.empty()) s += ", ";
    s += label;
    if (sp.kind == PSYNC_SPEC_LIVENESS) s += " (after " + std::to_string(sp.after_rounds) + ")";
  }
  return s.empty() ? "none (only decide conflicts)" : s;
}

// What stopped a run, in words: CheckStats::stopped or trace_cut.
std::string stop_reason(const std::string& stopped) {
  return stopped == "state limit"  ? "the state limit (--max-states) was reached"
         : stopped == "time limit" ? "the time limit (--time-limit) was reached"
                                   : "interrupted by " + stopped;
}

// An internal error: what went wrong, and that it is the checker's bug.
int report_internal_error(const std::string& error, std::FILE* out) {
  std::fprintf(out, "internal error: %s\n", error.c_str());
  std::fprintf(out, "  this is a bug in the checker, not in the protocol or the command line: please report it "
                    "with the command and the .psync file (exit status %d)\n", kExitInternal);
  return kExitInternal;
}

// Runs of run_check's own tests: PSYNC_CHECK_TEST_FAULT (CheckOptions::test_fault).
bool read_test_fault(CheckOptions& opts, std::FILE* out) {
  const char* f = std::getenv("PSYNC_CHECK_TEST_FAULT");
  if (f == nullptr || *f == '\0') return true;
  if (std::strcmp(f, "corrupt-replay") != 0 && std::strcmp(f, "stop-in-rebuild") != 0) {
    std::fprintf(out, "error: PSYNC_CHECK_TEST_FAULT=%s: expected corrupt-replay or stop-in-rebuild\n", f);
    return false;
  }
  opts.test_fault = f;
  return true;
}

// `--stats-json`: the figures bench/check reads, one JSON object.
std::string stats_json(const psync_protocol_desc& desc, const CheckOptions& opts, const CheckResult& r) {
  const CheckStats& s = r.stats;
  const nlohmann::ordered_json j = {
      {"protocol", desc.name ? desc.name : ""},
      {"n", opts.n},
      {"verdict", r.verdict == Verdict::kOk ? (r.stats.unchecked.empty() ? "ok" : "partial")
                  : r.verdict == Verdict::kViolation ? "violation"
                                                     : "incomplete"},
      {"states", s.states},
      {"transitions", s.transitions},
      {"initial_states", s.initial_states},
      {"depth", s.depth},
      {"bound", s.bound},
      {"exhausted", s.exhausted},
      {"seconds", s.seconds},
      {"store_bytes", s.store_bytes},
      {"peak_rss_bytes", s.peak_rss_bytes},
      {"unchecked", s.unchecked},
      {"stopped", s.stopped},
      {"search_cut", s.search_cut},
      {"trace_cut", s.trace_cut},
  };
  return j.dump() + "\n";
}

// SIGINT and SIGTERM during a check or a simulation: the engines poll the
// flag, stop, and the figures reached so far are printed. The previous
// handlers come back when the run ends.
volatile int g_stop_signal = 0;

extern "C" void record_stop_signal(int sig) { g_stop_signal = sig == SIGTERM ? 2 : 1; }

class StopOnSignals {
 public:
  StopOnSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = record_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace

int exit_status(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk: return kExitOk;
    case Verdict::kViolation: return kExitViolation;
    case Verdict::kIncomplete: return kExitIncomplete;
    case Verdict::kError: return kExitUsage;
    case Verdict::kInternalError: return kExitInternal;
  }
  return kExitInternal;
}

int run_check(const psync_protocol_desc& desc, const CheckOptions& opts_in, std::FILE* out) {
  bool tty = opts_in.progress && is_terminal(out);
  StopOnSignals signals;
  CheckOptions opts = opts_in;
  if (opts.stop == nullptr) opts.stop = &g_stop_signal;
  if (!read_test_fault(opts, out)) return kExitUsage;
  CheckResult r = explore(desc, opts, tty ? print_progress : nullptr, out);
  if (tty) std::fprintf(out, "\r\033[K");
  if (r.verdict == Verdict::kInternalError) return report_internal_error(r.error, out);
  if (r.verdict == Verdict::kError) {
    std::fprintf(out, "error: %s\n", r.error.c_str());
    return exit_status(r.verdict);
  }
  const CheckStats& s = r.stats;
  bool partial = r.verdict == Verdict::kOk && !s.unchecked.empty();
  if (!opts.stats_json.empty()) {
    std::string e = write_file(opts.stats_json, stats_json(desc, opts, r));
    if (!e.empty()) std::fprintf(out, "error: %s\n", e.c_str());
  }
  double secs = s.seconds > 0 ? s.seconds : 1e-9;
  std::string figures = std::to_string(s.states) + " states, " + std::to_string(s.transitions) + " transitions, depth " +
                        std::to_string(s.depth) + ", " + human(static_cast<double>(s.states) / secs) + " states/s, " +
                        human(static_cast<double>(s.transitions) / secs) + " transitions/s";
  char tbuf[32];
  std::snprintf(tbuf, sizeof tbuf, "%.3f s", s.seconds);
  std::fprintf(out, "%s: n = %d, inputs %lld..%lld, %s%s\n", desc.name ? desc.name : "protocol", opts.n,
               static_cast<long long>(opts.values_lo), static_cast<long long>(opts.values_hi),
               s.bound < 0 ? "no round bound" : ("rounds <= " + std::to_string(s.bound)).c_str(),
               opts.symmetry ? ", symmetry reduction" : "");
  if (r.verdict == Verdict::kIncomplete) {
    std::fprintf(out, "incomplete: %s after %s (%s)\n", stop_reason(s.stopped).c_str(), figures.c_str(), tbuf);
    std::fprintf(out, "  no violation in executions of up to %d rounds; the run is incomplete, so nothing is claimed beyond\n",
                 s.depth);
    return kExitIncomplete;
  }
  if (r.verdict == Verdict::kOk) {
    if (partial) {
      std::string reasons;
      for (const std::string& u : s.unchecked) reasons += (reasons.empty() ? "" : "; ") + u;
      bool liveness_only = true;
      for (const std::string& u : s.unchecked) liveness_only = liveness_only && u.rfind("liveness ", 0) == 0;
      std::fprintf(out, "ok (%s; not checked: %s): %s (%s)\n", liveness_only ? "safety only" : "partial",
                   reasons.c_str(), figures.c_str(), tbuf);
    } else {
      std::fprintf(out, "ok: %s (%s)\n", figures.c_str(), tbuf);
    }
    std::fprintf(out, "  checked: %s\n", specs_summary(desc, s.unchecked).c_str());
    if (s.exhausted)
      std::fprintf(out, "  every reachable state was visited: the verdict holds for executions of any length\n");
    else
      std::fprintf(out, "  the verdict covers executions of up to %d rounds\n", s.depth);
    // Switched off by the user: they asked for safety only. Over a limit:
    // a distinct status, so that a script cannot mistake it for a full ok.
    bool user_choice = true;
    for (const std::string& u : s.unchecked) user_choice = user_choice && u.find("(--no-liveness)") != std::string::npos;
    return partial && !user_choice ? kExitPartial : kExitOk;
  }
  write_trace_table(r.trace, out);
  std::fprintf(out, "(%s, %s)\n", figures.c_str(), tbuf);
  // The violation is certain either way; these say what a limit left out.
  if (!s.trace_cut.empty())
    std::fprintf(out, "incomplete trace: the liveness window was not rebuilt (%s); the trace ends where it starts\n",
                 stop_reason(s.trace_cut).c_str());
  if (s.search_cut)
    std::fprintf(out, "not proven shortest: %s after this violation was found, before the search could rule out a "
                      "shorter one (executions of up to %d rounds were covered)\n",
                 stop_reason(s.stopped).c_str(), s.depth);
  write_traces(r.trace, opts.trace_json, opts.svg, out);
  return kExitViolation;
}

int run_simulate(const psync_protocol_desc& desc, const SimulateOptions& opts_in, std::FILE* out) {
  StopOnSignals signals;
  SimulateOptions opts = opts_in;
  if (opts.stop == nullptr) opts.stop = &g_stop_signal;
  SimulateResult r = simulate(desc, opts);
  if (r.verdict == Verdict::kInternalError) return report_internal_error(r.error, out);
  if (r.verdict == Verdict::kError) {
    std::fprintf(out, "error: %s\n", r.error.c_str());
    return exit_status(r.verdict);
  }
  std::fprintf(out, "%s: n = %d, %llu run%s from seed %llu, loss %.3g, crash %.3g, inputs %lld..%lld (%.3f s)\n",
               desc.name ? desc.name : "protocol", opts.n, static_cast<unsigned long long>(r.runs),
               r.runs == 1 ? "" : "s", static_cast<unsigned long long>(opts.seed), opts.loss, opts.crash,
               static_cast<long long>(opts.values_lo), static_cast<long long>(opts.values_hi), r.seconds);
  if (r.verdict == Verdict::kViolation) {
    std::fprintf(out, "violation in run %llu (seed %lld)\n", static_cast<unsigned long long>(r.runs - 1),
                 static_cast<long long>(r.trace.seed));
    write_trace_table(r.trace, out);
    write_traces(r.trace, opts.trace_json, opts.svg, out);
    return kExitViolation;
  }
  std::string liveness;  // the protocol's liveness specs, by name
  for (uint32_t i = 0; i < desc.num_specs; ++i)
    if (desc.specs[i].kind == PSYNC_SPEC_LIVENESS)
      liveness += std::string(liveness.empty() ? "" : ", ") + "`" + (desc.specs[i].name ? desc.specs[i].name : "?") + "`";
  if (!r.stopped.empty())
    std::fprintf(out, "incomplete: %s after %llu of %llu runs; the figures below cover those runs only\n",
                 r.stopped == "time limit" ? "the time limit (--time-limit) was reached" : ("interrupted by " + r.stopped).c_str(),
                 static_cast<unsigned long long>(r.runs), static_cast<unsigned long long>(opts.runs));
  std::fprintf(out, "ok: no violation; %llu run%s decided, %llu did not decide within the round limit",
               static_cast<unsigned long long>(r.runs_decided), r.runs_decided == 1 ? "" : "s",
               static_cast<unsigned long long>(r.runs_undecided));
  if (r.runs_assume_unsat)
    std::fprintf(out, ", %llu stopped (no heard-of draw satisfied the assumptions)",
                 static_cast<unsigned long long>(r.runs_assume_unsat));
  std::fprintf(out, "\n");
  // Runs that never decided are reported, and flagged when the protocol
  // promises termination: they are not violations (no window of its
  // predicate ended undecided), but they are not evidence of liveness either.
  bool flag_undecided = !liveness.empty() && r.runs_undecided > 0;
  if (flag_undecided) {
    std::fprintf(out, "undecided: %llu of %llu runs never decided within %d rounds, although the protocol states liveness %s",
                 static_cast<unsigned long long>(r.runs_undecided), static_cast<unsigned long long>(r.runs),
                 opts.rounds >= 0 ? opts.rounds : std::max(30, 10 * static_cast<int>(desc.num_rounds)), liveness.c_str());
    if (r.runs_undecided_good_window == 0)
      std::fprintf(out, "; in none of them did its predicate hold for a whole window (try fewer losses or more rounds)\n");
    else
      std::fprintf(out, "; %llu of them had a window where the predicate held throughout\n",
                   static_cast<unsigned long long>(r.runs_undecided_good_window));
  }
  uint64_t peak = 0;
  for (uint64_t c : r.decide_histogram) peak = std::max(peak, c);
  if (peak) {
    std::fprintf(out, "rounds until every live process decided:\n");
    size_t last = r.decide_histogram.size();
    while (last > 0 && r.decide_histogram[last - 1] == 0) --last;
    for (size_t k = 0; k < last; ++k) {
      uint64_t c = r.decide_histogram[k];
      if (!c && k < 1) continue;
      int bar = static_cast<int>(std::lround(40.0 * static_cast<double>(c) / static_cast<double>(peak)));
      std::fprintf(out, "  %3zu | %-40s %llu\n", k, std::string(static_cast<size_t>(bar), '#').c_str(),
                   static_cast<unsigned long long>(c));
    }
  }
  if (!r.stopped.empty()) return kExitIncomplete;
  return flag_undecided ? kExitPartial : kExitOk;
}

}  // namespace psync::check
