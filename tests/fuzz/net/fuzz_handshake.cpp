// fuzz_handshake.cpp: libFuzzer target over the handshake and the replay
// defences (net::Session). The input is a script: each byte picks an
// operation among three replicas — replica 0 under test, peers 1 and 2 —
// such as a peer's Hello (with fence and decided_below from the input), a
// Hello from 0, a peer's Messages packet, a peer restarting (a new
// incarnation), a replay of any packet sent so far, or raw bytes. Traps: a
// packet accepted twice; a packet of an earlier incarnation accepted after
// the restart became known; "complete" without "can send"; a Hello event
// for another peer than the sender.
#include "fuzz_net.h"

#include <map>
#include <set>
#include <vector>

using namespace psync;

namespace {

const char* const kTarget = "psync_fuzz_net_handshake";

struct Sent {
  std::vector<std::byte> bytes;
  int32_t from;
  uint64_t incarnation;
};

struct Script {
  const uint8_t* p;
  const uint8_t* end;
  uint8_t byte() { return p < end ? *p++ : 0; }
  uint64_t number() {  // small numbers mostly, sometimes large
    const uint8_t b = byte();
    return b < 200 ? b : (uint64_t(byte()) << 32) | (uint64_t(byte()) << 8) | byte();
  }
  bool done() const { return p >= end; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script in{data, data + size};
  std::vector<net::Session> s;
  uint64_t next_incarnation[3] = {1000, 2000, 3000};
  for (int32_t i = 0; i < fuzz::kN; ++i) s.push_back(fuzz::make_session(i, next_incarnation[i]++));
  std::vector<Sent> sent;                   // packets to replica 0
  std::set<std::vector<std::byte>> accepted;
  uint64_t known_restart[3] = {0, 0, 0};    // per peer: replica 0 has seen this incarnation of it
  int64_t now = 0;

  auto deliver_to_0 = [&](const std::vector<std::byte>& bytes, int32_t from, uint64_t incarnation) {
    net::PacketHeader h;
    net::HelloEvent ev;
    const net::DecodeStatus st = s[0].open(bytes, now, h, ev);
    if (st != net::DecodeStatus::Ok) return;
    if (!accepted.insert(bytes).second) fuzz::invariant_failed(kTarget, "a packet accepted twice");
    if (from >= 0 && incarnation < known_restart[size_t(from)])
      fuzz::invariant_failed(kTarget, "a packet of an earlier incarnation accepted after its restart was known");
    if (from >= 0 && incarnation > known_restart[size_t(from)]) known_restart[size_t(from)] = incarnation;
    if (h.kind == net::PacketKind::Hello && ev.peer != h.sender)
      fuzz::invariant_failed(kTarget, "a Hello event for another peer than its sender");
  };

  while (!in.done()) {
    const uint8_t op = in.byte();
    const int32_t peer = 1 + (op >> 4) % 2;
    now += int64_t(in.byte()) * 1000;
    switch (op % 7) {
      case 0: {  // a peer's Hello to 0
        net::HelloBody body{0, in.number(), in.number()};
        std::vector<std::byte> out;
        s[size_t(peer)].append_hello(0, body, out, now);
        sent.push_back({out, peer, s[size_t(peer)].incarnation()});
        deliver_to_0(out, peer, s[size_t(peer)].incarnation());
        break;
      }
      case 1: {  // 0's Hello to a peer
        std::vector<std::byte> out;
        s[0].append_hello(peer, {0, in.number(), in.number()}, out, now);
        net::PacketHeader h;
        net::HelloEvent ev;
        s[size_t(peer)].open(out, now, h, ev);
        break;
      }
      case 2: {  // a peer's Messages packet, if it may send
        if (!s[size_t(peer)].can_send(0)) break;
        std::vector<std::byte> body;
        net::WireHeader h;
        h.instance = in.number();
        h.round = int64_t(in.number());
        uint64_t prev = 0;
        const std::vector<std::byte> payload(in.byte() % 9, std::byte{7});
        net::encode_frame(h, payload, prev, body);
        const auto packet = fuzz::sealed(s[size_t(peer)], 0, body);
        sent.push_back({packet, peer, s[size_t(peer)].incarnation()});
        deliver_to_0(packet, peer, s[size_t(peer)].incarnation());
        break;
      }
      case 3:  // a peer restarts: a fresh session, a larger incarnation
        s[size_t(peer)] = fuzz::make_session(peer, next_incarnation[peer]++ + in.number());
        break;
      case 4: {  // a replay of anything sent to 0 so far
        if (sent.empty()) break;
        const Sent& old = sent[in.number() % sent.size()];
        deliver_to_0(old.bytes, old.from, old.incarnation);
        break;
      }
      case 5: {  // raw bytes
        const size_t n = in.byte();
        std::vector<std::byte> raw;
        for (size_t k = 0; k < n && !in.done(); ++k) raw.push_back(std::byte(in.byte()));
        deliver_to_0(raw, -1, 0);
        break;
      }
      case 6: {  // the timers
        std::vector<int32_t> due;
        s[0].hellos_due(now, due);
        for (int32_t p : due)
          if (p <= 0 || p >= fuzz::kN) fuzz::invariant_failed(kTarget, "a Hello due to no peer");
        (void)s[0].next_hello_us();
        break;
      }
    }
    for (int32_t p = 1; p < fuzz::kN; ++p)
      if (s[0].complete(p) && !s[0].can_send(p)) fuzz::invariant_failed(kTarget, "complete but cannot send");
  }
  return 0;
}
