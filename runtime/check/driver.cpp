// driver.cpp: run_check and run_simulate, what `psyncc check` and `psyncc
// simulate` call once the protocol is compiled: run the engine, print the
// verdict (with a live progress line on a terminal only), write the trace
// files, and turn the verdict into an exit code.
#include "engine.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

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

std::string specs_summary(const psync_protocol_desc& d, bool liveness_checked) {
  std::string s;
  for (uint32_t i = 0; i < d.num_specs; ++i) {
    const psync_spec_desc& sp = d.specs[i];
    if (sp.kind == PSYNC_SPEC_LIVENESS && !liveness_checked) continue;
    if (!s.empty()) s += ", ";
    s += detail::spec_kind_name(sp.kind) + " " + (sp.name ? sp.name : "?");
    if (sp.kind == PSYNC_SPEC_LIVENESS) s += " (after " + std::to_string(sp.after_rounds) + ")";
  }
  return s.empty() ? "none (only decide conflicts)" : s;
}

}  // namespace

int run_check(const psync_protocol_desc& desc, const CheckOptions& opts, std::FILE* out) {
  bool tty = opts.progress && is_terminal(out);
  bool has_live = false;
  for (uint32_t i = 0; i < desc.num_specs; ++i) has_live = has_live || desc.specs[i].kind == PSYNC_SPEC_LIVENESS;
  bool live_checked = has_live && opts.liveness && opts.n * opts.n <= std::min(opts.liveness_max_ho_bits, 30);
  CheckResult r = explore(desc, opts, tty ? print_progress : nullptr, out);
  if (tty) std::fprintf(out, "\r\033[K");
  if (r.verdict == Verdict::kError) {
    std::fprintf(out, "error: %s\n", r.error.c_str());
    return kExitUsage;
  }
  const CheckStats& s = r.stats;
  if (!opts.stats_json.empty()) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"protocol\": \"%s\", \"n\": %d, \"verdict\": \"%s\", \"states\": %llu, \"transitions\": %llu, "
                  "\"initial_states\": %llu, \"depth\": %d, \"bound\": %d, \"exhausted\": %s, \"seconds\": %.6f, "
                  "\"store_bytes\": %llu, \"peak_rss_bytes\": %llu}\n",
                  desc.name ? desc.name : "", opts.n,
                  r.verdict == Verdict::kOk ? "ok" : r.verdict == Verdict::kViolation ? "violation" : "incomplete",
                  static_cast<unsigned long long>(s.states), static_cast<unsigned long long>(s.transitions),
                  static_cast<unsigned long long>(s.initial_states), s.depth, s.bound, s.exhausted ? "true" : "false",
                  s.seconds, static_cast<unsigned long long>(s.store_bytes),
                  static_cast<unsigned long long>(s.peak_rss_bytes));
    std::string e = write_file(opts.stats_json, buf);
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
    std::fprintf(out, "incomplete: state limit reached after %s (%s)\n", figures.c_str(), tbuf);
    return kExitIncomplete;
  }
  if (r.verdict == Verdict::kOk) {
    std::fprintf(out, "ok: %s (%s)\n", figures.c_str(), tbuf);
    std::fprintf(out, "  checked: %s\n", specs_summary(desc, live_checked).c_str());
    if (s.exhausted)
      std::fprintf(out, "  every reachable state was visited: the verdict holds for executions of any length\n");
    else
      std::fprintf(out, "  the verdict covers executions of up to %d rounds\n", s.depth);
    if (has_live && !live_checked)
      std::fprintf(out, "  note: liveness not checked (%s)\n",
                   opts.liveness ? "2^(n*n) heard-of vectors per state is over the limit; raise liveness_max_ho_bits"
                                 : "disabled");
    if (opts.threads > 1) std::fprintf(out, "  note: exploration runs on one thread\n");
    return kExitOk;
  }
  write_trace_table(r.trace, out);
  std::fprintf(out, "(%s, %s)\n", figures.c_str(), tbuf);
  write_traces(r.trace, opts.trace_json, opts.svg, out);
  return kExitViolation;
}

int run_simulate(const psync_protocol_desc& desc, const SimulateOptions& opts, std::FILE* out) {
  SimulateResult r = simulate(desc, opts);
  if (r.verdict == Verdict::kError) {
    std::fprintf(out, "error: %s\n", r.error.c_str());
    return kExitUsage;
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
  uint64_t undecided = r.runs - r.runs_decided - r.runs_assume_unsat;
  std::fprintf(out, "ok: no violation; %llu run%s decided, %llu did not decide within the round limit",
               static_cast<unsigned long long>(r.runs_decided), r.runs_decided == 1 ? "" : "s",
               static_cast<unsigned long long>(undecided));
  if (r.runs_assume_unsat)
    std::fprintf(out, ", %llu stopped (no heard-of draw satisfied the assumptions)",
                 static_cast<unsigned long long>(r.runs_assume_unsat));
  std::fprintf(out, "\n");
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
  return kExitOk;
}

}  // namespace psync::check
