// descriptor.cpp: the protocol-wide entry points (const_defaults, init,
// print_state) and the one exported symbol, the psync_protocol_desc constant
// of abi.h that drivers read everything else from.
#include "codegen/codegen.h"
#include "codegen/lower/lowering.h"

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

void FunctionLowering::print_value(const PrintTarget& t, const Type* ty, Value* p) {
  switch (ty->kind) {
    case TypeKind::Int:
    case TypeKind::Pid: B.CreateCall(M.append_int, {t.buf, t.cap, t.pos, B.CreateLoad(i64, p)}); break;
    case TypeKind::Bool: print_bool(t, B.CreateLoad(i64, p)); break;
    case TypeKind::PidSet: {
      Value* set = B.CreateLoad(i64, p);
      Value* first = cell(B.getTrue(), "first");
      print_text(t, "{");
      for_each_bit(set, [&](Value* i) {
        emit_if(B.CreateNot(get(first, i1)), [&] { print_text(t, ","); });
        B.CreateStore(B.getFalse(), first);
        B.CreateCall(M.append_int, {t.buf, t.cap, t.pos, i});
      });
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
  make_print_helpers();
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
  for (auto& v : prog.vars) field_out(*v);
  // Terminate the string when it fits.
  Value* pos = L.get(t.pos, i64);
  L.emit_if(B.CreateICmpUGT(t.cap, B.getInt64(0)), [&] {
    Value* end = B.CreateSelect(B.CreateICmpULT(pos, t.cap), pos, B.CreateSub(t.cap, B.getInt64(1)));
    B.CreateStore(B.getInt8(0), L.gep(t.buf, end));
  });
  B.CreateRet(B.CreateTrunc(pos, i32));
  return fn;
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

// init(state, env, inputs): inputs normalised to their type, then the vars'
// initialisers in order.
Function* ModuleLowering::lower_init() {
  Function* fn = make_abi_fn<decltype(psync_protocol_desc::init)>(qualified("init"));
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
    if (v.type->is(TypeKind::Pid)) w = L.to_pid(w);
    if (v.type->is(TypeKind::Bool)) w = B.CreateZExt(B.CreateICmpNE(w, B.getInt64(0)), i64);
    if (v.type->is(TypeKind::PidSet)) w = B.CreateAnd(w, L.all_pids());  // only bits below n
    B.CreateStore(w, L.gep(L.state, L.byte_offset(v)));
  }
  for (auto& v : prog.vars)
    if (v->init) L.store(v->type, L.gep(L.state, L.byte_offset(*v)), L.emit(*v->init));
  B.CreateRetVoid();
  return fn;
}

// ---------------------------------------------------------------- descriptor

void ModuleLowering::emit_descriptor(const std::vector<llvm::Constant*>& rounds,
                                     const std::vector<llvm::Constant*>& specs) {
  Function* state_size = size_fn(qualified("state_size"), state_words);
  Function* consts_fn = lower_const_defaults();
  Function* init = lower_init();
  Function* printer = lower_printer();

  auto field = [&](llvm::Constant* name, psync_kind kind, uint32_t offset) {
    AbiConstant<FieldField::num_fields> f(abi.Field);
    f[FieldField::name] = name;
    f[FieldField::kind] = llvm::ConstantInt::get(i32, kind);
    f[FieldField::offset] = llvm::ConstantInt::get(i32, offset);
    return f.get();
  };
  auto state_byte_offset = [&](const VarDecl& v) { return static_cast<uint32_t>(offsets.at(&v).c[0] * 8); };
  std::vector<llvm::Constant*> inputs, consts;
  for (auto& v : prog.inputs) inputs.push_back(field(cstr(v->name), kind_of(v->type), state_byte_offset(*v)));
  for (auto& v : prog.consts)
    consts.push_back(field(cstr(v->name), kind_of(v->type), static_cast<uint32_t>(v->index)));
  llvm::Constant* output = prog.outputs.empty()
                               ? field(null_ptr(), PSYNC_KIND_NONE, 0)
                               : field(cstr(prog.outputs[0]->name), kind_of(prog.outputs[0]->type),
                                       state_byte_offset(*prog.outputs[0]));

  auto u32 = [&](size_t v) { return llvm::ConstantInt::get(i32, static_cast<uint32_t>(v)); };
  AbiConstant<ProtocolField::num_fields> d(abi.Protocol);
  d[ProtocolField::abi_version] = u32(PSYNC_ABI_VERSION);
  d[ProtocolField::num_rounds] = u32(rounds.size());
  d[ProtocolField::name] = cstr(prog.name);
  d[ProtocolField::fingerprint] = llvm::ConstantInt::get(i64, program_fingerprint(sources));
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
  auto* g = new llvm::GlobalVariable(*module, abi.Protocol, true, llvm::GlobalValue::ExternalLinkage, d.get(),
                                     PSYNC_DESCRIPTOR_SYMBOL);
  g->setAlignment(llvm::Align(alignof(psync_protocol_desc)));
}

}  // namespace psync::lower
