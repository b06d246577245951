// descriptor.cpp: the protocol-wide entry points (const_defaults, init,
// print_state) and the one exported symbol, the psync_protocol_desc constant
// of abi.h that drivers read everything else from.
#include "codegen/codegen.h"
#include "codegen/lower/lowering.h"
#include "sema/traits.h"

#include <functional>

namespace psync::lower {

// ---------------------------------------------------------------- printer

// print_state writes "name=value ..." with two small IR helpers, so that
// generated code needs no libc.
void ModuleLowering::make_print_helpers() {
  llvm::IRBuilder<> B(C);
  auto* helper_ty = llvm::FunctionType::get(B.getVoidTy(), {ptr, i64, ptr, i64}, false);
  // append_char(buf, cap, pos_ptr, c): stores c when it fits, counts it anyway.
  append_char = make_fn("psync.append_char", helper_ty);
  {
    Function* f = append_char;
    B.SetInsertPoint(BasicBlock::Create(C, "entry", f));
    Value* pos = B.CreateLoad(i64, f->getArg(2));
    BasicBlock* put = BasicBlock::Create(C, "put", f);
    BasicBlock* done = BasicBlock::Create(C, "done", f);
    B.CreateCondBr(B.CreateICmpULT(B.CreateAdd(pos, B.getInt64(1)), f->getArg(1)), put, done);
    B.SetInsertPoint(put);
    B.CreateStore(B.CreateTrunc(f->getArg(3), B.getInt8Ty()), B.CreateGEP(B.getInt8Ty(), f->getArg(0), pos));
    B.CreateBr(done);
    B.SetInsertPoint(done);
    B.CreateStore(B.CreateAdd(pos, B.getInt64(1)), f->getArg(2));
    B.CreateRetVoid();
  }
  // append_int(buf, cap, pos_ptr, v): decimal, with a sign.
  append_int = make_fn("psync.append_int", helper_ty);
  {
    Function* f = append_int;
    B.SetInsertPoint(BasicBlock::Create(C, "entry", f));
    Value* digits = B.CreateAlloca(B.getInt8Ty(), B.getInt64(24));
    Value* v = f->getArg(3);
    Value* neg = B.CreateICmpSLT(v, B.getInt64(0));
    BasicBlock* sign = BasicBlock::Create(C, "sign", f);
    BasicBlock* body = BasicBlock::Create(C, "body", f);
    B.CreateCondBr(neg, sign, body);
    B.SetInsertPoint(sign);
    B.CreateCall(append_char, {f->getArg(0), f->getArg(1), f->getArg(2), B.getInt64('-')});
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
    B.CreateStore(B.CreateTrunc(B.CreateAdd(d, B.getInt64('0')), B.getInt8Ty()),
                  B.CreateGEP(B.getInt8Ty(), digits, k));
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
    Value* ch = B.CreateZExt(B.CreateLoad(B.getInt8Ty(), B.CreateGEP(B.getInt8Ty(), digits, j2)), i64);
    B.CreateCall(append_char, {f->getArg(0), f->getArg(1), f->getArg(2), ch});
    j->addIncoming(j2, emit_loop);
    B.CreateCondBr(B.CreateICmpNE(j2, B.getInt64(0)), emit_loop, fin);
    B.SetInsertPoint(fin);
    B.CreateRetVoid();
  }
}

void FunctionLowering::print_text(const PrintTarget& t, const std::string& s) {
  for (char c : s) B.CreateCall(M.append_char, {t.buf, t.cap, t.pos, B.getInt64(static_cast<unsigned char>(c))});
}

void FunctionLowering::print_bool(const PrintTarget& t, Value* word) {
  Value* v = B.CreateICmpNE(word, B.getInt64(0));
  BasicBlock* yes = block("true");
  BasicBlock* no = block("false");
  BasicBlock* done = block("done");
  B.CreateCondBr(v, yes, no);
  B.SetInsertPoint(yes);
  print_text(t, "true");
  B.CreateBr(done);
  B.SetInsertPoint(no);
  print_text(t, "false");
  B.CreateBr(done);
  B.SetInsertPoint(done);
}

// An enum prints as its variant's name (a number outside the variants, which
// only a bad input could store, as the number).
void FunctionLowering::print_enum(const PrintTarget& t, const Type* ty, Value* word) {
  BasicBlock* done = block("enum.done");
  BasicBlock* other = block("enum.other");
  auto* sw = B.CreateSwitch(word, other, static_cast<unsigned>(ty->field_names.size()));
  for (size_t k = 0; k < ty->field_names.size(); ++k) {
    BasicBlock* bb = block("enum.name");
    sw->addCase(B.getInt64(static_cast<int64_t>(k)), bb);
    B.SetInsertPoint(bb);
    print_text(t, ty->field_names[k]);
    B.CreateBr(done);
  }
  B.SetInsertPoint(other);
  B.CreateCall(M.append_int, {t.buf, t.cap, t.pos, word});
  B.CreateBr(done);
  B.SetInsertPoint(done);
}

void FunctionLowering::print_value(const PrintTarget& t, const Type* ty, Value* p) {
  switch (ty->kind) {
    case TypeKind::Int:
    case TypeKind::Pid: B.CreateCall(M.append_int, {t.buf, t.cap, t.pos, B.CreateLoad(i64, p)}); break;
    case TypeKind::Bool: print_bool(t, B.CreateLoad(i64, p)); break;
    case TypeKind::Enum: print_enum(t, ty, B.CreateLoad(i64, p)); break;
    case TypeKind::Set:
    case TypeKind::PidSet: {
      // {a, b, ...}: the members in bit order; a set<E> prints variant names.
      const bool pids = ty->is(TypeKind::PidSet);
      Value* first = cell(B.getTrue(), "first");
      print_text(t, "{");
      for_each_bit(B.CreateLoad(i64, p), [&](Value* i) {
        emit_if(B.CreateNot(get(first, i1)), [&] { print_text(t, ", "); });
        B.CreateStore(B.getFalse(), first);
        Value* element = pids ? i : set_element(ty, i);
        if (!pids && ty->elem->is(TypeKind::Enum)) print_enum(t, ty->elem, element);
        else B.CreateCall(M.append_int, {t.buf, t.cap, t.pos, element});
      }, "bit", pids ? nullptr : set_capacity(ty));
      print_text(t, "}");
      break;
    }
    case TypeKind::Option: {
      Value* some = B.CreateICmpNE(B.CreateLoad(i64, p), B.getInt64(0));
      BasicBlock* yes = block("some");
      BasicBlock* no = block("none");
      BasicBlock* done = block("done");
      B.CreateCondBr(some, yes, no);
      B.SetInsertPoint(yes);
      print_text(t, "some(");
      print_value(t, ty->elem, at(p, kOptionPayloadOffset));
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
        print_value(t, ty->elems[k], gep(p, B.CreateShl(eval_poly(off, n), 3)));
        off = off + words_of(ty->elems[k]);
      }
      print_text(t, rec ? "}" : ")");
      break;
    }
    case TypeKind::Array: {
      print_text(t, "[");
      Value* esz = bytes_of(ty->elem);
      for_range(B.getInt64(0), n, [&](Value* i) {
        emit_if(B.CreateICmpNE(i, B.getInt64(0)), [&] { print_text(t, ","); });
        print_value(t, ty->elem, gep(p, B.CreateMul(i, esz)));
      });
      print_text(t, "]");
      break;
    }
    case TypeKind::Bytes:
      B.CreateCall(M.append_bytes_fn(), {t.buf, t.cap, t.pos, p, B.getInt64(ty->capacity)});
      break;
    default: print_text(t, "()"); break;
  }
}

// print_state(state, env, buf, cap): inputs, decided and the output, vars.
Function* ModuleLowering::lower_printer() {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::print_state)>(qualified("print_state"));
  FunctionLowering L(*this, fn, fn->getArg(1));
  auto& B = L.B;
  L.state = fn->getArg(0);
  FunctionLowering::PrintTarget t{fn->getArg(2), fn->getArg(3), L.cell(B.getInt64(0), "pos")};
  bool first = true;
  auto field_out = [&](const VarDecl& v) {
    L.print_text(t, (first ? "" : " ") + v.name + "=");
    first = false;
    L.print_value(t, v.type, L.gep(L.state, L.byte_offset(v)));
  };
  for (auto& v : prog.inputs) field_out(*v);
  if (!prog.outputs.empty()) {
    L.print_text(t, std::string(first ? "" : " ") + "decided=");
    first = false;
    L.print_bool(t, L.load_field(abi.ProcHeader, L.state, ProcHeaderField::decided));
    field_out(*prog.outputs[0]);
  }
  for (auto& v : prog.vars)
    if (present(*v)) field_out(*v);
  L.terminate_print(t);
  return fn;
}

// Ends a printer: NUL-terminates the text when it fits (cut at cap - 1
// otherwise) and returns the length it needed.
void FunctionLowering::terminate_print(const PrintTarget& t) {
  Value* pos = get(t.pos, i64);
  emit_if(B.CreateICmpUGT(t.cap, B.getInt64(0)), [&] {
    Value* end = B.CreateSelect(B.CreateICmpULT(pos, t.cap), pos, B.CreateSub(t.cap, B.getInt64(1)));
    B.CreateStore(B.getInt8(0), gep(t.buf, end));
  });
  B.CreateRet(B.CreateTrunc(pos, i32));
}

// ---------------------------------------------------------------- consts and init

// const_defaults(n, out): evaluates const initialisers in order; each may
// read the consts before it, through an env of its own (no process: me = 0,
// no hooks).
Function* ModuleLowering::lower_const_defaults() {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::const_defaults)>(qualified("const_defaults"));
  FunctionLowering L(*this, fn);
  auto& B = L.B;
  Value* env = B.CreateAlloca(abi.Env, nullptr, "env");
  B.CreateMemSet(env, B.getInt8(0), B.getInt64(sizeof(psync_env)), llvm::MaybeAlign(alignof(psync_env)));
  B.CreateStore(fn->getArg(0), L.field_ptr(abi.Env, env, EnvField::n));
  B.CreateStore(fn->getArg(1), L.field_ptr(abi.Env, env, EnvField::consts));
  L.env = env;
  L.n = B.CreateSExt(fn->getArg(0), i64);
  L.me = B.getInt64(0);
  L.consts = fn->getArg(1);
  L.begin_body();
  for (auto& c : prog.consts) {
    CValue v = c->init ? L.emit(*c->init) : L.zero_value(c->type);
    B.CreateStore(L.as_i64(v), B.CreateGEP(i64, L.consts, B.getInt64(c->index)));
  }
  B.CreateRetVoid();
  return fn;
}

// byzantine(env): `byzantine f`, f from env's n and consts (no process).
Function* ModuleLowering::lower_byzantine() {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::byzantine)>(qualified("byzantine"));
  FunctionLowering L(*this, fn, fn->getArg(0));
  L.B.CreateRet(L.as_i64(L.emit(*prog.byzantine[0].count)));
  return fn;
}

// init(state, env, inputs): inputs normalised to their type, then the vars'
// initialisers in order.
Function* ModuleLowering::lower_init() {
  Function* fn = hot(make_abi_fn<decltype(psync_protocol_desc::init)>(qualified("init")));
  FunctionLowering L(*this, fn, fn->getArg(1));
  auto& B = L.B;
  L.state = fn->getArg(0);
  for (size_t k = 0; k < prog.inputs.size(); ++k) {
    const VarDecl& v = *prog.inputs[k];
    Value* w = B.CreateLoad(i64, B.CreateGEP(i64, fn->getArg(2), B.getInt64(static_cast<int64_t>(k))));
    if (v.type->is(TypeKind::Bytes)) {  // w is the address of the driver's buffer (abi.h)
      L.store_bytes_input(v.type, L.gep(L.state, L.byte_offset(v)), w);
      continue;
    }
    if (v.type->is(TypeKind::Pid)) w = L.checked_pid(w, site(v.range, "pid input '" + v.name + "'"));
    if (v.type->is(TypeKind::Bool)) w = B.CreateZExt(B.CreateICmpNE(w, B.getInt64(0)), i64);
    if (v.type->is(TypeKind::PidSet)) w = B.CreateAnd(w, L.all_pids());  // only bits below n
    B.CreateStore(w, L.gep(L.state, L.byte_offset(v)));
  }
  for (auto& v : prog.vars)
    if (v->init && present(*v)) L.store(v->type, L.gep(L.state, L.byte_offset(*v)), L.emit(*v->init));
  B.CreateRetVoid();
  return fn;
}

// ---------------------------------------------------------------- pid constants

namespace {

// The largest constant the program converts to a pid (`send x to 4`,
// `mbox.has(4)`): a driver refuses n <= it, since the program names a
// process that does not exist (docs/language.md §14.2).
void largest_pid_constant(const Expr& e, int64_t& best, SourceRange& where) {
  if (e.builtin == Builtin::ToPid && e.args.size() == 1 && e.args[0]->kind == ExprKind::IntLit &&
      e.args[0]->int_value > best) {
    best = e.args[0]->int_value;
    where = e.args[0]->range;
  }
  for (auto& a : e.args) largest_pid_constant(*a, best, where);
  for (auto& a : e.arms)
    if (a.value) largest_pid_constant(*a.value, best, where);
}

template <typename Visit>
void each_expr_of(const std::vector<StmtPtr>& body, Visit visit) {
  for (auto& s : body) {
    if (s->var && s->var->init) visit(*s->var->init);
    for (const ExprPtr* e : {&s->cond, &s->range_end, &s->target, &s->value})
      if (*e) visit(**e);
    for (auto& a : s->args) visit(*a);
    for (auto& a : s->arms) each_expr_of(a.body, visit);
    each_expr_of(s->body, visit);
    each_expr_of(s->else_body, visit);
  }
}

}  // namespace

void ModuleLowering::find_max_pid_constant(int64_t& best, std::string& site_text) const {
  best = -1;
  SourceRange where;
  auto visit = [&](const Expr& e) { largest_pid_constant(e, best, where); };
  for (auto* list : {&prog.consts, &prog.vars, &prog.lets})
    for (auto& v : *list)
      if (v->init) visit(*v->init);
  for (auto& f : prog.fns) {
    if (f->body) visit(*f->body);
    each_expr_of(f->block, visit);
  }
  for (auto& r : prog.rounds) {
    for (auto& v : r.vars)
      if (v->init) visit(*v->init);
    for (auto& lp : r.send_loops) {
      visit(*lp.coll);
      if (lp.end) visit(*lp.end);
    }
    for (auto& s : r.sends) {
      visit(*s.value);
      if (s.dest_expr) visit(*s.dest_expr);
      if (s.guard) visit(*s.guard);
    }
    for (auto* h : {&r.update, &r.receive, &r.finish})
      if (*h) each_expr_of((*h)->body, visit);
    if (r.progress.go_when) visit(*r.progress.go_when);
    if (r.progress.timeout) visit(*r.progress.timeout);
  }
  for (auto& s : prog.specs) {
    if (s.pred) visit(*s.pred);
    if (s.body) visit(*s.body);
  }
  site_text.clear();
  if (best >= 0 && where.valid()) {
    const SourceFile& f = sources.file(where.file);
    LineCol lc = f.line_col(where.begin);
    site_text = f.name().substr(f.name().find_last_of('/') + 1) + ":" + std::to_string(lc.line) + ":" +
                std::to_string(lc.column);
  }
}

// ---------------------------------------------------------------- phase words

// phase_words(n, words, cap): the state words that hold phase values or
// ballots (sema/phase_order.cpp), as (byte offset << 1) | ballot, walking
// each variable's type in layout order; an array's elements one by one.
Function* ModuleLowering::lower_phase_words(const PhaseOrder& phases) {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::phase_words)>(qualified("phase_words"));
  FunctionLowering L(*this, fn);
  auto& B = L.B;
  L.n = B.CreateSExt(fn->getArg(0), i64);
  L.begin_body();
  Value* out = fn->getArg(1);
  Value* cap = B.CreateZExt(fn->getArg(2), i64);
  Value* count = L.cell(B.getInt64(0), "count");
  auto put = [&](Value* byte_offset, bool ballot) {
    Value* k = L.get(count, i64);
    Value* word = B.CreateOr(B.CreateShl(byte_offset, 1), B.getInt64(ballot ? 1 : 0));
    L.emit_if(B.CreateICmpULT(k, cap), [&] { B.CreateStore(B.CreateTrunc(word, i32), B.CreateGEP(i32, out, k)); });
    B.CreateStore(B.CreateAdd(k, B.getInt64(1)), count);
  };
  using Leaves = std::vector<PhaseOrder::Leaf>;
  // Visits the int-like words of t at byte `base`, numbering them from
  // `leaf` as int_leaf_count does.
  std::function<void(const Type*, Value*, int&, const Leaves&)> visit = [&](const Type* t, Value* base, int& leaf,
                                                                            const Leaves& wanted) {
    switch (t->kind) {
      case TypeKind::Int:
      case TypeKind::Pid:
        for (const PhaseOrder::Leaf& w : wanted)
          if (w.index == leaf) put(base, w.ballot);
        ++leaf;
        break;
      case TypeKind::Option: visit(t->elem, B.CreateAdd(base, B.getInt64(kOptionPayloadOffset)), leaf, wanted); break;
      case TypeKind::Tuple:
      case TypeKind::Record: {
        Poly off;
        for (const Type* e : t->elems) {
          visit(e, B.CreateAdd(base, B.CreateShl(L.eval_poly(off, L.n), 3)), leaf, wanted);
          off = off + words_of(e);
        }
        break;
      }
      case TypeKind::Array: {
        const int first = leaf;
        Value* esz = L.bytes_of(t->elem);
        L.for_range(B.getInt64(0), L.n, [&](Value* i) {
          int k = first;
          visit(t->elem, B.CreateAdd(base, B.CreateMul(i, esz)), k, wanted);
        });
        leaf = first + int_leaf_count(t->elem);
        break;
      }
      default: break;
    }
  };
  for (auto& [v, wanted] : phases.leaves) {
    if (!offsets.count(v)) continue;  // not in this layout (a model var without the model)
    int leaf = 0;
    visit(v->type, L.byte_offset(*v), leaf, wanted);
  }
  B.CreateRet(B.CreateTrunc(L.get(count, i64), i32));
  return fn;
}

// ---------------------------------------------------------------- word lists

namespace {

// The shape dead_words and stale_words share: (n, round, words, cap) ->
// count. A var is listed before `round` when its round mask has that round's
// bit (rounds 64 and on: none); its words are appended while they fit in cap,
// and the count of all of them is returned.
struct RoundWordList {
  FunctionLowering& L;
  llvm::IRBuilder<>& B;
  Value* out;
  Value* cap;
  Value* count;
  Value* in_mask;
  Value* shift;

  explicit RoundWordList(FunctionLowering& l) : L(l), B(l.B) {
    Function* fn = B.GetInsertBlock()->getParent();
    L.n = B.CreateSExt(fn->getArg(0), B.getInt64Ty());
    L.begin_body();
    Value* round = B.CreateZExt(fn->getArg(1), B.getInt64Ty());
    out = fn->getArg(2);
    cap = B.CreateZExt(fn->getArg(3), B.getInt64Ty());
    count = L.cell(B.getInt64(0), "count");
    in_mask = B.CreateICmpULT(round, B.getInt64(64));
    shift = B.CreateAnd(round, B.getInt64(63));
  }
  // Runs `body` when `mask` has the round's bit.
  template <typename Body>
  void if_round_in(uint64_t mask, Body body) {
    Value* bit = B.CreateAnd(B.CreateLShr(B.getInt64(static_cast<int64_t>(mask)), shift), B.getInt64(1));
    L.emit_if(B.CreateAnd(in_mask, B.CreateICmpNE(bit, B.getInt64(0))), body);
  }
  void append(Value* word) {
    Value* k = L.get(count, B.getInt64Ty());
    L.emit_if(B.CreateICmpULT(k, cap),
              [&] { B.CreateStore(B.CreateTrunc(word, B.getInt32Ty()), B.CreateGEP(B.getInt32Ty(), out, k)); });
    B.CreateStore(B.CreateAdd(k, B.getInt64(1)), count);
  }
  void finish() { B.CreateRet(B.CreateTrunc(L.get(count, B.getInt64Ty()), B.getInt32Ty())); }
};

}  // namespace

// stale_words(n, round, words, cap): the phase words whose stale values fold
// before `round` (sema/stale_phase.cpp), encoded as phase_words encodes
// them. Only whole int vars fold: one word each, at the var's offset.
Function* ModuleLowering::lower_stale_words(const PhaseOrder& phases) {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::stale_words)>(qualified("stale_words"));
  FunctionLowering L(*this, fn);
  auto& B = L.B;
  RoundWordList list(L);
  for (auto& [v, mask] : phases.stale.fold) {
    auto leaves = phases.leaves.find(v);
    if (!offsets.count(v) || leaves == phases.leaves.end() || leaves->second.size() != 1) continue;
    const bool ballot = leaves->second[0].ballot;
    list.if_round_in(mask, [&] {
      list.append(B.CreateOr(B.CreateShl(L.byte_offset(*v), 1), B.getInt64(ballot ? 1 : 0)));
    });
  }
  list.finish();
  return fn;
}

// dead_words(n, round, words, cap): the byte offsets of the state words that
// are dead at the boundary before `round` (sema/dead_state.cpp): every word
// of each var whose mask has that round's bit.
Function* ModuleLowering::lower_dead_words(const DeadState& dead) {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::dead_words)>(qualified("dead_words"));
  FunctionLowering L(*this, fn);
  auto& B = L.B;
  RoundWordList list(L);
  for (auto& [v, mask] : dead.dead) {
    if (!offsets.count(v)) continue;  // not in this layout (a model var without the model)
    list.if_round_in(mask, [&] {
      Value* base = L.byte_offset(*v);
      Value* words = B.CreateUDiv(L.bytes_of(v->type), B.getInt64(8));
      L.for_range(B.getInt64(0), words, [&](Value* j) { list.append(B.CreateAdd(base, B.CreateShl(j, 3))); });
    });
  }
  list.finish();
  return fn;
}

// ---------------------------------------------------------------- descriptor

void ModuleLowering::emit_descriptor(const std::vector<llvm::Constant*>& rounds,
                                     const std::vector<llvm::Constant*>& specs) {
  Function* state_size = size_fn(qualified("state_size"), state_words);
  Function* consts_fn = lower_const_defaults();
  Function* init = lower_init();
  Function* printer = lower_printer();

  auto field = [&](llvm::Constant* name, const Type* type, uint32_t offset) {
    AbiConstant<FieldField::num_fields> f(abi.Field);
    f[FieldField::name] = name;
    f[FieldField::kind] = llvm::ConstantInt::get(i32, type ? kind_of(type) : PSYNC_KIND_NONE);
    f[FieldField::offset] = llvm::ConstantInt::get(i32, offset);
    bool is_enum = type && type->is(TypeKind::Enum);
    f[FieldField::variants] = is_enum ? variant_names(type) : null_ptr();
    f[FieldField::num_variants] = llvm::ConstantInt::get(i32, is_enum ? type->field_names.size() : 0);
    f[FieldField::reserved] = llvm::ConstantInt::get(i32, 0);
    return f.get();
  };
  auto state_byte_offset = [&](const VarDecl& v) { return static_cast<uint32_t>(offsets.at(&v).c[0] * 8); };
  std::vector<llvm::Constant*> inputs, consts, output_vars;
  for (auto& v : prog.inputs) inputs.push_back(field(cstr(v->name), v->type, state_byte_offset(*v)));
  for (auto& v : prog.consts) consts.push_back(field(cstr(v->name), v->type, static_cast<uint32_t>(v->index)));
  // Output vars are one word each (sema), laid out before the other vars,
  // so their offsets are constants (layout_state).
  for (auto& v : prog.vars)
    if (v->output) output_vars.push_back(field(cstr(v->name), v->type, state_byte_offset(*v)));
  llvm::Constant* output = prog.outputs.empty()
                               ? field(null_ptr(), nullptr, 0)
                               : field(cstr(prog.outputs[0]->name), prog.outputs[0]->type,
                                       state_byte_offset(*prog.outputs[0]));
  int64_t max_pid = -1;
  std::string max_pid_site;
  find_max_pid_constant(max_pid, max_pid_site);
  // The model's state layout differs from the replica's: its fingerprint
  // must differ too, so that nothing mistakes one for the other.
  uint64_t fingerprint = program_fingerprint(sources);
  if (with_model()) fingerprint = (fingerprint ^ 0x6d6f64656cull) * 1099511628211ull;  // FNV step over "model"

  auto u32 = [&](size_t v) { return llvm::ConstantInt::get(i32, static_cast<uint32_t>(v)); };
  AbiConstant<ProtocolField::num_fields> d(abi.Protocol);
  d[ProtocolField::abi_version] = u32(PSYNC_ABI_VERSION);
  d[ProtocolField::num_rounds] = u32(rounds.size());
  d[ProtocolField::name] = cstr(prog.name);
  d[ProtocolField::fingerprint] = llvm::ConstantInt::get(i64, fingerprint);
  d[ProtocolField::rounds] = array_global(abi.Round, rounds, "psync.rounds");
  d[ProtocolField::num_inputs] = u32(inputs.size());
  d[ProtocolField::num_consts] = u32(consts.size());
  d[ProtocolField::inputs] = array_global(abi.Field, inputs, "psync.inputs");
  d[ProtocolField::consts] = array_global(abi.Field, consts, "psync.consts");
  d[ProtocolField::output] = output;
  d[ProtocolField::num_specs] = u32(specs.size());
  d[ProtocolField::reserved] = u32(0);
  d[ProtocolField::specs] = array_global(abi.Spec, specs, "psync.specs");
  d[ProtocolField::state_size] = state_size;
  d[ProtocolField::const_defaults] = consts_fn;
  d[ProtocolField::init] = init;
  d[ProtocolField::print_state] = printer;
  d[ProtocolField::num_output_vars] = u32(output_vars.size());
  d[ProtocolField::flags] = u32(with_model() ? PSYNC_PROTO_MODEL : 0);
  d[ProtocolField::output_vars] = array_global(abi.Field, output_vars, "psync.output_vars");
  d[ProtocolField::max_pid_constant] = llvm::ConstantInt::get(i64, max_pid);
  d[ProtocolField::max_pid_constant_site] = max_pid >= 0 ? cstr(max_pid_site) : null_ptr();
  std::vector<llvm::Constant*> input_types;
  for (auto& v : prog.inputs) input_types.push_back(type_description(v->type));
  if (input_types.empty()) {
    d[ProtocolField::input_types] = null_ptr();
  } else {
    auto* aty = llvm::ArrayType::get(ptr, input_types.size());
    d[ProtocolField::input_types] = new llvm::GlobalVariable(*module, aty, true, llvm::GlobalValue::InternalLinkage,
                                                             llvm::ConstantArray::get(aty, input_types),
                                                             "psync.input_types");
  }
  d[ProtocolField::output_type] = prog.outputs.empty() ? null_ptr() : type_description(prog.outputs[0]->type);
  const PhaseOrder phases = analyze_phase_order(prog, sources);
  d[ProtocolField::phase_words] = phases.applies ? lower_phase_words(phases) : null_ptr();
  d[ProtocolField::phase_window] = u32(phases.applies ? static_cast<size_t>(phases.window) : 0);
  d[ProtocolField::phase_modulus] = u32(phases.applies ? static_cast<size_t>(phases.modulus) : 1);
  d[ProtocolField::phase_flags] = u32(phases.applies && phases.modulo_n ? PSYNC_PHASE_MOD_N : 0);
  d[ProtocolField::reserved5] = u32(0);
  d[ProtocolField::byzantine] = prog.byzantine.empty() ? null_ptr() : lower_byzantine();
  const DeadState dead = analyze_dead_state(prog);
  d[ProtocolField::dead_words] = dead.dead.empty() ? null_ptr() : lower_dead_words(dead);
  d[ProtocolField::stale_words] = phases.applies && !phases.stale.fold.empty() ? lower_stale_words(phases) : null_ptr();
  d[ProtocolField::stale_flags] = u32(phases.applies && phases.stale.whole_ballots ? PSYNC_STALE_WHOLE_BALLOTS : 0);
  d[ProtocolField::reserved9] = u32(0);
  auto* g = new llvm::GlobalVariable(*module, abi.Protocol, true, llvm::GlobalValue::ExternalLinkage, d.get(),
                                     PSYNC_DESCRIPTOR_SYMBOL);
  g->setAlignment(llvm::Align(alignof(psync_protocol_desc)));
}

}  // namespace psync::lower
