// parallel.cpp: the breadth-first search of search.cpp on several threads
// (`--threads N`), with the same verdict, figures and counterexample as on
// one: docs/checker.md, "Threads", gives the argument.
//
// Each level is expanded by N threads (the caller's and N-1 more), each an
// Explorer of its own (scratch buffers, local-successor memo, hooks) over
// the shared stores. States first found in the level go to a sharded table
// with the smallest position they were found at, (parent id, successor
// index); after the level they get their ids in that order, which is the
// order the one-thread loop gives them. Every event that ends or shapes the
// level (a violation, the state limit, a liveness failure) is resolved
// after it by the same order, so the threads' timing changes nothing.
#include "expand_state.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <thread>

namespace psync::check::detail {

namespace {

constexpr uint64_t kNever = UINT64_MAX;
// An event's place in the one-thread order: state idx of the level, then
// slot 0 (its liveness check), 1 (the symmetry guard), 2 + k (its k-th
// successor) or kSlotEnd (after its successors).
constexpr uint32_t kSlotLive = 0, kSlotSymmetry = 1, kSlotFirst = 2, kSlotEnd = UINT32_MAX;
uint64_t position(uint32_t idx, uint32_t slot) { return uint64_t{idx} << 32 | slot; }
uint32_t pos_idx(uint64_t p) { return static_cast<uint32_t>(p >> 32); }
uint32_t pos_slot(uint64_t p) { return static_cast<uint32_t>(p); }

void lower_to(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// The states first found in one level, keyed by their canonical form, each
// with the smallest position it was found at and the first invariant it
// violates (-1: none). 256 shards, each with its own lock.
class LevelTable {
 public:
  struct Entry {
    uint64_t pos;
    int32_t inv;
    uint32_t shard, index;
  };

  explicit LevelTable(size_t key_bytes) : kb_(key_bytes) {}

  // Records `key` (hash h) at position p. inv() names the invariant it
  // violates and is called outside the lock, only while the key is new to
  // the table; returns its result to the thread that inserted the key, -1
  // to the others.
  template <class F>
  int offer(const uint8_t* key, uint64_t h, uint64_t p, F&& inv) {
    Shard& sh = shards_[h >> 56];
    {
      std::lock_guard<std::mutex> lock(sh.mu);
      if (lower_if_found(sh, key, h, p)) return -1;
    }
    const int bad = inv();
    std::lock_guard<std::mutex> lock(sh.mu);
    if (lower_if_found(sh, key, h, p)) return -1;
    if ((sh.pos.size() + 1) * 2 > sh.slots.size()) grow(sh);
    const size_t mask = sh.slots.size() - 1;
    size_t at = h & mask;
    while (sh.slots[at]) at = (at + 1) & mask;
    sh.slots[at] = (h >> 32) << 32 | (sh.pos.size() + 1);
    sh.keys.insert(sh.keys.end(), key, key + kb_);
    sh.hashes.push_back(h);
    sh.pos.push_back(p);
    sh.inv.push_back(bad);
    return bad;
  }

  // Every entry, in position order (threads joined).
  std::vector<Entry> sorted() const {
    std::vector<Entry> out;
    for (uint32_t s = 0; s < kShards; ++s)
      for (uint32_t e = 0; e < shards_[s].pos.size(); ++e) out.push_back({shards_[s].pos[e], shards_[s].inv[e], s, e});
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.pos < b.pos; });
    return out;
  }
  const uint8_t* key(const Entry& e) const { return shards_[e.shard].keys.data() + size_t{e.index} * kb_; }
  uint64_t size() const {
    uint64_t n = 0;
    for (const Shard& sh : shards_) n += sh.pos.size();
    return n;
  }

 private:
  static constexpr uint32_t kShards = 256;
  struct Shard {
    std::mutex mu;
    std::vector<uint8_t> keys;
    std::vector<uint64_t> hashes, pos, slots;  // slot: (hash tag << 32) | (entry + 1), 0 = empty
    std::vector<int32_t> inv;
  };

  bool lower_if_found(Shard& sh, const uint8_t* key, uint64_t h, uint64_t p) const {
    if (sh.slots.empty()) return false;
    const size_t mask = sh.slots.size() - 1;
    for (size_t at = h & mask;; at = (at + 1) & mask) {
      const uint64_t slot = sh.slots[at];
      if (slot == 0) return false;
      const size_t e = static_cast<uint32_t>(slot) - 1;
      if ((slot >> 32) == (h >> 32) && std::memcmp(sh.keys.data() + e * kb_, key, kb_) == 0) {
        if (p < sh.pos[e]) sh.pos[e] = p;  // no write otherwise: the line stays shared
        return true;
      }
    }
  }
  static void grow(Shard& sh) {
    std::vector<uint64_t> bigger(std::max<size_t>(64, sh.slots.size() * 2), 0);
    const size_t mask = bigger.size() - 1;
    for (size_t e = 0; e < sh.pos.size(); ++e) {
      size_t at = sh.hashes[e] & mask;
      while (bigger[at]) at = (at + 1) & mask;
      bigger[at] = (sh.hashes[e] >> 32) << 32 | (e + 1);
    }
    sh.slots.swap(bigger);
  }

  size_t kb_;
  Shard shards_[kShards];
};

// What one thread found in a level: the first event of each kind, by position.
struct Finds {
  uint64_t safety = kNever;  // a property, or an invariant of a faulty successor
  int safety_spec = -1;
  std::vector<uint8_t> safety_state;  // canonical
  uint64_t fault = kNever;            // a decide conflict (1) or a range error (2)
  int fault_code = 0;
  std::vector<uint8_t> fault_state;   // canonical
  uint32_t live = UINT32_MAX;         // the state whose liveness window fails
  int live_spec = -1, live_rank = 0;  // the spec, and its place in live_specs
  uint32_t symmetry = UINT32_MAX;     // the symmetry guard failed there
  uint32_t too_wide = UINT32_MAX;     // random(k) too wide there
  std::string stopped;
};

}  // namespace

struct Explorer::Level {
  explicit Level(size_t gs) : table(gs) {}
  uint32_t begin = 0, end = 0, chunk = 1;
  int depth = 0, bound = 0;
  bool check_live = false;                  // liveness windows start at this level
  const std::vector<int>* live_specs = nullptr;
  std::atomic<uint32_t> next{0};
  std::atomic<uint64_t> prune{kNever};      // no state past this position can matter
  std::atomic<uint32_t> live_min{UINT32_MAX};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> transitions{0};     // for progress reports only
  std::vector<uint32_t> counts;             // successors emitted, per state of the level
  LevelTable table;
  std::vector<Finds> finds;                 // per thread
};

uint32_t Explorer::intern(const uint8_t* st) {
  const uint64_t h = hash_bytes(st, ss_);
  uint32_t& slot = intern_front_[h & (intern_front_.size() - 1)];
  if (slot != 0 && std::memcmp(procs_->at(slot - 1), st, ss_) == 0) return slot - 1;
  const uint32_t id = procs_->insert(st, h).first;
  slot = id + 1;
  return id;
}

// Scratch buffers sized for n_, ss_ and gs_.
void Explorer::init_scratch() {
  intern_front_.assign(4096, 0);
  sends_.resize(static_cast<size_t>(n_));
  alt_.assign(static_cast<size_t>(n_), 0);
  post_.resize(static_cast<size_t>(n_));
  outbox_.resize(static_cast<size_t>(n_));
  senders_to_.resize(static_cast<size_t>(n_));
  lp_.assign(static_cast<size_t>(n_), nullptr);
  scratch_.resize(ss_);
  Y_.resize(gs_);
  C_.resize(gs_);
}

// A worker thread's explorer: the lead's configuration and shared stores,
// its own hooks (Proto::chooser), scratch and local-successor memo.
void Explorer::init_worker(const Explorer& lead) {
  P_.setup(desc_, lead.n_, o_.consts);  // the lead validated it already
  P_.bytes_domain = lead.P_.bytes_domain;
  n_ = lead.n_;
  ss_ = lead.ss_;
  gs_ = lead.gs_;
  byz_ = lead.byz_;
  faulty_id_ = lead.faulty_id_;
  phases_ = lead.phases_;
  phase_words_ = lead.phase_words_;
  phase_D_ = lead.phase_D_;
  phase_L_ = lead.phase_L_;
  phase_B_ = lead.phase_B_;
  stale_fold_ = lead.stale_fold_;
  whole_ballots_ = lead.whole_ballots_;
  dead_ = lead.dead_;
  dead_words_ = lead.dead_words_;
  store_ = lead.store_;
  procs_ = lead.procs_;
  memo_ = lead.memo_;
  memo_base_ = lead.memo_base_;
  start_ = lead.start_;
  cache_budget_ = lead.cache_budget_;
  init_scratch();
  cache_.clear();
}

// One state of the level, as the one-thread loop treats it (expand_state.h),
// with what it finds recorded at its position instead of acted on.
void Explorer::expand_in_level(Level& L, uint32_t idx) {
  struct Recorder {
    Explorer& ex;
    Level& L;
    Finds& F;

    bool wants_liveness(uint32_t idx) const { return idx <= L.live_min.load(std::memory_order_relaxed); }
    void liveness_checked() {}  // counted after the level, up to its cut
    void liveness_fails(uint32_t idx, int spec, int rank) {
      if (idx < F.live) {
        F.live = idx;
        F.live_spec = spec;
        F.live_rank = rank;
      }
      uint32_t cur = L.live_min.load(std::memory_order_relaxed);
      while (idx < cur && !L.live_min.compare_exchange_weak(cur, idx, std::memory_order_relaxed)) {
      }
      // A window of at most one round: the one-thread loop stops the level here.
      if (ex.desc_.specs[spec].after_rounds <= 1) lower_to(L.prune, position(idx, kSlotLive));
    }
    bool liveness_ends(uint32_t idx) const { return F.live == idx && ex.desc_.specs[F.live_spec].after_rounds <= 1; }
    void symmetry_broken(uint32_t idx) {
      F.symmetry = std::min(F.symmetry, idx);
      lower_to(L.prune, position(idx, kSlotSymmetry));
    }
    // Keeps a successor's finding if it is this thread's first of its kind.
    void keep_first(uint64_t p, uint64_t& at, int& what, std::vector<uint8_t>& state, int value, const uint8_t* Y) {
      if (p >= at) return;
      at = p;
      what = value;
      state.resize(ex.gs_);
      ex.canonicalise(Y, state.data());
    }
    void violation(uint32_t idx, uint32_t k, int spec, const uint8_t* Y) {
      const uint64_t p = position(idx, kSlotFirst + k);
      keep_first(p, F.safety, F.safety_spec, F.safety_state, spec, Y);
      lower_to(L.prune, p);
    }
    void fault(uint32_t idx, uint32_t k, int code, const uint8_t* Y) {
      keep_first(position(idx, kSlotFirst + k), F.fault, F.fault_code, F.fault_state, code, Y);
    }
    bool successor(uint32_t idx, uint32_t k, const uint8_t* C, const uint8_t*) {
      if (ex.store_->contains(C)) return true;
      const uint64_t p = position(idx, kSlotFirst + k);
      const int inv = L.table.offer(C, hash_bytes(C, ex.gs_), p, [&] { return ex.new_state_invariant(C, L.depth); });
      if (inv >= 0) lower_to(L.prune, p);
      return true;
    }
    void expanded(uint32_t idx, uint32_t count) {
      L.counts[idx - L.begin] = count;
      L.transitions.fetch_add(count, std::memory_order_relaxed);
    }
    void too_wide(uint32_t idx) {
      F.too_wide = std::min(F.too_wide, idx);
      lower_to(L.prune, position(idx, kSlotEnd));
    }
  };
  Recorder rec{*this, L, L.finds[static_cast<size_t>(worker_slot_)]};
  expand_state(idx, L.depth, L.bound, L.check_live, *L.live_specs, rec);
}

// Takes chunks of the level until none is left, the prune bound passes
// them, or the run must stop.
void Explorer::work_level(Level& L, bool lead) {
  for (;;) {
    const uint32_t a = L.next.fetch_add(L.chunk, std::memory_order_relaxed);
    if (a >= L.end) return;
    const uint32_t b = std::min(L.end, a + L.chunk);
    for (uint32_t idx = a; idx < b; ++idx) {
      if (position(idx, 0) > L.prune.load(std::memory_order_relaxed)) return;  // later chunks start later
      if (L.stop.load(std::memory_order_relaxed) || should_stop()) {
        L.stop.store(true, std::memory_order_relaxed);
        L.finds[static_cast<size_t>(worker_slot_)].stopped = res_.stats.stopped;
        return;
      }
      expand_in_level(L, idx);
      if (stopping_) {
        L.stop.store(true, std::memory_order_relaxed);
        L.finds[static_cast<size_t>(worker_slot_)].stopped = res_.stats.stopped;
        return;
      }
      if (lead) {
        const uint64_t before = res_.stats.transitions;
        res_.stats.transitions += L.transitions.load(std::memory_order_relaxed);
        report_progress(L.end - idx, L.depth, false);
        res_.stats.transitions = before;
      }
    }
  }
}

std::string Explorer::parallel_bfs(int bound, bool need_live, const std::vector<int>& live_specs,
                                   uint64_t max_states, Found& safety, Found& live, int& depth, bool& incomplete) {
  const int threads = o_.threads;
  cache_budget_ = kCacheBudget / static_cast<size_t>(threads);
  cache_.clear();
  worker_slot_ = 0;
  workers_.clear();
  for (int t = 1; t < threads; ++t) {
    workers_.push_back(std::make_unique<Explorer>(desc_, o_, nullptr, nullptr));
    workers_.back()->init_worker(*this);
    workers_.back()->worker_slot_ = t;
  }
  CheckStats& stats = res_.stats;
  const size_t S = live_specs.size();
  uint32_t begin = 0, end = store_->size();
  for (; !safety.any; ++depth) {
    const bool skip = live.any && depth + 1 >= live.length;  // the one-thread loop expands nothing here
    Found conflict;
    if (!skip) {
      Level L(gs_);
      L.begin = begin;
      L.end = end;
      L.depth = depth;
      L.bound = bound;
      L.check_live = need_live && !live.any &&
                     (o_.liveness_every_round || depth % static_cast<int>(desc_.num_rounds) == 0);
      L.live_specs = &live_specs;
      L.next = begin;
      // Small chunks: states can be costly (thousands of successors), and the
      // level waits for its slowest thread.
      L.chunk = std::clamp<uint32_t>((end - begin) / (static_cast<uint32_t>(threads) * 64), 1, 64);
      L.counts.assign(end - begin, 0);
      L.finds.resize(static_cast<size_t>(threads));
      {
        std::vector<std::thread> pool;
        for (auto& w : workers_) pool.emplace_back([&L, &w] { w->work_level(L, false); });
        work_level(L, true);
        for (auto& t : pool) t.join();
      }
      // ---- Resolve the level in the one-thread order.
      Finds F;
      for (const Finds& f : L.finds) {
        if (f.safety < F.safety) F.safety = f.safety, F.safety_spec = f.safety_spec, F.safety_state = f.safety_state;
        if (f.fault < F.fault) F.fault = f.fault, F.fault_code = f.fault_code, F.fault_state = f.fault_state;
        if (f.live < F.live) F.live = f.live, F.live_spec = f.live_spec, F.live_rank = f.live_rank;
        F.symmetry = std::min(F.symmetry, f.symmetry);
        F.too_wide = std::min(F.too_wide, f.too_wide);
        if (F.stopped.empty()) F.stopped = f.stopped;
      }
      const std::vector<LevelTable::Entry> fresh = L.table.sorted();
      enum Cut { kNone, kLiveStop, kSymmetry, kSafety, kFreshInvariant, kLimit, kTooWide } cut = kNone;
      uint64_t at = kNever;
      size_t cut_entry = 0;
      auto consider = [&](uint64_t p, Cut c) {
        if (p < at) at = p, cut = c;
      };
      if (F.live != UINT32_MAX && desc_.specs[F.live_spec].after_rounds <= 1) consider(position(F.live, kSlotLive), kLiveStop);
      if (F.symmetry != UINT32_MAX) consider(position(F.symmetry, kSlotSymmetry), kSymmetry);
      consider(F.safety, kSafety);
      for (size_t e = 0; e < fresh.size(); ++e)
        if (fresh[e].inv >= 0) {
          if (fresh[e].pos < at) cut_entry = e;
          consider(fresh[e].pos, kFreshInvariant);
          break;
        }
      const uint64_t room = store_->size() >= max_states ? 1 : max_states - store_->size();
      if (fresh.size() >= room && fresh[room - 1].pos < at) {  // at equal positions the invariant comes first
        cut_entry = room - 1;
        consider(fresh[room - 1].pos, kLimit);
      }
      if (F.too_wide != UINT32_MAX) consider(position(F.too_wide, kSlotEnd), kTooWide);
      if (cut == kSymmetry) return kUnsoundSymmetry;
      if (cut == kTooWide) return kRandomTooWide;
      // The states, transitions and liveness checks before the cut.
      const bool inclusive = cut == kFreshInvariant || cut == kLimit;
      for (const LevelTable::Entry& e : fresh) {
        if (e.pos > at || (e.pos == at && !inclusive)) break;
        store_->insert(L.table.key(e));
        parent_.push_back(pos_idx(e.pos));
      }
      const uint32_t last = cut == kNone ? end : pos_idx(at);
      for (uint32_t idx = begin; idx < last; ++idx) stats.transitions += L.counts[idx - begin];
      if (cut != kNone && pos_slot(at) >= kSlotFirst)
        stats.transitions += std::min<uint64_t>(L.counts[last - begin], pos_slot(at) - (kSlotFirst - 1));
      const bool live_found = F.live != UINT32_MAX && position(F.live, kSlotLive) <= at;
      if (L.check_live) {
        if (live_found)
          stats.liveness_checks += uint64_t{F.live - begin} * S + static_cast<uint64_t>(F.live_rank) + 1;
        else
          stats.liveness_checks += uint64_t{(cut == kNone ? end : last + 1) - begin} * S;
      }
      if (live_found)
        live = {true, F.live_spec, F.live, {},
                depth + static_cast<int64_t>(desc_.specs[F.live_spec].after_rounds)};
      if (cut == kSafety) safety = {true, F.safety_spec, pos_idx(at), F.safety_state, depth + 1};
      if (cut == kFreshInvariant) {
        const LevelTable::Entry& e = fresh[cut_entry];
        safety = {true, e.inv, pos_idx(e.pos), std::vector<uint8_t>(L.table.key(e), L.table.key(e) + gs_), depth + 1};
      }
      if (cut == kLimit) {
        stats.stopped = "state limit";
        incomplete = true;
      }
      if (F.fault < at) conflict = {true, -F.fault_code, pos_idx(F.fault), F.fault_state, depth + 1};
      if (!F.stopped.empty() && !incomplete) {
        stats.stopped = F.stopped;
        incomplete = true;
      }
    }
    // ---- As the one-thread loop ends a level.
    if (!safety.any && conflict.any) safety = conflict;
    if (safety.any || incomplete) break;
    if (live.any && depth + 1 >= live.length) break;
    if (depth >= bound) break;
    if (store_->size() == end) {
      stats.exhausted = true;
      break;
    }
    begin = end;
    end = store_->size();
  }
  // The lead reports the whole run: the workers' memos and caches go.
  workers_.clear();
  return "";
}

}  // namespace psync::check::detail
