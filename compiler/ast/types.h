// types.h: the semantic types of psync, interned so that two types are equal
// exactly when their pointers are. Sema assigns one to every expression;
// codegen derives flat layouts from them (compiler/codegen/lower).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psync {

enum class TypeKind {
  Error,    ///< the type of an expression that already has a diagnostic
  Unit,     ///< ()
  Int,      ///< 64-bit signed, wrapping (docs/language.md, "Arithmetic")
  Bool,
  Pid,      ///< a process id in 0..n-1
  PidSet,   ///< set<pid>, a bitset of n bits
  Option,   ///< T?
  Tuple,    ///< (T1, ..., Tk), k >= 2
  Record,   ///< { f1: T1, ... } (structural)
  Array,    ///< [T; n], indexed by pid
  Mailbox,  ///< the mailbox of a round with message type elem
  Lambda,   ///< only as the type of an argument to a mailbox operation
  Enum,     ///< `enum NAME { ... }` (nominal): one word, the variant's number
  Set,      ///< set<E> (E an enum) or set<lo..hi> (ints lo..hi-1): a bitset, one word
  Bytes,    ///< bytes<K>: at most K bytes, a length word then ceil(K/8) words of data
};

/// The largest K of bytes<K> (docs/language.md, "bytes<K>"): a message of
/// one such value still fits a UDP datagram with room to spare.
inline constexpr int64_t kMaxBytesCapacity = 4096;

/// Only a TypeContext makes Types (the constructors are private): a Type made
/// anywhere else would break "equal exactly when the pointers are".
struct Type {
  TypeKind kind = TypeKind::Error;
  const Type* elem = nullptr;              ///< Option, Array, Mailbox
  std::vector<const Type*> elems;          ///< Tuple, Record (field types)
  std::vector<std::string> field_names;    ///< Record; Enum: the variants, in order
  std::string name;                        ///< Enum
  int64_t lo = 0, hi = 0;                  ///< Set of ints: the members range over lo .. hi-1
  int64_t capacity = 0;                    ///< Bytes: K

  bool is(TypeKind k) const { return kind == k; }
  bool is_error() const { return kind == TypeKind::Error; }
  /// Int, Bool, Pid and enums: values that fit in one machine word.
  bool is_scalar() const {
    return kind == TypeKind::Int || kind == TypeKind::Bool || kind == TypeKind::Pid || kind == TypeKind::Enum;
  }
  /// set<pid> and the other sets: a bitset in one word.
  bool is_set() const { return kind == TypeKind::PidSet || kind == TypeKind::Set; }
  /// Index of a record field (or of an enum variant), or -1.
  int field_index(const std::string& name) const;
  /// Members a Set may hold: the variants, or hi - lo.
  int64_t set_capacity() const { return elem && elem->kind == TypeKind::Enum ? int64_t(elem->field_names.size()) : hi - lo; }

 private:
  friend class TypeContext;
  Type(TypeKind k, const Type* e, std::vector<const Type*> es, std::vector<std::string> names)
      : kind(k), elem(e), elems(std::move(es)), field_names(std::move(names)) {}
  Type(const Type&) = default;
  Type(Type&&) = default;
};

/// "int", "(int, bool)", "{ v: int, ts: int }", "int?", "[pid; n]", "bytes<16>".
std::string type_name(const Type* t);

/// Bytes as a psync string literal: quoted, with \" \\ \n \t and \xHH escapes.
std::string bytes_literal_text(std::string_view bytes);

/// Owns and interns every Type of a compilation.
class TypeContext {
 public:
  TypeContext();
  const Type* error() const { return error_; }
  const Type* unit() const { return unit_; }
  const Type* int_() const { return int_t_; }
  const Type* bool_() const { return bool_t_; }
  const Type* pid() const { return pid_t_; }
  const Type* pid_set() const { return pid_set_; }
  const Type* lambda() const { return lambda_; }
  const Type* option(const Type* elem);
  const Type* array(const Type* elem);
  const Type* mailbox(const Type* elem);
  const Type* tuple(std::vector<const Type*> elems);
  const Type* record(std::vector<std::string> names, std::vector<const Type*> types);
  const Type* enum_(const std::string& name, std::vector<std::string> variants);
  /// set<E> of an enum E.
  const Type* enum_set(const Type* e);
  /// set<lo..hi>: ints lo .. hi-1 (sema keeps hi - lo within 1..64).
  const Type* range_set(int64_t lo, int64_t hi);
  /// bytes<capacity>; sema keeps capacity within 1..kMaxBytesCapacity.
  const Type* bytes(int64_t capacity);

 private:
  const Type* intern(Type t);
  std::vector<std::unique_ptr<Type>> owned_;
  std::map<std::string, const Type*> by_key_;
  const Type* error_;
  const Type* unit_;
  const Type* int_t_;
  const Type* bool_t_;
  const Type* pid_t_;
  const Type* pid_set_;
  const Type* lambda_;
};

}  // namespace psync
