// lie.h: `--lie`, the node's Byzantine fault injection: a replica whose
// round messages carry, for each receiver independently, a random value of
// the round's message type, or nothing (docs/runtime.md, "Fault
// injection"). Its own state still runs the protocol; only what it sends lies.
#pragma once

#include <psync/abi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace psync::node {

class Liar {
 public:
  // Throws ConfigError-worthy text through `error` when `desc` declares no
  // `byzantine f` or a round lacks its message type.
  static std::string refuse(const psync_protocol_desc& desc);
  Liar(const psync_protocol_desc& desc, int32_t n, uint64_t seed);

  // The payload for one receiver in `round`, written over `out` (the
  // message's size); false: send nothing.
  bool draw(int64_t round, std::span<std::byte> out);

 private:
  uint64_t next();
  void fill(const psync_type& t, int64_t* words);

  const psync_protocol_desc& desc_;
  int32_t n_;
  uint64_t state_;
};

}  // namespace psync::node
