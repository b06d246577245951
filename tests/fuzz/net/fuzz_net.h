// fuzz_net.h: what the network fuzz targets share: a keyless cluster of
// sessions (deterministic keys, so that every input replays exactly) with
// the handshake done, and a trap for broken invariants.
#pragma once

#include "net/session.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace psync::fuzz {

[[noreturn]] inline void invariant_failed(const char* target, const char* what) {
  std::fprintf(stderr, "%s: invariant failed: %s\n", target, what);
  std::abort();
}

inline constexpr uint64_t kFingerprint = 0x5053594E43ull;
inline constexpr int32_t kN = 3;
inline const net::DecodeLimits kLimits{kFingerprint, kN, 64};

inline net::Session make_session(int32_t me, uint64_t incarnation) {
  return net::Session(kLimits, me, incarnation, false, net::SessionKeys::keyless(kN, me, kFingerprint));
}

// Hellos between `a` and `b` until both know each other's incarnation.
inline void handshake(net::Session& a, net::Session& b) {
  for (int k = 0; k < 3; ++k) {
    std::vector<std::byte> pa, pb;
    a.append_hello(b.me(), {}, pa, 0);
    b.append_hello(a.me(), {}, pb, 0);
    net::PacketHeader h;
    net::HelloEvent ev;
    b.open(pa, 0, h, ev);
    a.open(pb, 0, h, ev);
  }
}

// A sealed Messages packet from `from` to `to` whose body is `body` as given.
inline std::vector<std::byte> sealed(net::Session& from, int32_t to, std::span<const std::byte> body) {
  std::vector<std::byte> out;
  net::encode_packet_header({net::PacketKind::Messages, kFingerprint, from.me(), 0, 0, 0}, out);
  out.insert(out.end(), body.begin(), body.end());
  out.resize(out.size() + net::kMacSize);
  from.seal(to, out);
  return out;
}

}  // namespace psync::fuzz
