// local.cpp: the outcomes of one process's round (local.h), enumerated with
// the round step of round/round.h.
#include "local.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace psync::check::detail {

void LocalSteps::run(Proto& P, int me, int64_t r, const uint8_t* post, uint64_t senders, const uint8_t* const* msg,
                     OutcomeSink sink) {
  if (is_halted(post)) {  // a halted process stays put
    sink(post, 0, nullptr, 0, {});
    return;
  }
  psync_env env = P.env(me, r);
  const psync_round_desc& rd = P.round_of(r);
  scratch_.resize(P.ss);
  // Without `go when` a closed round closes only on a full mailbox, the
  // largest one anyway: then every subset of the senders is reachable and
  // the mailbox is a set, so no order needs exploring.
  if (!(rd.flags & PSYNC_ROUND_EVENT) && rd.go_when == nullptr) every_subset(P, env, post, senders, msg, sink);
  else every_order(P, env, post, senders, msg, sink);
}

// Every subset of the senders, in Gray-code order so that each step changes
// one mailbox slot.
void LocalSteps::every_subset(Proto& P, const psync_env& env, const uint8_t* post, uint64_t senders,
                              const uint8_t* const* msg, OutcomeSink sink) {
  const size_t msz = P.msg_size(env.round);
  const round::Step step(P.round_of(env.round), env, msz);
  int bits[PSYNC_MAX_N];
  int cnt = 0;
  for (int j = 0; j < P.n; ++j)
    if (senders >> j & 1) bits[cnt++] = j;
  mbox_.assign(8 + static_cast<size_t>(P.n) * msz, 0);
  Chooser& ch = P.chooser;
  round::Cursor c;
  for (uint64_t k = 0;; ++k) {
    if (k) {
      int j = bits[std::countr_zero(k)];
      c.heard ^= uint64_t{1} << j;
      uint8_t* slot = mbox_.data() + 8 + static_cast<size_t>(j) * msz;
      if (c.heard >> j & 1) std::memcpy(slot, msg[j], msz);
      else std::memset(slot, 0, msz);
      std::memcpy(mbox_.data(), &c.heard, 8);
    }
    ch.begin_exhaustive();
    do {
      std::memcpy(scratch_.data(), post, P.ss);
      ch.events.clear();
      step.complete(c, scratch_.data(), mbox_.data());
      sink(scratch_.data(), c.heard, ch.script.data(), ch.pos, {ch.events.data(), ch.events.size()});
    } while (ch.advance());
    if (k + 1 == (uint64_t{1} << cnt)) break;
  }
}

// Every arrival order: a depth-first search whose nodes are a cursor with
// the state and mailbox it has reached. Each node is also an outcome (the
// round may end there: by its timeout if it is open, by closing otherwise).
// Nodes that agree on who was heard, whether the round closed and the state
// are the same node, which keeps commutative receive handlers cheap.
void LocalSteps::every_order(Proto& P, const psync_env& env, const uint8_t* post, uint64_t senders,
                             const uint8_t* const* msg, OutcomeSink sink) {
  const size_t msz = P.msg_size(env.round);
  const size_t box = 8 + static_cast<size_t>(P.n) * msz;
  const size_t unit = P.ss + box;
  const round::Step step(P.round_of(env.round), env, msz);
  Chooser& ch = P.chooser;
  std::vector<Node> stack;
  seen_.clear();
  std::string key;
  auto push = [&](const round::Cursor& c, const uint8_t* blob, const std::vector<int64_t>& before,
                  const std::vector<std::string>& events_before) {
    key.assign(reinterpret_cast<const char*>(&c.heard), 8);
    key.push_back(static_cast<char>(c.closed));
    key.append(reinterpret_cast<const char*>(blob), P.ss);
    if (!seen_.insert(key).second) return;
    Node nd;
    nd.cursor = c;
    nd.blob = blobs_.size();
    blobs_.insert(blobs_.end(), blob, blob + unit);
    nd.choices = before;
    nd.choices.insert(nd.choices.end(), ch.script.begin(), ch.script.begin() + static_cast<long>(ch.pos));
    if (ch.capture) {
      nd.events = events_before;
      nd.events.insert(nd.events.end(), ch.events.begin(), ch.events.end());
    }
    stack.push_back(std::move(nd));
  };
  const std::vector<std::string> no_events;
  blobs_.clear();
  std::vector<uint8_t> work(unit);
  const std::vector<int64_t> none;
  const int me = env.me;
  for (int own = 1; own >= 0; --own) {  // own message first, or lost
    if (own && !(senders >> me & 1)) continue;
    ch.begin_exhaustive();
    do {
      std::memcpy(work.data(), post, P.ss);
      round::Cursor c;
      ch.events.clear();
      step.open(c, work.data(), work.data() + P.ss, own ? msg[me] : nullptr);
      push(c, work.data(), none, no_events);
    } while (ch.advance());
  }
  while (!stack.empty()) {
    Node nd = std::move(stack.back());
    stack.pop_back();
    // Copy out: pushes below may move blobs_.
    std::memcpy(work.data(), blobs_.data() + nd.blob, unit);
    const std::vector<uint8_t> here(work);
    ch.begin_exhaustive();
    do {
      std::memcpy(scratch_.data(), here.data(), P.ss);
      ch.events.clear();
      step.complete(nd.cursor, scratch_.data(), here.data() + P.ss);
      choices_ = nd.choices;
      choices_.insert(choices_.end(), ch.script.begin(), ch.script.begin() + static_cast<long>(ch.pos));
      events_.clear();
      if (ch.capture) {
        events_ = nd.events;
        events_.insert(events_.end(), ch.events.begin(), ch.events.end());
      }
      sink(scratch_.data(), nd.cursor.heard, choices_.data(), choices_.size(), {events_.data(), events_.size()});
    } while (ch.advance());
    if (!nd.cursor.open()) continue;
    for (uint64_t rest = senders & ~nd.cursor.heard & ~(uint64_t{1} << me); rest; rest &= rest - 1) {
      const int j = std::countr_zero(rest);
      ch.begin_exhaustive();
      do {
        std::memcpy(work.data(), here.data(), unit);
        round::Cursor c = nd.cursor;
        ch.events.clear();
        step.offer(c, work.data(), work.data() + P.ss, j, msg[j]);
        push(c, work.data(), nd.choices, nd.events);
      } while (ch.advance());
    }
  }
}

}  // namespace psync::check::detail

namespace psync::check {

LocalStep local_step(const psync_protocol_desc& desc, int n,
                     const std::vector<std::pair<std::string, int64_t>>& consts, int me, int64_t round,
                     const void* state, const std::vector<const void*>& incoming) {
  LocalStep out;
  detail::Proto P;
  out.error = P.setup(desc, n, consts);
  if (!out.error.empty()) return out;
  if (me < 0 || me >= n || round < 0 || incoming.size() != static_cast<size_t>(n)) {
    out.error = "bad process, round or incoming vector";
    return out;
  }
  const size_t msz = P.msg_size(round);
  const size_t box = 8 + static_cast<size_t>(n) * msz;
  const psync_env env = P.env(me, round);
  std::vector<uint8_t> unit(P.ss + box);
  std::vector<std::vector<uint8_t>> posts;
  detail::Chooser& ch = P.chooser;
  ch.begin_exhaustive();
  do {  // every outcome of the send's coins
    std::memcpy(unit.data(), state, P.ss);
    round::run_send(P.round_of(round), env, unit.data(), unit.data() + P.ss);
    if (std::find(posts.begin(), posts.end(), unit) == posts.end()) {
      posts.push_back(unit);
      out.outboxes.emplace_back(unit.begin() + static_cast<long>(P.ss), unit.end());
    }
  } while (ch.advance());
  detail::LocalSteps steps;
  for (const auto& post : posts) {
    const uint8_t* msg[PSYNC_MAX_N] = {};
    uint64_t senders = 0;
    for (int j = 0; j < n; ++j)
      if (j != me && incoming[static_cast<size_t>(j)] != nullptr) {
        senders |= uint64_t{1} << j;
        msg[j] = static_cast<const uint8_t*>(incoming[static_cast<size_t>(j)]);
      }
    if (detail::load_word(post.data() + P.ss, 0) >> me & 1) {
      senders |= uint64_t{1} << me;
      msg[me] = post.data() + P.ss + 8 + static_cast<size_t>(me) * msz;
    }
    steps.run(P, me, round, post.data(), senders, msg,
              [&](const uint8_t* st, uint64_t, const int64_t*, size_t, detail::OutcomeEvents) {
      std::vector<uint8_t> v(st, st + P.ss);
      if (std::find(out.states.begin(), out.states.end(), v) == out.states.end()) out.states.push_back(std::move(v));
    });
  }
  return out;
}

}  // namespace psync::check
