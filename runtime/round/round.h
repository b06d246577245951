// round.h: how one process executes one round. This is the single definition
// that every driver calls: the network node (engine/), the explorer and the
// simulator (check/) and the tests' lock-step helper. No I/O, no clock, no
// allocation; the caller owns the state, outbox and mailbox buffers.
//
// The rules (docs/language.md, "How a round runs"; docs/runtime.md):
//
//  1. Send. A halted process does nothing. Otherwise the round's `send` runs
//     on the state (resetting the round-local vars) and fills the outbox; its
//     destination set is masked to processes 0..n-1.
//  2. Own message first. A process that sent itself a message gets it before
//     any other. A round skipped by catch-up has its sends suppressed, the
//     one to itself included, so it opens without it.
//  3. Collect. Other messages then enter the mailbox one at a time, in the
//     order they arrive, at most one per sender. An event round runs
//     `receive` on each. After each message, and once when the round opens,
//     the round *closes* if `receive` executed `go`, `go when` holds, the
//     mailbox holds all n senders, or the process halted. A closed round
//     takes no more messages: they are dropped as late.
//  4. Complete. A closed round (`update`) runs with its mailbox; an event
//     round runs `finish(timed_out)`, where timed_out is 0 exactly when the
//     round closed by `go`, `go when` or a full mailbox. A process that
//     halted during collection runs nothing more.
//
// When a round completes (its timeout, a catch-up, or closing) and which
// messages arrive is the driver's business. So the mailboxes one process can
// end a round with are: every set reachable by delivering, in some order, a
// prefix of the messages sent to it, stopping where the round closed. The
// checker explores exactly those; the differential test holds the node to it.
#pragma once

#include <psync/abi.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "util/small_copy.h"

namespace psync::round {

// The set {0..n-1}, for 1 <= n <= PSYNC_MAX_N: one shift, no branch.
static_assert(PSYNC_MAX_N <= 64, "a set of processes is one 64-bit word");
inline uint64_t all_of(int32_t n) { return ~uint64_t{0} >> (64 - n); }

// Sizes of one protocol at one n, computed once per driver.
struct Layout {
  const psync_protocol_desc* desc = nullptr;
  int32_t n = 0;
  uint64_t state_size = 0;
  std::vector<uint64_t> msg_size;  // per round declaration
  uint64_t max_msg_size = 0;

  // The descriptor must have passed validation for this n.
  static Layout compute(const psync_protocol_desc& desc, int32_t n);
  uint32_t decl_of(int64_t round) const { return uint32_t(round % int64_t(desc->num_rounds)); }
  uint64_t mailbox_size(uint32_t decl) const { return 8 + uint64_t(n) * msg_size[decl]; }
};

// Rule 1. Writes the outbox (presence word + n slots) and returns its
// destination set; a halted process sends nothing (returns 0).
inline uint64_t run_send(const psync_round_desc& d, const psync_env& env, void* state, void* outbox);

// Why a round closed (rule 3).
enum class Closed : uint8_t { No, Go, GoWhen, Full, Halted };

// Where one process is in collecting one round. Plain data, so that the
// explorer can copy it together with the state and the mailbox to branch.
struct Cursor {
  uint64_t heard = 0;  // senders in the mailbox (its presence word)
  Closed closed = Closed::No;

  bool open() const { return closed == Closed::No; }
  // Closed by go, go when or a full mailbox: finish's timed_out is 0.
  bool by_progress() const { return closed == Closed::Go || closed == Closed::GoWhen || closed == Closed::Full; }
};

enum class Offer : uint8_t { Taken, Duplicate, Closed };

// Rules 2-4 for one process in one round. Binds the round declaration and
// the process's env (which must outlive it); state and mailbox are passed
// to every call, so that a caller may keep several copies.
class Step {
 public:
  Step(const psync_round_desc& decl, const psync_env& env, uint64_t msg_size)
      : d_(&decl), env_(&env), msize_(msg_size) {}

  bool event() const { return (d_->flags & PSYNC_ROUND_EVENT) != 0; }

  // Rule 2: clears the mailbox, delivers `own` (the process's message to
  // itself, or nullptr) and evaluates the progress conditions.
  void open(Cursor& c, void* state, void* mailbox, const void* own) const;
  // Rule 3: one message from `sender` (not the process itself).
  Offer offer(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const;
  // Rule 4.
  void complete(const Cursor& c, void* state, const void* mailbox) const;

 private:
  void deliver(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const;
  void evaluate(Cursor& c, const void* state, const void* mailbox) const;

  const psync_round_desc* d_;
  const psync_env* env_;
  uint64_t msize_;
};

inline bool halted(const void* state) { return static_cast<const psync_proc_header*>(state)->halted != 0; }

// The rules, here rather than in round.cpp: they run for every message and
// every round of every instance, and inlined into their callers (the
// engine's round step, the explorer's) they cost no call each and see their
// Step's fields as the caller's values.

inline uint64_t run_send(const psync_round_desc& d, const psync_env& env, void* state, void* outbox) {
  uint64_t to = 0;
  std::memcpy(outbox, &to, 8);
  if (halted(state)) return 0;
  d.send(state, &env, outbox);
  std::memcpy(&to, outbox, 8);
  to &= all_of(env.n);
  std::memcpy(outbox, &to, 8);
  return to;
}

// A mailbox of 16 to 64 bytes (its presence word and a few slots) is cleared
// by two or four overlapping fixed-size moves, any other size by memset; a
// message is copied by util::copy_small. Neither calls the library for the
// common sizes.
inline void clear_mailbox(void* box, uint64_t size) {
  char* const p = static_cast<char*>(box);
  if (size >= 16 && size <= 64) {
    const uint64_t zero[2] = {0, 0};
    std::memcpy(p, zero, 16);
    std::memcpy(p + size - 16, zero, 16);
    if (size > 32) {
      std::memcpy(p + 16, zero, 16);
      std::memcpy(p + size - 32, zero, 16);
    }
  } else {
    std::memset(p, 0, size);
  }
}

inline void Step::open(Cursor& c, void* state, void* mailbox, const void* own) const {
  c = Cursor{};
  clear_mailbox(mailbox, 8 + uint64_t(env_->n) * msize_);
  if (halted(state)) {
    c.closed = Closed::Halted;
    return;
  }
  if (own != nullptr) deliver(c, state, mailbox, env_->me, own);
  evaluate(c, state, mailbox);
}

inline Offer Step::offer(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const {
  if (!c.open()) return Offer::Closed;
  if ((c.heard >> sender) & 1) return Offer::Duplicate;
  deliver(c, state, mailbox, sender, payload);
  evaluate(c, state, mailbox);
  return Offer::Taken;
}

inline void Step::deliver(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const {
  c.heard |= uint64_t{1} << sender;
  std::memcpy(mailbox, &c.heard, 8);
  util::copy_small(static_cast<char*>(mailbox) + 8 + uint64_t(sender) * msize_, payload, msize_);
  if (!event()) return;
  if (d_->receive(state, env_, sender, payload) != 0) c.closed = Closed::Go;
  if (halted(state)) c.closed = Closed::Halted;
}

inline void Step::evaluate(Cursor& c, const void* state, const void* mailbox) const {
  if (!c.open()) return;
  if (c.heard == all_of(env_->n)) c.closed = Closed::Full;
  else if (d_->go_when != nullptr && d_->go_when(state, env_, mailbox) != 0) c.closed = Closed::GoWhen;
}

inline void Step::complete(const Cursor& c, void* state, const void* mailbox) const {
  if (halted(state)) return;
  if (event()) d_->finish(state, env_, c.by_progress() ? 0 : 1);
  else d_->update(state, env_, mailbox);
}

}  // namespace psync::round
