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

/// Runs the new-pass-manager pipeline at -O0..-O3 and verifies again.
bool optimize_module(llvm::Module& module, int opt_level, std::string& error);

enum class EmitKind { LLVM, Asm, Object };

/// Writes IR text, assembly or an object file for the host.
bool emit_file(llvm::Module& module, EmitKind kind, const std::string& path, int opt_level, std::string& error);

/// Links an object with the runtime library into an executable. Uses lld 19
/// when present, otherwise the system C++ driver.
bool link_executable(const std::string& object, const std::string& runtime_lib, const std::string& output,
                     std::string& error);

/// Finds libpsync_runtime.a: $PSYNC_RUNTIME_LIB, then the build tree, then
/// <prefix>/lib next to the running psyncc. Empty if none.
std::string find_runtime_library();

/// A protocol compiled in memory with ORC LLJIT (checker, simulator, tests).
class JitProtocol {
 public:
  static std::unique_ptr<JitProtocol> create(std::unique_ptr<llvm::LLVMContext> context,
                                             std::unique_ptr<llvm::Module> module, std::string& error);
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
  bool optimize(int opt_level, std::string& error);
  bool emit(EmitKind kind, const std::string& path, int opt_level, std::string& error);
  /// Hands the module to the JIT; this object is empty afterwards.
  std::unique_ptr<JitProtocol> jit(std::string& error);

 private:
  LoweredProtocol();
  std::unique_ptr<llvm::LLVMContext> context_;
  std::unique_ptr<llvm::Module> module_;
};

/// Front end + lowering + -O level + JIT in one call, for tools and tests;
/// by default the model (for the checker), see LowerMode.
std::unique_ptr<JitProtocol> jit_compile(const Program& program, const SourceManager& sources, int opt_level,
                                         std::string& error, LowerMode mode = LowerMode::Model);

}  // namespace psync
