// frontend.h: the whole front end in one call: load a file, parse it, parse
// and merge the stdlib modules it imports, then run sema.
// In: a path. Out: a Compilation that owns the sources, the types and the
// typed Program, which codegen and the dumps consume.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "parse/parse.h"
#include "sema/sema.h"
#include "source/diagnostics.h"

namespace psync {

struct FrontendOptions {
  /// Directories searched for `import m` (as m.psync), before the defaults:
  /// $PSYNC_STDLIB, the build tree's stdlib/, the installed share/psync/stdlib.
  std::vector<std::string> import_dirs;
  ParseLimits limits;
  SemaOptions sema;
  /// Stop after parsing (dump-ast of a file that has type errors).
  bool parse_only = false;
};

struct Compilation {
  SourceManager sources;
  TypeContext types;
  std::unique_ptr<Program> program;
  uint32_t main_file = 0;
};

/// Runs the front end on a file. `diags` must report against c.sources.
/// Returns true when there is a program without errors in c.program.
bool run_frontend(Compilation& c, const std::string& path, DiagnosticEngine& diags,
                  const FrontendOptions& options);

/// Same, on text held in memory (tests, the fuzzer).
bool run_frontend_on_text(Compilation& c, const std::string& name, std::string text, DiagnosticEngine& diags,
                          const FrontendOptions& options);

/// The stdlib directories searched after FrontendOptions::import_dirs.
std::vector<std::string> default_import_dirs();

/// Runs `fn` on a thread with a large stack (256 MB), so that recursive tree
/// walks over deep (but within-limits) input cannot overflow.
void run_with_large_stack(const std::function<void()>& fn);

}  // namespace psync
