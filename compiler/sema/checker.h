// checker.h: what the files of sema share. One Checker walks a Program:
// scopes.cpp holds the context, scopes and types; sema.cpp the two phases
// over declarations; rounds.cpp rounds, statements and specifications;
// expressions.cpp and builtins.cpp the expressions. Internal to psync_sema.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sema/sema.h"

namespace psync::sema {

/// Where the checker stands; decides which names and built-ins are visible.
enum class Where { ConstInit, ProcInit, Let, Fn, RoundCode, Spec };

struct Context {
  Where where = Where::RoundCode;
  Round* round = nullptr;
  bool in_handler = false;        ///< update/receive/finish body (statements with effects)
  bool in_event_handler = false;  ///< receive/finish
  SpecKind spec = SpecKind::Invariant;
  bool in_old = false;
  bool allow_ho = false;          ///< assume and liveness predicates
  int fn_index = -1;              ///< Where::Fn: the fn being checked; ConstInit: the const's index
  bool in_model = false;          ///< model code (a `model` block, a model var's initialiser, a model let)
  bool in_timeout = false;        ///< a `timeout e` expression: run by the node only, never by the checker
  int model_scope = -1;           ///< in a `model` block: the scope depth where it began
};

/// "variable", "let binding", ...: how diagnostics name a VarKind.
const char* kind_noun(VarKind k);

/// The value of an integer literal, possibly negated (`-3`), or nothing.
std::optional<int64_t> constant_int(const Expr& e);

class Checker;
// The checks of the bytes<K> built-ins (bytes.cpp), reached from the
// dispatch of builtins.def in builtins.cpp.
const Type* check_BytesLen(Checker& c, Expr& e);
const Type* check_BytesSize(Checker& c, Expr& e);
const Type* check_ToBytes(Checker& c, Expr& e);

class Checker {
 public:
  Checker(Program& p, TypeContext& t, DiagnosticEngine& d, const SemaOptions& o) : prog(p), T(t), D(d), opts(o) {}

  /// Both phases; true when no error was reported.
  bool run();

  Program& prog;
  TypeContext& T;
  DiagnosticEngine& D;
  SemaOptions opts;
  Context cx;

  // ------------------------------------------------ scopes (scopes.cpp)
  struct ScopeGuard {
    Checker& c;
    explicit ScopeGuard(Checker& checker) : c(checker) { c.scopes_.emplace_back(); }
    ~ScopeGuard() { c.scopes_.pop_back(); }
  };
  struct ContextGuard {
    Checker& c;
    Context saved;
    ContextGuard(Checker& checker, Context next) : c(checker), saved(checker.cx) { c.cx = next; }
    ~ContextGuard() { c.cx = saved; }
  };
  void redefinition(const std::string& name, SourceRange here, SourceRange before);
  void check_fault_model();  // faults.cpp
  static bool is_builtin_name(const std::string& s);
  bool declare_global(VarDecl& v);
  void declare_local(VarDecl& v);
  /// Makes `v` visible in the innermost scope without any check (a mailbox in `go when`).
  void bind_in_scope(VarDecl& v) { scopes_.back()[v.name] = &v; }
  VarDecl* lookup(const std::string& name);
  VarDecl* global(const std::string& name);
  FnDecl* fn_named(const std::string& name);
  /// "; did you mean 'x'?" for a near miss, or "".
  std::string suggestion(const std::string& name);
  bool in_spec() const { return cx.where == Where::Spec; }
  bool in_round_code() const { return cx.where == Where::RoundCode; }

  // ------------------------------------------------ types (scopes.cpp)
  const Type* resolve_type(const TypeExpr* t);
  /// A type alias or an enum.
  const Type* alias(const std::string& name);
  const EnumDecl* enum_named(const std::string& name) const;
  /// Whether a value of type `from` may stand where `to` is expected.
  static bool assignable(const Type* from, const Type* to);
  static bool has_equality(const Type* t);
  /// Checks `e` against `want` and inserts an int->pid conversion if needed.
  bool coerce(ExprPtr& e, const Type* want, const std::string& what);
  bool require(ExprPtr& e, TypeKind kind, const std::string& what);
  /// Reports a mismatch of an already checked `e` with `want`, and makes an
  /// int -> pid conversion explicit (Builtin::ToPid), as well as the widening
  /// of a bytes<K1> to a bytes<K2> (Builtin::ToBytes).
  bool coerce_checked(ExprPtr& e, const Type* want, const std::string& what);

  // ------------------------------------------------ bytes<K> (bytes.cpp)
  const Type* resolve_bytes_type(const TypeExpr* t);
  const Type* check_string_literal(Expr& e, const Type* expected);
  /// bytes<K1> where bytes<K2> is expected, K1 <= K2.
  static bool bytes_widens(const Type* from, const Type* to);
  /// `<`, `<=`, `>`, `>=` with a bytes left operand (already checked).
  const Type* check_bytes_order(Expr& e, const std::string& op);
  /// Whether an input or output may have type t (consts: one word only).
  static bool exportable(VarKind kind, const Type* t);

  // ------------------------------------------------ expressions (expressions.cpp)
  const Type* check(Expr& e, const Type* expected);
  const Type* set_type(Expr& e, const Type* t) {
    e.type = t;
    return t;
  }
  const Type* fail(Expr& e, const std::string& id, const std::string& msg);
  /// Arguments between lo and hi (a member's receiver not counted); on a
  /// mismatch reports wrong-arity, checks the arguments and types e as error.
  bool check_arity(Expr& e, size_t lo, size_t hi, const std::string& what);
  /// Checks a lambda argument against its parameter types; returns the body type.
  const Type* check_lambda(Expr& lam, std::vector<const Type*> param_types, const Type* expected_result,
                           const std::string& op);
  /// Checks every argument that is not a lambda, for errors (no expectation).
  void check_args_quietly(Expr& e, size_t first);

  // ------------------------------------------------ built-ins (builtins.cpp)
  /// The check of e.builtin, dispatched from builtins.def.
  const Type* check_builtin(Expr& e);
  /// The unknown-member error for a receiver of this form.
  const Type* unknown_member(Expr& e, BuiltinForm form);

  /// For check_assign: whether the root variable was read before this check.
  bool root_was_used = false;
  /// The type a call is checked against (set(...) takes its element type from it).
  const Type* call_expected = nullptr;

 private:
  // sema.cpp: declarations.
  void declare_types();
  void declare_enum(EnumDecl& en);
  void declare_global_typed(VarDecl& v);
  void check_init(VarDecl& v, Where where);
  void check_let_cycles();
  void declare_fn(int index);
  void check_fn_body(int index);
  void warn_unused();
  // rounds.cpp
  void check_round(Round& rd);
  void check_sends(Round& rd);
  void check_send_overlaps(Round& rd);
  void check_fn_block(FnDecl& fn);
  void check_match_arms(std::vector<MatchArm>& arms, const Type* t, SourceRange where);
  void check_log(Stmt& s);
  void check_progress(Round& rd, VarDecl* mbox);
  void check_handler(Handler& h, bool event);
  void check_block(std::vector<StmtPtr>& body);
  void check_stmt(Stmt& s);
  void check_assign(Stmt& s);
  void check_spec(Spec& s);
  // expressions.cpp
  const Type* check_record(Expr& e, const Type* expected);
  const Type* check_name(Expr& e);
  const Type* check_call(Expr& e);
  const Type* check_process_field(Expr& e, VarDecl& p);
  const Type* check_member(Expr& e);
  const Type* check_binary(Expr& e);
  const Type* check_match_expr(Expr& e, const Type* expected);
  /// `E.V`: a variant named through its enum, or null when `recv` names no enum.
  const Type* check_qualified_variant(Expr& e);

  std::vector<std::map<std::string, VarDecl*>> scopes_;
  std::map<std::string, VarDecl*> globals_;
  std::map<std::string, FnDecl*> fns_;
  std::map<const FnDecl*, int> fn_order_;
  std::map<std::string, TypeAlias*> aliases_;
  std::map<std::string, EnumDecl*> enums_;
  std::vector<VarDecl*> locals_;  ///< for the unused-variable warnings
  std::map<int, int> index_counter_;
  VarDecl* current_let_ = nullptr;
  std::map<const VarDecl*, std::vector<const VarDecl*>> let_deps_;
};

}  // namespace psync::sema
