// context.cpp: the lowering context: layout of values and of the process
// state, the LLVM types of abi.h, module-level helpers, the program
// fingerprint, and lower_program, which runs the whole stage.
#include <stdexcept>

#include "codegen/codegen.h"
#include "codegen/lower/lowering.h"

#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "psync_version.h"  // generated: cmake/version.cmake

namespace psync {

const char* compiler_version() { return PSYNC_VERSION; }

uint64_t program_fingerprint(const SourceManager& sources, std::string_view compiler, uint32_t abi_version) {
  // FNV-1a (Fowler, Noll, Vo). The compiler and ABI versions come first, so
  // replicas built by different compilers refuse each other's messages even
  // when the source is the same.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : compiler) mix(c);
  mix(0xff);
  for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(abi_version >> (8 * i)));
  mix(0xff);
  for (size_t id = 1; id <= sources.size(); ++id) {
    for (unsigned char c : sources.file(static_cast<uint32_t>(id)).text()) mix(c);
    mix(0xff);
  }
  return h;
}

uint64_t program_fingerprint(const SourceManager& sources) {
  return program_fingerprint(sources, compiler_version(), PSYNC_ABI_VERSION);
}

std::unique_ptr<llvm::Module> lower_program(const Program& program, const SourceManager& sources,
                                            llvm::LLVMContext& context, std::string& error, LowerMode mode) {
  return lower::ModuleLowering(program, sources, context, mode).run(error);
}

namespace lower {

// ---------------------------------------------------------------- sizes

Poly Poly::operator+(const Poly& o) const {
  Poly r;
  r.c.assign(std::max(c.size(), o.c.size()), 0);
  for (size_t i = 0; i < c.size(); ++i) r.c[i] += c[i];
  for (size_t i = 0; i < o.c.size(); ++i) r.c[i] += o.c[i];
  return r;
}

Poly Poly::times_n() const {
  Poly r;
  r.c.assign(c.size() + 1, 0);
  for (size_t i = 0; i < c.size(); ++i) r.c[i + 1] = c[i];
  return r;
}

bool Poly::is_constant() const {
  for (size_t i = 1; i < c.size(); ++i)
    if (c[i]) return false;
  return true;
}

Poly words_of(const Type* t) {
  switch (t->kind) {
    case TypeKind::Int:
    case TypeKind::Bool:
    case TypeKind::Pid:
    case TypeKind::Enum:
    case TypeKind::Set:
    case TypeKind::PidSet: return Poly::constant(1);
    case TypeKind::Unit:
    case TypeKind::Error:
    case TypeKind::Lambda:
    case TypeKind::Mailbox: return Poly::constant(0);
    case TypeKind::Option: return Poly::constant(1) + words_of(t->elem);
    case TypeKind::Bytes: return Poly::constant(1 + bytes_data_words(t));
    case TypeKind::Array: return words_of(t->elem).times_n();
    case TypeKind::Tuple:
    case TypeKind::Record: {
      Poly p;
      for (auto* e : t->elems) p = p + words_of(e);
      return p;
    }
  }
  return Poly::constant(0);
}

bool is_word(const Type* t) { return t->is_scalar() || t->is_set(); }

bool is_composite(const Type* t) {
  return t->is(TypeKind::Option) || t->is(TypeKind::Tuple) || t->is(TypeKind::Record) || t->is(TypeKind::Array) ||
         t->is(TypeKind::Bytes);
}

psync_kind kind_of(const Type* t) {
  switch (t->kind) {
    case TypeKind::Int: return PSYNC_KIND_INT;
    case TypeKind::Bool: return PSYNC_KIND_BOOL;
    case TypeKind::Pid: return PSYNC_KIND_PID;
    case TypeKind::PidSet: return PSYNC_KIND_PIDSET;
    case TypeKind::Bytes: return PSYNC_KIND_BYTES;
    case TypeKind::Enum: return PSYNC_KIND_ENUM;
    default: return PSYNC_KIND_OTHER;
  }
}

// ---------------------------------------------------------------- ABI types

AbiTypes::AbiTypes(llvm::LLVMContext& ctx) {
  // psync_field comes before the structs that embed it (the descriptor's output).
#define PSYNC_ABI_FIELD_TYPE(Struct, field) llvm_type_of<decltype(Struct::field)>(ctx, *this),
#define PSYNC_ABI_BUILD(Prefix, Struct, Table) \
  Prefix = llvm::StructType::create(ctx, {Table(PSYNC_ABI_FIELD_TYPE)}, #Struct);
  PSYNC_ABI_STRUCTS(PSYNC_ABI_BUILD)
#undef PSYNC_ABI_BUILD
#undef PSYNC_ABI_FIELD_TYPE
}

// ---------------------------------------------------------------- the module

ModuleLowering::ModuleLowering(const Program& p, const SourceManager& s, llvm::LLVMContext& ctx, LowerMode m)
    : prog(p),
      sources(s),
      mode(m),
      C(ctx),
      module(std::make_unique<llvm::Module>(p.name, ctx)),
      abi(ctx),
      i1(llvm::Type::getInt1Ty(ctx)),
      i32(llvm::Type::getInt32Ty(ctx)),
      i64(llvm::Type::getInt64Ty(ctx)),
      ptr(llvm::PointerType::get(ctx, 0)) {}

std::unique_ptr<llvm::Module> ModuleLowering::run(std::string& error) {
  layout_state();
  declare_fns();
  // print_state and `log` (in any round) share the printing helpers.
  make_print_helpers();
  std::vector<llvm::Constant*> rounds, specs;
  try {
    for (auto& f : prog.fns) lower_fn(*f);
    for (auto& r : prog.rounds) rounds.push_back(lower_round(r));
    for (auto& s : prog.specs)
      if (with_model() || !reads_model_state(s)) specs.push_back(lower_spec(s));
    emit_descriptor(rounds, specs);
  } catch (const std::logic_error& e) {
    error = std::string("internal error: ") + e.what();
    return nullptr;
  }
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(*module, &os)) {
    error = "internal error: generated IR does not verify:\n" + os.str();
    return nullptr;
  }
  return std::move(module);
}

// The state: the psync_proc_header, then inputs, the output, vars and every
// round's round-local vars, in declaration order (abi.h). A replica has no
// model vars.
void ModuleLowering::layout_state() {
  static_assert(sizeof(psync_proc_header) % sizeof(uint64_t) == 0, "the header is whole words");
  Poly off = Poly::constant(sizeof(psync_proc_header) / sizeof(uint64_t));
  auto place = [&](const VarDecl& v) {
    if (!present(v)) return;
    offsets[&v] = off;
    off = off + words_of(v.type);
  };
  for (auto& v : prog.inputs) place(*v);
  for (auto& v : prog.outputs) place(*v);
  // Output vars next, so that their offsets are constants (abi.h).
  for (auto& v : prog.vars)
    if (v->output) place(*v);
  for (auto& v : prog.vars)
    if (!v->output) place(*v);
  for (auto& r : prog.rounds)
    for (auto& v : r.vars) place(*v);
  state_words = off;
}

namespace {

bool expr_reads_model(const Expr& e) {
  if (e.decl && e.decl->model) return true;
  for (auto& a : e.args)
    if (expr_reads_model(*a)) return true;
  for (auto& a : e.arms)
    if (a.value && expr_reads_model(*a.value)) return true;
  return false;
}

}  // namespace

// A replica has no model state, so a specification that reads some cannot
// be evaluated there (the node never evaluates specs; psyncc run does, over
// the replicas' final states) and is left out of its descriptor.
bool ModuleLowering::reads_model_state(const Spec& s) const {
  return (s.pred && expr_reads_model(*s.pred)) || (s.body && expr_reads_model(*s.body));
}

Function* ModuleLowering::make_fn(const std::string& name, llvm::FunctionType* type) {
  auto* f = Function::Create(type, Function::InternalLinkage, name, *module);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  return f;
}

Function* ModuleLowering::hot(Function* f) {
  f->addFnAttr(llvm::Attribute::Hot);
  return f;
}

std::string ModuleLowering::qualified(const std::string& a, const std::string& b, const std::string& c) const {
  std::string s = prog.name + "." + a;
  if (!b.empty()) s += "." + b;
  if (!c.empty()) s += "." + c;
  return s;
}

// A private NUL-terminated string, as IRBuilder::CreateGlobalString makes it.
llvm::Constant* ModuleLowering::cstr(const std::string& s) {
  llvm::Constant* init = llvm::ConstantDataArray::getString(C, s);
  auto* g = new llvm::GlobalVariable(*module, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, "str");
  g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  g->setAlignment(llvm::Align(1));
  return g;
}

llvm::Constant* ModuleLowering::null_ptr() const { return llvm::ConstantPointerNull::get(ptr); }

llvm::Constant* ModuleLowering::fn_or_null(Function* f) const {
  return f ? static_cast<llvm::Constant*>(f) : null_ptr();
}

llvm::Constant* ModuleLowering::array_global(llvm::StructType* elem, const std::vector<llvm::Constant*>& items,
                                             const std::string& name) {
  if (items.empty()) return null_ptr();
  auto* aty = llvm::ArrayType::get(elem, items.size());
  return new llvm::GlobalVariable(*module, aty, true, llvm::GlobalValue::InternalLinkage,
                                  llvm::ConstantArray::get(aty, items), name);
}

llvm::Constant* ModuleLowering::site(SourceRange r, const std::string& what) {
  std::string text = what;
  if (r.valid()) {
    const SourceFile& f = sources.file(r.file);
    LineCol lc = f.line_col(r.begin);
    // The file's base name: binaries do not depend on where they were built.
    std::string file = f.name().substr(f.name().find_last_of('/') + 1);
    text = file + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": " + what;
  }
  return cstr(text);
}

llvm::Constant* ModuleLowering::variant_names(const Type* enum_type) {
  auto it = variant_tables.find(enum_type);
  if (it != variant_tables.end()) return it->second;
  std::vector<llvm::Constant*> names;
  for (const std::string& v : enum_type->field_names) names.push_back(cstr(v));
  auto* aty = llvm::ArrayType::get(ptr, names.size());
  auto* g = new llvm::GlobalVariable(*module, aty, true, llvm::GlobalValue::InternalLinkage,
                                     llvm::ConstantArray::get(aty, names), enum_type->name + ".variants");
  variant_tables[enum_type] = g;
  return g;
}

Function* ModuleLowering::size_fn(const std::string& name, const Poly& words) {
  static_assert(std::is_same_v<decltype(psync_round_desc::msg_size), decltype(psync_protocol_desc::state_size)>);
  Function* fn = make_abi_fn<decltype(psync_round_desc::msg_size)>(name);
  llvm::IRBuilder<> B(BasicBlock::Create(C, "entry", fn));
  Value* n = B.CreateSExt(fn->getArg(0), i64);
  B.CreateRet(B.CreateShl(eval_poly(B, words, n), 3));
  return fn;
}

}  // namespace lower

}  // namespace psync
