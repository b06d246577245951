// fuzz_frontend.cpp: libFuzzer target over the whole psyncc front end.
// In: arbitrary bytes, taken as the text of one .psync file. It runs what
// `psyncc typecheck` runs (UTF-8 check, lexer, token pre-scan, parser, AST
// builder, import resolution, sema, diagnostic formatting), and on a clean
// program what `psyncc dump-ast` prints.
//
// Besides crashes, sanitizer reports, leaks and timeouts, it traps on broken
// front-end invariants:
//   - run_frontend_on_text says "ok" although an error was reported;
//   - a diagnostic points outside its file or has end < begin.
// PSYNC_FUZZ_VERBOSE=1 prints the diagnostics of each input (to reproduce).
// Build and run: tests/fuzz/run-fuzz.sh (see README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ast/ast.h"
#include "sema/frontend.h"
#include "source/diagnostics.h"

namespace {

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "psync_fuzz_frontend: invariant failed: %s\n", what);
  std::abort();
}

void check_range(const psync::Compilation& c, const psync::Diagnostic& d) {
  if (!d.range.valid()) return;
  if (d.range.file > c.sources.size()) invariant_failed("diagnostic names an unknown file");
  const std::string& text = c.sources.file(d.range.file).text();
  if (d.range.begin > d.range.end) invariant_failed("diagnostic range ends before it begins");
  if (d.range.end > text.size()) invariant_failed("diagnostic range runs past the end of its file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  psync::Compilation c;
  psync::CollectingConsumer consumer;
  bool ok = false;
  {
    psync::DiagnosticEngine diags(c.sources, consumer);
    psync::FrontendOptions options;
    // tests/fuzz/modules holds small modules (`import fuzzmod`) so that the
    // import resolver and the merge are exercised; the repository's stdlib/
    // is searched after it through the default directories.
    options.import_dirs.push_back(PSYNC_FUZZ_MODULE_DIR);
    std::string text(reinterpret_cast<const char*>(data), size);
    ok = psync::run_frontend_on_text(c, "fuzz.psync", std::move(text), diags, options);
    if (ok && diags.has_errors()) invariant_failed("front end returned ok with errors reported");
    if (ok && !c.program) invariant_failed("front end returned ok without a program");
  }
  static const bool verbose = std::getenv("PSYNC_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s", consumer.text.c_str());
    for (const auto& d : consumer.diagnostics)
      std::fprintf(stderr, "[%s] file %u bytes %u..%u\n", d.id.c_str(), d.range.file, d.range.begin, d.range.end);
  }
  for (const auto& d : consumer.diagnostics) {
    check_range(c, d);
    for (const auto& note : d.notes) check_range(c, note);
  }
  if (ok) {
    std::string dump = psync::dump_ast(*c.program, c.sources);
    if (dump.empty()) invariant_failed("dump_ast printed nothing for a valid program");
  }
  return 0;
}
