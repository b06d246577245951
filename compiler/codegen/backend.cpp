// backend.cpp: the LLVM pipeline after lowering: the target machine (a
// portable CPU by default, or --target / --mcpu / --mattr), optimisation with
// the new pass manager, object/assembly emission, and linking with the
// runtime library.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "codegen/codegen.h"
#include "codegen/link_lld.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

namespace psync {

namespace fs = std::filesystem;

namespace {

// Registers the targets this psyncc was configured with (PSYNC_LLVM_TARGETS
// in compiler/CMakeLists.txt, written to llvm_targets.def): the host's, and
// the cross targets. Each is linked statically, so each is listed.
void init_targets() {
  static bool done = [] {
#define PSYNC_LLVM_TARGET(T)         \
  LLVMInitialize##T##TargetInfo();   \
  LLVMInitialize##T##Target();       \
  LLVMInitialize##T##TargetMC();     \
  LLVMInitialize##T##AsmPrinter();   \
  LLVMInitialize##T##AsmParser();
#include "llvm_targets.def"
#undef PSYNC_LLVM_TARGET
    return true;
  }();
  (void)done;
}

// "x86-64, aarch64" for error messages.
std::string registered_targets() {
  std::string names;
  for (const auto& t : llvm::TargetRegistry::targets()) names += (names.empty() ? "" : ", ") + std::string(t.getName());
  return names;
}

// The code generator's level for `psyncc build` at each -O level.
// -O0 and -O1: LLVM's None (FastISel, the fast register allocator, which
// spills every value, no machine passes). -O2 (the default): Less, but only
// for the functions lowering marks `hot`, what a replica runs in every round
// or instance (send, update, receive, finish, go_when, timeout, init and the
// protocol's fns); emit_file marks every other function optnone, for which
// LLVM's code generator selects instructions with FastISel and skips the
// machine passes that honour optnone, though the register allocator stays
// the module's (greedy at Less): printers, specification evaluators, the
// checker's tables, most of a module's code and none of a replica's
// per-round work. -O3: Aggressive for everything.
// Why (bench/README.md, "Issue 11, wave 11: the generated code"): for
// LastVoting's hot functions it halves the instructions (callgrind, 424 ->
// 246 per decided instance at a replica) and lowered the cluster's CPU per
// instance in each of five sittings (lowest runs 1.86-2.14 -> 1.85-2.00 us,
// each within its sitting's spread), for 8 more ms of CPU in `psyncc build
// -O2` of OneThirdRule (42.6 -> 51.0 ms) and 23 for LastVoting; Less for
// every function would cost 20 and 46 ms.
// Default made the same code but for branching around a 64-bit division,
// at the same cost.
// (The checker's JIT keeps its own levels, jit.cpp: there the specification
// evaluators are hot too.)
llvm::CodeGenOptLevel codegen_level_of(int opt) {
  return opt == 3 ? llvm::CodeGenOptLevel::Aggressive
         : opt == 2 ? llvm::CodeGenOptLevel::Less
                    : llvm::CodeGenOptLevel::None;
}

// At -O2, every function lowering did not mark `hot` gets optnone (and the
// noinline it requires) once the IR is optimised: the code generator then
// selects its instructions with FastISel and skips the machine passes that
// honour optnone (not the register allocator, chosen for the whole module).
void keep_cold_code_fast(llvm::Module& module, int opt) {
  if (opt != 2) return;
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || f.hasFnAttribute(llvm::Attribute::Hot)) continue;
    f.addFnAttr(llvm::Attribute::OptimizeNone);
    f.addFnAttr(llvm::Attribute::NoInline);
  }
}

// A TargetMachine for a TargetSpec that resolve_target accepted.
std::unique_ptr<llvm::TargetMachine> target_machine(const TargetSpec& target, int opt, std::string& error) {
  init_targets();
  const llvm::Target* t = llvm::TargetRegistry::lookupTarget(target.triple, error);
  if (!t) return nullptr;
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(t->createTargetMachine(
      target.triple, target.cpu, target.features, options, llvm::Reloc::PIC_, std::nullopt, codegen_level_of(opt)));
}

// Runs a program without a shell; returns its exit status (or -1).
int run_program(const std::vector<std::string>& argv, std::string& error) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    error = "fork failed";
    return -1;
  }
  if (pid == 0) {
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) error = "cannot run '" + argv[0] + "'";
    return WEXITSTATUS(status);
  }
  return -1;
}

}  // namespace

std::string host_cpu_features() {
  // Sorted: the map's order is not stable from one run to the next.
  std::vector<std::string> flags;
  for (const auto& f : llvm::sys::getHostCPUFeatures()) {
    std::string flag = f.second ? "+" : "-";
    flag += f.first();
    flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end());
  return llvm::join(flags, ",");
}

bool is_host_triple(const std::string& triple) {
  // The vendor does not matter: x86_64-linux-gnu is x86_64-pc-linux-gnu.
  llvm::Triple t(llvm::Triple::normalize(triple)), host(llvm::sys::getDefaultTargetTriple());
  return t.getArch() == host.getArch() && t.getSubArch() == host.getSubArch() && t.getOS() == host.getOS() &&
         t.getEnvironment() == host.getEnvironment();
}

bool resolve_target(const TargetSpec& requested, TargetSpec& out, std::string& error) {
  init_targets();
  const std::string host = llvm::sys::getDefaultTargetTriple();
  out = TargetSpec{};
  out.triple = requested.triple.empty() ? host : llvm::Triple::normalize(requested.triple);
  llvm::Triple triple(out.triple);
  std::string lookup_error;
  const llvm::Target* t = llvm::TargetRegistry::lookupTarget(out.triple, lookup_error);
  if (!t || triple.getArch() == llvm::Triple::UnknownArch) {
    error = "unknown or unsupported target '" + requested.triple + "' (this psyncc generates code for: " +
            registered_targets() + "; e.g. --target aarch64-linux-gnu)";
    return false;
  }
  // The CPU and feature tables of the target, to check names against.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(t->createMCSubtargetInfo(out.triple, "", ""));
  if (requested.cpu == "native") {
    if (!is_host_triple(out.triple)) {
      error = "--mcpu native names this machine's CPU; it cannot be combined with --target " + requested.triple;
      return false;
    }
    out.cpu = llvm::sys::getHostCPUName().str();
    out.features = host_cpu_features();
  } else if (requested.cpu.empty()) {
    // Portable defaults: x86-64-v2 (SSE4.2, POPCNT, CMPXCHG16B; every x86-64
    // server since about 2009) and LLVM's `generic` elsewhere (aarch64:
    // Armv8-A).
    out.cpu = triple.getArch() == llvm::Triple::x86_64 ? "x86-64-v2" : "generic";
    if (!sti->isCPUStringValid(out.cpu)) out.cpu.clear();
  } else if (sti->isCPUStringValid(requested.cpu)) {
    out.cpu = requested.cpu;
  } else {
    error = "unknown CPU '" + requested.cpu + "' for " + out.triple +
            " (use native, or a name from: llc -mtriple=" + out.triple + " -mcpu=help)";
    return false;
  }
  if (!requested.features.empty()) {
    llvm::SmallVector<llvm::StringRef, 16> items;
    llvm::StringRef(requested.features).split(items, ',');
    for (llvm::StringRef item : items) {
      llvm::StringRef name = item.trim();
      bool signed_name = name.consume_front("+") || name.consume_front("-");
      bool known = false;
      for (const auto& kv : sti->getAllProcessorFeatures()) known = known || name == kv.Key;
      if (!signed_name || !known) {
        error = "bad --mattr item '" + item.str() + "' for " + out.triple +
                " (a comma-separated list of +feature or -feature; names from: llc -mtriple=" + out.triple +
                " -mattr=help)";
        return false;
      }
    }
    out.features += (out.features.empty() ? "" : ",") + requested.features;
  }
  return true;
}

const char* optimisation_pipeline(int opt_level) {
  // A protocol is a dozen small functions: straight-line code over a state
  // struct and loops over mailboxes of a few processes, calling the runtime
  // through pointers. Most of what LLVM's default<O2> takes (about 55 of
  // 60 ms on OneThirdRule) goes to passes that find little there (the loop
  // passes, IPSCCP, GVN and the rest), and unrolling or vectorising loops
  // over a few processes does not pay (bench/README.md, compile). What the
  // generated code needs is the locals in registers (sroa), redundant loads
  // and arithmetic gone (early-cse, instcombine), branches folded
  // (simplifycfg), and at -O2 the protocol's small helper functions (`def`
  // functions, the stdlib's majority and two_thirds, psync.append_int)
  // inlined into their callers, each callee simplified first as in LLVM's own
  // pipeline, then the helpers left unused removed (globaldce). The hot
  // functions (send, update, go_when) come out within a few instructions of
  // default<O2>'s (bench/README.md, compile).
#define PSYNC_SIMPLIFY "function(sroa,early-cse,instcombine,simplifycfg)"
  switch (opt_level) {
    case 0: return "";
    case 1: return PSYNC_SIMPLIFY;
    case 2: return PSYNC_SIMPLIFY ",cgscc(inline," PSYNC_SIMPLIFY "),globaldce";
    default: return "default<O3>";
  }
#undef PSYNC_SIMPLIFY
}

bool optimize_module(llvm::Module& module, int opt_level, const TargetSpec& target, std::string& error) {
  auto tm = target_machine(target, opt_level, error);
  if (!tm) return false;
  module.setTargetTriple(tm->getTargetTriple().str());
  module.setDataLayout(tm->createDataLayout());
  if (opt_level > 0) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm;
    // -O3 builds LLVM's pipeline directly: parsing "default<O3>" would also
    // turn on the SLP vectoriser (as `opt -O3` does), which psyncc's -O3 has
    // never run.
    if (opt_level == 3) {
      mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    } else if (llvm::Error e = pb.parsePassPipeline(mpm, optimisation_pipeline(opt_level))) {
      error = "internal error: bad optimisation pipeline: " + llvm::toString(std::move(e));
      return false;
    }
    mpm.run(module, mam);
  }
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(module, &os)) {
    error = "internal error: optimised IR does not verify:\n" + os.str();
    return false;
  }
  return true;
}

bool emit_file(llvm::Module& module, EmitKind kind, const std::string& path, int opt_level,
               const TargetSpec& target, std::string& error) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, kind == EmitKind::Object ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  // Before printing IR too: --emit llvm shows the module as the code
  // generator gets it, cold functions marked.
  keep_cold_code_fast(module, opt_level);
  if (kind == EmitKind::LLVM) {
    module.print(out, nullptr);
    return true;
  }
  auto tm = target_machine(target, opt_level, error);
  if (!tm) return false;
  module.setTargetTriple(tm->getTargetTriple().str());
  module.setDataLayout(tm->createDataLayout());
  llvm::legacy::PassManager pm;
  auto file_type = kind == EmitKind::Asm ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm->addPassesToEmitFile(pm, out, nullptr, file_type)) {
    error = "the target " + target.triple + " cannot emit this file type";
    return false;
  }
  pm.run(module);
  out.flush();
  return true;
}

std::string find_runtime_library() {
  if (const char* env = std::getenv("PSYNC_RUNTIME_LIB"); env && *env && fs::exists(env)) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Build tree: build/compiler/psyncc -> build/runtime/libpsync_runtime.a
    fs::path build = exe.parent_path().parent_path() / "runtime" / "libpsync_runtime.a";
    if (fs::exists(build)) return build.string();
    // Installed: <prefix>/bin/psyncc -> <prefix>/lib/psync/libpsync_runtime.a
    fs::path installed = exe.parent_path().parent_path() / "lib" / "psync" / "libpsync_runtime.a";
    if (fs::exists(installed)) return installed.string();
  }
  return "";
}

bool plan_link(const TargetSpec& target, LinkPlan& plan, std::string& error) {
  if (is_host_triple(target.triple)) {
    plan.runtime_lib = find_runtime_library();
    // $PSYNC_LINKER names a C++ driver to link with instead (and is how the
    // tests select the external path).
    const char* linker = std::getenv("PSYNC_LINKER");
    if (linker && *linker) {
      plan.linker = linker;
      plan.why_not_inprocess = "PSYNC_LINKER is set";
    } else {
      plan.linker = inprocess_link_usable(plan.why_not_inprocess) ? kInProcessLinker : "c++";
    }
    if (plan.runtime_lib.empty()) error = "cannot find libpsync_runtime.a (build the runtime, or set PSYNC_RUNTIME_LIB)";
    return !plan.runtime_lib.empty();
  }
  llvm::Triple t(target.triple);
  std::string short_triple = (t.getArchName() + "-" + t.getOSName() + "-" + t.getEnvironmentName()).str();
  const char* runtime = std::getenv("PSYNC_RUNTIME_LIB");
  const char* cxx = std::getenv("PSYNC_CROSS_CXX");
  plan.runtime_lib = runtime ? runtime : "";
  plan.linker = cxx && *cxx ? cxx : short_triple + "-g++";
  if (plan.runtime_lib.empty()) {
    error = "--emit exe for " + short_triple + " needs libpsync_runtime.a built for that target: set " +
            "PSYNC_RUNTIME_LIB to it (and PSYNC_CROSS_CXX to its C++ driver, default " + plan.linker +
            "), or use --emit obj and link the object yourself (runtime/README.md)";
    return false;
  }
  return true;
}

bool link_executable(const std::string& object, const LinkPlan& plan, const std::string& output,
                     std::string& error) {
  const std::string& linker = plan.linker;
  if (linker == kInProcessLinker) return link_inprocess(object, plan.runtime_lib, output, error);
  std::vector<std::string> argv{linker};
  // The lld that came with LLVM links in about half the time of GNU ld
  // (TOOLCHAIN.md); a plain -fuse-ld=lld could pick an older lld on PATH.
  // Its directory was found at configure time (compiler/CMakeLists.txt); an
  // installed psyncc on a machine without it falls back to the default.
  const std::string lld_dir = PSYNC_LLD_DIR;
  if (linker == "c++" && !lld_dir.empty() && fs::exists(fs::path(lld_dir) / "ld.lld")) {
    argv.push_back("-fuse-ld=lld");
    argv.push_back("-B" + lld_dir);
  }
  // libstdc++ and libgcc are linked in, as the in-process link does
  // (lld_link.cmake): a replica then needs only glibc and libsodium on the
  // machine it runs on, and maps only the parts of libstdc++ it uses (a
  // replica's peak RSS is about 1 MiB lower than with libstdc++.so mapped).
  argv.insert(argv.end(),
              {object, plan.runtime_lib, "-lsodium", "-lpthread", "-static-libstdc++", "-static-libgcc", "-o", output});
  int status = run_program(argv, error);
  if (status != 0) {
    if (error.empty()) error = "linking failed (exit status " + std::to_string(status) + ")";
    return false;
  }
  return true;
}

}  // namespace psync
