// backend.cpp: the LLVM pipeline after lowering: optimisation with the new
// pass manager, object/assembly emission for the host, and linking with the
// runtime library.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "codegen/codegen.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

namespace psync {

namespace fs = std::filesystem;

namespace {

void init_native_target() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)done;
}

llvm::OptimizationLevel level_of(int opt) {
  switch (opt) {
    case 0: return llvm::OptimizationLevel::O0;
    case 1: return llvm::OptimizationLevel::O1;
    case 3: return llvm::OptimizationLevel::O3;
    default: return llvm::OptimizationLevel::O2;
  }
}

std::unique_ptr<llvm::TargetMachine> host_machine(int opt, std::string& error) {
  init_native_target();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) return nullptr;
  llvm::TargetOptions options;
  auto level = opt == 0 ? llvm::CodeGenOptLevel::None : opt == 1 ? llvm::CodeGenOptLevel::Less
                                                                   : llvm::CodeGenOptLevel::Default;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), "", options, llvm::Reloc::PIC_, std::nullopt, level));
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

bool optimize_module(llvm::Module& module, int opt_level, std::string& error) {
  auto tm = host_machine(opt_level, error);
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
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level_of(opt_level));
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

bool emit_file(llvm::Module& module, EmitKind kind, const std::string& path, int opt_level, std::string& error) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, kind == EmitKind::Object ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  if (kind == EmitKind::LLVM) {
    module.print(out, nullptr);
    return true;
  }
  auto tm = host_machine(opt_level, error);
  if (!tm) return false;
  module.setDataLayout(tm->createDataLayout());
  llvm::legacy::PassManager pm;
  auto file_type = kind == EmitKind::Asm ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm->addPassesToEmitFile(pm, out, nullptr, file_type)) {
    error = "the host target cannot emit this file type";
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

bool link_executable(const std::string& object, const std::string& runtime_lib, const std::string& output,
                     std::string& error) {
  std::vector<std::string> argv{"c++"};
  // lld 19 links in about half the time of GNU ld (TOOLCHAIN.md); a plain
  // -fuse-ld=lld would pick lld 14 from /usr/bin.
  if (fs::exists("/usr/lib/llvm-19/bin/ld.lld")) {
    argv.push_back("-fuse-ld=lld");
    argv.push_back("-B/usr/lib/llvm-19/bin");
  }
  argv.insert(argv.end(), {object, runtime_lib, "-lsodium", "-lpthread", "-o", output});
  int status = run_program(argv, error);
  if (status != 0) {
    if (error.empty()) error = "linking failed (exit status " + std::to_string(status) + ")";
    return false;
  }
  return true;
}

}  // namespace psync
