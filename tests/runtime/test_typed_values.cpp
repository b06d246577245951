// test_typed_values.cpp: values described by psync_type (runtime/abi/typed_values.h):
// sizes, the JSON form the node prints and the service sends (bytes as a
// string when valid UTF-8, else {"hex": ...}), and bytes as command lines
// write them (text, hex:, str:).
#include <doctest/doctest.h>

#include "abi/typed_values.h"

#include <cstring>

using namespace psync;

namespace {

const psync_type kInt = {PSYNC_TYPE_INT, 0, nullptr, nullptr, 0};
const psync_type kBool = {PSYNC_TYPE_BOOL, 0, nullptr, nullptr, 0};
const psync_type kSet = {PSYNC_TYPE_PIDSET, 0, nullptr, nullptr, 0};
const psync_type kBytes4 = {PSYNC_TYPE_BYTES, 4, nullptr, nullptr, 0};
const psync_type* const kIntElem[] = {&kInt};
const psync_type kOptInt = {PSYNC_TYPE_OPTION, 0, kIntElem, nullptr, 0};
const psync_type kArrInt = {PSYNC_TYPE_ARRAY, 0, kIntElem, nullptr, 0};
const psync_type* const kPairElems[] = {&kBytes4, &kBool};
const psync_type kTuple = {PSYNC_TYPE_TUPLE, 2, kPairElems, nullptr, 0};
const char* const kNames[] = {"k", "ok"};
const psync_type kRecord = {PSYNC_TYPE_RECORD, 2, kPairElems, kNames, 0};

// A bytes<4> value: the length word, then one data word.
std::vector<int64_t> bytes4(const std::string& s, int64_t len) {
  std::vector<int64_t> w(2, 0);
  w[0] = len;
  std::memcpy(&w[1], s.data(), s.size());
  return w;
}

}  // namespace

TEST_CASE("values: sizes follow the layout rules of abi.h") {
  CHECK(value_words(kInt, 5) == 1);
  CHECK(value_words(kBytes4, 5) == 2);
  CHECK(value_words(kOptInt, 5) == 2);
  CHECK(value_words(kArrInt, 5) == 5);
  CHECK(value_words(kTuple, 5) == 3);
  CHECK(is_word_type(kSet));
  CHECK_FALSE(is_word_type(kBytes4));
}

TEST_CASE("values: the JSON form of every kind") {
  const int64_t seven = 7, yes = 1, set = 0b101;
  CHECK(value_to_json(kInt, &seven, 3) == "7");
  CHECK(value_to_json(kBool, &yes, 3) == "true");
  CHECK(value_to_json(kSet, &set, 3) == "[0,2]");
  const int64_t none[2] = {0, 0}, some[2] = {1, -4};
  CHECK(value_to_json(kOptInt, none, 3) == "null");
  CHECK(value_to_json(kOptInt, some, 3) == "-4");
  const int64_t arr[3] = {1, 2, 3};
  CHECK(value_to_json(kArrInt, arr, 3) == "[1,2,3]");
  std::vector<int64_t> tuple = bytes4("ab", 2);
  tuple.push_back(1);
  CHECK(value_to_json(kTuple, tuple.data(), 3) == "[\"ab\",true]");
  CHECK(value_to_json(kRecord, tuple.data(), 3) == "{\"k\":\"ab\",\"ok\":true}");
}

TEST_CASE("values: enums print their variant, set<E> and set<lo..hi> their members") {
  static const char* const names[] = {"Follower", "Leader", "Gone"};
  const psync_type colour = {PSYNC_TYPE_ENUM, 3, nullptr, names, 0};
  const psync_type* const colour_elem[] = {&colour};
  const psync_type colours = {PSYNC_TYPE_SET, 3, colour_elem, nullptr, 0};
  const psync_type ints = {PSYNC_TYPE_SET, 4, kIntElem, nullptr, -2};  // set<-2..2>
  const int64_t leader = 1, unknown = 9, bits = 0b101;
  CHECK(value_to_json(colour, &leader, 3) == "\"Leader\"");
  CHECK(value_to_json(colour, &unknown, 3) == "9");
  CHECK(value_to_json(colours, &bits, 3) == "[\"Follower\",\"Gone\"]");
  CHECK(value_to_json(ints, &bits, 3) == "[-2,0]");
  CHECK(is_word_type(colour));
  CHECK(is_word_type(colours));
  CHECK(value_words(colours, 7) == 1);
  CHECK(check_type_description(&colours) == "");
  CHECK(check_type_description(&ints) == "");
  const psync_type nameless = {PSYNC_TYPE_ENUM, 3, nullptr, nullptr, 0};
  CHECK(check_type_description(&nameless) == "an enum type description has 3 variants (must be 1 to 64, named)");
}

TEST_CASE("values: bytes are a JSON string when valid UTF-8, else hex; lying lengths are clamped") {
  CHECK(value_to_json(kBytes4, bytes4("h\"i\n", 4).data(), 1) == "\"h\\\"i\\u000a\"");
  CHECK(value_to_json(kBytes4, bytes4("\xc3\xa9", 2).data(), 1) == "\"\xc3\xa9\"");
  CHECK(value_to_json(kBytes4, bytes4("\xff\x00", 2).data(), 1) == "{\"hex\":\"ff00\"}");
  CHECK(value_to_json(kBytes4, bytes4("abcd", 99).data(), 1) == "\"abcd\"");  // clamped to K
  CHECK(value_to_json(kBytes4, bytes4("abcd", -3).data(), 1) == "\"\"");
  CHECK_FALSE(is_valid_utf8("\xc3"));
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK(bytes_to_json("") == "\"\"");
}

TEST_CASE("values: bytes on a command line: text, hex:, str:, and clear errors") {
  std::string err;
  CHECK(parse_bytes_text("put x", err) == std::optional<std::string>("put x"));
  CHECK(parse_bytes_text("hex:00FF", err) == std::optional<std::string>(std::string("\x00\xff", 2)));
  CHECK(parse_bytes_text("str:hex:00", err) == std::optional<std::string>("hex:00"));
  CHECK_FALSE(parse_bytes_text("hex:0", err));
  CHECK(err == "'hex:0': hex needs an even number of digits");
  CHECK_FALSE(parse_bytes_text("hex:0g", err));
  CHECK(err == "'hex:0g': '0g' is not a hex byte");
  const std::vector<int64_t> buf = bytes_input_buffer("abcdefghi");
  CHECK(buf.size() == 3);
  CHECK(buf[0] == 9);
}

TEST_CASE("values: malformed type descriptions are named") {
  CHECK(check_type_description(&kRecord) == "");
  CHECK(check_type_description(nullptr) == "a type description is missing");
  const psync_type bad = {42, 0, nullptr, nullptr, 0};
  CHECK(check_type_description(&bad) == "a type description has unknown kind 42");
  const psync_type nameless = {PSYNC_TYPE_RECORD, 2, kPairElems, nullptr, 0};
  CHECK(check_type_description(&nameless) == "a record type description has no field names");
}
