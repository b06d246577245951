// runtime/util/bits.h: a bit count for the hot path without a library call.
//
// The runtime is built for the baseline x86-64 (no POPCNT instruction:
// binaries must run on any x86-64, docs/portability.md), where GCC turns
// std::popcount into a call to libgcc's __popcountdi2. Once per decided
// instance (its notices) that call showed in profiles; the SWAR count below
// is a dozen inline instructions (Hacker's Delight, 2nd ed., section 5-1).
// Where the target has a count instruction, std::popcount uses it.
#pragma once

#include <bit>
#include <cstdint>

namespace psync::util {

[[gnu::always_inline]] inline int popcount64(uint64_t x) {
#if defined(__x86_64__) && !defined(__POPCNT__)
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return int((x * 0x0101010101010101ull) >> 56);
#else
  return std::popcount(x);
#endif
}

}  // namespace psync::util
