// learning.h: how a replica that is behind learns decided values from its
// peers instead of waiting for rounds that nobody runs any more
// (docs/runtime.md, "Learning decisions"). DecidedValues keeps the values
// this replica decided or learned, to answer others; Learner decides whom to
// ask about what, and when an answer may be adopted: one peer's word in the
// crash model (a correct peer's decision is the decision, by agreement),
// f+1 matching words from distinct peers with --byzantine f (at least one of
// them is correct). No sockets, no clock: the node drives both.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psync::node {

// Values by instance id, in chunks of kChunk instances; only the most recent
// `retain` instance ids are kept (older chunks are dropped whole), so memory
// stays bounded however long the replica runs.
class DecidedValues {
 public:
  static constexpr uint64_t kChunk = 4096;
  explicit DecidedValues(uint64_t retain) : retain_(retain) {}
  DecidedValues(const DecidedValues&) = delete;  // last_ points into chunks_
  DecidedValues& operator=(const DecidedValues&) = delete;
  void set(uint64_t instance, std::string_view value, int64_t round);
  struct Entry {
    std::string_view value;
    int64_t round;
  };
  std::optional<Entry> get(uint64_t instance) const;
  uint64_t oldest_kept() const;  // instances below this were forgotten
  size_t chunks() const { return chunks_.size(); }

 private:
  struct Chunk {
    std::vector<uint32_t> at = std::vector<uint32_t>(kChunk, UINT32_MAX);  // offset into blob
    std::string blob;  // per value: the round and the length as varints (net::put_varint), the value
  };
  // A record's size for a small integer value: a round below 128 and a
  // length below 128 take a byte each, then up to 6 digits (a longer value
  // makes the blob grow). Records are this small because every instance of
  // a long run leaves one: at a million decided instances, 16 bytes fewer
  // per record is 16 MB of memory the kernel need not fault in.
  static constexpr uint64_t kBytesPerValue = 8;
  uint64_t retain_;
  uint64_t highest_ = 0;
  std::map<uint64_t, Chunk> chunks_;  // by instance / kChunk
  Chunk* last_ = nullptr;  // the chunk set() used last, and its key
  uint64_t last_key_ = 0;
};

class Learner {
 public:
  Learner(int32_t n, int32_t me, int32_t byzantine_f) : n_(n), me_(me), f_(byzantine_f), below_(size_t(n), 0) {}

  // A peer's Hello said every instance below `below` is decided there.
  void set_peer_decided_below(int32_t peer, uint64_t below) { below_[size_t(peer)] = below; }
  uint64_t peer_decided_below(int32_t peer) const { return below_[size_t(peer)]; }
  // Peers known to have decided `instance` from their decided_below.
  uint64_t peers_with_decided(uint64_t instance) const;

  // Evidence outside the contiguous prefix: `peer`'s frame for `instance`
  // carried its decided bit. Queried at the next sweep.
  void hint(uint64_t instance, int32_t peer);
  // The hints gathered since the last call (instance, peers), oldest first.
  std::vector<std::pair<uint64_t, uint64_t>> take_hints();

  // Whom to ask about `instance`, given the peers known to have decided it:
  // one (rotating) in the crash model, all of them with f > 0, since f+1
  // answers must match. 0 if no peer is known to have decided it.
  uint64_t ask(uint64_t instance, uint64_t decided_peers);

  // An Answer from `peer`. Returns the value to adopt once the rule holds.
  std::optional<std::string> answer(uint64_t instance, int32_t peer, std::string_view value);
  // The instance was decided or learned: forget its tally.
  void forget(uint64_t instance) {  // every decision asks; tallies are rare (answers with f > 0)
    if (!tallies_.empty()) tallies_.erase(instance);
  }
  size_t pending_tallies() const { return tallies_.size(); }

  static constexpr size_t kMaxHints = 1 << 16;
  static constexpr size_t kMaxTallies = 1 << 16;

 private:
  int32_t n_, me_, f_;
  std::vector<uint64_t> below_;
  std::map<uint64_t, uint64_t> hints_;  // instance -> peers
  std::map<uint64_t, std::vector<std::pair<int32_t, std::string>>> tallies_;  // with f > 0
  uint64_t rotate_ = 0;
};

}  // namespace psync::node
