// types.cpp: interning and printing of semantic types.
#include "ast/types.h"

namespace psync {

int Type::field_index(const std::string& name) const {
  for (size_t i = 0; i < field_names.size(); ++i)
    if (field_names[i] == name) return static_cast<int>(i);
  return -1;
}

namespace {

// prefix + inner + suffix, by appending. (`"[" + type_name(...)` is
// operator+(const char*, std::string&&), an insert at 0, on which g++ 12
// at -O3 reports a false -Wrestrict.)
std::string enclose(const char* prefix, const std::string& inner, const char* suffix) {
  std::string s = prefix;
  s += inner;
  s += suffix;
  return s;
}

}  // namespace

std::string type_name(const Type* t) {
  if (!t) return "<unknown>";
  switch (t->kind) {
    case TypeKind::Error: return "<error>";
    case TypeKind::Unit: return "()";
    case TypeKind::Int: return "int";
    case TypeKind::Bool: return "bool";
    case TypeKind::Pid: return "pid";
    case TypeKind::PidSet: return "set<pid>";
    case TypeKind::Option: return enclose("", type_name(t->elem), "?");
    case TypeKind::Array: return enclose("[", type_name(t->elem), "; n]");
    case TypeKind::Mailbox: return enclose("mailbox<", type_name(t->elem), ">");
    case TypeKind::Lambda: return "lambda";
    case TypeKind::Bytes: return "bytes<" + std::to_string(t->capacity) + ">";
    case TypeKind::Tuple: {
      std::string s = "(";
      for (size_t i = 0; i < t->elems.size(); ++i) {
        if (i) s += ", ";
        s += type_name(t->elems[i]);
      }
      return s + ")";
    }
    case TypeKind::Record: {
      std::string s = "{ ";
      for (size_t i = 0; i < t->elems.size(); ++i) {
        if (i) s += ", ";
        s += t->field_names[i];
        s += ": ";
        s += type_name(t->elems[i]);
      }
      return s + " }";
    }
    case TypeKind::Enum: return t->name;
    case TypeKind::Set:
      if (t->elem && t->elem->kind == TypeKind::Enum) return "set<" + t->elem->name + ">";
      return "set<" + std::to_string(t->lo) + ".." + std::to_string(t->hi) + ">";
  }
  return "<unknown>";
}

std::string bytes_literal_text(std::string_view bytes) {
  static const char* const kHex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

TypeContext::TypeContext() {
  error_ = intern({TypeKind::Error, nullptr, {}, {}});
  unit_ = intern({TypeKind::Unit, nullptr, {}, {}});
  int_t_ = intern({TypeKind::Int, nullptr, {}, {}});
  bool_t_ = intern({TypeKind::Bool, nullptr, {}, {}});
  pid_t_ = intern({TypeKind::Pid, nullptr, {}, {}});
  pid_set_ = intern({TypeKind::PidSet, nullptr, {}, {}});
  lambda_ = intern({TypeKind::Lambda, nullptr, {}, {}});
}

const Type* TypeContext::intern(Type t) {
  // The printed name is a faithful key: it spells out every component.
  std::string key = std::to_string(static_cast<int>(t.kind)) + ":" + type_name(&t);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second;
  owned_.push_back(std::unique_ptr<Type>(new Type(std::move(t))));
  by_key_.emplace(key, owned_.back().get());
  return owned_.back().get();
}

const Type* TypeContext::option(const Type* elem) {
  if (elem->is_error()) return error_;
  return intern({TypeKind::Option, elem, {}, {}});
}
const Type* TypeContext::array(const Type* elem) {
  if (elem->is_error()) return error_;
  return intern({TypeKind::Array, elem, {}, {}});
}
const Type* TypeContext::mailbox(const Type* elem) {
  return intern({TypeKind::Mailbox, elem, {}, {}});
}
const Type* TypeContext::tuple(std::vector<const Type*> elems) {
  for (auto* e : elems)
    if (e->is_error()) return error_;
  return intern({TypeKind::Tuple, nullptr, std::move(elems), {}});
}
const Type* TypeContext::bytes(int64_t capacity) {
  Type t{TypeKind::Bytes, nullptr, {}, {}};
  t.capacity = capacity;
  return intern(std::move(t));
}

const Type* TypeContext::record(std::vector<std::string> names, std::vector<const Type*> types) {
  for (auto* e : types)
    if (e->is_error()) return error_;
  return intern({TypeKind::Record, nullptr, std::move(types), std::move(names)});
}
// Enums are nominal: the key is the name (a second enum of the same name is
// a redefinition, which sema reports before it gets here).
const Type* TypeContext::enum_(const std::string& name, std::vector<std::string> variants) {
  Type t{TypeKind::Enum, nullptr, {}, std::move(variants)};
  t.name = name;
  return intern(std::move(t));
}
const Type* TypeContext::enum_set(const Type* e) {
  if (e->is_error()) return error_;
  return intern({TypeKind::Set, e, {}, {}});
}
const Type* TypeContext::range_set(int64_t lo, int64_t hi) {
  Type t{TypeKind::Set, int_t_, {}, {}};
  t.lo = lo;
  t.hi = hi;
  return intern(std::move(t));
}

}  // namespace psync
