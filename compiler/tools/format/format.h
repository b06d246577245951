// format.h: psyncc fmt, the formatter. It prints a file's AST in one style
// (docs/tools.md) and puts back the comments that the parser drops, taken
// from the token stream (parse/tokens.h). It keeps the line breaks written
// inside expressions, re-indented, and the parentheses, and never reorders
// or drops code: formatting does not change the program (tests/tools).
#pragma once

#include <optional>
#include <string>

#include "source/diagnostics.h"

namespace psync {

/// Formats one file already added to the SourceManager. Returns the new
/// text, or nullopt when the file does not parse (the errors go to `diags`).
/// Runs on a large stack (run_with_large_stack), like the front end.
std::optional<std::string> format_file(uint32_t file_id, const SourceManager& sources, DiagnosticEngine& diags);

/// Convenience for tests and the language server: formats `text` as a file
/// named `name`; syntax errors go to `errors` as formatted diagnostics.
std::optional<std::string> format_text(const std::string& name, const std::string& text, std::string* errors = nullptr);

}  // namespace psync
