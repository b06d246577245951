// validate.h: the one check of a protocol descriptor (psync/abi.h) that every
// driver runs before it calls into the protocol: the node at start-up, the
// checker and the simulator in their setup. docs/abi.md, "Validation", lists
// the rules.
#pragma once

#include <psync/abi.h>

#include <cstdint>
#include <string>

namespace psync {

// A message must fit in one UDP datagram with its headers: 65,507 bytes of
// UDP payload, less the 13-byte packet header and a frame header of at most
// 26 bytes (net/wire.h), rounded down to whole words.
inline constexpr uint64_t kMaxMessageBytes = 65464;
// A sanity bound that catches a garbage size before it is allocated per
// instance (the largest state an example has at n = 64 is a few KiB).
inline constexpr uint64_t kMaxStateBytes = uint64_t{1} << 24;

// Everything about `desc` that does not depend on n: the ABI version, names,
// flags, kinds, the entry points each round kind and spec kind needs, and the
// arrays behind non-zero counts. Empty when it is well-formed; otherwise one
// line naming the first problem. Calls no function of the descriptor.
std::string validate_descriptor_shape(const psync_protocol_desc& desc);

// The shape, then the sizes for n processes: n in 1..PSYNC_MAX_N, the state
// and message sizes (words, within the bounds above, the state at least the
// header), input and output offsets inside the state, `sync k` at most n.
// Empty when a driver may run `desc` with n processes. Calls only
// state_size(n) and each round's msg_size(n).
std::string validate_descriptor(const psync_protocol_desc& desc, int32_t n);

}  // namespace psync
