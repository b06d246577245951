// test_net.cpp: the UDP and TCP transports on loopback inside one process —
// valid frames get through after the handshake; unknown peers, forged
// senders, spoofed member ids, replays and garbage are dropped and counted;
// TCP binds a connection by its authenticated Hello, not its source address,
// and bounds what unauthenticated connections may hold.
#include "net/transport.h"

#include <doctest/doctest.h>

#include <netinet/udp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <memory>

using namespace psync::net;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

// Distinct loopback ports, each held by a bound socket (TCP: listening) until
// released. Choosing a port and closing it at once, then choosing the next,
// can return the same port twice; a TCP transport given its own port as a
// peer's then dials itself. A peer the test does not run keeps its port
// held, so the transport's dials reach the test's listener and nobody
// else's.
template <class Socket>
struct HeldPorts {
  std::vector<std::unique_ptr<Socket>> sockets;
  std::vector<uint16_t> ports;
  HeldPorts(asio::io_context& io, size_t count, const char* host = "127.0.0.1") {
    for (size_t i = 0; i < count; ++i) {
      sockets.push_back(std::make_unique<Socket>(io, typename Socket::endpoint_type(asio::ip::make_address(host), 0)));
      ports.push_back(sockets.back()->local_endpoint().port());
    }
  }
  void release(size_t i) { sockets[i]->close(); }  // just before a transport binds it
};
using TcpPorts = HeldPorts<tcp::acceptor>;
using UdpPorts = HeldPorts<udp::socket>;

constexpr uint64_t kFp = 77;

struct Keys {
  std::vector<KeyPair> pairs;
  std::vector<Key> publics;
  explicit Keys(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      pairs.push_back(generate_key_pair());
      publics.push_back(pairs.back().public_key);
    }
  }
  SessionKeys for_(int32_t me) const { return SessionKeys::from_key_pairs(me, pairs[size_t(me)], publics); }
};

NetConfig make_config(const std::vector<uint16_t>& ports, int32_t me, const Keys* keys = nullptr,
                      const char* host = "127.0.0.1") {
  NetConfig c;
  c.n = int32_t(ports.size());
  c.me = me;
  c.fingerprint = kFp;
  c.max_payload = 8;
  c.incarnation = 100 + uint64_t(me);
  for (size_t i = 0; i < ports.size(); ++i)
    c.peers.push_back({int32_t(i), host, ports[i], asio::ip::make_address(host)});
  if (keys) c.keys = keys->for_(me);
  return c;
}

SessionKeys session_keys(const NetConfig& c) {
  return c.keys.keyed ? c.keys : SessionKeys::keyless(c.n, c.me, c.fingerprint);
}

// A hand-driven peer: its own Session, packets built and sealed by the test.
struct FakePeer {
  Session session;
  FakePeer(const NetConfig& c, uint64_t incarnation)
      : session(DecodeLimits{c.fingerprint, c.n, c.max_payload}, c.me, incarnation, false, session_keys(c)) {}
  std::vector<std::byte> hello(int32_t to) {
    std::vector<std::byte> out;
    session.append_hello(to, {}, out, 0);
    return out;
  }
  // A Messages packet with `frames` OneThirdRule-sized frames (instances 3, 4, ...).
  std::vector<std::byte> messages(int32_t to, int frames = 1) {
    std::vector<std::byte> out;
    encode_packet_header({PacketKind::Messages, kFp, session.me(), 0, 0, 0}, out);
    uint64_t prev = 0;
    for (int i = 0; i < frames; ++i) {
      WireHeader h;
      h.instance = 3 + uint64_t(i);
      h.round = 1;
      std::vector<std::byte> payload(8, std::byte{1});
      encode_frame(h, payload, prev, out);
    }
    out.resize(out.size() + kMacSize);
    session.seal(to, out);
    return out;
  }
  // Takes a packet the transport sent (its Hellos teach us its incarnation).
  DecodeStatus take(std::span<const std::byte> packet) {
    PacketHeader h;
    HelloEvent ev;
    return session.open(packet, 0, h, ev);
  }
};

// TCP: a packet behind its 4-byte length.
std::vector<std::byte> record(const std::vector<std::byte>& packet) {
  // Sized once, then filled: growing a 4-byte vector trips a false
  // -Warray-bounds in g++ 12 at -O3.
  std::vector<std::byte> out(4 + packet.size());
  const uint32_t len = uint32_t(packet.size());
  std::memcpy(out.data(), &len, 4);
  std::copy(packet.begin(), packet.end(), out.begin() + 4);
  return out;
}

std::vector<std::byte> cat(std::vector<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void run_until(asio::io_context& io, const std::function<bool()>& done, int seconds = 5) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
}

// Reads the datagrams the transport sent to `s` and feeds them to `peer`.
void drain_into(udp::socket& s, FakePeer& peer) {
  s.non_blocking(true);
  std::vector<std::byte> buf(65536);
  for (;;) {
    boost::system::error_code ec;
    udp::endpoint from;
    const size_t len = s.receive_from(asio::buffer(buf), from, 0, ec);
    if (ec) return;
    peer.take(std::span<const std::byte>(buf.data(), len));
  }
}

// The UDP handshake between the transport under test (id 0) and a fake
// peer bound at `sock`: hello, the transport's reply, a fresh hello.
void udp_handshake(asio::io_context& io, Transport& t, FakePeer& p, udp::socket& sock, const udp::endpoint& target) {
  sock.send_to(asio::buffer(p.hello(0)), target);
  run_until(io, [&] {
    drain_into(sock, p);
    return p.session.can_send(0);
  });
  REQUIRE(p.session.can_send(0));
  sock.send_to(asio::buffer(p.hello(0)), target);
  run_until(io, [&] { return t.session().complete(p.session.me()); });
  REQUIRE(t.session().complete(p.session.me()));
}

}  // namespace

TEST_CASE("UDP keyless: frames from peers arrive after the handshake; strangers, forgers and garbage are counted") {
  asio::io_context io;
  UdpPorts held(io, 3);
  const std::vector<uint16_t> ports = held.ports;
  NetConfig config = make_config(ports, 0);
  NetCounters counters;
  std::vector<WireHeader> got;
  auto t = make_udp_transport(io, config,
                              each_frame([&](const WireHeader& h, std::span<const std::byte>) { got.push_back(h); }),
                              counters);
  held.release(0);
  t->start();
  const udp::endpoint target(asio::ip::make_address("127.0.0.1"), ports[0]);
  held.release(1);
  udp::socket peer1(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), ports[1]));
  udp::socket stranger(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  FakePeer p1(make_config(ports, 1), 500);
  udp_handshake(io, *t, p1, peer1, target);
  const uint64_t before = counters.datagrams_received;

  auto good = p1.messages(0);
  peer1.send_to(asio::buffer(good), target);                  // ok
  peer1.send_to(asio::buffer(p1.messages(0, 2)), target);     // two frames under one packet header
  peer1.send_to(asio::buffer(good), target);                  // a replay
  auto as2 = p1.messages(0);
  as2[12] = std::byte{2};
  peer1.send_to(asio::buffer(as2), target);                   // claims to be 2 from 1's address
  auto other = p1.messages(0);
  other[4] = std::byte{99};
  peer1.send_to(asio::buffer(other), target);                 // other protocol
  peer1.send_to(asio::buffer(good.data(), 20), target);       // truncated
  auto bad = good;
  bad[0] = std::byte{0};
  peer1.send_to(asio::buffer(bad), target);                   // bad magic
  auto flipped = p1.messages(0);
  flipped[40] ^= std::byte{4};
  peer1.send_to(asio::buffer(flipped), target);               // corrupted in flight
  stranger.send_to(asio::buffer(p1.messages(0)), target);     // unknown address
  std::vector<std::byte> big(9000, std::byte{0xFF});
  peer1.send_to(asio::buffer(big), target);                   // garbage
  run_until(io, [&] { return counters.datagrams_received >= before + 10; });

  CHECK(got.size() == 3);
  CHECK(counters.frames_received == 3);
  CHECK(counters.replayed_dropped == 1);
  CHECK(counters.sender_mismatch_dropped == 1);
  CHECK(counters.wrong_fingerprint_dropped == 1);
  CHECK(counters.truncated_dropped == 1);
  CHECK(counters.bad_magic_dropped == 2);
  CHECK(counters.bad_mac_dropped == 1);
  CHECK(counters.unknown_peer_dropped == 1);
  CHECK(counters.malformed_total() == 8);
  t->stop();
}

TEST_CASE("UDP with keys: a spoofed member id from a non-member port fails the MAC; the real member gets through") {
  asio::io_context io;
  UdpPorts held(io, 3);
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(3);
  NetConfig config = make_config(ports, 0, &keys);
  NetCounters counters;
  std::vector<WireHeader> got;
  auto t = make_udp_transport(io, config,
                              each_frame([&](const WireHeader& h, std::span<const std::byte>) { got.push_back(h); }),
                              counters);
  held.release(0);
  t->start();
  const udp::endpoint target(asio::ip::make_address("127.0.0.1"), ports[0]);
  held.release(1);
  udp::socket peer1(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), ports[1]));
  FakePeer p1(make_config(ports, 1, &keys), 500);
  udp_handshake(io, *t, p1, peer1, target);

  // An attacker on another port knows the protocol and the member ids, but
  // not member 1's key: it claims to be 1, with a keyless "MAC", with its own
  // key pair, and by copying a real packet's MAC onto its own payload.
  udp::socket attacker(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  FakePeer keyless(make_config(ports, 1), 500);
  Keys own(3);
  FakePeer with_own_key(make_config(ports, 1, &own), 500);
  for (FakePeer* f : {&keyless, &with_own_key}) {
    auto h = f->hello(0);
    attacker.send_to(asio::buffer(h), target);
  }
  auto real = p1.messages(0);
  auto copied = real;
  copied[copied.size() - 17] ^= std::byte{0x5A};  // its own payload, the real MAC
  attacker.send_to(asio::buffer(copied), target);
  attacker.send_to(asio::buffer(real), target);   // the real packet, sent from elsewhere first ...
  peer1.send_to(asio::buffer(real), target);      // ... so the member's own copy is the replay
  run_until(io, [&] { return counters.bad_mac_dropped >= 3 && counters.replayed_dropped >= 1; });
  CHECK(counters.bad_mac_dropped == 3);
  CHECK(counters.replayed_dropped == 1);
  CHECK(counters.unknown_peer_dropped == 0);  // with keys the source address is not the evidence
  CHECK(got.size() == 1);
  CHECK(t->session().peer_incarnation(1) == 500);  // the forged hellos changed nothing
  t->stop();
}

TEST_CASE("UDP: sends wait for the handshake, then are coalesced into datagrams") {
  asio::io_context io;
  UdpPorts held(io, 2);
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(2);
  NetConfig c0 = make_config(ports, 0, &keys), c1 = make_config(ports, 1, &keys);
  c0.max_datagram = kPacketOverhead + 3 * 12;  // three frames of 12 bytes
  NetCounters n0, n1;
  int received = 0;
  auto t0 = make_udp_transport(io, c0, each_frame([](const WireHeader&, std::span<const std::byte>) {}), n0);
  auto t1 = make_udp_transport(io, c1,
                               each_frame([&](const WireHeader&, std::span<const std::byte>) { ++received; }), n1);
  held.release(0);
  held.release(1);
  t0->start();
  std::vector<std::byte> payload(8, std::byte{3});
  WireHeader h;
  h.sender = 0;
  t0->send(1, h, payload);  // nobody to send to yet
  CHECK(n0.handshake_pending_dropped == 1);
  t1->start();
  run_until(io, [&] { return t0->reachable_peers() == 1 && t1->reachable_peers() == 1; });
  REQUIRE(t0->reachable_peers() == 1);
  const uint64_t datagrams = n0.datagrams_sent - n0.hellos_sent;
  for (int i = 0; i < 10; ++i) {
    h.instance = uint64_t(i);
    t0->send(1, h, payload);
  }
  run_until(io, [&] { return received == 10; });
  CHECK(received == 10);
  CHECK(n0.datagrams_sent - n0.hellos_sent - datagrams == 4);  // 3 + 3 + 3 + 1
  CHECK(n1.malformed_total() == 0);
}

// Whether this kernel has UDP segmentation offload (Linux 4.18+): the
// transport probes the same way and sends datagrams one by one without it.
bool kernel_has_udp_gso() {
  asio::io_context io;
  udp::socket s(io, udp::endpoint(udp::v4(), 0));
  int size = 1400;
  return ::setsockopt(s.native_handle(), SOL_UDP, UDP_SEGMENT, &size, sizeof size) == 0;
}

// Two flushes of 600 small frames each, one of them larger than
// max_datagram, from transport 0 to 1, with segmentation offload on or off
// at each end: every frame arrives once, in order, whole; with offload at
// the sender the datagrams leave in batches (all but each batch's last
// padded to the segment). A receiver with offload turns GRO on once a
// drain has read 8 datagrams or more (the first flush, which the kernel
// hands it cut into datagrams), and takes the second flush in batches; a
// receiver without it is handed each datagram alone.
void check_offload(bool sender_offload, bool receiver_offload) {
  CAPTURE(sender_offload);
  CAPTURE(receiver_offload);
  constexpr const char* kHost = "127.0.0.7";
  asio::io_context io;
  UdpPorts held(io, 2, kHost);
  const Keys keys(2);
  NetConfig c0 = make_config(held.ports, 0, &keys, kHost), c1 = make_config(held.ports, 1, &keys, kHost);
  c0.max_payload = c1.max_payload = 3000;
  c0.segment_offload = sender_offload;
  c1.segment_offload = receiver_offload;
  NetCounters n0, n1;
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> got;
  auto t0 = make_udp_transport(io, c0, each_frame([](const WireHeader&, std::span<const std::byte>) {}), n0);
  auto t1 = make_udp_transport(io, c1, each_frame([&](const WireHeader& h, std::span<const std::byte> payload) {
                                 got.emplace_back(h.instance, std::vector<std::byte>(payload.begin(), payload.end()));
                               }),
                               n1);
  held.release(0);
  held.release(1);
  t0->start();
  t1->start();
  run_until(io, [&] { return t0->reachable_peers() == 1 && t1->reachable_peers() == 1; });
  REQUIRE(t0->reachable_peers() == 1);
  // Frames of varied sizes, so that datagrams close short of max_datagram
  // by varied amounts; instance 300 is one frame above max_datagram.
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> sent;
  for (uint64_t i = 0; i < 1200; ++i) {
    const size_t size = i == 300 ? 2000 : 1 + (i * 7) % 40;
    sent.emplace_back(i, std::vector<std::byte>(size, std::byte(i % 251)));
  }
  const auto flush_of = [&](size_t from, size_t to) {
    asio::post(io, [&, from, to] {  // one turn: one flush
      WireHeader h;
      h.sender = 0;
      for (size_t k = from; k < to; ++k) {
        h.instance = sent[k].first;
        t0->send(1, h, sent[k].second);
      }
    });
  };
  flush_of(0, 600);
  run_until(io, [&] { return got.size() >= 600; });
  REQUIRE(got.size() == 600);
  flush_of(600, 1200);
  run_until(io, [&] { return got.size() >= sent.size(); });
  CHECK(got == sent);
  CHECK(n1.malformed_total() == 0);
  CHECK(n0.segment_offload_failures == 0);
  const uint64_t datagrams = n0.datagrams_sent - n0.hellos_sent;
  CHECK(datagrams >= 16);  // ~35 KB of frames in 1,400-byte datagrams
  CHECK(n1.datagrams_received - n1.hellos_received == datagrams);
  if (!kernel_has_udp_gso()) {
    MESSAGE("this kernel has no UDP_SEGMENT: only one-by-one sending is checked");
    CHECK(n0.datagram_batches_sent == 0);
    return;
  }
  if (sender_offload) {
    CHECK(n0.datagram_batches_sent >= 3);  // the large frame's datagram splits the first flush's run
    CHECK(n0.datagram_batches_sent < datagrams);
    CHECK(n0.datagrams_padded >= 2);
  } else {
    CHECK(n0.datagram_batches_sent == 0);
    CHECK(n0.datagrams_padded == 0);
  }
  if (sender_offload && receiver_offload) CHECK(n1.datagram_batches_received >= 1);  // GRO over loopback
  if (!receiver_offload) CHECK(n1.datagram_batches_received == 0);
}

TEST_CASE("UDP: a flush's datagrams for a peer leave in segmentation offload batches and arrive whole, in order") {
  check_offload(true, true);
  check_offload(true, false);
  check_offload(false, true);
  check_offload(false, false);
}

// n keyed UDP transports on loopback with their handshakes done, for the
// decided-notice tests: 0 sends; each records the instances its Decided
// frames name (named) and counts its other frames (messages). They listen
// on 127.0.0.7, where no other test sends: under `ctest -j2` a test of
// another process (the attacks, a cluster whose port was taken meanwhile)
// can send to a port of 127.0.0.1 that one of these has just bound: with
// the attack tests running alongside, the last test below once counted a
// malformed packet there.
struct NoticeCluster {
  asio::io_context io;
  std::vector<NetConfig> configs;  // built before the transports, which keep references
  std::vector<NetCounters> counters;
  std::vector<std::vector<uint64_t>> named;
  std::vector<size_t> messages;
  std::vector<std::unique_ptr<Transport>> t;

  explicit NoticeCluster(int32_t n, int64_t notice_delay_us = 0)
      : counters(size_t(n)), named(size_t(n)), messages(size_t(n), 0) {
    constexpr const char* kHost = "127.0.0.7";
    UdpPorts held(io, size_t(n), kHost);
    const Keys keys(n);
    for (int32_t i = 0; i < n; ++i) configs.push_back(make_config(held.ports, i, &keys, kHost));
    configs[0].notice_delay_us = notice_delay_us;
    for (int32_t i = 0; i < n; ++i)
      t.push_back(make_udp_transport(io, configs[size_t(i)],
                                     each_frame([this, i](const WireHeader& h, std::span<const std::byte> payload) {
                                       if (!expand_decided_frame(h, payload, [&](const WireHeader& one) {
                                             named[size_t(i)].push_back(one.instance);
                                           }))
                                         ++messages[size_t(i)];
                                     }),
                                     counters[size_t(i)]));
    for (size_t i = 0; i < size_t(n); ++i) held.release(i);
    for (auto& x : t) x->start();
    run_until(io, [&] { return std::all_of(t.begin(), t.end(), [&](const auto& x) { return x->reachable_peers() == n - 1; }); });
    REQUIRE(t[0]->reachable_peers() == n - 1);
  }
  NoticeCluster(const NoticeCluster&) = delete;
  NoticeCluster& operator=(const NoticeCluster&) = delete;
  void clear() {
    for (auto& v : named) v.clear();
  }
};

TEST_CASE("UDP: decided notices of one flush, in any order and repeated, leave as one Decided frame naming each once") {
  NoticeCluster c(2);
  // One flush of notices for `sent`; what replica 1 was told, once `expect` instances were named.
  const auto notices = [&](std::initializer_list<uint64_t> sent, size_t expect) {
    c.clear();
    for (uint64_t i : sent) c.t[0]->send_notice(1, i);
    c.t[0]->flush();
    run_until(c.io, [&] { return c.named[1].size() >= expect; });
    return c.named[1];
  };
  CHECK(notices({3, 4, 6}, 3) == std::vector<uint64_t>{3, 4, 6});                 // in order: sent as they are
  CHECK(notices({9, 7, 9, 8, 12, 7}, 4) == std::vector<uint64_t>{7, 8, 9, 12});  // out of order, repeated
  CHECK(notices({14, 14, 15, 15, 17}, 3) == std::vector<uint64_t>{14, 15, 17});  // in order but repeated
  CHECK(c.counters[0].decided_frames_sent == 3);
  CHECK(c.counters[1].decided_frames_received == 3);
  CHECK(c.counters[1].malformed_total() == 0);
}

TEST_CASE("UDP: notices for every peer are made into Decided frames once, and a peer with notices of its own gets both") {
  NoticeCluster c(3);
  Transport& t0 = *c.t[0];
  const std::vector<uint64_t>& named1 = c.named[1];
  const std::vector<uint64_t>& named2 = c.named[2];
  const uint64_t all = 0b110, only2 = 0b100;
  // Everyone: 5, 8, 6 (out of order), 6 again; replica 2 alone: 7. Our own bit is ignored.
  t0.send_notices(all, 5);
  t0.send_notices(all, 8);
  t0.send_notices(all | 1, 6);
  t0.send_notices(only2, 7);
  t0.send_notices(all, 6);
  t0.flush();
  run_until(c.io, [&] { return named1.size() >= 3 && named2.size() >= 4; });
  CHECK(named1 == std::vector<uint64_t>{5, 6, 8});
  CHECK(named2 == std::vector<uint64_t>{5, 6, 7, 8});
  CHECK(c.counters[0].decided_frames_sent == 2);
  // Notices for everyone spanning more than one bitmap: two frames a peer, the same two.
  c.clear();
  const uint64_t far = 100 + 8 * kMaxDecidedBitmap;
  t0.send_notices(all, 100);
  t0.send_notices(all, far);
  t0.flush();
  run_until(c.io, [&] { return named1.size() >= 2 && named2.size() >= 2; });
  CHECK(named1 == std::vector<uint64_t>{100, far});
  CHECK(named2 == std::vector<uint64_t>{100, far});
  CHECK(c.counters[0].decided_frames_sent == 6);
  CHECK(c.counters[1].decided_frames_received == 3);
  CHECK(c.counters[2].decided_frames_received == 3);
  CHECK(c.counters[1].malformed_total() + c.counters[2].malformed_total() == 0);
}

TEST_CASE("UDP: a few notices for peers that get nothing else wait for their next frame or the delay, then leave") {
  NoticeCluster c(4, 300'000);
  auto& t = c.t;
  auto& named = c.named;
  auto& io = c.io;
  WireHeader m;
  m.instance = 40;
  const std::vector<std::byte> payload(8, std::byte{1});
  using std::chrono::milliseconds;
  using V = std::vector<uint64_t>;

  // Notices for all three, a message for 3 only: 3 gets its notice with it;
  // 1's and 2's wait, both of them quiet.
  const auto start = std::chrono::steady_clock::now();
  t[0]->send_notices(0b1110, 7);
  t[0]->send(3, m, payload);
  t[0]->flush();
  run_until(io, [&] { return named[3].size() == 1; });
  CHECK(named[3] == V{7});
  run_until(io, [] { return false; }, 0);
  CHECK(named[1].empty());
  CHECK(named[2].empty());
  CHECK(c.counters[0].notices_kept_back == 2);
  // More for 1 joins its kept ones; all leave at the delay's end.
  t[0]->send_notices(0b0010, 8);
  t[0]->flush();
  run_until(io, [&] { return named[1].size() == 2 && named[2].size() == 1; });
  CHECK(named[1] == V{7, 8});
  CHECK(named[2] == V{7});
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(300));
  // A message for 1 takes its kept notices along at once; 2 is then the
  // only quiet peer, and one lone datagram is not kept back.
  c.clear();
  const auto second = std::chrono::steady_clock::now();
  t[0]->send_notices(0b0110, 9);
  t[0]->flush();
  t[0]->send(1, m, payload);
  t[0]->flush();
  run_until(io, [&] { return named[1].size() == 1 && named[2].size() == 1 && c.messages[1] == 1; });
  CHECK(named[1] == V{9});
  CHECK(named[2] == V{9});
  t[0]->send_notices(0b0010, 10);
  t[0]->flush();
  run_until(io, [&] { return named[1].size() == 2; });
  CHECK(named[1] == V{9, 10});
  // Many notices are worth a datagram of their own, and a process about to
  // stop sends every kept one (flush_everything).
  c.clear();
  for (uint64_t i = 100; i < 140; ++i) t[0]->send_notices(0b0110, i);
  t[0]->flush();
  run_until(io, [&] { return named[1].size() == 40 && named[2].size() == 40; });
  CHECK(named[1].size() == 40);
  c.clear();
  t[0]->send_notices(0b0110, 200);
  t[0]->flush_everything();
  run_until(io, [&] { return named[1].size() == 1 && named[2].size() == 1; });
  CHECK(named[1] == V{200});
  CHECK(named[2] == V{200});
  CHECK(std::chrono::steady_clock::now() - second < milliseconds(250));
  CHECK(c.counters[0].notices_kept_back == 4);  // 1 and 2 twice (7, then 9); never for flush_everything
  for (const NetCounters& k : c.counters) CHECK(k.malformed_total() == 0);
}

TEST_CASE("TCP: a connection is bound by an authenticated Hello, then keeps its sender id") {
  asio::io_context io;
  TcpPorts held(io, 3);  // 1 and 2 stay held: the transport's dials end there
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(3);
  NetConfig config = make_config(ports, 0, &keys);
  NetCounters counters;
  std::vector<WireHeader> got;
  auto t = make_tcp_transport(io, config,
                              each_frame([&](const WireHeader& h, std::span<const std::byte>) { got.push_back(h); }),
                              counters);
  held.release(0);
  t->start();
  const tcp::endpoint target(asio::ip::make_address("127.0.0.1"), ports[0]);
  auto send_stream = [&](std::vector<std::byte> bytes) {
    auto s = std::make_shared<tcp::socket>(io);
    s->connect(target);
    asio::write(*s, asio::buffer(bytes));
    return s;
  };
  FakePeer p1(make_config(ports, 1, &keys), 500);
  // The transport's Hello to 1 went to the held port; without it, p1 cannot
  // address messages, so p1 learns 0's incarnation from 0's session directly.
  {
    std::vector<std::byte> h;
    Session probe(DecodeLimits{kFp, 3, 8}, 0, config.incarnation, false, keys.for_(0));
    probe.append_hello(1, {}, h, 0);
    REQUIRE(p1.take(h) == DecodeStatus::Ok);
  }
  auto good = send_stream(cat({record(p1.hello(0)), record(p1.messages(0)), record(p1.messages(0))}));
  auto no_hello = send_stream(record(p1.messages(0)));
  FakePeer impostor(make_config(ports, 2), 600);  // keyless: no MAC under member 2's key
  auto forger = send_stream(cat({record(impostor.hello(0)), record(p1.messages(0))}));
  std::vector<std::byte> junk(100, std::byte{0x42});
  junk[0] = std::byte{50};  // a plausible length, then garbage
  junk[1] = junk[2] = junk[3] = std::byte{0};
  auto garbage = send_stream(junk);
  auto huge = send_stream(std::vector<std::byte>(8, std::byte{0x7F}));  // a 2 GB packet announced
  run_until(io, [&] {
    return got.size() >= 2 && counters.bad_kind_dropped >= 1 && counters.bad_mac_dropped >= 1 &&
           counters.oversized_dropped >= 1 && counters.truncated_dropped >= 1 && counters.tcp_connects >= 2;
  });
  CHECK(got.size() == 2);
  CHECK(counters.tcp_connects == 2);  // out to the two held ports, never to itself
  CHECK(counters.tcp_accepts == 1);   // only the real member
  CHECK(counters.bad_kind_dropped == 1);   // messages before any Hello
  CHECK(counters.bad_mac_dropped == 1);    // the impostor's Hello: same address, no key
  CHECK(counters.truncated_dropped == 1);  // 50 bytes cannot hold a packet
  CHECK(counters.oversized_dropped == 1);  // 2 GB announced
  t->stop();
}

// Two peers' packets that are already buffered when the transport wakes up
// are one receive batch: one batch end and one flush, as one drain of the
// UDP socket is, not one per connection.
TEST_CASE("TCP: packets buffered on two peers' connections are taken as one batch") {
  asio::io_context io;
  TcpPorts held(io, 3);  // 1 and 2 stay held: the transport's own dials end there
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(3);
  NetConfig config = make_config(ports, 0, &keys);
  NetCounters counters;
  int frames = 0, batch_ends = 0;
  auto t = make_tcp_transport(io, config,
                              each_frame([&](const WireHeader&, std::span<const std::byte>) { ++frames; }), counters);
  t->set_batch_end([&] { ++batch_ends; });
  held.release(0);
  t->start();
  Session probe(DecodeLimits{kFp, 3, 8}, 0, config.incarnation, false, keys.for_(0));
  std::vector<FakePeer> peers;
  std::vector<std::shared_ptr<tcp::socket>> conns;
  for (int32_t p = 1; p <= 2; ++p) {
    peers.emplace_back(make_config(ports, p, &keys), 500 + uint64_t(p));
    std::vector<std::byte> h;
    probe.append_hello(p, {}, h, 0);  // p learns 0's incarnation
    REQUIRE(peers.back().take(h) == DecodeStatus::Ok);
    conns.push_back(std::make_shared<tcp::socket>(io));
    conns.back()->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), ports[0]));
    asio::write(*conns.back(), asio::buffer(record(peers.back().hello(0))));
  }
  run_until(io, [&] { return counters.tcp_accepts == 2; });
  REQUIRE(counters.tcp_accepts == 2);
  const uint64_t batches = counters.receive_batches;
  const int ends = batch_ends;
  // Both written (loopback: in the transport's receive buffers) before it runs again.
  asio::write(*conns[0], asio::buffer(record(peers[0].messages(0, 3))));
  asio::write(*conns[1], asio::buffer(record(peers[1].messages(0, 4))));
  run_until(io, [&] { return frames == 7; });
  CHECK(frames == 7);
  CHECK(counters.receive_batches - batches == 1);
  CHECK(batch_ends - ends == 1);
  CHECK(counters.tcp_packets_received == 4);  // two Hellos, two Messages packets
  CHECK(counters.malformed_total() == 0);
  t->stop();
}

TEST_CASE("TCP: two transports exchange frames and reconnect after the peer restarts") {
  asio::io_context io;
  TcpPorts held(io, 2);
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(2);
  NetConfig c0 = make_config(ports, 0, &keys), c1 = make_config(ports, 1, &keys);
  NetCounters n0, n1, n1b;
  int at1 = 0;
  auto t0 = make_tcp_transport(io, c0, each_frame([](const WireHeader&, std::span<const std::byte>) {}), n0);
  held.release(0);
  held.release(1);
  t0->start();
  std::vector<std::byte> payload(8, std::byte{3});
  WireHeader h;
  h.sender = 0;
  {
    auto t1 = make_tcp_transport(io, c1, each_frame([&](const WireHeader&, std::span<const std::byte>) { ++at1; }), n1);
    t1->start();
    run_until(io, [&] { return t0->reachable_peers() == 1; });
    t0->send(1, h, payload);
    run_until(io, [&] { return at1 == 1; });
    CHECK(at1 == 1);
    t1->stop();
  }
  run_until(io, [&] { return n0.tcp_disconnects == 1; });
  CHECK(n0.tcp_disconnects == 1);
  NetConfig c1b = c1;
  c1b.incarnation = c1.incarnation + 1;  // a restart is a new incarnation
  auto t1 = make_tcp_transport(io, c1b, each_frame([&](const WireHeader&, std::span<const std::byte>) { ++at1; }), n1b);
  t1->start();
  run_until(io, [&] { return t0->session().peer_incarnation(1) == c1b.incarnation && t0->reachable_peers() == 1; });
  t0->send(1, h, payload);
  run_until(io, [&] { return at1 == 2; });
  CHECK(at1 == 2);
  CHECK(n0.tcp_connects == 2);
  CHECK(n0.peer_restarts_seen == 1);
  t1->stop();
  t0->stop();
}

TEST_CASE("TCP keyless: a multi-address cluster (127.0.0.1, .2, .3) connects from each replica's own address") {
  asio::io_context io;
  std::vector<std::string> addrs = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
  std::vector<uint16_t> ports;
  std::vector<std::unique_ptr<tcp::acceptor>> holders;
  for (const auto& a : addrs) {
    holders.push_back(std::make_unique<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address(a), 0)));
    ports.push_back(holders.back()->local_endpoint().port());
  }
  std::vector<NetConfig> configs;
  for (int32_t me = 0; me < 3; ++me) {
    NetConfig c = make_config(ports, me);
    for (size_t i = 0; i < 3; ++i) c.peers[i] = {int32_t(i), addrs[i], ports[i], asio::ip::make_address(addrs[i])};
    configs.push_back(c);
  }
  std::vector<NetCounters> counters(3);
  std::vector<int> got(3, 0);
  std::vector<std::unique_ptr<Transport>> ts;
  for (int32_t me = 0; me < 3; ++me) {
    auto count = [&, me](const WireHeader&, std::span<const std::byte>) { ++got[size_t(me)]; };
    ts.push_back(make_tcp_transport(io, configs[size_t(me)], each_frame(count), counters[size_t(me)]));
    holders[size_t(me)]->close();
    ts.back()->start();
  }
  run_until(io, [&] { return ts[0]->reachable_peers() == 2 && ts[1]->reachable_peers() == 2 && ts[2]->reachable_peers() == 2; });
  for (auto& t : ts) CHECK(t->reachable_peers() == 2);
  std::vector<std::byte> payload(8, std::byte{3});
  for (int32_t from = 0; from < 3; ++from)
    for (int32_t to = 0; to < 3; ++to)
      if (from != to) {
        WireHeader h;
        h.sender = from;
        ts[size_t(from)]->send(to, h, payload);
      }
  run_until(io, [&] { return got[0] == 2 && got[1] == 2 && got[2] == 2; });
  CHECK(got == std::vector<int>{2, 2, 2});
  for (auto& c : counters) {
    CHECK(c.sender_mismatch_dropped == 0);
    CHECK(c.tcp_accepts == 2);
  }
  for (auto& t : ts) t->stop();
}

TEST_CASE("TCP: unauthenticated connections are bounded in number, bytes and time") {
  asio::io_context io;
  TcpPorts held(io, 2);
  const std::vector<uint16_t> ports = held.ports;
  const Keys keys(2);
  NetConfig config = make_config(ports, 0, &keys);
  config.max_pending_connections = 8;
  config.handshake_timeout_us = 300'000;
  NetCounters counters;
  auto t = make_tcp_transport(io, config, each_frame([](const WireHeader&, std::span<const std::byte>) {}), counters);
  held.release(0);
  t->start();
  const tcp::endpoint target(asio::ip::make_address("127.0.0.1"), ports[0]);
  std::vector<std::shared_ptr<tcp::socket>> idle;
  for (int i = 0; i < 40; ++i) {
    auto s = std::make_shared<tcp::socket>(io);
    s->connect(target);
    idle.push_back(s);
  }
  run_until(io, [&] { return counters.tcp_pending_evicted >= 32; });
  CHECK(counters.tcp_pending_evicted == 32);  // 40 arrived, 8 may wait
  // An unauthenticated connection may announce one Hello, no more.
  auto big = std::make_shared<tcp::socket>(io);
  big->connect(target);
  std::vector<std::byte> announce(4, std::byte{0});
  const uint32_t len = 1 << 20;
  std::memcpy(announce.data(), &len, 4);
  asio::write(*big, asio::buffer(announce));
  run_until(io, [&] { return counters.oversized_dropped >= 1; });
  CHECK(counters.oversized_dropped == 1);
  // And the rest time out.
  run_until(io, [&] { return counters.tcp_idle_closed >= 7; });
  CHECK(counters.tcp_idle_closed >= 7);
  CHECK(counters.tcp_accepts == 0);
  t->stop();
}
