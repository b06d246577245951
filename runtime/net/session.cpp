// session.cpp: sealing and opening packets, the replay window and the
// handshake (see session.h).
#include "net/session.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace psync::net {

namespace {

template <typename T>
void put(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// The public "key" of the keyless mode for the direction from -> to.
Key keyless_key(uint64_t fingerprint, int32_t from, int32_t to) {
  uint8_t input[24] = {'p', 's', 'y', 'n', 'c', '-', 'k', 'e', 'y', 'l', 'e', 's', 's'};
  std::memcpy(input + 13, &fingerprint, 8);
  input[21] = uint8_t(from);
  input[22] = uint8_t(to);
  Key k{};
  crypto_generichash(k.data(), k.size(), input, sizeof input, nullptr, 0);
  return k;
}

}  // namespace

void encode_hello_body(const HelloBody& b, std::vector<std::byte>& out) {
  out.push_back(std::byte(b.flags));
  append_varint(out, b.fence);
  append_varint(out, b.decided_below);
}

DecodeStatus decode_hello_body(std::span<const std::byte> body, HelloBody& b) {
  const std::byte* p = body.data();
  const std::byte* end = p + body.size();
  if (p == end) return DecodeStatus::Truncated;
  b.flags = uint8_t(*p++);
  if (b.flags & ~kHelloKnownFlags) return DecodeStatus::BadEncoding;
  if (DecodeStatus s = read_varint(p, end, b.fence); s != DecodeStatus::Ok) return s;
  if (DecodeStatus s = read_varint(p, end, b.decided_below); s != DecodeStatus::Ok) return s;
  return p == end ? DecodeStatus::Ok : DecodeStatus::BadEncoding;
}

bool ReplayWindow::accept(uint64_t c) {
  if (c == 0) return false;  // counters start at 1
  if (c > highest_) {
    const uint64_t advance = c - highest_;
    if (advance >= kSize) {
      bits_.fill(0);
    } else {
      for (uint64_t k = highest_ + 1; k <= c; ++k) bits_[(k / 64) % kWords] &= ~(uint64_t{1} << (k % 64));
    }
    highest_ = c;
  } else if (highest_ - c >= kSize || test(c)) {
    return false;
  }
  bits_[(c / 64) % kWords] |= uint64_t{1} << (c % 64);
  return true;
}

void ReplayWindow::reset() {
  highest_ = 0;
  bits_.fill(0);
}

SessionKeys SessionKeys::keyless(int32_t n, int32_t me, uint64_t fingerprint) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot initialise (no random source?)");
  SessionKeys k;
  k.keyed = false;
  k.channels.resize(size_t(n));
  for (int32_t p = 0; p < n; ++p) {
    k.channels[size_t(p)].tx = keyless_key(fingerprint, me, p);
    k.channels[size_t(p)].rx = keyless_key(fingerprint, p, me);
  }
  return k;
}

SessionKeys SessionKeys::from_key_pairs(int32_t me, const KeyPair& mine, const std::vector<Key>& public_keys) {
  SessionKeys k;
  k.keyed = true;
  k.channels.resize(public_keys.size());
  for (int32_t p = 0; p < int32_t(public_keys.size()); ++p) {
    if (p == me) continue;
    if (!derive_channel_keys(me, mine, p, public_keys[size_t(p)], k.channels[size_t(p)]))
      throw std::runtime_error("the public key of process " + std::to_string(p) + " is not a usable X25519 key");
  }
  return k;
}

Session::Session(const DecodeLimits& limits, int32_t me, uint64_t incarnation, bool durable, SessionKeys keys)
    : limits_(limits), me_(me), incarnation_(incarnation), durable_(durable), keys_(std::move(keys)),
      peers_(size_t(limits.n)) {}

int32_t Session::complete_count() const {
  int32_t c = 0;
  for (const PeerState& p : peers_) c += p.complete ? 1 : 0;
  return c;
}

void Session::seal(int32_t peer, std::span<std::byte> packet) {
  PeerState& ps = peers_[size_t(peer)];
  put<uint64_t>(packet.data() + 13, incarnation_);
  put<uint64_t>(packet.data() + 21, ps.incarnation);
  put<uint64_t>(packet.data() + 29, ps.next_counter++);
  mac_packet(keys_.channels[size_t(peer)].tx, packet, ps.tx_mac);
}

void Session::append_hello(int32_t peer, HelloBody body, std::vector<std::byte>& out, int64_t now_us) {
  PeerState& ps = peers_[size_t(peer)];
  body.flags = uint8_t((ps.complete ? 0 : kHelloNeedReply) | (durable_ ? kHelloDurable : 0));
  const size_t at = out.size();
  encode_packet_header({PacketKind::Hello, limits_.fingerprint, me_, 0, 0, 0}, out);
  encode_hello_body(body, out);
  out.resize(out.size() + kMacSize);
  seal(peer, std::span<std::byte>(out.data() + at, out.size() - at));
  ps.reply_owed = false;
  ps.last_hello_us = now_us;
  if (!ps.complete) ps.retry_us = std::min(ps.retry_us * 2, kMaxRetryUs);
}

DecodeStatus Session::open(std::span<const std::byte> packet, int64_t now_us, PacketHeader& h, HelloEvent& hello) {
  if (packet.size() < kPacketOverhead) return DecodeStatus::Truncated;
  if (DecodeStatus s = decode_packet_header(packet, limits_, h); s != DecodeStatus::Ok) return s;
  if (h.sender == me_) return DecodeStatus::UnknownSender;
  PeerState& ps = peers_[size_t(h.sender)];
  if (!verify_packet_mac(keys_.channels[size_t(h.sender)].rx, packet, ps.rx_mac)) return DecodeStatus::BadMac;
  if (h.sender_incarnation < ps.incarnation) return DecodeStatus::StaleIncarnation;
  const bool fresh = h.receiver_incarnation == incarnation_;

  if (h.kind == PacketKind::Hello) {
    HelloBody body;
    if (DecodeStatus s = decode_hello_body(packet_body(packet), body); s != DecodeStatus::Ok) return s;
    const bool is_new = h.sender_incarnation > ps.incarnation;
    if (h.counter == 0) return DecodeStatus::Replayed;
    if (!is_new && !ps.window.accept(h.counter)) return DecodeStatus::Replayed;
    hello = HelloEvent{};
    hello.peer = h.sender;
    hello.previous_incarnation = ps.incarnation;
    hello.incarnation = h.sender_incarnation;
    hello.new_incarnation = is_new;
    hello.fresh = fresh;
    hello.body = body;
    if (is_new) {
      ps.incarnation = h.sender_incarnation;
      ps.window.reset();
      ps.window.accept(h.counter);
      ps.complete = false;
    }
    if (fresh && !ps.complete) {
      ps.complete = true;
      ps.retry_us = kFirstRetryUs;
    }
    ps.reply_owed = (body.flags & kHelloNeedReply) != 0 || !fresh;
    ps.last_heard_us = now_us;
    return DecodeStatus::Ok;
  }

  if (h.kind != PacketKind::Messages) return DecodeStatus::BadKind;
  if (h.sender_incarnation > ps.incarnation || !fresh) {
    // A new incarnation whose Hello we missed, or a packet meant for an
    // earlier incarnation of ours (or sent before its handshake): a Hello
    // tells the sender where we stand.
    ps.reply_owed = true;
    return DecodeStatus::WrongIncarnation;
  }
  if (!ps.window.accept(h.counter)) return DecodeStatus::Replayed;
  if (!ps.complete) {
    ps.complete = true;
    ps.retry_us = kFirstRetryUs;
  }
  ps.last_heard_us = now_us;
  return DecodeStatus::Ok;
}

void Session::hellos_due(int64_t now_us, std::vector<int32_t>& out) const {
  for (int32_t p = 0; p < limits_.n; ++p) {
    if (p == me_) continue;
    const PeerState& ps = peers_[size_t(p)];
    if (ps.reply_owed || ps.last_hello_us < 0 ||
        now_us - ps.last_hello_us >= (ps.complete ? kHeartbeatUs : ps.retry_us))
      out.push_back(p);
  }
}

int64_t Session::next_hello_us() const {
  int64_t next = INT64_MAX;
  for (int32_t p = 0; p < limits_.n; ++p) {
    if (p == me_) continue;
    const PeerState& ps = peers_[size_t(p)];
    if (ps.reply_owed || ps.last_hello_us < 0) return 0;
    next = std::min(next, ps.last_hello_us + (ps.complete ? kHeartbeatUs : ps.retry_us));
  }
  return next;
}

}  // namespace psync::net
