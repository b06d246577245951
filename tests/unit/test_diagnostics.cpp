// test_diagnostics.cpp: the emitter's format and the source manager.
#include <doctest/doctest.h>

#include "source/diagnostics.h"

using namespace psync;

TEST_CASE("line and column of offsets") {
  SourceFile f("a.psync", "ab\ncd\n\nef");
  CHECK(f.line_col(0).line == 1);
  CHECK(f.line_col(0).column == 1);
  CHECK(f.line_col(4).line == 2);
  CHECK(f.line_col(4).column == 2);
  CHECK(f.line_col(7).line == 4);
  CHECK(f.line_text(2) == "cd");
  CHECK(f.line_text(3).empty());
}

TEST_CASE("format: file:line:col, the line and a caret under the range") {
  SourceManager sm;
  uint32_t id = sm.add("x.psync", "protocol P\nvar y: int = zz + 1\n");
  CollectingConsumer out;
  {
    DiagnosticEngine d(sm, out);
    d.error("undeclared-name", {id, 24, 26}, "use of undeclared name 'zz'");
  }
  CHECK(out.text == "x.psync:2:14: error: use of undeclared name 'zz' [undeclared-name]\n"
                    "  var y: int = zz + 1\n"
                    "               ^~\n");
}

TEST_CASE("error cap: after kMaxErrors the engine says it stops") {
  SourceManager sm;
  uint32_t id = sm.add("x.psync", "x");
  CollectingConsumer out;
  {
    DiagnosticEngine d(sm, out);
    for (int i = 0; i < 500; ++i) d.error("e", {id, 0, 1}, "boom");
    CHECK(d.error_count() == 500);
  }
  CHECK(out.diagnostics.size() == DiagnosticEngine::kMaxErrors + 1);
  CHECK(out.diagnostics.back().id == "too-many-errors");
}

TEST_CASE("invalid UTF-8 is found at the right offset") {
  CHECK(find_invalid_utf8("hello") == std::string_view::npos);
  CHECK(find_invalid_utf8("caf\xc3\xa9") == std::string_view::npos);
  CHECK(find_invalid_utf8("ab\xff") == 2);
  CHECK(find_invalid_utf8("\xc0\x80") == 0);        // overlong NUL
  CHECK(find_invalid_utf8("x\xed\xa0\x80") == 1);   // surrogate
  CHECK(find_invalid_utf8("\xe2\x82") == 0);        // truncated
}
