// builder.h: what the files of compiler/parse share: byte offsets of ANTLR
// positions, the token pre-scan (prescan.cpp) and the AstBuilder, which walks
// the parse tree into the AST (declarations in build_decls.cpp, expressions
// and statements in build_exprs.cpp). Internal to psync_parse (ANTLR inside).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "parse/parse.h"

#include "PSyncLexer.h"
#include "PSyncParser.h"
#include "antlr4-runtime.h"

namespace psync::parse {

using P = PSyncParser;

/// Maps ANTLR character indices (code points) back to byte offsets.
class OffsetMap {
 public:
  explicit OffsetMap(std::string_view text);
  uint32_t byte(size_t cp) const {
    if (starts_.empty()) return static_cast<uint32_t>(std::min<size_t>(cp, size_));
    return cp < starts_.size() ? starts_[cp] : starts_.back();
  }
  /// The byte offset of a 1-based line and 0-based code-point column: the
  /// only position a token conjured by ANTLR's error recovery carries.
  uint32_t byte_at(size_t line, size_t column) const;

 private:
  uint32_t size_;
  std::vector<uint32_t> line_starts_;
  std::vector<uint32_t> starts_;  // byte offset of each code point, when not ASCII
};

/// 'text' for a diagnostic: shortened, control characters escaped.
std::string quote_token_text(std::string text);

/// Token pre-scan: reports lexical errors once, hides them from the parser,
/// and refuses input nested deeper than the limits (ParseLimits). Records the
/// offset of every error in `error_offsets`; false means "do not parse".
bool prescan_tokens(antlr4::CommonTokenStream& tokens, DiagnosticEngine& diags, uint32_t file, const OffsetMap& map,
                    const ParseLimits& limits, std::vector<uint32_t>& error_offsets);

/// The labelled-alternative contexts are leaf classes, so an exact typeid
/// test replaces dynamic_cast (which dominated the builder's profile).
template <typename T, typename From>
T* as(From* ctx) {
  return ctx && typeid(*ctx) == typeid(T) ? static_cast<T*>(ctx) : nullptr;
}

/// Parse tree -> Program. Also converts literals, checks array sizes and
/// duplicate round items, bounds the tree depth, and marks declarations that
/// contain a syntax error as poisoned.
class AstBuilder {
 public:
  AstBuilder(DiagnosticEngine& diags, uint32_t file, const OffsetMap& map, const ParseLimits& limits,
             const std::vector<uint32_t>& error_offsets)
      : diags_(diags), file_(file), map_(map), limits_(limits), error_offsets_(error_offsets) {}

  std::unique_ptr<Program> build(P::FileContext* ctx);

 private:
  // ---------------------------------------------------------- build_decls.cpp
  SourceRange range(antlr4::Token* start, antlr4::Token* stop) const;
  SourceRange range(antlr4::ParserRuleContext* ctx) const;
  SourceRange range(antlr4::tree::TerminalNode* node) const;
  static bool present(antlr4::tree::TerminalNode* node);
  static std::string id_text(antlr4::tree::TerminalNode* node);
  std::optional<int64_t> parse_int(antlr4::tree::TerminalNode* node);
  std::optional<int64_t> parse_duration_us(antlr4::tree::TerminalNode* node);
  std::optional<std::string> decode_string(antlr4::tree::TerminalNode* node);
  TypeExprPtr build_type(P::TypeContext* ctx, int depth = 0);
  VarDeclPtr make_var(VarKind kind, antlr4::tree::TerminalNode* id);
  VarDeclPtr top_var(VarKind kind, antlr4::tree::TerminalNode* id, P::TypeContext* type, P::ExprContext* init);
  void build_decl(P::DeclContext* ctx, Program& prog);
  void build_decl_inner(P::DeclContext* ctx, Program& prog);
  Spec spec(SpecKind kind, antlr4::tree::TerminalNode* id, antlr4::ParserRuleContext* ctx, P::ExprContext* pred,
            P::ExprContext* body);
  Round build_round(P::RoundDeclContext* c, int index);
  Send build_send(P::SendContext* s, int loop);
  void duplicate_item(const char* what, SourceRange r);
  void build_progress(P::ProgressClauseContext* ctx, Progress& pr);
  bool poisoned(antlr4::ParserRuleContext* ctx) const;

  // ---------------------------------------------------------- build_exprs.cpp
  ExprPtr make(ExprKind kind, SourceRange r);
  ExprPtr error_expr(SourceRange r) { return make(ExprKind::Error, r); }
  ExprPtr build_expr(P::ExprContext* ctx, int depth = 0);
  ExprPtr binary(P::ExprContext* l, antlr4::Token* op, P::ExprContext* rhs, SourceRange r, int d);
  ExprPtr binary_op(BinaryOp op, P::ExprContext* l, P::ExprContext* rhs, SourceRange r, int d);
  ExprPtr build_primary(P::PrimaryContext* ctx, int d);
  /// A condition; `a = b` (eq set) is reported as assignment-in-condition
  /// and built as `a == b`, so that the rest of the round is still checked.
  ExprPtr build_condition(P::ExprContext* cond, antlr4::Token* eq, P::ExprContext* rhs, int depth);
  MatchArm build_arm(P::MatchPatternContext* pat, antlr4::ParserRuleContext* arm);
  std::optional<int64_t> duration_literal(antlr4::tree::TerminalNode* node) { return parse_duration_us(node); }
  std::vector<StmtPtr> build_block(P::BlockContext* ctx, int depth);
  StmtPtr make_stmt(StmtKind kind, SourceRange r);
  StmtPtr build_if(P::IfChainContext* c, int depth);
  StmtPtr build_stmt(P::StmtContext* ctx, int depth);

  DiagnosticEngine& diags_;
  uint32_t file_;
  const OffsetMap& map_;
  const ParseLimits& limits_;
  bool depth_reported_ = false;
  const std::vector<uint32_t>& error_offsets_;
};

}  // namespace psync::parse
