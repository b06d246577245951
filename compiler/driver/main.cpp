// main.cpp: the psyncc command line. A thin layer over the libraries (front
// end, codegen, checker, cluster launcher): it parses arguments with CLI11,
// runs the pipeline and maps the outcome to an exit status (README.md).
//   0: success   1: the program has errors   2: bad command line or I/O   3: internal error
// (check and simulate: 3 incomplete, 4 partial, 5 internal error; runtime/check/check.h)
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "abi/typed_values.h"
#include "abi/values.h"
#include "build_timer.h"
#include "codegen/codegen.h"
#include "check.h"
#include "explore.h"
#include "launch/keys.h"
#include "launch/launch.h"
#include "sema/traits.h"
#include "sema/frontend.h"
#include "tools/format/format.h"
#include "tools/lsp/server.h"
#include "util/cmdline_cli11.h"
#include "psync_version.h"  // generated: cmake/version.cmake

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
  // One directory per -I (repeat it for more): "-I DIR FILE" must leave FILE
  // to the verb, where a vector option would take it as a second directory.
  cmd->add_option("-I,--import-dir", c.import_dirs, "Directory searched for imported modules (repeatable)")
      ->type_name("DIR")->allow_extra_args(false);
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

struct FmtOptions {
  std::vector<std::string> files;
  bool in_place = false;
  bool check = false;
};

// psyncc fmt: formats each file (docs/tools.md). "-" is standard input.
// Exit: 0 done; 1 a file has syntax errors, or would change under --check;
// 2 a file cannot be read or written.
int run_fmt(const FmtOptions& o) {
  int status = 0;
  auto fail = [&](int s) { status = std::max(status, s); };
  for (const auto& f : o.files) {
    psync::SourceManager sources;
    uint32_t id = 0;
    if (f == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      id = sources.add("<stdin>", std::move(text));
    } else {
      if (!readable(f)) {
        fail(2);
        continue;
      }
      std::string err;
      id = sources.load(f, err);
      if (!id) {
        fmt::print(stderr, "psyncc: error: cannot open '{}': {} [cannot-open]\n", f, err);
        fail(2);
        continue;
      }
    }
    psync::StreamConsumer console;
    std::optional<std::string> out;
    {
      psync::DiagnosticEngine diags(sources, console);
      out = psync::format_file(id, sources, diags);
    }
    if (!out) {
      fmt::print(stderr, "psyncc fmt: {} not formatted: it has errors\n", f);
      fail(1);
      continue;
    }
    const std::string& before = sources.file(id).text();
    if (o.check) {
      if (*out != before) {
        fmt::print(stderr, "psyncc fmt: {} would be reformatted\n", f);
        fail(1);
      }
    } else if (o.in_place && f != "-") {
      if (*out == before) continue;
      std::string tmp = f + ".fmt.tmp";
      std::error_code ec;
      {
        std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
        os << *out;
        if (!os.flush()) ec = std::make_error_code(std::errc::io_error);
      }
      if (!ec) std::filesystem::permissions(tmp, std::filesystem::status(f).permissions(), ec);
      if (!ec) std::filesystem::rename(tmp, f, ec);
      if (ec) {
        std::remove(tmp.c_str());
        fmt::print(stderr, "psyncc: error: cannot write '{}': {}\n", f, ec.message());
        fail(2);
      }
    } else {
      std::fwrite(out->data(), 1, out->size(), stdout);
    }
  }
  return status;
}

struct BuildOptions {
  std::string file;
  std::string output;
  int opt_level = 2;
  std::string emit = "exe";
  psync::TargetSpec target;  // --target, --mcpu, --mattr
  std::string depfile;       // --depfile: the files the output was made from, in Make syntax
  bool verbose = false;      // --verbose: say how the code is optimised and the executable linked
  bool* has_decision = nullptr;  // set to whether the protocol declares a decision (`output x: T`)
};

// --depfile: "OUT: FILE IMPORT...", in the Make syntax that Ninja and Make
// read (spaces, '#' and '$' escaped), listing every file of the compilation
// that is on disk (the stdlib is built into psyncc, which build systems
// track already). Returns false and prints the error if it cannot be written.
bool write_depfile(const std::string& path, const std::string& out, const psync::SourceManager& sources) {
  auto escape = [](const std::string& name) {
    std::string e;
    for (char ch : name) {
      if (ch == ' ' || ch == '#') e += '\\';
      if (ch == '$') e += '$';
      e += ch;
    }
    return e;
  };
  std::string text = escape(out) + ":";
  for (uint32_t id = 1; id <= sources.size(); ++id) {
    const std::string& name = sources.file(id).name();
    std::error_code ec;
    if (std::filesystem::is_regular_file(name, ec))
      text += " " + escape(std::filesystem::absolute(name, ec).lexically_normal().string());
  }
  text += "\n";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
    if (f) std::fclose(f);
    fmt::print(stderr, "psyncc: error: cannot write --depfile {}\n", path);
    return false;
  }
  return true;
}

// -O0..-O3, the same wording for every verb that compiles.
void add_opt_level(CLI::App* cmd, int& level, const std::string& what) {
  cmd->add_option("-O", level, "Optimisation level of " + what + ": -O0, -O1, -O2 (default) or -O3")
      ->transform(psync::cmdline::Integer(0, 3))->type_name("LEVEL");
}

// The machine a binary is built for (codegen.h, TargetSpec).
void add_target_options(CLI::App* cmd, psync::TargetSpec& t) {
  cmd->add_option("--target", t.triple, "Target triple, e.g. aarch64-linux-gnu (default: this machine's)")
      ->type_name("TRIPLE");
  cmd->add_option("--mcpu", t.cpu,
                  "CPU to generate code for: a name such as skylake, or native (default: portable, "
                  "x86-64-v2 on x86-64, generic elsewhere)")->type_name("NAME");
  cmd->add_option("--mattr", t.features, "CPU features to add or remove, e.g. +avx2,-avx512f")
      ->type_name("FEATURES");
}

std::string default_output(const std::string& file, const std::string& emit) {
  std::filesystem::path p(file);
  std::string stem = p.stem().string();
  if (emit == "llvm") return stem + ".ll";
  if (emit == "asm") return stem + ".s";
  if (emit == "obj") return stem + ".o";
  return stem;
}

int run_build(const BuildOptions& b, const CommonOptions& common) {
  psync::driver::BuildTimer timer;
  if (!readable(b.file)) return 2;
  psync::TargetSpec target;
  std::string error;
  if (!psync::resolve_target(b.target, target, error)) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  psync::LinkPlan link;
  if (b.emit == "exe" && !psync::plan_link(target, link, error)) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  psync::Compilation c;
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(c.sources, console);
  timer.mark("target and link plan");
  if (!psync::run_frontend(c, b.file, diags, frontend_options(common))) return 1;
  timer.mark("front end");
  if (b.has_decision) *b.has_decision = !c.program->outputs.empty();
  std::string out = b.output.empty() ? default_output(b.file, b.emit) : b.output;
  auto lowered = psync::LoweredProtocol::lower(*c.program, c.sources, error);
  timer.mark("lowering");
  if (b.verbose)
    fmt::print(stderr, "psyncc: optimising at -O{} with the passes: {}\n", b.opt_level,
               b.opt_level == 0 ? "none" : psync::optimisation_pipeline(b.opt_level));
  bool optimized = lowered && lowered->optimize(b.opt_level, target, error);
  timer.mark("optimisation");
  if (!optimized) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 3;
  }
  if (b.emit == "llvm" || b.emit == "asm" || b.emit == "obj") {
    auto kind = b.emit == "llvm" ? psync::EmitKind::LLVM : b.emit == "asm" ? psync::EmitKind::Asm : psync::EmitKind::Object;
    bool emitted = lowered->emit(kind, out, b.opt_level, target, error);
    timer.mark(kind == psync::EmitKind::LLVM ? "writing IR" : "code generation");
    if (!emitted) {
      fmt::print(stderr, "psyncc: error: {}\n", error);
      return 2;
    }
    return b.depfile.empty() || write_depfile(b.depfile, out, c.sources) ? 0 : 2;
  }
  if (b.verbose) {
    if (link.linker == psync::kInProcessLinker)
      fmt::print(stderr, "psyncc: linking {} with {}\n", link.runtime_lib, link.linker);
    else
      fmt::print(stderr, "psyncc: linking {} with {}{}\n", link.runtime_lib, link.linker,
                 link.why_not_inprocess.empty() ? "" : " (not in-process: " + link.why_not_inprocess + ")");
  }
  std::string obj = out + ".o.tmp";
  bool ok = lowered->emit(psync::EmitKind::Object, obj, b.opt_level, target, error);
  timer.mark("code generation");
  ok = ok && psync::link_executable(obj, link, out, error);
  timer.mark("link");
  std::remove(obj.c_str());
  if (!ok) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  return b.depfile.empty() || write_depfile(b.depfile, out, c.sources) ? 0 : 2;
}

struct RunOptions {
  std::string file;
  int n = 3;
  int opt_level = 2;
  psync::TargetSpec target;
  std::vector<std::string> inputs, consts, kills;
  std::string transport = "udp";
  int64_t timeout_us = -1, delay_us = -1;  // -1: not given, the replicas' default
  int64_t time_limit_us = 60'000'000;
  int64_t max_rounds = -1;  // --max-rounds for every replica; -1: the node's default
  uint64_t instances = 1, window = 1, seed = 1;
  double drop = 0;
  bool stats = false, logs = false;
  bool no_keys = false;
  std::string data_dir;
};

// `--kill I@T`: replica I (0 <= I < n) after the duration T.
bool parse_kill(const std::string& text, int n, psync::launch::Kill& kill) {
  const size_t at = text.find('@');
  std::string error;
  auto who = at == std::string::npos ? std::nullopt : psync::cmdline::parse_integer(text.substr(0, at), 0, n - 1, error);
  auto after = who ? psync::cmdline::parse_duration_us(text.substr(at + 1), error) : std::nullopt;
  if (!after) {
    fmt::print(stderr, "psyncc: error: --kill '{}': {}\n", text,
               at == std::string::npos ? "expected REPLICA@TIME, e.g. 2@0ms" : (who ? "" : "replica: ") + error);
    return false;
  }
  kill = {static_cast<int>(*who), *after};
  return true;
}

bool resolve_consts(const psync_protocol_desc& d, const std::vector<std::string>& in, int32_t n,
                    std::vector<std::pair<std::string, int64_t>>& out);

// A protocol without a decision: its replica build, JIT-compiled here, so
// that the launcher can evaluate its invariants over the replicas' final
// states (same layout as theirs). Specs it cannot evaluate are named.
struct FinalInvariants {
  psync::Compilation compilation;
  std::unique_ptr<psync::JitProtocol> jit;
  psync::launch::InvariantPlan plan;
};

// Returns 0, or the exit status of a failure (already printed).
int plan_final_invariants(const RunOptions& ro, const CommonOptions& common, FinalInvariants& fi) {
  psync::CollectingConsumer quiet;  // run_build has shown the diagnostics already
  psync::DiagnosticEngine diags(fi.compilation.sources, quiet);
  if (!psync::run_frontend(fi.compilation, ro.file, diags, frontend_options(common))) return 1;
  std::string error;
  fi.jit = psync::jit_compile(*fi.compilation.program, fi.compilation.sources, ro.opt_level, error,
                              psync::LowerMode::Replica);
  if (!fi.jit) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 3;
  }
  const psync_protocol_desc& d = *fi.jit->descriptor();
  fi.plan.desc = &d;
  fi.plan.consts.assign(d.num_consts, 0);
  if (d.num_consts) d.const_defaults(ro.n, fi.plan.consts.data());
  std::vector<std::pair<std::string, int64_t>> overrides;
  if (!resolve_consts(d, ro.consts, ro.n, overrides)) return 2;
  for (auto& [name, value] : overrides)
    for (uint32_t i = 0; i < d.num_consts; ++i)
      if (name == d.consts[i].name) fi.plan.consts[i] = value;
  for (const psync::Spec& spec : fi.compilation.program->specs) {
    bool compiled = false;
    for (uint32_t k = 0; k < d.num_specs; ++k) compiled = compiled || spec.name == d.specs[k].name;
    switch (spec.kind) {
      case psync::SpecKind::Invariant:
        if (!compiled) fi.plan.not_evaluated.push_back("invariant " + spec.name + " (reads model state)");
        break;
      case psync::SpecKind::Property:
        fi.plan.not_evaluated.push_back("property " + spec.name + " (relates two states)");
        break;
      case psync::SpecKind::Liveness:
        fi.plan.not_evaluated.push_back("liveness " + spec.name + " (speaks of heard-of sets)");
        break;
      case psync::SpecKind::Assume:
        break;  // an assumption about the network, not a guarantee
    }
  }
  return 0;
}

int run_local_cluster(const RunOptions& ro, const CommonOptions& common) {
  using psync::cmdline::format_duration_us;
  psync::launch::ClusterOptions co;
  co.n = ro.n;
  co.instances = ro.instances;
  co.transport = ro.transport;
  co.show_logs = ro.logs;
  co.time_limit_us = ro.time_limit_us;
  co.keys = !ro.no_keys;
  co.data_dir = ro.data_dir;
  for (auto& k : ro.kills) {
    psync::launch::Kill kill;
    if (!parse_kill(k, ro.n, kill)) return 2;
    co.kills.push_back(kill);
  }
  for (auto& i : ro.inputs) co.node_args.insert(co.node_args.end(), {"--input", i});
  for (auto& c : ro.consts) co.node_args.insert(co.node_args.end(), {"--const", c});
  if (ro.timeout_us >= 0) co.node_args.insert(co.node_args.end(), {"--timeout", format_duration_us(ro.timeout_us)});
  if (ro.delay_us >= 0) co.node_args.insert(co.node_args.end(), {"--delay", format_duration_us(ro.delay_us)});
  co.node_args.insert(co.node_args.end(), {"--window", std::to_string(ro.window), "--seed", std::to_string(ro.seed)});
  if (ro.drop > 0) co.node_args.insert(co.node_args.end(), {"--drop", fmt::format("{}", ro.drop)});
  if (ro.stats) co.node_args.push_back("--stats");
  if (ro.max_rounds >= 0) co.node_args.insert(co.node_args.end(), {"--max-rounds", std::to_string(ro.max_rounds)});
  co.on_start = [&] {
    fmt::print("psyncc run: {} replicas of {} on 127.0.0.1 over {}, {}{}\n", ro.n, ro.file, ro.transport,
               ro.no_keys ? "keyless (not authenticated)" : "authenticated (a fresh key pair each)",
               ro.data_dir.empty() ? "" : ", durable in " + ro.data_dir);
    std::fflush(stdout);
  };

  std::string error;
  const std::string dir = psync::launch::make_temp_dir("psync-build", error);
  if (dir.empty()) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  co.binary = dir + "/" + std::filesystem::path(ro.file).stem().string();
  BuildOptions b;
  b.file = ro.file;
  b.output = co.binary;
  b.opt_level = ro.opt_level;
  b.target = ro.target;
  b.has_decision = &co.decides;
  int status = run_build(b, common);
  auto final_invariants = std::make_unique<FinalInvariants>();
  if (status == 0 && !co.decides) {
    status = plan_final_invariants(ro, common, *final_invariants);
    co.invariants = &final_invariants->plan;
  }
  if (status == 0) status = psync::launch::print_summary(co, psync::launch::run_cluster(co), stdout);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return status;
}

struct KeygenOptions {
  std::string dir;
  int n = 0;
  std::string cluster;
  int id = -1;
};

// `psyncc keygen`: a key pair per replica, and the cluster file with every
// public key (docs/runtime.md, "Keys").
int run_keygen(const KeygenOptions& k) {
  std::vector<psync::launch::ClusterEntry> entries;
  std::string error;
  if (!k.cluster.empty() && !psync::launch::read_cluster_entries(k.cluster, entries, error)) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  std::vector<int> ids;
  if (k.id >= 0) {
    ids.push_back(k.id);
  } else if (!entries.empty()) {
    for (const auto& e : entries) ids.push_back(e.id);
  } else {
    for (int i = 0; i < k.n; ++i) ids.push_back(i);
  }
  if (ids.empty()) {
    fmt::print(stderr, "psyncc: error: keygen needs -n N, --cluster FILE or --id I\n");
    return 2;
  }
  const auto keys = psync::launch::generate_keys(k.dir, ids, error);
  if (keys.empty()) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  for (const auto& key : keys)
    fmt::print("psyncc keygen: replica {}: {} (secret, give it to that replica only: --key) and {}\n", key.id,
               key.secret_path, key.public_path);
  if (!entries.empty() && k.id < 0) {
    std::vector<std::string> hex;
    for (const auto& key : keys) hex.push_back(key.public_hex);
    const std::string out = (std::filesystem::path(k.dir) / "cluster.toml").string();
    if (!psync::launch::write_keyed_cluster(out, entries, hex, "written by psyncc keygen from " + k.cluster, error)) {
      fmt::print(stderr, "psyncc: error: {}\n", error);
      return 2;
    }
    fmt::print("psyncc keygen: {}: {} with every replica's public key\n", out, k.cluster);
  } else {
    fmt::print("# each [[process]] of the cluster file gets its public_key:\n");
    for (const auto& key : keys) fmt::print("#   id = {}\npublic_key = \"{}\"\n", key.id, key.public_hex);
  }
  return 0;
}

struct CheckCli {
  std::string file;
  int n = 3;
  int rounds = -1;
  std::string values = "0..1";
  std::string bytes_values;  // "" = the decimal texts of --values
  int opt_level = 2;
  std::string trace_json, svg, stats_json;
  std::vector<std::string> consts;
  bool no_symmetry = false;
  bool no_phase_abstraction = false;
  bool no_dead_state = false;
  bool no_liveness = false;
  bool liveness_every_round = false;
  uint64_t max_states = 0;
  int max_ho_bits = 16;
  bool ho_brute_force = false;
  int64_t time_limit_us = 0;  // --time-limit; 0: none
  int threads = std::max(1u, std::thread::hardware_concurrency());  // check --threads
  // simulate
  uint64_t runs = 1000, seed = 1;
  double loss = 0.1, crash = 0.0;
};

// "A..B", two int64 values with A <= B and at most 1000 values in between.
bool parse_values(const std::string& text, int64_t& lo, int64_t& hi) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  std::string error;
  auto a = psync::cmdline::parse_integer(text.substr(0, dots), INT64_MIN, INT64_MAX, error);
  auto b = psync::cmdline::parse_integer(text.substr(dots + 2), INT64_MIN, INT64_MAX, error);
  if (!a || !b || *a > *b || static_cast<__int128>(*b) - *a >= 1000) return false;
  lo = *a;
  hi = *b;
  return true;
}

// --const name=value for check and simulate, parsed against the protocol's
// consts exactly as the node parses them (abi/values.h): ints, true/false,
// pids in 0..n-1, {0+2} sets and enum variants by name. Prints the error.
bool resolve_consts(const psync_protocol_desc& d, const std::vector<std::string>& in, int32_t n,
                    std::vector<std::pair<std::string, int64_t>>& out) {
  for (auto& c : in) {
    const size_t eq = c.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "psyncc: error: --const '{}': expected name=value\n", c);
      return false;
    }
    const std::string name = c.substr(0, eq);
    const psync_field* field = nullptr;
    std::string known;
    for (uint32_t i = 0; i < d.num_consts; ++i) {
      if (name == d.consts[i].name) field = &d.consts[i];
      known += (i ? ", " : "") + std::string(d.consts[i].name);
    }
    if (!field) {
      fmt::print(stderr, "psyncc: error: --const '{}': the protocol has no const named '{}' ({})\n", c, name,
                 known.empty() ? "it has none" : "it has: " + known);
      return false;
    }
    int64_t value = 0;
    std::string error;
    if (!psync::parse_field_value(*field, c.substr(eq + 1), n, value, error)) {
      fmt::print(stderr, "psyncc: error: --const {}: {}\n", name, error);
      return false;
    }
    out.push_back({name, value});
  }
  return true;
}

// --bytes-values a,b,hex:00ff: the domain of bytes<K> inputs (each item as
// on a node's command line, typed_values.h); prints the error.
bool parse_bytes_values(const std::string& text, std::vector<std::string>& out) {
  if (text.empty()) return true;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string error;
    auto v = psync::parse_bytes_text(item, error);
    if (!v) {
      fmt::print(stderr, "psyncc: error: bad --bytes-values: {}\n", error);
      return false;
    }
    out.push_back(*v);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// --values, shared by check and simulate; prints the error.
bool parse_input_values(const CheckCli& cli, int64_t& lo, int64_t& hi) {
  if (!parse_values(cli.values, lo, hi)) {
    fmt::print(stderr, "psyncc: error: bad --values '{}' (use A..B with integers A <= B, at most 1000 values, e.g. 0..1)\n",
               cli.values);
    return false;
  }
  return true;
}

// Compiles FILE in memory; check and simulate drive the JIT-ed descriptor.
// A program with errors is a usage error for these verbs (exit 2).
int with_jit_protocol(const std::string& file, int opt_level, const CommonOptions& common,
                      const std::function<int(const psync_protocol_desc&, const psync::ProgramTraits&)>& body) {
  if (!readable(file)) return 2;
  psync::Compilation c;
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(c.sources, console);
  if (!psync::run_frontend(c, file, diags, frontend_options(common))) return 2;
  std::string error;
  auto jit = psync::jit_compile(*c.program, c.sources, opt_level, error);
  if (!jit) {
    fmt::print(stderr, "psyncc: error: {}\n", error);
    return 2;
  }
  psync::ProgramTraits traits = psync::analyze_traits(*c.program, c.sources);
  return body(*jit->descriptor(), traits);
}

// "phases in ts; ballots in promised; phase kept modulo n" for check's
// first line: what the phase abstraction renames and keeps.
std::string phase_order_summary(const psync::PhaseOrder& p) {
  std::string phases, ballots;
  for (auto& [v, leaves] : p.leaves)
    for (bool ballot : {false, true})
      if (std::any_of(leaves.begin(), leaves.end(), [&](const psync::PhaseOrder::Leaf& l) { return l.ballot == ballot; })) {
        std::string& list = ballot ? ballots : phases;
        list += (list.empty() ? "" : ", ") + v->name;
      }
  std::string s = phases.empty() && ballots.empty() ? "no phase is stored" : "";
  if (!phases.empty()) s += "phases in " + phases;
  if (!ballots.empty()) s += (s.empty() ? "" : "; ") + std::string("ballots in ") + ballots;
  if (p.window > 0) s += fmt::format("; phase - {} kept", p.window);
  if (p.modulo_n || p.modulus > 1) {
    std::string m = p.modulo_n ? "n" : "";
    if (p.modulus > 1) m += (m.empty() ? "" : " * ") + std::to_string(p.modulus);
    s += "; phase kept modulo " + m;
  }
  // Stale phase values (docs/checker.md): what folds, and how old ballots rank.
  for (auto& [v, mask] : p.stale.fold) {
    std::string at;
    for (size_t i = 0; i < p.stale.round_names.size() && i < 64; ++i)
      if (mask >> i & 1) at += (at.empty() ? "" : "/") + p.stale.round_names[i];
    s += "; stale " + v->name + " folded before " + at;
  }
  if (p.stale.whole_ballots) s += "; old ballots ranked whole";
  else if (!p.stale.whole_reason.empty()) s += "; old ballots ranked by phase and process: " + p.stale.whole_reason;
  return s;
}

// "; dead state zeroed: ready before prepare, learn; suspect_after (feeds
// only timeouts)" for check's first line, or "" when nothing is dead.
std::string dead_state_summary(const psync::DeadState& d, bool off) {
  if (d.dead.empty()) return "";
  if (off) return "; dead state kept (--no-dead-state)";
  std::string s;
  for (auto& [v, mask] : d.dead) {
    s += s.empty() ? "; dead state zeroed: " : ", ";
    s += v->name;
    if (std::find(d.timeout_only.begin(), d.timeout_only.end(), v) != d.timeout_only.end()) {
      s += " (feeds only timeouts)";
      continue;
    }
    std::string at;
    for (size_t i = 0; i < d.round_names.size() && i < 64; ++i)
      if (mask >> i & 1) at += (at.empty() ? "" : "/") + d.round_names[i];
    s += " before " + at;
  }
  return s;
}

int run_check_verb(const CheckCli& cli, const CommonOptions& common) {
  psync::check::CheckOptions o;
  o.n = cli.n;
  o.rounds = cli.rounds;
  o.trace_json = cli.trace_json;
  o.svg = cli.svg;
  o.stats_json = cli.stats_json;
  o.liveness = !cli.no_liveness;
  o.liveness_every_round = cli.liveness_every_round;
  o.max_states = cli.max_states;
  o.liveness_max_ho_bits = cli.max_ho_bits;
  o.brute_force_ho = cli.ho_brute_force;
  o.threads = cli.threads;
  if (!parse_input_values(cli, o.values_lo, o.values_hi)) return 2;
  if (!parse_bytes_values(cli.bytes_values, o.bytes_values)) return 2;
  o.time_limit_s = static_cast<double>(cli.time_limit_us) / 1e6;
  return with_jit_protocol(cli.file, cli.opt_level, common, [&](const psync_protocol_desc& d, const psync::ProgramTraits& t) {
    if (!resolve_consts(d, cli.consts, cli.n, o.consts)) return 2;
    o.symmetry = t.symmetric && !cli.no_symmetry;
    o.cyclic_rounds = !t.reads_round_number;
    const bool liars = d.byzantine != nullptr;  // a liar's absolute values would not respect the renaming
    o.phase_abstraction = !o.cyclic_rounds && t.phase_order.applies && !cli.no_phase_abstraction && !liars;
    o.dead_state = !cli.no_dead_state;
    const std::string rounds =
        o.cyclic_rounds        ? "folded modulo the cycle (the protocol does not read r or phase)"
        : o.phase_abstraction  ? "phase values renamed by their order (" + phase_order_summary(t.phase_order) + ")"
        : t.phase_order.applies && liars ? std::string("counted (`byzantine f`: a liar's values are not renamed)")
        : t.phase_order.applies ? std::string("counted (--no-phase-abstraction)")
                                : "counted (phase values cannot be renamed: " + t.phase_order.reason + ")";
    fmt::print("psyncc check: {} with n={}, {}; symmetry reduction {}; rounds {}{}\n", cli.file, cli.n,
               "inputs " + cli.values, o.symmetry ? "on" : "off (" + (cli.no_symmetry ? std::string("--no-symmetry") : t.asymmetry_reason) + ")",
               rounds, dead_state_summary(t.dead_state, cli.no_dead_state));
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
  if (!parse_input_values(cli, o.values_lo, o.values_hi)) return 2;
  if (!parse_bytes_values(cli.bytes_values, o.bytes_values)) return 2;
  o.time_limit_s = static_cast<double>(cli.time_limit_us) / 1e6;
  return with_jit_protocol(cli.file, cli.opt_level, common, [&](const psync_protocol_desc& d, const psync::ProgramTraits&) {
    if (!resolve_consts(d, cli.consts, cli.n, o.consts)) return 2;
    fmt::print("psyncc simulate: {} with n={}, {} runs from seed {}, inputs {}\n", cli.file, cli.n, cli.runs, cli.seed,
               cli.values);
    std::fflush(stdout);
    return psync::check::run_simulate(d, o, stdout);
  });
}

// `psyncc explore`: the same in-memory compilation, served as a web page
// (runtime/explore/README.md).
int run_explore_verb(const CheckCli& cli, int port, const CommonOptions& common) {
  psync::explore::ExploreOptions o;
  o.n = cli.n;
  o.port = static_cast<uint16_t>(port);
  if (!parse_input_values(cli, o.values_lo, o.values_hi)) return 2;
  if (!parse_bytes_values(cli.bytes_values, o.bytes_values)) return 2;
  return with_jit_protocol(cli.file, cli.opt_level, common, [&](const psync_protocol_desc& d, const psync::ProgramTraits&) {
    if (!resolve_consts(d, cli.consts, cli.n, o.consts)) return 2;
    return psync::explore::run_explore(d, o, stdout);
  });
}

}  // namespace

int main(int argc, char** argv) {
  using psync::cmdline::Duration;
  using psync::cmdline::Integer;
  using psync::cmdline::Probability;
  using psync::cmdline::Unsigned;
  // --rounds: far beyond what exploration or simulation can reach, and
  // small enough for the simulator's per-round histogram.
  constexpr int64_t kMaxRounds = 1'000'000;
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

  FmtOptions fmt_opts;
  auto* fmt_cmd = app.add_subcommand("fmt", "Format protocol files (to stdout, in place with -i, or --check)");
  fmt_cmd->add_option("files", fmt_opts.files, "Protocol files (.psync); - reads standard input")
      ->required()->type_name("FILE");
  auto* in_place = fmt_cmd->add_flag("-i,--in-place", fmt_opts.in_place, "Rewrite the files in place");
  fmt_cmd->add_flag("--check", fmt_opts.check, "Change nothing; exit 1 naming each file that would change")
      ->excludes(in_place);

  bool lsp_stdio = false;
  auto* lsp_cmd = app.add_subcommand("lsp", "Serve the Language Server Protocol on standard input and output");
  lsp_cmd->add_flag("--stdio", lsp_stdio, "Talk over stdin/stdout (the only transport; editors pass it)");
  add_common(lsp_cmd, common);

  BuildOptions build_opts;
  auto* build = app.add_subcommand("build", "Compile a protocol to a native binary (or IR, assembly, object)");
  build->add_option("file", build_opts.file, "Protocol file (.psync)")->required()->type_name("FILE");
  build->add_option("-o,--output", build_opts.output, "Output file")->type_name("OUT");
  add_opt_level(build, build_opts.opt_level, "the generated code");
  build->add_option("--emit", build_opts.emit, "What to write: llvm, asm, obj or exe")
      ->check(CLI::IsMember({"llvm", "asm", "obj", "exe"}))->type_name("KIND");
  build->add_option("--depfile", build_opts.depfile,
                    "Also write the files the output is made from (the protocol and its imports) to FILE, "
                    "in Make syntax, for build systems")->type_name("FILE");
  build->add_flag("--verbose", build_opts.verbose,
                  "Say which passes optimise the code, and how the executable is linked (in-process by lld's "
                  "library, or which C++ driver)");
  add_target_options(build, build_opts.target);
  add_common(build, common);

  RunOptions run_opts;
  auto* run = app.add_subcommand("run", "Compile a protocol and run it on a local cluster of processes");
  run->add_option("file", run_opts.file, "Protocol file (.psync)")->required()->type_name("FILE");
  run->add_option("-n", run_opts.n, "Number of replicas (1..64)")->required()->transform(Integer(1, 64));
  run->add_option("--input", run_opts.inputs, "name=value | name=random | name=v1,v2,... (per instance)");
  run->add_option("--const", run_opts.consts, "name=value, overriding a const");
  run->add_option("--timeout", run_opts.timeout_us, "Default round timeout, e.g. 20ms")->transform(Duration(1));
  run->add_option("--transport", run_opts.transport, "udp or tcp")->check(CLI::IsMember({"udp", "tcp"}));
  run->add_option("--kill", run_opts.kills, "Kill replica I after time T: I@T (2@0ms: it crashes before it runs)")->type_name("I@T");
  run->add_option("--instances", run_opts.instances, "Consensus instances to run")
      ->transform(Unsigned(1, psync::cmdline::kMaxInstances));
  run->add_option("--window", run_opts.window, "Instances in flight at once")
      ->transform(Unsigned(1, psync::cmdline::kMaxInstances));
  run->add_option("--drop", run_opts.drop, "Drop each received message with this probability")
      ->transform(Probability());
  run->add_option("--delay", run_opts.delay_us, "Delay received messages by up to this duration")->transform(Duration());
  run->add_option("--seed", run_opts.seed, "Seed for random inputs, coins and fault injection")->transform(Unsigned(0));
  run->add_option("--time-limit", run_opts.time_limit_us, "Stop the whole run after this long (default 60s)")
      ->transform(Duration(1000));
  run->add_option("--max-rounds", run_opts.max_rounds,
                  "Rounds after which a replica ends an instance (0 = never; where a protocol without a decision ends)")
      ->transform(Integer(0, 1'000'000'000'000));
  add_opt_level(run, run_opts.opt_level, "the replicas' code");
  add_target_options(run, run_opts.target);
  run->add_flag("--stats", run_opts.stats, "Replicas print their counters at exit");
  run->add_flag("--logs", run_opts.logs, "Show the replicas' logs");
  run->add_flag("--no-keys", run_opts.no_keys, "Run a keyless (unauthenticated) cluster");
  run->add_option("--data-dir", run_opts.data_dir, "Make the replicas durable: replica I keeps its log in DIR/replica-I")
      ->type_name("DIR");
  add_common(run, common);

  KeygenOptions keygen_opts;
  auto* keygen = app.add_subcommand("keygen", "Write key pairs for the replicas of a cluster (authenticated channels)");
  keygen->add_option("--dir", keygen_opts.dir, "Where the key files go (replica-I.key, replica-I.pub)")
      ->required()->type_name("DIR");
  keygen->add_option("-n", keygen_opts.n, "Keys for replicas 0..N-1")->transform(Integer(1, 64));
  keygen->add_option("--cluster", keygen_opts.cluster,
                     "Keys for the replicas of this cluster file, and DIR/cluster.toml listing their public keys")
      ->type_name("FILE");
  keygen->add_option("--id", keygen_opts.id, "Only replica I (each machine makes its own key)")->transform(Integer(0, 63));

  CheckCli check_cli;
  auto* check = app.add_subcommand("check", "Explore every heard-of assignment for small n and check the specs");
  check->add_option("file", check_cli.file, "Protocol file (.psync)")->required()->type_name("FILE");
  check->add_option("-n", check_cli.n, "Number of processes")->required()->transform(Integer(1, 64));
  check->add_option("--rounds", check_cli.rounds, "Explore executions of at most R rounds")
      ->transform(Integer(0, kMaxRounds));
  check->add_option("--values", check_cli.values, "Domain of every int input, A..B (default 0..1)");
  check->add_option("--bytes-values", check_cli.bytes_values,
                    "Domain of every bytes<K> input: a,b,hex:00ff (default: the numbers of --values as text)");
  check->add_option("--trace-json", check_cli.trace_json, "Write a counterexample as JSON")->type_name("FILE");
  check->add_option("--svg", check_cli.svg, "Write a counterexample as an SVG diagram")->type_name("FILE");
  check->add_option("--stats-json", check_cli.stats_json, "Write the figures as JSON")->type_name("FILE");
  check->add_option("--const", check_cli.consts, "name=value, overriding a const");
  check->add_option("--max-states", check_cli.max_states, "Give up (exit 3) past this many states")
      ->transform(Unsigned(0));
  check->add_option("--time-limit", check_cli.time_limit_us, "Stop (exit 3) after this long, e.g. 10m, printing the figures so far")
      ->transform(Duration(1));
  check->add_option("--max-ho-bits", check_cli.max_ho_bits,
                    "Check liveness whose predicate must be brute-forced (2^(n*n) heard-of vectors per state) only "
                    "while n*n is at most this (default 16)")
      ->transform(Integer(0, 30));
  check->add_option("--threads", check_cli.threads,
                    "Threads exploring each level (default: the cores); every count gives the same verdict, "
                    "figures and counterexample")
      ->transform(Integer(1, 1024));
  check->add_flag("--ho-brute-force", check_cli.ho_brute_force,
                  "Filter every heard-of vector instead of generating them from the predicates' shape (a baseline)");
  check->add_flag("--no-symmetry", check_cli.no_symmetry, "Do not sort process states even when it is sound");
  check->add_flag("--no-phase-abstraction", check_cli.no_phase_abstraction,
                  "Count rounds even when phase values could be renamed by their order, and fold no stale phase "
                  "value (then --rounds bounds the run)");
  check->add_flag("--no-dead-state", check_cli.no_dead_state,
                  "Keep state words that no future depends on (dead before a round, or feeding only timeouts) "
                  "instead of zeroing them");
  check->add_flag("--no-liveness", check_cli.no_liveness, "Check only invariants and properties");
  check->add_flag("--liveness-every-round", check_cli.liveness_every_round,
                  "Start liveness windows at every round, not only at phase boundaries");
  add_opt_level(check, check_cli.opt_level, "the JIT-compiled protocol");
  add_common(check, common);

  CheckCli sim_cli;
  auto* simulate = app.add_subcommand("simulate", "Run random executions (random HO sets, losses, crashes)");
  simulate->add_option("file", sim_cli.file, "Protocol file (.psync)")->required()->type_name("FILE");
  simulate->add_option("-n", sim_cli.n, "Number of processes")->required()->transform(Integer(1, 64));
  simulate->add_option("--runs", sim_cli.runs, "Number of runs")->transform(Unsigned(1));
  simulate->add_option("--seed", sim_cli.seed, "Seed of the first run (run i uses seed + i)")->transform(Unsigned(0));
  simulate->add_option("--loss", sim_cli.loss, "Probability that a message is lost")->transform(Probability());
  simulate->add_option("--crash", sim_cli.crash, "Per process and round, probability of crashing")
      ->transform(Probability());
  simulate->add_option("--rounds", sim_cli.rounds, "Rounds per run")->transform(Integer(0, kMaxRounds));
  simulate->add_option("--values", sim_cli.values, "Inputs drawn from A..B (default 0..1)");
  simulate->add_option("--bytes-values", sim_cli.bytes_values,
                       "bytes<K> inputs drawn from a,b,hex:00ff (default: the numbers of --values as text)");
  simulate->add_option("--const", sim_cli.consts, "name=value, overriding a const");
  simulate->add_option("--time-limit", sim_cli.time_limit_us, "Stop (exit 3) after this long, printing the figures so far")
      ->transform(Duration(1));
  simulate->add_option("--trace-json", sim_cli.trace_json, "Write the first violating run as JSON")->type_name("FILE");
  simulate->add_option("--svg", sim_cli.svg, "Write the first violating run as SVG")->type_name("FILE");
  add_opt_level(simulate, sim_cli.opt_level, "the JIT-compiled protocol");
  add_common(simulate, common);

  CheckCli explore_cli;
  int explore_port = 0;
  auto* explore = app.add_subcommand("explore", "Step a protocol round by round in a local web page (127.0.0.1)");
  explore->add_option("file", explore_cli.file, "Protocol file (.psync)")->required()->type_name("FILE");
  explore->add_option("-n", explore_cli.n, "Number of processes")->required()->transform(Integer(1, 64));
  explore->add_option("--port", explore_port, "TCP port on 127.0.0.1 (default 0: any free port; the URL is printed)")
      ->transform(Integer(0, 65535));
  explore->add_option("--values", explore_cli.values, "Domain of every int input, A..B (default 0..1)");
  explore->add_option("--bytes-values", explore_cli.bytes_values,
                      "Domain of every bytes<K> input: a,b,hex:00ff (default: the numbers of --values as text)");
  explore->add_option("--const", explore_cli.consts, "name=value, overriding a const");
  add_opt_level(explore, explore_cli.opt_level, "the JIT-compiled protocol");
  add_common(explore, common);

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
    if (*fmt_cmd) return run_fmt(fmt_opts);
    if (*lsp_cmd) {
      psync::lsp::ServerOptions o;
      o.import_dirs = common.import_dirs;
      std::ios::sync_with_stdio(false);
      return psync::lsp::run_language_server(std::cin, std::cout, o);
    }
    if (*build) {
      // Once the outputs are written, nothing is left to do but free memory:
      // skip the static destructors (LLVM's options, ANTLR's caches) and
      // leave the rest to the kernel, as clang's -disable-free does. A few
      // ms of a build at -O2 (bench/README.md, compile).
      int status = run_build(build_opts, common);
      std::cout.flush();
      std::fflush(nullptr);
      std::_Exit(status);
    }
    if (*run) return run_local_cluster(run_opts, common);
    if (*keygen) return run_keygen(keygen_opts);
    if (*check) return run_check_verb(check_cli, common);
    if (*simulate) return run_simulate_verb(sim_cli, common);
    if (*explore) return run_explore_verb(explore_cli, explore_port, common);
  } catch (const std::exception& e) {
    fmt::print(stderr, "psyncc: internal error: {}\n", e.what());
    // check and simulate keep 3 for "incomplete": their internal error is 5.
    return *check || *simulate ? psync::check::kExitInternal : 3;
  }
  return 2;
}
