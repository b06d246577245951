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
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "codegen/codegen.h"
#include "driver/cluster.h"
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
  } catch (const std::exception& e) {
    fmt::print(stderr, "psyncc: internal error: {}\n", e.what());
    return 3;
  }
  return 2;
}
