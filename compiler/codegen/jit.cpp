// jit.cpp: loading a lowered protocol in memory with ORC LLJIT, so that the
// checker, the simulator and tests run the generated code without linking a
// binary. The descriptor is looked up by its exported symbol name. Code is
// generated for the host CPU with the features it really has.
#include "codegen/codegen.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include "psync/abi.h"

namespace psync {

struct JitProtocol::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JitProtocol::~JitProtocol() = default;

namespace {

// The host as `--mcpu native` resolves it: getHostCPUName() together with
// getHostCPUFeatures(). The name alone would be wrong on a VM that reports
// a CPU model but masks some of its features (TOOLCHAIN.md: znver4 without
// AVX-512 gave SIGILL).
bool host_target(TargetSpec& host, std::string& error) {
  TargetSpec native;
  native.cpu = "native";
  return resolve_target(native, host, error);
}

llvm::CodeGenOptLevel jit_codegen_level(int opt) {
  return opt <= 0 ? llvm::CodeGenOptLevel::None
         : opt == 1 ? llvm::CodeGenOptLevel::Less
         : opt == 2 ? llvm::CodeGenOptLevel::Default
                    : llvm::CodeGenOptLevel::Aggressive;
}

}  // namespace

std::unique_ptr<JitProtocol> JitProtocol::create(std::unique_ptr<llvm::LLVMContext> context,
                                                 std::unique_ptr<llvm::Module> module, std::string& error,
                                                 int opt_level) {
  TargetSpec host;
  if (!host_target(host, error)) return nullptr;
  llvm::orc::JITTargetMachineBuilder machine{llvm::Triple(host.triple)};
  machine.setCPU(host.cpu);
  machine.setFeatures(host.features);
  machine.setCodeGenOptLevel(jit_codegen_level(opt_level));
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(machine)).create();
  if (!jit) {
    error = llvm::toString(jit.takeError());
    return nullptr;
  }
  // memcpy/memset from lowered intrinsics resolve against this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) {
    error = llvm::toString(gen.takeError());
    return nullptr;
  }
  (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
  module->setDataLayout((*jit)->getDataLayout());
  if (auto err = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(context)))) {
    error = llvm::toString(std::move(err));
    return nullptr;
  }
  auto sym = (*jit)->lookup(PSYNC_DESCRIPTOR_SYMBOL);
  if (!sym) {
    error = llvm::toString(sym.takeError());
    return nullptr;
  }
  std::unique_ptr<JitProtocol> p(new JitProtocol());
  p->impl_ = std::make_unique<Impl>();
  p->impl_->jit = std::move(*jit);
  p->desc_ = sym->toPtr<const psync_protocol_desc*>();
  return p;
}

LoweredProtocol::LoweredProtocol() = default;
LoweredProtocol::~LoweredProtocol() = default;

std::unique_ptr<LoweredProtocol> LoweredProtocol::lower(const Program& program, const SourceManager& sources,
                                                        std::string& error, LowerMode mode) {
  std::unique_ptr<LoweredProtocol> p(new LoweredProtocol());
  p->context_ = std::make_unique<llvm::LLVMContext>();
  p->module_ = lower_program(program, sources, *p->context_, error, mode);
  if (!p->module_) return nullptr;
  return p;
}

bool LoweredProtocol::optimize(int opt_level, const TargetSpec& target, std::string& error) {
  return optimize_module(*module_, opt_level, target, error);
}

bool LoweredProtocol::emit(EmitKind kind, const std::string& path, int opt_level, const TargetSpec& target,
                           std::string& error) {
  return emit_file(*module_, kind, path, opt_level, target, error);
}

std::unique_ptr<JitProtocol> LoweredProtocol::jit(std::string& error) {
  return JitProtocol::create(std::move(context_), std::move(module_), error);
}

std::unique_ptr<JitProtocol> jit_compile(const Program& program, const SourceManager& sources, int opt_level,
                                         std::string& error, LowerMode mode) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = lower_program(program, sources, *context, error, mode);
  if (!module) return nullptr;
  // The optimiser's cost model (vector widths) and the JIT's code generator
  // see the same machine. The IR passes are those of `psyncc build` at the
  // level (optimisation_pipeline): with psync's short -O2 pipeline the
  // checker ran no slower than with LLVM's default<O2> (bench/README.md,
  // compile), so the JIT has no pipeline of its own.
  TargetSpec host;
  if (!host_target(host, error) || !optimize_module(*module, opt_level, host, error)) return nullptr;
  return JitProtocol::create(std::move(context), std::move(module), error, opt_level);
}

}  // namespace psync
