// parse.h: source text -> AST. Runs the ANTLR lexer and parser generated from
// grammar/PSync.g4 and converts the parse tree into a psync::Program.
// Lexical and syntax errors go to the DiagnosticEngine; the returned Program
// holds whatever could be recovered, with ExprKind::Error in the gaps.
#pragma once

#include <memory>

#include "ast/ast.h"
#include "source/diagnostics.h"

namespace psync {

/// Limits that keep deeply nested or pathological input from exhausting the
/// stack: beyond them the parser reports an error instead of recursing.
struct ParseLimits {
  int max_bracket_depth = 256;
  int max_operator_chain = 1000;
  int max_expr_depth = 2000;
  int max_tokens = 200000;  ///< including comments and white space
};

/// Parses one file already added to the SourceManager.
std::unique_ptr<Program> parse_file(uint32_t file_id, const SourceManager& sources,
                                    DiagnosticEngine& diags, const ParseLimits& limits = {});

}  // namespace psync
