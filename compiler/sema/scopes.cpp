// scopes.cpp: the checker's context: declaring and looking up names in nested
// scopes, suggestions for near misses, and the rules of types (resolution
// of written types, assignability, coercions).
#include <algorithm>
#include <set>

#include "sema/checker.h"

namespace psync::sema {

const char* kind_noun(VarKind k) {
  switch (k) {
    case VarKind::Const: return "const";
    case VarKind::Input: return "input";
    case VarKind::Output: return "output";
    case VarKind::Var: return "variable";
    case VarKind::Let: return "let binding";
    case VarKind::RoundVar: return "round variable";
    case VarKind::Local: return "local";
    case VarKind::Param: return "parameter";
    case VarKind::LambdaParam: return "lambda parameter";
    case VarKind::QuantVar: return "quantified process";
    case VarKind::LoopVar: return "loop variable";
    case VarKind::Mailbox: return "mailbox";
    case VarKind::Sender: return "sender";
    case VarKind::Message: return "message";
    case VarKind::TimedOut: return "parameter";
    case VarKind::Variant: return "enum variant";
  }
  return "name";
}

std::optional<int64_t> constant_int(const Expr& e) {
  if (e.kind == ExprKind::IntLit) return e.int_value;
  if (e.kind == ExprKind::Unary && e.unary_op == UnaryOp::Neg && e.args.size() == 1 && e.args[0]->kind == ExprKind::IntLit &&
      e.args[0]->int_value != INT64_MIN)
    return -e.args[0]->int_value;
  return std::nullopt;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

// ---------------------------------------------------------------- names

void Checker::redefinition(const std::string& name, SourceRange here, SourceRange before) {
  D.error("redefinition", here, "redefinition of '" + name + "'");
  D.note(before, "previous definition of '" + name + "' is here");
}

bool Checker::is_builtin_name(const std::string& s) { return find_builtin(BuiltinForm::Name, s) != Builtin::None; }

bool Checker::declare_global(VarDecl& v) {
  if (is_builtin_name(v.name)) {
    D.error("reserved-name", v.range, "'" + v.name + "' is a built-in name and cannot be redeclared");
    return false;
  }
  auto it = globals_.find(v.name);
  if (it != globals_.end()) {
    redefinition(v.name, v.range, it->second->range);
    return false;
  }
  if (fns_.count(v.name)) {
    redefinition(v.name, v.range, fns_[v.name]->name_range);
    return false;
  }
  globals_[v.name] = &v;
  return true;
}

void Checker::declare_local(VarDecl& v) {
  if (is_builtin_name(v.name)) {
    D.error("reserved-name", v.range, "'" + v.name + "' is a built-in name and cannot be redeclared");
    v.used = true;
    return;
  }
  if (!scopes_.empty()) {
    auto& top = scopes_.back();
    auto it = top.find(v.name);
    if (it != top.end()) {
      redefinition(v.name, v.range, it->second->range);
      v.used = true;
      return;
    }
    top[v.name] = &v;
  }
  if (v.kind == VarKind::Local || v.kind == VarKind::RoundVar || v.kind == VarKind::Param) locals_.push_back(&v);
}

VarDecl* Checker::lookup(const std::string& name) {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto f = it->find(name);
    if (f != it->end()) return f->second;
  }
  return global(name);
}

VarDecl* Checker::global(const std::string& name) {
  auto g = globals_.find(name);
  return g == globals_.end() ? nullptr : g->second;
}

FnDecl* Checker::fn_named(const std::string& name) {
  auto f = fns_.find(name);
  return f == fns_.end() ? nullptr : f->second;
}

std::string Checker::suggestion(const std::string& name) {
  std::string best;
  if (name.size() < 3) return "";  // one- and two-letter names match everything
  size_t best_d = name.size() <= 5 ? 1 : 2;
  auto consider = [&](const std::string& cand) {
    if (cand.size() < 3) return;
    size_t d = edit_distance(name, cand);
    if (d > 0 && d <= best_d) {
      best_d = d;
      best = cand;
    }
  };
  for (auto& s : scopes_)
    for (auto& [k, _] : s) consider(k);
  for (auto& [k, _] : globals_) consider(k);
  for (auto& [k, _] : fns_) consider(k);
  for (const char* b : {"n", "me", "r", "phase", "pids"}) consider(b);
  for (auto& [k, _] : enums_) consider(k);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

// ---------------------------------------------------------------- types

const Type* Checker::alias(const std::string& name) {
  if (auto e = enums_.find(name); e != enums_.end()) return e->second->type ? e->second->type : T.error();
  auto it = aliases_.find(name);
  if (it == aliases_.end()) return nullptr;
  return it->second->type ? it->second->type : T.error();
}

const EnumDecl* Checker::enum_named(const std::string& name) const {
  auto e = enums_.find(name);
  return e == enums_.end() ? nullptr : e->second;
}

const Type* Checker::resolve_type(const TypeExpr* t) {
  if (!t) return T.error();
  switch (t->kind) {
    case TypeExprKind::Int: return T.int_();
    case TypeExprKind::Bool: return T.bool_();
    case TypeExprKind::Pid: return T.pid();
    case TypeExprKind::PidSet: return T.pid_set();
    case TypeExprKind::EnumSet: {
      const Type* e = alias(t->name);
      if (!e) {
        D.error("unknown-type", t->range, "unknown type '" + t->name + "'");
        return T.error();
      }
      if (e->is_error()) return e;
      if (!e->is(TypeKind::Enum)) {
        D.error("bad-set-element", t->range,
                "a set holds pids, the variants of an enum, or ints of a range such as set<0..16>; not '" +
                    type_name(e) + "'");
        return T.error();
      }
      if (e->field_names.size() > 64) {
        D.error("bad-set-element", t->range, "enum '" + e->name + "' has more than 64 variants, too many for a set");
        return T.error();
      }
      return T.enum_set(e);
    }
    case TypeExprKind::RangeSet:
      // One word of bits (abi.h): at most 64 members, and at least one.
      if (t->hi <= t->lo || t->hi - t->lo > 64) {
        D.error("bad-set-range", t->range,
                "set<" + std::to_string(t->lo) + ".." + std::to_string(t->hi) +
                    "> must hold between 1 and 64 ints (lo..hi holds lo to hi-1)");
        return T.error();
      }
      return T.range_set(t->lo, t->hi);
    case TypeExprKind::Unit: return T.unit();
    case TypeExprKind::Option: {
      const Type* e = resolve_type(t->elems[0].get());
      if (e->is(TypeKind::Option)) {
        D.error("nested-option", t->range, "nested option types ('" + type_name(e) + "?') are not supported");
        return T.error();
      }
      return T.option(e);
    }
    case TypeExprKind::Array: return T.array(resolve_type(t->elems[0].get()));
    case TypeExprKind::Tuple: {
      std::vector<const Type*> es;
      for (auto& e : t->elems) es.push_back(resolve_type(e.get()));
      return T.tuple(es);
    }
    case TypeExprKind::Record: {
      std::set<std::string> seen;
      std::vector<const Type*> es;
      for (size_t i = 0; i < t->elems.size(); ++i) {
        if (!seen.insert(t->field_names[i]).second) {
          D.error("duplicate-field", t->elems[i]->range, "field '" + t->field_names[i] + "' appears twice");
          return T.error();
        }
        es.push_back(resolve_type(t->elems[i].get()));
      }
      return T.record(t->field_names, es);
    }
    case TypeExprKind::Bytes: return resolve_bytes_type(t);
    case TypeExprKind::Named: {
      if (t->name == "<error>") return T.error();
      if (t->name == "bytes") {
        D.error("unknown-type", t->range, "'bytes' needs its capacity: write bytes<K>, e.g. bytes<64>");
        return T.error();
      }
      if (const Type* a = alias(t->name)) return a;
      std::string hint = t->name == "string" || t->name == "float" || t->name == "double"
                             ? " (psync values are int, bool, pid, enums, sets, options, tuples, records, arrays and bytes<K>)"
                             : "";
      D.error("unknown-type", t->range, "unknown type '" + t->name + "'" + hint);
      return T.error();
    }
  }
  return T.error();
}

bool Checker::assignable(const Type* from, const Type* to) {
  if (from == to || from->is_error() || to->is_error()) return true;
  bool num_from = from->is(TypeKind::Int) || from->is(TypeKind::Pid);
  bool num_to = to->is(TypeKind::Int) || to->is(TypeKind::Pid);
  return (num_from && num_to) || bytes_widens(from, to);
}

bool Checker::has_equality(const Type* t) { return !(t->is(TypeKind::Mailbox) || t->is(TypeKind::Lambda)); }

bool Checker::coerce(ExprPtr& e, const Type* want, const std::string& what) {
  check(*e, want);
  return coerce_checked(e, want, what);
}

bool Checker::require(ExprPtr& e, TypeKind kind, const std::string& what) {
  const Type* want = kind == TypeKind::Bool ? T.bool_() : kind == TypeKind::Pid ? T.pid() : T.int_();
  return coerce(e, want, what);
}

bool Checker::coerce_checked(ExprPtr& e, const Type* want, const std::string& what) {
  const Type* got = e->type;
  if (!assignable(got, want)) {
    D.error("type-mismatch", e->range,
            what + " has type '" + type_name(got) + "' but '" + type_name(want) + "' is expected");
    return false;
  }
  if (got->is(TypeKind::Int) && want->is(TypeKind::Pid)) {
    // A negative constant names no process whatever n is; a large one is
    // checked against n when n is known (the descriptor's max_pid_constant).
    if (auto k = constant_int(*e); k && *k < 0)
      D.error("pid-out-of-range", e->range,
              what + " is " + std::to_string(*k) + ", which is not a process id (ids run from 0 to n-1)");
    auto conv = std::make_unique<Expr>();
    conv->kind = ExprKind::Call;
    conv->range = e->range;
    conv->name = builtin_info(Builtin::ToPid).spelling;
    conv->builtin = Builtin::ToPid;
    conv->type = T.pid();
    conv->what = what;
    conv->args.push_back(std::move(e));
    e = std::move(conv);
  }
  if (got->is(TypeKind::Bytes) && want->is(TypeKind::Bytes) && got != want) {
    auto conv = std::make_unique<Expr>();
    conv->kind = ExprKind::Call;
    conv->range = e->range;
    conv->name = builtin_info(Builtin::ToBytes).spelling;
    conv->builtin = Builtin::ToBytes;
    conv->type = want;
    conv->args.push_back(std::move(e));
    e = std::move(conv);
  }
  return true;
}

}  // namespace psync::sema
