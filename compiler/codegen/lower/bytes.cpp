// bytes.cpp: lowering of bytes<K> (docs/language.md, "bytes<K>") — literals,
// the length, widening, the total order that min, max and
// min_most_frequent use, printing — and the psync_type descriptions of
// abi.h through which drivers read inputs and outputs of any type.
//
// Layout (abi.h): a length word, then ceil(K/8) words of data whose bytes
// past the length are zero, so that equality stays word-wise. Every
// producer keeps that form: literals, init (from the driver's buffer),
// widening. A message from a faulty peer may break it; the length is then
// clamped wherever it is used, so that nothing reads past the value.
#include "codegen/lower/lowering.h"

#include "llvm/IR/Intrinsics.h"

namespace psync::lower {

// ---------------------------------------------------------------- module helpers

// i64 bytes_cmp(a, b, data_words): the order of the bytes, then of the
// lengths. Data words are little-endian, so byte-swapped they compare as
// the bytes do, most significant first; padding is zero, so a proper prefix
// compares below (or equal, and then the shorter length decides).
Function* ModuleLowering::bytes_compare_fn() {
  if (bytes_cmp) return bytes_cmp;
  bytes_cmp = hot(make_fn("psync.bytes_cmp", llvm::FunctionType::get(i64, {ptr, ptr, i64}, false)));
  Function* f = bytes_cmp;
  llvm::IRBuilder<> B(BasicBlock::Create(C, "entry", f));
  Function* bswap = llvm::Intrinsic::getDeclaration(module.get(), llvm::Intrinsic::bswap, {i64});
  Value* a = f->getArg(0);
  Value* b = f->getArg(1);
  Value* words = f->getArg(2);
  BasicBlock* entry = B.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(C, "head", f);
  BasicBlock* body = BasicBlock::Create(C, "body", f);
  BasicBlock* differ = BasicBlock::Create(C, "differ", f);
  BasicBlock* lengths = BasicBlock::Create(C, "lengths", f);
  B.CreateBr(head);
  B.SetInsertPoint(head);
  auto* i = B.CreatePHI(i64, 2, "i");
  i->addIncoming(B.getInt64(0), entry);
  B.CreateCondBr(B.CreateICmpULT(i, words), body, lengths);
  B.SetInsertPoint(body);
  Value* k = B.CreateAdd(i, B.getInt64(1));  // past the length word
  Value* x = B.CreateCall(bswap, {B.CreateLoad(i64, B.CreateGEP(i64, a, k))});
  Value* y = B.CreateCall(bswap, {B.CreateLoad(i64, B.CreateGEP(i64, b, k))});
  i->addIncoming(k, body);
  B.CreateCondBr(B.CreateICmpEQ(x, y), head, differ);
  B.SetInsertPoint(differ);
  B.CreateRet(B.CreateSelect(B.CreateICmpULT(x, y), B.getInt64(-1), B.getInt64(1)));
  B.SetInsertPoint(lengths);
  Value* la = B.CreateLoad(i64, a);
  Value* lb = B.CreateLoad(i64, b);
  Value* lt = B.CreateICmpSLT(la, lb);
  Value* gt = B.CreateICmpSGT(la, lb);
  B.CreateRet(B.CreateSelect(lt, B.getInt64(-1), B.CreateSelect(gt, B.getInt64(1), B.getInt64(0))));
  return f;
}

// append_bytes(buf, cap, pos_ptr, value, capacity): the value as a psync
// string literal, "ab\x00", through append_char (print_state needs no libc).
Function* ModuleLowering::append_bytes_fn() {
  if (append_bytes) return append_bytes;
  append_bytes = make_fn("psync.append_bytes",
                         llvm::FunctionType::get(llvm::Type::getVoidTy(C), {ptr, i64, ptr, ptr, i64}, false));
  Function* f = append_bytes;
  llvm::IRBuilder<> B(BasicBlock::Create(C, "entry", f));
  Value* buf = f->getArg(0);
  Value* cap = f->getArg(1);
  Value* pos = f->getArg(2);
  Value* value = f->getArg(3);
  Value* capacity = f->getArg(4);
  auto put = [&](Value* c) { B.CreateCall(append_char, {buf, cap, pos, c}); };
  Value* raw = B.CreateLoad(i64, value);
  Value* len = B.CreateSelect(B.CreateICmpSLT(raw, B.getInt64(0)), B.getInt64(0),
                              B.CreateSelect(B.CreateICmpSGT(raw, capacity), capacity, raw));
  put(B.getInt64('"'));
  BasicBlock* entry = B.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(C, "head", f);
  BasicBlock* body = BasicBlock::Create(C, "body", f);
  BasicBlock* plain = BasicBlock::Create(C, "plain", f);
  BasicBlock* special = BasicBlock::Create(C, "special", f);
  BasicBlock* escaped = BasicBlock::Create(C, "escaped", f);
  BasicBlock* hex = BasicBlock::Create(C, "hex", f);
  BasicBlock* next = BasicBlock::Create(C, "next", f);
  BasicBlock* done = BasicBlock::Create(C, "done", f);
  B.CreateBr(head);
  B.SetInsertPoint(head);
  auto* i = B.CreatePHI(i64, 2, "i");
  i->addIncoming(B.getInt64(0), entry);
  B.CreateCondBr(B.CreateICmpULT(i, len), body, done);
  B.SetInsertPoint(body);
  Value* c = B.CreateZExt(B.CreateLoad(B.getInt8Ty(), B.CreateGEP(B.getInt8Ty(), value, B.CreateAdd(i, B.getInt64(8)))),
                          i64);
  Value* printable = B.CreateAnd(B.CreateICmpUGE(c, B.getInt64(0x20)), B.CreateICmpULT(c, B.getInt64(0x7f)));
  Value* quote = B.CreateOr(B.CreateICmpEQ(c, B.getInt64('"')), B.CreateICmpEQ(c, B.getInt64('\\')));
  B.CreateCondBr(B.CreateAnd(printable, B.CreateNot(quote)), plain, special);
  B.SetInsertPoint(plain);
  put(c);
  B.CreateBr(next);
  B.SetInsertPoint(special);
  put(B.getInt64('\\'));
  B.CreateCondBr(quote, escaped, hex);
  B.SetInsertPoint(escaped);
  put(c);
  B.CreateBr(next);
  B.SetInsertPoint(hex);
  auto digit = [&](Value* d) {
    return B.CreateSelect(B.CreateICmpULT(d, B.getInt64(10)), B.CreateAdd(d, B.getInt64('0')),
                          B.CreateAdd(d, B.getInt64('a' - 10)));
  };
  put(B.getInt64('x'));
  put(digit(B.CreateLShr(c, 4)));
  put(digit(B.CreateAnd(c, B.getInt64(15))));
  B.CreateBr(next);
  B.SetInsertPoint(next);
  i->addIncoming(B.CreateAdd(i, B.getInt64(1)), next);
  B.CreateBr(head);
  B.SetInsertPoint(done);
  put(B.getInt64('"'));
  B.CreateRetVoid();
  return f;
}

// A psync_type constant per type (abi.h), shared by every use: drivers size,
// print and compare inputs and outputs of any type through it.
llvm::Constant* ModuleLowering::type_description(const Type* t) {
  auto it = type_descs.find(t);
  if (it != type_descs.end()) return it->second;
  psync_type_kind kind = PSYNC_TYPE_UNIT;
  uint32_t count = 0;
  std::vector<const Type*> elems;
  std::vector<std::string> names;
  switch (t->kind) {
    case TypeKind::Int: kind = PSYNC_TYPE_INT; break;
    case TypeKind::Bool: kind = PSYNC_TYPE_BOOL; break;
    case TypeKind::Pid: kind = PSYNC_TYPE_PID; break;
    case TypeKind::PidSet: kind = PSYNC_TYPE_PIDSET; break;
    case TypeKind::Option: kind = PSYNC_TYPE_OPTION; elems = {t->elem}; break;
    case TypeKind::Array: kind = PSYNC_TYPE_ARRAY; elems = {t->elem}; break;
    case TypeKind::Tuple: kind = PSYNC_TYPE_TUPLE; elems = t->elems; count = uint32_t(elems.size()); break;
    case TypeKind::Record:
      kind = PSYNC_TYPE_RECORD;
      elems = t->elems;
      names = t->field_names;
      count = uint32_t(elems.size());
      break;
    case TypeKind::Bytes: kind = PSYNC_TYPE_BYTES; count = uint32_t(t->capacity); break;
    case TypeKind::Enum: kind = PSYNC_TYPE_ENUM; count = uint32_t(t->field_names.size()); break;
    case TypeKind::Set:  // elem: the enum, or int for set<lo..hi>
      kind = PSYNC_TYPE_SET;
      elems = {t->elem};
      count = uint32_t(t->set_capacity());
      break;
    default: kind = PSYNC_TYPE_UNIT; break;
  }
  std::vector<llvm::Constant*> elem_descs;
  for (const Type* e : elems) elem_descs.push_back(type_description(e));
  auto pointer_array = [&](const std::vector<llvm::Constant*>& items, const char* name) -> llvm::Constant* {
    if (items.empty()) return null_ptr();
    auto* aty = llvm::ArrayType::get(ptr, items.size());
    return new llvm::GlobalVariable(*module, aty, true, llvm::GlobalValue::InternalLinkage,
                                    llvm::ConstantArray::get(aty, items), name);
  };
  std::vector<llvm::Constant*> name_strs;
  for (const std::string& nm : names) name_strs.push_back(cstr(nm));
  AbiConstant<TypeDescField::num_fields> d(abi.TypeDesc);
  d[TypeDescField::kind] = llvm::ConstantInt::get(i32, kind);
  d[TypeDescField::count] = llvm::ConstantInt::get(i32, count);
  d[TypeDescField::elems] = pointer_array(elem_descs, "psync.type.elems");
  // An enum's names are the table its psync_field entries use.
  d[TypeDescField::names] =
      t->is(TypeKind::Enum) ? variant_names(t) : pointer_array(name_strs, "psync.type.names");
  d[TypeDescField::lo] = llvm::ConstantInt::get(i64, t->is(TypeKind::Set) ? t->lo : 0);
  auto* g = new llvm::GlobalVariable(*module, abi.TypeDesc, true, llvm::GlobalValue::InternalLinkage, d.get(),
                                     "psync.type");
  g->setAlignment(llvm::Align(alignof(psync_type)));
  type_descs[t] = g;
  return g;
}

// ---------------------------------------------------------------- values

Value* FunctionLowering::bytes_length(const CValue& v) {
  Value* raw = B.CreateLoad(i64, v.ptr);
  Value* cap = B.getInt64(v.type->capacity);
  return B.CreateSelect(B.CreateICmpSLT(raw, B.getInt64(0)), B.getInt64(0),
                        B.CreateSelect(B.CreateICmpSGT(raw, cap), cap, raw));
}

Value* FunctionLowering::less(const CValue& a, const CValue& b) {
  if (a.type->is(TypeKind::Bytes)) {
    Value* c = B.CreateCall(M.bytes_compare_fn(), {a.ptr, b.ptr, B.getInt64(bytes_data_words(a.type))});
    return B.CreateICmpSLT(c, B.getInt64(0));
  }
  return B.CreateICmpSLT(as_i64(a), as_i64(b));
}

CValue FunctionLowering::emit_string_literal(const Expr& e) {
  const int64_t words = 1 + bytes_data_words(e.type);
  std::vector<uint64_t> image(static_cast<size_t>(words), 0);
  image[0] = e.str_value.size();
  for (size_t k = 0; k < e.str_value.size(); ++k)
    image[1 + k / 8] |= uint64_t(static_cast<unsigned char>(e.str_value[k])) << (8 * (k % 8));
  auto* init = llvm::ConstantDataArray::get(C, image);
  auto* g = new llvm::GlobalVariable(*M.module, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                     "psync.string");
  g->setAlignment(llvm::Align(8));
  g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  return CValue{e.type, nullptr, g};
}

void FunctionLowering::store_bytes_input(const Type* t, Value* dst, Value* word) {
  const int64_t data_bytes = 8 * bytes_data_words(t);
  B.CreateMemSet(dst, B.getInt8(0), B.getInt64(8 + data_bytes), llvm::MaybeAlign(8));
  emit_if(B.CreateICmpNE(word, B.getInt64(0)), [&] {
    Value* src = B.CreateIntToPtr(word, ptr);
    Value* raw = B.CreateLoad(i64, src);
    Value* cap = B.getInt64(t->capacity);
    Value* len = B.CreateSelect(B.CreateICmpSLT(raw, B.getInt64(0)), B.getInt64(0),
                                B.CreateSelect(B.CreateICmpSGT(raw, cap), cap, raw));
    B.CreateStore(len, dst);
    B.CreateMemCpy(at(dst, 8), llvm::MaybeAlign(8), at(src, 8), llvm::MaybeAlign(1), len);
  });
}

CValue FunctionLowering::widen_bytes(const CValue& v, const Type* to) {
  Value* p = zero_fill(to);
  B.CreateMemCpy(p, llvm::MaybeAlign(8), v.ptr, llvm::MaybeAlign(8), B.getInt64(8 * (1 + bytes_data_words(v.type))));
  return CValue{to, nullptr, p};
}

CValue lower_BytesLen(FunctionLowering& f, const Expr& e) {
  return f.scalar(e.type, f.bytes_length(f.emit(*e.args[0])));
}
CValue lower_BytesSize(FunctionLowering& f, const Expr& e) { return lower_BytesLen(f, e); }

CValue lower_ToBytes(FunctionLowering& f, const Expr& e) { return f.widen_bytes(f.emit(*e.args[0]), e.type); }

}  // namespace psync::lower
