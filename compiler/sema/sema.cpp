// sema.cpp: the entry point of semantic analysis and its two phases over the
// declarations (docs/language.md has the rules): phase 1 declares every
// global name with its type, phase 2 checks initialisers, fns, lets, rounds
// and specifications, so that declarations may refer to each other in any
// order. Expressions are checked bidirectionally (expressions.cpp).
#include <functional>

#include "sema/checker.h"

namespace psync {

bool check_program(Program& program, TypeContext& types, DiagnosticEngine& diags, const SemaOptions& options) {
  return sema::Checker(program, types, diags, options).run();
}

namespace sema {

bool Checker::run() {
  int errors_before = D.error_count();
  declare_types();
  // Phase 1: every global name with its declared type.
  for (auto* list : {&prog.consts, &prog.inputs, &prog.outputs, &prog.vars, &prog.lets})
    for (auto& v : *list) declare_global_typed(*v);
  if (prog.outputs.size() > 1)
    D.error("multiple-outputs", prog.outputs[1]->range,
            "a protocol has at most one decision ('output NAME: T', the value passed to decide); "
            "values that may change are 'output var's");
  for (size_t i = 0; i < prog.fns.size(); ++i) declare_fn(static_cast<int>(i));
  // Phase 2: initialisers and bodies.
  // Fn bodies first: a const initialiser may call a fn only if the fn
  // reads no const (it would otherwise see consts not yet computed).
  for (size_t i = 0; i < prog.fns.size(); ++i) check_fn_body(static_cast<int>(i));
  for (auto& v : prog.consts) check_init(*v, Where::ConstInit);
  check_fault_model();
  for (auto& v : prog.vars) check_init(*v, Where::ProcInit);
  for (auto& v : prog.lets) check_init(*v, Where::Let);
  check_let_cycles();
  if (!prog.is_module && prog.rounds.empty() && prog.name.size() && !opts.after_syntax_errors)
    D.error("no-rounds", prog.name_range, "protocol '" + prog.name + "' declares no round");
  std::map<std::string, SourceRange> round_names;
  for (auto& rd : prog.rounds) {
    if (prog.is_module) D.error("round-in-module", rd.name_range, "a module cannot declare rounds");
    auto [it, fresh] = round_names.emplace(rd.name, rd.name_range);
    if (!fresh) redefinition(rd.name, rd.name_range, it->second);
    check_round(rd);
  }
  std::map<std::string, SourceRange> spec_names;
  for (auto& s : prog.specs) {
    auto [it, fresh] = spec_names.emplace(s.name, s.name_range);
    if (!fresh) redefinition(s.name, s.name_range, it->second);
    if (!s.poisoned) check_spec(s);
  }
  if (opts.warn_unused) warn_unused();
  return D.error_count() == errors_before;
}

// ---------------------------------------------------------------- phase 1

// Enums first, so that aliases may name them; then aliases, in order.
void Checker::declare_types() {
  for (auto& en : prog.enums) declare_enum(en);
  for (auto& a : prog.types) {
    if (aliases_.count(a.name)) {
      redefinition(a.name, a.range, aliases_[a.name]->range);
      continue;
    }
    if (auto* en = enum_named(a.name)) {
      redefinition(a.name, a.range, en->range);
      continue;
    }
    a.type = resolve_type(a.type_expr.get());
    aliases_[a.name] = &a;
  }
}

// An enum is a type, and each variant a global name of that type (so that a
// variant may be written bare, `Leader`, or through its enum, `Role.Leader`).
void Checker::declare_enum(EnumDecl& en) {
  std::vector<std::string> names;
  std::map<std::string, SourceRange> seen;
  for (auto& v : en.variants) {
    auto [it, fresh] = seen.emplace(v->name, v->range);
    if (!fresh) redefinition(v->name, v->range, it->second);
    names.push_back(v->name);
  }
  if (enums_.count(en.name)) {
    redefinition(en.name, en.range, enums_[en.name]->range);
    en.type = T.error();
  } else if (en.variants.empty()) {
    en.type = T.error();
  } else {
    en.type = T.enum_(en.name, names);
    enums_[en.name] = &en;
  }
  for (auto& v : en.variants) {
    v->type = en.type;
    v->used = true;
    declare_global(*v);
  }
}

void Checker::declare_global_typed(VarDecl& v) {
  // A declaration with a syntax error gets the error type, which silences
  // every later check that involves it.
  v.type = v.type_expr && !v.poisoned ? resolve_type(v.type_expr.get()) : T.error();
  if (v.poisoned) v.used = true;
  if (v.type->is(TypeKind::Mailbox)) {
    D.error("mailbox-variable", v.range, "a mailbox cannot be stored in a variable");
    v.type = T.error();
  }
  // Consts, inputs and outputs cross the command line and the ABI as one
  // word each (runtime/include/psync/abi.h).
  // An input may also be bytes<K> and the output any storable value
  // (exportable, bytes.cpp): the descriptor describes their types.
  bool word = v.type->is_scalar() || v.type->is(TypeKind::PidSet) || v.type->is_error();
  bool exported = v.kind == VarKind::Const || v.kind == VarKind::Input || v.kind == VarKind::Output || v.output;
  if (!word && exported && (v.output || !exportable(v.kind, v.type))) {
    const char* noun = v.kind == VarKind::Const ? "const" : v.kind == VarKind::Input ? "input" : "output";
    // An `output var` is one word, like a const; the decision may be any value.
    const char* allowed = v.kind == VarKind::Const || v.output ? " must be int, bool, pid, an enum or set<pid>"
                          : v.kind == VarKind::Input       ? " must be int, bool, pid, an enum, set<pid> or bytes<K>"
                                                           : " must carry a value";
    D.error(std::string("non-scalar-") + noun, v.type_expr ? v.type_expr->range : v.range,
            std::string(v.kind == VarKind::Const ? "a " : "an ") + noun + allowed + ", not '" + type_name(v.type) +
                "'");
  }
  if (v.model && v.output) v.model = false;  // the grammar has no `model output var`
  if (!declare_global(v)) v.used = true;  // rejected: no "never read" warning on top
  v.index = static_cast<int>(index_counter_[static_cast<int>(v.kind)]++);
}

void Checker::declare_fn(int index) {
  FnDecl& fn = *prog.fns[index];
  if (is_builtin_name(fn.name) || find_builtin(BuiltinForm::Fn, fn.name) != Builtin::None) {
    D.error("reserved-name", fn.name_range, "'" + fn.name + "' is a built-in function and cannot be redeclared");
  } else if (fns_.count(fn.name)) {
    redefinition(fn.name, fn.name_range, fns_[fn.name]->name_range);
  } else if (globals_.count(fn.name)) {
    redefinition(fn.name, fn.name_range, globals_[fn.name]->range);
  } else {
    fns_[fn.name] = &fn;
  }
  fn_order_[&fn] = index;
  for (auto& p : fn.params) p->type = resolve_type(p->type_expr.get());
  fn.result_type = resolve_type(fn.result_type_expr.get());
}

// ---------------------------------------------------------------- phase 2

void Checker::check_init(VarDecl& v, Where where) {
  if (!v.init || v.poisoned) return;
  Context c{where};
  c.fn_index = v.index;  // ConstInit: only earlier consts are available
  c.in_model = v.model;  // a model var's initialiser may read model state
  ContextGuard g(*this, c);
  current_let_ = v.kind == VarKind::Let ? &v : nullptr;
  coerce(v.init, v.type, "the initialiser of '" + v.name + "'");
  current_let_ = nullptr;
}

// A let is recomputed on each read, so a let defined through itself would
// never finish: reject cycles among lets. The let that closes a cycle is
// reported; the walk then returns "no cycle" so that the lets on the way
// back do not report the same cycle again.
void Checker::check_let_cycles() {
  enum Mark { Unvisited, OnStack, Done };
  std::map<const VarDecl*, Mark> mark;
  std::function<bool(const VarDecl*)> closes_cycle = [&](const VarDecl* v) {
    if (mark[v] == OnStack) return true;
    if (mark[v] == Done) return false;
    mark[v] = OnStack;
    for (const VarDecl* w : let_deps_[v])
      if (closes_cycle(w)) {
        D.error("recursive-let", v->range, "let '" + v->name + "' is defined in terms of itself");
        break;
      }
    mark[v] = Done;
    return false;
  };
  for (auto& v : prog.lets) closes_cycle(v.get());
}

void Checker::check_fn_body(int index) {
  FnDecl& fn = *prog.fns[index];
  if (fn.from_import || fn.poisoned)
    for (auto& p : fn.params) p->used = true;
  if (fn.poisoned) return;
  ScopeGuard sg(*this);
  Context c{Where::Fn};
  c.fn_index = index;
  ContextGuard g(*this, c);
  for (auto& p : fn.params) declare_local(*p);
  if (fn.body) coerce(fn.body, fn.result_type, "the body of fn '" + fn.name + "'");
  if (fn.has_block) check_fn_block(fn);
}

// ---------------------------------------------------------------- warnings

void Checker::warn_unused() {
  auto warn = [&](VarDecl& v) {
    if (!v.used && !v.output && !v.from_import && v.name != "<error>" && v.name[0] != '_')
      D.warning("unused-variable", v.range, std::string(kind_noun(v.kind)) + " '" + v.name + "' is never read");
  };
  for (auto& v : prog.vars) warn(*v);
  for (auto& v : prog.lets) warn(*v);
  for (VarDecl* v : locals_) warn(*v);
}

}  // namespace sema

}  // namespace psync
