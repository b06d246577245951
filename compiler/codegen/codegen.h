// codegen.h: typed AST -> LLVM IR, and IR -> object / executable / JIT.
// In: a Program that passed sema. Out: an llvm::Module that defines the
// protocol's entry points and exports the descriptor `psync_protocol`
// (runtime/include/psync/abi.h). This header keeps LLVM out: it only
// forward-declares the LLVM types it mentions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ast/ast.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

struct psync_protocol_desc;

namespace psync {

/// The version of psyncc (PSYNC_VERSION), which every fingerprint covers.
const char* compiler_version();

/// FNV-1a over the compiler version, the ABI version and the texts of every
/// file of the compilation (the protocol and its imports): the fingerprint
/// peers compare in every frame, so replicas built from different sources,
/// by different compilers or for different ABIs refuse each other.
uint64_t program_fingerprint(const SourceManager& sources);
/// The same with explicit versions (tests compare builds that differ in one).
uint64_t program_fingerprint(const SourceManager& sources, std::string_view compiler, uint32_t abi_version);

/// What a lowering is for. A replica (`psyncc build`, `psyncc run`) leaves
/// out every `model` var, let and statement; the checker and the simulator
/// run the model, which includes them (and sets PSYNC_PROTO_MODEL). The two
/// have different state layouts and different fingerprints.
enum class LowerMode { Replica, Model };

/// Lowers the program. The module is verified (llvm::verifyModule) before it
/// is returned; a verification failure is an internal error reported in
/// `error` with a null result.
std::unique_ptr<llvm::Module> lower_program(const Program& program, const SourceManager& sources,
                                            llvm::LLVMContext& context, std::string& error,
                                            LowerMode mode = LowerMode::Replica);

/// The machine `psyncc build` generates code for (--target, --mcpu, --mattr).
/// A binary is meant for a cluster of machines, not the one that built it,
/// so the default CPU is portable: x86-64-v2 on x86-64, `generic` on other
/// architectures (aarch64: Armv8-A). The JIT does not use this: it always
/// compiles for the host it runs on, with the host's real features.
struct TargetSpec {
  std::string triple;    // empty: the host's (llvm::sys::getDefaultTargetTriple)
  std::string cpu;       // empty: the portable default; "native": the host CPU and its real features
  std::string features;  // LLVM syntax, "+avx2,-avx512f"; applied after the CPU's (and native's) own
};

/// Checks a TargetSpec and fills in its defaults: the triple normalised, the
/// CPU named, and for "native" the host's name with the feature list from
/// llvm::sys::getHostCPUFeatures (a VM may report a CPU model but mask some
/// of its features). False with a one-line message for an unknown triple,
/// CPU or feature.
bool resolve_target(const TargetSpec& requested, TargetSpec& resolved, std::string& error);

/// The host CPU's real features in LLVM syntax ("+avx2,-avx512f,..."),
/// from llvm::sys::getHostCPUFeatures, sorted.
std::string host_cpu_features();

/// True when the triple is the one this psyncc runs on (so the runtime
/// library next to it can be linked in).
bool is_host_triple(const std::string& triple);

/// The IR pass pipeline of an -O level, in the syntax of opt's -passes: psync's
/// own short one at -O1 and -O2 (fixed, chosen for generated protocol code),
/// LLVM's default<O3> at -O3 (built as PassBuilder's default, without the SLP
/// vectoriser that opt's "default<O3>" adds), none ("") at -O0.
const char* optimisation_pipeline(int opt_level);

/// Runs optimisation_pipeline(opt_level) with the new pass manager for a
/// resolved target (its cost model informs the inliner and, at -O3, vector
/// widths) and verifies again.
bool optimize_module(llvm::Module& module, int opt_level, const TargetSpec& target, std::string& error);

enum class EmitKind { LLVM, Asm, Object };

/// Writes IR text, assembly or an object file for a resolved target.
bool emit_file(llvm::Module& module, EmitKind kind, const std::string& path, int opt_level,
               const TargetSpec& target, std::string& error);

/// What links an executable for a target: the runtime library and a C++
/// driver to link it with.
struct LinkPlan {
  std::string runtime_lib;
  std::string linker;     // the C++ driver that links, or kInProcessLinker
  std::string why_not_inprocess;  // for the host, why the in-process link is not used (--verbose)
};

/// LinkPlan::linker when lld's library links in-process (link_lld.h).
inline constexpr const char* kInProcessLinker = "lld (in-process)";

/// For the host: find_runtime_library(), linked in-process by lld's library
/// when psyncc was built with it and $PSYNC_LINKER is not set, else with
/// $PSYNC_LINKER or `c++`. For another triple: the
/// runtime built for it in $PSYNC_RUNTIME_LIB (required: false with a
/// message saying what to do) and $PSYNC_CROSS_CXX, default `ARCH-OS-ENV-g++`
/// (aarch64-linux-gnu-g++).
bool plan_link(const TargetSpec& target, LinkPlan& plan, std::string& error);

/// Links an object with the runtime library into an executable. With the
/// host's `c++` it uses the lld found next to LLVM at configure time when it
/// is still there (about twice as fast as GNU ld).
bool link_executable(const std::string& object, const LinkPlan& plan, const std::string& output,
                     std::string& error);

/// Finds libpsync_runtime.a: $PSYNC_RUNTIME_LIB, then the build tree, then
/// <prefix>/lib next to the running psyncc. Empty if none.
std::string find_runtime_library();

/// A protocol compiled in memory with ORC LLJIT (checker, simulator, tests).
class JitProtocol {
 public:
  /// Compiles `module` (already optimised, or not) for the host at the
  /// code-generation level of -O`opt_level`.
  static std::unique_ptr<JitProtocol> create(std::unique_ptr<llvm::LLVMContext> context,
                                             std::unique_ptr<llvm::Module> module, std::string& error,
                                             int opt_level = 2);
  ~JitProtocol();
  const psync_protocol_desc* descriptor() const { return desc_; }

 private:
  JitProtocol() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const psync_protocol_desc* desc_ = nullptr;
};

/// An LLVM context with its lowered module, for tools that must not include
/// LLVM headers (the driver).
class LoweredProtocol {
 public:
  static std::unique_ptr<LoweredProtocol> lower(const Program& program, const SourceManager& sources,
                                                std::string& error, LowerMode mode = LowerMode::Replica);
  ~LoweredProtocol();
  bool optimize(int opt_level, const TargetSpec& target, std::string& error);
  bool emit(EmitKind kind, const std::string& path, int opt_level, const TargetSpec& target, std::string& error);
  /// Hands the module to the JIT; this object is empty afterwards.
  std::unique_ptr<JitProtocol> jit(std::string& error);

 private:
  LoweredProtocol();
  std::unique_ptr<llvm::LLVMContext> context_;
  std::unique_ptr<llvm::Module> module_;
};

/// Lowering + optimisation at -O0..-O3 + JIT in one call, for tools and
/// tests. Both the optimiser and the JIT's code generator target the host
/// CPU with the features it really has (getHostCPUFeatures), never its name
/// alone.
/// By default it lowers the model (for the checker and the simulator), see
/// LowerMode.
std::unique_ptr<JitProtocol> jit_compile(const Program& program, const SourceManager& sources, int opt_level,
                                         std::string& error, LowerMode mode = LowerMode::Model);

}  // namespace psync
