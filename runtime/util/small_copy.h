// runtime/util/small_copy.h: byte copies of the hot path's common sizes
// without a library call.
//
// A round's message (8 or 16 bytes for most protocols) is copied into its
// mailbox slot (round/round.h) and into its datagram (net/wire.h) once per
// message; a call to memcpy with a length known only at run time costs more
// than the copy. Lengths 4 to 16 take two overlapping fixed-size moves, 0 to
// 3 a byte loop, anything longer memcpy. fill_small does the same for the
// few dozen bytes an instance clears when it starts (its state, its peers'
// rounds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace psync::util {

[[gnu::always_inline]] inline void copy_small(void* to, const void* from, size_t n) {
  auto* const d = static_cast<unsigned char*>(to);
  const auto* const s = static_cast<const unsigned char*>(from);
  const auto pair = [&](auto word) __attribute__((always_inline)) {
    constexpr size_t w = sizeof word;
    decltype(word) head, tail;
    std::memcpy(&head, s, w);
    std::memcpy(&tail, s + n - w, w);
    std::memcpy(d, &head, w);
    std::memcpy(d + n - w, &tail, w);
  };
  if (n >= 8 && n <= 16) pair(uint64_t{});
  else if (n >= 4 && n < 8) pair(uint32_t{});
  else if (n > 16) std::memcpy(d, s, n);
  else
    for (size_t k = 0; k < n; ++k) d[k] = s[k];  // 0 to 3 bytes
}

// Sets n bytes to `byte`: up to 64 bytes in overlapping 8-byte stores (no
// loop, which the compiler would turn back into a memset call), anything
// longer by memset.
[[gnu::always_inline]] inline void fill_small(void* to, unsigned char byte, size_t n) {
  auto* const d = static_cast<unsigned char*>(to);
  const uint64_t w = 0x0101010101010101ull * byte;
  const auto at = [&](size_t k) __attribute__((always_inline)) { std::memcpy(d + k, &w, 8); };
  if (n < 8) {
    const uint32_t h = uint32_t(w);
    if (n >= 4) {
      std::memcpy(d, &h, 4);
      std::memcpy(d + n - 4, &h, 4);
    } else {
      if (n > 0) d[0] = byte;
      if (n > 1) d[1] = byte;
      if (n > 2) d[2] = byte;
    }
  } else if (n <= 16) {
    at(0), at(n - 8);
  } else if (n <= 32) {
    at(0), at(8), at(n - 16), at(n - 8);
  } else if (n <= 64) {
    at(0), at(8), at(16), at(24), at(n - 32), at(n - 24), at(n - 16), at(n - 8);
  } else {
    std::memset(d, byte, n);
  }
}

}  // namespace psync::util
