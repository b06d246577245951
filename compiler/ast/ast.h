// ast.h: the abstract syntax tree of a psync program.
// compiler/parse builds it from the ANTLR parse tree; compiler/sema resolves
// names (Expr::decl, Expr::builtin) and fills in every Expr::type; codegen
// lowers the typed tree. Every node carries the SourceRange it came from.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ast/types.h"
#include "source/source.h"

namespace psync {

struct Expr;
struct Stmt;
struct VarDecl;
struct FnDecl;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

// ---------------------------------------------------------------- type syntax

enum class TypeExprKind { Int, Bool, Pid, PidSet, Option, Tuple, Unit, Array, Record, Named, EnumSet, RangeSet, Bytes };

/// A type as written; sema resolves it to a `const Type*`.
struct TypeExpr {
  TypeExprKind kind = TypeExprKind::Int;
  SourceRange range;
  std::string name;                          ///< Named; EnumSet: the enum; Array: the size name ("n")
  std::vector<std::unique_ptr<TypeExpr>> elems;  ///< Option/Array: [elem]; Tuple; Record
  std::vector<std::string> field_names;      ///< Record
  int64_t lo = 0, hi = 0;                    ///< RangeSet: set<lo..hi> holds lo .. hi-1
  int64_t size = 0;                          ///< Bytes: the capacity K of bytes<K>
};
using TypeExprPtr = std::unique_ptr<TypeExpr>;

// ---------------------------------------------------------------- variables

/// What a name refers to. Every named value, from a process variable to a
/// lambda parameter, is a VarDecl; codegen decides its storage from `kind`.
enum class VarKind {
  Const,        ///< `const` (global, overridable at run time)
  Input,        ///< `input` (per process, read-only, set at start)
  Output,       ///< `output` (per process, written only by decide)
  Var,          ///< `var` at top level: per-process state
  Let,          ///< `let` at top level: derived, recomputed on each read
  RoundVar,     ///< `var` inside a round: reset when the round starts
  Local,        ///< `var`/`let` inside a block
  Param,        ///< parameter of a `fn`
  LambdaParam,  ///< parameter of a lambda given to a mailbox operation
  QuantVar,     ///< process bound by `forall`/`exists` (type pid)
  LoopVar,      ///< variable of a `for` loop
  Mailbox,      ///< the parameter of `update(mbox)`
  Sender,       ///< first parameter of `receive(sender, m)`
  Message,      ///< second parameter of `receive(sender, m)`
  TimedOut,     ///< parameter of `finish(timed_out)`
  Variant,      ///< a variant of an `enum` (index: its number)
};

const char* var_kind_name(VarKind k);

struct VarDecl {
  VarKind kind = VarKind::Local;
  std::string name;
  SourceRange range;          ///< the name at its declaration
  TypeExprPtr type_expr;      ///< as written, may be null (inferred)
  ExprPtr init;               ///< initialiser / defining expression, may be null
  const Type* type = nullptr; ///< set by sema
  bool mutable_ = false;      ///< Var, RoundVar, Local `var`
  int index = -1;             ///< position among its kind (state slot order)
  bool used = false;          ///< set by sema, for the unused-variable warning
  bool from_import = false;   ///< declared in an imported module
  bool poisoned = false;      ///< its declaration has a syntax error: sema only declares it
  bool model = false;         ///< `model var` / `model let`: exists only under the checker
  bool output = false;        ///< `output var`: a var that is reported as an output
};
using VarDeclPtr = std::unique_ptr<VarDecl>;

// ---------------------------------------------------------------- expressions

enum class ExprKind {
  IntLit, BoolLit, UnitLit, NoneLit, Some, Name, Call, Member, TupleIndex, Index,
  Unary, Binary, Cond, Quant, Lambda, Tuple, ArrayFill, Record, Old, Match, Error,
  StringLit,  ///< "text": a bytes<K> value (str_value holds the decoded bytes)
};

enum class UnaryOp { Not, Neg, BitNot };
enum class BinaryOp {
  Mul, Div, Mod, Add, Sub, Lt, Le, Gt, Ge, Eq, Ne, And, Or, Implies,
  BitAnd, BitOr, BitXor, Shl, Shr,
};

const char* unary_op_spelling(UnaryOp op);
const char* binary_op_spelling(BinaryOp op);

/// Built-in names, functions and operations that sema recognises, one per
/// row of ast/builtins.def (None: not a built-in).
enum class Builtin {
  None,
#define PSYNC_BUILTIN(Name, ...) Name,
#include "ast/builtins.def"
};

/// How a program reaches a built-in (the Form column of builtins.def).
enum class BuiltinForm { Name, Fn, Mailbox, Set, Option, Index, Field, Implicit, Bytes };

/// What renaming processes does to a built-in (builtins.def explains each).
enum class BuiltinSymmetry { Neutral, Equivariant, RoundNumber, Breaks };

/// One row of builtins.def.
struct BuiltinInfo {
  BuiltinForm form;
  const char* spelling;   ///< what the program writes
  const char* dump_name;  ///< builtin_name()
  BuiltinSymmetry symmetry;
  const char* why;        ///< Breaks: the reason `psyncc check` prints
};

const BuiltinInfo& builtin_info(Builtin b);
/// The first built-in of `form` spelled `spelling`, or Builtin::None.
Builtin find_builtin(BuiltinForm form, std::string_view spelling);
/// The spellings of `form`, in table order, each once: "size, has, ...".
std::string builtin_spellings(BuiltinForm form);
const char* builtin_name(Builtin b);

/// One arm of a `match` (statement or expression): the variants it covers,
/// or `_` for every variant no earlier arm names.
struct MatchArm {
  SourceRange range;
  std::vector<std::string> variants;        ///< as written; empty with `_`
  std::vector<SourceRange> variant_ranges;
  bool wildcard = false;
  std::vector<int64_t> indices;             ///< set by sema: the variants' numbers (with `_`: those left)
  std::vector<StmtPtr> body;                ///< statement arm
  ExprPtr value;                            ///< expression arm
};

struct Expr {
  ExprKind kind = ExprKind::Error;
  SourceRange range;
  const Type* type = nullptr;  ///< set by sema

  int64_t int_value = 0;       ///< IntLit (a duration literal: microseconds)
  bool bool_value = false;     ///< BoolLit; Quant: true for forall
  bool duration = false;       ///< IntLit written as a duration (`10ms`)
  std::string name;            ///< Name, Call (callee), Member (member name)
  UnaryOp unary_op = UnaryOp::Not;
  BinaryOp binary_op = BinaryOp::Add;
  bool has_call_parens = false;  ///< Member: written `x.f(...)` rather than `x.f`
  std::string str_value;       ///< StringLit: the bytes, escapes decoded

  /// Children, by kind:
  ///   Some/Old: [e]; Call: args; Member: [receiver, args...]; TupleIndex: [e]
  ///   (index in int_value); Index: [base, index]; Unary: [e]; Binary: [l, r];
  ///   Cond: [c, a, b]; Quant/Lambda: [body]; Tuple: elems; ArrayFill: [value];
  ///   Record: field values (names in field_names); Match: [scrutinee].
  std::vector<ExprPtr> args;
  std::vector<MatchArm> arms;             ///< Match
  std::vector<std::string> field_names;   ///< Record
  std::vector<SourceRange> field_ranges;  ///< Record: where each field name is written
  std::vector<VarDeclPtr> params;         ///< Lambda params, Quant bound vars

  std::string what;            ///< ToPid: what the pid is for, named in range-error reports

  // Resolution, set by sema.
  VarDecl* decl = nullptr;     ///< Name: the variable; Member with ProcField: the field
  FnDecl* fn = nullptr;        ///< Call of a user `fn`
  Builtin builtin = Builtin::None;
};

// ---------------------------------------------------------------- statements

enum class StmtKind { LocalVar, If, For, Match, Decide, Halt, Go, Return, Log, Model, Assign, ExprStmt, Block };
enum class AssignOp { Set, Add, Sub, Mul, BitAnd, BitOr, BitXor, Shl, Shr };

struct Stmt {
  StmtKind kind = StmtKind::ExprStmt;
  SourceRange range;
  VarDeclPtr var;                  ///< LocalVar (with init); For: the loop variable
  ExprPtr cond;                    ///< If: condition; For: collection or range start; Match: scrutinee
  ExprPtr range_end;               ///< For over `a..b`: b (null for a set)
  ExprPtr target;                  ///< Assign: left side
  ExprPtr value;                   ///< Assign: right side; Decide; Return; ExprStmt
  AssignOp assign_op = AssignOp::Set;
  std::vector<StmtPtr> body;       ///< If: then; For; Model; Block
  std::vector<StmtPtr> else_body;  ///< If
  bool has_else = false;
  std::vector<MatchArm> arms;      ///< Match
  std::string text;                ///< Log: the format, escapes resolved
  std::vector<ExprPtr> args;       ///< Log: the values for its `{}`s
};

// ---------------------------------------------------------------- rounds

enum class DestKind { All, Expr };

struct Send {
  SourceRange range;
  ExprPtr value;
  DestKind dest = DestKind::All;
  ExprPtr dest_expr;   ///< a pid or a set<pid>
  ExprPtr guard;       ///< `if cond`, may be null
  int loop = -1;       ///< index in Round::send_loops, when inside `for q in S { ... }`
};

/// `for q in S { send ... to q }`: per-peer sends. Its sends are the
/// contiguous run of Round::sends whose `loop` is this one's index.
struct SendLoop {
  SourceRange range;
  VarDeclPtr var;      ///< the loop variable (VarKind::LoopVar)
  ExprPtr coll;        ///< a set<pid>, or the start of a range
  ExprPtr end;         ///< the end of a range `a..b`, or null
};

struct Handler {
  SourceRange range;
  std::vector<VarDeclPtr> params;  ///< update: [mbox]; receive: [sender, m]; finish: [timed_out]
  std::vector<StmtPtr> body;
};

struct Progress {
  SourceRange range;
  std::optional<int64_t> timeout_us;  ///< `timeout D` with a duration literal
  ExprPtr timeout;                    ///< `timeout e` with any other expression (microseconds)
  ExprPtr go_when;                    ///< `go when cond`
  bool wait = false;                  ///< `wait`: no timeout
  bool strict = false;                ///< `strict [K]`: never catch up
  std::optional<int64_t> strict_bound;  ///< K: bound on buffered future messages
  std::optional<int64_t> sync;        ///< `sync k`
};

struct Round {
  std::string name;
  SourceRange range;
  SourceRange name_range;
  int index = 0;                        ///< position in the cycle of rounds
  std::vector<VarDeclPtr> vars;         ///< round-local variables
  std::vector<Send> sends;
  std::vector<SendLoop> send_loops;     ///< `for q in S { sends }`
  std::optional<Handler> update;        ///< closed round
  std::optional<Handler> receive;       ///< event round
  std::optional<Handler> finish;        ///< event round
  Progress progress;
  const Type* message_type = nullptr;   ///< set by sema (unit if nothing is sent)
  bool poisoned = false;                ///< has a syntax error: sema skips it
  bool is_event() const { return receive.has_value() || finish.has_value(); }
};

// ---------------------------------------------------------------- top level

struct FnDecl {
  std::string name;
  SourceRange range;
  SourceRange name_range;
  std::vector<VarDeclPtr> params;
  TypeExprPtr result_type_expr;
  const Type* result_type = nullptr;
  ExprPtr body;                          ///< `= expr`; null with a block body
  std::vector<StmtPtr> block;            ///< `{ statements }`, which end in `return`
  bool has_block = false;
  bool used = false;
  bool from_import = false;
  bool poisoned = false;
  bool reads_consts = false;  ///< set by sema: the body reads a const, maybe through another fn
};

struct TypeAlias {
  std::string name;
  SourceRange range;
  TypeExprPtr type_expr;
  const Type* type = nullptr;
};

/// `enum NAME { A, B, ... }`: a type whose values are its variants,
/// numbered from 0 in the order written.
struct EnumDecl {
  std::string name;
  SourceRange range;
  std::vector<VarDeclPtr> variants;  ///< VarKind::Variant, index = number
  const Type* type = nullptr;        ///< set by sema
  bool from_import = false;
};

enum class SpecKind { Invariant, Property, Liveness, Assume };

struct Spec {
  SpecKind kind = SpecKind::Invariant;
  std::string name;
  SourceRange range;
  SourceRange name_range;
  ExprPtr pred;          ///< Liveness: the communication predicate of a good round
  ExprPtr body;          ///< the formula (Liveness: the goal)
  int64_t after_rounds = 0;  ///< Liveness: K
  bool from_import = false;
  bool poisoned = false;
};

/// `byzantine f`: up to f processes may send anything (docs/language.md §13.7).
struct FaultModel {
  ExprPtr count;         ///< f, an int over n and consts
  SourceRange range;
};

struct Import {
  std::string module;
  SourceRange range;
};

/// One parsed file, or (after sema merges imports) the whole program.
struct Program {
  std::string name;
  SourceRange name_range;
  bool is_module = false;
  std::vector<Import> imports;
  std::vector<TypeAlias> types;
  std::vector<EnumDecl> enums;
  std::vector<VarDeclPtr> consts;
  std::vector<VarDeclPtr> inputs;
  std::vector<VarDeclPtr> outputs;   ///< the decision (`output x: T`, written by decide); `output var`s are in vars
  std::vector<VarDeclPtr> vars;
  std::vector<VarDeclPtr> lets;
  std::vector<std::unique_ptr<FnDecl>> fns;
  std::vector<Round> rounds;
  std::vector<Spec> specs;
  std::vector<FaultModel> byzantine;  ///< at most one (sema); empty = no Byzantine faults
};

/// Writes the tree in the indented form printed by `psyncc dump-ast`.
std::string dump_ast(const Program& program, const SourceManager& sources);

}  // namespace psync
