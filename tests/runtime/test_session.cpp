// test_session.cpp: authenticated sessions without sockets (net/session.h):
// the handshake, MACs against forgery and corruption, one member unable to
// forge another, the replay window, and replays across a restart of either
// side.
#include "net/session.h"

#include <doctest/doctest.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <random>

using namespace psync::net;

namespace {

constexpr uint64_t kFp = 0xF00D;
const DecodeLimits kLimits{kFp, 3, 16};

struct Cluster {
  std::vector<KeyPair> pairs;
  std::vector<Key> publics;
  explicit Cluster(int n) {
    for (int i = 0; i < n; ++i) {
      pairs.push_back(generate_key_pair());
      publics.push_back(pairs.back().public_key);
    }
  }
  Session session(int32_t me, uint64_t incarnation, bool durable = false) const {
    return Session(kLimits, me, incarnation, durable, SessionKeys::from_key_pairs(me, pairs[size_t(me)], publics));
  }
};

// A sealed Messages packet from `s` to `peer` with one 8-byte message frame.
std::vector<std::byte> message(Session& s, int32_t peer, uint64_t instance = 1) {
  std::vector<std::byte> out;
  encode_packet_header({PacketKind::Messages, kFp, s.me(), 0, 0, 0}, out);
  WireHeader h;
  h.instance = instance;
  h.round = 2;
  uint64_t prev = 0;
  std::vector<std::byte> payload(8, std::byte{7});
  encode_frame(h, payload, prev, out);
  out.resize(out.size() + kMacSize);
  s.seal(peer, out);
  return out;
}

std::vector<std::byte> hello(Session& s, int32_t peer, HelloBody body = {}, int64_t now = 0) {
  std::vector<std::byte> out;
  s.append_hello(peer, body, out, now);
  return out;
}

DecodeStatus open(Session& s, const std::vector<std::byte>& p, HelloEvent* ev = nullptr) {
  PacketHeader h;
  HelloEvent e;
  const DecodeStatus st = s.open(p, 0, h, e);
  if (ev) *ev = e;
  return st;
}

// Runs the handshake between a and b (a starts), as the transports would.
void handshake(Session& a, Session& b) {
  REQUIRE(open(b, hello(a, b.me())) == DecodeStatus::Ok);  // a -> b: b learns a; b owes a reply
  REQUIRE(open(a, hello(b, a.me())) == DecodeStatus::Ok);  // b -> a: fresh, a is done
  REQUIRE(open(b, hello(a, b.me())) == DecodeStatus::Ok);  // a -> b: fresh, b is done
  REQUIRE(a.complete(b.me()));
  REQUIRE(b.complete(a.me()));
}

}  // namespace

TEST_CASE("the handshake: hellos name incarnations, replies are owed until both sides know each other") {
  Cluster c(3);
  Session a = c.session(0, 1000), b = c.session(1, 2000);
  CHECK(!a.can_send(1));
  std::vector<int32_t> due;
  a.hellos_due(0, due);
  CHECK(due == std::vector<int32_t>{1, 2});  // everyone gets a hello at start

  HelloEvent ev;
  REQUIRE(open(b, hello(a, 1, {0, 5, 9}), &ev) == DecodeStatus::Ok);
  CHECK(ev.peer == 0);
  CHECK(ev.incarnation == 1000);
  CHECK(ev.new_incarnation);
  CHECK(ev.previous_incarnation == 0);
  CHECK(!ev.fresh);  // a did not know b's incarnation yet
  CHECK(ev.body.fence == 5);
  CHECK(ev.body.decided_below == 9);
  CHECK((ev.body.flags & kHelloNeedReply) != 0);
  CHECK(b.can_send(0));
  CHECK(!b.complete(0));
  due.clear();
  b.hellos_due(0, due);
  CHECK(due.front() == 0);  // the reply

  REQUIRE(open(a, hello(b, 0), &ev) == DecodeStatus::Ok);
  CHECK(ev.fresh);
  CHECK(a.complete(1));
  REQUIRE(open(b, hello(a, 1), &ev) == DecodeStatus::Ok);
  CHECK(ev.fresh);
  CHECK(!ev.new_incarnation);
  CHECK(b.complete(0));
  CHECK(b.complete_count() == 1);

  // Then messages flow both ways; the heartbeat repeats every 100 ms.
  CHECK(open(b, message(a, 1)) == DecodeStatus::Ok);
  CHECK(open(a, message(b, 0)) == DecodeStatus::Ok);
  due.clear();
  a.hellos_due(Session::kHeartbeatUs - 1, due);
  CHECK(std::find(due.begin(), due.end(), 1) == due.end());
  due.clear();
  a.hellos_due(Session::kHeartbeatUs + 1, due);
  CHECK(std::find(due.begin(), due.end(), 1) != due.end());
}

TEST_CASE("messages need the handshake: unknown incarnations are refused") {
  Cluster c(3);
  Session a = c.session(0, 1000), b = c.session(1, 2000);
  // b has not had a's hello: a's first messages cannot be accepted (and a
  // cannot even address them: it does not know b's incarnation).
  REQUIRE(open(b, hello(a, 1)) == DecodeStatus::Ok);
  const auto early = message(b, 0);  // b knows a; a does not know b yet
  CHECK(open(a, early) == DecodeStatus::WrongIncarnation);
}

TEST_CASE("a forged or corrupted packet fails its MAC; a member cannot forge another member") {
  Cluster c(3);
  Session a = c.session(0, 1000), b = c.session(1, 2000), m = c.session(2, 3000);
  handshake(a, b);
  handshake(m, b);
  const auto good = message(a, 1);

  SUBCASE("every single bit flip is caught") {
    for (size_t i = 0; i < good.size(); ++i) {
      auto bad = good;
      bad[i] ^= std::byte{0x10};
      const DecodeStatus s = open(b, bad);
      CHECK(s != DecodeStatus::Ok);
    }
    CHECK(open(b, good) == DecodeStatus::Ok);  // none of them used up its counter
  }
  SUBCASE("member 2, with its own valid key, claims to be 0") {
    std::vector<std::byte> forged;
    encode_packet_header({PacketKind::Messages, kFp, 2, 0, 0, 0}, forged);
    WireHeader h;
    h.instance = 1;
    uint64_t prev = 0;
    std::vector<std::byte> payload(8, std::byte{9});
    encode_frame(h, payload, prev, forged);
    forged.resize(forged.size() + kMacSize);
    m.seal(1, forged);  // a valid packet from 2 to 1 ...
    CHECK(open(b, forged) == DecodeStatus::Ok);
    forged = message(m, 1);
    forged[12] = std::byte{0};  // ... relabelled as from 0
    CHECK(open(b, forged) == DecodeStatus::BadMac);
  }
  SUBCASE("a stranger without keys copies a header and guesses") {
    auto forged = good;
    forged[forged.size() - 20] = std::byte{0x42};  // its own payload, the old MAC
    CHECK(open(b, forged) == DecodeStatus::BadMac);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 1000; ++i) {
      auto guess = good;
      for (size_t k = guess.size() - kMacSize; k < guess.size(); ++k) guess[k] = std::byte(rng());
      CHECK(open(b, guess) == DecodeStatus::BadMac);
    }
  }
  SUBCASE("a packet for 1 is no good at 2") {
    CHECK(open(m, good) == DecodeStatus::BadMac);
  }
}

TEST_CASE("packet MACs are XChaCha20-Poly1305 tags, from a cached subkey too, as the incarnations change under it") {
  REQUIRE(sodium_init() >= 0);
  Key key;
  randombytes_buf(key.data(), key.size());
  MacCache tx, rx;
  std::mt19937_64 rng(7);
  std::vector<std::byte> previous;
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    std::vector<std::byte> packet(kPacketOverhead + rng() % 300);
    for (std::byte& b : packet) b = std::byte(uint8_t(rng()));
    // Mostly the incarnations (the nonce's first 16 bytes) of the packet
    // before, as in a session; now and then new ones, as after a restart.
    if (!previous.empty() && rng() % 4 != 0)
      std::copy_n(previous.begin() + kIncarnationOffset, 16, packet.begin() + kIncarnationOffset);
    const size_t ad = packet.size() - kMacSize;
    unsigned char expect[kMacSize];
    unsigned long long maclen = 0;
    unsigned char none[1] = {0};
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        none, expect, &maclen, nullptr, 0, reinterpret_cast<const unsigned char*>(packet.data()), ad, nullptr,
        reinterpret_cast<const unsigned char*>(packet.data() + kIncarnationOffset), key.data());
    mac_packet(key, packet, tx);
    CHECK(std::memcmp(expect, packet.data() + ad, kMacSize) == 0);
    std::vector<std::byte> alone = packet;
    MacCache fresh_tx, fresh_rx;
    mac_packet(key, alone, fresh_tx);  // from a fresh cache: the same tag
    CHECK(alone == packet);
    CHECK(verify_packet_mac(key, packet, rx));
    CHECK(verify_packet_mac(key, packet, fresh_rx));
    auto bad = packet;
    bad[rng() % bad.size()] ^= std::byte{0x01};
    CHECK(!verify_packet_mac(key, bad, rx));
    previous = packet;
  }
}

TEST_CASE("replays: each counter is accepted once; reordering within the window passes") {
  Cluster c(2);
  Session a = c.session(0, 1000), b = c.session(1, 2000);
  handshake(a, b);
  std::vector<std::vector<std::byte>> packets;
  for (int i = 0; i < 10; ++i) packets.push_back(message(a, 1, uint64_t(i)));
  CHECK(open(b, packets[5]) == DecodeStatus::Ok);
  CHECK(open(b, packets[5]) == DecodeStatus::Replayed);
  for (int i : {9, 0, 3, 8, 1}) CHECK(open(b, packets[size_t(i)]) == DecodeStatus::Ok);
  for (int i : {9, 0, 3}) CHECK(open(b, packets[size_t(i)]) == DecodeStatus::Replayed);
  // Older than the window: refused even if never seen.
  const auto old = message(a, 1);
  for (uint64_t i = 0; i < ReplayWindow::kSize + 5; ++i) (void)message(a, 1);
  CHECK(open(b, message(a, 1)) == DecodeStatus::Ok);
  CHECK(open(b, old) == DecodeStatus::Replayed);
  // A replayed hello changes nothing either.
  const auto h = hello(a, 1);
  CHECK(open(b, h) == DecodeStatus::Ok);
  CHECK(open(b, h) == DecodeStatus::Replayed);
}

TEST_CASE("ReplayWindow: the bitmap slides; counter 0 never passes") {
  ReplayWindow w;
  CHECK(!w.accept(0));
  CHECK(w.accept(1));
  CHECK(w.accept(3000));
  CHECK(!w.accept(1));  // far below now
  CHECK(w.accept(3000 - ReplayWindow::kSize + 1));
  CHECK(!w.accept(3000 - ReplayWindow::kSize));
  CHECK(w.accept(2999));
  CHECK(!w.accept(2999));
  CHECK(w.accept(3001));
  CHECK(!w.accept(3000));
  w.reset();
  CHECK(w.accept(1));
}

TEST_CASE("replays across a restart fail, whichever side restarted") {
  Cluster c(2);
  Session a = c.session(0, 1000), b = c.session(1, 2000);
  handshake(a, b);
  const auto before = message(a, 1);
  const auto hello_before = hello(a, 1);
  CHECK(open(b, before) == DecodeStatus::Ok);

  SUBCASE("the receiver restarted: old packets name its old incarnation") {
    Session b2 = c.session(1, 2001);
    CHECK(open(b2, before) == DecodeStatus::WrongIncarnation);
    // An old hello teaches it a's old incarnation, never a fence (not fresh).
    HelloEvent ev;
    REQUIRE(open(b2, hello_before, &ev) == DecodeStatus::Ok);
    CHECK(!ev.fresh);
    CHECK(open(b2, before) == DecodeStatus::WrongIncarnation);
    // The real a shows up with its current packets: still fine.
    handshake(a, b2);
    CHECK(open(b2, message(a, 1)) == DecodeStatus::Ok);
  }
  SUBCASE("the sender restarted: once b has its new incarnation, the old one's packets are stale") {
    Session a2 = c.session(0, 1001);
    HelloEvent ev;
    REQUIRE(open(b, hello(a2, 1), &ev) == DecodeStatus::Ok);
    CHECK(ev.new_incarnation);
    CHECK(ev.previous_incarnation == 1000);
    CHECK(open(b, before) == DecodeStatus::StaleIncarnation);
    CHECK(open(b, message(a, 1)) == DecodeStatus::StaleIncarnation);  // the old process, still running
    CHECK(open(b, hello_before) == DecodeStatus::StaleIncarnation);
    REQUIRE(open(a2, hello(b, 0)) == DecodeStatus::Ok);
    CHECK(open(b, message(a2, 1)) == DecodeStatus::Ok);  // counters start again: a new incarnation
  }
}

TEST_CASE("keyless sessions catch corruption but not forgery") {
  Session a(kLimits, 0, 10, false, SessionKeys::keyless(3, 0, kFp));
  Session b(kLimits, 1, 20, false, SessionKeys::keyless(3, 1, kFp));
  Session m(kLimits, 2, 30, false, SessionKeys::keyless(3, 2, kFp));
  CHECK(!a.keyed());
  handshake(a, b);
  auto p = message(a, 1);
  auto flipped = p;
  flipped[40] ^= std::byte{1};
  CHECK(open(b, flipped) == DecodeStatus::BadMac);
  CHECK(open(b, p) == DecodeStatus::Ok);
  // Anyone can compute the keyless "keys": 2 impersonates 0 successfully.
  Session forger(kLimits, 0, 10, false, SessionKeys::keyless(3, 0, kFp));
  for (int i = 0; i < 5; ++i) (void)message(forger, 1);  // counters past a's
  handshake(forger, b);
  CHECK(open(b, message(forger, 1)) == DecodeStatus::Ok);
}

TEST_CASE("hello bodies are strict") {
  HelloBody b;
  std::vector<std::byte> bytes;
  encode_hello_body({kHelloDurable, 300, 7}, bytes);
  REQUIRE(decode_hello_body(bytes, b) == DecodeStatus::Ok);
  CHECK(b.flags == kHelloDurable);
  CHECK(b.fence == 300);
  CHECK(b.decided_below == 7);
  auto extra = bytes;
  extra.push_back(std::byte{0});
  CHECK(decode_hello_body(extra, b) == DecodeStatus::BadEncoding);
  auto flags = bytes;
  flags[0] = std::byte{0x80};
  CHECK(decode_hello_body(flags, b) == DecodeStatus::BadEncoding);
  for (size_t len = 0; len < bytes.size(); ++len)
    CHECK(decode_hello_body(std::span<const std::byte>(bytes.data(), len), b) == DecodeStatus::Truncated);
}

TEST_CASE("keys: files round-trip, the public half is derived, a wrong key is caught") {
  const KeyPair k = generate_key_pair();
  CHECK(public_key_of(k.secret_key) == k.public_key);
  CHECK(key_from_hex(to_hex(k.public_key)) == k.public_key);
  CHECK(!key_from_hex("zz"));
  CHECK(!key_from_hex(std::string(64, 'g')));
  ChannelKeys ab, ba;
  const KeyPair other = generate_key_pair();
  REQUIRE(derive_channel_keys(0, k, 1, other.public_key, ab));
  REQUIRE(derive_channel_keys(1, other, 0, k.public_key, ba));
  CHECK(ab.tx == ba.rx);
  CHECK(ab.rx == ba.tx);
  CHECK(ab.tx != ab.rx);
  Key low_order{};  // the all-zero point: crypto_kx refuses it
  CHECK(!derive_channel_keys(0, k, 1, low_order, ab));
}
