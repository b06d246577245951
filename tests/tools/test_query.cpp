// test_query.cpp: the editor queries over a typed tree (tools/query): what is
// at a position, where it is declared, how it is described, and the symbols
// of a file; plus the LSP's position conversions (UTF-16 and UTF-8).
#include <doctest/doctest.h>

#include "sema/frontend.h"
#include "tools/lsp/positions.h"
#include "tools/query/query.h"

namespace psync {

namespace {

struct Typed {
  Compilation c;
  CollectingConsumer sink;
  bool ok = false;
  std::string text;
  explicit Typed(std::string t) : text(std::move(t)) {
    FrontendOptions o;
    o.import_dirs.push_back(std::string(PSYNC_SOURCE_DIR) + "/stdlib");
    DiagnosticEngine diags(c.sources, sink);
    ok = run_frontend_on_text(c, "q.psync", text, diags, o);
  }
  uint32_t at(const std::string& needle, size_t nth = 0) const {
    size_t p = text.find(needle);
    while (nth-- > 0) p = text.find(needle, p + 1);
    REQUIRE(p != std::string::npos);
    return static_cast<uint32_t>(p);
  }
  query::Node node(const std::string& needle, size_t nth = 0) const {
    return query::node_at(*c.program, c.main_file, at(needle, nth));
  }
  std::string text_of(SourceRange r) const { return c.sources.file(r.file).text().substr(r.begin, r.end - r.begin); }
};

const char* kProgram =
    "protocol Q\n"
    "import quorum\n"
    "type Msg = { v: int, ts: int }\n"
    "input init: int\n"
    "output decision: int\n"
    "var x: int = init\n"
    "var last: Msg = { v: 0, ts: 0 }\n"
    "let coord: pid = phase % n\n"
    "round collect {\n"
    "  var heard: int = 0\n"
    "  send { v: x, ts: 1 } to coord\n"
    "  update(mbox) {\n"
    "    heard = mbox.size + heard\n"
    "    if majority(heard) { decide(mbox.max_by(m => m.ts).v) }\n"
    "  }\n"
    "}\n"
    "invariant same: forall p, q: p.decided && q.decided ==> p.decision == q.decision\n";

}  // namespace

TEST_CASE("query: node_at finds the innermost name or expression, with its type") {
  Typed t(kProgram);
  REQUIRE(t.ok);
  auto n = t.node("heard = mbox");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(n.expr->kind == ExprKind::Name);
  CHECK(t.text_of(n.range) == "heard");
  CHECK(query::describe(*t.c.program, n, t.c.sources).find("var heard: int") != std::string::npos);

  n = t.node("size");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(t.text_of(n.range) == "mbox.size");
  CHECK(type_name(n.expr->type) == "int");

  n = t.node("m.ts).v");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(n.expr->decl != nullptr);
  CHECK(n.expr->decl->kind == VarKind::LambdaParam);
  CHECK(type_name(n.expr->type) == "{ v: int, ts: int }");

  // A cursor just past a name (where editors put it) still finds the name.
  n = query::node_at(*t.c.program, t.c.main_file, t.at("coord: pid") + 5);
  CHECK(n.kind == query::NodeKind::Var);

  // Nothing on a blank stretch.
  CHECK(query::node_at(*t.c.program, t.c.main_file, t.at("  update") ).kind == query::NodeKind::None);
}

TEST_CASE("query: definition goes to the declaration, into imported modules too") {
  Typed t(kProgram);
  REQUIRE(t.ok);
  auto def = query::definition(*t.c.program, t.node("heard)"));
  CHECK(def.file == t.c.main_file);
  CHECK(def.begin == t.at("heard: int"));

  def = query::definition(*t.c.program, t.node("majority"));
  REQUIRE(def.valid());
  CHECK(def.file != t.c.main_file);
  CHECK(t.c.sources.file(def.file).name().find("quorum.psync") != std::string::npos);
  CHECK(t.text_of(def) == "majority");

  def = query::definition(*t.c.program, t.node("Msg = {", 0));
  CHECK(def.begin == t.at("Msg"));
  def = query::definition(*t.c.program, t.node("Msg =", 0));
  CHECK(def.valid());
  auto use = t.node("Msg", 1);
  REQUIRE(use.kind == query::NodeKind::TypeName);
  CHECK(query::definition(*t.c.program, use).begin == t.at("Msg"));
  CHECK(query::describe(*t.c.program, use, t.c.sources).find("type Msg = { v: int, ts: int }") != std::string::npos);

  // p.decision in a spec: the output of each process.
  auto field = t.node("decision ==");
  REQUIRE(field.kind == query::NodeKind::Expr);
  CHECK(query::definition(*t.c.program, field).begin == t.at("decision: int"));

  // Built-ins and literals have no declaration.
  CHECK_FALSE(query::definition(*t.c.program, t.node("phase")).valid());
  CHECK_FALSE(query::definition(*t.c.program, t.node("0 }")).valid());
}

TEST_CASE("query: document symbols are this file's declarations in order") {
  Typed t(kProgram);
  REQUIRE(t.ok);
  auto symbols = query::document_symbols(*t.c.program, t.c.main_file);
  std::vector<std::string> names;
  for (auto& s : symbols) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"Msg", "init", "decision", "x", "last", "coord", "collect", "same"});
  auto& round = symbols[6];
  CHECK(round.kind == query::SymbolKind::Method);
  REQUIRE(round.children.size() == 2);
  CHECK(round.children[0].name == "heard");
  CHECK(round.children[1].name == "update(mbox)");
  for (auto& s : symbols) {
    CHECK(s.range.begin <= s.selection.begin);
    CHECK(s.selection.end <= s.range.end);
  }
  CHECK(symbols.back().detail == "invariant");
}

TEST_CASE("query: enums, match arms, send loops and fn blocks are found and listed") {
  Typed t(
      "protocol E\n"
      "enum Role { Follower, Leader }\n"
      "input init: int\n"
      "output decision: int\n"
      "var role: Role = Follower\n"
      "fn twice(k: int): int {\n"
      "  let d = k * 2\n"
      "  return d\n"
      "}\n"
      "round a {\n"
      "  for q in pids { send twice(init) to q }\n"
      "  update(mbox) {\n"
      "    match role {\n"
      "      Leader => { decide(mbox.size) }\n"
      "      _ => { role = Leader }\n"
      "    }\n"
      "  }\n"
      "}\n");
  REQUIRE(t.ok);
  // A variant used in a match arm's body: its enum type, and its declaration.
  auto n = t.node("Leader }\n    }");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(query::describe(*t.c.program, n, t.c.sources).find("Role") != std::string::npos);
  auto def = query::definition(*t.c.program, n);
  CHECK(t.text_of(def) == "Leader");
  CHECK(def.begin == t.at("Leader }"));
  // Inside a fn block and a send loop.
  n = t.node("d\n}");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(t.text_of(query::definition(*t.c.program, n)) == "d");
  n = t.node("q }");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(query::definition(*t.c.program, n).begin == t.at("q in"));
  // The enum is a symbol with its variants as children.
  auto symbols = query::document_symbols(*t.c.program, t.c.main_file);
  REQUIRE(!symbols.empty());
  CHECK(symbols[0].name == "Role");
  CHECK(symbols[0].kind == query::SymbolKind::Enum);
  REQUIRE(symbols[0].children.size() == 2);
  CHECK(symbols[0].children[1].name == "Leader");
  CHECK(symbols[0].children[1].kind == query::SymbolKind::EnumMember);
}

TEST_CASE("query: bytes<K> types and string literals are found and described") {
  Typed t(
      "protocol B\n"
      "input cmd: bytes<16>\n"
      "output decision: bytes<16>\n"
      "var x: bytes<16> = cmd\n"
      "round a {\n"
      "  send x to all\n"
      "  update(mbox) { if x == \"stop\" { decide(mbox.min) } }\n"
      "}\n");
  REQUIRE(t.ok);
  auto n = t.node("x == ");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(query::describe(*t.c.program, n, t.c.sources).find("var x: bytes<16>") != std::string::npos);
  n = t.node("\"stop\"");
  REQUIRE(n.kind == query::NodeKind::Expr);
  CHECK(n.expr->kind == ExprKind::StringLit);
  CHECK(t.text_of(n.range) == "\"stop\"");
  n = t.node("bytes<16>\noutput");
  REQUIRE(n.kind == query::NodeKind::TypeName);
  CHECK(query::describe(*t.c.program, n, t.c.sources).find("bytes<16>") != std::string::npos);
  auto symbols = query::document_symbols(*t.c.program, t.c.main_file);
  REQUIRE(symbols.size() >= 3);
  CHECK(symbols[0].name == "cmd");
}

TEST_CASE("lsp positions: UTF-16 and UTF-8 columns, clamping, URIs") {
  std::string text = "a\xC3\xA9" "b\n\xF0\x9F\x99\x82x\nlast";  // aéb / 🙂x / last
  lsp::LineIndex u16(text, lsp::Encoding::Utf16), u8(text, lsp::Encoding::Utf8);
  uint32_t x = static_cast<uint32_t>(text.find('x'));
  CHECK(u16.position(x).line == 1);
  CHECK(u16.position(x).character == 2);  // the emoji is two UTF-16 units
  CHECK(u8.position(x).character == 4);   // and four bytes
  CHECK(u16.offset({1, 2}) == x);
  CHECK(u8.offset({1, 4}) == x);
  CHECK(u16.offset({0, 2}) == text.find('b'));
  CHECK(u16.offset({0, 99}) == text.find('\n'));  // past the end of a line: its end
  CHECK(u16.offset({99, 0}) == text.size());     // past the last line: the end
  CHECK(lsp::uri_to_path("file:///a%20b/c.psync") == "/a b/c.psync");
  CHECK(lsp::uri_to_path("untitled:Untitled-1") == "untitled:Untitled-1");
  CHECK(lsp::path_to_uri("/a b/c.psync") == "file:///a%20b/c.psync");
}

}  // namespace psync
