// forge.cpp: psync-forge, an attacker for the tests and the fault campaign.
// It plays one member of a cluster over UDP — with that member's secret key
// (a Byzantine insider: its packets authenticate) or with a wrong one (an
// outsider forging: every packet fails the MAC) — completes the handshake
// with the target replicas when it can, then floods them with message
// frames for instance ids it chooses (e.g. far beyond their window).
// With --tcp it connects to each target's TCP port from wherever it runs (an
// unprivileged local process, say), sends a Hello claiming to be the member,
// then its message packets, each behind the 4-byte length of the TCP
// framing, until the target closes the connection.
//
// usage: psync-forge --cluster FILE --as ID [--key FILE | --wrong-key] --fingerprint FP --max-payload B
//                    --target ID[,ID...] --first I --count C [--handshake-seconds S] [--tcp]
#include "net/session.h"
#include "node/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace psync;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

sockaddr_in address_of(const node::ClusterMember& m) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(m.port);
  if (::inet_pton(AF_INET, m.host.c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "psync-forge: %s is not an IPv4 literal\n", m.host.c_str());
    std::exit(2);
  }
  return a;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: psync-forge --cluster FILE --as ID [--key FILE | --wrong-key] --fingerprint FP --max-payload B "
               "--target ID[,ID...] --first I --count C [--handshake-seconds S] [--tcp]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string cluster_path, key_path;
  bool wrong_key = false, tcp = false;
  int32_t as = -1;
  uint64_t fingerprint = 0, first = 0, count = 0;
  uint32_t max_payload = 0;
  double handshake_seconds = 3;
  std::vector<int32_t> targets;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--cluster") cluster_path = next();
    else if (a == "--as") as = std::stoi(next());
    else if (a == "--key") key_path = next();
    else if (a == "--wrong-key") wrong_key = true;
    else if (a == "--tcp") tcp = true;
    else if (a == "--fingerprint") fingerprint = std::stoull(next());
    else if (a == "--max-payload") max_payload = uint32_t(std::stoul(next()));
    else if (a == "--first") first = std::stoull(next());
    else if (a == "--count") count = std::stoull(next());
    else if (a == "--handshake-seconds") handshake_seconds = std::stod(next());
    else if (a == "--target") {
      std::string list = next();
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        targets.push_back(std::stoi(list.substr(at, comma - at)));
        at = comma + 1;
      }
    } else usage();
  }
  if (cluster_path.empty() || as < 0 || targets.empty() || max_payload == 0) usage();
  const auto cluster = node::load_cluster(cluster_path);
  const int32_t n = int32_t(cluster.size());
  net::SessionKeys keys;
  if (node::cluster_is_keyed(cluster)) {
    std::vector<net::Key> publics;
    for (const auto& m : cluster) publics.push_back(*m.public_key);
    // An outsider has some key pair, not the member's: its MACs are wrong.
    const net::KeyPair pair = wrong_key ? net::generate_key_pair() : net::read_secret_key_file(key_path);
    keys = net::SessionKeys::from_key_pairs(as, pair, publics);
  } else {
    keys = net::SessionKeys::keyless(n, as, fingerprint);
  }
  const uint64_t incarnation = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  net::Session session(net::DecodeLimits{fingerprint, n, max_payload}, as, incarnation, false, keys);
  const std::vector<std::byte> payload(max_payload, std::byte{0x5A});
  // One packet of frames for instances from `instance` on (about 1,400
  // bytes), sealed when the session can, else with a made-up MAC so that it
  // reaches the target's MAC check.
  uint64_t sent_frames = 0, blind_counter = 0;
  auto next_packet = [&](int32_t t, uint64_t& instance) {
    std::vector<std::byte> packet;
    net::encode_packet_header({net::PacketKind::Messages, fingerprint, as, 0, 0, 0}, packet);
    uint64_t prev = 0;
    while (instance < first + count && packet.size() + payload.size() + net::kMaxFrameOverhead + net::kMacSize < 1400) {
      net::WireHeader h;
      h.instance = instance++;
      h.round = 0;
      net::encode_frame(h, payload, prev, packet);
      ++sent_frames;
    }
    packet.resize(packet.size() + net::kMacSize);
    if (session.can_send(t)) {
      session.seal(t, packet);
    } else {
      const uint64_t fields[3] = {incarnation, 0, ++blind_counter};
      std::memcpy(packet.data() + net::kIncarnationOffset, fields, sizeof fields);
      for (size_t k = packet.size() - net::kMacSize; k < packet.size(); ++k) packet[k] = std::byte(blind_counter * 31 + k);
    }
    return packet;
  };

  if (tcp) {
    // Each packet behind its length; the connection from an ephemeral port.
    uint64_t sent_packets = 0;
    int closed = 0;
    for (int32_t t : targets) {
      const sockaddr_in to = address_of(cluster[size_t(t)]);
      int fd = -1;
      for (int attempt = 0;; ++attempt) {  // the target may still be starting: 2 s
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) break;
        const int err = errno;
        ::close(fd);
        if (attempt == 100) {
          std::fprintf(stderr, "psync-forge: cannot connect to replica %d: %s\n", t, std::strerror(err));
          return 2;
        }
        ::usleep(20'000);
      }
      auto write_record = [&](const std::vector<std::byte>& packet) {
        std::vector<std::byte> rec(4 + packet.size());
        const uint32_t len = uint32_t(packet.size());
        std::memcpy(rec.data(), &len, 4);
        std::memcpy(rec.data() + 4, packet.data(), packet.size());
        for (size_t at = 0; at < rec.size();) {
          const ssize_t k = ::send(fd, rec.data() + at, rec.size() - at, MSG_NOSIGNAL);
          if (k <= 0) return false;  // the target closed the connection
          at += size_t(k);
        }
        return true;
      };
      std::vector<std::byte> hello;
      session.append_hello(t, {}, hello, now_us());
      bool open = write_record(hello);
      uint64_t instance = first;
      while (open && instance < first + count) {
        open = write_record(next_packet(t, instance));
        if (open) ++sent_packets;
      }
      // Wait (up to 2 s) for the target to close what it cannot authenticate.
      timeval tv{0, 100'000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::byte sink[4096];
      for (int k = 0; open && k < 20; ++k) {
        const ssize_t got = ::recv(fd, sink, sizeof sink, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) open = false;
      }
      closed += open ? 0 : 1;
      ::close(fd);
    }
    std::printf("{\"handshakes\":0,\"frames\":%llu,\"packets\":%llu,\"closed_by_target\":%d}\n",
                (unsigned long long)sent_frames, (unsigned long long)sent_packets, closed);
    return 0;
  }

  // The member's own address: keyless replicas check the source, and every
  // replica answers a Hello at the address the cluster file lists.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in self = address_of(cluster[size_t(as)]);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) {
    std::fprintf(stderr, "psync-forge: cannot bind %s:%u: %s\n", cluster[size_t(as)].host.c_str(),
                 unsigned(cluster[size_t(as)].port), std::strerror(errno));
    return 2;
  }
  timeval tv{0, 20'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto send_to = [&](int32_t peer, const std::vector<std::byte>& packet) {
    const sockaddr_in to = address_of(cluster[size_t(peer)]);
    ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  auto drain = [&] {
    std::vector<std::byte> buf(65536);
    for (;;) {
      const ssize_t len = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (len <= 0) return;
      net::PacketHeader h;
      net::HelloEvent ev;
      session.open(std::span<const std::byte>(buf.data(), size_t(len)), now_us(), h, ev);
    }
  };

  // The handshake: Hellos until each target knows us and we know it (an
  // outsider never gets there; it sends blind after the deadline).
  const int64_t until = now_us() + int64_t(handshake_seconds * 1e6);
  auto all_complete = [&] {
    for (int32_t t : targets)
      if (!session.complete(t)) return false;
    return true;
  };
  while (!all_complete() && now_us() < until) {
    for (int32_t t : targets) {
      std::vector<std::byte> hello;
      session.append_hello(t, {}, hello, now_us());
      send_to(t, hello);
    }
    ::usleep(20'000);
    drain();
  }
  for (int32_t t : targets) {  // one more, so the target knows we know its incarnation
    std::vector<std::byte> hello;
    session.append_hello(t, {}, hello, now_us());
    send_to(t, hello);
  }
  int handshakes = 0;
  for (int32_t t : targets) handshakes += session.complete(t) ? 1 : 0;

  // The flood: frames for instances first .. first+count-1, round 0,
  // packed into datagrams of about 1,400 bytes.
  uint64_t sent_packets = 0;
  for (int32_t t : targets) {
    uint64_t instance = first;
    while (instance < first + count) {
      send_to(t, next_packet(t, instance));
      ++sent_packets;
      if (sent_packets % 64 == 0) {
        ::usleep(1000);  // let the target's socket buffer drain: the test is of the node, not of the kernel
        drain();
      }
    }
  }
  std::printf("{\"handshakes\":%d,\"frames\":%llu,\"packets\":%llu}\n", handshakes, (unsigned long long)sent_frames,
              (unsigned long long)sent_packets);
  ::close(fd);
  return 0;
}
