// round.cpp: the four rules of round.h, once.
#include "round/round.h"

#include <algorithm>
#include <cstring>

namespace psync::round {

Layout Layout::compute(const psync_protocol_desc& desc, int32_t n) {
  Layout l;
  l.desc = &desc;
  l.n = n;
  l.state_size = desc.state_size(n);
  for (uint32_t i = 0; i < desc.num_rounds; ++i) {
    l.msg_size.push_back(desc.rounds[i].msg_size(n));
    l.max_msg_size = std::max(l.max_msg_size, l.msg_size.back());
  }
  return l;
}

uint64_t run_send(const psync_round_desc& d, const psync_env& env, void* state, void* outbox) {
  uint64_t to = 0;
  std::memcpy(outbox, &to, 8);
  if (halted(state)) return 0;
  d.send(state, &env, outbox);
  std::memcpy(&to, outbox, 8);
  to &= all_of(env.n);
  std::memcpy(outbox, &to, 8);
  return to;
}

void Step::open(Cursor& c, void* state, void* mailbox, const void* own) const {
  c = Cursor{};
  std::memset(mailbox, 0, 8 + uint64_t(env_->n) * msize_);
  if (halted(state)) {
    c.closed = Closed::Halted;
    return;
  }
  if (own != nullptr) deliver(c, state, mailbox, env_->me, own);
  evaluate(c, state, mailbox);
}

Offer Step::offer(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const {
  if (!c.open()) return Offer::Closed;
  if ((c.heard >> sender) & 1) return Offer::Duplicate;
  deliver(c, state, mailbox, sender, payload);
  evaluate(c, state, mailbox);
  return Offer::Taken;
}

void Step::deliver(Cursor& c, void* state, void* mailbox, int32_t sender, const void* payload) const {
  c.heard |= uint64_t{1} << sender;
  std::memcpy(mailbox, &c.heard, 8);
  if (msize_ != 0) std::memcpy(static_cast<char*>(mailbox) + 8 + uint64_t(sender) * msize_, payload, msize_);
  if (!event()) return;
  if (d_->receive(state, env_, sender, payload) != 0) c.closed = Closed::Go;
  if (halted(state)) c.closed = Closed::Halted;
}

void Step::evaluate(Cursor& c, const void* state, const void* mailbox) const {
  if (!c.open()) return;
  if (c.heard == all_of(env_->n)) c.closed = Closed::Full;
  else if (d_->go_when != nullptr && d_->go_when(state, env_, mailbox) != 0) c.closed = Closed::GoWhen;
}

void Step::complete(const Cursor& c, void* state, const void* mailbox) const {
  if (halted(state)) return;
  if (event()) d_->finish(state, env_, c.by_progress() ? 0 : 1);
  else d_->update(state, env_, mailbox);
}

}  // namespace psync::round
