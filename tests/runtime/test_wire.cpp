// test_wire.cpp: the packet and frame codec (wire version 5), and every way a
// packet or frame can be malformed. (The MAC, incarnations and replays are
// test_session.cpp's.)
#include "net/wire.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>

using namespace psync::net;

namespace {

const DecodeLimits kLimits{0xABCDEF, 5, 16};

struct Frame {
  uint64_t instance;
  int64_t round;
  size_t len;
  bool decided = false;
  FrameKind kind = FrameKind::Message;
};

// A packet without its MAC: header, then frames (the body).
std::vector<std::byte> packet(std::vector<Frame> frames, int32_t sender = 2, uint64_t fp = 0xABCDEF,
                              PacketKind kind = PacketKind::Messages) {
  std::vector<std::byte> out;
  encode_packet_header({kind, fp, sender, 11, 22, 33}, out);
  uint64_t prev = 0;
  for (const Frame& f : frames) {
    WireHeader h;
    h.kind = f.kind;
    h.decided = f.decided;
    h.instance = f.instance;
    h.round = f.round;
    // A Decided frame's bitmap names every instance it spans (canonical).
    std::vector<std::byte> payload(f.len, std::byte{f.kind == FrameKind::Decided ? uint8_t(0xFF) : uint8_t(0x5A)});
    const size_t before = out.size();
    const size_t expect = frame_size(h, f.len, prev);
    encode_frame(h, payload, prev, out);
    CHECK(out.size() - before == expect);
  }
  return out;
}

std::vector<std::byte> one(int64_t round = 7, size_t len = 8) { return packet({{42, round, len}}); }

struct Decoded {
  DecodeStatus status;
  PacketHeader header;
  std::vector<WireHeader> frames;
};

// The header, then the body's frames (a Hello body must be empty here).
Decoded decode(const std::vector<std::byte>& b) {
  Decoded d;
  d.status = decode_packet_header(b, kLimits, d.header);
  if (d.status != DecodeStatus::Ok) return d;
  const auto body = std::span<const std::byte>(b).subspan(kPacketHeaderSize);
  if (d.header.kind == PacketKind::Hello) {
    d.status = body.empty() ? DecodeStatus::Ok : DecodeStatus::BadEncoding;
    return d;
  }
  d.status = decode_frames(body, kLimits, d.header.sender, [&](const WireHeader& h, std::span<const std::byte> p) {
    CHECK(p.size() == h.length);
    d.frames.push_back(h);
    return true;
  });
  return d;
}

template <typename T>
void poke(std::vector<std::byte>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

}  // namespace

TEST_CASE("a packet round-trips through encode and decode") {
  auto b = one();
  // 37-byte packet header; frame: flags, instance 42 (zigzag 84: 1 byte), round 7, length 8, payload.
  REQUIRE(b.size() == kPacketHeaderSize + 4 + 8);
  CHECK(kPacketHeaderSize == 37);
  CHECK(kPacketOverhead == 37 + 16);
  Decoded d = decode(b);
  REQUIRE(d.status == DecodeStatus::Ok);
  CHECK(d.header.sender == 2);
  CHECK(d.header.kind == PacketKind::Messages);
  CHECK(d.header.sender_incarnation == 11);
  CHECK(d.header.receiver_incarnation == 22);
  CHECK(d.header.counter == 33);
  REQUIRE(d.frames.size() == 1);
  CHECK(d.frames[0].instance == 42);
  CHECK(d.frames[0].round == 7);
  CHECK(d.frames[0].sender == 2);
  CHECK(d.frames[0].length == 8);
  CHECK(d.frames[0].kind == FrameKind::Message);
  CHECK(!d.frames[0].decided);
}

TEST_CASE("payloads of every length up to 40 bytes are written and read back byte for byte") {
  // write_frame copies short payloads by overlapping word copies (util::copy_small):
  // every length, each byte distinct, and nothing written past the payload.
  for (size_t len = 0; len <= 40; ++len) {
    std::vector<std::byte> payload(len);
    for (size_t k = 0; k < len; ++k) payload[k] = std::byte(uint8_t(0x11 + 7 * k));
    std::vector<std::byte> buffer(kMaxFrameOverhead + len + 16, std::byte{0xEE});
    WireHeader h;
    h.instance = 5;
    h.round = 3;
    uint64_t prev = 0;
    std::byte* end = write_frame(buffer.data(), h, payload, prev);
    const size_t written = size_t(end - buffer.data());
    CHECK(written == 4 + len);  // flags, three one-byte varints, the payload
    for (size_t k = written; k < buffer.size(); ++k) CHECK(buffer[k] == std::byte{0xEE});
    const DecodeLimits limits{0, 3, 64};
    uint64_t prev_in = 0;
    WireHeader got;
    std::span<const std::byte> body;
    size_t consumed = 0;
    REQUIRE(decode_frame(std::span<const std::byte>(buffer.data(), written), limits, prev_in, got, body, consumed) ==
            DecodeStatus::Ok);
    CHECK(consumed == written);
    CHECK(got.instance == 5);
    CHECK(got.round == 3);
    REQUIRE(body.size() == len);
    CHECK(std::equal(body.begin(), body.end(), payload.begin()));
  }
}

TEST_CASE("the packet header layout is fixed: magic, version, kind, fingerprint, sender, incarnations, counter") {
  auto b = packet({{1, 0, 4}}, 3);
  CHECK(char(b[0]) == 'P');
  CHECK(char(b[1]) == 'S');
  CHECK(uint8_t(b[2]) == kWireVersion);
  CHECK(uint8_t(b[3]) == 0);
  uint64_t fp;
  std::memcpy(&fp, b.data() + 4, 8);
  CHECK(fp == 0xABCDEF);
  CHECK(uint8_t(b[12]) == 3);
  uint64_t w;
  std::memcpy(&w, b.data() + 13, 8);
  CHECK(w == 11);  // the sender's incarnation
  std::memcpy(&w, b.data() + 21, 8);
  CHECK(w == 22);  // the receiver's, as the sender knows it
  std::memcpy(&w, b.data() + 29, 8);
  CHECK(w == 33);  // the counter
  CHECK(uint8_t(b[37]) == 0);  // flags of the first frame
}

TEST_CASE("queries and answers: the straggler's frames") {
  std::vector<std::byte> b;
  encode_packet_header({PacketKind::Messages, 0xABCDEF, 1, 1, 1, 1}, b);
  uint64_t prev = 0;
  WireHeader q;
  q.kind = FrameKind::Query;
  q.instance = 9;
  encode_frame(q, {}, prev, b);
  WireHeader a;
  a.kind = FrameKind::Answer;
  a.decided = true;
  a.instance = 9;
  a.round = 4;
  const std::string value = "42";
  encode_frame(a, std::as_bytes(std::span<const char>(value.data(), value.size())), prev, b);
  Decoded d = decode(b);
  REQUIRE(d.status == DecodeStatus::Ok);
  REQUIRE(d.frames.size() == 2);
  CHECK(d.frames[0].kind == FrameKind::Query);
  CHECK(!d.frames[0].decided);
  CHECK(d.frames[1].kind == FrameKind::Answer);
  CHECK(d.frames[1].decided);
  CHECK(d.frames[1].round == 4);
  CHECK(d.frames[1].length == 2);
  // An answer may be longer than any message (a composite value), up to kMaxAnswerValue.
  std::vector<std::byte> big;
  encode_packet_header({PacketKind::Messages, 0xABCDEF, 1, 1, 1, 1}, big);
  prev = 0;
  std::vector<std::byte> long_value(kMaxAnswerValue, std::byte{'7'});
  encode_frame(a, long_value, prev, big);
  CHECK(decode(big).status == DecodeStatus::Ok);
  long_value.push_back(std::byte{'7'});
  big.resize(kPacketHeaderSize);
  prev = 0;
  encode_frame(a, long_value, prev, big);
  CHECK(decode(big).status == DecodeStatus::Oversized);
}

TEST_CASE("many frames share one header; instances are deltas, in any order; flags survive") {
  std::vector<Frame> frames = {{1000, 3, 8},  {1001, 3, 8, true}, {999, 4, 0},
                               {5, 0, 8},     {uint64_t(1) << 62, 2, 1},
                               {7, 0, 3, true, FrameKind::Decided}, {uint64_t(INT64_MAX), INT64_MAX, 16}, {0, 0, 0}};
  auto b = packet(frames);
  Decoded d = decode(b);
  REQUIRE(d.status == DecodeStatus::Ok);
  REQUIRE(d.frames.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    CHECK(d.frames[i].instance == frames[i].instance);
    CHECK(d.frames[i].round == frames[i].round);
    CHECK(d.frames[i].length == frames[i].len);
    CHECK(d.frames[i].decided == frames[i].decided);
    CHECK(d.frames[i].kind == frames[i].kind);
  }
  // Consecutive instances cost one byte of header each beyond flags, round, length.
  auto c = packet({{1000, 3, 8}, {1001, 3, 8}, {1002, 3, 8}});
  CHECK(c.size() == kPacketHeaderSize + (1 + 2 + 1 + 1 + 8) + 2 * (1 + 1 + 1 + 1 + 8));
}

TEST_CASE("every truncation is reported as truncated") {
  auto b = packet({{300, 200, 8}, {301, 200, 8}});
  for (size_t len = 0; len < b.size(); ++len) {
    std::vector<std::byte> cut(b.begin(), b.begin() + long(len));
    const DecodeStatus s = decode(cut).status;
    // A cut exactly between the two frames leaves a whole, valid packet.
    if (len == kPacketHeaderSize + (1 + 2 + 2 + 1 + 8)) CHECK(s == DecodeStatus::Ok);
    else CHECK(s == DecodeStatus::Truncated);
  }
}

TEST_CASE("each malformed header or frame field has its own reason") {
  auto b = one();
  const size_t f = kPacketHeaderSize;  // first frame
  SUBCASE("magic") { poke<uint16_t>(b, 0, 0xBEEF); CHECK(decode(b).status == DecodeStatus::BadMagic); }
  SUBCASE("version 1 (the old 40-byte header)") { poke<uint8_t>(b, 2, 1); CHECK(decode(b).status == DecodeStatus::BadVersion); }
  SUBCASE("kind") { poke<uint8_t>(b, 3, 7); CHECK(decode(b).status == DecodeStatus::BadKind); }
  SUBCASE("fingerprint") { poke<uint64_t>(b, 4, 0x1); CHECK(decode(b).status == DecodeStatus::WrongFingerprint); }
  SUBCASE("sender id beyond n") { poke<uint8_t>(b, 12, 5); CHECK(decode(b).status == DecodeStatus::UnknownSender); }
  SUBCASE("sender id 255") { poke<uint8_t>(b, 12, 255); CHECK(decode(b).status == DecodeStatus::UnknownSender); }
  SUBCASE("a zero sender incarnation") { poke<uint64_t>(b, 13, 0); CHECK(decode(b).status == DecodeStatus::BadEncoding); }
  SUBCASE("reserved flag bits") {
    for (int bit = 4; bit < 8; ++bit) {
      auto c = b;
      poke<uint8_t>(c, f, uint8_t(1u << bit));
      CHECK(decode(c).status == DecodeStatus::BadEncoding);
    }
  }
  SUBCASE("flag combinations with no meaning") {
    for (uint8_t flags : {uint8_t(kFlagNotice), uint8_t(kFlagAnswer), uint8_t(kFlagQuery | kFlagDecided),
                          uint8_t(kFlagQuery | kFlagAnswer | kFlagDecided), uint8_t(kFlagNotice | kFlagAnswer | kFlagDecided)}) {
      auto c = b;
      poke<uint8_t>(c, f, flags);
      CHECK(decode(c).status == DecodeStatus::BadEncoding);
    }
  }
  SUBCASE("a Decided frame whose bitmap does not name its first instance") {
    poke<uint8_t>(b, f, kFlagNotice | kFlagDecided);
    poke<uint8_t>(b, f + 2, 0);  // round 0; the payload is 0x5A bytes: bit 0 clear
    CHECK(decode(b).status == DecodeStatus::BadEncoding);
  }
  SUBCASE("a query with a body") { poke<uint8_t>(b, f, kFlagQuery); CHECK(decode(b).status == DecodeStatus::BadEncoding); }
  SUBCASE("length above the protocol's largest message") {
    poke<uint8_t>(b, f + 3, 17);
    b.resize(f + 4 + 17);
    CHECK(decode(b).status == DecodeStatus::Oversized);
  }
  SUBCASE("length beyond the bytes present") { poke<uint8_t>(b, f + 3, 9); CHECK(decode(b).status == DecodeStatus::Truncated); }
  SUBCASE("a packet with no frames") { b.resize(kPacketHeaderSize); CHECK(decode(b).status == DecodeStatus::Truncated); }
  SUBCASE("a hello with frames") { poke<uint8_t>(b, 3, uint8_t(PacketKind::Hello)); CHECK(decode(b).status == DecodeStatus::BadEncoding); }
}

TEST_CASE("varints are canonical: overlong, oversized and unterminated ones are rejected") {
  auto frame_bytes = [](std::vector<uint8_t> tail) {
    std::vector<std::byte> b;
    encode_packet_header({PacketKind::Messages, 0xABCDEF, 1, 1, 0, 1}, b);
    b.push_back(std::byte{0});  // flags
    for (uint8_t x : tail) b.push_back(std::byte(x));
    return b;
  };
  CHECK(decode(frame_bytes({0x02, 0x01, 0x00})).status == DecodeStatus::Ok);            // instance 1, round 1, empty
  CHECK(decode(frame_bytes({0x82, 0x00, 0x01, 0x00})).status == DecodeStatus::BadEncoding);  // overlong instance
  CHECK(decode(frame_bytes({0x02, 0x81, 0x80, 0x00, 0x00})).status == DecodeStatus::BadEncoding);  // overlong round
  // Eleven bytes, or a tenth byte above 1: beyond 64 bits.
  CHECK(decode(frame_bytes({0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00})).status ==
        DecodeStatus::BadEncoding);
  CHECK(decode(frame_bytes({0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x01, 0x00})).status ==
        DecodeStatus::BadEncoding);
  // A round of 2^63 does not fit a signed round.
  CHECK(decode(frame_bytes({0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00})).status ==
        DecodeStatus::BadRound);
  CHECK(decode(frame_bytes({0x02, 0x80})).status == DecodeStatus::Truncated);  // unterminated
}

TEST_CASE("an instance delta may not leave 0 .. 2^63-1") {
  auto with_delta = [](uint64_t first, uint64_t zz) {
    std::vector<std::byte> b = packet({{first, 0, 0}});
    b.push_back(std::byte{0});
    uint64_t v = zz;
    while (v >= 0x80) {
      b.push_back(std::byte(uint8_t(v) | 0x80));
      v >>= 7;
    }
    b.push_back(std::byte(uint8_t(v)));
    b.push_back(std::byte{0});
    b.push_back(std::byte{0});
    return b;
  };
  CHECK(decode(with_delta(3, 5)).status == DecodeStatus::Ok);            // 3 - 3 = 0
  CHECK(decode(with_delta(3, 7)).frames.size() == 1);                    // the first frame got through
  Decoded ok = decode(with_delta(3, 5));
  REQUIRE(ok.frames.size() == 2);
  CHECK(ok.frames[1].instance == 0);
  CHECK(decode(with_delta(3, 7)).status == DecodeStatus::BadEncoding);  // below 0
  CHECK(decode(with_delta(uint64_t(INT64_MAX), 2)).status == DecodeStatus::BadEncoding);  // 2^63
  CHECK(decode(with_delta(0, 1)).status == DecodeStatus::BadEncoding);   // 0 - 1
}

TEST_CASE("frames before a bad one are handed up; the bad one stops the packet") {
  auto b = packet({{1, 0, 8}, {2, 0, 8}, {3, 0, 8}});
  const size_t third = b.size() - 12;
  poke<uint8_t>(b, third, 0x40);
  Decoded d = decode(b);
  CHECK(d.status == DecodeStatus::BadEncoding);
  CHECK(d.frames.size() == 2);
}

TEST_CASE("padding: kPadding then zeros may end a body after its frames, and nothing else may follow it") {
  const auto frames = packet({{1, 0, 8}, {2, 3, 8}});
  for (const size_t size : {size_t(1), size_t(2), size_t(40), size_t(1300)}) {
    CAPTURE(size);
    auto b = frames;
    b.resize(b.size() + size);
    write_padding(b.data() + frames.size(), size);
    CHECK(uint8_t(b[frames.size()]) == kPadding);
    Decoded d = decode(b);
    CHECK(d.status == DecodeStatus::Ok);
    REQUIRE(d.frames.size() == 2);
    CHECK(d.frames[1].instance == 2);
    CHECK(d.frames[1].round == 3);
    if (size > 1) {
      // A byte that is not zero anywhere in the padding: the frames before
      // it are handed up, the packet counts as malformed.
      for (const size_t at : {size_t(1), size - 1}) {
        auto bad = b;
        bad[frames.size() + at] = std::byte{1};
        Decoded e = decode(bad);
        CHECK(e.status == DecodeStatus::BadEncoding);
        CHECK(e.frames.size() == 2);
      }
    }
  }
  // Padding alone is a body without a frame; padding that is not well
  // formed there is bad encoding.
  auto only = packet({});
  only.resize(only.size() + 30);
  write_padding(only.data() + kPacketHeaderSize, 30);
  CHECK(decode(only).status == DecodeStatus::Truncated);
  only.back() = std::byte{7};
  CHECK(decode(only).status == DecodeStatus::BadEncoding);
  // A frame after padding is not a frame: its bytes are not zero.
  auto after = frames;
  after.push_back(std::byte(kPadding));
  const auto more = packet({{5, 0, 8}});
  after.insert(after.end(), more.begin() + kPacketHeaderSize, more.end());
  Decoded f = decode(after);
  CHECK(f.status == DecodeStatus::BadEncoding);
  CHECK(f.frames.size() == 2);
}

TEST_CASE("random bytes never decode into a frame by accident and never crash") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> b(size_t(rng() % 96));
    for (auto& x : b) x = std::byte(rng());
    CHECK(decode(b).status != DecodeStatus::Ok);
  }
  // Valid packets with random bit flips: decoding either succeeds or names a
  // reason, never reads out of bounds (run under ASan to see it), and every
  // frame it hands up is within the limits.
  auto good = packet({{100, 3, 8}, {101, 3, 8, true}, {7, 0, 2, true, FrameKind::Decided}});
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    b[rng() % b.size()] ^= std::byte(1u << (rng() % 8));
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    Decoded d = decode(b);
    for (const WireHeader& h : d.frames) {
      CHECK(h.sender < 5);
      CHECK(h.length <= (h.kind == FrameKind::Decided ? kMaxDecidedBitmap : 16));
      CHECK(h.round >= 0);
    }
  }
}

// A Decided frame with this bitmap, first instance and round, decoded.
static Decoded decided_frame(uint64_t first, std::vector<uint8_t> bits, uint64_t round = 0) {
  std::vector<std::byte> b;
  encode_packet_header({PacketKind::Messages, 0xABCDEF, 2, 11, 22, 33}, b);
  b.push_back(std::byte{kFlagDecided | kFlagNotice});
  append_varint(b, first << 1);  // zigzag of a non-negative delta from 0
  append_varint(b, round);
  append_varint(b, bits.size());
  for (uint8_t x : bits) b.push_back(std::byte{x});
  return decode(b);
}

TEST_CASE("Decided frames: bitmaps of decided instances, made and read back, strictly decoded") {
  // Made from a sorted list: one frame while the span fits kMaxDecidedBitmap bytes.
  std::vector<uint64_t> list = {1000, 1001, 1003, 1010, 1000 + 8 * kMaxDecidedBitmap - 1, 1000 + 8 * kMaxDecidedBitmap,
                                1000 + 8 * kMaxDecidedBitmap + 5};
  std::vector<std::byte> bitmap;
  size_t named = make_decided_bitmap(list, bitmap);
  CHECK(named == 5);
  CHECK(bitmap.size() == kMaxDecidedBitmap);
  std::vector<uint64_t> back;
  for_each_decided(list[0], bitmap, [&](uint64_t i) { back.push_back(i); });
  CHECK(back == std::vector<uint64_t>(list.begin(), list.begin() + 5));
  named = make_decided_bitmap(std::span<const uint64_t>(list).subspan(5), bitmap);
  CHECK(named == 2);
  CHECK(bitmap.size() == 1);
  CHECK(uint8_t(bitmap[0]) == 0x21);
  // Through the codec.
  std::vector<std::byte> b;
  encode_packet_header({PacketKind::Messages, 0xABCDEF, 2, 11, 22, 33}, b);
  WireHeader h;
  h.kind = FrameKind::Decided;
  h.decided = true;
  h.instance = 1000 + 8 * kMaxDecidedBitmap;
  uint64_t prev = 0;
  encode_frame(h, bitmap, prev, b);
  Decoded d = decode(b);
  REQUIRE(d.status == DecodeStatus::Ok);
  REQUIRE(d.frames.size() == 1);
  CHECK(d.frames[0].kind == FrameKind::Decided);
  CHECK(d.frames[0].decided);
  CHECK(d.frames[0].instance == h.instance);
  CHECK(d.frames[0].length == 1);
  // Canonical only.
  CHECK(decided_frame(5, {0x01}).status == DecodeStatus::Ok);
  CHECK(decided_frame(5, {0x03, 0x00, 0x80}).status == DecodeStatus::Ok);
  CHECK(decided_frame(5, {}).status == DecodeStatus::BadEncoding);            // names nothing
  CHECK(decided_frame(5, {0x02}).status == DecodeStatus::BadEncoding);        // not its first instance
  CHECK(decided_frame(5, {0x01, 0x00}).status == DecodeStatus::BadEncoding);  // a padding byte
  CHECK(decided_frame(5, {0x01}, 3).status == DecodeStatus::BadEncoding);     // a round
  CHECK(decided_frame(uint64_t(INT64_MAX) - 7, {0x01}).status == DecodeStatus::Ok);
  CHECK(decided_frame(uint64_t(INT64_MAX) - 6, {0x01}).status == DecodeStatus::BadEncoding);  // spans past 2^63
  CHECK(decided_frame(5, std::vector<uint8_t>(kMaxDecidedBitmap, 0xFF)).status == DecodeStatus::Ok);
  CHECK(decided_frame(5, std::vector<uint8_t>(kMaxDecidedBitmap + 1, 0xFF)).status == DecodeStatus::Oversized);
}

TEST_CASE("decode status names match the counters") {
  CHECK(std::string(decode_status_name(DecodeStatus::WrongFingerprint)) == "wrong_fingerprint");
  CHECK(std::string(decode_status_name(DecodeStatus::Oversized)) == "oversized");
  CHECK(std::string(decode_status_name(DecodeStatus::BadEncoding)) == "bad_encoding");
}

TEST_CASE("TCP records: split where complete, closed on a bad length, the limit asked before each record") {
  std::vector<std::byte> stream;
  auto add_record = [&](uint32_t len) {
    for (int k = 0; k < 4; ++k) stream.push_back(std::byte(len >> (8 * k)));
    stream.insert(stream.end(), len, std::byte{0xAB});
  };
  add_record(uint32_t(kPacketOverhead));
  add_record(200);
  add_record(100);
  stream.resize(stream.size() - 10);  // the last one is incomplete
  size_t consumed = 0;
  DecodeStatus rejected = DecodeStatus::Ok;
  std::vector<size_t> sizes;
  bool bound = false;
  auto limit = [&] { return bound ? kMaxTcpPacket : uint32_t(kMaxHelloPacket); };
  CHECK(split_tcp_records(stream, limit, consumed, rejected, [&](std::span<const std::byte> p) {
    sizes.push_back(p.size());
    bound = true;  // the first record raised the limit for the 200-byte one
    return true;
  }));
  CHECK(sizes == std::vector<size_t>{kPacketOverhead, 200});
  CHECK(consumed == 4 + kPacketOverhead + 4 + 200);
  CHECK(rejected == DecodeStatus::Ok);

  bound = false;
  std::vector<std::byte> big;
  for (int k = 0; k < 4; ++k) big.push_back(std::byte(uint32_t(kMaxHelloPacket + 1) >> (8 * k)));
  CHECK_FALSE(split_tcp_records(big, limit, consumed, rejected, [](std::span<const std::byte>) { return true; }));
  CHECK(rejected == DecodeStatus::Oversized);
  std::vector<std::byte> tiny{std::byte{3}, std::byte{0}, std::byte{0}, std::byte{0}};
  CHECK_FALSE(split_tcp_records(tiny, limit, consumed, rejected, [](std::span<const std::byte>) { return true; }));
  CHECK(rejected == DecodeStatus::Truncated);
}
