// byzantine.h: the fault model `byzantine f` as the explorer and the
// simulator run it (docs/checker.md, "Byzantine senders"): which processes
// are faulty, the state that marks them, and every value a faulty sender
// may put in a message of each round. Internal to runtime/check.
#ifndef PSYNC_CHECK_BYZANTINE_H
#define PSYNC_CHECK_BYZANTINE_H

#include "engine.h"

#include <cstdint>
#include <string>
#include <vector>

namespace psync::check::detail {

// A faulty process's state: zero but for header.halted = PSYNC_HALTED_FAULTY.
// It never changes (a halted state stays put) and spec evaluators skip it,
// so the faulty set is part of every global state and survives symmetry.
inline bool is_faulty(const void* state) { return header_word(state, 1) == PSYNC_HALTED_FAULTY; }
void make_faulty(uint8_t* state, size_t state_bytes);

struct ByzantineModel {
  int f = 0;  // 0: no Byzantine faults (or none declared)
  // Per round of the cycle: the message values a liar may send, each
  // msg_size bytes, concatenated.
  std::vector<std::vector<uint8_t>> values;
  std::vector<size_t> count;  // values per round
  // The faulty sets the explorer starts from: every f-subset, or one
  // representative when the check is symmetric.
  std::vector<uint64_t> sets;

  bool on() const { return f > 0; }
  const uint8_t* value(size_t round_of_cycle, size_t k, size_t msz) const {
    return values[round_of_cycle].data() + k * msz;
  }
};

// Reads f from the descriptor and enumerates the message values (ints in
// lo..hi, bools, pids below n, options, tuples, records, enums and sets;
// bytes<K> and domains past `max_values` are refused). Returns an error
// for the user, or "".
std::string setup_byzantine(const Proto& P, int64_t lo, int64_t hi, bool symmetric, ByzantineModel& out);

// The outbox of faulty process `me` when receiver j gets value pick[j]
// (k < count) or nothing (pick[j] == count); its own slot stays empty.
void write_lies(const ByzantineModel& M, const Proto& P, int me, int64_t r, const uint32_t* pick, uint8_t* outbox);

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_BYZANTINE_H
