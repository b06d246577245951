// engine.cpp: one instance's rounds — send, collect, progress, update — and
// the catch-up that lets a slow process rejoin the others.
#include "engine.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace psync::engine {

namespace {

using round::all_of;

// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): one word of state per instance.
uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Instance::Instance(const Layout& layout, const Config& config, const int64_t* consts,
                   uint64_t id, std::span<const int64_t> inputs, Host& host, Counters& counters)
    : layout_(layout), config_(config), host_(host), counters_(counters), id_(id),
      ahead_(size_t(config.n), -1), inputs_(inputs.begin(), inputs.end()) {
  hooks_.self = this;
  hooks_.coin = &Instance::hook_coin;
  hooks_.random = &Instance::hook_random;
  hooks_.decided = &Instance::hook_decided;
  hooks_.conflict = &Instance::hook_conflict;
  hooks_.log = &Instance::hook_log;
  hooks_.range_error = &Instance::hook_range_error;
  env_.n = config.n;
  env_.me = config.me;
  env_.consts = consts;
  env_.hooks = &hooks_;
  rng_ = config.seed ^ (id * 0xD1B54A32D192ED03ull) ^ (uint64_t(config.me) << 48);
}

void Instance::set_env_round(int64_t r) {
  env_.round = r;
  env_.phase = r / int64_t(layout_.desc->num_rounds);
}

void Instance::start(int64_t now_us) {
  if (status_ != Status::Idle) return;
  state_.assign(layout_.state_size, std::byte{0});
  set_env_round(0);
  layout_.desc->init(state_.data(), &env_, inputs_.data());
  status_ = Status::Running;
  begin_round(0, now_us, /*skipped=*/false);
  run_until_blocked(now_us);
}

void Instance::resume(int64_t round, std::span<const std::byte> state, uint64_t rng, int64_t decided_round,
                      int64_t now_us) {
  if (status_ != Status::Idle || state.size() != layout_.state_size || round < 0) return;
  state_.assign(state.begin(), state.end());
  rng_ = rng;
  decided_round_ = decided_round;
  status_ = Status::Running;
  begin_round(round, now_us, /*skipped=*/false);
  run_until_blocked(now_us);
}

// Enters round r (round/round.h, rules 1 and 2): runs send, hands the
// messages out (not in a skipped round, unless catch-up sends are on), opens
// the mailbox with the process's own message, then delivers what arrived
// early.
void Instance::begin_round(int64_t r, int64_t now_us, bool skipped) {
  round_ = r;
  decl_index_ = layout_.decl_of(r);
  set_env_round(r);
  const uint64_t msize = layout_.msg_size[decl_index_];
  const uint64_t box = layout_.mailbox_size(decl_index_);
  mailbox_.resize(box);
  outbox_.resize(box);
  deadline_ = kNoDeadline;
  if (config_.record_rounds) before_.assign(state_.begin(), state_.end());
  if (config_.report_round_starts && (!skipped || !config_.suppress_catch_up_sends))
    host_.round_starting(id_, r, {state_.data(), state_.size()}, rng_, decided_round_);

  const uint64_t out = round::run_send(decl(), env_, state_.data(), outbox_.data());
  const bool transmit = !skipped || !config_.suppress_catch_up_sends;
  if (transmit) {
    for (uint64_t bits = out & ~(uint64_t{1} << config_.me); bits != 0; bits &= bits - 1) {
      const int32_t to = std::countr_zero(bits);
      host_.send_message(id_, r, to, {outbox_.data() + 8 + uint64_t(to) * msize, msize}, decided());
      ++counters_.messages_sent;
    }
    if (decided()) told_ |= out;
  } else {
    counters_.sends_suppressed += uint64_t(std::popcount(out));
  }

  const int64_t k = decl().sync_k;
  sync_open_ = true;
  if (k > 0) {
    int64_t known = 1;  // this process
    for (int32_t s = 0; s < config_.n; ++s)
      if (s != config_.me && ahead_[size_t(s)] >= r) ++known;
    sync_open_ = known >= k;
  }
  if (sync_open_ && !skipped) arm_deadline(now_us);

  const bool own = transmit && ((out >> config_.me) & 1);
  step().open(cursor_, state_.data(), mailbox_.data(),
              own ? outbox_.data() + 8 + uint64_t(config_.me) * msize : nullptr);
  if (own) ++counters_.messages_delivered;
  deliver_buffered_for_current_round(now_us);
}

// The round's timeout: `timeout D`, or `timeout e` computed now over the
// state after send (growing failure-detector timeouts), or the default. A
// computed value below 1 us counts as 1 us; a huge one never overflows.
void Instance::arm_deadline(int64_t now_us) {
  const psync_round_desc& d = decl();
  if (d.flags & PSYNC_ROUND_WAIT) {
    deadline_ = kNoDeadline;
    return;
  }
  int64_t t = config_.default_timeout_us;
  if (d.flags & PSYNC_ROUND_HAS_TIMEOUT) t = d.timeout != nullptr ? std::max<int64_t>(d.timeout(state_.data(), &env_), 1) : d.timeout_us;
  t = std::max<int64_t>(t, 0);
  deadline_ = t >= kNoDeadline - now_us ? kNoDeadline - 1 : now_us + t;
}

// Offers one message of the current round to its mailbox (round/round.h,
// rule 3) and notes that its sender has reached this round (`sync k`).
void Instance::deliver(int32_t sender, std::span<const std::byte> payload, int64_t now_us) {
  if (ahead_[size_t(sender)] < round_) ahead_[size_t(sender)] = round_;
  switch (step().offer(cursor_, state_.data(), mailbox_.data(), sender, payload.data())) {
    case round::Offer::Taken: ++counters_.messages_delivered; break;
    case round::Offer::Duplicate: ++counters_.duplicates_dropped; break;
    case round::Offer::Closed: ++counters_.messages_after_close_dropped; break;
  }
  if (!sync_open_) check_sync_gate(now_us);
}

// `sync k`: the round may end (and its timeout starts) once k processes,
// this one included, are known to have reached it.
void Instance::check_sync_gate(int64_t now_us) {
  if (sync_open_) return;
  int64_t known = 1;
  for (int32_t s = 0; s < config_.n; ++s)
    if (s != config_.me && ahead_[size_t(s)] >= round_) ++known;
  if (known < decl().sync_k) return;
  sync_open_ = true;
  arm_deadline(now_us);
}

void Instance::deliver_buffered_for_current_round(int64_t now_us) {
  if (future_.empty()) return;
  std::vector<Future> keep;
  std::vector<Future> now;
  for (Future& f : future_) {
    if (f.round < round_) ++counters_.late_messages_dropped;
    else if (f.round == round_) now.push_back(std::move(f));
    else keep.push_back(std::move(f));
  }
  future_ = std::move(keep);
  for (Future& f : now) {
    if (status_ != Status::Running || halted()) break;
    deliver(f.sender, f.payload, now_us);
  }
}

void Instance::buffer_future(int32_t sender, int64_t round, std::span<const std::byte> payload) {
  for (const Future& f : future_) {
    if (f.round == round && f.sender == sender) {
      ++counters_.duplicates_dropped;
      return;
    }
  }
  const psync_round_desc& d = decl();
  const int64_t bound = (d.flags & PSYNC_ROUND_STRICT) && d.strict_bound > 0 ? d.strict_bound
                                                                             : config_.default_future_bound;
  if (int64_t(future_.size()) >= bound) {
    ++counters_.future_messages_dropped;
    return;
  }
  future_.push_back({round, sender, {payload.begin(), payload.end()}});
  ++counters_.future_messages_buffered;
}

void Instance::receive(int32_t sender, int64_t round, std::span<const std::byte> payload, int64_t now_us) {
  if (status_ != Status::Running) {
    ++counters_.messages_after_finish_dropped;
    return;
  }
  if (sender < 0 || sender >= config_.n || sender == config_.me || round < 0) {
    ++counters_.invalid_messages_dropped;
    return;
  }
  const uint32_t decl_of_msg = uint32_t(round % int64_t(layout_.desc->num_rounds));
  if (payload.size() != layout_.msg_size[decl_of_msg]) {
    ++counters_.invalid_messages_dropped;
    return;
  }
  if (round < round_) {
    ++counters_.late_messages_dropped;
    return;
  }
  if (round - round_ > config_.max_catch_up) {
    ++counters_.implausible_round_dropped;
    return;
  }
  if (round == round_) {
    deliver(sender, payload, now_us);
  } else {
    // The sender is known to have reached `round`, whether or not there is
    // room to keep its message: that is what catch-up and `sync k` count.
    if (ahead_[size_t(sender)] < round) ahead_[size_t(sender)] = round;
    if (max_ahead_ < round) max_ahead_ = round;
    buffer_future(sender, round, payload);
    check_sync_gate(now_us);
  }
  run_until_blocked(now_us);
}

// The round to catch up to, or -1: the highest round that at least f+1
// distinct senders have reached (with f = 0, the highest round seen). With
// f Byzantine senders, f+1 of them include a correct one, so a liar cannot
// drag a correct process forward on its own (PSync, Section 4; the same
// f+1 rule as Bracha's amplification step, "Asynchronous Byzantine agreement
// protocols", Inf. Comput. 75(2), 1987).
int64_t Instance::catch_up_target() const {
  if (max_ahead_ <= round_) return -1;
  const int32_t f = std::max(config_.byzantine_f, 0);
  if (f == 0) return max_ahead_;
  int64_t above[PSYNC_MAX_N];
  int32_t count = 0;
  for (int32_t s = 0; s < config_.n; ++s)
    if (ahead_[size_t(s)] > round_) above[count++] = ahead_[size_t(s)];
  if (count < f + 1) return -1;
  std::nth_element(above, above + f, above + count, std::greater<int64_t>());
  return above[f];
}

// Finishes the current round with what it has, runs the rounds in between
// with empty mailboxes (their sends suppressed unless configured otherwise),
// then enters `target`, where the buffered message(s) get delivered.
void Instance::catch_up_to(int64_t target, int64_t now_us) {
  ++counters_.catch_ups;
  complete_round(now_us);
  while (status_ == Status::Running && round_ + 1 < target) {
    begin_round(round_ + 1, now_us, /*skipped=*/true);
    ++counters_.rounds_skipped;
    complete_round(now_us);
  }
  if (status_ == Status::Running && !halted()) begin_round(target, now_us, /*skipped=*/false);
}

void Instance::on_timer(int64_t now_us) {
  if (status_ != Status::Running) return;
  if (catch_up_due_ <= now_us) {
    run_until_blocked(now_us);
    if (status_ != Status::Running) return;
  }
  if (!sync_open_ || deadline_ == kNoDeadline || now_us < deadline_) return;
  ++counters_.timeouts;
  complete_round(now_us);
  if (status_ == Status::Running) begin_round(round_ + 1, now_us, /*skipped=*/false);
  run_until_blocked(now_us);
}

void Instance::settle(int64_t now_us) {
  if (!catch_up_pending_) return;
  catch_up_pending_ = false;
  if (status_ != Status::Running) return;
  settling_ = true;
  run_until_blocked(now_us);
  settling_ = false;
}

void Instance::run_until_blocked(int64_t now_us) {
  while (status_ == Status::Running) {
    if (halted()) {  // `halt` in receive: the round ends here (rule 4)
      complete_round(now_us);
      break;
    }
    if (!(decl().flags & PSYNC_ROUND_STRICT)) {
      const int64_t target = catch_up_target();
      if (target <= round_) {
        catch_up_due_ = kNoDeadline;
      } else if (config_.catch_up_grace_us > 0) {
        if (catch_up_due_ == kNoDeadline) catch_up_due_ = now_us + config_.catch_up_grace_us;
        if (now_us >= catch_up_due_) {
          catch_up_due_ = kNoDeadline;
          catch_up_to(target, now_us);
          continue;
        }
      } else {
        if (config_.defer_catch_up && !settling_) {
          catch_up_pending_ = true;  // settle() will do it, unless the round ends first
        } else {
          catch_up_to(target, now_us);
          continue;
        }
      }
    } else {
      catch_up_due_ = kNoDeadline;  // strict rounds never catch up
    }
    if (!sync_open_ || cursor_.open()) break;
    if (cursor_.closed == round::Closed::Full) ++counters_.rounds_ended_full;
    else ++counters_.rounds_ended_by_go;
    complete_round(now_us);
    if (status_ == Status::Running && !halted()) begin_round(round_ + 1, now_us, /*skipped=*/false);
  }
}

// Completes the round (round/round.h, rule 4), then decides whether the
// instance is over: halted, out of rounds, or decided with its after-decide
// rounds run and every peer known to have decided — or, failing that,
// lingered up to the bound (docs/runtime.md, "Lingering").
void Instance::complete_round(int64_t now_us) {
  set_env_round(round_);
  step().complete(cursor_, state_.data(), mailbox_.data());
  if (config_.record_rounds)
    host_.round_completed(id_, round_, before_, {state_.data(), state_.size()}, cursor_.heard);
  ++counters_.rounds_completed;
  deadline_ = kNoDeadline;
  if (halted()) {
    ++counters_.halts;
    finish(EndReason::Halted);
  } else if (decided_round_ >= 0 && round_ >= decided_round_ + config_.after_decide_rounds) {
    if (!lingering_enabled()) {
      finish(EndReason::AfterDecide);
    } else if (!lingering_) {
      // Whoever has not had our decided bit on a frame gets a notice, so that
      // nobody lingers waiting for us once we are gone.
      const uint64_t others = all_of(config_.n) & ~(uint64_t{1} << config_.me);
      if (const uint64_t untold = others & ~told_) {
        host_.announce_decided(id_, round_, untold);
        told_ |= untold;
      }
      if ((decided_set() & all_of(config_.n)) == all_of(config_.n)) {
        finish(EndReason::AfterDecide);
      } else {
        lingering_ = true;
        linger_round_ = round_;
        linger_us_ = now_us;
        ++counters_.instances_lingered;
      }
    } else {
      ++counters_.lingered_rounds;
      if (round_ - linger_round_ >= config_.linger_rounds && now_us - linger_us_ >= config_.linger_us) {
        ++counters_.linger_expired;
        finish(EndReason::LingerExpired);
      }
    }
  }
  if (status_ == Status::Running && config_.max_rounds > 0 && round_ + 1 >= config_.max_rounds) {
    if (decided_round_ < 0) ++counters_.instances_gave_up;
    finish(EndReason::GaveUp);
  }
}

void Instance::peer_decided(int32_t sender) {
  if (sender < 0 || sender >= config_.n || sender == config_.me) return;
  const uint64_t bit = uint64_t{1} << sender;
  if (peers_decided_ & bit) return;
  peers_decided_ |= bit;
  ++counters_.peer_decisions_seen;
  if (lingering_ && status_ == Status::Running &&
      (decided_set() & all_of(config_.n)) == all_of(config_.n))
    finish(EndReason::AfterDecide);
}

void Instance::finish(EndReason why) {
  status_ = Status::Finished;
  catch_up_due_ = kNoDeadline;
  end_reason_ = why;
  deadline_ = kNoDeadline;
  future_.clear();
  future_.shrink_to_fit();
  outbox_.clear();
  outbox_.shrink_to_fit();
}

uint64_t Instance::next_random() { return splitmix64(rng_); }

int32_t Instance::hook_coin(void* self, const psync_env*) {
  return int32_t(static_cast<Instance*>(self)->next_random() & 1);
}

int64_t Instance::hook_random(void* self, const psync_env*, int64_t k) {
  if (k <= 0) return 0;
  return int64_t(static_cast<Instance*>(self)->next_random() % uint64_t(k));
}

void Instance::hook_decided(void* self, const psync_env* env, const void* state) {
  auto* inst = static_cast<Instance*>(self);
  if (inst->decided_round_ >= 0) return;
  inst->decided_round_ = env->round;
  ++inst->counters_.decisions;
  inst->host_.report_decision(inst->id_, env->round, state);
}

void Instance::hook_conflict(void* self, const psync_env* env, const void* state) {
  auto* inst = static_cast<Instance*>(self);
  ++inst->counters_.conflicting_decisions;
  inst->host_.report_conflict(inst->id_, env->round, state);
}

void Instance::hook_log(void* self, const psync_env* env, const char* text, uint64_t len) {
  auto* inst = static_cast<Instance*>(self);
  ++inst->counters_.log_lines;
  inst->host_.log_line(inst->id_, env->round, std::string_view(text, size_t(len)));
}

void Instance::hook_range_error(void* self, const psync_env* env, int64_t value, const char* where) {
  auto* inst = static_cast<Instance*>(self);
  ++inst->counters_.range_errors;
  inst->host_.report_range_error(inst->id_, env->round, value, where);
}

std::vector<std::pair<const char*, uint64_t>> counter_list(const Counters& c) {
  std::vector<std::pair<const char*, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, c.name);
  PSYNC_ENGINE_COUNTERS(PSYNC_X)
#undef PSYNC_X
  return out;
}

}  // namespace psync::engine
