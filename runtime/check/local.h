// local.h: every way one process can execute one round, as the checker sees
// it. Built only on round/round.h, the rule set the node runs: the mailboxes
// a process can end a round with are the prefixes of every arrival order of
// the messages sent to it, cut where the round closes; coin() and random(k)
// branch. Internal to runtime/check.
#ifndef PSYNC_CHECK_LOCAL_H
#define PSYNC_CHECK_LOCAL_H

#include "engine.h"
#include "round/round.h"

#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace psync::check::detail {

// A non-owning reference to a callable, cheap enough for per-successor calls.
template <class Sig>
class FunctionRef;
template <class R, class... A>
class FunctionRef<R(A...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>)
  FunctionRef(F&& f)  // NOLINT: implicit by design, like std::function_ref
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

// One outcome: the state at the end of the round, who was heard, the
// coin()/random() results that led there (those of the collection, then
// those of update or finish), and, while the chooser captures them, the
// log lines and range errors on the way (Chooser::events).
struct OutcomeEvents {
  const std::string* lines = nullptr;
  size_t count = 0;
};
using OutcomeSink =
    FunctionRef<void(const uint8_t* state, uint64_t heard, const int64_t* choices, size_t count, OutcomeEvents events)>;

class LocalSteps {
 public:
  // `post` is process `me`'s state after its send in round r; `senders` the
  // processes that sent it a message (bit `me` set if it sent itself one);
  // msg[j] points to j's message to it. Calls `sink` once per outcome (the
  // same state may come more than once, with different masks).
  void run(Proto& P, int me, int64_t r, const uint8_t* post, uint64_t senders, const uint8_t* const* msg,
           OutcomeSink sink);

 private:
  void every_subset(Proto& P, const psync_env& env, const uint8_t* post, uint64_t senders, const uint8_t* const* msg,
                    OutcomeSink sink);
  void every_order(Proto& P, const psync_env& env, const uint8_t* post, uint64_t senders, const uint8_t* const* msg,
                   OutcomeSink sink);

  // Search nodes: a cursor and a blob of state + mailbox, with their choices.
  struct Node {
    round::Cursor cursor;
    size_t blob = 0;
    std::vector<int64_t> choices;
    std::vector<std::string> events;
  };
  std::vector<uint8_t> blobs_, scratch_, mbox_;
  std::vector<int64_t> choices_;
  std::vector<std::string> events_;
  std::unordered_set<std::string> seen_;
};

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_LOCAL_H
