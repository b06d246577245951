// expressions.cpp: type checking of expressions, bidirectionally: check(e,
// expected) gives `none`, record literals and lambda parameters their types
// from context. Names, calls and members that are built-ins are looked up
// in ast/builtins.def and checked by builtins.cpp.
#include <set>

#include "sema/checker.h"

namespace psync::sema {

const Type* Checker::fail(Expr& e, const std::string& id, const std::string& msg) {
  D.error(id, e.range, msg);
  return set_type(e, T.error());
}

void Checker::check_args_quietly(Expr& e, size_t first) {
  for (size_t i = first; i < e.args.size(); ++i)
    if (e.args[i]->kind != ExprKind::Lambda) check(*e.args[i], nullptr);
}

bool Checker::check_arity(Expr& e, size_t lo, size_t hi, const std::string& what) {
  size_t first = e.kind == ExprKind::Member ? 1 : 0;
  size_t got = e.args.size() - first;
  if (got >= lo && got <= hi) return true;
  std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  D.error("wrong-arity", e.range,
          what + " takes " + want + " argument" + (hi == 1 && lo == 1 ? "" : "s") + ", but " + std::to_string(got) +
              (got == 1 ? " was" : " were") + " given");
  check_args_quietly(e, first);
  e.type = T.error();
  return false;
}

const Type* Checker::check(Expr& e, const Type* expected) {
  switch (e.kind) {
    case ExprKind::Error: return set_type(e, T.error());
    case ExprKind::IntLit: return set_type(e, T.int_());
    case ExprKind::BoolLit: return set_type(e, T.bool_());
    case ExprKind::UnitLit: return set_type(e, T.unit());
    case ExprKind::NoneLit:
      if (expected && expected->is(TypeKind::Option)) return set_type(e, expected);
      if (expected && expected->is_error()) return set_type(e, T.error());
      return fail(e, "cannot-infer-none", "cannot infer the type of 'none' here; give the variable a type such as 'int?'");
    case ExprKind::Some: {
      const Type* inner_expected = expected && expected->is(TypeKind::Option) ? expected->elem : nullptr;
      if (inner_expected) {
        coerce(e.args[0], inner_expected, "the value in some(...)");
        return set_type(e, expected);
      }
      const Type* t = check(*e.args[0], nullptr);
      if (t->is(TypeKind::Option)) return fail(e, "nested-option", "nested option types are not supported");
      return set_type(e, T.option(t));
    }
    case ExprKind::Name: return check_name(e);
    case ExprKind::Call:
      call_expected = expected;
      return check_call(e);
    case ExprKind::Member: return check_member(e);
    case ExprKind::TupleIndex: {
      const Type* t = check(*e.args[0], nullptr);
      if (t->is_error()) return set_type(e, t);
      if (!t->is(TypeKind::Tuple))
        return fail(e, "not-a-tuple", "'." + std::to_string(e.int_value) + "' needs a tuple, not '" + type_name(t) + "'");
      if (e.int_value < 0 || static_cast<size_t>(e.int_value) >= t->elems.size())
        return fail(e, "tuple-index-out-of-range",
                    "tuple '" + type_name(t) + "' has no element " + std::to_string(e.int_value) + " (it has " +
                        std::to_string(t->elems.size()) + ")");
      return set_type(e, t->elems[e.int_value]);
    }
    case ExprKind::Index: {
      const Type* t = check(*e.args[0], nullptr);
      if (t->is_error()) {
        check(*e.args[1], nullptr);
        return set_type(e, t);
      }
      if (t->is(TypeKind::Mailbox)) {
        e.builtin = Builtin::MboxGet;
        return check_builtin(e);
      }
      if (t->is(TypeKind::Array)) {
        require(e.args[1], TypeKind::Pid, "an array index");
        return set_type(e, t->elem);
      }
      check(*e.args[1], nullptr);
      return fail(e, "not-indexable", "'" + type_name(t) + "' cannot be indexed; only mailboxes and arrays can");
    }
    case ExprKind::Unary:
      if (e.unary_op == UnaryOp::Not) {
        require(e.args[0], TypeKind::Bool, "the operand of '!'");
        return set_type(e, T.bool_());
      }
      require(e.args[0], TypeKind::Int, std::string("the operand of '") + unary_op_spelling(e.unary_op) + "'");
      return set_type(e, T.int_());
    case ExprKind::Match: return check_match_expr(e, expected);
    case ExprKind::Binary: return check_binary(e);
    case ExprKind::Cond: {
      require(e.args[0], TypeKind::Bool, "the condition of '?:'");
      const Type* a = check(*e.args[1], expected);
      if (a->is_error()) {
        check(*e.args[2], expected);
        return set_type(e, a);
      }
      coerce(e.args[2], a, "the second branch of '?:'");
      return set_type(e, a);
    }
    case ExprKind::Quant: {
      if (!in_spec())
        return fail(e, "quantifier-outside-spec",
                    std::string("'") + (e.bool_value ? "forall" : "exists") +
                        "' is only allowed in specifications (invariant, property, liveness, assume)");
      ScopeGuard sg(*this);
      for (auto& p : e.params) {
        p->type = T.pid();
        declare_local(*p);
      }
      require(e.args[0], TypeKind::Bool, "the body of a quantifier");
      return set_type(e, T.bool_());
    }
    case ExprKind::Lambda:
      return fail(e, "lambda-outside-mailbox-op",
                  "a lambda can only be an argument of a mailbox operation such as count, filter or fold");
    case ExprKind::Tuple: {
      std::vector<const Type*> ts;
      bool match = expected && expected->is(TypeKind::Tuple) && expected->elems.size() == e.args.size();
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (match) {
          coerce(e.args[i], expected->elems[i], "tuple element " + std::to_string(i));
          ts.push_back(expected->elems[i]);
        } else {
          ts.push_back(check(*e.args[i], nullptr));
        }
      }
      return set_type(e, T.tuple(ts));
    }
    case ExprKind::ArrayFill: {
      if (expected && expected->is(TypeKind::Array)) {
        coerce(e.args[0], expected->elem, "the array element");
        return set_type(e, expected);
      }
      return set_type(e, T.array(check(*e.args[0], nullptr)));
    }
    case ExprKind::Record: return check_record(e, expected);
    case ExprKind::StringLit: return check_string_literal(e, expected);
    case ExprKind::Old: {
      if (!in_spec() || cx.spec != SpecKind::Property)
        return fail(e, "old-outside-property",
                    "'old(...)' reads the state before a round and is only allowed in a 'property'");
      if (cx.in_old) return fail(e, "nested-old", "'old(...)' cannot be nested");
      Context c = cx;
      c.in_old = true;
      ContextGuard g(*this, c);
      return set_type(e, check(*e.args[0], expected));
    }
  }
  return set_type(e, T.error());
}

const Type* Checker::check_record(Expr& e, const Type* expected) {
  const Type* want = nullptr;
  if (!e.name.empty()) {
    want = alias(e.name);
    if (!want) return fail(e, "unknown-type", "unknown record type '" + e.name + "'");
    if (want->is_error()) return set_type(e, T.error());
    if (!want->is(TypeKind::Record))
      return fail(e, "not-a-record", "'" + e.name + "' is '" + type_name(want) + "', not a record type");
  } else if (expected && expected->is(TypeKind::Record)) {
    want = expected;
  }
  std::set<std::string> seen;
  for (auto& f : e.field_names)
    if (!seen.insert(f).second) return fail(e, "duplicate-field", "field '" + f + "' appears twice");
  if (!want) {
    std::vector<const Type*> ts;
    for (auto& a : e.args) ts.push_back(check(*a, nullptr));
    return set_type(e, T.record(e.field_names, ts));
  }
  // Reorder the literal into the type's field order.
  std::vector<ExprPtr> ordered(want->elems.size());
  bool ok = true;
  for (size_t i = 0; i < e.args.size(); ++i) {
    int idx = want->field_index(e.field_names[i]);
    if (idx < 0) {
      D.error("unknown-field", i < e.field_ranges.size() ? e.field_ranges[i] : e.args[i]->range,
              "record type '" + type_name(want) + "' has no field '" + e.field_names[i] + "'");
      check(*e.args[i], nullptr);
      ok = false;
      continue;
    }
    coerce(e.args[i], want->elems[idx], "field '" + e.field_names[i] + "'");
    ordered[idx] = std::move(e.args[i]);
  }
  for (size_t i = 0; i < ordered.size() && ok; ++i)
    if (!ordered[i]) {
      D.error("missing-field", e.range, "record literal is missing field '" + want->field_names[i] + "'");
      ok = false;
    }
  if (!ok) return set_type(e, T.error());
  e.args = std::move(ordered);
  e.field_names = want->field_names;
  return set_type(e, want);
}

const Type* Checker::check_name(Expr& e) {
  VarDecl* v = lookup(e.name);
  if (!v) {
    e.builtin = find_builtin(BuiltinForm::Name, e.name);
    if (e.builtin != Builtin::None) return check_builtin(e);
    if (fn_named(e.name)) return fail(e, "fn-without-call", "'" + e.name + "' is a fn; call it as " + e.name + "(...)");
    return fail(e, "undeclared-name", "use of undeclared name '" + e.name + "'" + suggestion(e.name));
  }
  root_was_used = v->used;
  v->used = true;
  e.decl = v;
  if (v->model && !cx.in_model && !in_spec())
    return fail(e, "model-state-in-replica-code",
                "'" + e.name + "' is model state: it exists only under the checker and the simulator; read it in a "
                "'model' block, a model var or let, or a specification");
  const bool process_level =
      v->kind == VarKind::Input || v->kind == VarKind::Output || v->kind == VarKind::Var || v->kind == VarKind::Let;
  switch (cx.where) {
    case Where::Spec:
      if (process_level)
        return fail(e, "spec-reads-unbound-state",
                    "a specification cannot read '" + e.name + "' of no particular process; write 'p." + e.name +
                        "' with p bound by forall or exists");
      break;
    case Where::Fn:
      if (v->kind == VarKind::Const) prog.fns[cx.fn_index]->reads_consts = true;
      if (v->kind != VarKind::Param && v->kind != VarKind::Const && v->kind != VarKind::Variant &&
          v->kind != VarKind::Local && v->kind != VarKind::LoopVar)
        return fail(e, "impure-fn",
                    "fn bodies are pure: they read only their parameters and consts, not " +
                        std::string(kind_noun(v->kind)) + " '" + e.name + "'");
      break;
    case Where::ConstInit:
      if (v->kind == VarKind::Variant) break;
      if (v->kind != VarKind::Const)
        return fail(e, "non-constant-initialiser",
                    "a const initialiser can only use other consts and 'n', not '" + e.name + "'");
      if (v->index >= cx.fn_index)
        return fail(e, "const-used-before-declaration",
                    "const '" + e.name + "' is declared after this one; a const can only use the consts before it");
      break;
    case Where::Let:
      if (v->kind == VarKind::Let && current_let_) let_deps_[current_let_].push_back(v);
      break;
    default: break;
  }
  return set_type(e, v->type ? v->type : T.error());
}

const Type* Checker::check_call(Expr& e) {
  if (e.builtin == Builtin::ToPid || e.builtin == Builtin::ToBytes) return check_builtin(e);  // inserted by coerce_checked
  FnDecl* fn = fn_named(e.name);
  if (fn && !lookup(e.name)) {
    fn->used = true;
    e.fn = fn;
    if (cx.where == Where::Fn && fn_order_[fn] >= cx.fn_index) {
      for (auto& a : e.args) check(*a, nullptr);
      return fail(e, "recursive-fn",
                  "fn '" + fn->name + "' is not declared before this fn; fns cannot be recursive or call later fns");
    }
    if (cx.where == Where::Fn && fn->reads_consts) prog.fns[cx.fn_index]->reads_consts = true;
    if (cx.where == Where::ConstInit && fn->reads_consts) {
      for (auto& a : e.args) check(*a, nullptr);
      return fail(e, "non-constant-initialiser",
                  "a const initialiser cannot call fn '" + fn->name +
                      "', which reads consts (they may not be computed yet); pass them as arguments");
    }
    if (!check_arity(e, fn->params.size(), fn->params.size(), "fn '" + fn->name + "'")) return e.type;
    for (size_t i = 0; i < e.args.size(); ++i)
      coerce(e.args[i], fn->params[i]->type, "argument " + std::to_string(i + 1) + " of '" + fn->name + "'");
    return set_type(e, fn->result_type ? fn->result_type : T.error());
  }
  e.builtin = find_builtin(BuiltinForm::Fn, e.name);
  if (e.builtin != Builtin::None) return check_builtin(e);
  if (e.name == "decide") return fail(e, "decide-in-expression", "'decide(...)' is a statement, not an expression");
  if (VarDecl* v = lookup(e.name)) {
    v->used = true;
    return fail(e, "not-callable", std::string(kind_noun(v->kind)) + " '" + e.name + "' is not a function");
  }
  check_args_quietly(e, 0);
  return fail(e, "undeclared-function", "call to undeclared function '" + e.name + "'" + suggestion(e.name));
}

// p.x in a specification: the variable x of quantified process p.
const Type* Checker::check_process_field(Expr& e, VarDecl& p) {
  p.used = true;
  e.args[0]->decl = &p;
  e.args[0]->type = T.pid();
  if (e.has_call_parens) return fail(e, "not-callable", "'" + e.name + "' of a process is not a function");
  e.builtin = e.name == builtin_info(Builtin::Decided).spelling ? Builtin::Decided : Builtin::ProcField;
  return check_builtin(e);
}

const Type* Checker::check_lambda(Expr& lam, std::vector<const Type*> param_types, const Type* expected_result,
                                  const std::string& op) {
  if (lam.kind != ExprKind::Lambda) {
    D.error("expected-lambda", lam.range, op + " expects a lambda such as 'm => m > 0'");
    check(lam, nullptr);
    return T.error();
  }
  if (lam.params.size() != param_types.size()) {
    D.error("lambda-arity", lam.range,
            "the lambda given to " + op + " takes " + std::to_string(param_types.size()) + " parameter" +
                (param_types.size() == 1 ? "" : "s") + ", not " + std::to_string(lam.params.size()));
    lam.type = T.error();
    return T.error();
  }
  ScopeGuard sg(*this);
  for (size_t i = 0; i < lam.params.size(); ++i) {
    lam.params[i]->type = param_types[i];
    lam.params[i]->used = true;
    declare_local(*lam.params[i]);
  }
  lam.type = T.lambda();
  if (expected_result) {
    coerce(lam.args[0], expected_result, "the lambda given to " + op);
    return expected_result;
  }
  return check(*lam.args[0], nullptr);
}

// `Role.Leader`: the receiver names an enum rather than a value.
const Type* Checker::check_qualified_variant(Expr& e) {
  Expr& recv = *e.args[0];
  if (recv.kind != ExprKind::Name || lookup(recv.name)) return nullptr;
  const EnumDecl* en = enum_named(recv.name);
  if (!en) return nullptr;
  if (!en->type || en->type->is_error()) return set_type(e, T.error());
  for (auto& v : en->variants)
    if (v->name == e.name) {
      if (e.has_call_parens) return fail(e, "not-callable", "variant '" + e.name + "' is not a function");
      e.kind = ExprKind::Name;  // the variant itself: lowering reads its number
      e.decl = v.get();
      e.args.clear();
      return set_type(e, en->type);
    }
  std::string list;
  for (auto& v : en->variants) list += (list.empty() ? "" : ", ") + v->name;
  return fail(e, "unknown-variant", "enum '" + en->name + "' has no variant '" + e.name + "' (it has " + list + ")");
}

const Type* Checker::check_member(Expr& e) {
  Expr& recv = *e.args[0];
  // p.x in a specification, where p is a quantified process.
  if (recv.kind == ExprKind::Name && in_spec()) {
    VarDecl* v = lookup(recv.name);
    if (v && v->kind == VarKind::QuantVar) return check_process_field(e, *v);
  }
  if (const Type* t = check_qualified_variant(e)) return t;
  const Type* rt = check(recv, nullptr);
  if (rt->is_error()) {
    check_args_quietly(e, 1);
    return set_type(e, T.error());
  }
  const std::string& m = e.name;
  BuiltinForm form;
  switch (rt->kind) {
    case TypeKind::Mailbox: form = BuiltinForm::Mailbox; break;
    case TypeKind::PidSet:
    case TypeKind::Set: form = BuiltinForm::Set; break;
    case TypeKind::Option: form = BuiltinForm::Option; break;
    case TypeKind::Bytes: form = BuiltinForm::Bytes; break;
    case TypeKind::Record: {
      int idx = rt->field_index(m);
      if (idx < 0) return fail(e, "unknown-field", "record type '" + type_name(rt) + "' has no field '" + m + "'");
      if (e.has_call_parens) return fail(e, "not-callable", "field '" + m + "' is not a function");
      e.int_value = idx;
      return set_type(e, rt->elems[idx]);
    }
    default: return fail(e, "unknown-member", "type '" + type_name(rt) + "' has no member '" + m + "'");
  }
  e.builtin = find_builtin(form, m);
  if (e.builtin == Builtin::None) return unknown_member(e, form);
  return check_builtin(e);
}

const Type* Checker::check_binary(Expr& e) {
  BinaryOp op = e.binary_op;
  std::string sp = std::string("'") + binary_op_spelling(op) + "'";
  switch (op) {
    case BinaryOp::And:
    case BinaryOp::Or:
    case BinaryOp::Implies:
      require(e.args[0], TypeKind::Bool, "the left operand of " + sp);
      require(e.args[1], TypeKind::Bool, "the right operand of " + sp);
      return set_type(e, T.bool_());
    case BinaryOp::Add:
    case BinaryOp::Sub:
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Mod:
      require(e.args[0], TypeKind::Int, "the left operand of " + sp);
      require(e.args[1], TypeKind::Int, "the right operand of " + sp);
      return set_type(e, T.int_());
    case BinaryOp::BitAnd:
    case BinaryOp::BitOr:
    case BinaryOp::BitXor:
    case BinaryOp::Shl:
    case BinaryOp::Shr:
      require(e.args[0], TypeKind::Int, "the left operand of " + sp);
      require(e.args[1], TypeKind::Int, "the right operand of " + sp);
      return set_type(e, T.int_());
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
      if (check(*e.args[0], nullptr)->is(TypeKind::Bytes)) return check_bytes_order(e, sp);
      coerce_checked(e.args[0], T.int_(), "the left operand of " + sp);
      require(e.args[1], TypeKind::Int, "the right operand of " + sp);
      return set_type(e, T.bool_());
    case BinaryOp::Eq:
    case BinaryOp::Ne: {
      const Type* l = check(*e.args[0], nullptr);
      if (l->is_error()) {
        check(*e.args[1], nullptr);
        return set_type(e, T.bool_());
      }
      if (!has_equality(l)) return fail(e, "no-equality", "values of type '" + type_name(l) + "' cannot be compared");
      if (l->is(TypeKind::Bytes)) return check_bytes_order(e, sp);
      const Type* rt = check(*e.args[1], l);
      if (!assignable(rt, l))
        return fail(e, "type-mismatch", "cannot compare '" + type_name(l) + "' with '" + type_name(rt) + "' using " + sp);
      return set_type(e, T.bool_());
    }
  }
  return set_type(e, T.error());
}

// `match e { A => x, B | C => y, _ => z }`: the arms' values share the
// first arm's type.
const Type* Checker::check_match_expr(Expr& e, const Type* expected) {
  const Type* t = check(*e.args[0], nullptr);
  check_match_arms(e.arms, t, e.args[0]->range);
  const Type* result = nullptr;
  for (auto& a : e.arms) {
    if (!a.value) continue;
    if (!result) {
      result = check(*a.value, expected);
    } else if (!result->is_error()) {
      coerce(a.value, result, "this arm of 'match'");
    } else {
      check(*a.value, nullptr);
    }
  }
  return set_type(e, result ? result : T.error());
}

}  // namespace psync::sema
