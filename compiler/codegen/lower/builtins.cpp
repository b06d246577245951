// builtins.cpp: lowering of every built-in name, function and operation of
// ast/builtins.def, one lower_<Name> per row, and the dispatch expanded from
// the table at the bottom: a row without its lower_<Name> does not compile.
// Empty mailboxes give zero values; where a message (not a value) is picked,
// ties go to the lowest sender (docs/language.md §14).
#include "codegen/lower/lowering.h"

#include "llvm/IR/Intrinsics.h"

namespace psync::lower {

namespace {

using F = FunctionLowering;

// ---------------------------------------------------------------- names

CValue lower_N(F& f, const Expr& e) { return f.scalar(e.type, f.n); }
CValue lower_Me(F& f, const Expr& e) { return f.scalar(e.type, f.me); }
CValue lower_Round(F& f, const Expr& e) { return f.scalar(e.type, f.env_round()); }
CValue lower_Phase(F& f, const Expr& e) { return f.scalar(e.type, f.env_phase()); }
CValue lower_Pids(F& f, const Expr& e) { return f.scalar(e.type, f.all_pids()); }

Value* decided_flag(F& f, Value* state) {
  return f.B.CreateICmpNE(f.load_field(f.M.abi.ProcHeader, state, ProcHeaderField::decided), f.B.getInt64(0));
}

// `decided` in round code; p.decided in a specification (p quantified).
CValue lower_Decided(F& f, const Expr& e) {
  if (e.kind == ExprKind::Member) {
    Value* p = f.as_i64(f.emit(*e.args[0]));
    return f.scalar(e.type, decided_flag(f, f.state_of_process(f.states, p)));
  }
  return f.scalar(e.type, decided_flag(f, f.state));
}

CValue lower_Uniform(F& f, const Expr& e) {
  auto& B = f.B;
  Value* first = B.CreateLoad(f.i64, f.ho);
  Value* acc = f.cell(B.getTrue(), "uniform");
  // Under `byzantine f`, every correct process has the first correct
  // process's set; faulty receivers are skipped (what they hear changes
  // nothing).
  Value* ref = f.cell(B.getInt64(0), "uniform.ref");
  Value* have = f.cell(B.getFalse(), "uniform.have");
  f.for_range(B.getInt64(0), f.n, [&](Value* p) {
    Value* h = B.CreateLoad(f.i64, B.CreateGEP(f.i64, f.ho, p));
    Value* ok = f.correct_process(p);
    if (!ok) {
      B.CreateStore(B.CreateAnd(f.get(acc, f.i1), B.CreateICmpEQ(h, first)), acc);
      return;
    }
    f.emit_if(ok, [&] {
      Value* same = B.CreateOr(B.CreateNot(f.get(have, f.i1)), B.CreateICmpEQ(h, f.get(ref, f.i64)));
      B.CreateStore(B.CreateAnd(f.get(acc, f.i1), same), acc);
      B.CreateStore(h, ref);
      B.CreateStore(B.getTrue(), have);
    });
  });
  return f.scalar(e.type, f.get(acc, f.i1));
}

CValue lower_HoSize(F& f, const Expr& e) {
  auto& B = f.B;
  Value* acc = f.cell(B.getInt64(INT64_MAX), "ho_size");
  f.for_range(B.getInt64(0), f.n, [&](Value* p) {
    auto body = [&] {
      Value* c = B.CreateCall(f.ctpop(), {B.CreateLoad(f.i64, B.CreateGEP(f.i64, f.ho, p))});
      Value* cur = f.get(acc, f.i64);
      B.CreateStore(B.CreateSelect(B.CreateICmpSLT(c, cur), c, cur), acc);
    };
    if (Value* ok = f.correct_process(p)) f.emit_if(ok, body);  // faulty receivers: as in uniform
    else body();
  });
  return f.scalar(e.type, f.get(acc, f.i64));
}

// ---------------------------------------------------------------- functions

// The driver's hooks table; abi.h: not NULL when the protocol calls coin or random.
Value* hooks_table(F& f) { return f.load_field(f.M.abi.Env, f.env, EnvField::hooks, "hooks"); }

// coin and random are required hooks (abi.h): called without a NULL check.
CValue lower_Coin(F& f, const Expr& e) {
  auto& B = f.B;
  Value* hooks = hooks_table(f);
  Value* self = f.load_field(f.M.abi.Hooks, hooks, HooksField::self);
  Value* coin = f.load_field(f.M.abi.Hooks, hooks, HooksField::coin);
  Value* r = B.CreateCall(llvm_fn_type<decltype(psync_hooks::coin)>(f.C, f.M.abi), coin, {self, f.env});
  return f.scalar(e.type, B.CreateICmpNE(r, B.getInt32(0)));
}

CValue lower_Random(F& f, const Expr& e) {
  auto& B = f.B;
  Value* k = f.as_i64(f.emit(*e.args[0]));
  Value* res = f.cell(B.getInt64(0), "random");
  f.emit_if(B.CreateICmpSGT(k, B.getInt64(0)), [&] {  // abi.h: k <= 0 yields 0 without a call
    Value* hooks = hooks_table(f);
    Value* self = f.load_field(f.M.abi.Hooks, hooks, HooksField::self);
    Value* random = f.load_field(f.M.abi.Hooks, hooks, HooksField::random);
    B.CreateStore(B.CreateCall(llvm_fn_type<decltype(psync_hooks::random)>(f.C, f.M.abi), random, {self, f.env, k}),
                  res);
  });
  return f.scalar(e.type, f.get(res, f.i64));
}

// set(a, b, ...): the bits of its elements; an element outside a range set
// is a range event and is left out.
CValue lower_Set(F& f, const Expr& e) {
  Value* s = f.B.getInt64(0);
  Value* cap = f.set_capacity(e.type);
  bool ranged = e.type->is(TypeKind::Set) && e.type->elem->is(TypeKind::Int);
  for (auto& a : e.args) {
    Value* x = f.as_i64(f.emit(*a));
    Value* i = f.set_bit_index(e.type, x);
    if (ranged)
      f.emit_if(f.B.CreateICmpUGE(i, cap),
                [&] { f.report_range_error(x, f.M.site(a->range, "an element of " + type_name(e.type))); });
    s = f.B.CreateOr(s, f.bit_of(i, cap));
  }
  return f.scalar(e.type, s);
}

CValue lower_Ho(F& f, const Expr& e) {
  auto& B = f.B;
  Value* p = f.as_i64(f.emit(*e.args[0]));
  Value* ok = B.CreateICmpULT(p, f.n);
  Value* h = B.CreateLoad(f.i64, B.CreateGEP(f.i64, f.ho, B.CreateSelect(ok, p, B.getInt64(0))));
  return f.scalar(e.type, B.CreateSelect(ok, h, B.getInt64(0)));
}

CValue min_or_max(F& f, const Expr& e, bool is_min) {
  Value* a = f.as_i64(f.emit(*e.args[0]));
  Value* b = f.as_i64(f.emit(*e.args[1]));
  Value* lt = f.B.CreateICmpSLT(a, b);
  return f.scalar(e.type, is_min ? f.B.CreateSelect(lt, a, b) : f.B.CreateSelect(lt, b, a));
}
CValue lower_Min(F& f, const Expr& e) { return min_or_max(f, e, true); }
CValue lower_Max(F& f, const Expr& e) { return min_or_max(f, e, false); }

CValue lower_Abs(F& f, const Expr& e) {
  auto& B = f.B;
  Value* a = f.as_i64(f.emit(*e.args[0]));
  return f.scalar(e.type, B.CreateSelect(B.CreateICmpSLT(a, B.getInt64(0)), B.CreateSub(B.getInt64(0), a), a));
}

// ---------------------------------------------------------------- mailboxes

CValue lower_MboxSize(F& f, const Expr& e) {
  CValue mbox = f.emit(*e.args[0]);
  return f.scalar(e.type, f.B.CreateCall(f.ctpop(), {mbox.v}));
}

CValue lower_MboxSenders(F& f, const Expr& e) { return f.scalar(e.type, f.emit(*e.args[0]).v); }

CValue lower_MboxHas(F& f, const Expr& e) {
  CValue mbox = f.emit(*e.args[0]);
  Value* p = f.as_i64(f.emit(*e.args[1]));
  return f.scalar(e.type, f.bit_test(mbox.v, p));
}

// count(v) compares with a value; count(m => pred) applies a predicate.
CValue mailbox_count(F& f, const Expr& e, bool with_lambda) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  CValue needle;
  if (!with_lambda) needle = f.emit(*e.args[1]);
  Value* acc = f.cell(B.getInt64(0), "count");
  f.for_each_bit(mbox.v, [&](Value* i) {
    CValue m = f.message(mbox, i);
    Value* hit = with_lambda ? f.apply(*e.args[1], {m}).v : f.equal(m, needle);
    B.CreateStore(B.CreateAdd(f.get(acc, f.i64), B.CreateZExt(hit, f.i64)), acc);
  });
  return f.scalar(e.type, f.get(acc, f.i64));
}
CValue lower_MboxCount(F& f, const Expr& e) { return mailbox_count(f, e, false); }
CValue lower_MboxCountIf(F& f, const Expr& e) { return mailbox_count(f, e, true); }

CValue mailbox_quantifier(F& f, const Expr& e, bool all) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  Value* acc = f.cell(B.getInt1(all), all ? "all" : "exists");
  f.for_each_bit(mbox.v, [&](Value* i) {
    Value* hit = f.apply(*e.args[1], {f.message(mbox, i)}).v;
    B.CreateStore(all ? B.CreateAnd(f.get(acc, f.i1), hit) : B.CreateOr(f.get(acc, f.i1), hit), acc);
  });
  return f.scalar(e.type, f.get(acc, f.i1));
}
CValue lower_MboxExists(F& f, const Expr& e) { return mailbox_quantifier(f, e, false); }
CValue lower_MboxAll(F& f, const Expr& e) { return mailbox_quantifier(f, e, true); }

// A filtered mailbox shares its slots: only the presence word changes.
CValue lower_MboxFilter(F& f, const Expr& e) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  Value* keep = f.cell(B.getInt64(0), "keep");
  f.for_each_bit(mbox.v, [&](Value* i) {
    Value* hit = f.apply(*e.args[1], {f.message(mbox, i)}).v;
    Value* bit = B.CreateShl(B.CreateZExt(hit, f.i64), i);
    B.CreateStore(B.CreateOr(f.get(keep, f.i64), bit), keep);
  });
  return CValue{e.type, f.get(keep, f.i64), mbox.ptr};
}

// min and max of bytes messages: the order of bytes.cpp; ties (equal
// values) go to the lowest sender.
CValue mailbox_extreme_bytes(F& f, const Expr& e, bool is_min) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  Value* best_i = f.cell(B.getInt64(-1), "best_i");
  f.for_each_bit(mbox.v, [&](Value* i) {
    CValue m = f.message(mbox, i);
    Value* cur = f.get(best_i, f.i64);
    Value* first = B.CreateICmpSLT(cur, B.getInt64(0));
    CValue best = f.message(mbox, B.CreateSelect(first, i, cur));
    Value* better = is_min ? f.less(m, best) : f.less(best, m);
    f.emit_if(B.CreateOr(first, better), [&] { B.CreateStore(i, best_i); });
  });
  return f.pick_slot(mbox, f.get(best_i, f.i64));
}

// min, max (of the messages) and min_by, max_by (of a key). Ties go to the
// lowest sender: only a strictly better key replaces.
CValue mailbox_extreme(F& f, const Expr& e, bool is_min, bool by_key) {
  auto& B = f.B;
  if (!by_key && e.type->is(TypeKind::Bytes)) return mailbox_extreme_bytes(f, e, is_min);
  CValue mbox = f.emit(*e.args[0]);
  Value* best_i = f.cell(B.getInt64(-1), "best_i");
  Value* best_k = f.cell(B.getInt64(0), "best_k");
  f.for_each_bit(mbox.v, [&](Value* i) {
    CValue m = f.message(mbox, i);
    Value* k = by_key ? f.as_i64(f.apply(*e.args[1], {m})) : f.as_i64(m);
    Value* first = B.CreateICmpSLT(f.get(best_i, f.i64), B.getInt64(0));
    Value* better = is_min ? B.CreateICmpSLT(k, f.get(best_k, f.i64)) : B.CreateICmpSGT(k, f.get(best_k, f.i64));
    f.emit_if(B.CreateOr(first, better), [&] {
      B.CreateStore(i, best_i);
      B.CreateStore(k, best_k);
    });
  });
  return f.pick_slot(mbox, f.get(best_i, f.i64));
}
CValue lower_MboxMin(F& f, const Expr& e) { return mailbox_extreme(f, e, true, false); }
CValue lower_MboxMax(F& f, const Expr& e) { return mailbox_extreme(f, e, false, false); }
CValue lower_MboxMinBy(F& f, const Expr& e) { return mailbox_extreme(f, e, true, true); }
CValue lower_MboxMaxBy(F& f, const Expr& e) { return mailbox_extreme(f, e, false, true); }

CValue mailbox_sum(F& f, const Expr& e, bool by_key) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  Value* acc = f.cell(B.getInt64(0), "sum");
  f.for_each_bit(mbox.v, [&](Value* i) {
    CValue m = f.message(mbox, i);
    Value* k = by_key ? f.as_i64(f.apply(*e.args[1], {m})) : f.as_i64(m);
    B.CreateStore(B.CreateAdd(f.get(acc, f.i64), k), acc);
  });
  return f.scalar(e.type, f.get(acc, f.i64));
}
CValue lower_MboxSum(F& f, const Expr& e) { return mailbox_sum(f, e, false); }
CValue lower_MboxSumBy(F& f, const Expr& e) { return mailbox_sum(f, e, true); }

// O(n^2) with n <= 64. most_frequent: ties go to the lowest sender;
// min_most_frequent: ties go to the smallest value.
CValue mailbox_most_frequent(F& f, const Expr& e, bool ties_to_smallest) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  Value* pres = mbox.v;
  Value* best_i = f.cell(B.getInt64(-1), "best_i");
  Value* best_c = f.cell(B.getInt64(0), "best_c");
  f.for_each_bit(pres, [&](Value* i) {
    CValue mi = f.message(mbox, i);
    Value* cnt = f.cell(B.getInt64(0), "cnt");
    f.for_each_bit(pres, [&](Value* j) {
      Value* same = f.equal(mi, f.message(mbox, j));
      B.CreateStore(B.CreateAdd(f.get(cnt, f.i64), B.CreateZExt(same, f.i64)), cnt);
    }, "inner");
    Value* c = f.get(cnt, f.i64);
    Value* better = B.CreateICmpSGT(c, f.get(best_c, f.i64));
    if (ties_to_smallest) {
      Value* tie = B.CreateICmpEQ(c, f.get(best_c, f.i64));
      Value* current = B.CreateSelect(B.CreateICmpSLT(f.get(best_i, f.i64), B.getInt64(0)), i, f.get(best_i, f.i64));
      Value* smaller = f.less(mi, f.message(mbox, current));
      better = B.CreateOr(better, B.CreateAnd(tie, smaller));
    }
    f.emit_if(better, [&] {
      B.CreateStore(i, best_i);
      B.CreateStore(c, best_c);
    });
  });
  return f.pick_slot(mbox, f.get(best_i, f.i64));
}
CValue lower_MboxMostFrequent(F& f, const Expr& e) { return mailbox_most_frequent(f, e, false); }
CValue lower_MboxMinMostFrequent(F& f, const Expr& e) { return mailbox_most_frequent(f, e, true); }

CValue lower_MboxFold(F& f, const Expr& e) {
  auto& B = f.B;
  CValue mbox = f.emit(*e.args[0]);
  CValue init = f.emit(*e.args[1]);
  const Type* acc_t = e.type;
  if (is_word(acc_t)) {
    Value* acc = f.cell(f.as_i64(init), "acc");
    f.for_each_bit(mbox.v, [&](Value* i) {
      CValue cur = f.load(acc_t, acc);  // reads the cell as a word
      CValue next = f.apply(*e.args[2], {cur, f.message(mbox, i)});
      B.CreateStore(f.as_i64(next), acc);
    });
    return f.load(acc_t, acc);
  }
  Value* acc = f.spill(init);
  f.for_each_bit(mbox.v, [&](Value* i) {
    CValue next = f.apply(*e.args[2], {CValue{acc_t, nullptr, acc}, f.message(mbox, i)});
    f.store(acc_t, acc, next);
  });
  return CValue{acc_t, nullptr, acc};
}

// mbox[p]: the message from p, or the zero value when p was not heard.
CValue lower_MboxGet(F& f, const Expr& e) {
  CValue mbox = f.emit(*e.args[0]);
  Value* p = f.as_i64(f.emit(*e.args[1]));
  Value* present = f.bit_test(mbox.v, p);
  return f.pick_slot(mbox, f.B.CreateSelect(present, p, f.B.getInt64(-1)));
}

// ---------------------------------------------------------------- sets

// A set is one word of bits: bit i holds process i (set<pid>), variant i
// (set<E>) or the int lo + i (set<lo..hi>).
Value* bit_index(F& f, const Expr& set, Value* element) { return f.set_bit_index(set.type, element); }

CValue lower_SetHas(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  Value* i = bit_index(f, *e.args[0], f.as_i64(f.emit(*e.args[1])));
  return f.scalar(e.type, f.bit_test(s, i, f.set_capacity(e.args[0]->type)));
}
CValue lower_SetSize(F& f, const Expr& e) {
  return f.scalar(e.type, f.B.CreateCall(f.ctpop(), {f.emit(*e.args[0]).v}));
}
CValue lower_SetIsEmpty(F& f, const Expr& e) {
  return f.scalar(e.type, f.B.CreateICmpEQ(f.emit(*e.args[0]).v, f.B.getInt64(0)));
}

// The bit of an element to add or remove; an int outside a range set is a
// range event (a pid outside 0..n-1 was reported by its conversion) and
// leaves the set as it is.
Value* member_bit(F& f, const Expr& e) {
  const Type* st = e.args[0]->type;
  Value* x = f.as_i64(f.emit(*e.args[1]));
  Value* i = f.set_bit_index(st, x);
  Value* cap = f.set_capacity(st);
  if (st->is(TypeKind::Set) && st->elem->is(TypeKind::Int))
    f.emit_if(f.B.CreateICmpUGE(i, cap),
              [&] { f.report_range_error(x, f.M.site(e.args[1]->range, "an element of " + type_name(st))); });
  return f.bit_of(i, cap);
}
CValue lower_SetWith(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  return f.scalar(e.type, f.B.CreateOr(s, member_bit(f, e)));
}
CValue lower_SetWithout(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  return f.scalar(e.type, f.B.CreateAnd(s, f.B.CreateNot(member_bit(f, e))));
}
CValue lower_SetUnion(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  return f.scalar(e.type, f.B.CreateOr(s, f.emit(*e.args[1]).v));
}
CValue lower_SetInter(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  return f.scalar(e.type, f.B.CreateAnd(s, f.emit(*e.args[1]).v));
}
CValue lower_SetMinus(F& f, const Expr& e) {
  Value* s = f.emit(*e.args[0]).v;
  return f.scalar(e.type, f.B.CreateAnd(s, f.B.CreateNot(f.emit(*e.args[1]).v)));
}

// The least / greatest member; the zero value of the element type when empty.
CValue set_extreme(F& f, const Expr& e, bool least) {
  auto& B = f.B;
  Value* s = f.emit(*e.args[0]).v;
  Value* empty = B.CreateICmpEQ(s, B.getInt64(0));
  Function* count = llvm::Intrinsic::getDeclaration(f.M.module.get(), least ? llvm::Intrinsic::cttz : llvm::Intrinsic::ctlz,
                                                    {f.i64});
  Value* zeros = B.CreateCall(count, {s, B.getTrue()});  // poison on 0: selected away below
  Value* bit = least ? zeros : B.CreateSub(B.getInt64(63), zeros);
  Value* safe = B.CreateSelect(empty, B.getInt64(0), bit);
  Value* element = f.set_element(e.args[0]->type, safe);
  return f.scalar(e.type, B.CreateSelect(empty, B.getInt64(0), element));
}
CValue lower_SetMin(F& f, const Expr& e) { return set_extreme(f, e, true); }
CValue lower_SetMax(F& f, const Expr& e) { return set_extreme(f, e, false); }

// ---------------------------------------------------------------- options

Value* option_tag(F& f, const CValue& o) { return f.B.CreateLoad(f.i64, o.ptr); }
Value* option_is_some(F& f, const CValue& o) { return f.B.CreateICmpNE(option_tag(f, o), f.B.getInt64(0)); }
CValue lower_OptIsSome(F& f, const Expr& e) { return f.scalar(e.type, option_is_some(f, f.emit(*e.args[0]))); }
CValue lower_OptIsNone(F& f, const Expr& e) {
  return f.scalar(e.type, f.B.CreateICmpEQ(option_tag(f, f.emit(*e.args[0])), f.B.getInt64(0)));
}

// none.get is the zero value: the payload of none is all zeros.
CValue lower_OptGet(F& f, const Expr& e) {
  CValue o = f.emit(*e.args[0]);
  return f.load(e.type, f.at(o.ptr, kOptionPayloadOffset));
}

CValue lower_OptGetOr(F& f, const Expr& e) {
  CValue o = f.emit(*e.args[0]);
  Value* some = option_is_some(f, o);
  CValue payload = f.load(e.type, f.at(o.ptr, kOptionPayloadOffset));
  CValue dflt = f.emit(*e.args[1]);
  if (is_word(e.type)) return f.scalar(e.type, f.B.CreateSelect(some, payload.v, dflt.v));
  if (is_composite(e.type)) return CValue{e.type, nullptr, f.B.CreateSelect(some, payload.ptr, dflt.ptr)};
  return CValue{e.type, nullptr, nullptr};
}

// ---------------------------------------------------------------- the rest

// p.x in a specification: x in p's state; a let is evaluated in p's state.
CValue lower_ProcField(F& f, const Expr& e) {
  Value* p = f.as_i64(f.emit(*e.args[0]));
  Value* st = f.state_of_process(f.states, p);
  const VarDecl& v = *e.decl;
  if (v.kind != VarKind::Let) return f.load(e.type, f.gep(st, f.byte_offset(v)));
  Value* saved_state = f.state;
  Value* saved_me = f.me;
  f.state = st;
  f.me = p;
  CValue r = f.own(f.emit(*v.init));
  f.state = saved_state;
  f.me = saved_me;
  return r;
}

// An int where a pid is expected: kept as it is, and reported when it names
// no process (docs/language.md §14.2); never reduced modulo n.
CValue lower_ToPid(F& f, const Expr& e) {
  Value* x = f.as_i64(f.emit(*e.args[0]));
  return f.scalar(e.type, f.checked_pid(x, f.M.site(e.range, e.what.empty() ? "a process id" : e.what)));
}

}  // namespace

Value* FunctionLowering::set_capacity(const Type* set) {
  if (set->is(TypeKind::PidSet)) return n;
  return B.getInt64(set->set_capacity());
}

Value* FunctionLowering::set_bit_index(const Type* set, Value* element) {
  if (set->is(TypeKind::Set) && set->elem->is(TypeKind::Int) && set->lo != 0)
    return B.CreateSub(element, B.getInt64(set->lo));
  return element;
}

Value* FunctionLowering::set_element(const Type* set, Value* bit) {
  if (set->is(TypeKind::Set) && set->elem->is(TypeKind::Int) && set->lo != 0)
    return B.CreateAdd(bit, B.getInt64(set->lo));
  return bit;
}

CValue FunctionLowering::lower_builtin(const Expr& e) {
  switch (e.builtin) {
#define PSYNC_BUILTIN(Name, Form, Spelling, Dump, Symmetry, Why) \
  case Builtin::Name: return lower_##Name(*this, e);
#include "ast/builtins.def"
    case Builtin::None: break;  // not a built-in: sema resolved it to a variable, a fn or a field
  }
  return zero_value(e.type);
}

}  // namespace psync::lower
