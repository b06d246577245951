// main.cpp: the psyncc command line. A thin layer over the front-end (and,
// later, codegen/runtime) libraries: it parses arguments with CLI11, runs the
// pipeline and maps the outcome to an exit status.
//   0: success   1: the program has errors   2: bad command line or I/O
#include <cctype>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "codegen/codegen.h"
#include "check.h"
#include "driver/cluster.h"
#include "sema/traits.h"
#include "sema/frontend.h"

namespace {

struct CommonOptions {
  std::vector<std::string> import_dirs;
  bool no_warnings = false;
};

psync::FrontendOptions frontend_options(const CommonOptions& c) {
  psync::FrontendOptions o;
  o.import_dirs = c.import_dirs;
  o.sema.warn_unused = !c.no_warnings;
  return o;
}

void add_common(CLI::App* cmd, CommonOptions& c) {
  cmd->add_option("-I,--import-dir", c.import_dirs, "Directory searched for imported modules")->type_name("DIR");
  cmd->add_flag("-w,--no-warnings", c.no_warnings, "Do not print warnings");
}

// A file that cannot be read is an I/O error (2), not a program error (1).
bool readable(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) || std::filesystem::is_directory(file, ec)) {
    fmt::print(stderr, "psyncc: error: cannot open '{}': {} [cannot-open]\n", file,
               std::strerror(std::filesystem::is_directory(file, ec) ? EISDIR : ENOENT));
    return false;
  }
  std::ifstream probe(file);
  if (!probe) {
    fmt::print(stderr, "psyncc: error: cannot open '{}': {} [cannot-open]\n", file, std::strerror(errno));
    return false;
  }
  return true;
}

int run_typecheck(const std::vector<std::string>& files, const CommonOptions& common) {
  int status = 0;
  for (const auto& f : files) {
    if (!readable(f)) {
      status = 2;
      continue;
    }
    psync::Compilation c;
    psync::StreamConsumer console;
    psync::DiagnosticEngine diags(c.sources, console);
    if (!psync::run_frontend(c, f, diags, frontend_options(common)) && status == 0) status = 1;
  }
  return status;
}

int run_dump_ast(const std::string& file, const CommonOptions& common) {
  if (!readable(file)) return 2;
  psync::Compilation c;
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(c.sources, console);
  if (!psync::run_frontend(c, file, diags, frontend_options(common))) return 1;
  std::string text = psync::dump_ast(*c.program, c.sources);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

struct BuildOptions {
  std::string file;
  std::string output;
  int opt_level = 2;
  std::string emit = "exe";
};

std::string default_output(const std::string& file, const std::string& emit) {
  std::filesystem::path p(file);
  std::string stem = p.stem().string();
  if (emit == "llvm") return stem + ".ll";
  if (emit == "asm") return stem + ".s";
  if (emit == "obj") return stem + ".o";
  return stem;
}

int run_build(const BuildOptions& b, const CommonOptions& common) {
  if (!readable(b.file)) return 2;
  psync::Compilation c;
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(c.sources, console);
  if (!psync::run_frontend(c, b.file, diags, frontend_options(common))) return 1;
  std::string out = b.output.empty() ? default_output(b.file, b.emit) : b.output;
  std::string error;
  auto lowered = psync::LoweredProtocol::lower(*c.program, c.sources, error);
  if (!lowered || !lowered->optimize(b.opt_level, error)) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 3;
  }
  if (b.emit == "llvm" || b.emit == "asm" || b.emit == "obj") {
    auto kind = b.emit == "llvm" ? psync::EmitKind::LLVM : b.emit == "asm" ? psync::EmitKind::Asm : psync::EmitKind::Object;
    if (!lowered->emit(kind, out, b.opt_level, error)) {
      fmt::print(stderr, "psyncc: error: {}\n", error);
      return 2;
    }
    return 0;
  }
  std::string runtime = psync::find_runtime_library();
  if (runtime.empty()) {
    fmt::print(stderr, "psyncc: error: cannot find libpsync_runtime.a (build the runtime, or set PSYNC_RUNTIME_LIB)\n");
    return 2;
  }
  std::string obj = out + ".o.tmp";
  bool ok = lowered->emit(psync::EmitKind::Object, obj, b.opt_level, error) &&
            psync::link_executable(obj, runtime, out, error);
  std::remove(obj.c_str());
  if (!ok) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  return 0;
}

struct RunOptions {
  std::string file;
  int n = 3;
  int opt_level = 2;
  std::vector<std::string> inputs, consts, kills;
  std::string timeout, transport = "udp", delay, time_limit = "60s";
  uint64_t instances = 1, window = 1, seed = 1;
  double drop = 0;
  bool stats = false, logs = false;
};

// "20ms", "1.5s", "500us", "2m"; a bare number is milliseconds.
bool parse_duration(const std::string& text, int64_t& us) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return false;
  double v = std::atof(text.substr(0, i).c_str());
  std::string unit = text.substr(i);
  double scale = unit == "us" ? 1 : unit == "ms" || unit.empty() ? 1e3 : unit == "s" ? 1e6 : unit == "m" ? 6e7 : -1;
  if (scale < 0) return false;
  us = static_cast<int64_t>(v * scale);
  return true;
}

int run_local_cluster(const RunOptions& ro, const CommonOptions& common) {
  if (ro.n < 1 || ro.n > 64) {
    fmt::print(stderr, "psyncc: error: -n must be between 1 and 64\n");
    return 2;
  }
  psync::ClusterOptions co;
  co.n = ro.n;
  co.transport = ro.transport;
  co.show_logs = ro.logs;
  if (!parse_duration(ro.time_limit, co.time_limit_us)) {
    fmt::print(stderr, "psyncc: error: bad --time-limit '{}' (use e.g. 30s)\n", ro.time_limit);
    return 2;
  }
  for (auto& k : ro.kills) {
    size_t at = k.find('@');
    int64_t us = 0;
    char* end = nullptr;
    long who = at == std::string::npos ? -1 : std::strtol(k.substr(0, at).c_str(), &end, 10);
    if (at == std::string::npos || !end || *end || who < 0 || who >= ro.n || !parse_duration(k.substr(at + 1), us)) {
      fmt::print(stderr, "psyncc: error: bad --kill '{}' (use REPLICA@TIME, e.g. 2@0ms, with 0 <= REPLICA < n)\n", k);
      return 2;
    }
    co.kills.push_back({static_cast<int>(who), us});
  }
  for (auto& i : ro.inputs) co.node_args.insert(co.node_args.end(), {"--input", i});
  for (auto& c : ro.consts) co.node_args.insert(co.node_args.end(), {"--const", c});
  if (!ro.timeout.empty()) co.node_args.insert(co.node_args.end(), {"--timeout", ro.timeout});
  if (!ro.delay.empty()) co.node_args.insert(co.node_args.end(), {"--delay", ro.delay});
  co.node_args.insert(co.node_args.end(), {"--instances", std::to_string(ro.instances), "--window",
                                           std::to_string(ro.window), "--seed", std::to_string(ro.seed)});
  if (ro.drop > 0) co.node_args.insert(co.node_args.end(), {"--drop", fmt::format("{}", ro.drop)});
  if (ro.stats) co.node_args.push_back("--stats");
  co.node_args.insert(co.node_args.end(), {"--time-limit", ro.time_limit});

  char tmpl[] = "/tmp/psync-build-XXXXXX";
  if (!mkdtemp(tmpl)) {
    fmt::print(stderr, "psyncc: error: cannot create a temporary directory\n");
    return 2;
  }
  std::string dir = tmpl;
  co.binary = dir + "/" + std::filesystem::path(ro.file).stem().string();
  BuildOptions b;
  b.file = ro.file;
  b.output = co.binary;
  b.opt_level = ro.opt_level;
  int status = run_build(b, common);
  if (status == 0) {
    fmt::print("psyncc run: {} replicas of {} on 127.0.0.1 over {}\n", ro.n, ro.file, ro.transport);
    std::fflush(stdout);
    psync::ClusterResult result = psync::run_cluster(co);
    status = psync::print_summary(co, result, stdout);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return status;
}

struct CheckCli {
  std::string file;
  int n = 3;
  int rounds = -1;
  std::string values = "0..1";
  int threads = 1;
  std::string trace_json, svg, stats_json;
  std::vector<std::string> consts;
  bool no_symmetry = false;
  bool no_liveness = false;
  bool liveness_every_round = false;
  uint64_t max_states = 0;
  int max_ho_bits = 16;
  std::string time_limit;
  // simulate
  uint64_t runs = 1000, seed = 1;
  double loss = 0.1, crash = 0.0;
};

bool parse_values(const std::string& text, int64_t& lo, int64_t& hi) {
  size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  char* end = nullptr;
  lo = std::strtoll(text.substr(0, dots).c_str(), &end, 10);
  if (!end || *end) return false;
  hi = std::strtoll(text.substr(dots + 2).c_str(), &end, 10);
  return end && !*end && lo <= hi && hi - lo < 1000;
}

bool parse_consts(const std::vector<std::string>& in, std::vector<std::pair<std::string, int64_t>>& out) {
  for (auto& c : in) {
    size_t eq = c.find('=');
    char* end = nullptr;
    if (eq == std::string::npos) return false;
    int64_t v = std::strtoll(c.substr(eq + 1).c_str(), &end, 10);
    if (!end || *end) return false;
    out.push_back({c.substr(0, eq), v});
  }
  return true;
}

// --values, --const and --time-limit, shared by check and simulate; prints the error.
bool parse_inputs_and_consts(const CheckCli& cli, int64_t& lo, int64_t& hi,
                             std::vector<std::pair<std::string, int64_t>>& consts, double& time_limit_s) {
  int64_t us = 0;
  if (!cli.time_limit.empty() && !parse_duration(cli.time_limit, us)) {
    fmt::print(stderr, "psyncc: error: bad --time-limit '{}' (use e.g. 30s or 5m)\n", cli.time_limit);
    return false;
  }
  time_limit_s = static_cast<double>(us) / 1e6;
  if (!parse_values(cli.values, lo, hi)) {
    fmt::print(stderr, "psyncc: error: bad --values '{}' (use A..B, e.g. 0..1)\n", cli.values);
    return false;
  }
  if (!parse_consts(cli.consts, consts)) {
    fmt::print(stderr, "psyncc: error: bad --const (use name=integer)\n");
    return false;
  }
  return true;
}

// Compiles FILE in memory; check and simulate drive the JIT-ed descriptor.
// A program with errors is a usage error for these verbs (exit 2).
int with_jit_protocol(const std::string& file, const CommonOptions& common,
                      const std::function<int(const psync_protocol_desc&, const psync::ProgramTraits&)>& body) {
  if (!readable(file)) return 2;
  psync::Compilation c;
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(c.sources, console);
  if (!psync::run_frontend(c, file, diags, frontend_options(common))) return 2;
  std::string error;
  auto jit = psync::jit_compile(*c.program, c.sources, 2, error);
  if (!jit) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  psync::ProgramTraits traits = psync::analyze_traits(*c.program, c.sources);
  return body(*jit->descriptor(), traits);
}

int run_check_verb(const CheckCli& cli, const CommonOptions& common) {
  psync::check::CheckOptions o;
  o.n = cli.n;
  o.rounds = cli.rounds;
  o.threads = cli.threads;
  o.trace_json = cli.trace_json;
  o.svg = cli.svg;
  o.stats_json = cli.stats_json;
  o.liveness = !cli.no_liveness;
  o.liveness_every_round = cli.liveness_every_round;
  o.max_states = cli.max_states;
  o.liveness_max_ho_bits = cli.max_ho_bits;
  if (!parse_inputs_and_consts(cli, o.values_lo, o.values_hi, o.consts, o.time_limit_s)) return 2;
  return with_jit_protocol(cli.file, common, [&](const psync_protocol_desc& d, const psync::ProgramTraits& t) {
    o.symmetry = t.symmetric && !cli.no_symmetry;
    o.cyclic_rounds = !t.reads_round_number;
    fmt::print("psyncc check: {} with n={}, {}; symmetry reduction {}; rounds {}\n", cli.file, cli.n,
               "inputs " + cli.values, o.symmetry ? "on" : "off (" + (cli.no_symmetry ? std::string("--no-symmetry") : t.asymmetry_reason) + ")",
               o.cyclic_rounds ? "folded modulo the cycle (the protocol does not read r or phase)"
                               : "counted (the protocol reads r or phase)");
    std::fflush(stdout);
    return psync::check::run_check(d, o, stdout);
  });
}

int run_simulate_verb(const CheckCli& cli, const CommonOptions& common) {
  psync::check::SimulateOptions o;
  o.n = cli.n;
  o.rounds = cli.rounds;
  o.runs = cli.runs;
  o.seed = cli.seed;
  o.loss = cli.loss;
  o.crash = cli.crash;
  o.trace_json = cli.trace_json;
  o.svg = cli.svg;
  if (!parse_inputs_and_consts(cli, o.values_lo, o.values_hi, o.consts, o.time_limit_s)) return 2;
  return with_jit_protocol(cli.file, common, [&](const psync_protocol_desc& d, const psync::ProgramTraits&) {
    fmt::print("psyncc simulate: {} with n={}, {} runs from seed {}, inputs {}\n", cli.file, cli.n, cli.runs, cli.seed,
               cli.values);
    std::fflush(stdout);
    return psync::check::run_simulate(d, o, stdout);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"psyncc: compiler, runner and checker for psync round-based protocols"};
  app.set_version_flag("--version", std::string("psyncc ") + PSYNC_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) { return std::string(e.what()); });

  CommonOptions common;

  std::vector<std::string> tc_files;
  auto* tc = app.add_subcommand("typecheck", "Parse and type-check protocol files");
  tc->add_option("files", tc_files, "Protocol files (.psync)")->required()->type_name("FILE");
  add_common(tc, common);

  std::string dump_file;
  auto* dump = app.add_subcommand("dump-ast", "Print the typed syntax tree of a protocol");
  dump->add_option("file", dump_file, "Protocol file (.psync)")->required()->type_name("FILE");
  add_common(dump, common);

  BuildOptions build_opts;
  auto* build = app.add_subcommand("build", "Compile a protocol to a native binary (or IR, assembly, object)");
  build->add_option("file", build_opts.file, "Protocol file (.psync)")->required()->type_name("FILE");
  build->add_option("-o,--output", build_opts.output, "Output file")->type_name("OUT");
  build->add_option("-O", build_opts.opt_level, "Optimisation level (-O0, -O1, -O2)")
      ->check(CLI::Range(0, 3))->type_name("LEVEL");
  build->add_option("--emit", build_opts.emit, "What to write: llvm, asm, obj or exe")
      ->check(CLI::IsMember({"llvm", "asm", "obj", "exe"}))->type_name("KIND");
  add_common(build, common);

  RunOptions run_opts;
  auto* run = app.add_subcommand("run", "Compile a protocol and run it on a local cluster of processes");
  run->add_option("file", run_opts.file, "Protocol file (.psync)")->required()->type_name("FILE");
  run->add_option("-n", run_opts.n, "Number of replicas (1..64)")->required();
  run->add_option("--input", run_opts.inputs, "name=value | name=random | name=v1,v2,... (per instance)");
  run->add_option("--const", run_opts.consts, "name=value, overriding a const");
  run->add_option("--timeout", run_opts.timeout, "Default round timeout, e.g. 20ms");
  run->add_option("--transport", run_opts.transport, "udp or tcp")->check(CLI::IsMember({"udp", "tcp"}));
  run->add_option("--kill", run_opts.kills, "Kill replica I after time T: I@T (e.g. 2@0ms)")->type_name("I@T");
  run->add_option("--instances", run_opts.instances, "Consensus instances to run");
  run->add_option("--window", run_opts.window, "Instances in flight at once");
  run->add_option("--drop", run_opts.drop, "Drop each received message with this probability")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--delay", run_opts.delay, "Delay received messages by up to this duration");
  run->add_option("--seed", run_opts.seed, "Seed for random inputs, coins and fault injection");
  run->add_option("--time-limit", run_opts.time_limit, "Stop the whole run after this long (default 60s)");
  run->add_option("-O", run_opts.opt_level, "Optimisation level")->check(CLI::Range(0, 3));
  run->add_flag("--stats", run_opts.stats, "Replicas print their counters at exit");
  run->add_flag("--logs", run_opts.logs, "Show the replicas' logs");
  add_common(run, common);

  CheckCli check_cli;
  auto* check = app.add_subcommand("check", "Explore every heard-of assignment for small n and check the specs");
  check->add_option("file", check_cli.file, "Protocol file (.psync)")->required()->type_name("FILE");
  check->add_option("-n", check_cli.n, "Number of processes")->required()->check(CLI::Range(1, 64));
  check->add_option("--rounds", check_cli.rounds, "Explore executions of at most R rounds");
  check->add_option("--values", check_cli.values, "Domain of every int input, A..B (default 0..1)");
  check->add_option("--threads", check_cli.threads, "Worker threads (exploration uses one today)");
  check->add_option("--trace-json", check_cli.trace_json, "Write a counterexample as JSON")->type_name("FILE");
  check->add_option("--svg", check_cli.svg, "Write a counterexample as an SVG diagram")->type_name("FILE");
  check->add_option("--stats-json", check_cli.stats_json, "Write the figures as JSON")->type_name("FILE");
  check->add_option("--const", check_cli.consts, "name=value, overriding a const");
  check->add_option("--max-states", check_cli.max_states, "Give up (exit 3) past this many states");
  check->add_option("--time-limit", check_cli.time_limit, "Stop (exit 3) after this long, e.g. 10m, printing the figures so far");
  check->add_option("--max-ho-bits", check_cli.max_ho_bits,
                    "Check liveness only while n*n is at most this (2^(n*n) heard-of vectors per state; default 16)");
  check->add_flag("--no-symmetry", check_cli.no_symmetry, "Do not sort process states even when it is sound");
  check->add_flag("--no-liveness", check_cli.no_liveness, "Check only invariants and properties");
  check->add_flag("--liveness-every-round", check_cli.liveness_every_round,
                  "Start liveness windows at every round, not only at phase boundaries");
  add_common(check, common);

  CheckCli sim_cli;
  auto* simulate = app.add_subcommand("simulate", "Run random executions (random HO sets, losses, crashes)");
  simulate->add_option("file", sim_cli.file, "Protocol file (.psync)")->required()->type_name("FILE");
  simulate->add_option("-n", sim_cli.n, "Number of processes")->required()->check(CLI::Range(1, 64));
  simulate->add_option("--runs", sim_cli.runs, "Number of runs");
  simulate->add_option("--seed", sim_cli.seed, "Seed of the first run (run i uses seed + i)");
  simulate->add_option("--loss", sim_cli.loss, "Probability that a message is lost")->check(CLI::Range(0.0, 1.0));
  simulate->add_option("--crash", sim_cli.crash, "Per process and round, probability of crashing")
      ->check(CLI::Range(0.0, 1.0));
  simulate->add_option("--rounds", sim_cli.rounds, "Rounds per run");
  simulate->add_option("--values", sim_cli.values, "Inputs drawn from A..B (default 0..1)");
  simulate->add_option("--const", sim_cli.consts, "name=value, overriding a const");
  simulate->add_option("--time-limit", sim_cli.time_limit, "Stop (exit 3) after this long, printing the figures so far");
  simulate->add_option("--trace-json", sim_cli.trace_json, "Write the first violating run as JSON")->type_name("FILE");
  simulate->add_option("--svg", sim_cli.svg, "Write the first violating run as SVG")->type_name("FILE");
  add_common(simulate, common);

  // An unknown verb gets its own one-line error (CLI11 would only say that
  // a subcommand is required).
  if (argc > 1 && argv[1][0] == '-') {
    std::string flag = argv[1];
    if (flag != "-h" && flag != "--help" && flag != "--version") {
      fmt::print(stderr, "psyncc: error: unknown option '{}' before the command (see 'psyncc --help')\n", flag);
      return 2;
    }
  }
  if (argc > 1 && argv[1][0] != '-') {
    std::string verbs;
    bool known = false;
    for (auto* sub : app.get_subcommands({})) {
      verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      fmt::print(stderr, "psyncc: error: unknown command '{}' (commands: {})\n", argv[1], verbs);
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    fmt::print(stderr, "psyncc: error: {} (see 'psyncc --help')\n", msg);
    return 2;
  }

  try {
    if (*tc) return run_typecheck(tc_files, common);
    if (*dump) return run_dump_ast(dump_file, common);
    if (*build) return run_build(build_opts, common);
    if (*run) return run_local_cluster(run_opts, common);
    if (*check) return run_check_verb(check_cli, common);
    if (*simulate) return run_simulate_verb(sim_cli, common);
  } catch (const std::exception& e) {
    fmt::print(stderr, "psyncc: internal error: {}\n", e.what());
    return 3;
  }
  return 2;
}
