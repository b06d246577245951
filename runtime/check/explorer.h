// explorer.h: the exhaustive explorer's one class, split by stage over
// expand.cpp (successors), search.cpp (the breadth-first search and the
// specs), expand_state.h (one state of a level, for the one-thread loop and
// parallel.cpp's threads) and counterexample.cpp (rebuilding a shortest
// trace). Internal to runtime/check.
#ifndef PSYNC_CHECK_EXPLORER_H
#define PSYNC_CHECK_EXPLORER_H

#include "byzantine.h"
#include "engine.h"
#include "local.h"
#include "shared_store.h"
#include "store.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace psync::check::detail {

using Clock = std::chrono::steady_clock;

class Explorer {
 public:
  Explorer(const psync_protocol_desc& desc, const CheckOptions& opts, ProgressFn fn, void* user)
      : desc_(desc), o_(opts), progress_(fn), user_(user) {}

  CheckResult run();

 private:
  // ---- Threads (parallel.cpp) ----
  // A violation found by the search: a safety one ends it; a liveness one
  // is kept while a shorter safety violation may still turn up.
  struct Found {
    bool any = false;
    int spec = -1;               // -1: decide conflict, -2: range error
    uint32_t parent = UINT32_MAX;
    std::vector<uint8_t> state;  // the violating successor (or initial state)
    int64_t length = 0;
  };
  struct Level;  // parallel.cpp: one breadth-first level shared by the threads
  void init_scratch();
  void init_worker(const Explorer& lead);
  // The breadth-first levels on o_.threads threads, with the results of the
  // one-thread loop in search.cpp (docs/checker.md, "Threads"); "" or an error.
  std::string parallel_bfs(int bound, bool need_live, const std::vector<int>& live_specs, uint64_t max_states,
                           Found& safety, Found& live, int& depth, bool& incomplete);
  void work_level(Level& L, bool lead);
  void expand_in_level(Level& L, uint32_t idx);
  // One state of a level, for both searches (expand_state.h).
  template <class Sink>
  void expand_state(uint32_t idx, int depth, int bound, bool check_live, const std::vector<int>& live_specs, Sink& sink);
  int new_state_invariant(const uint8_t* C, int depth);
  // procs_->insert(st) through a small per-thread front table of recent
  // ids, which spares most lookups the shard lock.
  uint32_t intern(const uint8_t* st);
  std::vector<uint32_t> intern_front_;  // (id + 1) by hash, 0 = empty
  std::vector<std::unique_ptr<Explorer>> workers_;
  int worker_slot_ = 0;  // 0: the lead (the caller's thread)
  size_t cache_budget_ = kCacheBudget;  // the local-successor memo's share of kCacheBudget

  // ---- Successors ----
  // emit(Y, ids, ho) for each distinct successor Y of X in round r; ids[i]
  // is the local successor process i took, ho the HO vector (only under
  // predicates). emit returns false to stop.
  using Emit = FunctionRef<bool(const uint8_t* Y, const uint32_t* ids, const uint64_t* ho)>;
  void expand(const uint8_t* X, int64_t r, const std::vector<int>& preds, Emit emit);
  void compute_sends(const uint8_t* X, int64_t r);
  void compute_local(int i, const uint8_t* post, int64_t r, bool table);
  uint32_t add_local(const uint8_t* st, uint64_t mask, const int64_t* choices, size_t count, OutcomeEvents events);
  void local_for(int i, int64_t r, bool table);
  // ho_gen.cpp: successors under predicates, generated from their shape.
  bool ho_shapes_usable(const std::vector<int>& preds) const;
  bool ho_generation_bounded(const std::vector<int>& preds) const;
  std::string why_brute_force(const std::vector<int>& preds) const;  // " (reason)"
  bool emit_generated(int64_t r, const std::vector<int>& preds, const void* const* xp, Emit emit);
  void canonicalise(const uint8_t* Y, uint8_t* C);
  bool symmetric_at(const uint8_t* X, int64_t r);
  // byzantine.cpp: a faulty process's sends, and the initial faulty sets.
  void send_lies(int i, int64_t r, const uint8_t* Xi, SendAlts& sa);
  bool faulty_set_admitted(const uint8_t* G) const;
  int64_t stored_round(int64_t r) const { return o_.cyclic_rounds ? r % static_cast<int64_t>(desc_.num_rounds) : r; }
  // The round a global state is at (its first word): the real one, or a
  // canonical stand-in under cyclic rounds or the phase abstraction.
  static int64_t round_in(const uint8_t* G) {
    int32_t r;
    std::memcpy(&r, G, 4);
    return r;
  }
  // The round to run G's successors and specs at, G found at BFS depth d.
  int64_t round_at(const uint8_t* G, int64_t d) const { return phases_ ? round_in(G) : d; }

  // ---- The phase abstraction (phases.cpp) ----
  std::string setup_phases();
  void rename_phases(uint8_t* C);
  bool phases_ = false;
  std::vector<uint32_t> phase_words_;  // (byte offset << 1) | ballot, per process state
  int64_t phase_D_ = 0, phase_L_ = 1, phase_B_ = 0;
  std::vector<int64_t> phase_old_;
  std::vector<uint8_t> phase_scratch_;
  std::vector<std::vector<uint8_t>> stale_fold_;  // per round of the cycle: per phase word, folds when stale
  bool whole_ballots_ = false;                     // old ballots ranked whole (PSYNC_STALE_WHOLE_BALLOTS)
  std::vector<int64_t> old_ballots_;

  // ---- Dead state words (dead_state.cpp) ----
  std::string setup_dead_words();
  void zero_dead_words(uint8_t* C);
  bool dead_ = false;
  std::vector<std::vector<uint32_t>> dead_words_;  // byte offsets, per round of the cycle
  std::vector<uint8_t> dead_scratch_;

  // ---- Specs ----
  int failing_invariant(const uint8_t* Y, int64_t r);
  int failing_property(const uint8_t* X, const uint8_t* Y, int64_t r);
  // A decide conflict (1) or a range error (2) in some process of Y, or 0.
  int fault_in(const uint8_t* Y) const;
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
  using Accept = FunctionRef<bool(const uint8_t* X, const uint8_t* Y, int64_t r)>;
  bool replay(const std::vector<std::vector<uint8_t>>& path, int64_t r_start, const std::vector<int>& preds,
              Accept last_ok, std::vector<uint8_t>* final_state);
  TraceStep capture_step(const uint8_t* X, const uint8_t* Y, int64_t r, const uint32_t* ids, const uint64_t* ho);
  void start_trace(const uint8_t* X0);
  std::vector<std::vector<uint8_t>> bfs_path(uint32_t idx) const;
  void report_progress(uint64_t frontier, int depth, bool force);
  bool should_stop();
  bool stopping_ = false;  // set once should_stop() said so

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
  LocalSteps steps_;
  std::vector<std::pair<uint64_t, uint32_t>> tab_pairs_;  // (mask, local index)
  std::vector<uint8_t> scratch_, Y_, C_, key_;
  std::vector<uint64_t> seen_bits_, kv_;
  std::unordered_set<uint64_t> seen_big_;
  struct GenChoice {
    uint64_t set;
    uint32_t first, len;  // its outcomes: tab_ids[first .. first+len)
  };
  std::vector<std::vector<uint64_t>> gen_sets_, gen_kept_;
  std::vector<uint64_t> gen_order_;  // every set, largest first
  std::vector<int> gen_count_;       // uniform: how many processes admit each set
  std::vector<std::vector<GenChoice>> gen_choices_;

  // Shared with the worker threads: global states (read-only while they
  // run), interned process states and the liveness memo (both SharedStore).
  std::shared_ptr<StateStore> store_;   // global states (round + process ids)
  std::shared_ptr<SharedStore> procs_;  // process states, interned
  std::vector<uint32_t> parent_;
  std::vector<std::shared_ptr<SharedStore>> memo_;  // liveness: [spec * K + k]
  std::vector<int> memo_base_;

  ByzantineModel byz_;       // `byzantine f` (off when f is 0)
  uint32_t faulty_id_ = 0;   // the interned faulty state

  CheckResult res_;
  Trace& trace_ = res_.trace;
  Clock::time_point start_, last_progress_;
};

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_EXPLORER_H
