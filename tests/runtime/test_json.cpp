// test_json.cpp: the node's JSON output (node/json.h) escapes every string
// and has no size limit, so a protocol, field or state text cannot break
// the decision lines, --stats or --describe.
#include "node/json.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using psync::node::JsonObject;

TEST_CASE("JSON strings: quotes, backslashes and control characters are escaped") {
  std::string out;
  psync::node::append_json_string(out, std::string("a\"b\\c\nd\te\x01\x1f\x7f", 13));  // and a NUL
  CHECK(out == "\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001\\u001f\\u007f\\u0000\"");
  CHECK(nlohmann::json::parse(out).get<std::string>() == std::string("a\"b\\c\nd\te\x01\x1f\x7f", 13));
  out.clear();
  psync::node::append_json_string(out, "π ≥ 3");  // UTF-8 passes through
  CHECK(nlohmann::json::parse(out).get<std::string>() == "π ≥ 3");
}

TEST_CASE("JSON objects: fields in order, any length, valid JSON") {
  JsonObject o;
  o.add("id", int32_t{-3}).add("instance", UINT64_MAX).add("round", INT64_MIN);
  o.add_string("na\"me", std::string(10'000, 'x') + "\"}");
  o.add_raw("nested", JsonObject().add("k", int64_t{1}).str());
  const std::string text = o.str();
  CHECK(text.rfind("{\"id\":-3,\"instance\":18446744073709551615,\"round\":-9223372036854775808,", 0) == 0);
  auto j = nlohmann::json::parse(text);
  CHECK(j["id"] == -3);
  CHECK(j["instance"].get<uint64_t>() == UINT64_MAX);
  CHECK(j["na\"me"].get<std::string>().size() == 10'002);
  CHECK(j["nested"]["k"] == 1);
  CHECK(JsonObject().str() == "{}");
}
