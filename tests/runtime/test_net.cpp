// test_net.cpp: the UDP and TCP transports on loopback inside one process —
// valid frames get through; unknown peers, forged senders and garbage are
// dropped and counted.
#include "net/transport.h"

#include <doctest/doctest.h>

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
// peer's then dials itself, and its Hello (its own id) counts one more
// sender_mismatch per dial: the flaky "4 == 2" of issue 9. A peer the test
// does not run keeps its port held, so the transport's dials reach the
// test's listener and nobody else's.
template <class Socket>
struct HeldPorts {
  std::vector<std::unique_ptr<Socket>> sockets;
  std::vector<uint16_t> ports;
  HeldPorts(asio::io_context& io, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      sockets.push_back(std::make_unique<Socket>(io, typename Socket::endpoint_type(asio::ip::make_address("127.0.0.1"), 0)));
      ports.push_back(sockets.back()->local_endpoint().port());
    }
  }
  void release(size_t i) { sockets[i]->close(); }  // just before a transport binds it
};
using TcpPorts = HeldPorts<tcp::acceptor>;
using UdpPorts = HeldPorts<udp::socket>;

NetConfig make_config(const std::vector<uint16_t>& ports, int32_t me) {
  NetConfig c;
  c.n = int32_t(ports.size());
  c.me = me;
  c.fingerprint = 77;
  c.max_payload = 8;
  for (size_t i = 0; i < ports.size(); ++i)
    c.peers.push_back({int32_t(i), "127.0.0.1", ports[i], asio::ip::make_address("127.0.0.1")});
  return c;
}

// A packet from `sender` with `frames` OneThirdRule-sized message frames
// (instances 3, 4, ...), or a Hello.
std::vector<std::byte> frame(int32_t sender, uint64_t fp = 77, PacketKind kind = PacketKind::Messages,
                             int frames = 1) {
  std::vector<std::byte> out;
  encode_packet_header({kind, fp, sender}, out);
  uint64_t prev = 0;
  for (int i = 0; kind == PacketKind::Messages && i < frames; ++i) {
    WireHeader h;
    h.instance = 3 + uint64_t(i);
    h.round = 1;
    std::vector<std::byte> payload(8, std::byte{1});
    encode_frame(h, payload, prev, out);
  }
  return out;
}

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

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TEST_CASE("UDP: frames from peers arrive; strangers, forgers and garbage are counted") {
  asio::io_context io;
  UdpPorts held(io, 3);
  const std::vector<uint16_t> ports = held.ports;
  NetConfig config = make_config(ports, 0);
  NetCounters counters;
  std::vector<WireHeader> got;
  auto t = make_udp_transport(io, config, [&](const WireHeader& h, std::span<const std::byte>) { got.push_back(h); },
                              counters);
  held.release(0);
  t->start();
  const udp::endpoint target(asio::ip::make_address("127.0.0.1"), ports[0]);
  held.release(1);
  udp::socket peer1(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), ports[1]));
  udp::socket stranger(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));

  auto good = frame(1);
  auto two = frame(1, 77, PacketKind::Messages, 2);
  peer1.send_to(asio::buffer(good), target);                 // ok
  peer1.send_to(asio::buffer(two), target);                  // two frames under one packet header
  peer1.send_to(asio::buffer(frame(2)), target);             // claims to be 2 from 1's address
  peer1.send_to(asio::buffer(frame(1, 99)), target);         // other protocol
  peer1.send_to(asio::buffer(good.data(), 20), target);      // truncated
  auto bad = good;
  bad[0] = std::byte{0};
  peer1.send_to(asio::buffer(bad), target);                  // bad magic
  peer1.send_to(asio::buffer(frame(1, 77, PacketKind::Hello)), target);  // a TCP-only packet
  stranger.send_to(asio::buffer(good), target);              // unknown address
  std::vector<std::byte> big(9000, std::byte{0xFF});
  peer1.send_to(asio::buffer(big), target);                  // garbage
  run_until(io, [&] { return counters.datagrams_received >= 9; });

  CHECK(got.size() == 3);
  CHECK(counters.frames_received == 3);
  CHECK(counters.sender_mismatch_dropped == 1);
  CHECK(counters.wrong_fingerprint_dropped == 1);
  CHECK(counters.truncated_dropped == 1);
  CHECK(counters.bad_magic_dropped == 2);
  CHECK(counters.bad_kind_dropped == 1);
  CHECK(counters.unknown_peer_dropped == 1);
  CHECK(counters.malformed_total() == 7);
  t->stop();
}

TEST_CASE("UDP: sends to one peer are coalesced into datagrams") {
  asio::io_context io;
  UdpPorts held(io, 2);
  const std::vector<uint16_t> ports = held.ports;
  NetConfig c0 = make_config(ports, 0), c1 = make_config(ports, 1);
  c0.max_datagram = 60;  // a 13-byte header and 3 frames of 12 bytes
  NetCounters n0, n1;
  int received = 0;
  auto t0 = make_udp_transport(io, c0, [](const WireHeader&, std::span<const std::byte>) {}, n0);
  auto t1 = make_udp_transport(io, c1, [&](const WireHeader&, std::span<const std::byte>) { ++received; }, n1);
  held.release(0);
  held.release(1);
  t0->start();
  t1->start();
  std::vector<std::byte> payload(8, std::byte{3});
  for (int i = 0; i < 10; ++i) {
    WireHeader h;
    h.instance = uint64_t(i);
    h.sender = 0;
    t0->send(1, h, payload);
  }
  run_until(io, [&] { return received == 10; });
  CHECK(received == 10);
  CHECK(n0.datagrams_sent == 4);  // 3 + 3 + 3 + 1
  CHECK(n1.malformed_total() == 0);
}

TEST_CASE("TCP: a connection must say hello from the right address, then keep its sender id") {
  asio::io_context io;
  TcpPorts held(io, 3);  // 1 and 2 stay held: the transport's dials end there
  const std::vector<uint16_t> ports = held.ports;
  NetConfig config = make_config(ports, 0);
  NetCounters counters;
  std::vector<WireHeader> got;
  auto t = make_tcp_transport(io, config, [&](const WireHeader& h, std::span<const std::byte>) { got.push_back(h); },
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
  auto cat = [](std::vector<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  auto good = send_stream(cat({record(frame(1, 77, PacketKind::Hello)), record(frame(1)), record(frame(1))}));
  auto no_hello = send_stream(record(frame(2)));
  auto forger = send_stream(cat({record(frame(2, 77, PacketKind::Hello)), record(frame(1))}));
  std::vector<std::byte> junk(100, std::byte{0x42});
  junk[0] = std::byte{50};  // a plausible length, then garbage
  junk[1] = junk[2] = junk[3] = std::byte{0};
  auto garbage = send_stream(junk);
  auto other_protocol = send_stream(record(frame(1, 5, PacketKind::Hello)));
  auto huge = send_stream(std::vector<std::byte>(8, std::byte{0x7F}));  // a 2 GB packet announced
  run_until(io, [&] {
    return got.size() >= 2 && counters.sender_mismatch_dropped >= 2 && counters.bad_magic_dropped >= 1 &&
           counters.wrong_fingerprint_dropped >= 1 && counters.oversized_dropped >= 1 && counters.tcp_connects >= 2;
  });
  CHECK(got.size() == 2);
  CHECK(counters.tcp_connects == 2);  // out to the two held ports, never to itself
  CHECK(counters.tcp_accepts == 2);   // the good one and the forger's hello
  CHECK(counters.sender_mismatch_dropped == 2);
  CHECK(counters.bad_magic_dropped == 1);
  CHECK(counters.wrong_fingerprint_dropped == 1);
  CHECK(counters.oversized_dropped == 1);
  t->stop();
}

TEST_CASE("TCP: two transports exchange frames and reconnect after the peer restarts") {
  asio::io_context io;
  TcpPorts held(io, 2);
  const std::vector<uint16_t> ports = held.ports;
  NetConfig c0 = make_config(ports, 0), c1 = make_config(ports, 1);
  NetCounters n0, n1, n1b;
  int at1 = 0;
  auto t0 = make_tcp_transport(io, c0, [](const WireHeader&, std::span<const std::byte>) {}, n0);
  held.release(0);
  held.release(1);
  t0->start();
  std::vector<std::byte> payload(8, std::byte{3});
  WireHeader h;
  h.sender = 0;
  {
    auto t1 = make_tcp_transport(io, c1, [&](const WireHeader&, std::span<const std::byte>) { ++at1; }, n1);
    t1->start();
    t0->send(1, h, payload);
    run_until(io, [&] { return at1 == 1; });
    CHECK(at1 == 1);
    t1->stop();
  }
  run_until(io, [&] { return n0.tcp_disconnects == 1; });
  CHECK(n0.tcp_disconnects == 1);
  auto t1 = make_tcp_transport(io, c1, [&](const WireHeader&, std::span<const std::byte>) { ++at1; }, n1b);
  t1->start();
  t0->send(1, h, payload);  // queued until the redial succeeds
  run_until(io, [&] { return at1 == 2; });
  CHECK(at1 == 2);
  CHECK(n0.tcp_connects == 2);
  t1->stop();
  t0->stop();
}
