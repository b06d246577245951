// bytes.cpp: the bytes<K> part of type checking (docs/language.md, "bytes<K>"):
// the written type, string literals, the widening of bytes<K1> to bytes<K2>
// (K1 <= K2), ordering, `.len`, and which inputs and outputs may hold
// values that are not one word. Kept apart from the rest of sema so that the
// language's other types grow without touching it.
#include "sema/checker.h"

namespace psync::sema {

const Type* Checker::resolve_bytes_type(const TypeExpr* t) {
  if (t->name != "bytes") {
    D.error("unknown-type", t->range,
            "unknown type '" + t->name + "<" + std::to_string(t->size) + ">' (bytes<K> is the only sized type)");
    return T.error();
  }
  if (t->size < 1 || t->size > kMaxBytesCapacity) {
    D.error("bytes-capacity", t->range,
            "the capacity of bytes<K> must be 1.." + std::to_string(kMaxBytesCapacity) + " bytes, not " +
                (t->size < 0 ? std::string("that") : std::to_string(t->size)));
    return T.error();
  }
  return T.bytes(t->size);
}

// A literal takes the expected bytes<K> when there is one (and must fit);
// without one it is bytes<max(len, 1)>.
const Type* Checker::check_string_literal(Expr& e, const Type* expected) {
  const int64_t len = static_cast<int64_t>(e.str_value.size());
  if (expected && expected->is(TypeKind::Bytes)) {
    if (len > expected->capacity)
      return fail(e, "bytes-literal-too-long",
                  "this string has " + std::to_string(len) + " bytes; '" + type_name(expected) + "' holds at most " +
                      std::to_string(expected->capacity));
    return set_type(e, expected);
  }
  if (len > kMaxBytesCapacity)
    return fail(e, "bytes-literal-too-long",
                "this string has " + std::to_string(len) + " bytes; a bytes value holds at most " +
                    std::to_string(kMaxBytesCapacity));
  return set_type(e, T.bytes(std::max<int64_t>(len, 1)));
}

bool Checker::bytes_widens(const Type* from, const Type* to) {
  return from->is(TypeKind::Bytes) && to->is(TypeKind::Bytes) && from->capacity <= to->capacity;
}

// `a < b` (and `a == b`) on bytes of capacities K1 and K2: the narrower
// operand is widened, so that both are one bytes<max(K1, K2)>.
const Type* Checker::check_bytes_order(Expr& e, const std::string& op) {
  const Type* l = e.args[0]->type;
  // No expected type for the right operand: a longer literal ("a" < "ab")
  // takes its own length and the narrower side is widened below.
  const Type* r = e.args[1]->type ? e.args[1]->type : check(*e.args[1], nullptr);
  if (r->is_error()) return set_type(e, T.bool_());
  if (!r->is(TypeKind::Bytes))
    return fail(e, "type-mismatch", "cannot compare '" + type_name(l) + "' with '" + type_name(r) + "' using " + op);
  const Type* wide = l->capacity >= r->capacity ? l : r;
  coerce_checked(e.args[0], wide, "the left operand of " + op);
  coerce_checked(e.args[1], wide, "the right operand of " + op);
  return set_type(e, T.bool_());
}

// Inputs may be one word or bytes<K> (set from the command line or by the
// service); an output may be any value that can be stored (a composite
// value included: interactive consistency decides a vector); consts stay
// one word.
bool Checker::exportable(VarKind kind, const Type* t) {
  if (t->is_error() || t->is_scalar() || t->is(TypeKind::PidSet)) return true;
  if (kind == VarKind::Input) return t->is(TypeKind::Bytes);
  if (kind == VarKind::Output) return !t->is(TypeKind::Mailbox) && !t->is(TypeKind::Lambda) && !t->is(TypeKind::Unit);
  return false;
}

const Type* check_bytes_length(Checker& c, Expr& e) {
  if (!c.check_arity(e, 0, 0, "'" + e.name + "' of a bytes value")) return e.type;
  return c.set_type(e, c.T.int_());
}
const Type* check_BytesLen(Checker& c, Expr& e) { return check_bytes_length(c, e); }
const Type* check_BytesSize(Checker& c, Expr& e) { return check_bytes_length(c, e); }

// Inserted by coerce_checked with its type already set.
const Type* check_ToBytes(Checker&, Expr& e) { return e.type; }

}  // namespace psync::sema
