// test_format.cpp: psyncc fmt's promises, checked in process: the style of
// docs/tools.md on small cases; and, on every .psync file of the repository
// and on copies of them with comments and line breaks sprinkled between
// tokens, that formatting keeps the program (the dump of the tree, without
// positions, is unchanged, typed where the file type-checks), keeps every
// comment in order, and is idempotent.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "parse/tokens.h"
#include "sema/frontend.h"
#include "tools/format/format.h"

namespace psync {

namespace {

std::string fmt_ok(const std::string& text) {
  std::string errors;
  auto out = format_text("t.psync", text, &errors);
  INFO(errors);
  REQUIRE(out.has_value());
  return *out;
}

// The tree as `psyncc dump-ast` prints it, positions removed; typed when the
// front end accepts the file, else as parsed.
struct Dump {
  bool parsed = false;
  bool typed = false;
  std::string text;
};

Dump dump_of(const std::string& text) {
  static const std::regex positions(" @[0-9]+:[0-9]+");
  Dump d;
  for (bool typed : {true, false}) {
    Compilation c;
    CollectingConsumer sink;
    FrontendOptions o;
    o.import_dirs.push_back(std::string(PSYNC_SOURCE_DIR) + "/stdlib");
    o.parse_only = !typed;
    bool ok;
    {
      DiagnosticEngine diags(c.sources, sink);
      ok = run_frontend_on_text(c, "t.psync", text, diags, o);
    }
    if (!ok) continue;
    d.parsed = true;
    d.typed = typed;
    d.text = std::regex_replace(dump_ast(*c.program, c.sources), positions, "");
    return d;
  }
  return d;
}

std::vector<std::string> comments_of(const std::string& text) {
  SourceManager sources;
  uint32_t id = sources.add("t.psync", text);
  std::vector<std::string> out;
  for (auto& t : lex_file(id, sources)) {
    if (!t.is_comment()) continue;
    std::string s;
    for (char c : t.text)
      if (c != '\r') s += c;
    if (s.rfind("//", 0) == 0)  // fmt drops trailing white space, in line comments too
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    out.push_back(s);
  }
  return out;
}

// The checks every formatted file must pass. False when `text` does not
// parse (a deliberately malformed test input).
bool check_formatting_keeps_program(const std::string& name, const std::string& text) {
  std::string errors;
  auto once = format_text(name, text, &errors);
  if (!once) return false;
  INFO(name);
  auto twice = format_text(name, *once, &errors);
  REQUIRE(twice.has_value());
  CHECK_MESSAGE(*twice == *once, "not idempotent:\n--- once\n" << *once << "--- twice\n" << *twice);
  CHECK(comments_of(*once) == comments_of(text));
  Dump before = dump_of(text), after = dump_of(*once);
  if (before.parsed) {
    CHECK(after.typed == before.typed);
    CHECK_MESSAGE(after.text == before.text, "the tree changed:\n--- before\n" << before.text << "--- after\n" << after.text);
  }
  return true;
}

std::vector<std::filesystem::path> repository_psync_files() {
  std::vector<std::filesystem::path> out;
  for (const char* dir : {"examples", "stdlib", "tests"})
    for (auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(PSYNC_SOURCE_DIR) / dir))
      if (e.is_regular_file() && e.path().extension() == ".psync") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `text` with comments and line breaks inserted after random tokens (not
// after a line comment: that would only lengthen it), from the back so that
// the offsets hold.
std::string sprinkle(const std::string& text, const std::vector<SourceToken>& tokens, std::mt19937& rng) {
  const char* inserts[] = {" /* c */ ", "  // c\n", "\n\n", "\n// own line\n", "\n", " /* a\n   b */"};
  std::string copy = text;
  std::vector<uint32_t> at;
  for (auto& t : tokens)
    if (!t.is_comment() && rng() % 5 == 0) at.push_back(t.range.end);
  for (auto it = at.rbegin(); it != at.rend(); ++it) copy.insert(*it, inserts[rng() % std::size(inserts)]);
  return copy;
}

}  // namespace

TEST_CASE("fmt: spacing, indentation and one blank line at most") {
  CHECK(fmt_ok("protocol   P\n\n\n\ninput  init : int\nvar x:int=init\nround a{send x to all\n"
               "update( mbox ){ if mbox.size>n/2{x=mbox.min}\n x+=1 } }\n") ==
        "protocol P\n"
        "\n"
        "input init: int\n"
        "var x: int = init\n"
        "round a {\n"
        "  send x to all\n"
        "  update(mbox) {\n"
        "    if mbox.size > n / 2 { x = mbox.min }\n"
        "    x += 1\n"
        "  }\n"
        "}\n");
}

TEST_CASE("fmt: comments stay where they were and trailing ones line up") {
  std::string in =
      "/// Doc.\n"
      "protocol P // the name\n"
      "input init: int   // a\n"
      "var longer_name: int = init // b\n"
      "\n"
      "// before the round\n"
      "round a {\n"
      "  send init to all /* to everyone */\n"
      "  update(mbox) {\n"
      "    // first\n"
      "    longer_name = /* inline */ 1\n"
      "    // last\n"
      "  }\n"
      "}\n";
  CHECK(fmt_ok(in) ==
        "/// Doc.\n"
        "protocol P                   // the name\n"
        "input init: int              // a\n"
        "var longer_name: int = init  // b\n"
        "\n"
        "// before the round\n"
        "round a {\n"
        "  send init to all  /* to everyone */\n"
        "  update(mbox) {\n"
        "    // first\n"
        "    longer_name = /* inline */ 1\n"
        "    // last\n"
        "  }\n"
        "}\n");
}

TEST_CASE("fmt: line breaks inside expressions are kept, after the operator, aligned in brackets") {
  std::string in =
      "protocol P\n"
      "input init: int\n"
      "var x: int = init\n"
      "round a { send x to all }\n"
      "invariant i: forall p, q: p.x == q.x\n"
      "  || p.x > 0 &&\n"
      "  (p.x < 5 ||\n"
      "      q.x < 5)\n";
  CHECK(fmt_ok(in) ==
        "protocol P\n"
        "input init: int\n"
        "var x: int = init\n"
        "round a {\n"
        "  send x to all\n"
        "}\n"
        "invariant i: forall p, q: p.x == q.x ||\n"
        "    p.x > 0 &&\n"
        "    (p.x < 5 ||\n"
        "     q.x < 5)\n");
}

TEST_CASE("fmt: parentheses, else if, progress order and the spelling of durations are kept") {
  std::string in =
      "protocol P\n"
      "input init: int\n"
      "var x: int = init\n"
      "round a {\n"
      "  send ((x)) to all if (x > 0)\n"
      "  update(mbox) { if x == 1 { x = 2 } else if x == 3 { x = 4 } else { if true { x = 5 } } }\n"
      "  progress go when mbox.size > 1 , timeout 1000us,strict 3\n"
      "}\n"
      "liveness t: after 1 rounds where true: forall p: p.x == 1\n";
  CHECK(fmt_ok(in) ==
        "protocol P\n"
        "input init: int\n"
        "var x: int = init\n"
        "round a {\n"
        "  send ((x)) to all if (x > 0)\n"
        "  update(mbox) { if x == 1 { x = 2 } else if x == 3 { x = 4 } else { if true { x = 5 } } }\n"
        "  progress go when mbox.size > 1, timeout 1000us, strict 3\n"
        "}\n"
        "liveness t: after 1 round where true: forall p: p.x == 1\n");
}

TEST_CASE("fmt: a block with two statements on one line is split and an empty one is {}") {
  CHECK(fmt_ok("protocol P\nvar x: int = 0\nround a { send x to all update(m) { x = 1; x = 2 } }\n"
               "round b {\n  send x to all\n  receive(s, m) {\n  }\n}\n") ==
        "protocol P\nvar x: int = 0\nround a {\n  send x to all\n  update(m) {\n    x = 1\n    x = 2\n  }\n}\n"
        "round b {\n  send x to all\n  receive(s, m) {}\n}\n");
}

TEST_CASE("fmt: enums, send loops, computed timeouts, match, return, log, model code and bit operators") {
  std::string in =
      "protocol N\n"
      "enum Role{Follower,Leader,}\n"
      "enum Phase {\n"
      "  Propose,\n"
      "  Vote,\n"
      "}\n"
      "input init: int\n"
      "output decision: int\n"
      "output var count: int = 0\n"
      "var role: Role = Follower\n"
      "var seen: set<pid> = set()\n"
      "var small: set<0..4> = set()\n"
      "model var steps: int = 0\n"
      "fn twice(k: int): int {\n"
      "  let d=k<<1\n"
      "  return d | 1\n"
      "}\n"
      "round a {\n"
      "  for q in pids{send init to q if q!=me}\n"
      "  progress timeout 2*10ms\n"
      "  update(mbox) {\n"
      "    match role {\n"
      "      Leader=>{ decide(mbox.size) }\n"
      "      _ => { count += 1 }\n"
      "    }\n"
      "    let w: int = match role {Leader=>1,Follower=>2,}\n"
      "    log \"count {}\" ,count\n"
      "    model {steps+=1}\n"
      "    count^=w&3\n"
      "  }\n"
      "}\n"
      "invariant agree: forall p, q: p.decided && q.decided ==> p.decision == q.decision\n";
  std::string want =
      "protocol N\n"
      "enum Role { Follower, Leader }\n"
      "enum Phase {\n"
      "  Propose,\n"
      "  Vote,\n"
      "}\n"
      "input init: int\n"
      "output decision: int\n"
      "output var count: int = 0\n"
      "var role: Role = Follower\n"
      "var seen: set<pid> = set()\n"
      "var small: set<0..4> = set()\n"
      "model var steps: int = 0\n"
      "fn twice(k: int): int {\n"
      "  let d = k << 1\n"
      "  return d | 1\n"
      "}\n"
      "round a {\n"
      "  for q in pids { send init to q if q != me }\n"
      "  progress timeout 2 * 10ms\n"
      "  update(mbox) {\n"
      "    match role {\n"
      "      Leader => { decide(mbox.size) }\n"
      "      _ => { count += 1 }\n"
      "    }\n"
      "    let w: int = match role { Leader => 1, Follower => 2 }\n"
      "    log \"count {}\", count\n"
      "    model { steps += 1 }\n"
      "    count ^= w & 3\n"
      "  }\n"
      "}\n"
      "invariant agree: forall p, q: p.decided && q.decided ==> p.decision == q.decision\n";
  CHECK(fmt_ok(in) == want);
  CHECK(fmt_ok(want) == want);
  CHECK(check_formatting_keeps_program("t.psync", in));
  // Comments and line breaks anywhere in the new syntax survive too.
  SourceManager sources;
  auto tokens = lex_file(sources.add("t.psync", want), sources);
  std::mt19937 rng(14);
  for (int v = 0; v < 40; ++v) {
    std::string copy = sprinkle(want, tokens, rng);
    INFO("variant " << v << ":\n" << copy);
    CHECK(check_formatting_keeps_program("t.psync", copy));
  }
}

TEST_CASE("fmt: a file with syntax errors is not formatted") {
  std::string errors;
  CHECK_FALSE(format_text("bad.psync", "protocol P\nround a { send x to }\n", &errors).has_value());
  CHECK(errors.find("[syntax-error]") != std::string::npos);
  CHECK_FALSE(format_text("bad.psync", "protocol P\nvar x: int = 99999999999999999999\n", &errors).has_value());
  CHECK(errors.find("[integer-overflow]") != std::string::npos);
}

TEST_CASE("fmt: every .psync file of the repository keeps its program, its comments, and is idempotent") {
  int formatted = 0;
  for (auto& path : repository_psync_files()) {
    if (check_formatting_keeps_program(path.string(), read(path))) ++formatted;
  }
  MESSAGE(formatted << " files formatted");
  CHECK(formatted > 150);
}

TEST_CASE("fmt: comments and line breaks sprinkled between tokens survive, in order") {
  std::mt19937 rng(20261129);
  int variants = 0;
  for (auto& path : repository_psync_files()) {
    std::string text = read(path);
    SourceManager sources;
    uint32_t id = sources.add("t.psync", text);
    auto tokens = lex_file(id, sources);
    if (tokens.empty() || !format_text("t.psync", text)) continue;
    // One variant a file keeps the test to seconds; the seed makes it repeatable.
    std::string copy = sprinkle(text, tokens, rng);
    INFO("variant of " << path.string() << ":\n" << copy);
    CHECK(check_formatting_keeps_program(path.string(), copy));
    ++variants;
  }
  CHECK(variants > 150);
}

}  // namespace psync
