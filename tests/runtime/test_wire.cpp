// test_wire.cpp: the frame codec, and every way a frame can be malformed.
#include "net/wire.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>

using namespace psync::net;

namespace {

const DecodeLimits kLimits{0xABCDEF, 5, 16};

std::vector<std::byte> frame(int32_t sender = 2, int64_t round = 7, size_t payload_len = 8, uint64_t fp = 0xABCDEF) {
  WireHeader h;
  h.fingerprint = fp;
  h.instance = 42;
  h.round = round;
  h.sender = sender;
  std::vector<std::byte> payload(payload_len, std::byte{0x5A});
  std::vector<std::byte> out;
  encode_frame(h, payload, out);
  return out;
}

DecodeStatus decode(const std::vector<std::byte>& b, WireHeader* out = nullptr, size_t* used = nullptr) {
  WireHeader h;
  std::span<const std::byte> payload;
  size_t consumed = 0;
  DecodeStatus s = decode_frame(b, kLimits, h, payload, consumed);
  if (out) *out = h;
  if (used) *used = consumed;
  return s;
}

template <typename T>
void poke(std::vector<std::byte>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

}  // namespace

TEST_CASE("a frame round-trips through encode and decode") {
  auto b = frame();
  REQUIRE(b.size() == kHeaderSize + 8);
  WireHeader h;
  size_t used = 0;
  CHECK(decode(b, &h, &used) == DecodeStatus::Ok);
  CHECK(used == b.size());
  CHECK(h.instance == 42);
  CHECK(h.round == 7);
  CHECK(h.sender == 2);
  CHECK(h.length == 8);
  CHECK(h.kind == FrameKind::Message);
}

TEST_CASE("the header layout is fixed: magic, version, kind, fingerprint, instance, round, sender, length") {
  auto b = frame(3, 9, 4);
  uint32_t magic;
  std::memcpy(&magic, b.data(), 4);
  CHECK(magic == kMagic);
  CHECK(char(b[0]) == 'P');
  CHECK(char(b[3]) == 'N');
  uint64_t instance;
  std::memcpy(&instance, b.data() + 16, 8);
  CHECK(instance == 42);
  uint32_t length;
  std::memcpy(&length, b.data() + 36, 4);
  CHECK(length == 4);
}

TEST_CASE("two frames back to back decode one after the other") {
  auto b = frame(1, 1, 8);
  auto c = frame(4, 2, 0);
  b.insert(b.end(), c.begin(), c.end());
  size_t used = 0;
  REQUIRE(decode(b, nullptr, &used) == DecodeStatus::Ok);
  std::vector<std::byte> rest(b.begin() + long(used), b.end());
  WireHeader h;
  CHECK(decode(rest, &h) == DecodeStatus::Ok);
  CHECK(h.sender == 4);
  CHECK(h.length == 0);
}

TEST_CASE("every truncation is reported as truncated") {
  auto b = frame();
  for (size_t len = 0; len < b.size(); ++len) {
    std::vector<std::byte> cut(b.begin(), b.begin() + long(len));
    CHECK(decode(cut) == DecodeStatus::Truncated);
  }
}

TEST_CASE("each malformed header field has its own reason") {
  auto b = frame();
  SUBCASE("magic") { poke<uint32_t>(b, 0, 0xDEADBEEF); CHECK(decode(b) == DecodeStatus::BadMagic); }
  SUBCASE("version") { poke<uint16_t>(b, 4, 2); CHECK(decode(b) == DecodeStatus::BadVersion); }
  SUBCASE("kind") { poke<uint16_t>(b, 6, 7); CHECK(decode(b) == DecodeStatus::BadKind); }
  SUBCASE("fingerprint") { poke<uint64_t>(b, 8, 0x1); CHECK(decode(b) == DecodeStatus::WrongFingerprint); }
  SUBCASE("sender id beyond n") { poke<uint32_t>(b, 32, 5); CHECK(decode(b) == DecodeStatus::UnknownSender); }
  SUBCASE("negative sender") { poke<int32_t>(b, 32, -1); CHECK(decode(b) == DecodeStatus::UnknownSender); }
  SUBCASE("negative round") { poke<int64_t>(b, 24, -3); CHECK(decode(b) == DecodeStatus::BadRound); }
  SUBCASE("length above the protocol's largest message") {
    poke<uint32_t>(b, 36, 17);
    b.resize(kHeaderSize + 17);
    CHECK(decode(b) == DecodeStatus::Oversized);
  }
  SUBCASE("huge length") { poke<uint32_t>(b, 36, 0xFFFFFFFF); CHECK(decode(b) == DecodeStatus::Oversized); }
  SUBCASE("length beyond the bytes present") { poke<uint32_t>(b, 36, 16); CHECK(decode(b) == DecodeStatus::Truncated); }
}

TEST_CASE("random bytes never decode into a frame by accident and never crash") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> b(size_t(rng() % 96));
    for (auto& x : b) x = std::byte(rng());
    CHECK(decode(b) != DecodeStatus::Ok);
  }
  // Valid frames with random bit flips: decoding either succeeds or names a reason.
  auto good = frame();
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    b[rng() % b.size()] ^= std::byte(1u << (rng() % 8));
    WireHeader h;
    std::span<const std::byte> payload;
    size_t used = 0;
    const DecodeStatus s = decode_frame(b, kLimits, h, payload, used);
    if (s == DecodeStatus::Ok) {
      CHECK(used <= b.size());
      CHECK(h.sender < 5);
    }
  }
}

TEST_CASE("decode status names match the counters") {
  CHECK(std::string(decode_status_name(DecodeStatus::WrongFingerprint)) == "wrong_fingerprint");
  CHECK(std::string(decode_status_name(DecodeStatus::Oversized)) == "oversized");
}
