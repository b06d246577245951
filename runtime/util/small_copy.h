// runtime/util/small_copy.h: byte copies of the hot path's common sizes
// without a library call.
//
// A round's message (8 or 16 bytes for most protocols) is copied into its
// mailbox slot (round/round.h) and into its datagram (net/wire.h) once per
// message; a call to memcpy with a length known only at run time costs more
// than the copy. Lengths 4 to 16 take two overlapping fixed-size moves, 0 to
// 3 a byte loop, anything longer memcpy.
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

}  // namespace psync::util
