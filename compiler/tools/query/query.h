// query.h: questions an editor asks about a typed Program, answered from the
// AST alone: what is at this position (node_at), where is it declared
// (definition), what is it (describe, for hover), and what does this file
// declare (document_symbols). The language server (tools/lsp) turns the
// answers into LSP messages; nothing here knows about JSON or LSP.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ast/ast.h"

namespace psync::query {

enum class NodeKind { None, Expr, Var, Fn, Round, Spec, TypeAlias, TypeName };

/// One node of the tree, and the part of the source it stands for.
struct Node {
  NodeKind kind = NodeKind::None;
  const Expr* expr = nullptr;        ///< Expr
  const VarDecl* var = nullptr;      ///< Var: a declaration (its name)
  const FnDecl* fn = nullptr;        ///< Fn: a declaration (its name)
  const Round* round = nullptr;      ///< Round (its name)
  const Spec* spec = nullptr;        ///< Spec (its name)
  const TypeAlias* alias = nullptr;  ///< TypeAlias (its name)
  const TypeExpr* type = nullptr;    ///< TypeName: a type as written
  SourceRange range;
};

/// The innermost node of `program` that covers byte `offset` of `file` (a
/// name, an expression, a written type), or kind None. An offset just past
/// the end of a name counts as on it (where an editor's cursor sits).
Node node_at(const Program& program, uint32_t file, uint32_t offset);

/// Where what `node` names is declared; invalid (file 0) for a built-in,
/// a literal or an expression that names nothing.
SourceRange definition(const Program& program, const Node& node);

/// Hover text in Markdown: the declaration or the type of the node.
std::string describe(const Program& program, const Node& node, const SourceManager& sources);

/// What a symbol is, in the terms of the LSP's SymbolKind.
enum class SymbolKind { Field = 8, Function = 12, Variable = 13, Constant = 14, Method = 6, Property = 7, Struct = 23, Event = 24, Enum = 10, EnumMember = 22 };

struct Symbol {
  std::string name;
  std::string detail;
  SymbolKind kind = SymbolKind::Variable;
  SourceRange range;      ///< the whole declaration
  SourceRange selection;  ///< its name
  std::vector<Symbol> children;
};

/// The declarations written in `file` (not those imported into it), in
/// source order; a round lists its variables and handlers as children.
std::vector<Symbol> document_symbols(const Program& program, uint32_t file);

}  // namespace psync::query
