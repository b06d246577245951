// builtins.cpp: type checking of every built-in of ast/builtins.def, one
// check_<Name> per row, and the dispatch expanded from the table at the
// bottom: a row without its check_<Name> does not compile. expressions.cpp
// has already looked the built-in up and checked a member's receiver.
#include "sema/checker.h"

namespace psync::sema {

namespace {

using Ck = Checker;

// The message type of a mailbox operation's receiver.
const Type* message_type(Expr& e) { return e.args[0]->type->elem; }
std::string mailbox_op(const Expr& e) { return "mailbox operation '" + e.name + "'"; }
bool impure_context(Ck& c) { return c.cx.where == Where::Fn || c.cx.where == Where::ConstInit; }

// ---------------------------------------------------------------- names

const Type* check_N(Ck& c, Expr& e) { return c.set_type(e, c.T.int_()); }

const Type* check_Me(Ck& c, Expr& e) {
  if (c.in_spec()) return c.fail(e, "me-in-spec", "'me' has no meaning in a specification; quantify over processes");
  if (impure_context(c)) return c.fail(e, "impure-fn", "'me' is not available in a pure fn or a const");
  return c.set_type(e, c.T.pid());
}

const Type* round_number(Ck& c, Expr& e) {
  if (impure_context(c)) return c.fail(e, "impure-fn", "'" + e.name + "' is not available in a pure fn or a const");
  return c.set_type(e, c.T.int_());
}
const Type* check_Round(Ck& c, Expr& e) { return round_number(c, e); }
const Type* check_Phase(Ck& c, Expr& e) { return round_number(c, e); }

const Type* check_Pids(Ck& c, Expr& e) { return c.set_type(e, c.T.pid_set()); }

// `decided` in round code, or p.decided (a Member) in a specification.
const Type* check_Decided(Ck& c, Expr& e) {
  if (e.kind == ExprKind::Member) return c.set_type(e, c.T.bool_());
  if (c.in_spec()) return c.fail(e, "spec-reads-unbound-state", "write 'p.decided' with p bound by forall or exists");
  if (impure_context(c)) return c.fail(e, "impure-fn", "'decided' is not available in a pure fn or a const");
  return c.set_type(e, c.T.bool_());
}

bool in_ho_predicate(Ck& c) { return c.in_spec() && c.cx.allow_ho; }

const Type* ho_name(Ck& c, Expr& e, const Type* t) {
  if (!in_ho_predicate(c))
    return c.fail(e, "ho-outside-predicate",
                  "'" + e.name + "' describes heard-of sets and is only allowed in 'assume' and in the 'where' "
                  "predicate of 'liveness'");
  return c.set_type(e, t);
}
const Type* check_Uniform(Ck& c, Expr& e) { return ho_name(c, e, c.T.bool_()); }
const Type* check_HoSize(Ck& c, Expr& e) { return ho_name(c, e, c.T.int_()); }

// ---------------------------------------------------------------- functions

bool random_allowed(Ck& c, Expr& e) {
  if (c.in_round_code()) return true;
  c.fail(e, "random-outside-round", "'" + e.name + "()' is a random choice and is only allowed in round code");
  return false;
}

const Type* check_Coin(Ck& c, Expr& e) {
  if (!random_allowed(c, e)) return e.type;
  if (!c.check_arity(e, 0, 0, "coin()")) return e.type;
  return c.set_type(e, c.T.bool_());
}

const Type* check_Random(Ck& c, Expr& e) {
  if (!random_allowed(c, e)) return e.type;
  if (!c.check_arity(e, 1, 1, "random(k)")) return e.type;
  c.require(e.args[0], TypeKind::Int, "the bound of random(k)");
  return c.set_type(e, c.T.int_());
}

void check_element(Ck& c, ExprPtr& arg, const Type* set, const std::string& what, bool checked = false);

// set(a, b, ...): a set of the expected type; without one, a set<E> when the
// first element is a variant of E, else a set<pid>.
const Type* check_Set(Ck& c, Expr& e) {
  const Type* want = c.call_expected && c.call_expected->is_set() ? c.call_expected : nullptr;
  bool first_checked = false;
  if (!want && !e.args.empty()) {
    const Type* first = c.check(*e.args[0], nullptr);
    first_checked = true;
    want = first->is(TypeKind::Enum) ? c.T.enum_set(first) : c.T.pid_set();
  }
  if (!want) want = c.T.pid_set();
  for (size_t k = 0; k < e.args.size(); ++k)
    check_element(c, e.args[k], want, "an element of set(...)", k == 0 && first_checked);
  return c.set_type(e, want);
}

const Type* check_Ho(Ck& c, Expr& e) {
  if (!in_ho_predicate(c))
    return c.fail(e, "ho-outside-predicate",
                  "'ho(p)' is the heard-of set of p and is only allowed in 'assume' and in the 'where' predicate of "
                  "'liveness'");
  if (!c.check_arity(e, 1, 1, "ho(p)")) return e.type;
  c.require(e.args[0], TypeKind::Pid, "the argument of ho(p)");
  return c.set_type(e, c.T.pid_set());
}

const Type* min_or_max(Ck& c, Expr& e) {
  if (!c.check_arity(e, 2, 2, e.name + "(a, b)")) return e.type;
  c.require(e.args[0], TypeKind::Int, "argument 1 of " + e.name);
  c.require(e.args[1], TypeKind::Int, "argument 2 of " + e.name);
  return c.set_type(e, c.T.int_());
}
const Type* check_Min(Ck& c, Expr& e) { return min_or_max(c, e); }
const Type* check_Max(Ck& c, Expr& e) { return min_or_max(c, e); }

const Type* check_Abs(Ck& c, Expr& e) {
  if (!c.check_arity(e, 1, 1, "abs(a)")) return e.type;
  c.require(e.args[0], TypeKind::Int, "the argument of abs");
  return c.set_type(e, c.T.int_());
}

// ---------------------------------------------------------------- mailboxes

const Type* check_MboxSize(Ck& c, Expr& e) {
  if (!c.check_arity(e, 0, 0, mailbox_op(e))) return e.type;
  return c.set_type(e, c.T.int_());
}

const Type* check_MboxSenders(Ck& c, Expr& e) {
  if (!c.check_arity(e, 0, 0, mailbox_op(e))) return e.type;
  return c.set_type(e, c.T.pid_set());
}

const Type* check_MboxHas(Ck& c, Expr& e) {
  if (!c.check_arity(e, 1, 1, mailbox_op(e))) return e.type;
  c.require(e.args[1], TypeKind::Pid, "the argument of has");
  return c.set_type(e, c.T.bool_());
}

const Type* check_MboxCountIf(Ck& c, Expr& e) {
  c.check_lambda(*e.args[1], {message_type(e)}, c.T.bool_(), "count");
  return c.set_type(e, c.T.int_());
}

// count(v), or count(m => pred), which becomes MboxCountIf.
const Type* check_MboxCount(Ck& c, Expr& e) {
  if (!c.check_arity(e, 1, 1, mailbox_op(e))) return e.type;
  if (e.args[1]->kind == ExprKind::Lambda) {
    e.builtin = Builtin::MboxCountIf;
    return check_MboxCountIf(c, e);
  }
  c.coerce(e.args[1], message_type(e), "the value counted");
  return c.set_type(e, c.T.int_());
}

const Type* mailbox_predicate(Ck& c, Expr& e, const Type* result) {
  if (!c.check_arity(e, 1, 1, mailbox_op(e))) return e.type;
  c.check_lambda(*e.args[1], {message_type(e)}, c.T.bool_(), e.name);
  return c.set_type(e, result);
}
const Type* check_MboxExists(Ck& c, Expr& e) { return mailbox_predicate(c, e, c.T.bool_()); }
const Type* check_MboxAll(Ck& c, Expr& e) { return mailbox_predicate(c, e, c.T.bool_()); }
const Type* check_MboxFilter(Ck& c, Expr& e) { return mailbox_predicate(c, e, c.T.mailbox(message_type(e))); }

// min, max and min_most_frequent compare the messages themselves.
const Type* mailbox_ordered(Ck& c, Expr& e) {
  if (!c.check_arity(e, 0, 0, mailbox_op(e))) return e.type;
  const Type* msg = message_type(e);
  if (!msg->is(TypeKind::Int) && !msg->is(TypeKind::Pid) && !msg->is(TypeKind::Bytes) && !msg->is_error())
    return c.fail(e, "unordered-message", "'" + e.name + "' needs messages of type int, pid or bytes<K>, not '" +
                                              type_name(msg) + "'; use min_by/max_by with a key");
  return c.set_type(e, msg);
}
const Type* check_MboxMin(Ck& c, Expr& e) { return mailbox_ordered(c, e); }
const Type* check_MboxMax(Ck& c, Expr& e) { return mailbox_ordered(c, e); }
const Type* check_MboxMinMostFrequent(Ck& c, Expr& e) { return mailbox_ordered(c, e); }

const Type* check_MboxMostFrequent(Ck& c, Expr& e) {
  if (!c.check_arity(e, 0, 0, mailbox_op(e))) return e.type;
  return c.set_type(e, message_type(e));
}

const Type* mailbox_by_key(Ck& c, Expr& e) {
  if (!c.check_arity(e, 1, 1, mailbox_op(e))) return e.type;
  c.check_lambda(*e.args[1], {message_type(e)}, c.T.int_(), e.name);
  return c.set_type(e, message_type(e));
}
const Type* check_MboxMinBy(Ck& c, Expr& e) { return mailbox_by_key(c, e); }
const Type* check_MboxMaxBy(Ck& c, Expr& e) { return mailbox_by_key(c, e); }

const Type* check_MboxSumBy(Ck& c, Expr& e) {
  c.check_lambda(*e.args[1], {message_type(e)}, c.T.int_(), "sum");
  return c.set_type(e, c.T.int_());
}

// sum() of int messages, or sum(m => key), which becomes MboxSumBy.
const Type* check_MboxSum(Ck& c, Expr& e) {
  if (!c.check_arity(e, 0, 1, mailbox_op(e))) return e.type;
  if (e.args.size() == 2) {
    e.builtin = Builtin::MboxSumBy;
    return check_MboxSumBy(c, e);
  }
  const Type* msg = message_type(e);
  if (!msg->is(TypeKind::Int) && !msg->is_error())
    return c.fail(e, "type-mismatch", "'sum()' needs int messages; give a key: sum(m => ...)");
  return c.set_type(e, c.T.int_());
}

const Type* check_MboxFold(Ck& c, Expr& e) {
  if (!c.check_arity(e, 2, 2, mailbox_op(e))) return e.type;
  const Type* acc = c.check(*e.args[1], nullptr);
  if (acc->is(TypeKind::Mailbox)) return c.fail(e, "type-mismatch", "a fold accumulator cannot be a mailbox");
  c.check_lambda(*e.args[2], {acc, message_type(e)}, acc, "fold");
  return c.set_type(e, acc);
}

// mbox[p]
const Type* check_MboxGet(Ck& c, Expr& e) {
  c.require(e.args[1], TypeKind::Pid, "a mailbox index");
  return c.set_type(e, message_type(e));
}

// ---------------------------------------------------------------- sets

// set<pid> holds pids (ints are converted), set<E> variants of E, and
// set<lo..hi> ints; a constant outside a range set is an error here, a
// computed one a counted range event at run time (docs/language.md §9.1).
const Type* element_of(Ck& c, const Type* set) {
  if (set->is(TypeKind::PidSet)) return c.T.pid();
  return set->elem->is(TypeKind::Enum) ? set->elem : c.T.int_();
}

void check_element(Ck& c, ExprPtr& arg, const Type* set, const std::string& what, bool checked) {
  if (checked) c.coerce_checked(arg, element_of(c, set), what);
  else c.coerce(arg, element_of(c, set), what);
  if (!set->is(TypeKind::Set) || !set->elem->is(TypeKind::Int)) return;
  if (auto k = constant_int(*arg); k && (*k < set->lo || *k >= set->hi))
    c.D.error("element-out-of-range", arg->range,
              std::to_string(*k) + " is not in " + type_name(set) + ", which holds " + std::to_string(set->lo) + " to " +
                  std::to_string(set->hi - 1));
}

bool set_arity(Ck& c, Expr& e, size_t k) { return c.check_arity(e, k, k, "set operation '" + e.name + "'"); }

const Type* set_with_element(Ck& c, Expr& e, const Type* result) {
  if (!set_arity(c, e, 1)) return e.type;
  check_element(c, e.args[1], e.args[0]->type, "the argument of " + e.name);
  return c.set_type(e, result);
}
const Type* check_SetHas(Ck& c, Expr& e) { return set_with_element(c, e, c.T.bool_()); }
const Type* check_SetWith(Ck& c, Expr& e) { return set_with_element(c, e, e.args[0]->type); }
const Type* check_SetWithout(Ck& c, Expr& e) { return set_with_element(c, e, e.args[0]->type); }

const Type* check_SetSize(Ck& c, Expr& e) { return set_arity(c, e, 0) ? c.set_type(e, c.T.int_()) : e.type; }
const Type* check_SetIsEmpty(Ck& c, Expr& e) { return set_arity(c, e, 0) ? c.set_type(e, c.T.bool_()) : e.type; }

const Type* set_with_set(Ck& c, Expr& e) {
  if (!set_arity(c, e, 1)) return e.type;
  c.coerce(e.args[1], e.args[0]->type, "the argument of " + e.name);
  return c.set_type(e, e.args[0]->type);
}
const Type* check_SetUnion(Ck& c, Expr& e) { return set_with_set(c, e); }
const Type* check_SetInter(Ck& c, Expr& e) { return set_with_set(c, e); }
const Type* check_SetMinus(Ck& c, Expr& e) { return set_with_set(c, e); }

// min and max of an empty set are the element type's zero value (process 0,
// the first variant, 0), like a mailbox's: test is_empty first.
const Type* check_SetMin(Ck& c, Expr& e) { return set_arity(c, e, 0) ? c.set_type(e, element_of(c, e.args[0]->type)) : e.type; }
const Type* check_SetMax(Ck& c, Expr& e) { return set_arity(c, e, 0) ? c.set_type(e, element_of(c, e.args[0]->type)) : e.type; }

// ---------------------------------------------------------------- options

bool option_arity(Ck& c, Expr& e, size_t k) { return c.check_arity(e, k, k, "option operation '" + e.name + "'"); }
const Type* check_OptIsSome(Ck& c, Expr& e) { return option_arity(c, e, 0) ? c.set_type(e, c.T.bool_()) : e.type; }
const Type* check_OptIsNone(Ck& c, Expr& e) { return option_arity(c, e, 0) ? c.set_type(e, c.T.bool_()) : e.type; }
const Type* check_OptGet(Ck& c, Expr& e) {
  return option_arity(c, e, 0) ? c.set_type(e, e.args[0]->type->elem) : e.type;
}
const Type* check_OptGetOr(Ck& c, Expr& e) {
  if (!option_arity(c, e, 1)) return e.type;
  const Type* elem = e.args[0]->type->elem;
  c.coerce(e.args[1], elem, "the default of get_or");
  return c.set_type(e, elem);
}

// ---------------------------------------------------------------- the rest

// p.x: x must be a process variable (input, output, var or let).
const Type* check_ProcField(Ck& c, Expr& e) {
  VarDecl* v = c.global(e.name);
  if (!v || v->kind == VarKind::Const)
    return c.fail(e, "unknown-process-field",
                  "processes have no variable '" + e.name + "'; a specification can read inputs, outputs, vars, lets "
                  "and 'decided'" + c.suggestion(e.name));
  v->used = true;
  e.decl = v;
  return c.set_type(e, v->type ? v->type : c.T.error());
}

// Inserted by coerce_checked with its type already set.
const Type* check_ToPid(Ck&, Expr& e) { return e.type; }

}  // namespace

const Type* Checker::check_builtin(Expr& e) {
  switch (e.builtin) {
#define PSYNC_BUILTIN(Name, Form, Spelling, Dump, Symmetry, Why) \
  case Builtin::Name: return check_##Name(*this, e);
#include "ast/builtins.def"
    case Builtin::None: break;
  }
  return set_type(e, T.error());
}

const Type* Checker::unknown_member(Expr& e, BuiltinForm form) {
  const std::string& m = e.name;
  switch (form) {
    case BuiltinForm::Mailbox:
      return fail(e, "unknown-member",
                  "mailboxes have no operation '" + m + "' (they have " + builtin_spellings(BuiltinForm::Mailbox) +
                      " and " + builtin_spellings(BuiltinForm::Index) + ")" + suggestion(m));
    case BuiltinForm::Set:
      return fail(e, "unknown-member",
                  type_name(e.args[0]->type) + " has no operation '" + m + "' (it has " +
                      builtin_spellings(BuiltinForm::Set) + ")");
    case BuiltinForm::Option:
      return fail(e, "unknown-member",
                  "an option has no operation '" + m + "' (it has " + builtin_spellings(BuiltinForm::Option) + ")");
    case BuiltinForm::Bytes:
      return fail(e, "unknown-member",
                  "a bytes value has no operation '" + m + "' (it has " + builtin_spellings(BuiltinForm::Bytes) + ")");
    default: return fail(e, "unknown-member", "'" + m + "' is not a member");
  }
}

}  // namespace psync::sema
