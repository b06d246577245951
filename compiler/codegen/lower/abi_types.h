// abi_types.h: the C structs and entry-point signatures of
// runtime/include/psync/abi.h as lowering builds and reads them, derived from
// abi.h itself: one table of field names per struct, checked at compile time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"

#include "psync/abi.h"

namespace psync::lower {

// Every struct of abi.h that generated code reads (psync_env, psync_hooks,
// the state header) or emits (the descriptor and its arrays), field by field
// in declaration order. Each table expands into:
//  - field indices (EnvField::round) for struct GEPs and descriptor constants;
//  - static_asserts that field k starts where field k-1 ends and that the
//    list ends at sizeof(struct): a field missing, reordered, resized or
//    padded in abi.h breaks the build here instead of the generated code.
//    No padding also means LLVM lays the struct out exactly as C does under
//    any data layout with 8-byte pointers, whichever target is chosen later;
//  - the LLVM struct type, each field's LLVM type derived from its C type.
#define PSYNC_ABI_PROC_HEADER(F) F(psync_proc_header, decided) F(psync_proc_header, halted) \
  F(psync_proc_header, conflict) F(psync_proc_header, range_error)
#define PSYNC_ABI_ENV(F) F(psync_env, n) F(psync_env, me) F(psync_env, round) F(psync_env, phase) \
  F(psync_env, consts) F(psync_env, hooks)
#define PSYNC_ABI_HOOKS(F) F(psync_hooks, self) F(psync_hooks, coin) F(psync_hooks, random) \
  F(psync_hooks, decided) F(psync_hooks, conflict) F(psync_hooks, log) F(psync_hooks, range_error)
#define PSYNC_ABI_FIELD(F) F(psync_field, name) F(psync_field, kind) F(psync_field, offset) \
  F(psync_field, variants) F(psync_field, num_variants) F(psync_field, reserved)
#define PSYNC_ABI_ROUND(F) F(psync_round_desc, name) F(psync_round_desc, flags) F(psync_round_desc, reserved) \
  F(psync_round_desc, timeout_us) F(psync_round_desc, strict_bound) F(psync_round_desc, sync_k)             \
  F(psync_round_desc, msg_size) F(psync_round_desc, send) F(psync_round_desc, update)                       \
  F(psync_round_desc, receive) F(psync_round_desc, finish) F(psync_round_desc, go_when)               \
  F(psync_round_desc, timeout) F(psync_round_desc, print_msg) F(psync_round_desc, msg_type)
#define PSYNC_ABI_SPEC(F) F(psync_spec_desc, name) F(psync_spec_desc, kind) F(psync_spec_desc, after_rounds) \
  F(psync_spec_desc, eval) F(psync_spec_desc, eval2) F(psync_spec_desc, pred)                             \
  F(psync_spec_desc, ho_shape) F(psync_spec_desc, reserved5) F(psync_spec_desc, pred_local)
#define PSYNC_ABI_PROTOCOL(F) F(psync_protocol_desc, abi_version) F(psync_protocol_desc, num_rounds)         \
  F(psync_protocol_desc, name) F(psync_protocol_desc, fingerprint) F(psync_protocol_desc, rounds)            \
  F(psync_protocol_desc, num_inputs) F(psync_protocol_desc, num_consts) F(psync_protocol_desc, inputs)       \
  F(psync_protocol_desc, consts) F(psync_protocol_desc, output) F(psync_protocol_desc, num_specs)            \
  F(psync_protocol_desc, reserved) F(psync_protocol_desc, specs) F(psync_protocol_desc, state_size)          \
  F(psync_protocol_desc, const_defaults) F(psync_protocol_desc, init) F(psync_protocol_desc, print_state)    \
  F(psync_protocol_desc, num_output_vars) F(psync_protocol_desc, flags) F(psync_protocol_desc, output_vars)  \
  F(psync_protocol_desc, max_pid_constant) F(psync_protocol_desc, max_pid_constant_site)                     \
  F(psync_protocol_desc, input_types) F(psync_protocol_desc, output_type)                                     \
  F(psync_protocol_desc, phase_words) F(psync_protocol_desc, phase_window)                                    \
  F(psync_protocol_desc, phase_modulus) F(psync_protocol_desc, phase_flags) F(psync_protocol_desc, reserved5)  \
  F(psync_protocol_desc, byzantine) F(psync_protocol_desc, dead_words)                                      \
  F(psync_protocol_desc, stale_words) F(psync_protocol_desc, stale_flags) F(psync_protocol_desc, reserved9)
#define PSYNC_ABI_TYPE(F)                                                                              \
  F(psync_type, kind) F(psync_type, count) F(psync_type, elems) F(psync_type, names) F(psync_type, lo)

// The whole list: (enum prefix, C struct, field table).
#define PSYNC_ABI_STRUCTS(S)                          \
  S(ProcHeader, psync_proc_header, PSYNC_ABI_PROC_HEADER) \
  S(Env, psync_env, PSYNC_ABI_ENV)                    \
  S(Hooks, psync_hooks, PSYNC_ABI_HOOKS)              \
  S(Field, psync_field, PSYNC_ABI_FIELD)              \
  S(TypeDesc, psync_type, PSYNC_ABI_TYPE)             \
  S(Round, psync_round_desc, PSYNC_ABI_ROUND)         \
  S(Spec, psync_spec_desc, PSYNC_ABI_SPEC)            \
  S(Protocol, psync_protocol_desc, PSYNC_ABI_PROTOCOL)

// ---------------------------------------------------------------- field indices
#define PSYNC_ABI_INDEX(Struct, field) field,
#define PSYNC_ABI_DECLARE_INDICES(Prefix, Struct, Table) \
  struct Prefix##Field {                                 \
    enum : unsigned { Table(PSYNC_ABI_INDEX) num_fields }; \
  };
PSYNC_ABI_STRUCTS(PSYNC_ABI_DECLARE_INDICES)
#undef PSYNC_ABI_DECLARE_INDICES
#undef PSYNC_ABI_INDEX

// ---------------------------------------------------------------- layout checks
struct AbiFieldExtent {
  size_t offset;
  size_t size;
};

template <size_t N>
constexpr bool abi_fields_contiguous(const std::array<AbiFieldExtent, N>& fields, size_t struct_size) {
  size_t at = 0;
  for (const AbiFieldExtent& f : fields) {
    if (f.offset != at) return false;
    at += f.size;
  }
  return at == struct_size;
}

#define PSYNC_ABI_EXTENT(Struct, field) AbiFieldExtent{offsetof(Struct, field), sizeof(Struct::field)},
#define PSYNC_ABI_CHECK_LAYOUT(Prefix, Struct, Table)                                                       \
  static_assert(abi_fields_contiguous(std::array<AbiFieldExtent, Prefix##Field::num_fields>{               \
                                          {Table(PSYNC_ABI_EXTENT)}},                                       \
                                      sizeof(Struct)),                                                      \
                "abi.h: " #Struct " no longer matches its table in codegen/lower/abi_types.h");
PSYNC_ABI_STRUCTS(PSYNC_ABI_CHECK_LAYOUT)
#undef PSYNC_ABI_CHECK_LAYOUT
#undef PSYNC_ABI_EXTENT

// Generated code is 64-bit: a pointer and a word are 8 bytes.
static_assert(sizeof(void*) == 8 && sizeof(int64_t) == 8, "psync targets 64-bit hosts");

// ---------------------------------------------------------------- LLVM types
class AbiTypes;

// The LLVM type of a C field or parameter type of abi.h.
template <typename T>
llvm::Type* llvm_type_of(llvm::LLVMContext& ctx, const AbiTypes& abi);

/// The LLVM struct types of abi.h, built from the tables above.
class AbiTypes {
 public:
  explicit AbiTypes(llvm::LLVMContext& ctx);
#define PSYNC_ABI_MEMBER(Prefix, Struct, Table) llvm::StructType* Prefix = nullptr;
  PSYNC_ABI_STRUCTS(PSYNC_ABI_MEMBER)
#undef PSYNC_ABI_MEMBER
};

template <typename T>
llvm::Type* llvm_type_of(llvm::LLVMContext& ctx, const AbiTypes& abi) {
  if constexpr (std::is_void_v<T>) {
    return llvm::Type::getVoidTy(ctx);
  } else if constexpr (std::is_pointer_v<T>) {
    return llvm::PointerType::get(ctx, 0);
  } else if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>) {
    return llvm::Type::getInt32Ty(ctx);
  } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>) {
    return llvm::Type::getInt64Ty(ctx);
  } else if constexpr (std::is_same_v<T, psync_field>) {
    return abi.Field;
  } else {
    static_assert(!sizeof(T), "abi.h uses a C type that lowering does not map to LLVM");
  }
}

// The LLVM function type of an abi.h function pointer type, e.g.
// llvm_fn_type<decltype(psync_round_desc::send)>.
template <typename Ptr>
struct AbiFnType;
template <typename R, typename... Args>
struct AbiFnType<R (*)(Args...)> {
  static llvm::FunctionType* get(llvm::LLVMContext& ctx, const AbiTypes& abi) {
    return llvm::FunctionType::get(llvm_type_of<R>(ctx, abi), {llvm_type_of<Args>(ctx, abi)...}, false);
  }
};
template <typename Ptr>
llvm::FunctionType* llvm_fn_type(llvm::LLVMContext& ctx, const AbiTypes& abi) {
  return AbiFnType<Ptr>::get(ctx, abi);
}

/// A constant of one abi.h struct, filled field by field by name
/// (c[RoundField::send] = fn); every field must be set before get().
template <unsigned N>
class AbiConstant {
 public:
  explicit AbiConstant(llvm::StructType* type) : type_(type) {}
  llvm::Constant*& operator[](unsigned field) { return fields_[field]; }
  llvm::Constant* get() const {
    for (llvm::Constant* c : fields_)
      if (!c) throw std::logic_error("descriptor field left unset in " + type_->getName().str());
    return llvm::ConstantStruct::get(type_, fields_);
  }

 private:
  llvm::StructType* type_;
  std::array<llvm::Constant*, N> fields_{};
};

}  // namespace psync::lower
