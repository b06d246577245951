// test_bytes.cpp: bytes<K> and composite outputs, from the type checker to
// the generated code: literals, widening, order, `.len`, the mailbox
// operations over bytes, bytes inputs through init, composite decisions
// and their conflicts, the state printer, and the psync_type descriptions
// drivers read (JIT-compiled, stepped in lock step by lockstep.h).
#include <doctest/doctest.h>

#include <cstring>

#include "codegen/codegen.h"
#include "frontend_helpers.h"
#include "lockstep.h"

using namespace psync;
using namespace psync::test;

namespace {

struct Jit {
  std::unique_ptr<Checked> front;
  std::unique_ptr<JitProtocol> jit;
  const psync_protocol_desc& d() const { return *jit->descriptor(); }
};

Jit jit_text(const std::string& text) {
  Jit c;
  c.front = check_text(text);
  INFO(c.front->diags.text);
  REQUIRE(c.front->ok);
  std::string error;
  c.jit = jit_compile(*c.front->c->program, c.front->c->sources, 2, error);
  INFO(error);
  REQUIRE(c.jit);
  return c;
}

// A bytes input's word: the address of [length][bytes] (abi.h, init).
struct BytesArg {
  std::vector<int64_t> buf;
  explicit BytesArg(const std::string& s) : buf(1 + (s.size() + 7) / 8, 0) {
    buf[0] = int64_t(s.size());
    std::memcpy(buf.data() + 1, s.data(), s.size());
  }
  int64_t word() const { return int64_t(reinterpret_cast<uintptr_t>(buf.data())); }
};

// The bytes of a bytes<K> value at `p` (its length clamped to 0..K).
std::string bytes_at(const void* p, int64_t k) {
  int64_t len;
  std::memcpy(&len, p, 8);
  len = std::max<int64_t>(0, std::min(len, k));
  return std::string(static_cast<const char*>(p) + 8, size_t(len));
}

// One round: every process sends its bytes<16> input, then decides `expr`
// over the mailbox of those inputs.
std::string decide_bytes(const std::string& expr, const std::vector<std::string>& inputs, int p = 0) {
  Jit c = jit_text("protocol B\ninput k: bytes<16>\noutput decision: bytes<16>\nround a {\n  send k to all\n"
                   "  update(mbox) { decide(" + expr + ") }\n}\n");
  std::vector<BytesArg> args;
  for (auto& s : inputs) args.emplace_back(s);
  std::vector<std::vector<int64_t>> words;
  for (auto& a : args) words.push_back({a.word()});
  Lockstep ls(c.d(), int(inputs.size()), words);
  ls.step();
  REQUIRE(ls.decided(p));
  return bytes_at(static_cast<const char*>(ls.state(p)) + c.d().output.offset, 16);
}

bool holds(const std::string& cond, const std::string& decls = "") {
  Jit c = jit_text("protocol B\ninput k: int\noutput decision: bool\n" + decls +
                   "\nround a {\n  send k to all\n  update(mbox) { decide(" + cond + ") }\n}\n");
  Lockstep ls(c.d(), 1, {{0}});
  ls.step();
  REQUIRE(ls.decided(0));
  return ls.decision(0) != 0;
}

}  // namespace

TEST_CASE("bytes<K>: literals, escapes, length and equality") {
  CHECK(holds("\"abc\".len == 3"));
  CHECK(holds("\"a\\x00b\".size == 3"));
  CHECK(holds("v.len == 0", "var v: bytes<8> = \"\""));
  CHECK(holds("v == \"hi \\\"x\\\"\"", "var v: bytes<8> = \"hi \\\"x\\\"\""));
  CHECK_FALSE(holds("v == \"hi\"", "var v: bytes<8> = \"hi!\""));
  // Widening: a bytes<3> literal stored in a bytes<64> compares equal to it.
  CHECK(holds("v == w", "var v: bytes<64> = \"abc\"\nvar w: bytes<3> = \"abc\""));
  CHECK(holds("w == v", "var v: bytes<64> = \"abc\"\nvar w: bytes<3> = \"abc\""));
  CHECK(holds("v != w", "var v: bytes<64> = \"abd\"\nvar w: bytes<3> = \"abc\""));
}

TEST_CASE("bytes<K>: a total order, lexicographic with prefixes first") {
  CHECK(holds("\"\" < \"a\""));
  CHECK(holds("\"a\" < \"ab\""));
  CHECK(holds("\"ab\" < \"b\""));
  CHECK(holds("\"a\\x00\" > \"a\""));          // a zero byte still makes it longer
  CHECK(holds("\"\\xff\" > \"\\x7f\\xff\""));   // bytes compare unsigned
  CHECK(holds("\"abcdefgh1\" < \"abcdefgh2\""));  // past the first data word
  CHECK(holds("\"abcdefghi\" <= \"abcdefghi\" && \"abcdefghi\" >= \"abcdefghi\""));
  CHECK_FALSE(holds("\"b\" < \"ab\""));
  CHECK(holds("v < w", "var v: bytes<4> = \"abcd\"\nvar w: bytes<40> = \"abcde\""));
}

TEST_CASE("bytes<K>: min, max, most_frequent, min_most_frequent, count over a mailbox") {
  const std::vector<std::string> in = {"pear", "apple", "fig", "apple", "pear", "fig"};
  CHECK(decide_bytes("mbox.min", in) == "apple");
  CHECK(decide_bytes("mbox.max", in) == "pear");
  // Three values twice each: most_frequent takes the lowest sender's, the
  // min variant the least value.
  CHECK(decide_bytes("mbox.most_frequent", in) == "pear");
  CHECK(decide_bytes("mbox.min_most_frequent", in) == "apple");
  CHECK(decide_bytes("mbox.count(\"fig\") == 2 ? k : \"\"", in, 2) == "fig");
  CHECK(decide_bytes("mbox.filter(m => m.len > 3).min", in) == "apple");
  CHECK(decide_bytes("mbox.max_by(m => m.len)", in) == "apple");
}

TEST_CASE("bytes inputs: init copies the driver's buffer, zero-padded and clamped to K") {
  Jit c = jit_text("protocol B\ninput k: bytes<10>\noutput decision: bytes<10>\nround a {\n  send k to all\n"
                   "  update(mbox) { decide(mbox[me]) }\n}\n");
  const psync_protocol_desc& d = c.d();
  CHECK(d.inputs[0].kind == PSYNC_KIND_BYTES);
  REQUIRE(d.input_types != nullptr);
  CHECK(d.input_types[0]->kind == PSYNC_TYPE_BYTES);
  CHECK(d.input_types[0]->count == 10);
  CHECK(d.output.kind == PSYNC_KIND_BYTES);
  REQUIRE(d.output_type != nullptr);
  CHECK(d.output_type->count == 10);
  // The 4-word header, then 2 words of data after the length word, for
  // each of input and output.
  CHECK(d.state_size(3) == 8 * (4 + 3 + 3));
  BytesArg long_value("0123456789abcdef");  // longer than K: init keeps 10 bytes
  BytesArg short_value("xy");
  Lockstep ls(d, 3, {{long_value.word()}, {short_value.word()}, {0}});  // 0: empty
  const char* s1 = static_cast<const char*>(ls.state(1));
  CHECK(bytes_at(static_cast<const char*>(ls.state(0)) + d.inputs[0].offset, 10) == "0123456789");
  CHECK(bytes_at(s1 + d.inputs[0].offset, 10) == "xy");
  // The padding after "xy" is zero, so values stay canonical.
  uint64_t data_word;
  std::memcpy(&data_word, s1 + d.inputs[0].offset + 8, 8);
  CHECK(data_word == uint64_t('x') + (uint64_t('y') << 8));
  CHECK(bytes_at(static_cast<const char*>(ls.state(2)) + d.inputs[0].offset, 10).empty());
  ls.step();
  CHECK(bytes_at(static_cast<const char*>(ls.state(1)) + d.output.offset, 10) == "xy");
  CHECK(ls.print(1).find("k=\"xy\"") != std::string::npos);
}

TEST_CASE("bytes: the state printer escapes quotes and non-printable bytes") {
  Jit c = jit_text("protocol B\ninput k: int\nvar v: bytes<8> = \"a\\\"\\n\\xff\"\nround a {\n  send k to all\n"
                   "  update(mbox) { v = v }\n}\n");
  Lockstep ls(c.d(), 1, {{0}});
  CHECK(ls.print(0) == "k=0 v=\"a\\\"\\x0a\\xff\"");
}

TEST_CASE("a message whose length word lies is read clamped to K") {
  Jit c = jit_text("protocol B\ninput k: bytes<8>\noutput decision: int\nround a {\n  send k to all\n"
                   "  update(mbox) { decide(mbox[me].len) }\n}\n");
  const psync_protocol_desc& d = c.d();
  BytesArg v("abc");
  Lockstep ls(d, 1, {{v.word()}});
  // Corrupt the stored length as a faulty peer's message would carry it.
  int64_t huge = 1000;
  std::memcpy(static_cast<char*>(ls.state(0)) + d.inputs[0].offset, &huge, 8);
  ls.step();
  CHECK(ls.decision(0) == 8);
}

TEST_CASE("composite outputs: a record, a tuple, an array; conflicts compare whole values") {
  Jit rec = jit_text("protocol R\ninput k: int\noutput decision: { v: int, who: pid }\nround a {\n  send k to all\n"
                     "  update(mbox) { decide({ v: mbox.max, who: me }) }\n}\n");
  const psync_protocol_desc& d = rec.d();
  CHECK(d.output.kind == PSYNC_KIND_OTHER);
  REQUIRE(d.output_type != nullptr);
  CHECK(d.output_type->kind == PSYNC_TYPE_RECORD);
  CHECK(d.output_type->count == 2);
  CHECK(std::string(d.output_type->names[1]) == "who");
  CHECK(d.output_type->elems[1]->kind == PSYNC_TYPE_PID);
  Lockstep ls(d, 3, {{4}, {9}, {2}});
  ls.step();
  CHECK(ls.decided(2));
  int64_t words[2];
  std::memcpy(words, static_cast<const char*>(ls.state(2)) + d.output.offset, 16);
  CHECK(words[0] == 9);
  CHECK(words[1] == 2);
  CHECK(ls.print(2).find("decision={v: 9, who: 2}") != std::string::npos);

  // Interactive consistency decides a vector; deciding it again with one
  // element changed is a conflict, deciding the same vector is not.
  Jit vec = jit_text(
      "protocol V\ninput k: int\noutput decision: [int; n]\nvar seen: [int; n] = [0; n]\n"
      "round a {\n  send k to all\n  update(mbox) {\n    for p in mbox.senders { seen[p] = mbox[p] }\n"
      "    decide(seen)\n    decide(seen)\n    if r == 1 { seen[0] = seen[0] + 1; decide(seen) }\n  }\n}\n");
  CHECK(vec.d().output_type->kind == PSYNC_TYPE_ARRAY);
  Lockstep lv(vec.d(), 3, {{5}, {6}, {7}});
  lv.step();
  CHECK(lv.conflicts.empty());
  CHECK(lv.decided_calls.size() == 3);
  lv.step();
  CHECK(lv.conflicts.size() == 3);
  int64_t v3[3];
  std::memcpy(v3, static_cast<const char*>(lv.state(1)) + vec.d().output.offset, 24);
  CHECK(v3[0] == 5);  // the first decision stays
  CHECK(v3[2] == 7);
}

TEST_CASE("sema: bytes diagnostics") {
  auto bad = [](const std::string& decls, const std::string& id) {
    auto r = check_text("protocol P\ninput init: int\n" + decls + "\nround a { send init to all }\n");
    INFO(r->diags.text);
    CHECK(r->has_error(id));
  };
  bad("var v: bytes<0> = \"\"", "bytes-capacity");
  bad("var v: bytes<4097> = \"\"", "bytes-capacity");
  bad("var v: bytes<2> = \"abc\"", "bytes-literal-too-long");
  bad("var v: bytes = \"\"", "unknown-type");
  bad("var v: string<4> = \"\"", "unknown-type");
  bad("var v: bytes<4> = \"ab\"\nvar w: bytes<2> = v", "type-mismatch");  // narrowing
  bad("var v: bytes<4> = \"ab\"\nvar b: bool = v < 3", "type-mismatch");
  bad("var v: bytes<4> = \"ab\"\nvar b: int = v.length", "unknown-member");
  bad("const c: bytes<4> = \"ab\"", "non-scalar-const");
  bad("input i2: bytes<4>?", "non-scalar-input");
  auto ok = check_text("protocol P\ninput init: bytes<4>\noutput o: (bytes<4>, int)\nvar t: (bytes<8>, int) = (init, 1)\n"
                       "round a { send t to all\n update(mbox) { decide((init, mbox.size)) } }\n");
  INFO(ok->diags.text);
  CHECK(ok->ok);
}
