// jit.cpp: loading a lowered protocol in memory with ORC LLJIT, so that the
// checker, the simulator and tests run the generated code without linking a
// binary. The descriptor is looked up by its exported symbol name.
#include "codegen/codegen.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/TargetSelect.h"

#include "psync/abi.h"

namespace psync {

struct JitProtocol::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JitProtocol::~JitProtocol() = default;

std::unique_ptr<JitProtocol> JitProtocol::create(std::unique_ptr<llvm::LLVMContext> context,
                                                 std::unique_ptr<llvm::Module> module, std::string& error) {
  static bool init = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)init;
  auto jit = llvm::orc::LLJITBuilder().create();
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

bool LoweredProtocol::optimize(int opt_level, std::string& error) {
  return optimize_module(*module_, opt_level, error);
}

bool LoweredProtocol::emit(EmitKind kind, const std::string& path, int opt_level, std::string& error) {
  return emit_file(*module_, kind, path, opt_level, error);
}

std::unique_ptr<JitProtocol> LoweredProtocol::jit(std::string& error) {
  return JitProtocol::create(std::move(context_), std::move(module_), error);
}

std::unique_ptr<JitProtocol> jit_compile(const Program& program, const SourceManager& sources, int opt_level,
                                         std::string& error, LowerMode mode) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = lower_program(program, sources, *context, error, mode);
  if (!module) return nullptr;
  if (!optimize_module(*module, opt_level, error)) return nullptr;
  return JitProtocol::create(std::move(context), std::move(module), error);
}

}  // namespace psync
