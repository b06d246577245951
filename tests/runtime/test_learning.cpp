// test_learning.cpp: the decided values a replica keeps to answer peers
// (node/learning.h, DecidedValues): what set() stores get() returns, round
// and bytes alike, for small and large rounds and values of every length;
// the first value of an instance stands; only the most recent `retain`
// instance ids are kept, dropped a chunk at a time.
#include "node/learning.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using psync::node::DecidedValues;

TEST_CASE("DecidedValues returns what was set, for every size of round and value") {
  DecidedValues d(1'000'000);
  // Rounds and lengths on both sides of one byte's varint (128), and a
  // round near the top of int64.
  const int64_t rounds[] = {0, 3, 127, 128, 300, 16383, 16384, int64_t{1} << 40, INT64_MAX};
  const size_t lengths[] = {0, 1, 4, 127, 128, 1000};
  uint64_t instance = 0;
  for (const int64_t r : rounds)
    for (const size_t len : lengths) {
      std::string v(len, 'a');
      for (size_t k = 0; k < len; ++k) v[k] = char('a' + (instance + k) % 26);
      d.set(instance, v, r);
      ++instance;
    }
  instance = 0;
  for (const int64_t r : rounds)
    for (const size_t len : lengths) {
      const auto e = d.get(instance);
      REQUIRE(e.has_value());
      CHECK(e->round == r);
      REQUIRE(e->value.size() == len);
      for (size_t k = 0; k < len; ++k) CHECK(e->value[k] == char('a' + (instance + k) % 26));
      ++instance;
    }
  CHECK_FALSE(d.get(instance).has_value());
}

TEST_CASE("DecidedValues keeps an instance's first value, across chunks and out of order") {
  DecidedValues d(1'000'000);
  const uint64_t far = 3 * DecidedValues::kChunk + 5;
  d.set(far, "7", 4);
  d.set(2, "12", 3);
  d.set(far, "8", 9);  // a second value for the same instance: ignored
  d.set(2, "99999", 1);
  CHECK(d.get(far)->value == "7");
  CHECK(d.get(far)->round == 4);
  CHECK(d.get(2)->value == "12");
  CHECK(d.get(2)->round == 3);
  CHECK_FALSE(d.get(3).has_value());
  CHECK_FALSE(d.get(far + 1).has_value());
  // Values set in between do not move the ones already kept.
  for (uint64_t i = 10; i < 5000; ++i) d.set(i, std::to_string(i), int64_t(i % 200));
  CHECK(d.get(2)->value == "12");
  CHECK(d.get(4999)->value == "4999");
  CHECK(d.get(4999)->round == 4999 % 200);
}

TEST_CASE("DecidedValues forgets instances older than `retain`, a chunk at a time") {
  const uint64_t k = DecidedValues::kChunk;
  DecidedValues d(2 * k);
  for (uint64_t i = 0; i < 5 * k; ++i) d.set(i, std::to_string(i % 100), 3);
  // The newest 2k ids are kept; the chunk holding the oldest of them too.
  CHECK(d.oldest_kept() == 3 * k);
  CHECK(d.chunks() == 2);
  CHECK_FALSE(d.get(3 * k - 1).has_value());
  CHECK(d.get(3 * k)->value == std::to_string((3 * k) % 100));
  CHECK(d.get(5 * k - 1)->value == std::to_string((5 * k - 1) % 100));
  // Older than anything kept: not stored.
  d.set(5, "1", 3);
  CHECK_FALSE(d.get(5).has_value());
}
