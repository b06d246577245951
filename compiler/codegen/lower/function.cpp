// function.cpp: the function context of lowering: the prologue, the stack,
// and the helpers every expression and statement uses (loads and stores of
// words and composites, equality, sets, mailbox slots, safe arithmetic).
#include "codegen/lower/lowering.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/MDBuilder.h"

namespace psync::lower {

FunctionLowering::FunctionLowering(ModuleLowering& m, Function* f)
    : M(m), C(m.C), B(m.C), fn(f), i1(m.i1), i32(m.i32), i64(m.i64), ptr(m.ptr) {
  B.SetInsertPoint(BasicBlock::Create(C, "entry", fn));
}

FunctionLowering::FunctionLowering(ModuleLowering& m, Function* f, Value* env_arg) : FunctionLowering(m, f) {
  read_env(env_arg);
  begin_body();
}

FunctionLowering::~FunctionLowering() {
  if (alloca_point_) alloca_point_->eraseFromParent();
}

// What the ABI promises about env (abi.h, docs/abi.md §5), stated to the
// optimiser as range metadata on the loads: n is 1..PSYNC_MAX_N; me is
// 0..n-1, stated as below PSYNC_MAX_N (spec evaluators do not read it);
// round is at least 0, so phase (round / num_rounds) is too. With them,
// `phase % n` is an unsigned remainder with no guard for n == 0 or
// INT64_MIN % -1, and the pid it gives needs no range check (below n).
// Every field is read once, here: a driver does not change env during a
// call.
void FunctionLowering::read_env(Value* env_arg) {
  env = env_arg;
  auto ranged = [&](unsigned field, const char* name, const llvm::APInt& lo, const llvm::APInt& hi) {
    auto* load = llvm::cast<llvm::LoadInst>(load_field(M.abi.Env, env, field, name));
    load->setMetadata(llvm::LLVMContext::MD_range, llvm::MDBuilder(C).createRange(lo, hi));
    return load;
  };
  n = B.CreateZExt(ranged(EnvField::n, "n32", llvm::APInt(32, 1), llvm::APInt(32, PSYNC_MAX_N + 1)), i64, "n");
  me = B.CreateZExt(ranged(EnvField::me, "me32", llvm::APInt(32, 0), llvm::APInt(32, PSYNC_MAX_N)), i64, "me");
  // [0, INT64_MIN) in LLVM's wrapped notation: 0..INT64_MAX.
  const llvm::APInt zero(64, 0), past_max = llvm::APInt::getSignedMinValue(64);
  round = ranged(EnvField::round, "r", zero, past_max);
  phase = ranged(EnvField::phase, "phase", zero, past_max);
  consts = load_field(M.abi.Env, env, EnvField::consts, "consts");
}

void FunctionLowering::begin_body() {
  // A placeholder that marks the end of the prologue, as clang's
  // AllocaInsertPt does; the destructor removes it.
  alloca_point_ = new llvm::BitCastInst(llvm::PoisonValue::get(i32), i32, "allocapt");
  B.Insert(alloca_point_);
}

// ---------------------------------------------------------------- addresses

Value* eval_poly(llvm::IRBuilderBase& b, const Poly& p, Value* n_value) {
  Value* result = b.getInt64(p.c[0]);
  Value* power = nullptr;
  for (size_t i = 1; i < p.c.size(); ++i) {
    power = power ? b.CreateMul(power, n_value) : n_value;
    if (p.c[i]) result = b.CreateAdd(result, b.CreateMul(b.getInt64(p.c[i]), power));
  }
  return result;
}

Value* FunctionLowering::eval_poly(const Poly& p, Value* n_value) { return lower::eval_poly(B, p, n_value); }

Value* FunctionLowering::bytes_of(const Type* t) { return B.CreateShl(eval_poly(words_of(t), n), 3); }
Value* FunctionLowering::byte_offset(const VarDecl& v) { return B.CreateShl(eval_poly(M.offsets.at(&v), n), 3); }
Value* FunctionLowering::gep(Value* base, Value* bytes) { return B.CreateGEP(B.getInt8Ty(), base, bytes); }
Value* FunctionLowering::at(Value* base, int64_t bytes) { return gep(base, B.getInt64(bytes)); }

Value* FunctionLowering::field_ptr(llvm::StructType* type, Value* base, unsigned field) {
  return B.CreateStructGEP(type, base, field);
}
Value* FunctionLowering::load_field(llvm::StructType* type, Value* base, unsigned field, const char* name) {
  return B.CreateLoad(type->getElementType(field), field_ptr(type, base, field), name);
}

Value* FunctionLowering::env_round() { return round; }
Value* FunctionLowering::env_phase() { return phase; }

Value* FunctionLowering::state_of_process(Value* states_array, Value* p) {
  return B.CreateLoad(ptr, B.CreateGEP(ptr, states_array, p));
}

// ---------------------------------------------------------------- stack

Value* FunctionLowering::temp(const Type* t, const char* name) {
  // Sizes with n in them are computed in the entry block too: n is read in
  // the prologue, before the alloca point.
  llvm::IRBuilder<> eb(alloca_point_);
  Poly p = words_of(t);
  Value* words = p.is_constant() ? eb.getInt64(std::max<int64_t>(p.c[0], 1)) : lower::eval_poly(eb, p, n);
  auto* a = eb.CreateAlloca(i64, words, name);
  a->setAlignment(llvm::Align(8));
  return a;
}

Value* FunctionLowering::cell(Value* init, const char* name) {
  llvm::IRBuilder<> eb(alloca_point_);
  auto* a = eb.CreateAlloca(init->getType(), nullptr, name);
  B.CreateStore(init, a);
  return a;
}

Value* FunctionLowering::get(Value* cell_ptr, llvm::Type* t) { return B.CreateLoad(t, cell_ptr); }

// ---------------------------------------------------------------- values

CValue FunctionLowering::load(const Type* t, Value* p) {
  CValue r{t, nullptr, nullptr};
  if (is_word(t)) {
    Value* w = B.CreateLoad(i64, p);
    r.v = t->is(TypeKind::Bool) ? B.CreateICmpNE(w, B.getInt64(0)) : w;
  } else {
    r.ptr = p;
  }
  return r;
}

void FunctionLowering::store(const Type* t, Value* p, const CValue& v) {
  if (is_word(t)) {
    Value* w = v.v;
    if (w->getType() == i1) w = B.CreateZExt(w, i64);
    B.CreateStore(w, p);
  } else if (is_composite(t)) {
    B.CreateMemMove(p, llvm::MaybeAlign(8), v.ptr, llvm::MaybeAlign(8), bytes_of(t));
  }
}

Value* FunctionLowering::spill(const CValue& v) {
  Value* p = temp(v.type, "spill");
  store(v.type, p, v);
  return p;
}

Value* FunctionLowering::as_i64(const CValue& v) { return v.v->getType() == i1 ? B.CreateZExt(v.v, i64) : v.v; }

Value* FunctionLowering::zero_fill(const Type* t) {
  Value* p = temp(t, "zero");
  B.CreateMemSet(p, B.getInt8(0), bytes_of(t), llvm::MaybeAlign(8));
  return p;
}

CValue FunctionLowering::zero_value(const Type* t) {
  if (is_word(t)) return scalar(t, t->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0));
  return CValue{t, nullptr, zero_fill(t)};
}

Value* FunctionLowering::equal(const CValue& a, const CValue& b) {
  const Type* t = a.type;
  if (is_word(t) || a.v) return B.CreateICmpEQ(as_i64(a), as_i64(b));
  if (!is_composite(t)) return B.getTrue();
  // Composite values are canonical (none has zero payload), so equality is
  // word-wise equality.
  Value* words = eval_poly(words_of(t), n);
  BasicBlock* pre = B.GetInsertBlock();
  BasicBlock* loop = block("eq.loop");
  BasicBlock* body = block("eq.body");
  BasicBlock* done = block("eq.done");
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

Value* FunctionLowering::bit_test(Value* set, Value* i, Value* limit) {
  Value* in_range = B.CreateICmpULT(i, limit);  // unsigned: a negative i is out of range too
  Value* safe = B.CreateSelect(in_range, i, B.getInt64(0));
  Value* bit = B.CreateAnd(B.CreateLShr(set, safe), B.getInt64(1));
  return B.CreateAnd(in_range, B.CreateICmpNE(bit, B.getInt64(0)));
}

Value* FunctionLowering::bit_of(Value* i, Value* limit) {
  Value* in_range = B.CreateICmpULT(i, limit);
  return B.CreateSelect(in_range, B.CreateShl(B.getInt64(1), B.CreateSelect(in_range, i, B.getInt64(0))),
                        B.getInt64(0));
}

Value* FunctionLowering::all_pids() {
  Value* full = B.CreateICmpSGE(n, B.getInt64(64));
  Value* mask = B.CreateSub(B.CreateShl(B.getInt64(1), B.CreateSelect(full, B.getInt64(0), n)), B.getInt64(1));
  return B.CreateSelect(full, B.getInt64(-1), mask);
}

void FunctionLowering::report_range_error(Value* value, llvm::Constant* where) {
  if (!state || states) return;  // a spec evaluator or const_defaults: no process to blame
  // In a fn, `state` is the caller's, NULL when a spec or a const called it.
  emit_if(B.CreateICmpNE(state, M.null_ptr()), [&] {
    B.CreateStore(B.getInt64(1), field_ptr(M.abi.ProcHeader, state, ProcHeaderField::range_error));
  });
  Value* hooks = load_field(M.abi.Env, env, EnvField::hooks, "hooks");
  emit_if(B.CreateICmpNE(hooks, M.null_ptr()), [&] {
    Value* fnp = load_field(M.abi.Hooks, hooks, HooksField::range_error);
    emit_if(B.CreateICmpNE(fnp, M.null_ptr()), [&] {
      Value* self = load_field(M.abi.Hooks, hooks, HooksField::self);
      B.CreateCall(llvm_fn_type<decltype(psync_hooks::range_error)>(C, M.abi), fnp, {self, env, value, where});
    });
  });
}

Value* FunctionLowering::checked_pid(Value* x, llvm::Constant* where) {
  emit_if(B.CreateICmpUGE(x, n), [&] { report_range_error(x, where); });
  return x;
}

Value* FunctionLowering::shift(Value* a, Value* k, bool left) {
  // Negative counts shift the other way; counts of 64 or more leave 0 (or,
  // shifting a negative number right, -1). INT64_MIN as a count is "huge".
  Value* neg = B.CreateICmpSLT(k, B.getInt64(0));
  Value* mag = B.CreateSelect(neg, B.CreateSub(B.getInt64(0), k), k);
  Value* huge = B.CreateOr(B.CreateICmpUGE(mag, B.getInt64(64)), B.CreateICmpSLT(mag, B.getInt64(0)));
  Value* safe = B.CreateSelect(huge, B.getInt64(0), mag);
  Value* go_left = left ? B.CreateNot(neg) : neg;
  Value* shl = B.CreateShl(a, safe);
  Value* sar = B.CreateAShr(a, safe);
  Value* big_right = B.CreateSelect(B.CreateICmpSLT(a, B.getInt64(0)), B.getInt64(-1), B.getInt64(0));
  Value* l = B.CreateSelect(huge, B.getInt64(0), shl);
  Value* r = B.CreateSelect(huge, big_right, sar);
  return B.CreateSelect(go_left, l, r);
}

Value* FunctionLowering::divide(Value* a, Value* b, bool rem) {
  // a / 0 == 0, a % 0 == a; INT64_MIN / -1 wraps (== INT64_MIN), % gives 0.
  Value* zero = B.CreateICmpEQ(b, B.getInt64(0));
  Value* overflow = B.CreateAnd(B.CreateICmpEQ(a, B.getInt64(INT64_MIN)), B.CreateICmpEQ(b, B.getInt64(-1)));
  Value* safe_b = B.CreateSelect(B.CreateOr(zero, overflow), B.getInt64(1), b);
  Value* q = rem ? B.CreateSRem(a, safe_b) : B.CreateSDiv(a, safe_b);
  Value* on_overflow = rem ? B.getInt64(0) : B.getInt64(INT64_MIN);
  q = B.CreateSelect(overflow, on_overflow, q);
  return B.CreateSelect(zero, rem ? a : B.getInt64(0), q);
}

Function* FunctionLowering::ctpop() {
  return llvm::Intrinsic::getDeclaration(M.module.get(), llvm::Intrinsic::ctpop, {i64});
}

// ---------------------------------------------------------------- mailboxes

Value* FunctionLowering::slot(const Type* msg, Value* base, Value* i) {
  return gep(base, B.CreateAdd(B.getInt64(kMailboxSlotsOffset), B.CreateMul(i, bytes_of(msg))));
}

CValue FunctionLowering::message(const CValue& mbox, Value* i) {
  const Type* msg = mbox.type->elem;
  return load(msg, slot(msg, mbox.ptr, i));
}

CValue FunctionLowering::pick_slot(const CValue& mbox, Value* i) {
  const Type* msg = mbox.type->elem;
  Value* none = B.CreateICmpSLT(i, B.getInt64(0));
  Value* safe = B.CreateSelect(none, B.getInt64(0), i);
  if (is_word(msg)) {
    CValue m = message(mbox, safe);
    Value* zero = msg->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0);
    return scalar(msg, B.CreateSelect(none, zero, m.v));
  }
  Value* z = zero_fill(msg);
  return CValue{msg, nullptr, B.CreateSelect(none, z, slot(msg, mbox.ptr, safe))};
}

void FunctionLowering::bind_mailbox(const VarDecl& v, Value* base) {
  bound[&v] = CValue{v.type, B.CreateLoad(i64, base, "presence"), base};
}

}  // namespace psync::lower
