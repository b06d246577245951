// log.h: the append-only log behind --data-dir. A replica records, per
// instance, the process state at the start of every round in which it may
// send (with its random generator and decided round), its decisions and
// when it retires an instance. Records are buffered and written with one
// write and one fdatasync per commit; the node commits once per event-loop
// turn, before any packet or decision line leaves (group commit), so nothing
// leaves before what it depends on is on disk. Each record carries a
// CRC-32C; on recovery a torn or corrupt tail is detected and truncated.
// docs/reliability.md says what this guarantees.
//
// Record: u32 length of the body, u32 CRC-32C of the body, body = u8 type,
// then the type's fields (little-endian, fixed width), byte blobs last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psync::store {

// CRC-32C (Castagnoli), as used by iSCSI and ext4; hardware-assisted where
// the CPU has SSE 4.2.
uint32_t crc32c(std::span<const std::byte> bytes, uint32_t crc = 0);

// Whose log this is: recovery refuses a data dir of another protocol,
// another replica id or another cluster size.
struct Identity {
  uint64_t fingerprint = 0;
  int32_t n = 0;
  int32_t id = 0;
};

struct RoundState {
  int64_t round = 0;
  uint64_t rng = 0;
  int64_t decided_round = -1;
  std::vector<std::byte> state;
};

struct Decision {
  int64_t round = 0;
  bool learned = false;  // adopted from peers, not decided through the protocol
  std::string value;     // the JSON text of the decided value
};

// What the log says, after recovery.
struct Recovered {
  uint64_t incarnation = 0;     // the last recorded; 0 for a new data dir
  uint64_t finished_below = 0;  // every instance below this had retired (after a compaction)
  std::map<uint64_t, bool> finished;         // instance -> decided, for those not below finished_below
  std::map<uint64_t, Decision> decisions;
  std::map<uint64_t, RoundState> rounds;     // the latest round state of each instance not finished
  uint64_t records = 0;
  uint64_t bytes = 0;                        // of the log as kept
  uint64_t truncated_bytes = 0;              // a torn or corrupt tail, cut off
};

#define PSYNC_STORE_COUNTERS(X)                                   \
  X(log_records)          /* records appended */                  \
  X(log_bytes)            /* bytes appended */                    \
  X(log_commits)          /* write + fdatasync, one per turn that had records */ \
  X(log_commit_us)        /* time spent in them */                \
  X(log_compactions)      /* rewrites of the log as a snapshot */ \
  X(log_truncated_bytes)  /* a torn tail cut off at recovery */

struct Counters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_STORE_COUNTERS(PSYNC_X)
#undef PSYNC_X
};
std::vector<std::pair<const char*, uint64_t>> counter_list(const Counters& c);

class Log {
 public:
  // Opens DIR/log (creating DIR and the log), locks DIR against a second
  // process, checks the identity and recovers. Throws std::runtime_error
  // with one line naming the problem.
  static std::unique_ptr<Log> open(const std::string& dir, const Identity& id, Recovered& out);
  ~Log();

  void append_incarnation(uint64_t incarnation);
  void append_round(uint64_t instance, int64_t round, uint64_t rng, int64_t decided_round,
                    std::span<const std::byte> state);
  void append_decision(uint64_t instance, int64_t round, std::string_view value, bool learned);
  void append_finished(uint64_t instance, bool decided);

  bool has_pending() const { return !buffer_.empty(); }
  // Writes the buffered records and waits for them to reach the disk.
  // Throws std::runtime_error if the disk refuses (the replica must stop:
  // it can no longer keep its promises).
  void commit();

  // Compaction: once the log is past `limit` bytes, the node rewrites it
  // as a snapshot of what it still needs (Snapshot), atomically.
  bool wants_compaction(uint64_t limit) const { return file_bytes_ > limit; }
  struct Snapshot {
    uint64_t incarnation = 0;
    uint64_t finished_below = 0;
    std::vector<std::pair<uint64_t, bool>> finished;  // above finished_below
    std::vector<std::pair<uint64_t, const Decision*>> decisions;
    std::vector<std::pair<uint64_t, const RoundState*>> rounds;
  };
  void compact(const Snapshot& s);

  const Counters& counters() const { return counters_; }
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  Log(std::string dir, int fd, int lock_fd, const Identity& id);
  void append_record(std::span<const std::byte> body);
  void append_header();

  std::string dir_;
  int fd_ = -1;
  int lock_fd_ = -1;
  Identity id_;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> body_;  // scratch for one record
  uint64_t file_bytes_ = 0;
  Counters counters_;
};

// Parses a log image: the records in order, stopping at the first one that
// is incomplete, oversized or fails its checksum (`valid_bytes` is where
// that one starts). Exposed for the tests and the fuzzer.
struct ParseResult {
  Recovered recovered;
  uint64_t valid_bytes = 0;
  bool identity_ok = true;
  std::string error;  // a log of another replica or protocol
};
ParseResult parse_log(std::span<const std::byte> image, const Identity& id);

}  // namespace psync::store
