// main.cpp: the psyncc command line. A thin layer over the front-end (and,
// later, codegen/runtime) libraries: it parses arguments with CLI11, runs the
// pipeline and maps the outcome to an exit status.
//   0: success   1: the program has errors   2: bad command line or I/O
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "codegen/codegen.h"
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

int run_typecheck(const std::vector<std::string>& files, const CommonOptions& common) {
  int status = 0;
  for (const auto& f : files) {
    psync::Compilation c;
    psync::StreamConsumer console;
    psync::DiagnosticEngine diags(c.sources, console);
    if (!psync::run_frontend(c, f, diags, frontend_options(common))) status = 1;
  }
  return status;
}

int run_dump_ast(const std::string& file, const CommonOptions& common) {
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

  // An unknown verb gets its own one-line error (CLI11 would only say that
  // a subcommand is required).
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
  } catch (const std::exception& e) {
    fmt::print(stderr, "psyncc: internal error: {}\n", e.what());
    return 3;
  }
  return 2;
}
