// check.h: the psync model checker and simulator, a second driver of the
// compiled protocol (the first is the network node). Everything it knows
// about a protocol comes through psync_protocol_desc (psync/abi.h), so what
// is checked is the code that runs.
//
// Two entry points mirror the command line (`psyncc check`, `psyncc
// simulate`); explore() and simulate() are the same engines without the
// printing, for tests and embedders. docs/checker.md has the semantics.
#ifndef PSYNC_CHECK_CHECK_H
#define PSYNC_CHECK_CHECK_H

#include <psync/abi.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace psync::check {

// Exit codes of run_check and run_simulate.
inline constexpr int kExitOk = 0;          // every spec holds (in the explored bound)
inline constexpr int kExitViolation = 1;   // a counterexample was found
inline constexpr int kExitUsage = 2;       // bad options or an unusable descriptor
inline constexpr int kExitIncomplete = 3;  // stopped early: state or time limit, SIGINT or SIGTERM
// check: every spec that was checked holds, but some spec could not be
// checked (the reason is printed). simulate: no violation, but some runs
// never decided although the protocol states liveness.
inline constexpr int kExitPartial = 4;
// A bug in the checker (Verdict::kInternalError, or an exception): its own
// status, so that a script can tell "give it more time" (3) from "report a bug".
inline constexpr int kExitInternal = 5;

// `psyncc check FILE -n N [--rounds R] [--values A..B] [--threads T]
//  [--trace-json F] [--svg F]`.
struct CheckOptions {
  int n = 3;
  // Explore executions of at most this many rounds; -1 picks a default
  // (max(8, 3 * num_rounds), or no bound when cyclic_rounds is set).
  int rounds = -1;
  // Domain of every int input of every process (`--values A..B`). Bool inputs
  // range over 0..1 and pid inputs over 0..n-1 whatever this says.
  int64_t values_lo = 0;
  int64_t values_hi = 1;
  // Domain of every bytes<K> input (`--bytes-values a,b`); empty means the
  // decimal texts of values_lo..values_hi ("0", "1").
  std::vector<std::string> bytes_values;
  // Threads exploring each breadth-first level (parallel.cpp); the verdict,
  // figures and counterexample are the same for every count (a stopped
  // run's partial figures excepted). `psyncc check` defaults to the cores.
  int threads = 1;
  // Canonicalise global states by sorting process states. Sound only if the
  // protocol and its specs are invariant under renaming processes (see
  // docs/checker.md: no `me`, no pid values or pid-ordered operations that
  // break the symmetry). The caller decides; the checker cannot tell.
  bool symmetry = false;
  // The protocol reads neither `r` nor `phase` (only which round of the
  // cycle it is in). States then keep r mod num_rounds, so exploration
  // reaches a fixpoint and an `ok` covers executions of any length.
  bool cyclic_rounds = false;
  // The protocol reads `phase` only through the order of phase values and
  // ballots and `phase % n` (compiler-derived: traits.h, PhaseOrder; the
  // descriptor lists the words that hold them, ABI version 5). States then
  // store them renamed by their order relative to the current phase
  // (phases.cpp), so exploration reaches a fixpoint and an `ok` covers
  // executions of any length. Ignored when the descriptor has no phase_words.
  bool phase_abstraction = false;
  // Zero the state words that the descriptor's dead_words (ABI 8,
  // compiler/sema/dead_state.cpp) lists as dead before the next round, in
  // every stored state: states that differ only there have the same
  // futures (dead_state.cpp). Off (`--no-dead-state`) for cross-checks.
  bool dead_state = true;
  // Check liveness specs. Their HO vectors are generated from the
  // predicates' shape (ABI 6, ho_gen.cpp); a predicate the compiler could
  // not decompose (a residual that is not upward closed, without
  // `uniform`) falls back to filtering up to 2^(n*n) vectors per state and
  // is then checked only while n*n <= liveness_max_ho_bits.
  bool liveness = true;
  int liveness_max_ho_bits = 16;
  // Filter all 2^(n*n) HO vectors even where the shape would generate
  // them (`--ho-brute-force`): the baseline of bench/check and of the
  // tests that compare both.
  bool brute_force_ho = false;
  // Liveness windows start at phase boundaries (r mod num_rounds == 0), so
  // that a K-round window is the phases the predicate talks about; set this
  // to start one at every round instead.
  bool liveness_every_round = false;
  // Stop with kExitIncomplete past this many states (0 = 50 million).
  uint64_t max_states = 0;
  // Stop with kExitIncomplete after this many seconds (0 = no limit), or
  // once *stop becomes non-zero (run_check points it at its SIGINT/SIGTERM
  // flag); the figures reached so far are reported.
  double time_limit_s = 0;
  const volatile int* stop = nullptr;
  // Override const values: name -> value (`--const f=1`).
  std::vector<std::pair<std::string, int64_t>> consts;
  // Counterexample outputs, written only on a violation; empty = none.
  std::string trace_json;
  std::string svg;
  // Machine-readable figures (states, transitions, seconds, memory), always
  // written when set; bench/check reads it.
  std::string stats_json;
  // Live progress on `out` when it is a terminal; never otherwise.
  bool progress = true;
  // A fault injected by the checker's own tests, never by users (run_check
  // takes it from the environment variable PSYNC_CHECK_TEST_FAULT):
  // "corrupt-replay" alters the counterexample before it is replayed, so
  // that the replay fails (an internal error); "stop-in-rebuild" stops the
  // run as --time-limit would, as soon as the counterexample is rebuilt.
  std::string test_fault;
};

// `psyncc simulate FILE -n N --runs K --seed S [--loss P] [--crash C]
//  [--rounds R]`.
struct SimulateOptions {
  int n = 3;
  int rounds = -1;          // per run; -1 = max(30, 10 * num_rounds)
  uint64_t runs = 1000;
  uint64_t seed = 1;        // run i uses seed + i, so `--seed seed+i --runs 1` replays it
  double loss = 0.1;        // probability that a message is not delivered
  double crash = 0.0;       // per process and round, probability of crashing
  int64_t values_lo = 0;    // inputs drawn uniformly from values_lo..values_hi
  int64_t values_hi = 1;
  std::vector<std::string> bytes_values;  // bytes<K> inputs: as CheckOptions::bytes_values
  std::vector<std::pair<std::string, int64_t>> consts;
  std::string trace_json;   // the first violating run, if any
  std::string svg;
  bool progress = true;
  double time_limit_s = 0;            // as in CheckOptions
  const volatile int* stop = nullptr;
};

// ---- Results -------------------------------------------------------------

// One process at one instant of a trace.
struct TraceProcess {
  std::string vars;  // print_state output
  bool decided = false;
  bool halted = false;
  bool conflict = false;
  bool range_error = false;  // a value out of range where a pid or set element was expected
  bool crashed = false;  // simulation only
  bool faulty = false;   // `byzantine f`: one of the f liars (its sends are arbitrary; specs skip it)
};

// A message of one round: `from` sent it to `to`; delivered or lost.
struct TraceMessage {
  int from = 0;
  int to = 0;
  bool delivered = false;
  std::vector<int64_t> words;  // the payload, word by word
  std::string value;           // the payload printed from its type: "some(0)", "{1, 3}", "{v: 1, ts: 2}"
};

// One round of a trace.
struct TraceStep {
  int64_t round = 0;
  std::string round_name;
  std::vector<uint64_t> ho;             // HO set of each process (bitset)
  std::vector<TraceMessage> messages;   // every message sent this round
  std::vector<std::string> choices;     // coin()/random() outcomes per process
  std::vector<TraceProcess> after;      // states at the end of the round
  // Per process: its `log` lines and range errors in this round, in order
  // ("log: ...", "range error: ...").
  std::vector<std::vector<std::string>> events;
};

struct Trace {
  std::string protocol;
  int n = 0;
  std::vector<std::vector<int64_t>> inputs;  // per process
  std::vector<TraceProcess> initial;
  std::vector<TraceStep> steps;
  // The violated spec: its name, and "invariant", "property", "liveness",
  // "conflict", "range" or "assume".
  std::string spec;
  std::string spec_kind;
  std::string detail;          // one line in words
  int liveness_from = -1;      // liveness: index of the first step of the window
  int64_t seed = -1;           // simulation: the seed that reproduces it
  // check: false when a limit stopped the search before it could rule out
  // a shorter counterexample (CheckStats::search_cut).
  bool shortest = true;
  // check: the rounds of the liveness window that a limit kept from being
  // rebuilt (CheckStats::trace_cut); the steps then end where it starts.
  int window_missing = 0;
};

struct CheckStats {
  uint64_t states = 0;
  uint64_t transitions = 0;
  uint64_t initial_states = 0;
  int depth = 0;              // rounds explored
  int bound = 0;              // the round bound in force (-1: none)
  bool exhausted = false;     // the frontier emptied before the bound
  double seconds = 0;
  uint64_t store_bytes = 0;   // bytes held by the visited-state store
  uint64_t peak_rss_bytes = 0;
  uint64_t liveness_checks = 0;  // states from which liveness was checked
  // Why the search stopped early (kIncomplete): "state limit", "time limit",
  // "SIGINT", "SIGTERM"; depth is then the last round explored completely.
  std::string stopped;
  // kViolation only. search_cut: the search stopped (`stopped` says why)
  // after it had found a liveness violation but before it could rule out
  // a shorter safety one, so the counterexample is valid but maybe not the
  // shortest. trace_cut: why the search for the liveness window was cut
  // while the counterexample was rebuilt ("time limit", "SIGINT",
  // "SIGTERM"; empty if it was not): the trace then ends where the window
  // starts, and Trace::detail says so.
  bool search_cut = false;
  std::string trace_cut;
  // Specs that were not checked, with the reason (liveness over its cost
  // limit, or switched off); empty when every spec was checked.
  std::vector<std::string> unchecked;
};

// kError: the options or the descriptor cannot be checked (a usage error,
// exit 2). kInternalError: the checker contradicted itself, e.g. a
// counterexample that does not replay (a bug, exit 5); `error` says what.
enum class Verdict { kOk, kViolation, kIncomplete, kError, kInternalError };

// The exit status of run_check / run_simulate for a verdict.
int exit_status(Verdict verdict);

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  CheckStats stats;
  Trace trace;          // with kViolation: a shortest counterexample
  std::string error;    // with kError and kInternalError
};

// Called about twice a second during exploration.
struct Progress {
  uint64_t states;
  uint64_t frontier;
  uint64_t transitions;
  int depth;
  double seconds;
};
using ProgressFn = void (*)(const Progress&, void* user);

CheckResult explore(const psync_protocol_desc& desc, const CheckOptions& opts,
                    ProgressFn progress = nullptr, void* user = nullptr);

struct SimulateResult {
  Verdict verdict = Verdict::kOk;
  uint64_t runs = 0;
  uint64_t runs_decided = 0;          // every live process decided
  uint64_t runs_assume_unsat = 0;     // no HO draw satisfied the assumptions
  // Runs in which some live process never decided (no violation), and how
  // many of them had a window where a liveness predicate held throughout.
  uint64_t runs_undecided = 0;
  uint64_t runs_undecided_good_window = 0;
  std::string stopped;                // as in CheckStats: the runs were cut short
  std::vector<uint64_t> decide_histogram;  // [r]: runs fully decided after r rounds
  Trace trace;                        // with kViolation: the first violating run
  double seconds = 0;
  std::string error;
};

SimulateResult simulate(const psync_protocol_desc& desc, const SimulateOptions& opts);

// ---- The local step, for tests that hold another driver to the checker ----

// Everything process `me` can do in round `round` from `state` (its state as
// the round begins), as the explorer explores it: the outboxes its send can
// produce, and the states it can end the round in when incoming[j] (non-null,
// j != me) is the message process j sent it in that round. coin() and
// random(k) branch. The differential test checks the node's transitions
// against this (tests/differential).
struct LocalStep {
  std::vector<std::vector<uint8_t>> outboxes;  // presence word + n slots each
  std::vector<std::vector<uint8_t>> states;    // distinct end-of-round states
  std::string error;                           // set when the descriptor is unusable
};
LocalStep local_step(const psync_protocol_desc& desc, int n,
                     const std::vector<std::pair<std::string, int64_t>>& consts, int me, int64_t round,
                     const void* state, const std::vector<const void*>& incoming);

// ---- Drivers: print, write files, return an exit code ----------------------

int run_check(const psync_protocol_desc& desc, const CheckOptions& opts, std::FILE* out);
int run_simulate(const psync_protocol_desc& desc, const SimulateOptions& opts, std::FILE* out);

// ---- Counterexample writers -----------------------------------------------

void write_trace_table(const Trace& trace, std::FILE* out);
std::string trace_to_json(const Trace& trace);
std::string trace_to_svg(const Trace& trace);

}  // namespace psync::check

#endif  // PSYNC_CHECK_CHECK_H
