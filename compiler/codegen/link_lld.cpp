// link_lld.cpp: links a protocol in-process with lld's ELF library, on the
// link line `c++ -fuse-ld=lld` would run (read from the compiler at configure
// time, codegen/lld_link.cmake), in psyncc's own process under LLVM's crash
// recovery. It saves starting the gcc driver, collect2 and ld.lld, which
// loads the shared libLLVM.so (bench/compile).
#include "codegen/link_lld.h"

#include <filesystem>

#ifdef PSYNC_LLD_INPROCESS
#include "lld/Common/Driver.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/raw_ostream.h"

LLD_HAS_DRIVER(elf)

#include "llvm/Config/llvm-config.h"
#include "llvm/Passes/PassPlugin.h"

// lld's library brings LLVM's LTO, whose list of built-in pass plugins
// (llvm/Support/Extension.def) names Polly, which Debian ships only as the
// loadable LLVMPolly.so. psyncc links objects it generated itself, never
// bitcode, so LTO never runs; the plugin registers no passes, as when LLVM
// is built without Polly.
llvm::PassPluginLibraryInfo getPollyPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "Polly", LLVM_VERSION_STRING, [](llvm::PassBuilder&) {}};
}

// lld initialises all the targets LLVM was built with (for LTO) at each link;
// psyncc links only those it generates code for (compiler/CMakeLists.txt,
// PSYNC_LLVM_TARGETS). The others, never used by a link of psyncc's own
// objects, get initialisers that register nothing.
#define PSYNC_UNLINKED_TARGET(T)                       \
  extern "C" void LLVMInitialize##T##TargetInfo() {}   \
  extern "C" void LLVMInitialize##T##Target() {}       \
  extern "C" void LLVMInitialize##T##TargetMC() {}     \
  extern "C" void LLVMInitialize##T##AsmPrinter() {}   \
  extern "C" void LLVMInitialize##T##AsmParser() {}
#include "unlinked_targets.def"
#undef PSYNC_UNLINKED_TARGET
#endif

namespace psync {

namespace {

#ifdef PSYNC_LLD_INPROCESS
// Placeholders of the configure-time line (lld_link.cmake).
constexpr const char* kObject = "psync-link-object.o";
constexpr const char* kRuntime = "psync-link-runtime.a";
constexpr const char* kOutput = "psync-link-output";

// Set when an lld run ended in a fatal error: lld's global state is then
// left as it was (lldMain's canRunAgain), so this process links no more.
bool lld_spent = false;

const std::vector<std::string>& configured_link_args() {
  static const std::vector<std::string> args{
#define PSYNC_LINK_ARG(A) A,
#include "link_args.def"
#undef PSYNC_LINK_ARG
  };
  return args;
}
#endif

}  // namespace

bool inprocess_link_usable(std::string& why) {
#ifdef PSYNC_LLD_INPROCESS
  if (lld_spent) {
    why = "lld failed fatally earlier in this process";
    return false;
  }
  // The crt objects and the dynamic linker the line names belong to the
  // compiler and C library installed when psyncc was configured: if one has
  // gone (an upgrade, another machine), `c++` knows the new ones.
  const auto& args = configured_link_args();
  if (args.empty()) {
    why = "no link line was configured";
    return false;
  }
  for (const std::string& a : args) {
    if (a.empty() || a[0] != '/') continue;
    std::error_code ec;
    if (!std::filesystem::exists(a, ec)) {
      why = a + " (named by the configured link line) is gone";
      return false;
    }
  }
  return true;
#else
  why = "this psyncc was built without lld's library (liblld-19-dev)";
  return false;
#endif
}

bool link_inprocess(const std::string& object, const std::string& runtime_lib, const std::string& output,
                    std::string& error) {
#ifdef PSYNC_LLD_INPROCESS
  std::vector<std::string> args{"ld.lld"};
  for (const std::string& a : configured_link_args()) {
    if (a == kObject) args.push_back(object);
    else if (a == kRuntime) args.push_back(runtime_lib);
    else if (a == kOutput) args.push_back(output);
    else args.push_back(a);
  }
  // One thread: lld's parallel loops then run on this thread, where a fatal
  // error (below) can be caught. It links as fast here (bench/README.md,
  // compile), and the output is the same: lld's is independent of threads.
  args.push_back("--threads=1");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  // On a fatal error (a corrupt input, say) lld ends with exitLld, which
  // calls _exit unless it runs inside an enabled CrashRecoveryContext: then
  // it jumps back to lldMain, which returns the status with canRunAgain
  // false. Enabled only for the link, so that a crash elsewhere in psyncc
  // still ends it as before. (Before, lld ran in a forked child: the fork
  // cost about 10 ms CPU, bench/README.md, compile.)
  llvm::CrashRecoveryContext::Enable();
  lld::Result r = lld::lldMain(argv, llvm::outs(), llvm::errs(), {{lld::Gnu, &lld::elf::link}});
  llvm::CrashRecoveryContext::Disable();
  llvm::outs().flush();
  llvm::errs().flush();
  if (!r.canRunAgain) lld_spent = true;
  if (r.retCode == 0) return true;
  // The crash recovery reports a signal as 128 + its number.
  error = r.retCode > 128 ? "linking failed (lld crashed with signal " + std::to_string(r.retCode - 128) + ")"
                          : "linking failed (lld, exit status " + std::to_string(r.retCode) + ")";
  return false;
#else
  (void)object, (void)runtime_lib, (void)output;
  error = "internal error: in-process linking is not built in";
  return false;
#endif
}

}  // namespace psync
