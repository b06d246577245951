// test_store.cpp: the key-value state machine of psync-kvstore without the
// network: request parsing (bad input gets one error line), the log encoding,
// application in log order and deduplication of a retried request id.
#include "store.h"

#include <doctest/doctest.h>

using kvstore::Command;
using kvstore::Store;

namespace {

std::string error_of(std::string_view line, std::string* id = nullptr) {
  std::string error, id_json;
  CHECK_FALSE(kvstore::parse_request(line, error, id_json).has_value());
  if (id) *id = id_json;
  return error;
}

std::string logged(std::string_view line) {
  std::string error, id;
  auto r = kvstore::parse_request(line, error, id);
  REQUIRE_MESSAGE(r.has_value(), error);
  return kvstore::encode_command(r->command);
}

}  // namespace

TEST_CASE("kvstore: requests are parsed into commands and round-trip through the log encoding") {
  std::string error, id;
  auto r = kvstore::parse_request(R"({"id":"c1-1","op":"cas","key":"x","old":null,"new":"v"})", error, id);
  REQUIRE(r.has_value());
  CHECK(r->id_json == "\"c1-1\"");
  CHECK(r->command.op == Command::Op::Cas);
  CHECK_FALSE(r->command.expected.has_value());
  auto back = kvstore::decode_command(kvstore::encode_command(r->command));
  REQUIRE(back.has_value());
  CHECK(back->key == "x");
  CHECK(back->value == "v");
  CHECK_FALSE(back->expected.has_value());
  r = kvstore::parse_request(R"({"id":7,"op":"put","key":"k","value":"\u00e9\n"})", error, id);
  REQUIRE(r.has_value());
  CHECK(r->id_json == "7");
  CHECK(kvstore::decode_command(kvstore::encode_command(r->command))->value == "\xc3\xa9\n");
}

TEST_CASE("kvstore: bad requests get a reason, and the id when it was readable") {
  std::string id;
  CHECK(error_of("{not json") == "malformed JSON");
  CHECK(error_of("[1,2]") == "a request is a JSON object");
  CHECK(error_of(R"({"op":"get","key":"x"})") == "missing \"id\"");
  CHECK(error_of(R"({"id":[1],"op":"get","key":"x"})") == "\"id\" must be a string or an integer");
  CHECK(error_of(R"({"id":"a","op":"get","key":"x","extra":1})", &id) == "unknown key \"extra\"");
  CHECK(id == "\"a\"");
  CHECK(error_of(R"({"id":"a","op":"del","key":"x"})") == "unknown op \"del\" (put, get or cas)");
  CHECK(error_of(R"({"id":"a","op":"put","key":"x"})") == "missing \"value\"");
  CHECK(error_of(R"({"id":"a","op":"put","key":"x","value":3})") == "\"value\" must be a string");
  CHECK(error_of(R"({"id":"a","op":"get","key":"x","value":"v"})") == "\"get\" takes no \"value\"");
  CHECK(error_of(R"({"id":"a","op":"cas","key":"x","new":"v"})").starts_with("missing \"old\""));
  CHECK(error_of(R"({"id":"a","op":"get","key":")" + std::string(300, 'k') + "\"}") ==
        "key longer than 256 bytes");
  CHECK(error_of(R"({"id":")" + std::string(200, 'i') + R"(","op":"get","key":"x"})", &id).starts_with("\"id\" longer"));
  CHECK(id == "null");
  CHECK_FALSE(kvstore::decode_command("[\"put\",\"x\"]").has_value());
  CHECK_FALSE(kvstore::decode_command("garbage").has_value());
}

TEST_CASE("kvstore: commands apply in log order; a request id applies once") {
  Store s;
  CHECK(s.apply("\"g0\"", 0, logged(R"({"id":"g0","op":"get","key":"x"})")) ==
        R"({"id":"g0","op":"get","seq":0,"value":null})");
  CHECK(s.apply("\"p1\"", 1, logged(R"({"id":"p1","op":"put","key":"x","value":"1"})")) ==
        R"({"id":"p1","op":"put","seq":1})");
  CHECK(s.apply("\"c2\"", 2, logged(R"({"id":"c2","op":"cas","key":"x","old":"0","new":"2"})")) ==
        R"({"id":"c2","ok":false,"op":"cas","seq":2,"value":"1"})");
  CHECK(s.apply("\"c3\"", 3, logged(R"({"id":"c3","op":"cas","key":"x","old":"1","new":"2"})")) ==
        R"({"id":"c3","ok":true,"op":"cas","seq":3,"value":"1"})");
  CHECK(s.apply("\"c4\"", 4, logged(R"({"id":"c4","op":"cas","key":"y","old":null,"new":"n"})")) ==
        R"({"id":"c4","ok":true,"op":"cas","seq":4,"value":null})");
  // The same id again (a retry that reached the log twice): not applied, the
  // first reply stands.
  CHECK(s.apply("\"p1\"", 5, logged(R"({"id":"p1","op":"put","key":"x","value":"1"})")) ==
        R"({"id":"p1","op":"put","seq":1})");
  CHECK(s.duplicates_skipped() == 1);
  CHECK(s.apply("\"g6\"", 6, logged(R"({"id":"g6","op":"get","key":"x"})")) ==
        R"({"id":"g6","op":"get","seq":6,"value":"2"})");
  REQUIRE(s.reply_of("\"c3\"") != nullptr);
  CHECK(s.reply_of("\"nope\"") == nullptr);
  CHECK(s.applied() == 6);
  CHECK(s.size() == 2);
  // Something else on the log changes nothing.
  CHECK(s.apply("\"z\"", 7, "not a command") == R"({"error":"not a key-value command","id":"z","seq":7})");
  CHECK(s.malformed_commands() == 1);
  CHECK(s.apply("r0-1", 8, "[\"get\",\"x\"]") == R"({"id":"r0-1","op":"get","seq":8,"value":"2"})");
  CHECK(s.read_local("8", "x") == R"({"id":8,"op":"get","value":"2"})");
}
