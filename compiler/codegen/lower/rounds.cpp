// rounds.cpp: lowering of statements, and of the functions built from them:
// user fns, each round's entry points (msg_size, send, update or
// receive/finish, go_when) and each specification's evaluators, returned as
// the psync_round_desc / psync_spec_desc constants of the descriptor.
#include "codegen/lower/lowering.h"

#include <functional>

#include "sema/predicate_shape.h"

namespace psync::lower {

// ---------------------------------------------------------------- statements

void FunctionLowering::emit_block(const std::vector<StmtPtr>& body) {
  for (auto& s : body) emit_stmt(*s);
}

void FunctionLowering::emit_stmt(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::LocalVar: {
      CValue v = emit(*s.var->init);
      if (s.var->type->is(TypeKind::Mailbox)) {
        // `let m = mbox.filter(...)`: a (presence, base) pair, nothing to store.
        bound[s.var.get()] = v;
        break;
      }
      Value* slot_ptr = temp(s.var->type, s.var->name.c_str());
      store(s.var->type, slot_ptr, v);
      locals[s.var.get()] = slot_ptr;
      break;
    }
    case StmtKind::If: {
      Value* c = emit(*s.cond).v;
      BasicBlock* then_bb = block("then");
      BasicBlock* else_bb = block("else");
      BasicBlock* done = block("endif");
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
      locals[s.var.get()] = var;
      auto body = [&](Value* i) {
        B.CreateStore(i, var);
        emit_block(s.body);
      };
      if (s.range_end) {
        Value* lo = as_i64(emit(*s.cond));
        Value* hi = as_i64(emit(*s.range_end));
        for_range(lo, hi, body, "for");
      } else if (s.cond->type->is(TypeKind::Set)) {
        const Type* st = s.cond->type;
        for_each_bit(emit(*s.cond).v, [&](Value* i) { body(set_element(st, i)); }, "for", set_capacity(st));
      } else {
        for_each_bit(emit(*s.cond).v, body, "for");
      }
      break;
    }
    case StmtKind::Match: {
      Value* v = as_i64(emit(*s.cond));
      emit_match(v, s.arms, [&](size_t k) { emit_block(s.arms[k].body); });
      break;
    }
    case StmtKind::Return: {
      CValue v = emit(*s.value);
      if (is_word(ret_type)) B.CreateStore(as_i64(v), ret_slot);
      else if (is_composite(ret_type)) store(ret_type, ret_slot, v);
      B.CreateBr(ret_block);
      B.SetInsertPoint(block("after.return"));  // dead code after return still needs a block
      break;
    }
    case StmtKind::Log: emit_log(s); break;
    case StmtKind::Model:
      if (M.with_model()) emit_block(s.body);  // a replica never runs model code
      break;
    case StmtKind::Decide: emit_decide(s); break;
    case StmtKind::Halt:
      B.CreateStore(B.getInt64(1), field_ptr(M.abi.ProcHeader, state, ProcHeaderField::halted));
      break;
    case StmtKind::Go:
      if (go_flag) B.CreateStore(B.getTrue(), go_flag);
      break;
    case StmtKind::Assign: emit_assign(s); break;
    case StmtKind::ExprStmt: emit(*s.value); break;
    case StmtKind::Block: emit_block(s.body); break;
  }
}

void FunctionLowering::emit_assign(const Stmt& s) {
  const Type* t = s.target->type;
  CValue v = emit(*s.value);
  if (is_composite(t)) v = CValue{t, nullptr, spill(v)};  // the right side may alias the target
  Value* p = place(*s.target);
  if (s.assign_op == AssignOp::Set) {
    store(t, p, v);
    return;
  }
  Value* cur = B.CreateLoad(i64, p);
  Value* rhs = as_i64(v);
  Value* res = nullptr;
  switch (s.assign_op) {
    case AssignOp::Add: res = B.CreateAdd(cur, rhs); break;
    case AssignOp::Sub: res = B.CreateSub(cur, rhs); break;
    case AssignOp::Mul: res = B.CreateMul(cur, rhs); break;
    case AssignOp::BitAnd: res = B.CreateAnd(cur, rhs); break;
    case AssignOp::BitOr: res = B.CreateOr(cur, rhs); break;
    case AssignOp::BitXor: res = B.CreateXor(cur, rhs); break;
    case AssignOp::Shl: res = shift(cur, rhs, true); break;
    case AssignOp::Shr: res = shift(cur, rhs, false); break;
    case AssignOp::Set: break;
  }
  if (t->is(TypeKind::Pid)) res = checked_pid(res, M.site(s.range, "the result of a compound assignment to a pid"));
  B.CreateStore(res, p);
}

// log "fmt", args: the line is formatted into a buffer on the stack (values
// as print_state prints them; longer lines are cut at kLogLine bytes) and
// handed to the optional log hook.
void FunctionLowering::emit_log(const Stmt& s) {
  constexpr int64_t kLogLine = 512;
  llvm::IRBuilder<> eb(alloca_point());
  Value* buf = eb.CreateAlloca(B.getInt8Ty(), eb.getInt64(kLogLine), "logbuf");
  PrintTarget t{buf, B.getInt64(kLogLine), cell(B.getInt64(0), "logpos")};
  std::string lit;
  size_t arg = 0;
  const std::string& f = s.text;
  for (size_t i = 0; i < f.size(); ++i) {
    if ((f[i] == '{' || f[i] == '}') && i + 1 < f.size() && f[i + 1] == f[i]) {
      lit += f[i++];
    } else if (f[i] == '{' && i + 1 < f.size() && f[i + 1] == '}' && arg < s.args.size()) {
      print_text(t, lit);
      lit.clear();
      const Expr& a = *s.args[arg++];
      CValue v = emit(a);
      if (is_word(a.type)) print_value(t, a.type, spill(v));
      else if (is_composite(a.type)) print_value(t, a.type, v.ptr);
      else print_text(t, "()");
      ++i;
    } else {
      lit += f[i];
    }
  }
  print_text(t, lit);
  Value* len = B.CreateSelect(B.CreateICmpULT(get(t.pos, i64), t.cap), get(t.pos, i64), t.cap);
  Value* hooks = load_field(M.abi.Env, env, EnvField::hooks, "hooks");
  emit_if(B.CreateICmpNE(hooks, M.null_ptr()), [&] {
    Value* fnp = load_field(M.abi.Hooks, hooks, HooksField::log);
    emit_if(B.CreateICmpNE(fnp, M.null_ptr()), [&] {
      Value* self = load_field(M.abi.Hooks, hooks, HooksField::self);
      B.CreateCall(llvm_fn_type<decltype(psync_hooks::log)>(C, M.abi), fnp, {self, env, buf, len});
    });
  });
}

// The first decide writes the output and header.decided, then notifies the
// driver; a later, different value sets header.conflict and notifies it.
void FunctionLowering::emit_decide(const Stmt& s) {
  const VarDecl& out = *M.prog.outputs.at(0);
  CValue v = emit(*s.value);
  Value* out_ptr = gep(state, byte_offset(out));
  Value* decided_ptr = field_ptr(M.abi.ProcHeader, state, ProcHeaderField::decided);
  Value* decided = B.CreateICmpNE(B.CreateLoad(i64, decided_ptr), B.getInt64(0));
  BasicBlock* first = block("decide.first");
  BasicBlock* again = block("decide.again");
  BasicBlock* done = block("decide.end");
  B.CreateCondBr(decided, again, first);
  B.SetInsertPoint(first);
  store(out.type, out_ptr, v);
  B.CreateStore(B.getInt64(1), decided_ptr);
  call_notification(HooksField::decided);
  B.CreateBr(done);
  B.SetInsertPoint(again);
  Value* same = equal(load(out.type, out_ptr), v);  // outputs may be composite
  emit_if(B.CreateNot(same), [&] {
    B.CreateStore(B.getInt64(1), field_ptr(M.abi.ProcHeader, state, ProcHeaderField::conflict));
    call_notification(HooksField::conflict);
  });
  B.CreateBr(done);
  B.SetInsertPoint(done);
}

// hooks->decided or hooks->conflict: optional notifications (abi.h), called
// only when the driver set them. env->hooks may itself be NULL in a
// protocol without coin() and random(k).
void FunctionLowering::call_notification(unsigned hook_field) {
  Value* hooks = load_field(M.abi.Env, env, EnvField::hooks, "hooks");
  emit_if(B.CreateICmpNE(hooks, M.null_ptr()), [&] {
    Value* fnp = load_field(M.abi.Hooks, hooks, hook_field);
    emit_if(B.CreateICmpNE(fnp, M.null_ptr()), [&] {
      Value* self = load_field(M.abi.Hooks, hooks, HooksField::self);
      B.CreateCall(llvm_fn_type<decltype(psync_hooks::decided)>(C, M.abi), fnp, {self, env, state});
    });
  });
}
static_assert(std::is_same_v<decltype(psync_hooks::decided), decltype(psync_hooks::conflict)>,
              "call_notification calls both notifications with one signature");

void FunctionLowering::reset_round_vars(const Round& r) {
  for (auto& v : r.vars) {
    Value* p = gep(state, byte_offset(*v));
    if (v->init) store(v->type, p, emit(*v->init));
    else B.CreateMemSet(p, B.getInt8(0), bytes_of(v->type), llvm::MaybeAlign(8));
  }
}

// Round-local variables are dead once the round ends; zeroing them keeps
// states that differ only in dead values equal (the checker's state space).
void FunctionLowering::clear_round_vars(const Round& r) {
  for (auto& v : r.vars)
    B.CreateMemSet(gep(state, byte_offset(*v)), B.getInt8(0), bytes_of(v->type), llvm::MaybeAlign(8));
}

// ---------------------------------------------------------------- fns

// fn f(env, state, args..., out) -> i64: words by value, composites by
// pointer; a composite result is written to `out`. `state` (maybe NULL) is
// the calling process, for range-error reports.
void ModuleLowering::declare_fns() {
  for (auto& f : prog.fns) {
    std::vector<llvm::Type*> args{ptr, ptr};
    for (auto& p : f->params) args.push_back(is_word(p->type) ? (llvm::Type*)i64 : (llvm::Type*)ptr);
    args.push_back(ptr);
    fns[f.get()] = hot(make_fn(qualified("fn", f->name), llvm::FunctionType::get(i64, args, false)));
  }
}

void ModuleLowering::lower_fn(const FnDecl& f) {
  Function* fn = fns.at(&f);
  FunctionLowering L(*this, fn, fn->getArg(0));
  L.state = fn->getArg(1);
  const unsigned first = 2;
  for (size_t k = 0; k < f.params.size(); ++k) {
    const Type* t = f.params[k]->type;
    Value* a = fn->getArg(static_cast<unsigned>(k + first));
    if (is_word(t))
      L.bound[f.params[k].get()] = L.scalar(t, t->is(TypeKind::Bool) ? L.B.CreateICmpNE(a, L.B.getInt64(0)) : a);
    else
      L.bound[f.params[k].get()] = CValue{t, nullptr, a};
  }
  const Type* rt = f.result_type;
  Value* out = fn->getArg(static_cast<unsigned>(f.params.size() + first));
  if (!f.has_block) {
    CValue r = L.emit(*f.body);
    if (is_word(rt)) {
      L.B.CreateRet(L.as_i64(r));
      return;
    }
    if (is_composite(rt)) L.store(rt, out, r);
    L.B.CreateRet(L.B.getInt64(0));
    return;
  }
  // A block body: `return` stores into ret_slot and jumps to ret_block.
  L.ret_type = rt;
  L.ret_slot = is_word(rt) ? L.cell(L.B.getInt64(0), "ret") : is_composite(rt) ? out : nullptr;
  if (is_composite(rt)) L.B.CreateMemSet(out, L.B.getInt8(0), L.bytes_of(rt), llvm::MaybeAlign(8));
  L.ret_block = L.block("return");
  L.emit_block(f.block);
  L.B.CreateBr(L.ret_block);  // unreachable when every path returns (sema checks)
  L.B.SetInsertPoint(L.ret_block);
  L.B.CreateRet(is_word(rt) ? L.get(L.ret_slot, i64) : L.B.getInt64(0));
}

// ---------------------------------------------------------------- rounds

llvm::Constant* ModuleLowering::lower_round(const Round& r) {
  using RoundDesc = psync_round_desc;
  const Type* msg = r.message_type;
  Function* msz = size_fn(qualified(r.name, "msg_size"), words_of(msg));

  // send(state, env, outbox)
  Function* send = hot(make_abi_fn<decltype(RoundDesc::send)>(qualified(r.name, "send")));
  {
    FunctionLowering L(*this, send, send->getArg(1));
    auto& B = L.B;
    L.state = send->getArg(0);
    Value* outbox = send->getArg(2);
    L.reset_round_vars(r);
    // One send: guard first, then the value, then the destinations; a later
    // send to the same destination overwrites the slot (last one wins).
    auto emit_send = [&](const Send& s) {
      auto add_dests = [&](Value* dests) {
        B.CreateStore(B.CreateOr(B.CreateLoad(i64, outbox), dests), outbox);
      };
      auto do_send = [&] {
        CValue v = L.own(L.emit(*s.value));
        auto write_slot = [&](Value* i) { L.store(msg, L.slot(msg, outbox, i), v); };
        if (s.dest == DestKind::All) {
          add_dests(L.all_pids());
          L.for_range(B.getInt64(0), L.n, write_slot, "send");
        } else if (!s.dest_expr->type->is(TypeKind::PidSet)) {
          // One process: its slot, without a loop over the others. A pid
          // outside 0..n-1 (reported where it was converted) sends nothing.
          Value* d = L.as_i64(L.emit(*s.dest_expr));
          L.emit_if(B.CreateICmpULT(d, L.n), [&] {
            add_dests(B.CreateShl(B.getInt64(1), d));
            write_slot(d);
          });
        } else {
          Value* dests = B.CreateAnd(L.emit(*s.dest_expr).v, L.all_pids());
          add_dests(dests);
          L.for_each_bit(dests, write_slot, "send");
        }
      };
      if (s.guard) L.emit_if(L.emit(*s.guard).v, do_send);
      else do_send();
    };
    for (size_t k = 0; k < r.sends.size();) {
      const Send& first = r.sends[k];
      if (first.loop < 0) {
        emit_send(first);
        ++k;
        continue;
      }
      // for q in S { sends }: the loop's sends run once per q, in order.
      size_t end = k;
      while (end < r.sends.size() && r.sends[end].loop == first.loop) ++end;
      const SendLoop& lp = r.send_loops[static_cast<size_t>(first.loop)];
      Value* q = L.cell(B.getInt64(0), lp.var->name.c_str());
      L.locals[lp.var.get()] = q;
      auto body = [&](Value* i) {
        B.CreateStore(i, q);
        for (size_t j = k; j < end; ++j) emit_send(r.sends[j]);
      };
      if (lp.end) L.for_range(L.as_i64(L.emit(*lp.coll)), L.as_i64(L.emit(*lp.end)), body, "sendfor");
      else L.for_each_bit(L.emit(*lp.coll).v, body, "sendfor");
      k = end;
    }
    B.CreateRetVoid();
  }

  Function* update = nullptr;
  Function* receive = nullptr;
  Function* finish = nullptr;
  Function* go_when = nullptr;
  if (r.update || !r.is_event()) {
    // update(state, env, mailbox); a closed round without one does nothing.
    update = hot(make_abi_fn<decltype(RoundDesc::update)>(qualified(r.name, "update")));
    FunctionLowering L(*this, update, update->getArg(1));
    if (r.update) {
      L.state = update->getArg(0);
      L.bind_mailbox(*r.update->params[0], update->getArg(2));
      L.emit_block(r.update->body);
      L.clear_round_vars(r);
    }
    L.B.CreateRetVoid();
  }
  if (r.is_event()) {
    receive = hot(make_abi_fn<decltype(RoundDesc::receive)>(qualified(r.name, "receive")));
    {
      FunctionLowering L(*this, receive, receive->getArg(1));
      auto& B = L.B;
      L.state = receive->getArg(0);
      L.go_flag = L.cell(B.getFalse(), "go");
      if (r.receive) {
        const VarDecl& sender = *r.receive->params[0];
        L.bound[&sender] = L.scalar(sender.type, B.CreateSExt(receive->getArg(2), i64));
        L.bound[r.receive->params[1].get()] = L.load(msg, receive->getArg(3));
        L.emit_block(r.receive->body);
      }
      B.CreateRet(B.CreateZExt(L.get(L.go_flag, i1), i32));
    }
    finish = hot(make_abi_fn<decltype(RoundDesc::finish)>(qualified(r.name, "finish")));
    {
      FunctionLowering L(*this, finish, finish->getArg(1));
      auto& B = L.B;
      L.state = finish->getArg(0);
      if (r.finish) {
        const VarDecl& timed_out = *r.finish->params[0];
        L.bound[&timed_out] = L.scalar(timed_out.type, B.CreateICmpNE(finish->getArg(2), B.getInt32(0)));
        L.emit_block(r.finish->body);
      }
      L.clear_round_vars(r);
      B.CreateRetVoid();
    }
  }
  if (r.progress.go_when) {
    go_when = hot(make_abi_fn<decltype(RoundDesc::go_when)>(qualified(r.name, "go_when")));
    FunctionLowering L(*this, go_when, go_when->getArg(1));
    L.state = go_when->getArg(0);
    if (r.update) L.bind_mailbox(*r.update->params[0], go_when->getArg(2));
    L.B.CreateRet(L.B.CreateZExt(L.emit(*r.progress.go_when).v, i32));
  }

  Function* timeout = nullptr;
  if (r.progress.timeout) {
    // timeout(state, env): `timeout e`, computed by the node as the round starts.
    timeout = hot(make_abi_fn<decltype(RoundDesc::timeout)>(qualified(r.name, "timeout")));
    FunctionLowering L(*this, timeout, timeout->getArg(1));
    L.state = timeout->getArg(0);
    L.B.CreateRet(L.as_i64(L.emit(*r.progress.timeout)));
  }

  // print_msg(msg, env, buf, cap): one message, printed from its type like
  // print_state's values, for counterexamples, JSON traces and diagrams.
  Function* print_msg = make_abi_fn<decltype(RoundDesc::print_msg)>(qualified(r.name, "print_msg"));
  {
    FunctionLowering L(*this, print_msg, print_msg->getArg(1));
    auto& B = L.B;
    FunctionLowering::PrintTarget t{print_msg->getArg(2), print_msg->getArg(3), L.cell(B.getInt64(0), "pos")};
    L.print_value(t, msg, print_msg->getArg(0));
    L.terminate_print(t);
  }

  const Progress& pr = r.progress;
  uint32_t flags = 0;
  if (r.is_event()) flags |= PSYNC_ROUND_EVENT;
  if (pr.wait) flags |= PSYNC_ROUND_WAIT;
  if (pr.strict) flags |= PSYNC_ROUND_STRICT;
  if (pr.timeout_us || pr.timeout) flags |= PSYNC_ROUND_HAS_TIMEOUT;
  AbiConstant<RoundField::num_fields> d(abi.Round);
  d[RoundField::name] = cstr(r.name);
  d[RoundField::flags] = llvm::ConstantInt::get(i32, flags);
  d[RoundField::reserved] = llvm::ConstantInt::get(i32, 0);
  d[RoundField::timeout_us] = llvm::ConstantInt::get(i64, pr.timeout_us.value_or(0));
  d[RoundField::strict_bound] = llvm::ConstantInt::get(i64, pr.strict_bound.value_or(0));
  d[RoundField::sync_k] = llvm::ConstantInt::get(i64, pr.sync.value_or(0));
  d[RoundField::msg_size] = msz;
  d[RoundField::send] = send;
  d[RoundField::update] = fn_or_null(update);
  d[RoundField::receive] = fn_or_null(receive);
  d[RoundField::finish] = fn_or_null(finish);
  d[RoundField::go_when] = fn_or_null(go_when);
  d[RoundField::timeout] = fn_or_null(timeout);
  d[RoundField::print_msg] = print_msg;
  d[RoundField::msg_type] = type_description(msg);
  return d.get();
}

// ---------------------------------------------------------------- specifications

namespace {

// pred_local(states, c, set, env): the conjunction of a predicate's local
// parts (sema/predicate_shape.h) at process c, every HO set read as `set`.
// A part that reads ho(t) holds for each binding of its foralls where
// t != c, and where t == c when its body does; one that reads no set, or
// ho_size only, is evaluated as is (ho_size is then |set|).
void emit_pred_local(FunctionLowering& L, const PredicateShape& shape, Value* c, Value* set) {
  auto& B = L.B;
  llvm::IRBuilder<> eb(L.alloca_point());
  Value* ho = eb.CreateAlloca(llvm::ArrayType::get(L.i64, PSYNC_MAX_N), nullptr, "ho");
  L.for_range(B.getInt64(0), L.n, [&](Value* p) { B.CreateStore(set, B.CreateGEP(L.i64, ho, p)); });
  L.ho = ho;
  Value* all = B.getTrue();
  for (const PredicatePart& part : shape.local) {
    auto body = [&]() -> Value* {
      if (!part.target) return L.emit(*part.expr).v;
      Value* res = L.cell(B.getTrue(), "local");
      L.emit_if(B.CreateICmpEQ(L.as_i64(L.emit(*part.target)), c), [&] { B.CreateStore(L.emit(*part.expr).v, res); });
      return L.get(res, L.i1);
    };
    std::function<Value*(size_t, size_t)> bind = [&](size_t b, size_t k) -> Value* {
      if (b == part.binders.size()) return body();
      const Expr& q = *part.binders[b];
      if (k == q.params.size()) return bind(b + 1, 0);
      Value* acc = L.cell(B.getTrue(), "forall");
      L.for_range(B.getInt64(0), L.n, [&](Value* x) {
        L.bound[q.params[k].get()] = L.scalar(q.params[k]->type, x);
        B.CreateStore(B.CreateAnd(L.get(acc, L.i1), bind(b, k + 1)), acc);
      }, "forall");
      return L.get(acc, L.i1);
    };
    all = B.CreateAnd(all, bind(0, 0));
  }
  B.CreateRet(B.CreateZExt(all, L.i32));
}

}  // namespace

llvm::Constant* ModuleLowering::lower_spec(const Spec& s) {
  using SpecDesc = psync_spec_desc;
  Function* eval = nullptr;
  Function* eval2 = nullptr;
  Function* pred = nullptr;
  Function* pred_local = nullptr;
  uint32_t ho_shape = 0;
  // pred(states, ho, env): assume, and the communication predicate of
  // liveness; with its shape (abi.h, version 6) and pred_local.
  auto lower_pred = [&](const std::string& name, const Expr& body) {
    pred = make_abi_fn<decltype(SpecDesc::pred)>(name);
    {
      FunctionLowering L(*this, pred, pred->getArg(2));
      L.states = pred->getArg(0);
      L.ho = pred->getArg(1);
      L.B.CreateRet(L.B.CreateZExt(L.emit(body).v, i32));
    }
    const PredicateShape shape = analyse_predicate(body);
    // The shape in words, for readers of the IR and tests/lit/codegen/ho_shape.psync.
    module->getOrInsertNamedMetadata("psync.ho_shape")
        ->addOperand(llvm::MDNode::get(C, llvm::MDString::get(C, s.name + ": " + shape.describe())));
    ho_shape = PSYNC_HO_LOCAL;
    if (shape.uniform) ho_shape |= PSYNC_HO_UNIFORM;
    if (!shape.residual.empty()) ho_shape |= PSYNC_HO_RESIDUAL | (shape.residual_monotone ? uint32_t{PSYNC_HO_MONOTONE} : 0u);
    pred_local = make_abi_fn<decltype(SpecDesc::pred_local)>(name + ".local");
    FunctionLowering L(*this, pred_local, pred_local->getArg(3));
    L.states = pred_local->getArg(0);
    emit_pred_local(L, shape, L.B.CreateSExt(pred_local->getArg(1), i64), pred_local->getArg(2));
  };
  switch (s.kind) {
    case SpecKind::Invariant:
    case SpecKind::Liveness: {
      eval = make_abi_fn<decltype(SpecDesc::eval)>(qualified("spec", s.name));
      {
        FunctionLowering L(*this, eval, eval->getArg(1));
        L.states = eval->getArg(0);
        L.B.CreateRet(L.B.CreateZExt(L.emit(*s.body).v, i32));
      }
      if (s.kind == SpecKind::Liveness && s.pred) lower_pred(qualified("spec", s.name, "pred"), *s.pred);
      break;
    }
    case SpecKind::Property: {
      eval2 = make_abi_fn<decltype(SpecDesc::eval2)>(qualified("spec", s.name));
      FunctionLowering L(*this, eval2, eval2->getArg(2));
      L.old_states = eval2->getArg(0);
      L.states = eval2->getArg(1);
      L.B.CreateRet(L.B.CreateZExt(L.emit(*s.body).v, i32));
      break;
    }
    case SpecKind::Assume: lower_pred(qualified("spec", s.name), *s.body); break;
  }
  static const uint32_t kinds[] = {PSYNC_SPEC_INVARIANT, PSYNC_SPEC_PROPERTY, PSYNC_SPEC_LIVENESS, PSYNC_SPEC_ASSUME};
  AbiConstant<SpecField::num_fields> d(abi.Spec);
  d[SpecField::name] = cstr(s.name);
  d[SpecField::kind] = llvm::ConstantInt::get(i32, kinds[static_cast<int>(s.kind)]);
  d[SpecField::after_rounds] = llvm::ConstantInt::get(i32, static_cast<uint32_t>(s.after_rounds));
  d[SpecField::eval] = fn_or_null(eval);
  d[SpecField::eval2] = fn_or_null(eval2);
  d[SpecField::pred] = fn_or_null(pred);
  d[SpecField::ho_shape] = llvm::ConstantInt::get(i32, ho_shape);
  d[SpecField::reserved5] = llvm::ConstantInt::get(i32, 0);
  d[SpecField::pred_local] = fn_or_null(pred_local);
  return d.get();
}

}  // namespace psync::lower
