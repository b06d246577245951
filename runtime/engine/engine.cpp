// engine.cpp: one instance's rounds — send, collect, progress, update — and
// the catch-up that lets a slow process rejoin the others.
#include "engine.h"

#include "util/small_copy.h"

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

// The hooks generated code calls (abi.h); self is unused: a hook finds its
// instance from the env (Instance::owner_of).
const psync_hooks Instance::kHooks = {.self = nullptr,
                                      .coin = &Instance::hook_coin,
                                      .random = &Instance::hook_random,
                                      .decided = &Instance::hook_decided,
                                      .conflict = &Instance::hook_conflict,
                                      .log = &Instance::hook_log,
                                      .range_error = &Instance::hook_range_error};

namespace {

// The outbox of the round being entered: it lives only from the round's send
// until its messages are handed out and its own message is in the mailbox,
// so one per thread serves every instance (and keeps it out of their memory).
std::byte* scratch_outbox(uint64_t bytes) {
  thread_local std::vector<uint64_t> box;
  if (box.size() * 8 < bytes) box.resize((bytes + 7) / 8);
  return reinterpret_cast<std::byte*>(box.data());
}

// The tail in order: state, mailbox, highest rounds seen, inputs, room for
// future records, the state as the round began (record_rounds only).
struct TailWords {
  uint64_t state, box, ahead, inputs, future, before;
  uint64_t total() const { return state + box + ahead + inputs + future + before; }
};

TailWords tail_words(const Layout& layout, const Config& config, uint64_t future_bytes) {
  const auto words = [](uint64_t bytes) { return (bytes + 7) / 8; };
  TailWords w{};
  w.state = words(layout.state_size);
  w.box = words(8 + uint64_t(config.n) * layout.max_msg_size);
  w.before = config.record_rounds ? w.state : 0;
  w.ahead = uint64_t(config.n);
  w.inputs = std::max<uint64_t>(layout.desc->num_inputs, 1);
  w.future = words(future_bytes);
  return w;
}

}  // namespace

size_t Instance::tail_bytes(const Layout& layout, const Config& config) {
  return size_t(tail_words(layout, config, future_room_bytes(layout, config)).total() * 8);
}

Instance::Instance(const Layout& layout, const Config& config, const int64_t* consts,
                   uint64_t id, std::span<const int64_t> inputs, Host& host, Counters& counters, std::byte* tail,
                   uint64_t* decided_word)
    : layout_(layout), config_(config), peers_decided_(decided_word), counters_(counters), host_(host), id_(id) {
  env_.owner = this;
  env_.env.n = config.n;
  env_.env.me = config.me;
  env_.env.consts = consts;
  env_.env.hooks = &kHooks;
  // Every buffer once, in 8-byte words, for the largest round.
  const size_t future_bytes = future_room_bytes(layout, config);
  const TailWords w = tail_words(layout, config, future_bytes);
  const size_t own = tail == nullptr ? w.total() : 0;  // words of block_ before the decided word
  if (tail == nullptr || decided_word == nullptr) {
    block_ = std::make_unique<uint64_t[]>(own + (decided_word == nullptr ? 1 : 0));
    if (tail == nullptr) tail = reinterpret_cast<std::byte*>(block_.get());
    if (decided_word == nullptr) peers_decided_ = block_.get() + own;
  }
  uint64_t* at = reinterpret_cast<uint64_t*>(tail);
  state_ = reinterpret_cast<std::byte*>(at);
  mailbox_ = reinterpret_cast<std::byte*>(at += w.state);
  ahead_ = reinterpret_cast<int64_t*>(at + w.box);  // inputs(), future_room() and before() follow
  future_capacity_ = uint32_t(future_bytes);
  reset(id, inputs);
}

void Instance::reset(uint64_t id, std::span<const int64_t> inputs) {
  id_ = id;
  util::fill_small(ahead_, 0xff, size_t(config_.n) * sizeof(int64_t));  // -1 each
  int64_t* const in = this->inputs();
  const size_t given = std::min<size_t>(inputs.size(), layout_.desc->num_inputs);
  util::copy_small(in, inputs.data(), given * sizeof(int64_t));
  const size_t slots = std::max<uint32_t>(layout_.desc->num_inputs, 1);
  if (given < slots) util::fill_small(in + given, 0, (slots - given) * sizeof(int64_t));
  future_size_ = 0;
  future_count_ = 0;
  rng_ = config_.seed ^ (id * 0xD1B54A32D192ED03ull) ^ (uint64_t(config_.me) << 48);
  round_ = -1;
  set_decl(0);
  env_.env.round = 0;  // round 0, phase 0: what start() sets, without a division
  env_.env.phase = 0;
  deadline_ = kNoDeadline;
  catch_up_due_ = kNoDeadline;
  decided_round_ = -1;
  max_ahead_ = -1;
  catch_up_pending_ = false;
  paused_ = false;
  lingering_ = false;
  *peers_decided_ = 0;
  told_ = 0;
  announced_ = false;
  status_ = Status::Idle;
  end_reason_ = EndReason::None;
  // Not reset, because the next instance writes them before it reads them:
  // cursor_, sync_open_ and round_began_us_ (begin_round), linger_round_ and
  // linger_us_ (when lingering begins); settling_ is false outside settle().
}

// Sets the env's round and phase (a 64-bit division), unless they are set
// already. Only reset() and begin_round's slow path (a round that is not the
// next one) call it; the next round's phase follows without a division.
[[gnu::always_inline]] inline void Instance::set_env_round(int64_t r) {
  if (env_.env.round == r) return;  // phase is always set with round
  env_.env.round = r;
  env_.env.phase = r / int64_t(layout_.desc->num_rounds);
}

// The declaration of a message's round: for a round less than a phase away
// from the current one (the current round, its neighbours, a late message
// two rounds behind: nearly every message) it follows from the current
// declaration without a division; any other is computed.
// Inlined into its callers (a few instructions; the current round's own
// declaration is kept with the round, so only messages of other rounds and
// a round that is not the next one ask).
[[gnu::always_inline]] inline uint32_t Instance::decl_of_round(int64_t r) const {
  const int64_t rounds = layout_.desc->num_rounds;
  const int64_t d = r - round_;
  if (d > -rounds && d < rounds) {
    const int64_t at = int64_t(decl_index_) + d;
    return uint32_t(at < 0 ? at + rounds : at >= rounds ? at - rounds : at);
  }
  return layout_.decl_of(r);
}

void Instance::start(int64_t now_us) {
  if (status_ != Status::Idle) return;
  util::fill_small(state_, 0, layout_.state_size);
  set_env_round(0);
  layout_.desc->init(state_, &env_.env, inputs());
  status_ = Status::Running;
  begin_round(0, now_us, /*skipped=*/false);
  run_until_blocked(now_us);
}

void Instance::resume(int64_t round, std::span<const std::byte> state, uint64_t rng, int64_t decided_round,
                      int64_t now_us) {
  if (status_ != Status::Idle || state.size() != layout_.state_size || round < 0) return;
  std::memcpy(state_, state.data(), layout_.state_size);
  rng_ = rng;
  decided_round_ = decided_round;
  status_ = Status::Running;
  begin_round(round, now_us, /*skipped=*/false);
  run_until_blocked(now_us);
}

// The round's timeout: `timeout D`, or `timeout e` computed now over the
// state after send (growing failure-detector timeouts), or the default. A
// computed value below 1 us counts as 1 us; a huge one never overflows.
// Inlined: it runs in every round.
[[gnu::always_inline]] inline void Instance::arm_deadline(int64_t now_us) {
  const psync_round_desc& d = decl();
  if (d.flags & PSYNC_ROUND_WAIT) {
    deadline_ = kNoDeadline;
    return;
  }
  int64_t t = config_.default_timeout_us;
  if (d.flags & PSYNC_ROUND_HAS_TIMEOUT) t = d.timeout != nullptr ? std::max<int64_t>(d.timeout(state_, &env_.env), 1) : d.timeout_us;
  t = std::max(std::max(t, config_.adaptive_timeout_us), int64_t{0});
  deadline_ = t >= kNoDeadline - now_us ? kNoDeadline - 1 : now_us + t;
}

// Enters round r (round/round.h, rules 1 and 2): runs send, hands the
// messages out (not in a skipped round, unless catch-up sends are on), opens
// the mailbox with the process's own message, then delivers what arrived
// early.
void Instance::begin_round(int64_t r, int64_t now_us, bool skipped) {
  if (r == round_ + 1 && round_ >= 0) {
    // The next round (nearly always): its declaration and phase follow from
    // the current ones without a division. (round_ is -1 before an
    // instance's first round.)
    const uint32_t next = decl_index_ + 1;
    if (next == layout_.desc->num_rounds) {
      set_decl(0);
      ++env_.env.phase;
    } else {
      set_decl(next);
    }
    env_.env.round = r;
  } else {
    set_decl(round_ >= 0 ? decl_of_round(r) : r == 0 ? 0 : layout_.decl_of(r));
    set_env_round(r);
  }
  round_ = r;
  const uint64_t msize = msize_;
  deadline_ = kNoDeadline;
  round_began_us_ = now_us;
  if (config_.record_rounds) std::memcpy(before(), state_, layout_.state_size);
  if (config_.report_round_starts && (!skipped || !config_.suppress_catch_up_sends))
    host_.round_starting(id_, r, {state_, layout_.state_size}, rng_, decided_round_);

  std::byte* const outbox = scratch_outbox(8 + uint64_t(layout_.n) * msize);
  const uint64_t out = round::run_send(decl(), env_.env, state_, outbox);
  const bool transmit = !skipped || !config_.suppress_catch_up_sends;
  if (transmit) {
    for (uint64_t bits = out & ~(uint64_t{1} << config_.me); bits != 0; bits &= bits - 1) {
      const int32_t to = std::countr_zero(bits);
      host_.send_message(id_, r, to, {outbox + 8 + uint64_t(to) * msize, msize}, decided());
      ++counters_.messages_sent;
    }
    if (decided()) told_ |= out;
  } else {
    counters_.sends_suppressed += uint64_t(std::popcount(out));
  }
  if (decided() && !announced_) announce_decision_early();

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
  step().open(cursor_, state_, mailbox_, own ? outbox + 8 + uint64_t(config_.me) * msize : nullptr);
  if (own) ++counters_.messages_delivered;
  if (future_count_ != 0) deliver_buffered_for_current_round(now_us);  // nearly always none
}

// Offers one message of the current round to its mailbox (round/round.h,
// rule 3) and notes that its sender has reached this round (`sync k`).
[[gnu::always_inline]] inline void Instance::deliver(int32_t sender, std::span<const std::byte> payload, int64_t now_us) {
  if (ahead_[size_t(sender)] < round_) ahead_[size_t(sender)] = round_;
  switch (step().offer(cursor_, state_, mailbox_, sender, payload.data())) {
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

// Delivers the buffered messages of the current round in the order they
// came, drops those of rounds already over, and keeps the rest in place.
void Instance::deliver_buffered_for_current_round(int64_t now_us) {
  if (future_count_ == 0) return;
  size_t keep = 0;  // bytes of records kept, compacted to the front
  size_t at = 0;
  size_t kept = 0;
  const size_t end = future_size_;
  while (at < end) {
    FutureHeader f;
    std::memcpy(&f, future_records() + at, sizeof f);
    const size_t size = future_record_size(f.length);
    if (f.round < round_) {
      ++counters_.late_messages_dropped;
    } else if (f.round == round_) {
      if (status_ == Status::Running && !halted())
        deliver(f.sender, {future_records() + at + sizeof f, f.length}, now_us);
    } else {
      if (keep != at) std::memmove(future_records() + keep, future_records() + at, size);
      keep += size;
      ++kept;
    }
    at += size;
  }
  future_size_ = uint32_t(keep);
  future_count_ = uint32_t(kept);
}

void Instance::buffer_future(int32_t sender, int64_t round, std::span<const std::byte> payload) {
  for (size_t at = 0; at < future_size_;) {
    FutureHeader f;
    std::memcpy(&f, future_records() + at, sizeof f);
    if (f.round == round && f.sender == sender) {
      ++counters_.duplicates_dropped;
      return;
    }
    at += future_record_size(f.length);
  }
  const psync_round_desc& d = decl();
  const int64_t bound = (d.flags & PSYNC_ROUND_STRICT) && d.strict_bound > 0 ? d.strict_bound
                                                                             : config_.default_future_bound;
  if (int64_t(future_count_) >= bound) {
    ++counters_.future_messages_dropped;
    return;
  }
  const FutureHeader f{round, sender, uint32_t(payload.size())};
  const size_t at = future_size_;
  reserve_future(future_record_size(payload.size()));
  future_size_ += uint32_t(future_record_size(payload.size()));
  std::byte* const records = future_records();
  std::memcpy(records + at, &f, sizeof f);
  if (!payload.empty()) std::memcpy(records + at + sizeof f, payload.data(), payload.size());
  ++future_count_;
  ++counters_.future_messages_buffered;
}

void Instance::reserve_future(size_t bytes) {
  if (future_size_ + bytes <= future_capacity_) return;
  const size_t capacity = std::max(2 * size_t(future_capacity_), future_size_ + bytes);
  auto spill = std::make_unique_for_overwrite<std::byte[]>(capacity);
  std::memcpy(spill.get(), future_records(), future_size_);
  future_spill_ = std::move(spill);
  future_capacity_ = uint32_t(capacity);
}

bool Instance::receive(int32_t sender, int64_t round, std::span<const std::byte> payload, int64_t now_us) {
  if (status_ != Status::Running) {
    ++counters_.messages_after_finish_dropped;
    return false;
  }
  if (sender < 0 || sender >= config_.n || sender == config_.me || round < 0) {
    ++counters_.invalid_messages_dropped;
    return false;
  }
  // The size of a message of the current round (nearly every one) is kept;
  // any other round's is looked up.
  const uint64_t size = round == round_ ? msize_ : layout_.msg_size[decl_of_round(round)];
  if (payload.size() != size) {
    ++counters_.invalid_messages_dropped;
    return false;
  }
  if (round < round_ || (paused_ && round == round_)) {  // paused: round_ is complete
    ++counters_.late_messages_dropped;
    return false;
  }
  if (round - round_ > config_.max_catch_up) {
    ++counters_.implausible_round_dropped;
    return false;
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
  return true;
}

// The round to catch up to, or -1: the highest round that at least f+1
// distinct senders have reached (with f = 0, the highest round seen). With
// f Byzantine senders, f+1 of them include a correct one, so a liar cannot
// drag a correct process forward on its own (PSync, Section 4; the same
// f+1 rule as Bracha's amplification step, "Asynchronous Byzantine agreement
// protocols", Inf. Comput. 75(2), 1987).
// Its one caller (run_until_blocked) asks only when someone is ahead
// (max_ahead_ > round_).
[[gnu::always_inline]] inline int64_t Instance::catch_up_target() const {
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
  if (paused_) {
    if (now_us < deadline_) return;
    ++counters_.decide_pauses_expired;
    end_pause(now_us);
    run_until_blocked(now_us);
    return;
  }
  if (catch_up_due_ <= now_us) {
    run_until_blocked(now_us);
    if (status_ != Status::Running) return;
  }
  if (!sync_open_ || deadline_ == kNoDeadline || now_us < deadline_) return;
  ++counters_.timeouts;
  complete_round(now_us);
  if (status_ == Status::Running) enter_next_round(now_us);
  run_until_blocked(now_us);
}

[[gnu::always_inline]] inline void Instance::enter_next_round(int64_t now_us) {
  if (decided_round_ == round_ && config_.pause_after_decide && config_.after_decide_rounds > 0 &&
      lingering_enabled() && !lingering_ && !halted() && !everyone_decided()) {
    paused_ = true;
    ++counters_.decide_pauses;
    catch_up_due_ = kNoDeadline;
    const uint64_t others = all_of(config_.n) & ~(uint64_t{1} << config_.me);
    if (const uint64_t untold = others & ~told_) {
      host_.announce_decided(id_, round_, untold);
      told_ |= untold;
    }
    announced_ = true;
    const int64_t t = std::max(config_.default_timeout_us, config_.adaptive_timeout_us);
    deadline_ = t >= kNoDeadline - now_us ? kNoDeadline - 1 : now_us + t;
    return;
  }
  begin_round(round_ + 1, now_us, /*skipped=*/false);
}

void Instance::end_pause(int64_t now_us) {
  paused_ = false;
  deadline_ = kNoDeadline;
  begin_round(round_ + 1, now_us, /*skipped=*/false);
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
    if (paused_) {
      // Waits for the peers' decisions (peer_decided) or the pause's end,
      // unless a peer already runs a later round: then as usual.
      if (max_ahead_ <= round_) break;
      end_pause(now_us);
      continue;
    }
    // Nobody ahead (nearly always), or a strict round, which never catches
    // up: no catch-up due.
    const int64_t target = max_ahead_ <= round_ || (decl().flags & PSYNC_ROUND_STRICT) ? -1 : catch_up_target();
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
    if (!sync_open_ || cursor_.open()) break;
    if (cursor_.closed == round::Closed::Full) ++counters_.rounds_ended_full;
    else ++counters_.rounds_ended_by_go;
    // A latency sample for the adaptive timeout (node.cpp), unless the round
    // ended in the second half of its timeout: then it was paced by peers
    // waiting on their own timeouts, and the sample would let the timeout
    // feed on itself (Karn's rule for TCP's RTO drops ambiguous samples so).
    if (config_.round_latency != nullptr &&
        (deadline_ == kNoDeadline || 2 * (now_us - round_began_us_) < deadline_ - round_began_us_))
      config_.round_latency->add(now_us - round_began_us_);
    complete_round(now_us);
    if (status_ == Status::Running && !halted()) enter_next_round(now_us);
  }
}

// Completes the round (round/round.h, rule 4), then decides whether the
// instance is over: halted, out of rounds, or decided with its after-decide
// rounds run and every peer known to have decided — or, failing that,
// lingered up to the bound (docs/runtime.md, "Lingering").
[[gnu::always_inline]] inline void Instance::complete_round(int64_t now_us) {
  // env_ already holds round_ and its phase: begin_round set them, and
  // nothing else changes them while the instance runs.
  step().complete(cursor_, state_, mailbox_);
  if (config_.record_rounds)
    host_.round_completed(id_, round_, {before(), layout_.state_size}, {state_, layout_.state_size}, cursor_.heard);
  ++counters_.rounds_completed;
  deadline_ = kNoDeadline;
  if (halted()) {
    ++counters_.halts;
    finish(EndReason::Halted);
  } else if (decided_round_ >= 0 && lingering_enabled() && everyone_decided()) {
    // Every peer has decided too: the rounds after deciding, which are run
    // so that others can still decide, have nobody left to serve.
    announce_decision_early();
    finish(EndReason::AfterDecide);
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
  if (config_.max_rounds > 0 && status_ == Status::Running && round_ + 1 >= config_.max_rounds) {
    if (decided_round_ < 0) ++counters_.instances_gave_up;
    finish(EndReason::GaveUp);
  }
}

void Instance::peer_decided(int32_t sender) {
  if (sender < 0 || sender >= config_.n || sender == config_.me) return;
  const uint64_t bit = uint64_t{1} << sender;
  if (*peers_decided_ & bit) return;
  *peers_decided_ |= bit;
  ++counters_.peer_decisions_seen;
  // Lingering, or still in its after-decide rounds: once everyone has
  // decided, the instance is over (mid-round).
  if (status_ == Status::Running && decided() && lingering_enabled() && everyone_decided()) {
    announce_decision_early();
    finish(EndReason::AfterDecide);
  }
}

// Right after the round that follows the decision has sent its messages
// (which carry the decided bit): a notice to each peer that did not get one
// of them, so that every process learns at once that this one has decided
// and nobody runs after-decide rounds for a peer that needs nothing. A
// protocol that sends to everyone every round (OneThirdRule) sends none.
void Instance::announce_decision_early() {
  announced_ = true;  // told_ keeps later calls from repeating a notice
  if (!lingering_enabled()) return;
  const uint64_t others = all_of(config_.n) & ~(uint64_t{1} << config_.me);
  if (const uint64_t untold = others & ~told_) {
    host_.announce_decided(id_, round_, untold);
    told_ |= untold;
  }
}

void Instance::finish(EndReason why) {
  status_ = Status::Finished;
  catch_up_due_ = kNoDeadline;
  end_reason_ = why;
  deadline_ = kNoDeadline;
  future_size_ = 0;  // a spill keeps its capacity for the next reset()
  future_count_ = 0;
}

uint64_t Instance::next_random() { return splitmix64(rng_); }

int32_t Instance::hook_coin(void*, const psync_env* env) {
  return int32_t(owner_of(env).next_random() & 1);
}

int64_t Instance::hook_random(void*, const psync_env* env, int64_t k) {
  if (k <= 0) return 0;
  return int64_t(owner_of(env).next_random() % uint64_t(k));
}

void Instance::hook_decided(void*, const psync_env* env, const void* state) {
  Instance* inst = &owner_of(env);
  if (inst->decided_round_ >= 0) return;
  inst->decided_round_ = env->round;
  ++inst->counters_.decisions;
  inst->host_.report_decision(inst->id_, env->round, state);
}

void Instance::hook_conflict(void*, const psync_env* env, const void* state) {
  Instance* inst = &owner_of(env);
  ++inst->counters_.conflicting_decisions;
  inst->host_.report_conflict(inst->id_, env->round, state);
}

void Instance::hook_log(void*, const psync_env* env, const char* text, uint64_t len) {
  Instance* inst = &owner_of(env);
  ++inst->counters_.log_lines;
  inst->host_.log_line(inst->id_, env->round, std::string_view(text, size_t(len)));
}

void Instance::hook_range_error(void*, const psync_env* env, int64_t value, const char* where) {
  Instance* inst = &owner_of(env);
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
