// engine.h: the round state machine of one protocol instance, driven through
// the ABI descriptor. No sockets, no clock: callers pass the time in and take
// the deadline out, which is what lets tests run it with a fake clock.
//
// Semantics are DESIGN.md section 4 and docs/runtime.md. The Heard-Of round
// structure follows Charron-Bost & Schiper, "The Heard-Of model", Distributed
// Computing 22(1), 2009; catch-up and `strict` rounds follow PSync (Dragoi,
// Henzinger, Zufferey, POPL 2016), Section 4.
#pragma once

#include <psync/abi.h>

#include "round/round.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psync::engine {

inline constexpr int64_t kNoDeadline = INT64_MAX;

// Counters named after the events they count. One set per process; every
// instance adds to it. Fields are listed once in PSYNC_ENGINE_COUNTERS so that
// printers and tests enumerate the same names.
#define PSYNC_ENGINE_COUNTERS(X)                                              \
  X(messages_sent)             /* messages handed to the transport */        \
  X(messages_delivered)        /* messages put into a mailbox (self too) */  \
  X(sends_suppressed)          /* messages not sent in skipped rounds */     \
  X(late_messages_dropped)     /* round below the current one */            \
  X(duplicates_dropped)        /* same sender, same round, seen already */   \
  X(invalid_messages_dropped)  /* wrong payload size or sender id */         \
  X(implausible_round_dropped) /* round too far ahead to catch up to */      \
  X(future_messages_buffered)  /* kept for a later round */                  \
  X(future_messages_dropped)   /* buffer for later rounds was full */        \
  X(messages_after_finish_dropped) /* instance already finished */           \
  X(messages_after_close_dropped) /* round closed by go, go when or full */  \
  X(catch_ups)                 /* jumps forward to a later round */          \
  X(rounds_skipped)            /* cut short by catch-up: buffered msgs only */\
  X(rounds_completed)          /* updates/finishes run, skipped ones too */  \
  X(timeouts)                  /* rounds ended by their timeout */           \
  X(rounds_ended_by_go)        /* go / go when */                            \
  X(rounds_ended_full)         /* heard from all n */                        \
  X(decisions)                 /* first decide() of an instance */           \
  X(conflicting_decisions)     /* decide() with a second, different value */ \
  X(halts)                     /* instances that executed halt */            \
  X(log_lines)                 /* `log` statements run */                    \
  X(range_errors)              /* values out of range for a pid or a set */ \
  X(instances_gave_up)         /* hit the max-rounds limit undecided */    \
  X(instances_lingered)        /* kept running after after-decide rounds */ \
  X(lingered_rounds)           /* rounds run while lingering */             \
  X(linger_expired)            /* stopped at the linger bound, not told */  \
  X(peer_decisions_seen)       /* first decided bit from a peer */          \
  X(decide_pauses)             /* paused before the first after-decide round */ \
  X(decide_pauses_expired)     /* ran it after all: nobody reported in time */

struct Counters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_ENGINE_COUNTERS(PSYNC_X)
#undef PSYNC_X
};

// How long rounds take to close by progress (go, go when, a full mailbox),
// from the moment they began, in power-of-two buckets of microseconds. The
// node's adaptive timeout reads it; filling it costs one increment a round.
struct LatencyHistogram {
  static constexpr int kBuckets = 40;
  std::array<uint64_t, kBuckets> buckets{};  // [i]: latencies below 2^i us (and at least 2^(i-1))
  uint64_t samples = 0;

  void add(int64_t us) {
    const int b = us <= 0 ? 0 : std::min(kBuckets - 1, int(std::bit_width(uint64_t(us))));
    ++buckets[size_t(b)];
    ++samples;
  }
  // An upper bound of the q-quantile (0 < q <= 1), or 0 without samples.
  int64_t quantile_upper_us(double q) const {
    if (samples == 0) return 0;
    const uint64_t want = std::max<uint64_t>(1, uint64_t(double(samples) * q));
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += buckets[size_t(b)];
      if (seen >= want) return int64_t(1) << b;
    }
    return int64_t(1) << (kBuckets - 1);
  }
  void clear() { *this = LatencyHistogram{}; }
};

// Per-process settings shared by all instances.
struct Config {
  int32_t n = 0;
  int32_t me = 0;
  int64_t default_timeout_us = 20'000;  // rounds without `timeout D`
  int64_t default_future_bound = 64;    // buffered future messages per instance
  bool suppress_catch_up_sends = true;  // skipped rounds send nothing
  int32_t byzantine_f = 0;              // catch up once f+1 senders are ahead
  int64_t after_decide_rounds = 2;      // keep going so others can decide
  int64_t max_rounds = 0;               // give up after this many rounds; 0 = never
  int64_t max_catch_up = 100'000;       // rounds a single catch-up may skip
  uint64_t seed = 0;                    // coin() and random(k)
  // Lingering: after its after-decide rounds, an instance keeps running the
  // protocol's rounds until every peer has reported a decision (the decided
  // bit of its frames, or a decided notice), but for at least linger_rounds
  // rounds and linger_us microseconds at most. Both 0: stop at once, as if no
  // peer could be left behind (and send no notices).
  int64_t linger_rounds = 0;
  int64_t linger_us = 0;
  // Catch up in settle() rather than at once: the driver calls settle() once
  // it has handled every message already received (one event-loop turn), so
  // "finish round r with what it has" includes round-r messages that were
  // queued behind the future one. Without this, a process one step behind in
  // a lock-step exchange would cut its round short on every such race.
  bool defer_catch_up = false;
  // With a grace > 0 (it replaces defer_catch_up): a catch-up waits this long
  // after it becomes possible, unless the round ends first. In a lock-step
  // exchange a process one round behind has the other round-r messages in
  // flight; waiting a moment for them keeps its round whole instead of
  // cutting it short (a longer round only ever enlarges the heard-of set).
  int64_t catch_up_grace_us = 0;
  // Report every round's transition to Host::round_completed (tests only:
  // it copies the state at each round start).
  bool record_rounds = false;
  // The adaptive timeout (docs/runtime.md, "Adaptive timeout"): a round's
  // timeout, written (`timeout D`) or default, is at least this. The node
  // raises it with the measured round latency and the window; 0 = off.
  int64_t adaptive_timeout_us = 0;
  // Where rounds that close by progress record their latency (may be null).
  LatencyHistogram* round_latency = nullptr;
  // Report the state at the start of every round that may send
  // (Host::round_starting): the node's --data-dir log.
  bool report_round_starts = false;
  // With lingering: an instance that decides in a round it ended by
  // progress or timeout tells every peer at once (a decided notice) and
  // waits up to one default round timeout before it begins its first
  // after-decide round. If every peer reports its decision meanwhile, the
  // instance is over without running it (when all decide in the same round,
  // nobody sends the next phase's messages); a peer's message of a later
  // round (a peer that has not decided runs on) or the end of the wait
  // begins it as usual. Only when the round begins is delayed; the rounds
  // themselves (round/round.h) are untouched.
  bool pause_after_decide = false;
};

// What an instance needs from its driver: a way out for messages and a place
// to report decisions. Implemented by the node (sockets) and by tests.
class Host {
 public:
  virtual ~Host() = default;
  // `decided`: this process has decided the instance (the frame's decided bit).
  virtual void send_message(uint64_t instance, int64_t round, int32_t to, std::span<const std::byte> payload,
                            bool decided) = 0;
  // A decided notice (no payload) for each process in `to`: they have not yet
  // had a frame of this instance carrying the decided bit from here.
  virtual void announce_decided(uint64_t instance, int64_t round, uint64_t to) { (void)instance; (void)round; (void)to; }
  virtual void report_decision(uint64_t instance, int64_t round, const void* state) = 0;
  virtual void report_conflict(uint64_t instance, int64_t round, const void* state) { (void)instance; (void)round; (void)state; }
  // A `log` line of the protocol (not NUL-terminated data is copied into `text`).
  virtual void log_line(uint64_t instance, int64_t round, std::string_view text) { (void)instance; (void)round; (void)text; }
  // A computed value out of range where a process id or a set element was
  // expected (abi.h, psync_hooks.range_error); the operation did nothing.
  virtual void report_range_error(uint64_t instance, int64_t round, int64_t value, const char* where) {
    (void)instance; (void)round; (void)value; (void)where;
  }
  // Only with Config::record_rounds (the differential test): the state as
  // round `round` began (before its send) and as it completed, and who was
  // heard. Every local transition the instance takes is reported once.
  virtual void round_completed(uint64_t instance, int64_t round, std::span<const std::byte> before,
                               std::span<const std::byte> after, uint64_t heard) {
    (void)instance; (void)round; (void)before; (void)after; (void)heard;
  }
  // Only with Config::report_round_starts: round `round` is about to run its
  // send on `state`. Everything needed to resume the instance there
  // (Instance::resume) is in the arguments.
  virtual void round_starting(uint64_t instance, int64_t round, std::span<const std::byte> state, uint64_t rng,
                              int64_t decided_round) {
    (void)instance; (void)round; (void)state; (void)rng; (void)decided_round;
  }
};

enum class Status : uint8_t { Idle, Running, Finished };
enum class EndReason : uint8_t { None, AfterDecide, Halted, GaveUp, LingerExpired };

// Sizes derived from the descriptor for one n; computed once per process.
using Layout = round::Layout;

class Instance {
 public:
  // `tail`: tail_bytes() bytes, 8-byte aligned, right after the object in the
  // driver's slab slot (the node's), or nullptr to have the instance allocate
  // them. They hold the state, the mailbox, the highest round seen from each
  // sender, the inputs and room for one buffered future message per peer.
  //
  // `decided_word`: where the instance keeps the set of peers known to have
  // decided it (decided_set()), or nullptr to keep it itself. A driver with
  // thousands of instances in flight passes a word of a dense array of its
  // own, so that a peer's decided notice that cannot end the instance sets
  // its bit there without touching the instance (node.cpp,
  // notice_to_running; the rule for when one can end it stays here, in
  // peer_decided).
  Instance(const Layout& layout, const Config& config, const int64_t* consts,
           uint64_t id, std::span<const int64_t> inputs, Host& host, Counters& counters,
           std::byte* tail = nullptr, uint64_t* decided_word = nullptr);
  static size_t tail_bytes(const Layout& layout, const Config& config);
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Makes this object a new, idle instance `id` with these inputs, reusing
  // its buffers: the node recycles instances so that the steady state
  // allocates nothing (every buffer is sized once, for the largest round).
  void reset(uint64_t id, std::span<const int64_t> inputs);

  // Runs init, then enters round 0 (sends its messages).
  void start(int64_t now_us);
  // Instead of start: continues from a state recorded by
  // Host::round_starting (a replica recovering its --data-dir), entering
  // `round` again as if for the first time.
  void resume(int64_t round, std::span<const std::byte> state, uint64_t rng, int64_t decided_round, int64_t now_us);
  // A message for this instance from the network, already authenticated by
  // the transport (sender id matches its address). Returns false if it was
  // dropped (and counted) without touching the instance: late, invalid,
  // implausible, or the instance not running; the driver then has nothing
  // to re-file.
  bool receive(int32_t sender, int64_t round, std::span<const std::byte> payload, int64_t now_us);
  // Ends the current round if its deadline has passed.
  void on_timer(int64_t now_us);
  // The transport saw `sender`'s decided bit for this instance (on any frame,
  // late or duplicate ones included, or a notice). May end a lingering instance.
  void peer_decided(int32_t sender);
  // Whether peer_decided(sender) could do more than record the bit: only
  // when the bit completes the set of processes (this one counted as if it
  // had decided). Otherwise a driver that owns the decided word may set the
  // bit there itself (and count it, peer_decisions_seen).
  static bool peer_decided_may_end(uint64_t word, int32_t sender, int32_t me, int32_t n) {
    const uint64_t all = round::all_of(n);
    return ((word | uint64_t{1} << sender | uint64_t{1} << me) & all) == all;
  }
  // With Config::defer_catch_up: performs a catch-up that receive() noted.
  void settle(int64_t now_us);
  bool catch_up_pending() const { return catch_up_pending_; }

  int64_t deadline_us() const { return std::min(deadline_, catch_up_due_); }
  Status status() const { return status_; }
  EndReason end_reason() const { return end_reason_; }
  bool finished() const { return status_ == Status::Finished; }
  uint64_t id() const { return id_; }
  int64_t round() const { return round_; }
  bool decided() const { return decided_round_ >= 0; }
  // Done with its own after-decide rounds, still running for the others.
  bool lingering() const { return lingering_ && status_ == Status::Running; }
  // Processes known to have decided (this one included once it has).
  uint64_t decided_set() const { return *peers_decided_ | (decided() ? uint64_t{1} << config_.me : 0); }
  int64_t decided_round() const { return decided_round_; }
  const void* state() const { return state_; }
  const psync_proc_header& header() const { return *reinterpret_cast<const psync_proc_header*>(state_); }
  const psync_env& env() const { return env_.env; }
  // The mailbox of the current round (presence word + n slots). Meaningful
  // only while the instance runs: reset() leaves the last instance's.
  std::span<const std::byte> mailbox() const { return {mailbox_, layout_.mailbox_size(decl_index_)}; }
  // Where the current round's collection stands (round/round.h); while the
  // instance runs (reset() leaves the last instance's, begin_round resets it).
  const round::Cursor& cursor() const { return cursor_; }
  size_t buffered_messages() const { return future_count_; }

 private:
  // A buffered future message in future_records(): this header, then the payload
  // padded to 8 bytes.
  struct FutureHeader {
    int64_t round;
    int32_t sender;
    uint32_t length;
  };
  static size_t future_record_size(size_t length) { return sizeof(FutureHeader) + ((length + 7) & ~size_t{7}); }
  // The tail's room for future records: one message per peer for a later
  // round (never from itself: its own message is delivered as the round
  // opens), so that buffering them does not allocate in the steady state.
  static size_t future_room_bytes(const Layout& layout, const Config& config) {
    return size_t(std::max(config.n - 1, 1)) * future_record_size(layout.max_msg_size);
  }
  // Room for `bytes` more bytes of future records: past the tail's room
  // they move to future_spill_, which keeps its capacity across reset().
  void reserve_future(size_t bytes);
  // The env handed to generated code, and whose it is: the hooks table is
  // shared by every instance (self is NULL), and a hook finds its instance
  // from the env pointer it is passed (a standard-layout struct's first
  // member has its address).
  struct OwnedEnv {
    psync_env env{};
    Instance* owner = nullptr;
  };
  static Instance& owner_of(const psync_env* env) { return *reinterpret_cast<const OwnedEnv*>(env)->owner; }

  // The current round's declaration and message size, kept with the round
  // (begin_round) rather than looked up through the layout at each use.
  const psync_round_desc& decl() const { return *decl_; }
  round::Step step() const { return {*decl_, env_.env, msize_}; }
  void set_decl(uint32_t index) {
    decl_index_ = index;
    decl_ = &layout_.desc->rounds[index];
    msize_ = uint32_t(layout_.msg_size[index]);
  }
  void set_env_round(int64_t r);
  uint32_t decl_of_round(int64_t r) const;
  void begin_round(int64_t r, int64_t now_us, bool skipped);
  void deliver(int32_t sender, std::span<const std::byte> payload, int64_t now_us);
  void deliver_buffered_for_current_round(int64_t now_us);
  void buffer_future(int32_t sender, int64_t round, std::span<const std::byte> payload);
  void complete_round(int64_t now_us);
  bool lingering_enabled() const { return config_.linger_rounds > 0 || config_.linger_us > 0; }
  void check_sync_gate(int64_t now_us);
  void arm_deadline(int64_t now_us);
  int64_t catch_up_target() const;
  void catch_up_to(int64_t target, int64_t now_us);
  void run_until_blocked(int64_t now_us);
  // After complete_round: begins the next round, or pauses (pause_after_decide).
  void enter_next_round(int64_t now_us);
  void end_pause(int64_t now_us);
  void finish(EndReason why);
  bool halted() const { return header().halted != 0; }

  static const psync_hooks kHooks;
  static int32_t hook_coin(void* self, const psync_env* env);
  static int64_t hook_random(void* self, const psync_env* env, int64_t k);
  static void hook_decided(void* self, const psync_env* env, const void* state);
  static void hook_conflict(void* self, const psync_env* env, const void* state);
  static void hook_log(void* self, const psync_env* env, const char* text, uint64_t len);
  static void hook_range_error(void* self, const psync_env* env, int64_t value, const char* where);
  uint64_t next_random();
  bool everyone_decided() const { return (decided_set() & round::all_of(config_.n)) == round::all_of(config_.n); }
  void announce_decision_early();

  // Fields in the order of use: the first three cache lines hold what every
  // message, timer and round reads or writes, so that touching an instance
  // (thousands are in flight, more than the cache holds) costs few misses.
  const Layout& layout_;
  const Config& config_;
  const psync_round_desc* decl_ = nullptr;  // layout_.desc->rounds[decl_index_]
  int64_t round_ = -1;
  int64_t deadline_ = kNoDeadline;
  int64_t catch_up_due_ = kNoDeadline;  // with a catch-up grace: when it happens
  int64_t decided_round_ = -1;
  int64_t max_ahead_ = -1;      // max over ahead_
  uint64_t* peers_decided_;     // decided bits seen from peers: the driver's word, or one in block_
  round::Cursor cursor_;
  std::byte* state_ = nullptr;
  std::byte* mailbox_ = nullptr;
  int64_t* ahead_ = nullptr;        // highest round seen from each sender; -1 = none (then the inputs)
  uint32_t future_count_ = 0;
  uint32_t decl_index_ = 0;
  uint32_t msize_ = 0;  // layout_.msg_size[decl_index_]
  Status status_ = Status::Idle;
  bool sync_open_ = true;       // `sync k` satisfied for this round
  bool catch_up_pending_ = false;
  bool settling_ = false;
  bool paused_ = false;         // pause_after_decide: round_ is complete, the next not begun
  bool lingering_ = false;
  bool announced_ = false;      // decided notices sent at the decision
  EndReason end_reason_ = EndReason::None;
  OwnedEnv env_{};
  int64_t round_began_us_ = 0;  // for the round-latency histogram
  Counters& counters_;
  Host& host_;
  // Colder: decisions, lingering, buffering for later rounds, set-up.
  uint64_t told_ = 0;           // peers sent a frame with our decided bit
  uint32_t future_size_ = 0;     // bytes of records
  uint32_t future_capacity_ = 0;  // bytes: of the tail's room, or of future_spill_
  std::unique_ptr<std::byte[]> future_spill_;
  uint64_t id_;
  uint64_t rng_;
  int64_t linger_round_ = 0;    // round and time lingering began
  int64_t linger_us_ = 0;
  // What the driver did not give: the tail (tail_bytes(), sized once for
  // the largest round) and the decided word, or the word alone. Not a
  // member of its own: the object is the first cache lines of the node's
  // slot, and 8 more bytes made LastVoting's slot at n = 3 a line longer.
  std::unique_ptr<uint64_t[]> block_;
  // The rest of the tail, found from ahead_ (tail_words in engine.cpp): the
  // inputs, the room for future records, the state as the round began
  // (record_rounds only).
  int64_t* inputs() const { return ahead_ + config_.n; }
  std::byte* future_room() const {
    return reinterpret_cast<std::byte*>(inputs() + std::max<uint32_t>(layout_.desc->num_inputs, 1));
  }
  // Where the future records are: the tail's room until they once outgrew
  // it, future_spill_ from then on (not a stored pointer: the slot fits in
  // 512 bytes for LastVoting at n = 3 by these 8 bytes).
  std::byte* future_records() { return future_spill_ == nullptr ? future_room() : future_spill_.get(); }
  std::byte* before() const { return future_room() + ((future_room_bytes(layout_, config_) + 7) & ~size_t{7}); }
};

// Describes a counter set as `name=value` pairs, in declaration order.
std::vector<std::pair<const char*, uint64_t>> counter_list(const Counters& c);

}  // namespace psync::engine
