// expressions.cpp: lowering of expressions: literals, variables and places,
// aggregates, operators, quantifiers and calls of user fns. Built-in names and
// operations go to lower_builtin (builtins.cpp).
//
// Arithmetic contract (docs/language.md §14): + - * wrap on overflow; a / 0 == 0
// and a % 0 == a; INT64_MIN / -1 == INT64_MIN; % truncates as in C; shifts
// are defined for every count (FunctionLowering::shift).
#include "codegen/lower/lowering.h"

namespace psync::lower {

CValue FunctionLowering::own(const CValue& v) {
  return is_composite(v.type) ? CValue{v.type, nullptr, spill(v)} : v;
}

CValue FunctionLowering::apply(const Expr& lambda, std::vector<CValue> args) {
  for (size_t k = 0; k < lambda.params.size() && k < args.size(); ++k) bound[lambda.params[k].get()] = args[k];
  return emit(*lambda.args[0]);
}

CValue FunctionLowering::read_var(const VarDecl& v) {
  switch (v.kind) {
    case VarKind::Const: return load(v.type, B.CreateGEP(i64, consts, B.getInt64(v.index)));
    case VarKind::Input:
    case VarKind::Output:
    case VarKind::Var:
    case VarKind::RoundVar: return load(v.type, gep(state, byte_offset(v)));
    case VarKind::Let: return emit(*v.init);
    case VarKind::Variant: return scalar(v.type, B.getInt64(v.index));
    case VarKind::Local:
    case VarKind::LoopVar: {
      auto it = locals.find(&v);
      if (it != locals.end()) return load(v.type, it->second);
      auto b = bound.find(&v);
      if (b != bound.end()) return b->second;
      break;
    }
    default: {
      auto it = bound.find(&v);
      if (it != bound.end()) return it->second;
      break;
    }
  }
  return zero_value(v.type);
}

Value* FunctionLowering::place(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Name: {
      const VarDecl& v = *e.decl;
      if (v.kind == VarKind::Local || v.kind == VarKind::LoopVar) return locals.at(&v);
      return gep(state, byte_offset(v));
    }
    case ExprKind::Index: {
      Value* base = place(*e.args[0]);
      Value* p = as_i64(emit(*e.args[1]));
      Value* ok = B.CreateICmpULT(p, n);
      Value* idx = B.CreateSelect(ok, p, B.getInt64(0));
      // An index that names no process writes to a scratch value, not to
      // the array (its conversion was reported as a range error).
      return B.CreateSelect(ok, gep(base, B.CreateMul(idx, bytes_of(e.type))), temp(e.type, "scratch"));
    }
    case ExprKind::TupleIndex:
    case ExprKind::Member: {
      const Type* agg = e.args[0]->type;
      Value* base = place(*e.args[0]);
      Poly off;
      for (int64_t k = 0; k < e.int_value; ++k) off = off + words_of(agg->elems[k]);
      return gep(base, B.CreateShl(eval_poly(off, n), 3));
    }
    default: break;
  }
  return temp(e.type);
}

CValue FunctionLowering::field(const CValue& agg, int64_t k) {
  Poly off;
  for (int64_t j = 0; j < k; ++j) off = off + words_of(agg.type->elems[j]);
  return load(agg.type->elems[k], gep(agg.ptr, B.CreateShl(eval_poly(off, n), 3)));
}

CValue FunctionLowering::emit(const Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: return scalar(e.type, B.getInt64(e.int_value));
    case ExprKind::BoolLit: return scalar(e.type, B.getInt1(e.bool_value));
    case ExprKind::UnitLit: return CValue{e.type, nullptr, nullptr};
    case ExprKind::NoneLit: return CValue{e.type, nullptr, zero_fill(e.type)};
    case ExprKind::Some: {
      Value* p = temp(e.type, "some");
      B.CreateStore(B.getInt64(1), p);
      store(e.type->elem, at(p, kOptionPayloadOffset), emit(*e.args[0]));
      return CValue{e.type, nullptr, p};
    }
    case ExprKind::Name: return emit_name(e);
    case ExprKind::Call: return emit_call(e);
    case ExprKind::Member:
      if (e.builtin == Builtin::None) return field(emit(*e.args[0]), e.int_value);  // record field
      return lower_builtin(e);
    case ExprKind::TupleIndex: return field(emit(*e.args[0]), e.int_value);
    case ExprKind::Index: return emit_index(e);
    case ExprKind::Unary: {
      CValue a = emit(*e.args[0]);
      if (e.unary_op == UnaryOp::Not) return scalar(e.type, B.CreateNot(a.v));
      if (e.unary_op == UnaryOp::BitNot) return scalar(e.type, B.CreateNot(as_i64(a)));
      return scalar(e.type, B.CreateSub(B.getInt64(0), as_i64(a)));
    }
    case ExprKind::Match: {
      // The arms' values meet in one slot; an arm with no variant (a `_`
      // after full coverage, rejected by sema) is never taken.
      Value* v = as_i64(emit(*e.args[0]));
      bool word = is_word(e.type);
      Value* slot = word ? cell(e.type->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0), "match")
                         : is_composite(e.type) ? zero_fill(e.type) : nullptr;
      emit_match(v, e.arms, [&](size_t k) {
        CValue a = emit(*e.arms[k].value);
        if (word) B.CreateStore(e.type->is(TypeKind::Bool) ? a.v : as_i64(a), slot);
        else if (slot) store(e.type, slot, a);
      });
      if (word) return scalar(e.type, get(slot, e.type->is(TypeKind::Bool) ? (llvm::Type*)i1 : (llvm::Type*)i64));
      return CValue{e.type, nullptr, slot};
    }
    case ExprKind::Binary: return emit_binary(e);
    case ExprKind::Cond: return emit_cond(e);
    case ExprKind::Quant:
      // forall: all processes satisfy the body; exists: some process does.
      return scalar(e.type, quantify(e, 0, e.bool_value));
    case ExprKind::Tuple:
    case ExprKind::Record:
    case ExprKind::ArrayFill: return emit_aggregate(e);
    case ExprKind::Old: {
      Value* saved = states;
      states = old_states;
      CValue v = own(emit(*e.args[0]));
      states = saved;
      return v;
    }
    case ExprKind::StringLit: return emit_string_literal(e);
    case ExprKind::Lambda:  // only through apply()
    case ExprKind::Error:   // sema rejected the program
      break;
  }
  return CValue{e.type, nullptr, nullptr};
}

CValue FunctionLowering::emit_name(const Expr& e) {
  if (e.decl) return read_var(*e.decl);
  return lower_builtin(e);
}

CValue FunctionLowering::emit_call(const Expr& e) {
  if (!e.fn) return lower_builtin(e);
  // fn f(env, state, args..., out) -> i64: words by value, composites by
  // pointer; a composite result is written to `out` (rounds.cpp declares
  // them). `state` is the caller's process, for range-error reports only;
  // NULL from a specification or a const.
  std::vector<Value*> args{env, state && !states ? state : static_cast<Value*>(M.null_ptr())};
  for (size_t k = 0; k < e.args.size(); ++k) {
    CValue a = emit(*e.args[k]);
    const Type* pt = e.fn->params[k]->type;
    args.push_back(is_word(pt) ? as_i64(a) : is_composite(pt) ? spill(a) : (Value*)M.null_ptr());
  }
  const Type* rt = e.fn->result_type;
  Value* out = nullptr;
  if (is_composite(rt)) {
    out = temp(rt, "ret");
    args.push_back(out);
  } else {
    args.push_back(M.null_ptr());
  }
  Value* r = B.CreateCall(M.fns.at(e.fn), args);
  if (is_composite(rt)) return CValue{rt, nullptr, out};
  if (rt->is(TypeKind::Bool)) return scalar(rt, B.CreateICmpNE(r, B.getInt64(0)));
  return scalar(rt, r);
}

CValue FunctionLowering::emit_index(const Expr& e) {
  if (e.builtin == Builtin::MboxGet) return lower_builtin(e);
  // Array: an index outside 0..n-1 reads the zero value.
  CValue base = emit(*e.args[0]);
  Value* p = as_i64(emit(*e.args[1]));
  Value* ok = B.CreateICmpULT(p, n);
  Value* idx = B.CreateSelect(ok, p, B.getInt64(0));
  CValue elem = load(e.type, gep(base.ptr, B.CreateMul(idx, bytes_of(e.type))));
  if (is_word(e.type)) {
    Value* zero = e.type->is(TypeKind::Bool) ? (Value*)B.getFalse() : (Value*)B.getInt64(0);
    return scalar(e.type, B.CreateSelect(ok, elem.v, zero));
  }
  return CValue{e.type, nullptr, B.CreateSelect(ok, elem.ptr, zero_fill(e.type))};
}

CValue FunctionLowering::emit_cond(const Expr& e) {
  Value* c = emit(*e.args[0]).v;
  BasicBlock* a_bb = block("cond.a");
  BasicBlock* b_bb = block("cond.b");
  BasicBlock* done = block("cond.end");
  B.CreateCondBr(c, a_bb, b_bb);
  B.SetInsertPoint(a_bb);
  CValue a = own(emit(*e.args[1]));
  BasicBlock* a_end = B.GetInsertBlock();
  B.CreateBr(done);
  B.SetInsertPoint(b_bb);
  CValue b = own(emit(*e.args[2]));
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

CValue FunctionLowering::emit_aggregate(const Expr& e) {
  if (e.kind == ExprKind::ArrayFill) {
    Value* p = temp(e.type, "array");
    CValue v = emit(*e.args[0]);
    Value* esz = bytes_of(e.type->elem);
    for_range(B.getInt64(0), n, [&](Value* i) { store(e.type->elem, gep(p, B.CreateMul(i, esz)), v); });
    return CValue{e.type, nullptr, p};
  }
  // Tuple or record: the fields in order (sema put record literals in the
  // type's field order).
  Value* p = temp(e.type, "agg");
  Poly off;
  for (size_t k = 0; k < e.args.size(); ++k) {
    store(e.type->elems[k], gep(p, B.CreateShl(eval_poly(off, n), 3)), emit(*e.args[k]));
    off = off + words_of(e.type->elems[k]);
  }
  return CValue{e.type, nullptr, p};
}

// Nested loops over the bound processes of a quantifier.
Value* FunctionLowering::quantify(const Expr& e, size_t k, bool forall) {
  if (k == e.params.size()) return emit(*e.args[0]).v;
  Value* acc = cell(B.getInt1(forall), forall ? "forall" : "exists");
  for_range(B.getInt64(0), n, [&](Value* p) {
    auto body = [&] {
      bound[e.params[k].get()] = scalar(e.params[k]->type, p);
      Value* inner = quantify(e, k + 1, forall);
      B.CreateStore(forall ? B.CreateAnd(get(acc, i1), inner) : B.CreateOr(get(acc, i1), inner), acc);
    };
    // Specs speak of correct processes only (docs/language.md §13.7).
    if (Value* ok = correct_process(p)) emit_if(ok, body);
    else body();
  }, forall ? "forall" : "exists");
  return get(acc, i1);
}

Value* FunctionLowering::correct_process(Value* p) {
  if (M.prog.byzantine.empty() || !states) return nullptr;
  Value* halted = load_field(M.abi.ProcHeader, state_of_process(states, p), ProcHeaderField::halted);
  return B.CreateICmpNE(halted, B.getInt64(PSYNC_HALTED_FAULTY));
}

CValue FunctionLowering::emit_binary(const Expr& e) {
  BinaryOp op = e.binary_op;
  if (op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Implies) {
    // Short-circuit evaluation.
    Value* a = emit(*e.args[0]).v;
    BasicBlock* rhs = block("sc.rhs");
    BasicBlock* done = block("sc.end");
    BasicBlock* lhs_end = B.GetInsertBlock();
    if (op == BinaryOp::Or) B.CreateCondBr(a, done, rhs);
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
    CValue a = own(emit(*e.args[0]));
    CValue b = emit(*e.args[1]);
    b.type = a.type;
    Value* eq = (a.type->is(TypeKind::Unit)) ? (Value*)B.getTrue() : equal(a, b);
    return scalar(e.type, op == BinaryOp::Eq ? eq : B.CreateNot(eq));
  }
  if (e.args[0]->type->is(TypeKind::Bytes)) {
    // Ordered bytes (sema made both operands one bytes<K>): a > b is b < a.
    CValue a = own(emit(*e.args[0]));
    CValue b = emit(*e.args[1]);
    bool swap = op == BinaryOp::Gt || op == BinaryOp::Le;
    Value* lt = swap ? less(b, a) : less(a, b);
    return scalar(e.type, op == BinaryOp::Lt || op == BinaryOp::Gt ? lt : B.CreateNot(lt));
  }
  Value* a = as_i64(emit(*e.args[0]));
  Value* b = as_i64(emit(*e.args[1]));
  switch (op) {
    case BinaryOp::BitAnd: return scalar(e.type, B.CreateAnd(a, b));
    case BinaryOp::BitOr: return scalar(e.type, B.CreateOr(a, b));
    case BinaryOp::BitXor: return scalar(e.type, B.CreateXor(a, b));
    case BinaryOp::Shl: return scalar(e.type, shift(a, b, true));
    case BinaryOp::Shr: return scalar(e.type, shift(a, b, false));
    case BinaryOp::Add: return scalar(e.type, B.CreateAdd(a, b));
    case BinaryOp::Sub: return scalar(e.type, B.CreateSub(a, b));
    case BinaryOp::Mul: return scalar(e.type, B.CreateMul(a, b));
    case BinaryOp::Div: return scalar(e.type, divide(a, b, false));
    case BinaryOp::Mod: return scalar(e.type, divide(a, b, true));
    case BinaryOp::Lt: return scalar(e.type, B.CreateICmpSLT(a, b));
    case BinaryOp::Le: return scalar(e.type, B.CreateICmpSLE(a, b));
    case BinaryOp::Gt: return scalar(e.type, B.CreateICmpSGT(a, b));
    case BinaryOp::Ge: return scalar(e.type, B.CreateICmpSGE(a, b));
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::And:
    case BinaryOp::Or:
    case BinaryOp::Implies: break;  // handled above
  }
  return zero_value(e.type);
}

}  // namespace psync::lower
