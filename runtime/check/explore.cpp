// explore.cpp: exhaustive breadth-first exploration of a protocol's global
// states over every heard-of assignment (Charron-Bost & Schiper, "The
// Heard-Of model", Distrib. Comput. 22(1), 2009; PSync, POPL 2016, sec. 5).
//
// A global state is the round word followed by the n process states. Rounds
// are communication-closed, so one round is one transition: every process
// sends, then each process updates with some mailbox. Since a process's
// successor depends only on its own mailbox, we enumerate, per process, the
// 2^|senders| mailboxes, keep its distinct local successors, and take the
// product: far fewer steps than the 2^(n*n) global HO assignments. `assume`
// and liveness predicates read the whole HO vector, so under them we do
// enumerate global assignments (see expand()).
#include "engine.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_set>

namespace psync::check {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// Append-only store of fixed-size keys with an open-addressing index. Keys
// live in chunks so that growth never moves them; a slot is the key's 32-bit
// hash tag and its index + 1 (0 = empty).
class StateStore {
 public:
  explicit StateStore(size_t key_bytes) : kb_(key_bytes), slots_(1u << 12, 0) {}

  uint32_t size() const { return count_; }
  const uint8_t* at(uint32_t i) const { return chunks_[i >> kShift].get() + (i & kMask) * kb_; }

  // Returns the key's index and whether it was new.
  std::pair<uint32_t, bool> insert(const uint8_t* key) {
    if ((static_cast<uint64_t>(count_) + 1) * 2 > slots_.size()) grow();
    uint64_t h = hash_bytes(key, kb_);
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint64_t slot = slots_[pos];
      if (slot == 0) {
        uint32_t idx = count_++;
        if ((idx & kMask) == 0) chunks_.emplace_back(new uint8_t[kb_ << kShift]);
        std::memcpy(const_cast<uint8_t*>(at(idx)), key, kb_);
        slots_[pos] = (h >> 32) << 32 | (static_cast<uint64_t>(idx) + 1);
        return {idx, true};
      }
      if ((slot >> 32) == (h >> 32)) {
        uint32_t idx = static_cast<uint32_t>(slot) - 1;
        if (std::memcmp(at(idx), key, kb_) == 0) return {idx, false};
      }
    }
  }

  bool contains(const uint8_t* key) const {
    uint64_t h = hash_bytes(key, kb_);
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint64_t slot = slots_[pos];
      if (slot == 0) return false;
      if ((slot >> 32) == (h >> 32) && std::memcmp(at(static_cast<uint32_t>(slot) - 1), key, kb_) == 0)
        return true;
    }
  }

  uint64_t bytes() const {
    return chunks_.size() * (kb_ << kShift) + slots_.size() * sizeof(uint64_t);
  }

 private:
  static constexpr uint32_t kShift = 14;
  static constexpr uint32_t kMask = (1u << kShift) - 1;

  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    size_t mask = bigger.size() - 1;
    for (uint64_t slot : slots_) {
      if (!slot) continue;
      uint64_t h = hash_bytes(at(static_cast<uint32_t>(slot) - 1), kb_);
      size_t pos = h & mask;
      while (bigger[pos]) pos = (pos + 1) & mask;
      bigger[pos] = slot;
    }
    slots_.swap(bigger);
  }

  size_t kb_;
  uint32_t count_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  std::vector<uint64_t> slots_;
};

constexpr uint32_t kNoParent = UINT32_MAX;
constexpr size_t kCacheBudget = size_t{256} << 20;  // local-successor memo, bytes

// The distinct local successors of one process in one round, with the first
// mailbox (and coin outcomes) that produced each, for counterexamples.
struct Local {
  std::vector<uint32_t> ids;         // interned process states
  std::vector<uint64_t> masks;
  std::vector<uint8_t> conflict;
  std::vector<uint32_t> choice_off;  // size count + 1, into choice_pool
  std::vector<int64_t> choice_pool;
  // Restricted mode: for each mailbox mask, the ids it leads to.
  std::vector<uint32_t> tab_begin, tab_len, tab_ids;
  uint32_t count = 0;

  void clear() {
    ids.clear(); masks.clear(); conflict.clear();
    choice_off.assign(1, 0); choice_pool.clear(); tab_ids.clear();
    count = 0;
  }
};

// One send alternative of one process (several only if send flips coins).
struct SendAlts {
  std::vector<uint8_t> buf;  // count * (state + outbox)
  std::vector<std::vector<int64_t>> choices;
  uint32_t count = 0;
};

// Memo of local successor sets. What process i can become in round r is a
// function of its post-send state, who sends to it and what they send (plus
// i and r, which the code may read), so equal keys share one entry: most
// global states repeat the local situations of others.
class LocalCache {
 public:
  // The entry for `key`, and whether it must still be filled in.
  std::pair<Local*, bool> find_or_add(const std::vector<uint8_t>& key) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    uint64_t h = hash_bytes(key.data(), key.size());
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint32_t e = slots_[pos];
      if (e == 0) {
        slots_[pos] = static_cast<uint32_t>(entries_.size()) + 1;
        hashes_.push_back(h);
        key_off_.push_back(keys_.size());
        keys_.insert(keys_.end(), key.begin(), key.end());
        key_len_.push_back(key.size());
        entries_.emplace_back();
        bytes_ += key.size() + 64;
        return {&entries_.back(), true};
      }
      --e;
      if (hashes_[e] == h && key_len_[e] == key.size() &&
          std::memcmp(keys_.data() + key_off_[e], key.data(), key.size()) == 0)
        return {&entries_[e], false};
    }
  }
  void account(const Local& L) {
    bytes_ += L.ids.size() * 4 + L.tab_ids.size() * 4 + L.tab_begin.size() * 8 + L.masks.size() * 17 +
              L.choice_pool.size() * 8;
  }
  size_t bytes() const { return bytes_ + slots_.size() * 4; }
  void clear() {
    entries_.clear(); keys_.clear(); key_off_.clear(); key_len_.clear(); hashes_.clear();
    slots_.assign(1024, 0);
    bytes_ = 0;
  }

 private:
  void grow() {
    std::vector<uint32_t> bigger(std::max<size_t>(1024, slots_.size() * 2), 0);
    size_t mask = bigger.size() - 1;
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      size_t pos = hashes_[e] & mask;
      while (bigger[pos]) pos = (pos + 1) & mask;
      bigger[pos] = e + 1;
    }
    slots_.swap(bigger);
  }
  std::deque<Local> entries_;  // a deque: entries never move
  std::vector<uint8_t> keys_;
  std::vector<size_t> key_off_, key_len_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> slots_;
  size_t bytes_ = 0;
};

}  // namespace

class Explorer {
 public:
  Explorer(const psync_protocol_desc& desc, const CheckOptions& opts, ProgressFn fn, void* user)
      : desc_(desc), o_(opts), progress_(fn), user_(user) {}

  CheckResult run();

 private:
  // ---- Successors ----
  template <class F>
  void expand(const uint8_t* X, int64_t r, const std::vector<int>& preds, F&& emit);
  void compute_sends(const uint8_t* X, int64_t r);
  void compute_local(int i, const uint8_t* post, int64_t r, bool table);
  uint32_t add_local(const uint8_t* st, uint64_t mask);
  void local_for(int i, int64_t r, bool table);
  void canonicalise(const uint8_t* Y, uint8_t* C) const;
  bool symmetric_at(const uint8_t* X, int64_t r);
  int64_t stored_round(int64_t r) const { return o_.cyclic_rounds ? r % static_cast<int64_t>(desc_.num_rounds) : r; }

  // ---- Specs ----
  int failing_invariant(const uint8_t* Y, int64_t r);
  int failing_property(const uint8_t* X, const uint8_t* Y, int64_t r);
  bool conflict_in(const uint8_t* Y) const;
  bool liveness_holds(const uint8_t* X, int64_t r, int k, int spec, std::vector<std::vector<uint8_t>>* path);

  // ---- Counterexamples ----
  // A global state is its round (int32) and the interned ids of its n
  // process states; proc() finds a process state's bytes.
  uint32_t id_of(const uint8_t* G, int i) const {
    uint32_t id;
    std::memcpy(&id, G + 4 + 4 * static_cast<size_t>(i), 4);
    return id;
  }
  const uint8_t* proc(const uint8_t* G, int i) const { return procs_->at(id_of(G, i)); }
  void ptrs(const uint8_t* G, const void** out) const {
    for (int i = 0; i < n_; ++i) out[i] = proc(G, i);
  }
  // Replays a path of global states (canonical up to the last) from its
  // first state, filling trace_.steps; `last_ok` decides the final step.
  template <class Accept>
  bool replay(const std::vector<std::vector<uint8_t>>& path, int64_t r_start, const std::vector<int>& preds,
              Accept&& last_ok, std::vector<uint8_t>* final_state);
  TraceStep capture_step(const uint8_t* X, const uint8_t* Y, int64_t r, const uint32_t* ids, const uint64_t* ho);
  void start_trace(const uint8_t* X0);
  std::vector<std::vector<uint8_t>> bfs_path(uint32_t idx) const;
  void report_progress(uint64_t frontier, int depth, bool force);

  const psync_protocol_desc& desc_;
  CheckOptions o_;
  ProgressFn progress_;
  void* user_;
  Proto P_;
  int n_ = 0;
  size_t ss_ = 0, gs_ = 0, obx_ = 0;

  // Expansion scratch.
  std::vector<SendAlts> sends_;
  std::vector<uint32_t> alt_;          // current send alternative per process
  std::vector<const uint8_t*> post_, outbox_;
  std::vector<uint64_t> senders_to_;   // S_i
  std::vector<const Local*> lp_;       // process i's local successors (cached)
  Local* building_ = nullptr;
  LocalCache cache_;
  std::vector<uint8_t> scratch_, mbox_, Y_, C_, key_;
  std::vector<uint64_t> seen_bits_, kv_;
  std::unordered_set<uint64_t> seen_big_;

  std::unique_ptr<StateStore> store_;   // global states (round + process ids)
  std::unique_ptr<StateStore> procs_;   // process states, interned
  std::vector<uint32_t> parent_;
  std::vector<std::unique_ptr<StateStore>> memo_;  // liveness: [spec * K + k]
  std::vector<int> memo_base_;

  CheckResult res_;
  Trace& trace_ = res_.trace;
  Clock::time_point start_, last_progress_;
};

// ---- Sends --------------------------------------------------------------------

void Explorer::compute_sends(const uint8_t* X, int64_t r) {
  const psync_round_desc& rd = P_.round_of(r);
  size_t msz = P_.msg_size(r);
  obx_ = 8 + static_cast<size_t>(n_) * msz;
  size_t unit = ss_ + obx_;
  Chooser& ch = P_.chooser;
  for (int i = 0; i < n_; ++i) {
    SendAlts& sa = sends_[i];
    sa.count = 0;
    sa.choices.clear();
    const uint8_t* Xi = proc(X, i);
    if (sa.buf.size() < unit) sa.buf.resize(unit);
    if (is_halted(Xi)) {  // halted processes stay put and send nothing
      std::memcpy(sa.buf.data(), Xi, ss_);
      std::memset(sa.buf.data() + ss_, 0, obx_);
      sa.count = 1;
      sa.choices.emplace_back();
      continue;
    }
    psync_env env = P_.env(i, r);
    ch.begin_exhaustive();
    do {
      if (sa.buf.size() < (sa.count + 1) * unit) sa.buf.resize((sa.count + 1) * unit);
      uint8_t* st = sa.buf.data() + sa.count * unit;
      std::memcpy(st, Xi, ss_);
      std::memset(st + ss_, 0, obx_);
      rd.send(st, &env, st + ss_);
      uint64_t presence = load_word(st + ss_, 0);
      if (n_ < 64) presence &= (uint64_t{1} << n_) - 1;
      std::memcpy(st + ss_, &presence, 8);
      bool dup = false;
      for (uint32_t a = 0; a < sa.count && !dup; ++a)
        dup = std::memcmp(sa.buf.data() + a * unit, st, unit) == 0;
      if (!dup) {
        sa.choices.emplace_back(ch.script.begin(), ch.script.begin() + static_cast<long>(ch.pos));
        ++sa.count;
      }
    } while (ch.advance());
  }
}

// ---- Local successors ----------------------------------------------------------

uint32_t Explorer::add_local(const uint8_t* st, uint64_t mask) {
  Local& L = *building_;
  uint32_t id = procs_->insert(st).first;
  for (uint32_t k = 0; k < L.count; ++k)
    if (L.ids[k] == id) return k;
  L.ids.push_back(id);
  L.masks.push_back(mask);
  L.conflict.push_back(has_conflict(st) || P_.chooser.conflict_seen ? 1 : 0);
  const Chooser& ch = P_.chooser;
  L.choice_pool.insert(L.choice_pool.end(), ch.script.begin(), ch.script.begin() + static_cast<long>(ch.pos));
  L.choice_off.push_back(static_cast<uint32_t>(L.choice_pool.size()));
  return L.count++;
}

// Runs process i's update (or receive/finish) on every mailbox its senders
// allow, in Gray-code order so each step changes one slot.
void Explorer::compute_local(int i, const uint8_t* post, int64_t r, bool table) {
  Local& L = *building_;
  L.clear();
  const psync_round_desc& rd = P_.round_of(r);
  size_t msz = P_.msg_size(r);
  bool event = (rd.flags & PSYNC_ROUND_EVENT) != 0;
  uint64_t S = senders_to_[i];
  size_t full = size_t{1} << n_;
  if (table) {
    L.tab_begin.assign(full, 0);
    L.tab_len.assign(full, 0);
  }
  if (is_halted(post)) {
    P_.chooser.begin_exhaustive();
    add_local(post, 0);
    if (table)
      for (size_t m = 0; m < full; ++m) { L.tab_begin[m] = 0; L.tab_len[m] = 1; }
    if (table) L.tab_ids.push_back(0);
    return;
  }
  int bits[PSYNC_MAX_N];
  int cnt = 0;
  for (int j = 0; j < n_; ++j)
    if (S >> j & 1) bits[cnt++] = j;
  std::memset(mbox_.data(), 0, 8 + static_cast<size_t>(n_) * msz);
  psync_env env = P_.env(i, r);
  Chooser& ch = P_.chooser;
  uint64_t m = 0;
  for (uint64_t k = 0;; ++k) {
    if (k) {
      int j = bits[std::countr_zero(k)];
      m ^= uint64_t{1} << j;
      uint8_t* slot = mbox_.data() + 8 + static_cast<size_t>(j) * msz;
      if (m >> j & 1)
        std::memcpy(slot, outbox_[j] + 8 + static_cast<size_t>(i) * msz, msz);
      else
        std::memset(slot, 0, msz);
      std::memcpy(mbox_.data(), &m, 8);
    }
    uint32_t tb = static_cast<uint32_t>(L.tab_ids.size());
    ch.begin_exhaustive();
    do {
      ch.conflict_seen = false;
      std::memcpy(scratch_.data(), post, ss_);
      if (event) {
        int32_t go = 0;
        for (uint64_t rest = m; rest && !go; rest &= rest - 1) {
          int j = std::countr_zero(rest);
          go = rd.receive(scratch_.data(), &env, j, outbox_[j] + 8 + static_cast<size_t>(i) * msz);
        }
        rd.finish(scratch_.data(), &env, go ? 0 : (std::popcount(m) < n_ ? 1 : 0));
      } else {
        rd.update(scratch_.data(), &env, mbox_.data());
      }
      uint32_t id = add_local(scratch_.data(), m);
      if (table && std::find(L.tab_ids.begin() + tb, L.tab_ids.end(), id) == L.tab_ids.end())
        L.tab_ids.push_back(id);
    } while (ch.advance());
    if (table) {
      L.tab_begin[m] = tb;
      L.tab_len[m] = static_cast<uint32_t>(L.tab_ids.size()) - tb;
    }
    if (k + 1 == (uint64_t{1} << cnt)) break;
  }
}

void Explorer::local_for(int i, int64_t r, bool table) {
  size_t msz = P_.msg_size(r);
  uint64_t S = senders_to_[i];
  int64_t rk = stored_round(r);
  key_.clear();
  auto put = [&](const void* p, size_t len) {
    const auto* b = static_cast<const uint8_t*>(p);
    key_.insert(key_.end(), b, b + len);
  };
  int32_t who = i;
  uint8_t tab = table ? 1 : 0;
  put(&who, sizeof who);
  put(&tab, 1);
  put(&rk, 8);
  put(&S, 8);
  put(post_[i], ss_);
  for (uint64_t rest = S; rest; rest &= rest - 1)
    put(outbox_[std::countr_zero(rest)] + 8 + static_cast<size_t>(i) * msz, msz);
  auto [entry, fresh] = cache_.find_or_add(key_);
  if (fresh) {
    building_ = entry;
    compute_local(i, post_[i], r, table);
    cache_.account(*entry);
  }
  lp_[i] = entry;
}

// ---- Global successors ---------------------------------------------------------

// Calls emit(Y, ids, ho) once for each distinct successor Y of X in round r:
// ids[i] is the local successor process i took, ho the HO vector (only under
// predicates). emit returns false to stop the enumeration.
//
// Unrestricted, the successors are the product of the local successor sets.
// Under predicates (assume specs, liveness windows), a global assignment
// ho[0..n-1] is admissible iff every predicate holds of (X, ho); process i
// then takes a local successor of mailbox ho[i] & S_i. We enumerate every
// assignment, so the result is exactly the set of successors reachable by an
// admissible assignment: sound and complete, at 2^(n*n) predicate calls.
template <class F>
void Explorer::expand(const uint8_t* X, int64_t r, const std::vector<int>& preds, F&& emit) {
  if (cache_.bytes() > kCacheBudget) cache_.clear();  // only here: lp_ points into it
  compute_sends(X, r);
  bool restricted = !preds.empty();
  size_t unit = ss_ + obx_;
  std::fill(alt_.begin(), alt_.end(), 0);
  int32_t next_round = static_cast<int32_t>(stored_round(r + 1));
  const void* xp[PSYNC_MAX_N];
  ptrs(X, xp);
  for (;;) {
    for (int i = 0; i < n_; ++i) {
      post_[i] = sends_[i].buf.data() + alt_[i] * unit;
      outbox_[i] = post_[i] + ss_;
    }
    for (int i = 0; i < n_; ++i) {
      uint64_t s = 0;
      for (int j = 0; j < n_; ++j) s |= (load_word(outbox_[j], 0) >> i & 1) << j;
      senders_to_[i] = s;
    }
    for (int i = 0; i < n_; ++i) local_for(i, r, restricted);

    std::memcpy(Y_.data(), &next_round, 4);
    uint32_t ids[PSYNC_MAX_N];
    auto set_block = [&](int i, uint32_t id) {
      ids[i] = id;
      std::memcpy(Y_.data() + 4 + 4 * static_cast<size_t>(i), &lp_[i]->ids[id], 4);
    };
    bool stop = false;
    if (!restricted) {
      for (int i = 0; i < n_; ++i) set_block(i, 0);
      while (!stop) {
        if (!emit(Y_.data(), ids, static_cast<const uint64_t*>(nullptr))) { stop = true; break; }
        int i = n_ - 1;
        for (; i >= 0; --i) {
          if (ids[i] + 1 < lp_[i]->count) { set_block(i, ids[i] + 1); break; }
          set_block(i, 0);
        }
        if (i < 0) break;
      }
    } else {
      // Distinct tuples of local ids, as mixed-radix numbers.
      uint64_t stride[PSYNC_MAX_N];
      uint64_t total = 1;
      bool huge = false;
      for (int i = n_ - 1; i >= 0; --i) {
        stride[i] = total;
        if (total > (uint64_t{1} << 40) / std::max<uint32_t>(1, lp_[i]->count)) huge = true;
        total *= lp_[i]->count;
      }
      bool bitmap = !huge && total <= (uint64_t{1} << 24);
      if (bitmap) seen_bits_.assign((total + 63) / 64, 0);
      seen_big_.clear();
      auto seen = [&](uint64_t key) {
        return bitmap ? (seen_bits_[key >> 6] >> (key & 63) & 1) != 0 : seen_big_.count(key) != 0;
      };
      auto mark = [&](uint64_t key) {
        if (bitmap) seen_bits_[key >> 6] |= uint64_t{1} << (key & 63);
        else seen_big_.insert(key);
      };
      psync_env env = P_.env(0, r);
      uint64_t ho[PSYNC_MAX_N] = {};
      uint64_t full = uint64_t{1} << n_;
      auto admissible = [&]() {
        for (int s : preds)
          if (!desc_.specs[s].pred(xp, ho, &env)) return false;
        return true;
      };
      bool single = true;  // every mailbox leads to one local successor (no coins)
      for (int i = 0; i < n_ && single; ++i)
        for (uint64_t m = 0; m < full && single; ++m)
          single = (m & ~senders_to_[i]) || lp_[i]->tab_len[m] == 1;
      if (single) {
        // The fast path: key(ho) = sum of kv[i][ho[i]], kept as prefix sums,
        // and an assignment whose successor is known skips the predicates.
        kv_.resize(static_cast<size_t>(n_) * full);
        for (int i = 0; i < n_; ++i) {
          const Local& L = *lp_[i];
          for (uint64_t m = 0; m < full; ++m)
            kv_[static_cast<size_t>(i) * full + m] = L.tab_ids[L.tab_begin[m & senders_to_[i]]] * stride[i];
        }
        uint64_t partial[PSYNC_MAX_N + 1] = {};
        const uint64_t* last = kv_.data() + static_cast<size_t>(n_ - 1) * full;
        for (;;) {
          for (int i = 0; i + 1 < n_; ++i) partial[i + 1] = partial[i] + kv_[static_cast<size_t>(i) * full + ho[i]];
          uint64_t base = partial[n_ - 1];
          for (uint64_t h = 0; h < full; ++h) {
            uint64_t key = base + last[h];
            if (seen(key)) continue;
            ho[n_ - 1] = h;
            if (!admissible()) continue;
            mark(key);
            for (int i = 0; i < n_; ++i) {
              const Local& L = *lp_[i];
              set_block(i, L.tab_ids[L.tab_begin[ho[i] & senders_to_[i]]]);
            }
            if (!emit(Y_.data(), ids, static_cast<const uint64_t*>(ho))) { stop = true; break; }
          }
          ho[n_ - 1] = 0;
          if (stop) break;
          int i = n_ - 2;
          for (; i >= 0; --i) {
            if (++ho[i] < full) break;
            ho[i] = 0;
          }
          if (i < 0) break;
        }
      }
      uint32_t pick[PSYNC_MAX_N];
      while (!single && !stop) {
        // Tuples this assignment leads to (a product when coins branch).
        auto for_tuples = [&](auto&& fn) {
          for (int i = 0; i < n_; ++i) pick[i] = 0;
          for (;;) {
            uint64_t key = 0;
            for (int i = 0; i < n_; ++i) {
              const Local& L = *lp_[i];
              key += L.tab_ids[L.tab_begin[ho[i] & senders_to_[i]] + pick[i]] * stride[i];
            }
            if (!fn(key)) return false;
            int i = n_ - 1;
            for (; i >= 0; --i) {
              const Local& L = *lp_[i];
              if (pick[i] + 1 < L.tab_len[ho[i] & senders_to_[i]]) { ++pick[i]; break; }
              pick[i] = 0;
            }
            if (i < 0) return true;
          }
        };
        bool all_seen = for_tuples([&](uint64_t key) { return seen(key); });
        if (!all_seen && admissible()) {
          for_tuples([&](uint64_t key) {
            if (seen(key)) return true;
            mark(key);
            for (int i = 0; i < n_; ++i) {
              const Local& L = *lp_[i];
              set_block(i, L.tab_ids[L.tab_begin[ho[i] & senders_to_[i]] + pick[i]]);
            }
            if (!emit(Y_.data(), ids, static_cast<const uint64_t*>(ho))) { stop = true; return false; }
            return true;
          });
        }
        int i = n_ - 1;
        for (; i >= 0; --i) {
          if (++ho[i] < full) break;
          ho[i] = 0;
        }
        if (i < 0) break;
      }
    }
    if (stop) return;
    // Next combination of send alternatives.
    int i = n_ - 1;
    for (; i >= 0; --i) {
      if (alt_[i] + 1 < sends_[i].count) { ++alt_[i]; break; }
      alt_[i] = 0;
    }
    if (i < 0) return;
  }
}

// Under symmetry, the canonical form of a global state lists its process
// states' ids in increasing order: one representative per permutation orbit.
void Explorer::canonicalise(const uint8_t* Y, uint8_t* C) const {
  std::memcpy(C, Y, gs_);
  if (!o_.symmetry) return;
  uint32_t ids[PSYNC_MAX_N];
  std::memcpy(ids, Y + 4, 4 * static_cast<size_t>(n_));
  for (int i = 1; i < n_; ++i) {  // insertion sort: n is small
    uint32_t v = ids[i];
    int j = i - 1;
    while (j >= 0 && ids[j] > v) { ids[j + 1] = ids[j]; --j; }
    ids[j + 1] = v;
  }
  std::memcpy(C + 4, ids, 4 * static_cast<size_t>(n_));
}

// A sampled guard on the caller's symmetry claim: the canonical successors
// of X and of X with its processes in reverse order must be the same set,
// and the invariants must agree on both. It cannot prove symmetry, but it
// catches a protocol that reads `me` or a pid-valued variable.
bool Explorer::symmetric_at(const uint8_t* X, int64_t r) {
  std::vector<uint8_t> rev(X, X + gs_);
  for (int i = 0; i < n_; ++i) {
    uint32_t id = id_of(X, n_ - 1 - i);
    std::memcpy(rev.data() + 4 + 4 * static_cast<size_t>(i), &id, 4);
  }
  auto successors = [&](const uint8_t* G) {
    std::vector<std::string> out;
    std::vector<uint8_t> c(gs_);
    expand(G, r, P_.assumes, [&](const uint8_t* Y, const uint32_t*, const uint64_t*) {
      canonicalise(Y, c.data());
      out.emplace_back(reinterpret_cast<const char*>(c.data()), gs_);
      return true;
    });
    std::sort(out.begin(), out.end());
    return out;
  };
  return failing_invariant(X, r) == failing_invariant(rev.data(), r) && successors(X) == successors(rev.data());
}

// ---- Specs ----------------------------------------------------------------------

int Explorer::failing_invariant(const uint8_t* Y, int64_t r) {
  const void* yp[PSYNC_MAX_N];
  ptrs(Y, yp);
  psync_env env = P_.env(0, r);
  for (int s : P_.invariants)
    if (!desc_.specs[s].eval(yp, &env)) return s;
  return -1;
}

int Explorer::failing_property(const uint8_t* X, const uint8_t* Y, int64_t r) {
  if (P_.properties.empty()) return -1;
  const void* xp[PSYNC_MAX_N];
  const void* yp[PSYNC_MAX_N];
  ptrs(X, xp);
  ptrs(Y, yp);
  psync_env env = P_.env(0, r);
  for (int s : P_.properties)
    if (!desc_.specs[s].eval2(xp, yp, &env)) return s;
  return -1;
}

bool Explorer::conflict_in(const uint8_t* Y) const {
  for (int i = 0; i < n_; ++i)
    if (has_conflict(proc(Y, i))) return true;
  return false;
}

// Does every window of k rounds from X (at round r) whose HO vectors satisfy
// the spec's predicate (and every assume) end in a state satisfying its goal?
// On failure, `path` receives the states of one bad window, X excluded.
bool Explorer::liveness_holds(const uint8_t* X, int64_t r, int k, int spec,
                              std::vector<std::vector<uint8_t>>* path) {
  const psync_spec_desc& sp = desc_.specs[spec];
  if (k == 0) {
    const void* xp[PSYNC_MAX_N];
    ptrs(X, xp);
    psync_env env = P_.env(0, r);
    return sp.eval(xp, &env) != 0;
  }
  StateStore* memo = nullptr;
  std::vector<uint8_t> key(gs_);
  if (static_cast<uint32_t>(k) < sp.after_rounds) {
    memo = memo_[static_cast<size_t>(memo_base_[static_cast<size_t>(spec)] + k)].get();
    canonicalise(X, key.data());
    if (memo->contains(key.data())) return true;
  }
  std::vector<int> preds = P_.assumes;
  preds.push_back(spec);
  std::vector<uint8_t> succ;
  size_t count = 0;
  expand(X, r, preds, [&](const uint8_t* Y, const uint32_t*, const uint64_t*) {
    succ.insert(succ.end(), Y, Y + gs_);
    ++count;
    return true;
  });
  for (size_t t = 0; t < count; ++t) {
    const uint8_t* Y = succ.data() + t * gs_;
    if (!liveness_holds(Y, r + 1, k - 1, spec, path)) {
      if (path) path->insert(path->begin(), std::vector<uint8_t>(Y, Y + gs_));
      return false;
    }
  }
  if (memo) memo->insert(key.data());
  return true;
}

// ---- Counterexamples ---------------------------------------------------------------

TraceStep Explorer::capture_step(const uint8_t* X, const uint8_t* Y, int64_t r, const uint32_t* ids,
                                 const uint64_t* ho) {
  TraceStep st;
  st.round = r;
  const psync_round_desc& rd = P_.round_of(r);
  st.round_name = rd.name ? rd.name : "";
  size_t msz = P_.msg_size(r);
  for (int i = 0; i < n_; ++i) {
    const Local& L = *lp_[i];
    uint64_t mask = ho ? (ho[i] & senders_to_[i]) : L.masks[ids[i]];
    if (is_halted(proc(X, i))) mask = 0;
    st.ho.push_back(ho ? ho[i] : mask);
    // Outcomes of coin()/random(): those of send, then those of the update.
    std::string c;
    const auto& sc = sends_[i].choices[alt_[i]];
    if (!sc.empty()) c += "send " + format_words(sc);
    if (L.choice_off[ids[i] + 1] > L.choice_off[ids[i]]) {
      std::vector<int64_t> uc(L.choice_pool.begin() + L.choice_off[ids[i]],
                              L.choice_pool.begin() + L.choice_off[ids[i] + 1]);
      c += std::string(c.empty() ? "" : ", ") + "update " + format_words(uc);
    }
    st.choices.push_back(c);
    st.after.push_back(P_.describe(proc(Y, i), i, r + 1));
  }
  for (int j = 0; j < n_; ++j) {
    uint64_t to = static_cast<uint64_t>(load_word(outbox_[j], 0));
    for (int i = 0; i < n_; ++i) {
      if (!(to >> i & 1)) continue;
      TraceMessage m;
      m.from = j;
      m.to = i;
      uint64_t mask = ho ? (ho[i] & senders_to_[i]) : lp_[i]->masks[ids[i]];
      if (is_halted(proc(X, i))) mask = 0;
      m.delivered = (mask >> j & 1) != 0;
      const uint8_t* slot = outbox_[j] + 8 + static_cast<size_t>(i) * msz;
      for (size_t w = 0; w + 8 <= msz; w += 8) m.words.push_back(load_word(slot, w));
      st.messages.push_back(std::move(m));
    }
  }
  return st;
}

void Explorer::start_trace(const uint8_t* X0) {
  trace_.protocol = desc_.name ? desc_.name : "";
  trace_.n = n_;
  trace_.initial.clear();
  trace_.inputs.clear();
  trace_.steps.clear();
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(X0, i);
    trace_.initial.push_back(P_.describe(s, i, 0));
    std::vector<int64_t> in;
    for (uint32_t k = 0; k < desc_.num_inputs; ++k) in.push_back(load_word(s, desc_.inputs[k].offset));
    trace_.inputs.push_back(std::move(in));
  }
}

std::vector<std::vector<uint8_t>> Explorer::bfs_path(uint32_t idx) const {
  std::vector<std::vector<uint8_t>> path;
  for (uint32_t i = idx; i != kNoParent; i = parent_[i])
    path.insert(path.begin(), std::vector<uint8_t>(store_->at(i), store_->at(i) + gs_));
  return path;
}

// path[0] is a concrete state at round r_start (an initial state when
// r_start is 0, which also restarts the trace); path[1..] are canonical forms. Each
// step finds a successor of the current concrete state with the next
// canonical form (under symmetry the orbit is all that the BFS kept), and
// the last step must also satisfy last_ok (it reproduces the violation).
template <class Accept>
bool Explorer::replay(const std::vector<std::vector<uint8_t>>& path, int64_t r_start,
                      const std::vector<int>& preds, Accept&& last_ok, std::vector<uint8_t>* final_state) {
  std::vector<uint8_t> X = path[0];
  std::vector<uint8_t> canon(gs_);
  if (r_start == 0) start_trace(X.data());
  for (size_t t = 1; t < path.size(); ++t) {
    int64_t r = r_start + static_cast<int64_t>(t) - 1;
    bool last = t + 1 == path.size();
    bool found = false;
    std::vector<uint8_t> next;
    TraceStep step;
    expand(X.data(), r, preds, [&](const uint8_t* Y, const uint32_t* ids, const uint64_t* ho) {
      canonicalise(Y, canon.data());
      if (std::memcmp(canon.data(), path[t].data(), gs_) != 0) return true;
      if (last && !last_ok(X.data(), Y, r)) return true;
      step = capture_step(X.data(), Y, r, ids, ho);
      next.assign(Y, Y + gs_);
      found = true;
      return false;
    });
    if (!found) return false;
    trace_.steps.push_back(std::move(step));
    X.swap(next);
  }
  if (final_state) *final_state = X;
  return true;
}

void Explorer::report_progress(uint64_t frontier, int depth, bool force) {
  if (!progress_) return;
  auto now = Clock::now();
  if (!force && now - last_progress_ < std::chrono::milliseconds(500)) return;
  last_progress_ = now;
  Progress p{store_->size(), frontier, res_.stats.transitions, depth,
             std::chrono::duration<double>(now - start_).count()};
  progress_(p, user_);
}

// ---- The search -----------------------------------------------------------------------

CheckResult Explorer::run() {
  start_ = last_progress_ = Clock::now();
  std::string err = P_.setup(desc_, o_.n, o_.consts);
  auto fail = [&](std::string msg) {
    res_.verdict = Verdict::kError;
    res_.error = std::move(msg);
    return res_;
  };
  if (!err.empty()) return fail(err);
  n_ = o_.n;
  if (n_ > 20) return fail("exhaustive checking supports n <= 20 (2^n mailboxes per process)");
  if (o_.values_lo > o_.values_hi) return fail("empty value range");
  ss_ = P_.ss;
  gs_ = 4 + 4 * static_cast<size_t>(n_);
  size_t max_msz = *std::max_element(P_.msz.begin(), P_.msz.end());
  bool need_live = o_.liveness && !P_.liveness.empty();
  if (!P_.assumes.empty() && n_ * n_ > 25)
    return fail("`assume` specs need 2^(n*n) HO assignments per state; n <= 5 is supported");
  if (need_live && n_ * n_ > std::min(o_.liveness_max_ho_bits, 30)) need_live = false;  // run_check says so
  sends_.resize(static_cast<size_t>(n_));
  alt_.assign(static_cast<size_t>(n_), 0);
  post_.resize(static_cast<size_t>(n_));
  outbox_.resize(static_cast<size_t>(n_));
  senders_to_.resize(static_cast<size_t>(n_));
  lp_.assign(static_cast<size_t>(n_), nullptr);
  scratch_.resize(ss_);
  mbox_.resize(8 + static_cast<size_t>(n_) * max_msz);
  Y_.resize(gs_);
  C_.resize(gs_);
  store_ = std::make_unique<StateStore>(gs_);
  procs_ = std::make_unique<StateStore>(ss_);
  cache_.clear();
  uint64_t max_states = o_.max_states ? o_.max_states : 50'000'000;
  max_states = std::min<uint64_t>(max_states, UINT32_MAX - 1);
  int bound = o_.rounds >= 0 ? o_.rounds
              : o_.cyclic_rounds ? INT_MAX
                                 : std::max(8, 3 * static_cast<int>(desc_.num_rounds));
  CheckStats& stats = res_.stats;
  stats.bound = bound == INT_MAX ? -1 : bound;
  if (need_live) {
    memo_base_.assign(desc_.num_specs, 0);
    for (int s : P_.liveness) {
      memo_base_[static_cast<size_t>(s)] = static_cast<int>(memo_.size());
      for (uint32_t k = 0; k <= desc_.specs[s].after_rounds; ++k)
        memo_.push_back(std::make_unique<StateStore>(gs_));
    }
  }

  // Violations found so far: a safety one ends the search; a liveness one
  // is kept while a shorter safety violation may still turn up.
  struct Found {
    bool any = false;
    int spec = -1;             // -1: decide conflict
    uint32_t parent = kNoParent;
    std::vector<uint8_t> state;  // the violating successor (or initial state)
    int64_t length = 0;
  } safety, live, conflict;

  // ---- Initial states: every input combination, every init coin outcome.
  {
    std::vector<std::pair<int64_t, int64_t>> dom;
    for (int i = 0; i < n_; ++i)
      for (uint32_t k = 0; k < desc_.num_inputs; ++k) {
        uint32_t kind = desc_.inputs[k].kind;
        if (kind == PSYNC_KIND_BOOL) dom.emplace_back(0, 1);
        else if (kind == PSYNC_KIND_PID) dom.emplace_back(0, n_ - 1);
        else dom.emplace_back(o_.values_lo, o_.values_hi);
      }
    std::vector<int64_t> val(dom.size());
    for (size_t k = 0; k < dom.size(); ++k) val[k] = dom[k].first;
    std::vector<std::vector<uint32_t>> alts(static_cast<size_t>(n_));  // interned ids
    std::vector<uint32_t> pick(static_cast<size_t>(n_));
    bool more = true;
    while (more && !safety.any) {
      for (int i = 0; i < n_; ++i) {
        auto& a = alts[static_cast<size_t>(i)];
        a.clear();
        psync_env env = P_.env(i, 0);
        const int64_t* in = val.data() + static_cast<size_t>(i) * desc_.num_inputs;
        P_.chooser.begin_exhaustive();
        do {
          std::memset(scratch_.data(), 0, ss_);
          desc_.init(scratch_.data(), &env, in);
          uint32_t id = procs_->insert(scratch_.data()).first;
          if (std::find(a.begin(), a.end(), id) == a.end()) a.push_back(id);
        } while (P_.chooser.advance());
      }
      std::fill(pick.begin(), pick.end(), 0);
      int32_t r0 = 0;
      std::memcpy(Y_.data(), &r0, 4);
      for (;;) {
        for (int i = 0; i < n_; ++i)
          std::memcpy(Y_.data() + 4 + 4 * static_cast<size_t>(i),
                      &alts[static_cast<size_t>(i)][pick[static_cast<size_t>(i)]], 4);
        canonicalise(Y_.data(), C_.data());
        auto [idx, fresh] = store_->insert(C_.data());
        if (fresh) {
          parent_.push_back(kNoParent);
          int bad = failing_invariant(C_.data(), 0);
          if (bad >= 0 || conflict_in(C_.data())) {
            safety = {true, bad, kNoParent, std::vector<uint8_t>(C_.begin(), C_.end()), 0};
            break;
          }
        }
        int i = n_ - 1;
        for (; i >= 0; --i) {
          auto& p = pick[static_cast<size_t>(i)];
          if (p + 1 < alts[static_cast<size_t>(i)].size()) { ++p; break; }
          p = 0;
        }
        if (i < 0) break;
      }
      size_t k = dom.size();
      while (k > 0) {
        --k;
        if (val[k] < dom[k].second) { ++val[k]; break; }
        val[k] = dom[k].first;
        if (k == 0) more = false;
      }
      if (dom.empty()) more = false;
      if (store_->size() > max_states) return fail("too many initial states");
    }
    stats.initial_states = store_->size();
  }

  // ---- Breadth-first, one layer per round.
  uint32_t begin = 0, end = store_->size();
  int depth = 0;
  bool incomplete = false;
  uint32_t expanding = 0;
  uint64_t symmetry_samples = 0;
  for (; !safety.any; ++depth) {
    for (uint32_t idx = begin; idx < end && !safety.any && !incomplete; ++idx) {
      if (live.any && depth + 1 >= live.length) break;
      const uint8_t* X = store_->at(idx);
      bool window_starts = o_.liveness_every_round || depth % static_cast<int>(desc_.num_rounds) == 0;
      if (need_live && !live.any && window_starts) {
        for (int s : P_.liveness) {
          ++stats.liveness_checks;
          if (!liveness_holds(X, depth, static_cast<int>(desc_.specs[s].after_rounds), s, nullptr)) {
            live = {true, s, idx, {}, depth + static_cast<int64_t>(desc_.specs[s].after_rounds)};
            break;
          }
        }
        if (live.any && depth + 1 >= live.length) break;
      }
      if (depth >= bound) continue;
      if (o_.symmetry && n_ > 1 && (symmetry_samples < 64 || idx % 4096 == 0)) {
        ++symmetry_samples;
        if (!symmetric_at(X, depth))
          return fail("--symmetry is unsound for this protocol: a state and its permutation have different "
                      "successors or invariant values (does it read `me` or a pid?); check without symmetry");
      }
      expanding = idx;  // X stays put: the store's chunks never move
      expand(X, depth, P_.assumes, [&](const uint8_t* Y, const uint32_t*, const uint64_t*) {
        ++stats.transitions;
        int bad = failing_property(X, Y, depth);
        if (bad < 0 && conflict_in(Y)) bad = failing_invariant(Y, depth + 1);
        if (bad >= 0) {
          safety = {true, bad, expanding, std::vector<uint8_t>(Y, Y + gs_), depth + 1};
          return false;
        }
        if (conflict_in(Y)) {
          // A decide conflict is a violation too, but at equal length a
          // violated spec of the user's is the better report: keep looking
          // in this layer, and do not explore past the conflict.
          if (!conflict.any) conflict = {true, -1, expanding, std::vector<uint8_t>(Y, Y + gs_), depth + 1};
          return true;
        }
        canonicalise(Y, C_.data());
        auto [id, fresh] = store_->insert(C_.data());
        if (fresh) {
          parent_.push_back(expanding);
          bad = failing_invariant(C_.data(), depth + 1);
          if (bad >= 0) {
            safety = {true, bad, expanding, std::vector<uint8_t>(Y, Y + gs_), depth + 1};
            return false;
          }
          if (store_->size() >= max_states) { incomplete = true; return false; }
        }
        return true;
      });
      if (P_.chooser.too_wide) return fail("random(k) with k > 65536 cannot be explored exhaustively");
      if ((idx & 255) == 0) report_progress(end - idx, depth, false);
    }
    if (!safety.any && conflict.any) safety = conflict;
    if (safety.any || incomplete) break;
    if (live.any && depth + 1 >= live.length) break;
    if (depth >= bound) break;
    if (store_->size() == end) {  // nothing new: the reachable set is closed
      stats.exhausted = true;
      break;
    }
    begin = end;
    end = store_->size();
  }
  report_progress(0, depth, true);

  stats.states = store_->size();
  stats.depth = safety.any ? static_cast<int>(safety.length) : std::min(depth, bound);
  stats.store_bytes = store_->bytes() + procs_->bytes() + parent_.capacity() * sizeof(uint32_t);
  for (auto& m : memo_) stats.store_bytes += m->bytes();
  stats.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  stats.peak_rss_bytes = peak_rss_bytes();

  if (incomplete && !safety.any && !live.any) {
    res_.verdict = Verdict::kIncomplete;
    return res_;
  }
  if (!safety.any && !live.any) return res_;

  // ---- Rebuild a concrete shortest counterexample.
  res_.verdict = Verdict::kViolation;
  bool use_safety = safety.any && (!live.any || safety.length <= live.length);
  if (use_safety) {
    const Found& f = safety;
    std::string name = f.spec >= 0 && desc_.specs[f.spec].name ? desc_.specs[f.spec].name : "conflict";
    trace_.spec = f.spec >= 0 ? name : "conflict";
    trace_.spec_kind = f.spec >= 0 ? spec_kind_name(desc_.specs[f.spec].kind) : "conflict";
    if (f.parent == kNoParent) {  // an initial state
      start_trace(f.state.data());
    } else {
      auto path = bfs_path(f.parent);
      std::vector<uint8_t> target(gs_);
      canonicalise(f.state.data(), target.data());
      path.push_back(target);
      int spec = f.spec;
      bool ok = replay(path, 0, P_.assumes, [&](const uint8_t* X, const uint8_t* Y, int64_t r) {
        if (spec < 0) return conflict_in(Y);
        if (desc_.specs[spec].kind == PSYNC_SPEC_PROPERTY) return failing_property(X, Y, r) == spec;
        return failing_invariant(Y, r + 1) == spec;
      }, nullptr);
      if (!ok) return fail("internal error: could not replay the counterexample (is --symmetry sound here?)");
    }
    int64_t len = static_cast<int64_t>(trace_.steps.size());
    if (f.spec < 0)
      trace_.detail = "a process decided two different values in round " + std::to_string(len - 1);
    else if (trace_.spec_kind == "property")
      trace_.detail = "property " + name + " is false across round " + std::to_string(len - 1);
    else
      trace_.detail = "invariant " + name + " is false " +
                      (len == 0 ? std::string("in an initial state") : "after " + std::to_string(len) + " round" + (len == 1 ? "" : "s"));
  } else {
    const Found& f = live;
    const psync_spec_desc& sp = desc_.specs[f.spec];
    std::string name = sp.name ? sp.name : "?";
    trace_.spec = name;
    trace_.spec_kind = "liveness";
    auto path = bfs_path(f.parent);
    std::vector<uint8_t> X;
    bool ok = replay(path, 0, P_.assumes, [](const uint8_t*, const uint8_t*, int64_t) { return true; }, &X);
    if (!ok) return fail("internal error: could not replay the counterexample prefix");
    int64_t r0 = static_cast<int64_t>(path.size()) - 1;
    trace_.liveness_from = static_cast<int>(trace_.steps.size());
    for (auto& m : memo_) m = std::make_unique<StateStore>(gs_);
    std::vector<std::vector<uint8_t>> window;
    if (liveness_holds(X.data(), r0, static_cast<int>(sp.after_rounds), f.spec, &window))
      return fail("internal error: liveness violation did not reproduce (is --symmetry sound here?)");
    // The window is concrete already: replay it exactly.
    std::vector<std::vector<uint8_t>> exact{X};
    exact.insert(exact.end(), window.begin(), window.end());
    std::vector<int> preds = P_.assumes;
    preds.push_back(f.spec);
    bool sym = o_.symmetry;
    o_.symmetry = false;  // match the window state for state
    // From round r0 > 0 replay() appends to the prefix; from 0 it restarts
    // the trace at the same initial state.
    ok = replay(exact, r0, preds, [](const uint8_t*, const uint8_t*, int64_t) { return true; }, nullptr);
    o_.symmetry = sym;
    if (!ok) return fail("internal error: could not replay the liveness window");
    trace_.detail = "liveness " + name + ": " + std::to_string(sp.after_rounds) + " round" +
                    (sp.after_rounds == 1 ? "" : "s") + " satisfying its predicate, from round " +
                    std::to_string(r0) + ", end with its goal false";
  }
  return res_;
}

}  // namespace detail

CheckResult explore(const psync_protocol_desc& desc, const CheckOptions& opts, ProgressFn progress,
                    void* user) {
  detail::Explorer ex(desc, opts, progress, user);
  return ex.run();
}

}  // namespace psync::check
