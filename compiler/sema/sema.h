// sema.h: semantic analysis of a psync program (after imports are merged).
// In: a Program straight from the parser. Out: the same Program with every
// name resolved (Expr::decl / Expr::fn / Expr::builtin), every Expr::type
// set, every Round::message_type set, and implicit int->pid conversions made
// explicit (Builtin::ToPid). Errors and warnings go to the DiagnosticEngine.
#pragma once

#include "ast/ast.h"
#include "source/diagnostics.h"

namespace psync {

struct SemaOptions {
  bool warn_unused = true;
  /// The parser already reported errors: skip checks whose failure would
  /// only echo them (a protocol whose rounds were lost to recovery).
  bool after_syntax_errors = false;
};

/// Returns true when the program has no errors.
bool check_program(Program& program, TypeContext& types, DiagnosticEngine& diags, const SemaOptions& options = {});

}  // namespace psync
