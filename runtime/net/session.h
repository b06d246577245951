// session.h: the authenticated session between this process and each peer,
// shared by the UDP and TCP transports. It seals outgoing packets (the
// incarnations, a fresh counter, the MAC) and opens incoming ones: MAC,
// incarnation and replay checks, then the handshake. No sockets and no
// clock (time comes in), so that tests and fuzzers drive it directly.
//
// Incarnations. Each start of a process has an incarnation number, larger
// than any earlier one of the same replica (the wall clock in microseconds,
// and with --data-dir also past the last one recorded). Every packet names
// the sender's incarnation and the receiver's as the sender knows it. A peer
// learns another's incarnation only from an authenticated Hello. Messages are
// accepted only between the two current incarnations, so replays from before
// a restart — of either side — fail, and a restarted replica is told apart
// from a late starter (docs/reliability.md).
//
// Handshake. Hellos go out at start, are answered when the sender asks (the
// need-reply flag: it has not yet had a Hello naming its current incarnation)
// or names an outdated incarnation of ours, and repeat as a heartbeat. A
// Hello carries the sender's flags (durable: it runs with --data-dir), the
// fence it sets for the receiver (the receiver may not vote below that
// instance: set when the receiver restarted without a data dir) and the
// lowest instance the sender has not decided.
#pragma once

#include "net/auth.h"
#include "net/wire.h"

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace psync::net {

inline constexpr uint8_t kHelloNeedReply = 0x01;  // the sender wants a Hello naming its incarnation
inline constexpr uint8_t kHelloDurable = 0x02;    // the sender keeps its state across restarts
inline constexpr uint8_t kHelloKnownFlags = kHelloNeedReply | kHelloDurable;

struct HelloBody {
  uint8_t flags = 0;
  uint64_t fence = 0;          // the receiver may not vote in instances below this (0: no fence)
  uint64_t decided_below = 0;  // every instance below this is decided at the sender
};
void encode_hello_body(const HelloBody& b, std::vector<std::byte>& out);
// Exactly a flags byte (known bits only) and two canonical varints.
DecodeStatus decode_hello_body(std::span<const std::byte> body, HelloBody& b);

// Counters seen from one incarnation of one peer: the highest, and which of
// the kSize below it. Anything older than the window is refused, so a replay
// is refused whatever its age, while reordering within the window passes.
class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 1024;
  // True (and recorded) if `counter` has not been seen and is not too old.
  bool accept(uint64_t counter);
  void reset();
  uint64_t highest() const { return highest_; }

 private:
  bool test(uint64_t c) const { return (bits_[(c / 64) % kWords] >> (c % 64)) & 1; }
  static constexpr size_t kWords = kSize / 64;
  uint64_t highest_ = 0;
  std::array<uint64_t, kWords> bits_{};
};

// The keys of a session. Keyed: from the replicas' key pairs (auth.h).
// Keyless: public keys derived from the fingerprint and the two ids, so that
// corruption is still caught but anyone can forge (the node warns).
struct SessionKeys {
  bool keyed = false;
  std::vector<ChannelKeys> channels;  // index = peer id
  static SessionKeys keyless(int32_t n, int32_t me, uint64_t fingerprint);
  // Throws std::runtime_error on a public key that is not usable.
  static SessionKeys from_key_pairs(int32_t me, const KeyPair& mine, const std::vector<Key>& public_keys);
};

// What a Hello told us.
struct HelloEvent {
  int32_t peer = -1;
  uint64_t incarnation = 0;           // the peer's, now current
  uint64_t previous_incarnation = 0;  // the one it replaced, 0 if none
  bool new_incarnation = false;       // the first packet of this incarnation of the peer
  bool fresh = false;                 // it names our current incarnation: `fence` is meant for us
  HelloBody body;
};

class Session {
 public:
  // Heartbeat and retry periods (the handshake retries faster until done).
  static constexpr int64_t kHeartbeatUs = 100'000;
  static constexpr int64_t kFirstRetryUs = 10'000;
  static constexpr int64_t kMaxRetryUs = 200'000;

  Session(const DecodeLimits& limits, int32_t me, uint64_t incarnation, bool durable, SessionKeys keys);

  int32_t n() const { return limits_.n; }
  int32_t me() const { return me_; }
  bool keyed() const { return keys_.keyed; }
  uint64_t incarnation() const { return incarnation_; }
  const DecodeLimits& limits() const { return limits_; }

  // Packets to `peer` can be sealed: its incarnation is known.
  bool can_send(int32_t peer) const { return peers_[size_t(peer)].incarnation != 0; }
  // The handshake with `peer` is done: we know its current incarnation and
  // it has shown that it knows ours.
  bool complete(int32_t peer) const { return peers_[size_t(peer)].complete; }
  int32_t complete_count() const;
  uint64_t peer_incarnation(int32_t peer) const { return peers_[size_t(peer)].incarnation; }
  // When the last authenticated packet from `peer` arrived (-1: never).
  int64_t last_heard_us(int32_t peer) const { return peers_[size_t(peer)].last_heard_us; }

  // Fills in the incarnations and the next counter of a packet for `peer`
  // (header, body, then kMacSize bytes for the MAC) and its MAC. For a
  // Messages packet the peer must be can_send().
  void seal(int32_t peer, std::span<std::byte> packet);
  // Appends a sealed Hello for `peer` carrying `body` (its flags get
  // need-reply and durable from the session's state) and notes it as sent.
  void append_hello(int32_t peer, HelloBody body, std::vector<std::byte>& out, int64_t now_us);

  // Authenticates one packet: the header, the MAC, then incarnations and the
  // replay window; a Hello's body is decoded and processed (`hello` filled).
  // Ok: for Messages, the frames (packet_body) may be handed up; for a
  // Hello, *hello holds what it said. Rejections change no state.
  DecodeStatus open(std::span<const std::byte> packet, int64_t now_us, PacketHeader& h, HelloEvent& hello);

  // Peers that should get a Hello now (a reply is owed, the handshake is
  // not done and its retry is due, or the heartbeat is due).
  void hellos_due(int64_t now_us, std::vector<int32_t>& out) const;
  // When the next Hello falls due, for the transport's timer.
  int64_t next_hello_us() const;

 private:
  struct PeerState {
    uint64_t incarnation = 0;  // its current incarnation; 0: unknown
    ReplayWindow window;       // counters seen from that incarnation
    bool complete = false;
    bool reply_owed = false;
    uint64_t next_counter = 1;  // ours, to it
    int64_t last_hello_us = -1; // when we last sent it a Hello
    int64_t retry_us = kFirstRetryUs;
    int64_t last_heard_us = -1;
    MacCache tx_mac, rx_mac;    // the subkeys of the channel's two directions (auth.h)
  };

  DecodeLimits limits_;
  int32_t me_;
  uint64_t incarnation_;
  bool durable_;
  SessionKeys keys_;
  std::vector<PeerState> peers_;
};

}  // namespace psync::net
