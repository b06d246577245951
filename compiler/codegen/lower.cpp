// lower.cpp: typed AST -> LLVM IR (the LLVM 19 C++ API).
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
// Arithmetic contract (docs/language.md): + - * wrap on overflow; a / 0 == 0
// and a % 0 == a; INT64_MIN / -1 == INT64_MIN; % truncates as in C.
#include <map>
#include <set>

#include "codegen/codegen.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include "psync/abi.h"

namespace psync {

uint64_t program_fingerprint(const SourceManager& sources) {
  uint64_t h = 1469598103934665603ull;
  for (size_t id = 1; id <= sources.size(); ++id) {
    for (unsigned char c : sources.file(static_cast<uint32_t>(id)).text()) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

using llvm::BasicBlock;
using llvm::Function;
using llvm::IRBuilder;
using llvm::Value;

// A size or offset in words: c[0] + c[1] n + c[2] n^2 + ...
struct Poly {
  std::vector<int64_t> c{0};
  static Poly constant(int64_t k) { return Poly{{k}}; }
  Poly operator+(const Poly& o) const {
    Poly r;
    r.c.assign(std::max(c.size(), o.c.size()), 0);
    for (size_t i = 0; i < c.size(); ++i) r.c[i] += c[i];
    for (size_t i = 0; i < o.c.size(); ++i) r.c[i] += o.c[i];
    return r;
  }
  Poly times_n() const {
    Poly r;
    r.c.assign(c.size() + 1, 0);
    for (size_t i = 0; i < c.size(); ++i) r.c[i + 1] = c[i];
    return r;
  }
  bool is_constant() const {
    for (size_t i = 1; i < c.size(); ++i)
      if (c[i]) return false;
    return true;
  }
};

Poly words_of(const Type* t) {
  switch (t->kind) {
    case TypeKind::Int:
    case TypeKind::Bool:
    case TypeKind::Pid:
    case TypeKind::PidSet: return Poly::constant(1);
    case TypeKind::Unit:
    case TypeKind::Error:
    case TypeKind::Lambda: return Poly::constant(0);
    case TypeKind::Mailbox: return Poly::constant(0);
    case TypeKind::Option: return Poly::constant(1) + words_of(t->elem);
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

bool is_word(const Type* t) { return t->is_scalar() || t->is(TypeKind::PidSet); }
bool is_composite(const Type* t) {
  return t->is(TypeKind::Option) || t->is(TypeKind::Tuple) || t->is(TypeKind::Record) || t->is(TypeKind::Array);
}

psync_kind kind_of(const Type* t) {
  switch (t->kind) {
    case TypeKind::Int: return PSYNC_KIND_INT;
    case TypeKind::Bool: return PSYNC_KIND_BOOL;
    case TypeKind::Pid: return PSYNC_KIND_PID;
    case TypeKind::PidSet: return PSYNC_KIND_PIDSET;
    default: return PSYNC_KIND_OTHER;
  }
}

// A value during lowering; see the file comment.
struct CValue {
  const Type* type = nullptr;
  Value* v = nullptr;    // scalar (i64 / i1), or a mailbox's presence word
  Value* ptr = nullptr;  // composite: its words; mailbox: base (presence word at +0)
};

// Where the code being emitted runs.
struct Frame {
  Value* env = nullptr;
  Value* n = nullptr;       // i64
  Value* state = nullptr;   // this process's state (round code)
  Value* me = nullptr;      // i64
  Value* states = nullptr;  // spec evaluators: array of state pointers
  Value* old_states = nullptr;
  Value* ho = nullptr;      // liveness/assume predicates: u64[n]
  Value* consts = nullptr;  // ptr to i64[]
  Value* go_flag = nullptr; // receive: alloca i1
  std::map<const VarDecl*, CValue> bound;      // params, lambda params, quantified vars...
  std::map<const VarDecl*, Value*> locals;     // allocas of locals and loop vars
};

class Lowering {
 public:
  Lowering(const Program& p, const SourceManager& s, llvm::LLVMContext& ctx)
      : prog_(p), sources_(s), C(ctx), B(ctx) {}

  std::unique_ptr<llvm::Module> run(std::string& error) {
    M = std::make_unique<llvm::Module>(prog_.name, C);
    i1 = B.getInt1Ty();
    i32 = B.getInt32Ty();
    i64 = B.getInt64Ty();
    ptr = B.getPtrTy();
    layout_state();
    declare_fns();
    for (auto& f : prog_.fns) lower_fn(*f);
    std::vector<llvm::Constant*> rounds;
    for (auto& r : prog_.rounds) rounds.push_back(lower_round(r));
    std::vector<llvm::Constant*> specs;
    for (auto& s : prog_.specs) specs.push_back(lower_spec(s));
    emit_descriptor(rounds, specs);
    std::string msg;
    llvm::raw_string_ostream os(msg);
    if (llvm::verifyModule(*M, &os)) {
      error = "internal error: generated IR does not verify:\n" + os.str();
      return nullptr;
    }
    return std::move(M);
  }

 private:
  // ------------------------------------------------------------ layout
  void layout_state() {
    Poly off = Poly::constant(3);  // psync_proc_header
    auto place = [&](const VarDecl& v) {
      offset_[&v] = off;
      off = off + words_of(v.type);
    };
    for (auto& v : prog_.inputs) place(*v);
    for (auto& v : prog_.outputs) place(*v);
    for (auto& v : prog_.vars) place(*v);
    for (auto& r : prog_.rounds)
      for (auto& v : r.vars) place(*v);
    state_words_ = off;
  }

  Value* eval_poly(const Poly& p, Value* n) {
    Value* result = B.getInt64(p.c[0]);
    Value* power = nullptr;
    for (size_t i = 1; i < p.c.size(); ++i) {
      power = power ? B.CreateMul(power, n) : n;
      if (p.c[i]) result = B.CreateAdd(result, B.CreateMul(B.getInt64(p.c[i]), power));
    }
    return result;
  }
  Value* bytes_of(const Type* t) { return B.CreateShl(eval_poly(words_of(t), F.n), 3); }
  Value* byte_offset(const VarDecl& v) { return B.CreateShl(eval_poly(offset_.at(&v), F.n), 3); }
  Value* gep(Value* base, Value* bytes) { return B.CreateGEP(B.getInt8Ty(), base, bytes); }
  Value* at(Value* base, int64_t bytes) { return B.CreateGEP(B.getInt8Ty(), base, B.getInt64(bytes)); }

  // ------------------------------------------------------------ functions
  // Every function is internal: drivers reach them through the descriptor.
  Function* make_fn(const std::string& name, llvm::Type* ret, std::vector<llvm::Type*> args) {
    auto* ty = llvm::FunctionType::get(ret, args, false);
    auto* f = Function::Create(ty, Function::InternalLinkage, name, *M);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    return f;
  }

  // Starts a function body: entry block, env-derived values.
  void begin(Function* f, Value* env) {
    auto* entry = BasicBlock::Create(C, "entry", f);
    B.SetInsertPoint(entry);
    F = Frame{};
    F.env = env;
    if (env) {
      F.n = B.CreateSExt(B.CreateLoad(i32, at(env, 0), "n32"), i64, "n");
      F.me = B.CreateSExt(B.CreateLoad(i32, at(env, 4), "me32"), i64, "me");
      F.consts = B.CreateLoad(ptr, at(env, 24), "consts");
    }
  }

  Value* env_round() { return B.CreateLoad(i64, at(F.env, 8), "r"); }
  Value* env_phase() { return B.CreateLoad(i64, at(F.env, 16), "phase"); }

  // An alloca of `bytes` in the entry block if constant, else here.
  Value* temp(const Type* t, const char* name = "tmp") {
    Poly p = words_of(t);
    if (p.is_constant()) {
      IRBuilder<> eb(&B.GetInsertBlock()->getParent()->getEntryBlock(),
                     B.GetInsertBlock()->getParent()->getEntryBlock().begin());
      auto* a = eb.CreateAlloca(i64, eb.getInt64(std::max<int64_t>(p.c[0], 1)), name);
      a->setAlignment(llvm::Align(8));
      return a;
    }
    auto* a = B.CreateAlloca(i64, eval_poly(p, F.n), name);
    a->setAlignment(llvm::Align(8));
    return a;
  }

  // ------------------------------------------------------------ values
  CValue load(const Type* t, Value* p) {
    CValue r{t, nullptr, nullptr};
    if (is_word(t)) {
      Value* w = B.CreateLoad(i64, p);
      r.v = t->is(TypeKind::Bool) ? B.CreateICmpNE(w, B.getInt64(0)) : w;
    } else {
      r.ptr = p;
    }
    return r;
  }

  void store(const Type* t, Value* p, const CValue& v) {
    if (is_word(t)) {
      Value* w = v.v;
      if (w->getType() == i1) w = B.CreateZExt(w, i64);
      B.CreateStore(w, p);
    } else if (is_composite(t)) {
      B.CreateMemMove(p, llvm::MaybeAlign(8), v.ptr, llvm::MaybeAlign(8), bytes_of(t));
    }
  }

  // Materialises a value in fresh memory (for an argument or an accumulator).
  Value* spill(const CValue& v) {
    Value* p = temp(v.type, "spill");
    store(v.type, p, v);
    return p;
  }

  CValue scalar(const Type* t, Value* v) { return CValue{t, v, nullptr}; }
  Value* as_i64(const CValue& v) { return v.v->getType() == i1 ? B.CreateZExt(v.v, i64) : v.v; }

  Value* zero_fill(const Type* t) {
    Value* p = temp(t, "zero");
    B.CreateMemSet(p, B.getInt8(0), bytes_of(t), llvm::MaybeAlign(8));
    return p;
  }

  CValue zero_value(const Type* t) {
    if (is_word(t)) return scalar(t, t->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0));
    return CValue{t, nullptr, zero_fill(t)};
  }

  Value* equal(const CValue& a, const CValue& b) {
    const Type* t = a.type;
    if (is_word(t) || a.v) {
      return B.CreateICmpEQ(as_i64(a), as_i64(b));
    }
    if (!is_composite(t)) return B.getTrue();
    // Composite values are canonical (none has zero payload), so equality is
    // word-wise equality.
    Value* words = eval_poly(words_of(t), F.n);
    Function* fn = B.GetInsertBlock()->getParent();
    BasicBlock* pre = B.GetInsertBlock();
    BasicBlock* loop = BasicBlock::Create(C, "eq.loop", fn);
    BasicBlock* body = BasicBlock::Create(C, "eq.body", fn);
    BasicBlock* done = BasicBlock::Create(C, "eq.done", fn);
    B.CreateBr(loop);
    B.SetInsertPoint(loop);
    auto* i = B.CreatePHI(i64, 2, "i");
    i->addIncoming(B.getInt64(0), pre);
    Value* more = B.CreateICmpULT(i, words);
    B.CreateCondBr(more, body, done);
    B.SetInsertPoint(body);
    Value* x = B.CreateLoad(i64, B.CreateGEP(i64, a.ptr, i));
    Value* y = B.CreateLoad(i64, B.CreateGEP(i64, b.ptr, i));
    Value* same = B.CreateICmpEQ(x, y);
    Value* next = B.CreateAdd(i, B.getInt64(1));
    BasicBlock* body_end = B.GetInsertBlock();
    i->addIncoming(next, body_end);
    B.CreateCondBr(same, loop, done);
    B.SetInsertPoint(done);
    auto* res = B.CreatePHI(i1, 2, "eq");
    res->addIncoming(B.getTrue(), loop);
    res->addIncoming(B.getFalse(), body_end);
    return res;
  }

  // ------------------------------------------------------------ control helpers
  // Emits `for (i = 0; i < n; ++i) if (mask >> i & 1) body(i)`.
  template <typename Body>
  void for_each_bit(Value* mask, Body body, const char* name = "bit") {
    Function* fn = B.GetInsertBlock()->getParent();
    BasicBlock* pre = B.GetInsertBlock();
    BasicBlock* head = BasicBlock::Create(C, std::string(name) + ".head", fn);
    BasicBlock* test = BasicBlock::Create(C, std::string(name) + ".test", fn);
    BasicBlock* work = BasicBlock::Create(C, std::string(name) + ".body", fn);
    BasicBlock* latch = BasicBlock::Create(C, std::string(name) + ".latch", fn);
    BasicBlock* done = BasicBlock::Create(C, std::string(name) + ".done", fn);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    auto* i = B.CreatePHI(i64, 2, "i");
    i->addIncoming(B.getInt64(0), pre);
    B.CreateCondBr(B.CreateICmpSLT(i, F.n), test, done);
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

  // Emits a counted loop for i in [lo, hi).
  template <typename Body>
  void for_range(Value* lo, Value* hi, Body body, const char* name = "range") {
    Function* fn = B.GetInsertBlock()->getParent();
    BasicBlock* pre = B.GetInsertBlock();
    BasicBlock* head = BasicBlock::Create(C, std::string(name) + ".head", fn);
    BasicBlock* work = BasicBlock::Create(C, std::string(name) + ".body", fn);
    BasicBlock* done = BasicBlock::Create(C, std::string(name) + ".done", fn);
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

  // if (cond) then_fn()
  template <typename Then>
  void emit_if(Value* cond, Then then_fn) {
    Function* fn = B.GetInsertBlock()->getParent();
    BasicBlock* yes = BasicBlock::Create(C, "if.then", fn);
    BasicBlock* done = BasicBlock::Create(C, "if.end", fn);
    B.CreateCondBr(cond, yes, done);
    B.SetInsertPoint(yes);
    then_fn();
    B.CreateBr(done);
    B.SetInsertPoint(done);
  }

  // A mutable scalar cell on the stack (mem2reg turns it into SSA).
  Value* cell(Value* init, const char* name) {
    IRBuilder<> eb(&B.GetInsertBlock()->getParent()->getEntryBlock(),
                   B.GetInsertBlock()->getParent()->getEntryBlock().begin());
    auto* a = eb.CreateAlloca(init->getType(), nullptr, name);
    B.CreateStore(init, a);
    return a;
  }
  Value* get(Value* cell, llvm::Type* t) { return B.CreateLoad(t, cell); }

  // ------------------------------------------------------------ mailboxes
  Value* slot(const CValue& mbox, Value* i) {
    Value* msz = bytes_of(mbox.type->elem);
    return gep(mbox.ptr, B.CreateAdd(B.getInt64(8), B.CreateMul(i, msz)));
  }
  CValue message(const CValue& mbox, Value* i) { return load(mbox.type->elem, slot(mbox, i)); }

  // Evaluates a lambda body with its parameters bound.
  CValue apply(const Expr& lambda, std::vector<CValue> args) {
    for (size_t k = 0; k < lambda.params.size() && k < args.size(); ++k) F.bound[lambda.params[k].get()] = args[k];
    return emit(*lambda.args[0]);
  }

  CValue lower_mailbox_op(const Expr& e) {
    CValue mbox = emit(*e.args[0]);
    Value* pres = mbox.v;
    switch (e.builtin) {
      case Builtin::MboxSize: {
        Function* pop = llvm::Intrinsic::getDeclaration(M.get(), llvm::Intrinsic::ctpop, {i64});
        return scalar(e.type, B.CreateCall(pop, {pres}));
      }
      case Builtin::MboxSenders: return scalar(e.type, pres);
      case Builtin::MboxHas: {
        Value* p = as_i64(emit(*e.args[1]));
        return scalar(e.type, bit_test(pres, p));
      }
      case Builtin::MboxCount:
      case Builtin::MboxCountIf: {
        CValue needle;
        if (e.builtin == Builtin::MboxCount) needle = emit(*e.args[1]);
        Value* acc = cell(B.getInt64(0), "count");
        for_each_bit(pres, [&](Value* i) {
          CValue m = message(mbox, i);
          Value* hit = e.builtin == Builtin::MboxCount ? equal(m, needle) : apply(*e.args[1], {m}).v;
          B.CreateStore(B.CreateAdd(get(acc, i64), B.CreateZExt(hit, i64)), acc);
        });
        return scalar(e.type, get(acc, i64));
      }
      case Builtin::MboxExists:
      case Builtin::MboxAll: {
        bool all = e.builtin == Builtin::MboxAll;
        Value* acc = cell(B.getInt1(all), all ? "all" : "exists");
        for_each_bit(pres, [&](Value* i) {
          Value* hit = apply(*e.args[1], {message(mbox, i)}).v;
          B.CreateStore(all ? B.CreateAnd(get(acc, i1), hit) : B.CreateOr(get(acc, i1), hit), acc);
        });
        return scalar(e.type, get(acc, i1));
      }
      case Builtin::MboxFilter: {
        Value* keep = cell(B.getInt64(0), "keep");
        for_each_bit(pres, [&](Value* i) {
          Value* hit = apply(*e.args[1], {message(mbox, i)}).v;
          Value* bit = B.CreateShl(B.CreateZExt(hit, i64), i);
          B.CreateStore(B.CreateOr(get(keep, i64), bit), keep);
        });
        return CValue{e.type, get(keep, i64), mbox.ptr};
      }
      case Builtin::MboxMin:
      case Builtin::MboxMax:
      case Builtin::MboxMinBy:
      case Builtin::MboxMaxBy: {
        // Ties go to the lowest sender: only a strictly better key replaces.
        bool is_min = e.builtin == Builtin::MboxMin || e.builtin == Builtin::MboxMinBy;
        bool by = e.builtin == Builtin::MboxMinBy || e.builtin == Builtin::MboxMaxBy;
        Value* best_i = cell(B.getInt64(-1), "best_i");
        Value* best_k = cell(B.getInt64(0), "best_k");
        for_each_bit(pres, [&](Value* i) {
          CValue m = message(mbox, i);
          Value* k = by ? as_i64(apply(*e.args[1], {m})) : as_i64(m);
          Value* first = B.CreateICmpSLT(get(best_i, i64), B.getInt64(0));
          Value* better = is_min ? B.CreateICmpSLT(k, get(best_k, i64)) : B.CreateICmpSGT(k, get(best_k, i64));
          emit_if(B.CreateOr(first, better), [&] {
            B.CreateStore(i, best_i);
            B.CreateStore(k, best_k);
          });
        });
        return pick_slot(mbox, get(best_i, i64));
      }
      case Builtin::MboxSum:
      case Builtin::MboxSumBy: {
        Value* acc = cell(B.getInt64(0), "sum");
        for_each_bit(pres, [&](Value* i) {
          CValue m = message(mbox, i);
          Value* k = e.builtin == Builtin::MboxSum ? as_i64(m) : as_i64(apply(*e.args[1], {m}));
          B.CreateStore(B.CreateAdd(get(acc, i64), k), acc);
        });
        return scalar(e.type, get(acc, i64));
      }
      case Builtin::MboxMostFrequent:
      case Builtin::MboxMinMostFrequent: {
        // O(n^2) with n <= 64. most_frequent: ties go to the lowest sender;
        // min_most_frequent: ties go to the smallest value.
        bool by_value = e.builtin == Builtin::MboxMinMostFrequent;
        Value* best_i = cell(B.getInt64(-1), "best_i");
        Value* best_c = cell(B.getInt64(0), "best_c");
        for_each_bit(pres, [&](Value* i) {
          CValue mi = message(mbox, i);
          Value* cnt = cell(B.getInt64(0), "cnt");
          for_each_bit(pres, [&](Value* j) {
            Value* same = equal(mi, message(mbox, j));
            B.CreateStore(B.CreateAdd(get(cnt, i64), B.CreateZExt(same, i64)), cnt);
          }, "inner");
          Value* c = get(cnt, i64);
          Value* better = B.CreateICmpSGT(c, get(best_c, i64));
          if (by_value) {
            Value* tie = B.CreateICmpEQ(c, get(best_c, i64));
            Value* smaller = B.CreateICmpSLT(as_i64(mi), as_i64(message(mbox, B.CreateSelect(
                B.CreateICmpSLT(get(best_i, i64), B.getInt64(0)), i, get(best_i, i64)))));
            better = B.CreateOr(better, B.CreateAnd(tie, smaller));
          }
          emit_if(better, [&] {
            B.CreateStore(i, best_i);
            B.CreateStore(c, best_c);
          });
        });
        return pick_slot(mbox, get(best_i, i64));
      }
      case Builtin::MboxFold: {
        CValue init = emit(*e.args[1]);
        const Type* acc_t = e.type;
        if (is_word(acc_t)) {
          Value* acc = cell(as_i64(init), "acc");
          for_each_bit(pres, [&](Value* i) {
            CValue cur = load(acc_t, acc);  // reads the cell as a word
            CValue next = apply(*e.args[2], {cur, message(mbox, i)});
            B.CreateStore(as_i64(next), acc);
          });
          return load(acc_t, acc);
        }
        Value* acc = spill(init);
        for_each_bit(pres, [&](Value* i) {
          CValue next = apply(*e.args[2], {CValue{acc_t, nullptr, acc}, message(mbox, i)});
          store(acc_t, acc, next);
        });
        return CValue{acc_t, nullptr, acc};
      }
      default: break;
    }
    return zero_value(e.type);
  }

  // The message in slot i, or the zero value when i < 0 (empty mailbox).
  CValue pick_slot(const CValue& mbox, Value* i) {
    const Type* msg = mbox.type->elem;
    Value* none = B.CreateICmpSLT(i, B.getInt64(0));
    Value* safe = B.CreateSelect(none, B.getInt64(0), i);
    if (is_word(msg)) {
      CValue m = message(mbox, safe);
      Value* zero = msg->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0);
      return scalar(msg, B.CreateSelect(none, zero, m.v));
    }
    Value* z = zero_fill(msg);
    return CValue{msg, nullptr, B.CreateSelect(none, z, slot(mbox, safe))};
  }

  Value* bit_test(Value* set, Value* p) {
    Value* in_range = B.CreateICmpULT(p, B.getInt64(64));
    Value* safe = B.CreateSelect(in_range, p, B.getInt64(0));
    Value* bit = B.CreateAnd(B.CreateLShr(set, safe), B.getInt64(1));
    return B.CreateAnd(in_range, B.CreateICmpNE(bit, B.getInt64(0)));
  }
  Value* bit_of(Value* p) {
    Value* in_range = B.CreateICmpULT(p, B.getInt64(64));
    return B.CreateSelect(in_range, B.CreateShl(B.getInt64(1), B.CreateSelect(in_range, p, B.getInt64(0))),
                          B.getInt64(0));
  }

  // ------------------------------------------------------------ expressions
  Value* state_of_process(Value* states, Value* p) { return B.CreateLoad(ptr, B.CreateGEP(ptr, states, p)); }

  CValue read_var(const VarDecl& v) {
    switch (v.kind) {
      case VarKind::Const: return load(v.type, B.CreateGEP(i64, F.consts, B.getInt64(v.index)));
      case VarKind::Input:
      case VarKind::Output:
      case VarKind::Var:
      case VarKind::RoundVar: return load(v.type, gep(F.state, byte_offset(v)));
      case VarKind::Let: return emit(*v.init);
      case VarKind::Local:
      case VarKind::LoopVar: {
        auto it = F.locals.find(&v);
        if (it != F.locals.end()) return load(v.type, it->second);
        auto b = F.bound.find(&v);
        if (b != F.bound.end()) return b->second;
        break;
      }
      default: {
        auto it = F.bound.find(&v);
        if (it != F.bound.end()) return it->second;
        break;
      }
    }
    return zero_value(v.type);
  }

  // The address of an assignable place.
  Value* place(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Name: {
        const VarDecl& v = *e.decl;
        if (v.kind == VarKind::Local || v.kind == VarKind::LoopVar) return F.locals.at(&v);
        return gep(F.state, byte_offset(v));
      }
      case ExprKind::Index: {
        Value* base = place(*e.args[0]);
        Value* p = as_i64(emit(*e.args[1]));
        Value* ok = B.CreateICmpULT(p, F.n);
        Value* idx = B.CreateSelect(ok, p, B.getInt64(0));  // out of range writes element 0 of a scratch copy
        return gep(base, B.CreateMul(idx, bytes_of(e.type)));
      }
      case ExprKind::TupleIndex:
      case ExprKind::Member: {
        const Type* agg = e.args[0]->type;
        Value* base = place(*e.args[0]);
        Poly off;
        for (int64_t k = 0; k < e.int_value; ++k) off = off + words_of(agg->elems[k]);
        return gep(base, B.CreateShl(eval_poly(off, F.n), 3));
      }
      default: break;
    }
    return temp(e.type);
  }

  CValue field(const CValue& agg, int64_t k) {
    Poly off;
    for (int64_t j = 0; j < k; ++j) off = off + words_of(agg.type->elems[j]);
    return load(agg.type->elems[k], gep(agg.ptr, B.CreateShl(eval_poly(off, F.n), 3)));
  }

  Value* to_pid(Value* x) {
    // Euclidean remainder modulo n, so that -1 is the last process.
    Value* nz = B.CreateICmpEQ(F.n, B.getInt64(0));
    Value* n = B.CreateSelect(nz, B.getInt64(1), F.n);
    Value* r = B.CreateSRem(x, n);
    Value* neg = B.CreateICmpSLT(r, B.getInt64(0));
    return B.CreateSelect(neg, B.CreateAdd(r, n), r);
  }

  Value* divide(Value* a, Value* b, bool rem) {
    // a / 0 == 0, a % 0 == a; INT64_MIN / -1 wraps (== INT64_MIN), % gives 0.
    Value* zero = B.CreateICmpEQ(b, B.getInt64(0));
    Value* overflow = B.CreateAnd(B.CreateICmpEQ(a, B.getInt64(INT64_MIN)), B.CreateICmpEQ(b, B.getInt64(-1)));
    Value* safe_b = B.CreateSelect(B.CreateOr(zero, overflow), B.getInt64(1), b);
    Value* q = rem ? B.CreateSRem(a, safe_b) : B.CreateSDiv(a, safe_b);
    Value* on_overflow = rem ? B.getInt64(0) : B.getInt64(INT64_MIN);
    q = B.CreateSelect(overflow, on_overflow, q);
    return B.CreateSelect(zero, rem ? a : B.getInt64(0), q);
  }

  CValue emit(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntLit: return scalar(e.type, B.getInt64(e.int_value));
      case ExprKind::BoolLit: return scalar(e.type, B.getInt1(e.bool_value));
      case ExprKind::UnitLit: return CValue{e.type, nullptr, nullptr};
      case ExprKind::NoneLit: return CValue{e.type, nullptr, zero_fill(e.type)};
      case ExprKind::Some: {
        Value* p = temp(e.type, "some");
        B.CreateStore(B.getInt64(1), p);
        store(e.type->elem, at(p, 8), emit(*e.args[0]));
        return CValue{e.type, nullptr, p};
      }
      case ExprKind::Name: return emit_name(e);
      case ExprKind::Call: return emit_call(e);
      case ExprKind::Member: return emit_member(e);
      case ExprKind::TupleIndex: return field(emit(*e.args[0]), e.int_value);
      case ExprKind::Index: {
        CValue base = emit(*e.args[0]);
        Value* p = as_i64(emit(*e.args[1]));
        if (e.builtin == Builtin::MboxGet) {
          Value* present = bit_test(base.v, p);
          Value* idx = B.CreateSelect(present, p, B.getInt64(-1));
          return pick_slot(base, idx);
        }
        // Array: an index outside 0..n-1 reads the zero value.
        Value* ok = B.CreateICmpULT(p, F.n);
        Value* idx = B.CreateSelect(ok, p, B.getInt64(0));
        CValue elem = load(e.type, gep(base.ptr, B.CreateMul(idx, bytes_of(e.type))));
        if (is_word(e.type)) {
          Value* zero = e.type->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0);
          return scalar(e.type, B.CreateSelect(ok, elem.v, zero));
        }
        return CValue{e.type, nullptr, B.CreateSelect(ok, elem.ptr, zero_fill(e.type))};
      }
      case ExprKind::Unary: {
        CValue a = emit(*e.args[0]);
        if (e.unary_op == UnaryOp::Not) return scalar(e.type, B.CreateNot(a.v));
        return scalar(e.type, B.CreateSub(B.getInt64(0), as_i64(a)));
      }
      case ExprKind::Binary: return emit_binary(e);
      case ExprKind::Cond: {
        Value* c = emit(*e.args[0]).v;
        Function* fn = B.GetInsertBlock()->getParent();
        BasicBlock* a_bb = BasicBlock::Create(C, "cond.a", fn);
        BasicBlock* b_bb = BasicBlock::Create(C, "cond.b", fn);
        BasicBlock* done = BasicBlock::Create(C, "cond.end", fn);
        B.CreateCondBr(c, a_bb, b_bb);
        B.SetInsertPoint(a_bb);
        CValue a = emit(*e.args[1]);
        if (is_composite(e.type)) a = CValue{e.type, nullptr, spill(a)};
        BasicBlock* a_end = B.GetInsertBlock();
        B.CreateBr(done);
        B.SetInsertPoint(b_bb);
        CValue b = emit(*e.args[2]);
        if (is_composite(e.type)) b = CValue{e.type, nullptr, spill(b)};
        BasicBlock* b_end = B.GetInsertBlock();
        B.CreateBr(done);
        B.SetInsertPoint(done);
        if (!is_word(e.type) && !is_composite(e.type)) return CValue{e.type, nullptr, nullptr};
        bool word = is_word(e.type);
        llvm::Type* t = word ? (e.type->is(TypeKind::Bool) ? (llvm::Type*)i1 : (llvm::Type*)i64) : (llvm::Type*)ptr;
        auto* phi = B.CreatePHI(t, 2);
        phi->addIncoming(word ? a.v : a.ptr, a_end);
        phi->addIncoming(word ? b.v : b.ptr, b_end);
        return word ? scalar(e.type, phi) : CValue{e.type, nullptr, phi};
      }
      case ExprKind::Quant: {
        // forall: all processes satisfy the body; exists: some process does.
        bool forall = e.bool_value;
        return scalar(e.type, quantify(e, 0, forall));
      }
      case ExprKind::Tuple:
      case ExprKind::Record: {
        Value* p = temp(e.type, "agg");
        Poly off;
        for (size_t k = 0; k < e.args.size(); ++k) {
          store(e.type->elems[k], gep(p, B.CreateShl(eval_poly(off, F.n), 3)), emit(*e.args[k]));
          off = off + words_of(e.type->elems[k]);
        }
        return CValue{e.type, nullptr, p};
      }
      case ExprKind::ArrayFill: {
        Value* p = temp(e.type, "array");
        CValue v = emit(*e.args[0]);
        Value* esz = bytes_of(e.type->elem);
        for_range(B.getInt64(0), F.n, [&](Value* i) { store(e.type->elem, gep(p, B.CreateMul(i, esz)), v); });
        return CValue{e.type, nullptr, p};
      }
      case ExprKind::Old: {
        Value* saved = F.states;
        F.states = F.old_states;
        CValue v = emit(*e.args[0]);
        if (is_composite(v.type)) v = CValue{v.type, nullptr, spill(v)};
        F.states = saved;
        return v;
      }
      case ExprKind::Lambda:
      case ExprKind::Error: break;
    }
    return zero_value(e.type ? e.type : prog_types_error());
  }

  const Type* prog_types_error() {
    static Type err;
    return &err;
  }

  // Nested loops over the bound processes of a quantifier.
  Value* quantify(const Expr& e, size_t k, bool forall) {
    if (k == e.params.size()) return emit(*e.args[0]).v;
    Value* acc = cell(B.getInt1(forall), forall ? "forall" : "exists");
    for_range(B.getInt64(0), F.n, [&](Value* p) {
      F.bound[e.params[k].get()] = scalar(e.params[k]->type, p);
      Value* inner = quantify(e, k + 1, forall);
      B.CreateStore(forall ? B.CreateAnd(get(acc, i1), inner) : B.CreateOr(get(acc, i1), inner), acc);
    }, forall ? "forall" : "exists");
    return get(acc, i1);
  }

  CValue emit_name(const Expr& e) {
    if (e.decl) return read_var(*e.decl);
    switch (e.builtin) {
      case Builtin::N: return scalar(e.type, F.n);
      case Builtin::Me: return scalar(e.type, F.me);
      case Builtin::Round: return scalar(e.type, env_round());
      case Builtin::Phase: return scalar(e.type, env_phase());
      case Builtin::Pids: return scalar(e.type, all_pids());
      case Builtin::Decided: return scalar(e.type, B.CreateICmpNE(B.CreateLoad(i64, F.state), B.getInt64(0)));
      case Builtin::Uniform: {
        Value* first = B.CreateLoad(i64, F.ho);
        Value* acc = cell(B.getTrue(), "uniform");
        for_range(B.getInt64(0), F.n, [&](Value* p) {
          Value* h = B.CreateLoad(i64, B.CreateGEP(i64, F.ho, p));
          B.CreateStore(B.CreateAnd(get(acc, i1), B.CreateICmpEQ(h, first)), acc);
        });
        return scalar(e.type, get(acc, i1));
      }
      case Builtin::HoSize: {
        Function* pop = llvm::Intrinsic::getDeclaration(M.get(), llvm::Intrinsic::ctpop, {i64});
        Value* acc = cell(B.getInt64(INT64_MAX), "ho_size");
        for_range(B.getInt64(0), F.n, [&](Value* p) {
          Value* c = B.CreateCall(pop, {B.CreateLoad(i64, B.CreateGEP(i64, F.ho, p))});
          Value* cur = get(acc, i64);
          B.CreateStore(B.CreateSelect(B.CreateICmpSLT(c, cur), c, cur), acc);
        });
        return scalar(e.type, get(acc, i64));
      }
      default: break;
    }
    return zero_value(e.type);
  }

  CValue emit_call(const Expr& e) {
    if (e.fn) {
      std::vector<Value*> args{F.env};
      for (size_t k = 0; k < e.args.size(); ++k) {
        CValue a = emit(*e.args[k]);
        const Type* pt = e.fn->params[k]->type;
        args.push_back(is_word(pt) ? as_i64(a) : is_composite(pt) ? spill(a) : (Value*)llvm::ConstantPointerNull::get(ptr));
      }
      const Type* rt = e.fn->result_type;
      Value* out = nullptr;
      if (is_composite(rt)) {
        out = temp(rt, "ret");
        args.push_back(out);
      } else {
        args.push_back(llvm::ConstantPointerNull::get(ptr));
      }
      Value* r = B.CreateCall(fns_.at(e.fn), args);
      if (is_composite(rt)) return CValue{rt, nullptr, out};
      if (rt->is(TypeKind::Bool)) return scalar(rt, B.CreateICmpNE(r, B.getInt64(0)));
      return scalar(rt, r);
    }
    switch (e.builtin) {
      case Builtin::ToPid: return scalar(e.type, to_pid(as_i64(emit(*e.args[0]))));
      case Builtin::Coin: {
        Value* hooks = B.CreateLoad(ptr, at(F.env, 32));
        Value* self = B.CreateLoad(ptr, hooks);
        Value* fnp = B.CreateLoad(ptr, at(hooks, 8));
        auto* ty = llvm::FunctionType::get(i32, {ptr, ptr}, false);
        Value* r = B.CreateCall(ty, fnp, {self, F.env});
        return scalar(e.type, B.CreateICmpNE(r, B.getInt32(0)));
      }
      case Builtin::Random: {
        Value* k = as_i64(emit(*e.args[0]));
        Value* res = cell(B.getInt64(0), "random");
        emit_if(B.CreateICmpSGT(k, B.getInt64(0)), [&] {
          Value* hooks = B.CreateLoad(ptr, at(F.env, 32));
          Value* self = B.CreateLoad(ptr, hooks);
          Value* fnp = B.CreateLoad(ptr, at(hooks, 16));
          auto* ty = llvm::FunctionType::get(i64, {ptr, ptr, i64}, false);
          B.CreateStore(B.CreateCall(ty, fnp, {self, F.env, k}), res);
        });
        return scalar(e.type, get(res, i64));
      }
      case Builtin::Set: {
        Value* s = B.getInt64(0);
        for (auto& a : e.args) s = B.CreateOr(s, bit_of(as_i64(emit(*a))));
        return scalar(e.type, s);
      }
      case Builtin::Ho: {
        Value* p = as_i64(emit(*e.args[0]));
        Value* ok = B.CreateICmpULT(p, F.n);
        Value* h = B.CreateLoad(i64, B.CreateGEP(i64, F.ho, B.CreateSelect(ok, p, B.getInt64(0))));
        return scalar(e.type, B.CreateSelect(ok, h, B.getInt64(0)));
      }
      case Builtin::Min:
      case Builtin::Max: {
        Value* a = as_i64(emit(*e.args[0]));
        Value* b = as_i64(emit(*e.args[1]));
        Value* lt = B.CreateICmpSLT(a, b);
        return scalar(e.type, e.builtin == Builtin::Min ? B.CreateSelect(lt, a, b) : B.CreateSelect(lt, b, a));
      }
      case Builtin::Abs: {
        Value* a = as_i64(emit(*e.args[0]));
        return scalar(e.type, B.CreateSelect(B.CreateICmpSLT(a, B.getInt64(0)), B.CreateSub(B.getInt64(0), a), a));
      }
      default: break;
    }
    return zero_value(e.type);
  }

  CValue emit_member(const Expr& e) {
    if (e.builtin == Builtin::ProcField || (e.builtin == Builtin::Decided && e.args[0]->decl &&
                                             e.args[0]->decl->kind == VarKind::QuantVar)) {
      Value* p = as_i64(emit(*e.args[0]));
      Value* st = state_of_process(F.states, p);
      if (e.builtin == Builtin::Decided) return scalar(e.type, B.CreateICmpNE(B.CreateLoad(i64, st), B.getInt64(0)));
      const VarDecl& v = *e.decl;
      if (v.kind == VarKind::Let) {
        // A let of process p: evaluate its definition in p's state.
        Value* saved_state = F.state;
        Value* saved_me = F.me;
        F.state = st;
        F.me = p;
        CValue r = emit(*v.init);
        if (is_composite(r.type)) r = CValue{r.type, nullptr, spill(r)};
        F.state = saved_state;
        F.me = saved_me;
        return r;
      }
      return load(e.type, gep(st, byte_offset(v)));
    }
    switch (e.builtin) {
      case Builtin::None: return field(emit(*e.args[0]), e.int_value);  // record field
      case Builtin::SetHas: return scalar(e.type, bit_test(emit(*e.args[0]).v, as_i64(emit(*e.args[1]))));
      case Builtin::SetSize: {
        Function* pop = llvm::Intrinsic::getDeclaration(M.get(), llvm::Intrinsic::ctpop, {i64});
        return scalar(e.type, B.CreateCall(pop, {emit(*e.args[0]).v}));
      }
      case Builtin::SetIsEmpty: return scalar(e.type, B.CreateICmpEQ(emit(*e.args[0]).v, B.getInt64(0)));
      case Builtin::SetWith: {
        Value* s = emit(*e.args[0]).v;
        return scalar(e.type, B.CreateOr(s, bit_of(as_i64(emit(*e.args[1])))));
      }
      case Builtin::SetWithout: {
        Value* s = emit(*e.args[0]).v;
        return scalar(e.type, B.CreateAnd(s, B.CreateNot(bit_of(as_i64(emit(*e.args[1]))))));
      }
      case Builtin::SetUnion: {
        Value* s = emit(*e.args[0]).v;
        return scalar(e.type, B.CreateOr(s, emit(*e.args[1]).v));
      }
      case Builtin::SetInter: {
        Value* s = emit(*e.args[0]).v;
        return scalar(e.type, B.CreateAnd(s, emit(*e.args[1]).v));
      }
      case Builtin::OptIsSome:
      case Builtin::OptIsNone: {
        Value* tag = B.CreateLoad(i64, emit(*e.args[0]).ptr);
        return scalar(e.type, e.builtin == Builtin::OptIsSome ? B.CreateICmpNE(tag, B.getInt64(0))
                                                              : B.CreateICmpEQ(tag, B.getInt64(0)));
      }
      case Builtin::OptGet: {
        // none.get is the zero value: the payload of none is all zeros.
        CValue o = emit(*e.args[0]);
        return load(e.type, at(o.ptr, 8));
      }
      case Builtin::OptGetOr: {
        CValue o = emit(*e.args[0]);
        Value* some = B.CreateICmpNE(B.CreateLoad(i64, o.ptr), B.getInt64(0));
        CValue payload = load(e.type, at(o.ptr, 8));
        CValue dflt = emit(*e.args[1]);
        if (is_word(e.type)) return scalar(e.type, B.CreateSelect(some, payload.v, dflt.v));
        if (is_composite(e.type)) return CValue{e.type, nullptr, B.CreateSelect(some, payload.ptr, dflt.ptr)};
        return CValue{e.type, nullptr, nullptr};
      }
      default: return lower_mailbox_op(e);
    }
  }

  CValue emit_binary(const Expr& e) {
    BinaryOp op = e.binary_op;
    if (op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Implies) {
      // Short-circuit evaluation.
      Value* a = emit(*e.args[0]).v;
      Function* fn = B.GetInsertBlock()->getParent();
      BasicBlock* rhs = BasicBlock::Create(C, "sc.rhs", fn);
      BasicBlock* done = BasicBlock::Create(C, "sc.end", fn);
      BasicBlock* lhs_end = B.GetInsertBlock();
      if (op == BinaryOp::And) B.CreateCondBr(a, rhs, done);
      else if (op == BinaryOp::Or) B.CreateCondBr(a, done, rhs);
      else B.CreateCondBr(a, rhs, done);
      B.SetInsertPoint(rhs);
      Value* b = emit(*e.args[1]).v;
      BasicBlock* rhs_end = B.GetInsertBlock();
      B.CreateBr(done);
      B.SetInsertPoint(done);
      auto* phi = B.CreatePHI(i1, 2);
      phi->addIncoming(op == BinaryOp::And ? B.getFalse() : B.getTrue(), lhs_end);
      phi->addIncoming(b, rhs_end);
      return scalar(e.type, phi);
    }
    if (op == BinaryOp::Eq || op == BinaryOp::Ne) {
      CValue a = emit(*e.args[0]);
      if (is_composite(a.type)) a = CValue{a.type, nullptr, spill(a)};
      CValue b = emit(*e.args[1]);
      b.type = a.type;
      Value* eq = (a.type->is(TypeKind::Unit)) ? (Value*)B.getTrue() : equal(a, b);
      return scalar(e.type, op == BinaryOp::Eq ? eq : B.CreateNot(eq));
    }
    Value* a = as_i64(emit(*e.args[0]));
    Value* b = as_i64(emit(*e.args[1]));
    switch (op) {
      case BinaryOp::Add: return scalar(e.type, B.CreateAdd(a, b));
      case BinaryOp::Sub: return scalar(e.type, B.CreateSub(a, b));
      case BinaryOp::Mul: return scalar(e.type, B.CreateMul(a, b));
      case BinaryOp::Div: return scalar(e.type, divide(a, b, false));
      case BinaryOp::Mod: return scalar(e.type, divide(a, b, true));
      case BinaryOp::Lt: return scalar(e.type, B.CreateICmpSLT(a, b));
      case BinaryOp::Le: return scalar(e.type, B.CreateICmpSLE(a, b));
      case BinaryOp::Gt: return scalar(e.type, B.CreateICmpSGT(a, b));
      case BinaryOp::Ge: return scalar(e.type, B.CreateICmpSGE(a, b));
      default: break;
    }
    return zero_value(e.type);
  }

  // ------------------------------------------------------------ statements
  void emit_block(const std::vector<StmtPtr>& body) {
    for (auto& s : body) emit_stmt(*s);
  }

  void emit_stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::LocalVar: {
        CValue v = emit(*s.var->init);
        if (s.var->type->is(TypeKind::Mailbox)) {
          // `let m = mbox.filter(...)`: a (presence, base) pair, nothing to store.
          F.bound[s.var.get()] = v;
          break;
        }
        Value* slot = temp(s.var->type, s.var->name.c_str());
        store(s.var->type, slot, v);
        F.locals[s.var.get()] = slot;
        break;
      }
      case StmtKind::If: {
        Value* c = emit(*s.cond).v;
        Function* fn = B.GetInsertBlock()->getParent();
        BasicBlock* then_bb = BasicBlock::Create(C, "then", fn);
        BasicBlock* else_bb = BasicBlock::Create(C, "else", fn);
        BasicBlock* done = BasicBlock::Create(C, "endif", fn);
        B.CreateCondBr(c, then_bb, else_bb);
        B.SetInsertPoint(then_bb);
        emit_block(s.body);
        B.CreateBr(done);
        B.SetInsertPoint(else_bb);
        emit_block(s.else_body);
        B.CreateBr(done);
        B.SetInsertPoint(done);
        break;
      }
      case StmtKind::For: {
        Value* var = cell(B.getInt64(0), s.var->name.c_str());
        F.locals[s.var.get()] = var;
        if (s.range_end) {
          Value* lo = as_i64(emit(*s.cond));
          Value* hi = as_i64(emit(*s.range_end));
          for_range(lo, hi, [&](Value* i) {
            B.CreateStore(i, var);
            emit_block(s.body);
          }, "for");
        } else {
          Value* set = emit(*s.cond).v;
          for_each_bit(set, [&](Value* i) {
            B.CreateStore(i, var);
            emit_block(s.body);
          }, "for");
        }
        break;
      }
      case StmtKind::Decide: emit_decide(s); break;
      case StmtKind::Halt: B.CreateStore(B.getInt64(1), at(F.state, 8)); break;
      case StmtKind::Go:
        if (F.go_flag) B.CreateStore(B.getTrue(), F.go_flag);
        break;
      case StmtKind::Assign: {
        const Type* t = s.target->type;
        CValue v = emit(*s.value);
        if (is_composite(t)) v = CValue{t, nullptr, spill(v)};  // the right side may alias the target
        Value* p = place(*s.target);
        if (s.assign_op != AssignOp::Set) {
          Value* cur = B.CreateLoad(i64, p);
          Value* rhs = as_i64(v);
          Value* res = s.assign_op == AssignOp::Add ? B.CreateAdd(cur, rhs)
                       : s.assign_op == AssignOp::Sub ? B.CreateSub(cur, rhs)
                                                      : B.CreateMul(cur, rhs);
          if (t->is(TypeKind::Pid)) res = to_pid(res);
          B.CreateStore(res, p);
        } else {
          store(t, p, v);
        }
        break;
      }
      case StmtKind::ExprStmt: emit(*s.value); break;
      case StmtKind::Block: emit_block(s.body); break;
    }
  }

  void emit_decide(const Stmt& s) {
    const VarDecl& out = *prog_.outputs.at(0);
    CValue v = emit(*s.value);
    Value* out_ptr = gep(F.state, byte_offset(out));
    Value* decided = B.CreateICmpNE(B.CreateLoad(i64, F.state), B.getInt64(0));
    Function* fn = B.GetInsertBlock()->getParent();
    BasicBlock* first = BasicBlock::Create(C, "decide.first", fn);
    BasicBlock* again = BasicBlock::Create(C, "decide.again", fn);
    BasicBlock* done = BasicBlock::Create(C, "decide.end", fn);
    B.CreateCondBr(decided, again, first);
    B.SetInsertPoint(first);
    store(out.type, out_ptr, v);
    B.CreateStore(B.getInt64(1), F.state);
    call_hook(24);  // decided
    B.CreateBr(done);
    B.SetInsertPoint(again);
    Value* same = B.CreateICmpEQ(B.CreateLoad(i64, out_ptr), as_i64(v));
    emit_if(B.CreateNot(same), [&] {
      B.CreateStore(B.getInt64(1), at(F.state, 16));
      call_hook(32);  // conflict
    });
    B.CreateBr(done);
    B.SetInsertPoint(done);
  }

  // Calls hooks->decided / hooks->conflict (offset in psync_hooks) if set.
  void call_hook(int64_t offset) {
    Value* hooks = B.CreateLoad(ptr, at(F.env, 32));
    Value* has_hooks = B.CreateICmpNE(hooks, llvm::ConstantPointerNull::get(ptr));
    emit_if(has_hooks, [&] {
      Value* fnp = B.CreateLoad(ptr, at(hooks, offset));
      emit_if(B.CreateICmpNE(fnp, llvm::ConstantPointerNull::get(ptr)), [&] {
        Value* self = B.CreateLoad(ptr, hooks);
        auto* ty = llvm::FunctionType::get(B.getVoidTy(), {ptr, ptr, ptr}, false);
        B.CreateCall(ty, fnp, {self, F.env, F.state});
      });
    });
  }

  // ------------------------------------------------------------ declarations
  std::string qualified(const std::string& a, const std::string& b = "", const std::string& c = "") {
    std::string s = prog_.name + "." + a;
    if (!b.empty()) s += "." + b;
    if (!c.empty()) s += "." + c;
    return s;
  }

  void declare_fns() {
    // fn f(env, args..., out) -> i64: words by value, composites by pointer;
    // a composite result is written to `out`.
    for (auto& f : prog_.fns) {
      std::vector<llvm::Type*> args{ptr};
      for (auto& p : f->params) args.push_back(is_word(p->type) ? (llvm::Type*)i64 : (llvm::Type*)ptr);
      args.push_back(ptr);
      fns_[f.get()] = make_fn(qualified("fn", f->name), i64, args);
    }
  }

  void lower_fn(const FnDecl& f) {
    Function* fn = fns_.at(&f);
    begin(fn, fn->getArg(0));
    for (size_t k = 0; k < f.params.size(); ++k) {
      const Type* t = f.params[k]->type;
      Value* a = fn->getArg(static_cast<unsigned>(k + 1));
      if (is_word(t)) F.bound[f.params[k].get()] = scalar(t, t->is(TypeKind::Bool) ? B.CreateICmpNE(a, B.getInt64(0)) : a);
      else F.bound[f.params[k].get()] = CValue{t, nullptr, a};
    }
    CValue r = emit(*f.body);
    const Type* rt = f.result_type;
    if (is_word(rt)) {
      B.CreateRet(as_i64(r));
    } else {
      if (is_composite(rt)) store(rt, fn->getArg(static_cast<unsigned>(f.params.size() + 1)), r);
      B.CreateRet(B.getInt64(0));
    }
  }

  Function* size_fn(const std::string& name, const Poly& words) {
    Function* fn = make_fn(name, i64, {i32});
    auto* entry = BasicBlock::Create(C, "entry", fn);
    B.SetInsertPoint(entry);
    Value* n = B.CreateSExt(fn->getArg(0), i64);
    B.CreateRet(B.CreateShl(eval_poly(words, n), 3));
    return fn;
  }

  llvm::Constant* cstr(const std::string& s) {
    return B.CreateGlobalStringPtr(s, "str", 0, M.get());
  }

  llvm::Constant* fn_or_null(Function* f) {
    return f ? static_cast<llvm::Constant*>(f) : llvm::ConstantPointerNull::get(ptr);
  }

  void reset_round_vars(const Round& r) {
    for (auto& v : r.vars) {
      Value* p = gep(F.state, byte_offset(*v));
      if (v->init) store(v->type, p, emit(*v->init));
      else B.CreateMemSet(p, B.getInt8(0), bytes_of(v->type), llvm::MaybeAlign(8));
    }
  }

  // Round-local variables are dead once the round ends; zeroing them keeps
  // states that differ only in dead values equal (the checker's state space).
  void clear_round_vars(const Round& r) {
    for (auto& v : r.vars)
      B.CreateMemSet(gep(F.state, byte_offset(*v)), B.getInt8(0), bytes_of(v->type), llvm::MaybeAlign(8));
  }

  llvm::Constant* lower_round(const Round& r) {
    const Type* msg = r.message_type;
    Function* msz = size_fn(qualified(r.name, "msg_size"), words_of(msg));

    // send(state, env, outbox)
    Function* send = make_fn(qualified(r.name, "send"), B.getVoidTy(), {ptr, ptr, ptr});
    begin(send, send->getArg(1));
    F.state = send->getArg(0);
    reset_round_vars(r);
    {
      CValue outbox{psync_mailbox_type(msg), nullptr, send->getArg(2)};
      for (auto& s : r.sends) {
        auto do_send = [&] {
          CValue v = emit(*s.value);
          if (is_composite(msg)) v = CValue{msg, nullptr, spill(v)};
          Value* dests;
          if (s.dest == DestKind::All) {
            dests = all_pids();
          } else {
            CValue d = emit(*s.dest_expr);
            dests = s.dest_expr->type->is(TypeKind::PidSet) ? d.v : bit_of(as_i64(d));
          }
          Value* all = all_pids();
          dests = B.CreateAnd(dests, all);
          Value* pres = B.CreateLoad(i64, outbox.ptr);
          B.CreateStore(B.CreateOr(pres, dests), outbox.ptr);
          for_each_bit(dests, [&](Value* i) { store(msg, slot(outbox, i), v); }, "send");
        };
        if (s.guard) {
          Value* g = emit(*s.guard).v;
          emit_if(g, do_send);
        } else {
          do_send();
        }
      }
    }
    B.CreateRetVoid();

    Function* update = nullptr;
    Function* receive = nullptr;
    Function* finish = nullptr;
    Function* go_when = nullptr;
    if (r.update) {
      update = make_fn(qualified(r.name, "update"), B.getVoidTy(), {ptr, ptr, ptr});
      begin(update, update->getArg(1));
      F.state = update->getArg(0);
      bind_mailbox(*r.update->params[0], update->getArg(2));
      emit_block(r.update->body);
      clear_round_vars(r);
      B.CreateRetVoid();
    } else if (!r.is_event()) {
      update = make_fn(qualified(r.name, "update"), B.getVoidTy(), {ptr, ptr, ptr});
      begin(update, update->getArg(1));
      B.CreateRetVoid();
    }
    if (r.is_event()) {
      receive = make_fn(qualified(r.name, "receive"), i32, {ptr, ptr, i32, ptr});
      begin(receive, receive->getArg(1));
      F.state = receive->getArg(0);
      F.go_flag = cell(B.getFalse(), "go");
      if (r.receive) {
        F.bound[r.receive->params[0].get()] = scalar(r.receive->params[0]->type, B.CreateSExt(receive->getArg(2), i64));
        F.bound[r.receive->params[1].get()] = load(msg, receive->getArg(3));
        emit_block(r.receive->body);
      }
      B.CreateRet(B.CreateZExt(get(F.go_flag, i1), i32));

      finish = make_fn(qualified(r.name, "finish"), B.getVoidTy(), {ptr, ptr, i32});
      begin(finish, finish->getArg(1));
      F.state = finish->getArg(0);
      if (r.finish) {
        F.bound[r.finish->params[0].get()] = scalar(r.finish->params[0]->type,
                                                    B.CreateICmpNE(finish->getArg(2), B.getInt32(0)));
        emit_block(r.finish->body);
      }
      clear_round_vars(r);
      B.CreateRetVoid();
    }
    if (r.progress.go_when) {
      go_when = make_fn(qualified(r.name, "go_when"), i32, {ptr, ptr, ptr});
      begin(go_when, go_when->getArg(1));
      F.state = go_when->getArg(0);
      if (r.update) bind_mailbox(*r.update->params[0], go_when->getArg(2));
      B.CreateRet(B.CreateZExt(emit(*r.progress.go_when).v, i32));
    }

    const Progress& pr = r.progress;
    uint32_t flags = 0;
    if (r.is_event()) flags |= PSYNC_ROUND_EVENT;
    if (pr.wait) flags |= PSYNC_ROUND_WAIT;
    if (pr.strict) flags |= PSYNC_ROUND_STRICT;
    if (pr.timeout_us) flags |= PSYNC_ROUND_HAS_TIMEOUT;
    return llvm::ConstantStruct::get(
        round_ty(), {cstr(r.name), B.getInt32(flags), B.getInt32(0), B.getInt64(pr.timeout_us.value_or(0)),
                     B.getInt64(pr.strict_bound.value_or(0)), B.getInt64(pr.sync.value_or(0)), msz, send,
                     fn_or_null(update), fn_or_null(receive), fn_or_null(finish), fn_or_null(go_when)});
  }

  const Type* psync_mailbox_type(const Type* msg) {
    // Mailbox types are interned in the TypeContext; lowering only needs
    // elem, so a local Type suffices.
    auto it = mailbox_types_.find(msg);
    if (it != mailbox_types_.end()) return it->second.get();
    auto t = std::make_unique<Type>();
    t->kind = TypeKind::Mailbox;
    t->elem = msg;
    const Type* raw = t.get();
    mailbox_types_[msg] = std::move(t);
    return raw;
  }

  void bind_mailbox(const VarDecl& v, Value* base) {
    F.bound[&v] = CValue{v.type, B.CreateLoad(i64, base, "presence"), base};
  }

  // The set of all processes: (1 << n) - 1, with n == 64 giving all ones.
  Value* all_pids() {
    Value* full = B.CreateICmpSGE(F.n, B.getInt64(64));
    Value* mask = B.CreateSub(B.CreateShl(B.getInt64(1), B.CreateSelect(full, B.getInt64(0), F.n)), B.getInt64(1));
    return B.CreateSelect(full, B.getInt64(-1), mask);
  }

  llvm::Constant* lower_spec(const Spec& s) {
    Function* eval = nullptr;
    Function* eval2 = nullptr;
    Function* pred = nullptr;
    switch (s.kind) {
      case SpecKind::Invariant:
      case SpecKind::Liveness: {
        eval = make_fn(qualified("spec", s.name), i32, {ptr, ptr});
        begin(eval, eval->getArg(1));
        F.states = eval->getArg(0);
        B.CreateRet(B.CreateZExt(emit(*s.body).v, i32));
        if (s.kind == SpecKind::Liveness && s.pred) {
          pred = make_fn(qualified("spec", s.name, "pred"), i32, {ptr, ptr, ptr});
          begin(pred, pred->getArg(2));
          F.states = pred->getArg(0);
          F.ho = pred->getArg(1);
          B.CreateRet(B.CreateZExt(emit(*s.pred).v, i32));
        }
        break;
      }
      case SpecKind::Property: {
        eval2 = make_fn(qualified("spec", s.name), i32, {ptr, ptr, ptr});
        begin(eval2, eval2->getArg(2));
        F.old_states = eval2->getArg(0);
        F.states = eval2->getArg(1);
        B.CreateRet(B.CreateZExt(emit(*s.body).v, i32));
        break;
      }
      case SpecKind::Assume: {
        pred = make_fn(qualified("spec", s.name), i32, {ptr, ptr, ptr});
        begin(pred, pred->getArg(2));
        F.states = pred->getArg(0);
        F.ho = pred->getArg(1);
        B.CreateRet(B.CreateZExt(emit(*s.body).v, i32));
        break;
      }
    }
    static const uint32_t kinds[] = {PSYNC_SPEC_INVARIANT, PSYNC_SPEC_PROPERTY, PSYNC_SPEC_LIVENESS, PSYNC_SPEC_ASSUME};
    return llvm::ConstantStruct::get(spec_ty(), {cstr(s.name), B.getInt32(kinds[static_cast<int>(s.kind)]),
                                                 B.getInt32(static_cast<uint32_t>(s.after_rounds)), fn_or_null(eval),
                                                 fn_or_null(eval2), fn_or_null(pred)});
  }

  // ------------------------------------------------------------ printer
  // print_state writes "name=value ..." with small IR helpers, so generated
  // code needs no libc.
  Function* append_char_fn_ = nullptr;
  Function* append_int_fn_ = nullptr;

  void make_print_helpers() {
    // append_char(buf, cap, pos_ptr, c)
    append_char_fn_ = make_fn("psync.append_char", B.getVoidTy(), {ptr, i64, ptr, i64});
    {
      Function* f = append_char_fn_;
      B.SetInsertPoint(BasicBlock::Create(C, "entry", f));
      Value* pos = B.CreateLoad(i64, f->getArg(2));
      BasicBlock* put = BasicBlock::Create(C, "put", f);
      BasicBlock* done = BasicBlock::Create(C, "done", f);
      B.CreateCondBr(B.CreateICmpULT(B.CreateAdd(pos, B.getInt64(1)), f->getArg(1)), put, done);
      B.SetInsertPoint(put);
      B.CreateStore(B.CreateTrunc(f->getArg(3), B.getInt8Ty()), gep(f->getArg(0), pos));
      B.CreateBr(done);
      B.SetInsertPoint(done);
      B.CreateStore(B.CreateAdd(pos, B.getInt64(1)), f->getArg(2));
      B.CreateRetVoid();
    }
    // append_int(buf, cap, pos_ptr, v): decimal, with a sign.
    append_int_fn_ = make_fn("psync.append_int", B.getVoidTy(), {ptr, i64, ptr, i64});
    {
      Function* f = append_int_fn_;
      B.SetInsertPoint(BasicBlock::Create(C, "entry", f));
      Value* digits = B.CreateAlloca(B.getInt8Ty(), B.getInt64(24));
      Value* v = f->getArg(3);
      Value* neg = B.CreateICmpSLT(v, B.getInt64(0));
      BasicBlock* sign = BasicBlock::Create(C, "sign", f);
      BasicBlock* body = BasicBlock::Create(C, "body", f);
      B.CreateCondBr(neg, sign, body);
      B.SetInsertPoint(sign);
      B.CreateCall(append_char_fn_, {f->getArg(0), f->getArg(1), f->getArg(2), B.getInt64('-')});
      B.CreateBr(body);
      B.SetInsertPoint(body);
      // Work on the magnitude as unsigned (INT64_MIN included).
      Value* mag = B.CreateSelect(neg, B.CreateSub(B.getInt64(0), v), v);
      BasicBlock* loop = BasicBlock::Create(C, "loop", f);
      BasicBlock* out = BasicBlock::Create(C, "out", f);
      BasicBlock* emit_loop = BasicBlock::Create(C, "emit", f);
      BasicBlock* fin = BasicBlock::Create(C, "fin", f);
      B.CreateBr(loop);
      B.SetInsertPoint(loop);
      auto* m = B.CreatePHI(i64, 2);
      auto* k = B.CreatePHI(i64, 2);
      m->addIncoming(mag, body);
      k->addIncoming(B.getInt64(0), body);
      Value* d = B.CreateURem(m, B.getInt64(10));
      B.CreateStore(B.CreateTrunc(B.CreateAdd(d, B.getInt64('0')), B.getInt8Ty()), gep(digits, k));
      Value* m2 = B.CreateUDiv(m, B.getInt64(10));
      Value* k2 = B.CreateAdd(k, B.getInt64(1));
      m->addIncoming(m2, loop);
      k->addIncoming(k2, loop);
      B.CreateCondBr(B.CreateICmpNE(m2, B.getInt64(0)), loop, out);
      B.SetInsertPoint(out);
      B.CreateBr(emit_loop);
      B.SetInsertPoint(emit_loop);
      auto* j = B.CreatePHI(i64, 2);
      j->addIncoming(k2, out);
      Value* j2 = B.CreateSub(j, B.getInt64(1));
      Value* ch = B.CreateZExt(B.CreateLoad(B.getInt8Ty(), gep(digits, j2)), i64);
      B.CreateCall(append_char_fn_, {f->getArg(0), f->getArg(1), f->getArg(2), ch});
      j->addIncoming(j2, emit_loop);
      B.CreateCondBr(B.CreateICmpNE(j2, B.getInt64(0)), emit_loop, fin);
      B.SetInsertPoint(fin);
      B.CreateRetVoid();
    }
  }

  struct PrintTarget {
    Value* buf;
    Value* cap;
    Value* pos;
  };

  void print_text(const PrintTarget& t, const std::string& s) {
    for (char c : s) B.CreateCall(append_char_fn_, {t.buf, t.cap, t.pos, B.getInt64(static_cast<unsigned char>(c))});
  }

  void print_value(const PrintTarget& t, const Type* ty, Value* p) {
    switch (ty->kind) {
      case TypeKind::Int:
      case TypeKind::Pid: B.CreateCall(append_int_fn_, {t.buf, t.cap, t.pos, B.CreateLoad(i64, p)}); break;
      case TypeKind::Bool: {
        Value* v = B.CreateICmpNE(B.CreateLoad(i64, p), B.getInt64(0));
        Function* fn = B.GetInsertBlock()->getParent();
        BasicBlock* yes = BasicBlock::Create(C, "true", fn);
        BasicBlock* no = BasicBlock::Create(C, "false", fn);
        BasicBlock* done = BasicBlock::Create(C, "done", fn);
        B.CreateCondBr(v, yes, no);
        B.SetInsertPoint(yes);
        print_text(t, "true");
        B.CreateBr(done);
        B.SetInsertPoint(no);
        print_text(t, "false");
        B.CreateBr(done);
        B.SetInsertPoint(done);
        break;
      }
      case TypeKind::PidSet: {
        Value* set = B.CreateLoad(i64, p);
        Value* first = cell(B.getTrue(), "first");
        print_text(t, "{");
        for_each_bit(set, [&](Value* i) {
          emit_if(B.CreateNot(get(first, i1)), [&] { print_text(t, ","); });
          B.CreateStore(B.getFalse(), first);
          B.CreateCall(append_int_fn_, {t.buf, t.cap, t.pos, i});
        });
        print_text(t, "}");
        break;
      }
      case TypeKind::Option: {
        Value* some = B.CreateICmpNE(B.CreateLoad(i64, p), B.getInt64(0));
        Function* fn = B.GetInsertBlock()->getParent();
        BasicBlock* yes = BasicBlock::Create(C, "some", fn);
        BasicBlock* no = BasicBlock::Create(C, "none", fn);
        BasicBlock* done = BasicBlock::Create(C, "done", fn);
        B.CreateCondBr(some, yes, no);
        B.SetInsertPoint(yes);
        print_text(t, "some(");
        print_value(t, ty->elem, at(p, 8));
        print_text(t, ")");
        B.CreateBr(done);
        B.SetInsertPoint(no);
        print_text(t, "none");
        B.CreateBr(done);
        B.SetInsertPoint(done);
        break;
      }
      case TypeKind::Tuple:
      case TypeKind::Record: {
        bool rec = ty->is(TypeKind::Record);
        print_text(t, rec ? "{" : "(");
        Poly off;
        for (size_t k = 0; k < ty->elems.size(); ++k) {
          if (k) print_text(t, ", ");
          if (rec) print_text(t, ty->field_names[k] + ": ");
          print_value(t, ty->elems[k], gep(p, B.CreateShl(eval_poly(off, F.n), 3)));
          off = off + words_of(ty->elems[k]);
        }
        print_text(t, rec ? "}" : ")");
        break;
      }
      case TypeKind::Array: {
        print_text(t, "[");
        Value* esz = bytes_of(ty->elem);
        for_range(B.getInt64(0), F.n, [&](Value* i) {
          emit_if(B.CreateICmpNE(i, B.getInt64(0)), [&] { print_text(t, ","); });
          print_value(t, ty->elem, gep(p, B.CreateMul(i, esz)));
        });
        print_text(t, "]");
        break;
      }
      default: print_text(t, "()"); break;
    }
  }

  Function* lower_printer() {
    make_print_helpers();
    Function* fn = make_fn(qualified("print_state"), i32, {ptr, ptr, ptr, i64});
    begin(fn, fn->getArg(1));
    F.state = fn->getArg(0);
    PrintTarget t{fn->getArg(2), fn->getArg(3), cell(B.getInt64(0), "pos")};
    bool first = true;
    auto field_out = [&](const VarDecl& v) {
      print_text(t, (first ? "" : " ") + v.name + "=");
      first = false;
      print_value(t, v.type, gep(F.state, byte_offset(v)));
    };
    for (auto& v : prog_.inputs) field_out(*v);
    if (!prog_.outputs.empty()) {
      print_text(t, std::string(first ? "" : " ") + "decided=");
      first = false;
      print_value(t, prog_types_bool(), F.state);
      field_out(*prog_.outputs[0]);
    }
    for (auto& v : prog_.vars) field_out(*v);
    // Terminate the string when it fits.
    Value* pos = get(t.pos, i64);
    emit_if(B.CreateICmpUGT(t.cap, B.getInt64(0)), [&] {
      Value* at = B.CreateSelect(B.CreateICmpULT(pos, t.cap), pos, B.CreateSub(t.cap, B.getInt64(1)));
      B.CreateStore(B.getInt8(0), gep(t.buf, at));
    });
    B.CreateRet(B.CreateTrunc(pos, i32));
    return fn;
  }

  const Type* prog_types_bool() {
    static Type b = [] {
      Type t;
      t.kind = TypeKind::Bool;
      return t;
    }();
    return &b;
  }

  // ------------------------------------------------------------ descriptor
  llvm::StructType* round_ty() {
    if (!round_ty_)
      round_ty_ = llvm::StructType::create(C, {ptr, i32, i32, i64, i64, i64, ptr, ptr, ptr, ptr, ptr, ptr},
                                           "psync_round_desc");
    return round_ty_;
  }
  llvm::StructType* spec_ty() {
    if (!spec_ty_) spec_ty_ = llvm::StructType::create(C, {ptr, i32, i32, ptr, ptr, ptr}, "psync_spec_desc");
    return spec_ty_;
  }
  llvm::StructType* field_ty() {
    if (!field_ty_) field_ty_ = llvm::StructType::create(C, {ptr, i32, i32}, "psync_field");
    return field_ty_;
  }

  llvm::Constant* array_global(llvm::StructType* elem, const std::vector<llvm::Constant*>& items, const std::string& name) {
    if (items.empty()) return llvm::ConstantPointerNull::get(ptr);
    auto* aty = llvm::ArrayType::get(elem, items.size());
    auto* g = new llvm::GlobalVariable(*M, aty, true, llvm::GlobalValue::InternalLinkage,
                                       llvm::ConstantArray::get(aty, items), name);
    return g;
  }

  void emit_descriptor(const std::vector<llvm::Constant*>& rounds, const std::vector<llvm::Constant*>& specs) {
    Function* state_size = size_fn(qualified("state_size"), state_words_);

    // const_defaults(n, out): evaluates const initialisers in order; each
    // may read the consts before it through a local env.
    Function* consts_fn = make_fn(qualified("const_defaults"), B.getVoidTy(), {i32, ptr});
    {
      auto* entry = BasicBlock::Create(C, "entry", consts_fn);
      B.SetInsertPoint(entry);
      F = Frame{};
      Value* env = B.CreateAlloca(llvm::ArrayType::get(i64, 6), nullptr, "env");
      B.CreateMemSet(env, B.getInt8(0), B.getInt64(48), llvm::MaybeAlign(8));
      B.CreateStore(consts_fn->getArg(0), env);
      B.CreateStore(consts_fn->getArg(1), at(env, 24));
      F.env = env;
      F.n = B.CreateSExt(consts_fn->getArg(0), i64);
      F.me = B.getInt64(0);
      F.consts = consts_fn->getArg(1);
      for (auto& c : prog_.consts) {
        CValue v = c->init ? emit(*c->init) : zero_value(c->type);
        B.CreateStore(as_i64(v), B.CreateGEP(i64, F.consts, B.getInt64(c->index)));
      }
      B.CreateRetVoid();
    }

    // init(state, env, inputs)
    Function* init = make_fn(qualified("init"), B.getVoidTy(), {ptr, ptr, ptr});
    begin(init, init->getArg(1));
    F.state = init->getArg(0);
    for (size_t k = 0; k < prog_.inputs.size(); ++k) {
      const VarDecl& v = *prog_.inputs[k];
      Value* w = B.CreateLoad(i64, B.CreateGEP(i64, init->getArg(2), B.getInt64(static_cast<int64_t>(k))));
      if (v.type->is(TypeKind::Pid)) w = to_pid(w);
      if (v.type->is(TypeKind::Bool)) w = B.CreateZExt(B.CreateICmpNE(w, B.getInt64(0)), i64);
      if (v.type->is(TypeKind::PidSet)) w = B.CreateAnd(w, all_pids());  // only bits below n
      B.CreateStore(w, gep(F.state, byte_offset(v)));
    }
    for (auto& v : prog_.vars)
      if (v->init) store(v->type, gep(F.state, byte_offset(*v)), emit(*v->init));
    B.CreateRetVoid();

    Function* printer = lower_printer();

    std::vector<llvm::Constant*> inputs, consts;
    for (auto& v : prog_.inputs)
      inputs.push_back(llvm::ConstantStruct::get(
          field_ty(), {cstr(v->name), B.getInt32(kind_of(v->type)),
                       B.getInt32(static_cast<uint32_t>(offset_.at(v.get()).c[0] * 8))}));
    for (auto& v : prog_.consts)
      consts.push_back(llvm::ConstantStruct::get(
          field_ty(), {cstr(v->name), B.getInt32(kind_of(v->type)), B.getInt32(static_cast<uint32_t>(v->index))}));
    llvm::Constant* output;
    if (prog_.outputs.empty()) {
      output = llvm::ConstantStruct::get(field_ty(), {llvm::ConstantPointerNull::get(ptr), B.getInt32(PSYNC_KIND_NONE), B.getInt32(0)});
    } else {
      const VarDecl& o = *prog_.outputs[0];
      output = llvm::ConstantStruct::get(field_ty(), {cstr(o.name), B.getInt32(kind_of(o.type)),
                                                      B.getInt32(static_cast<uint32_t>(offset_.at(&o).c[0] * 8))});
    }

    auto* desc_ty = llvm::StructType::create(
        C, {i32, i32, ptr, i64, ptr, i32, i32, ptr, ptr, field_ty(), i32, i32, ptr, ptr, ptr, ptr, ptr},
        "psync_protocol_desc");
    llvm::Constant* desc = llvm::ConstantStruct::get(
        desc_ty, {B.getInt32(PSYNC_ABI_VERSION), B.getInt32(static_cast<uint32_t>(rounds.size())), cstr(prog_.name),
                  B.getInt64(program_fingerprint(sources_)), array_global(round_ty(), rounds, "psync.rounds"),
                  B.getInt32(static_cast<uint32_t>(inputs.size())), B.getInt32(static_cast<uint32_t>(consts.size())),
                  array_global(field_ty(), inputs, "psync.inputs"), array_global(field_ty(), consts, "psync.consts"),
                  output, B.getInt32(static_cast<uint32_t>(specs.size())), B.getInt32(0),
                  array_global(spec_ty(), specs, "psync.specs"), state_size, consts_fn, init, printer});
    new llvm::GlobalVariable(*M, desc_ty, true, llvm::GlobalValue::ExternalLinkage, desc, PSYNC_DESCRIPTOR_SYMBOL);
  }

  const Program& prog_;
  const SourceManager& sources_;
  llvm::LLVMContext& C;
  IRBuilder<> B;
  std::unique_ptr<llvm::Module> M;
  llvm::Type* i1 = nullptr;
  llvm::IntegerType* i32 = nullptr;
  llvm::IntegerType* i64 = nullptr;
  llvm::PointerType* ptr = nullptr;
  Frame F;
  std::map<const VarDecl*, Poly> offset_;
  Poly state_words_;
  std::map<const FnDecl*, Function*> fns_;
  std::map<const Type*, std::unique_ptr<Type>> mailbox_types_;
  llvm::StructType* round_ty_ = nullptr;
  llvm::StructType* spec_ty_ = nullptr;
  llvm::StructType* field_ty_ = nullptr;
};

}  // namespace

std::unique_ptr<llvm::Module> lower_program(const Program& program, const SourceManager& sources,
                                            llvm::LLVMContext& context, std::string& error) {
  return Lowering(program, sources, context).run(error);
}

}  // namespace psync
