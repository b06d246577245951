// lowering.h: what the files of compiler/codegen/lower/ share. Lowering turns
// a typed Program into an llvm::Module: ModuleLowering owns the module and the
// program-wide facts (layout, ABI types, fns); one FunctionLowering emits the
// body of one generated function. Internal to psync_codegen (LLVM inside).
//
// Values. int, pid and set<pid> are i64 SSA values, bool is i1; in memory
// every scalar takes one 8-byte word (abi.h). Composite values (options,
// tuples, records, arrays) are handled by address: an expression of such a
// type yields a pointer to its words, either into existing memory (a state
// field, a mailbox slot) or into a temporary on the stack. A mailbox value is
// a pair (presence word, base pointer), so `filter` only masks the presence
// word and never copies.
//
// Sizes. A type's size is a polynomial in n words ([T; n] multiplies by n),
// folded to a constant when there are no arrays; offsets in the state are
// sums of sizes, evaluated where needed from env->n.
//
// Stack. Every alloca sits in the entry block, after the prologue that reads
// n from env: a temporary created inside a loop reuses one slot instead of
// growing the stack on every iteration.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "codegen/codegen.h"
#include "codegen/lower/abi_types.h"
#include "sema/traits.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace psync::lower {

using llvm::BasicBlock;
using llvm::Function;
using llvm::Value;

// ---------------------------------------------------------------- sizes

/// A size or offset in words: c[0] + c[1] n + c[2] n^2 + ...
struct Poly {
  std::vector<int64_t> c{0};
  static Poly constant(int64_t k) { return Poly{{k}}; }
  Poly operator+(const Poly& o) const;
  Poly times_n() const;
  bool is_constant() const;
};

Poly words_of(const Type* t);
/// bytes<K>: the words after the length word, ceil(K / 8).
inline int64_t bytes_data_words(const Type* t) { return (t->capacity + 7) / 8; }
/// Int, bool, pid, enums and sets: one word, an SSA value.
bool is_word(const Type* t);
/// Options, tuples, records, arrays and bytes: handled by address.
bool is_composite(const Type* t);
psync_kind kind_of(const Type* t);
/// Emits the value of p at n.
Value* eval_poly(llvm::IRBuilderBase& b, const Poly& p, Value* n);

/// Where a mailbox's message slots start: after its presence word (abi.h).
inline constexpr int64_t kMailboxSlotsOffset = sizeof(uint64_t);
/// Where an option's payload starts: after its tag word (abi.h).
inline constexpr int64_t kOptionPayloadOffset = sizeof(uint64_t);

/// A value during lowering; see the file comment.
struct CValue {
  const Type* type = nullptr;
  Value* v = nullptr;    ///< scalar (i64 / i1), or a mailbox's presence word
  Value* ptr = nullptr;  ///< composite: its words; mailbox: base (presence word at +0)
};

// ---------------------------------------------------------------- the module

/// One lowered program: the module, the state layout, the ABI types and the
/// functions every FunctionLowering may call. context.cpp, rounds.cpp
/// (fns, rounds, specs) and descriptor.cpp define its members.
class ModuleLowering {
 public:
  ModuleLowering(const Program& program, const SourceManager& sources, llvm::LLVMContext& context, LowerMode mode);
  std::unique_ptr<llvm::Module> run(std::string& error);

  const Program& prog;
  const SourceManager& sources;
  const LowerMode mode;
  /// Model code (model vars, lets and statements) is lowered.
  bool with_model() const { return mode == LowerMode::Model; }
  /// Whether a variable exists in this build's state.
  bool present(const VarDecl& v) const { return !v.model || with_model(); }
  llvm::LLVMContext& C;
  std::unique_ptr<llvm::Module> module;
  AbiTypes abi;
  llvm::IntegerType* i1;
  llvm::IntegerType* i32;
  llvm::IntegerType* i64;
  llvm::PointerType* ptr;

  std::map<const VarDecl*, Poly> offsets;  ///< state offset of every input, output, var and round var
  Poly state_words;
  std::map<const FnDecl*, Function*> fns;
  Function* append_char = nullptr;  ///< print_state helpers (descriptor.cpp)
  Function* append_int = nullptr;
  Function* bytes_cmp = nullptr;    ///< bytes.cpp, made on first use
  Function* append_bytes = nullptr;

  /// An internal function: drivers reach every function through the descriptor.
  Function* make_fn(const std::string& name, llvm::FunctionType* type);
  /// Marks f as code a replica runs in every round or instance (LLVM's `hot`):
  /// at -O2 only these get the optimising code generator (backend.cpp,
  /// codegen_level_of).
  static Function* hot(Function* f);
  /// A function with the signature of an abi.h function pointer type.
  template <typename FnPtr>
  Function* make_abi_fn(const std::string& name) {
    return make_fn(name, llvm_fn_type<FnPtr>(C, abi));
  }
  /// "Protocol.a.b.c", the names of generated functions.
  std::string qualified(const std::string& a, const std::string& b = "", const std::string& c = "") const;
  llvm::Constant* cstr(const std::string& s);
  llvm::Constant* null_ptr() const;
  llvm::Constant* fn_or_null(Function* f) const;
  llvm::Constant* array_global(llvm::StructType* elem, const std::vector<llvm::Constant*>& items,
                               const std::string& name);
  /// size(n) = words(n) * 8, with the signature of msg_size and state_size.
  Function* size_fn(const std::string& name, const Poly& words);
  /// "file:line:col: what", a static string for range-error reports.
  llvm::Constant* site(SourceRange r, const std::string& what);
  /// The variants of an enum as a constant array of C strings (one per enum).
  llvm::Constant* variant_names(const Type* enum_type);
  std::map<const Type*, llvm::Constant*> variant_tables;

 private:
  void layout_state();
  // rounds.cpp
  void declare_fns();
  void lower_fn(const FnDecl& f);
  llvm::Constant* lower_round(const Round& r);
  llvm::Constant* lower_spec(const Spec& s);
  // descriptor.cpp
  void make_print_helpers();
  Function* lower_const_defaults();
  Function* lower_init();
  Function* lower_printer();
  Function* lower_phase_words(const PhaseOrder& phases);
  Function* lower_dead_words(const DeadState& dead);
  Function* lower_stale_words(const PhaseOrder& phases);
  void emit_descriptor(const std::vector<llvm::Constant*>& rounds, const std::vector<llvm::Constant*>& specs);
  void find_max_pid_constant(int64_t& best, std::string& site_text) const;
  bool reads_model_state(const Spec& s) const;
 public:
  // bytes.cpp: module helpers for bytes<K> and the type descriptions of abi.h
  /// i64 psync.bytes_cmp(ptr a, ptr b, i64 data_words): -1, 0 or 1.
  Function* bytes_compare_fn();
  /// void psync.append_bytes(buf, cap, pos_ptr, value_ptr, capacity): a quoted literal.
  Function* append_bytes_fn();
  /// A psync_type constant describing t (interned per type).
  llvm::Constant* type_description(const Type* t);
  Function* lower_byzantine();  // descriptor.cpp
  std::map<const Type*, llvm::Constant*> type_descs;
};

// ---------------------------------------------------------------- one function

/// Emits the body of one generated function. The frame members say where the
/// code runs: round code has a state and `me`, spec evaluators an array of
/// states (and the HO sets for predicates). function.cpp holds the value and
/// control helpers, expressions.cpp and builtins.cpp the expressions,
/// rounds.cpp the statements, descriptor.cpp the state printer.
class FunctionLowering {
 public:
  /// Opens `fn`'s entry block; read_env and begin_body finish the prologue.
  FunctionLowering(ModuleLowering& m, Function* fn);
  /// An entry point: reads n, me and consts from `env`, then starts the body.
  FunctionLowering(ModuleLowering& m, Function* fn, Value* env);
  ~FunctionLowering();
  FunctionLowering(const FunctionLowering&) = delete;
  FunctionLowering& operator=(const FunctionLowering&) = delete;

  /// Loads n, me, round, phase and consts from env (a psync_env*), with the
  /// ranges abi.h promises.
  void read_env(Value* env);
  /// Ends the prologue: allocas (and their sizes, which may read n) go here.
  void begin_body();
  /// Where allocas go (the end of the prologue).
  llvm::Instruction* alloca_point() const { return alloca_point_; }

  ModuleLowering& M;
  llvm::LLVMContext& C;
  llvm::IRBuilder<> B;
  Function* fn;
  llvm::IntegerType* i1;
  llvm::IntegerType* i32;
  llvm::IntegerType* i64;
  llvm::PointerType* ptr;

  // The frame.
  Value* env = nullptr;
  Value* n = nullptr;           ///< i64
  Value* state = nullptr;       ///< this process's state (round code)
  Value* me = nullptr;          ///< i64
  Value* round = nullptr;       ///< i64, env->round (read_env)
  Value* phase = nullptr;       ///< i64, env->phase (read_env)
  Value* states = nullptr;      ///< spec evaluators: array of state pointers
  Value* old_states = nullptr;  ///< property evaluators: the states before the round
  Value* ho = nullptr;          ///< liveness and assume predicates: u64[n]
  Value* consts = nullptr;      ///< i64[num_consts]
  Value* go_flag = nullptr;     ///< receive: alloca i1
  Value* ret_slot = nullptr;    ///< fn with a block body: where `return` puts the value
  BasicBlock* ret_block = nullptr;
  const Type* ret_type = nullptr;
  std::map<const VarDecl*, CValue> bound;   ///< params, lambda params, quantified vars, mailboxes
  std::map<const VarDecl*, Value*> locals;  ///< allocas of locals and loop vars

  // ------------------------------------------------ addresses (function.cpp)
  Value* eval_poly(const Poly& p, Value* n_value);
  Value* bytes_of(const Type* t);
  Value* byte_offset(const VarDecl& v);
  Value* gep(Value* base, Value* bytes);
  Value* at(Value* base, int64_t bytes);
  /// A field of an abi.h struct: field_ptr(M.abi.Env, env, EnvField::round).
  Value* field_ptr(llvm::StructType* type, Value* base, unsigned field);
  Value* load_field(llvm::StructType* type, Value* base, unsigned field, const char* name = "");
  Value* env_round();
  Value* env_phase();
  Value* state_of_process(Value* states_array, Value* p);
  // Under `byzantine f`, in a spec: process p is correct (its state's
  // halted word is not PSYNC_HALTED_FAULTY); null when every process is.
  Value* correct_process(Value* p);

  // ------------------------------------------------ stack (function.cpp)
  /// Memory for one value of type t, in the entry block.
  Value* temp(const Type* t, const char* name = "tmp");
  /// A mutable scalar cell, in the entry block (mem2reg turns it into SSA).
  Value* cell(Value* init, const char* name);
  Value* get(Value* cell_ptr, llvm::Type* t);

  // ------------------------------------------------ values (function.cpp)
  CValue load(const Type* t, Value* p);
  void store(const Type* t, Value* p, const CValue& v);
  /// Materialises a value in fresh memory (for an argument or an accumulator).
  Value* spill(const CValue& v);
  CValue scalar(const Type* t, Value* v) { return CValue{t, v, nullptr}; }
  Value* as_i64(const CValue& v);
  Value* zero_fill(const Type* t);
  CValue zero_value(const Type* t);
  Value* equal(const CValue& a, const CValue& b);
  /// Bit `i` of a set word, false for i outside 0..limit-1 (limit <= 64).
  Value* bit_test(Value* set, Value* i, Value* limit);
  /// The word with bit `i` alone, 0 for i outside 0..limit-1.
  Value* bit_of(Value* i, Value* limit);
  Value* bit_test(Value* set, Value* p) { return bit_test(set, p, n); }
  Value* bit_of(Value* p) { return bit_of(p, n); }
  /// The set of all processes: (1 << n) - 1, with n == 64 giving all ones.
  Value* all_pids();
  /// An int where a pid is expected: itself when in 0..n-1; otherwise a
  /// range event (header.range_error, hooks->range_error with `where`) and
  /// the value unchanged, which every pid operation treats as no process.
  Value* checked_pid(Value* x, llvm::Constant* where);
  /// Reports an out-of-range value: sets header.range_error and calls the
  /// optional hook. Nothing in spec evaluators, which have no process.
  void report_range_error(Value* value, llvm::Constant* where);
  Value* divide(Value* a, Value* b, bool rem);
  /// a << k and a >> k (arithmetic) for any k: k >= 64 shifts everything
  /// out, a negative k shifts the other way (docs/language.md §14.1).
  Value* shift(Value* a, Value* k, bool left);
  Function* ctpop();

  // ------------------------------------------------ ordering and bytes (bytes.cpp)
  /// a < b for the ordered types: int and pid (signed), bytes<K> (lexicographic).
  Value* less(const CValue& a, const CValue& b);
  /// The length word of a bytes value, clamped to 0..K (a peer's message may lie).
  Value* bytes_length(const CValue& v);
  /// A string literal in fresh memory.
  CValue emit_string_literal(const Expr& e);
  /// A bytes input: copies min(len, K) bytes from the driver's buffer at `word`.
  void store_bytes_input(const Type* t, Value* dst, Value* word);
  /// Stores a bytes<K1> value into a bytes<K2> place (K1 <= K2), zero-extended.
  CValue widen_bytes(const CValue& v, const Type* to);

  // ------------------------------------------------ mailboxes (function.cpp)
  /// Slot i of a mailbox or outbox at `base` whose messages have type msg.
  Value* slot(const Type* msg, Value* base, Value* i);
  CValue message(const CValue& mbox, Value* i);
  /// The message in slot i, or the zero value when i < 0 (empty mailbox).
  CValue pick_slot(const CValue& mbox, Value* i);
  void bind_mailbox(const VarDecl& v, Value* base);

  // ------------------------------------------------ control (templates below)
  /// for (i = 0; i < limit; ++i) if (mask >> i & 1) body(i); limit n by default
  template <typename Body>
  void for_each_bit(Value* mask, Body body, const char* name = "bit", Value* limit = nullptr);
  /// for (i = lo; i < hi; ++i) body(i)
  template <typename Body>
  void for_range(Value* lo, Value* hi, Body body, const char* name = "range");
  /// if (cond) then_fn()
  template <typename Then>
  void emit_if(Value* cond, Then then_fn);
  BasicBlock* block(const std::string& name) { return BasicBlock::Create(C, name, fn); }

  // ------------------------------------------------ expressions (expressions.cpp)
  CValue emit(const Expr& e);
  CValue read_var(const VarDecl& v);
  /// The address of an assignable place.
  Value* place(const Expr& e);
  CValue field(const CValue& agg, int64_t k);
  /// Evaluates a lambda body with its parameters bound.
  CValue apply(const Expr& lambda, std::vector<CValue> args);
  /// A composite value copied to memory of its own (it may alias what is written next).
  CValue own(const CValue& v);

  // ------------------------------------------------ built-ins (builtins.cpp)
  /// Every Builtin, dispatched from builtins.def.
  CValue lower_builtin(const Expr& e);

  // ------------------------------------------------ sets (builtins.cpp)
  /// For a set<pid>, set<E> or set<lo..hi>: the number of possible members,
  /// the bit of an element (element - lo), and the element of a bit.
  Value* set_capacity(const Type* set);
  Value* set_bit_index(const Type* set, Value* element);
  Value* set_element(const Type* set, Value* bit);

  // ------------------------------------------------ statements (rounds.cpp)
  void emit_block(const std::vector<StmtPtr>& body);
  void emit_stmt(const Stmt& s);
  /// A switch on an enum value: arm k runs for the variants in arms[k].indices.
  template <typename Arm>
  void emit_match(Value* v, const std::vector<MatchArm>& arms, Arm arm);
  void emit_log(const Stmt& s);
  void reset_round_vars(const Round& r);
  void clear_round_vars(const Round& r);

  // ------------------------------------------------ printing (descriptor.cpp)
  struct PrintTarget {
    Value* buf;
    Value* cap;
    Value* pos;
  };
  void print_text(const PrintTarget& t, const std::string& s);
  void print_bool(const PrintTarget& t, Value* word);
  void print_value(const PrintTarget& t, const Type* ty, Value* p);
  void terminate_print(const PrintTarget& t);
  void print_enum(const PrintTarget& t, const Type* ty, Value* word);

 private:
  CValue emit_name(const Expr& e);
  CValue emit_call(const Expr& e);
  CValue emit_index(const Expr& e);
  CValue emit_cond(const Expr& e);
  CValue emit_binary(const Expr& e);
  CValue emit_aggregate(const Expr& e);
  Value* quantify(const Expr& e, size_t k, bool forall);
  void emit_assign(const Stmt& s);
  void emit_decide(const Stmt& s);
  void call_notification(unsigned hook_field);

  llvm::Instruction* alloca_point_ = nullptr;
};

// The lowerings of the bytes<K> built-ins (bytes.cpp), reached from the
// dispatch of builtins.def in builtins.cpp.
CValue lower_BytesLen(FunctionLowering& f, const Expr& e);
CValue lower_BytesSize(FunctionLowering& f, const Expr& e);
CValue lower_ToBytes(FunctionLowering& f, const Expr& e);

// ---------------------------------------------------------------- control helpers

template <typename Body>
void FunctionLowering::for_each_bit(Value* mask, Body body, const char* name, Value* limit) {
  if (!limit) limit = n;
  BasicBlock* pre = B.GetInsertBlock();
  BasicBlock* head = block(std::string(name) + ".head");
  BasicBlock* test = block(std::string(name) + ".test");
  BasicBlock* work = block(std::string(name) + ".body");
  BasicBlock* latch = block(std::string(name) + ".latch");
  BasicBlock* done = block(std::string(name) + ".done");
  B.CreateBr(head);
  B.SetInsertPoint(head);
  auto* i = B.CreatePHI(i64, 2, "i");
  i->addIncoming(B.getInt64(0), pre);
  B.CreateCondBr(B.CreateICmpSLT(i, limit), test, done);
  B.SetInsertPoint(test);
  Value* bit = B.CreateAnd(B.CreateLShr(mask, i), B.getInt64(1));
  B.CreateCondBr(B.CreateICmpNE(bit, B.getInt64(0)), work, latch);
  B.SetInsertPoint(work);
  body(i);
  B.CreateBr(latch);
  B.SetInsertPoint(latch);
  i->addIncoming(B.CreateAdd(i, B.getInt64(1)), latch);
  B.CreateBr(head);
  B.SetInsertPoint(done);
}

template <typename Body>
void FunctionLowering::for_range(Value* lo, Value* hi, Body body, const char* name) {
  BasicBlock* pre = B.GetInsertBlock();
  BasicBlock* head = block(std::string(name) + ".head");
  BasicBlock* work = block(std::string(name) + ".body");
  BasicBlock* done = block(std::string(name) + ".done");
  B.CreateBr(head);
  B.SetInsertPoint(head);
  auto* i = B.CreatePHI(i64, 2, "i");
  i->addIncoming(lo, pre);
  B.CreateCondBr(B.CreateICmpSLT(i, hi), work, done);
  B.SetInsertPoint(work);
  body(i);
  i->addIncoming(B.CreateAdd(i, B.getInt64(1)), B.GetInsertBlock());
  B.CreateBr(head);
  B.SetInsertPoint(done);
}

template <typename Arm>
void FunctionLowering::emit_match(Value* v, const std::vector<MatchArm>& arms, Arm arm) {
  BasicBlock* done = block("match.end");
  auto* sw = B.CreateSwitch(v, done, static_cast<unsigned>(arms.size()));
  for (size_t k = 0; k < arms.size(); ++k) {
    if (arms[k].indices.empty()) continue;
    BasicBlock* bb = block("match.arm");
    for (int64_t idx : arms[k].indices) sw->addCase(B.getInt64(idx), bb);
    B.SetInsertPoint(bb);
    arm(k);
    B.CreateBr(done);
  }
  B.SetInsertPoint(done);
}

template <typename Then>
void FunctionLowering::emit_if(Value* cond, Then then_fn) {
  BasicBlock* yes = block("if.then");
  BasicBlock* done = block("if.end");
  B.CreateCondBr(cond, yes, done);
  B.SetInsertPoint(yes);
  then_fn();
  B.CreateBr(done);
  B.SetInsertPoint(done);
}

}  // namespace psync::lower
