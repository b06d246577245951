// search.cpp: exhaustive breadth-first exploration of a protocol's global
// states over every heard-of assignment (Charron-Bost & Schiper, "The
// Heard-Of model", Distrib. Comput. 22(1), 2009; PSync, POPL 2016, sec. 5),
// with the specs checked on the way and liveness windows checked from the
// states where they may start.
//
// A global state is the round word followed by the ids of the n interned
// process states. Rounds are communication-closed, so one round is one
// transition (expand.cpp). counterexample.cpp turns a violation found here
// into a concrete shortest trace.
#include "expand_state.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace psync::check::detail {

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

int Explorer::fault_in(const uint8_t* Y) const {
  int fault = 0;
  for (int i = 0; i < n_; ++i) {
    if (has_conflict(proc(Y, i))) return 1;
    if (has_range_error(proc(Y, i))) fault = 2;
  }
  return fault;
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
  SharedStore* memo = nullptr;
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
    if (should_stop()) return true;  // abandoned: the search reports itself incomplete
    const uint8_t* Y = succ.data() + t * gs_;
    if (!liveness_holds(Y, r + 1, k - 1, spec, path)) {
      if (path) path->insert(path->begin(), std::vector<uint8_t>(Y, Y + gs_));
      return false;
    }
  }
  if (memo && !stopping_) memo->insert(key.data());
  return true;
}

// A time limit, or a signal run_check caught: the search stops at the next
// check and reports what it covered.
// (The state limit is not one: it cuts the search where it is counted, and
// the rebuilding of a counterexample after it must not stop.)
bool Explorer::should_stop() {
  if (stopping_) return true;
  const char* why = nullptr;
  if (o_.stop != nullptr && *o_.stop != 0) why = *o_.stop == 2 ? "SIGTERM" : "SIGINT";
  else if (o_.time_limit_s > 0 && std::chrono::duration<double>(Clock::now() - start_).count() >= o_.time_limit_s)
    why = "time limit";
  if (why == nullptr) return false;
  res_.stats.stopped = why;
  stopping_ = true;
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
  // The checker contradicting itself: a bug, exit 5 (not a usage error).
  auto internal = [&](std::string msg) {
    res_.verdict = Verdict::kInternalError;
    res_.error = std::move(msg);
    return res_;
  };
  if (!err.empty()) return fail(err);
  n_ = o_.n;
  if (o_.threads < 1) return fail("threads must be at least 1");
  if (n_ > 20) return fail("exhaustive checking supports n <= 20 (2^n mailboxes per process)");
  if (o_.values_lo > o_.values_hi) return fail("empty value range");
  if (std::string e = P_.set_bytes_domain(o_.bytes_values, o_.values_lo, o_.values_hi); !e.empty()) return fail(e);
  if (std::string e = setup_byzantine(P_, o_.values_lo, o_.values_hi, o_.symmetry, byz_); !e.empty()) return fail(e);
  ss_ = P_.ss;
  gs_ = 4 + 4 * static_cast<size_t>(n_);
  bool need_live = o_.liveness && !P_.liveness.empty();
  // Without a shape to generate from (ho_gen.cpp), predicates filter all
  // 2^(n*n) HO vectors per state.
  if (!P_.assumes.empty() && !ho_generation_bounded(P_.assumes) && n_ * n_ > 25)
    return fail("`assume` specs that relate two processes' heard-of sets other than upward-closed need 2^(n*n) HO "
                "assignments per state; n <= 5 is supported");
  // Liveness specs are checked unless switched off, or unless their
  // windows would filter 2^(n*n) vectors per state over --max-ho-bits.
  std::vector<int> live_specs;
  const bool brute_over = n_ * n_ > std::min(o_.liveness_max_ho_bits, 30);
  for (int s : P_.liveness) {
    std::vector<int> preds = P_.assumes;
    preds.push_back(s);
    std::string name = std::string("liveness ") + (desc_.specs[s].name ? desc_.specs[s].name : "?") + ": ";
    if (!o_.liveness)
      res_.stats.unchecked.push_back(name + "switched off (--no-liveness)");
    else if (brute_over && !ho_generation_bounded(preds))
      res_.stats.unchecked.push_back(name + "its predicate needs every one of the 2^(n*n) = 2^" + std::to_string(n_ * n_) +
                                     " heard-of vectors per state, over --max-ho-bits " +
                                     std::to_string(o_.liveness_max_ho_bits) + why_brute_force(preds));
    else
      live_specs.push_back(s);
  }
  need_live = need_live && !live_specs.empty();
  init_scratch();
  store_ = std::make_shared<StateStore>(gs_);
  procs_ = std::make_shared<SharedStore>(ss_);
  if (byz_.on()) {
    make_faulty(scratch_.data(), ss_);
    faulty_id_ = procs_->insert(scratch_.data()).first;
  }
  cache_.clear();
  uint64_t max_states = o_.max_states ? o_.max_states : 50'000'000;
  max_states = std::min<uint64_t>(max_states, UINT32_MAX - 1);
  // Not under `byzantine f`: a liar's absolute values would not respect the renaming.
  if (o_.phase_abstraction && !o_.cyclic_rounds && !byz_.on())
    if (std::string e = setup_phases(); !e.empty()) return fail(e);
  if (o_.dead_state)
    if (std::string e = setup_dead_words(); !e.empty()) return fail(e);
  int bound = o_.rounds >= 0 ? o_.rounds
              : o_.cyclic_rounds || phases_ ? INT_MAX
                                 : std::max(8, 3 * static_cast<int>(desc_.num_rounds));
  CheckStats& stats = res_.stats;
  stats.bound = bound == INT_MAX ? -1 : bound;
  if (need_live) {
    memo_base_.assign(desc_.num_specs, 0);
    for (int s : P_.liveness) {
      memo_base_[static_cast<size_t>(s)] = static_cast<int>(memo_.size());
      for (uint32_t k = 0; k <= desc_.specs[s].after_rounds; ++k)
        memo_.push_back(std::make_shared<SharedStore>(gs_));
    }
  }

  // Violations found so far (Found: explorer.h).
  Found safety, live;

  // ---- Initial states: every input combination, every init coin outcome.
  {
    std::vector<std::pair<int64_t, int64_t>> dom;
    for (int i = 0; i < n_; ++i)
      for (uint32_t k = 0; k < desc_.num_inputs; ++k)
        if (desc_.inputs[k].kind == PSYNC_KIND_BYTES)  // an index into the bytes domain
          dom.emplace_back(0, int64_t(P_.bytes_domain.size()) - 1);
        else
          dom.push_back(input_domain(desc_.inputs[k], n_, o_.values_lo, o_.values_hi));
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
        const std::vector<int64_t> words = P_.input_words(val.data() + static_cast<size_t>(i) * desc_.num_inputs);
        const int64_t* in = words.data();
        P_.chooser.begin_exhaustive();
        do {
          std::memset(scratch_.data(), 0, ss_);
          desc_.init(scratch_.data(), &env, in);
          uint32_t id = procs_->insert(scratch_.data()).first;
          if (std::find(a.begin(), a.end(), id) == a.end()) a.push_back(id);
        } while (P_.chooser.advance());
        if (byz_.on()) a.push_back(faulty_id_);  // or it is faulty (faulty_set_admitted picks)
      }
      std::fill(pick.begin(), pick.end(), 0);
      int32_t r0 = 0;
      std::memcpy(Y_.data(), &r0, 4);
      for (;;) {
        for (int i = 0; i < n_; ++i)
          std::memcpy(Y_.data() + 4 + 4 * static_cast<size_t>(i),
                      &alts[static_cast<size_t>(i)][pick[static_cast<size_t>(i)]], 4);
        canonicalise(Y_.data(), C_.data());
        auto [idx, fresh] = byz_.on() && !faulty_set_admitted(Y_.data()) ? std::pair<uint32_t, bool>{0, false}
                                                                           : store_->insert(C_.data());
        if (fresh) {
          parent_.push_back(kNoParent);
          int bad = failing_invariant(C_.data(), 0);
          int fault = fault_in(C_.data());
          if (bad >= 0 || fault) {
            safety = {true, bad >= 0 ? bad : -fault, kNoParent, std::vector<uint8_t>(C_.begin(), C_.end()), 0};
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
  if (o_.threads > 1 && !safety.any) {  // parallel.cpp: the same levels, on threads
    if (std::string e = parallel_bfs(bound, need_live, live_specs, max_states, safety, live, depth, incomplete);
        !e.empty())
      return fail(e);
  }
  // The one-thread sink of expand_state: each finding acted on at once.
  struct InPlace {
    Explorer& ex;
    Found &safety, &live, &conflict;
    bool& incomplete;
    int depth;
    uint64_t max_states;
    const char* error = nullptr;

    bool wants_liveness(uint32_t) const { return !live.any; }
    void liveness_checked() { ++ex.res_.stats.liveness_checks; }
    void liveness_fails(uint32_t idx, int spec, int) {
      live = {true, spec, idx, {}, depth + static_cast<int64_t>(ex.desc_.specs[spec].after_rounds)};
    }
    bool liveness_ends(uint32_t) const { return live.any && depth + 1 >= live.length; }
    void symmetry_broken(uint32_t) { error = kUnsoundSymmetry; }
    void violation(uint32_t idx, uint32_t, int spec, const uint8_t* Y) {
      safety = {true, spec, idx, std::vector<uint8_t>(Y, Y + ex.gs_), depth + 1};
    }
    void fault(uint32_t idx, uint32_t, int code, const uint8_t* Y) {
      if (!conflict.any) conflict = {true, -code, idx, std::vector<uint8_t>(Y, Y + ex.gs_), depth + 1};
    }
    bool successor(uint32_t idx, uint32_t, const uint8_t* C, const uint8_t* Y) {
      if (!ex.store_->insert(C).second) return true;
      ex.parent_.push_back(idx);
      if (int bad = ex.new_state_invariant(C, depth); bad >= 0) {
        safety = {true, bad, idx, std::vector<uint8_t>(Y, Y + ex.gs_), depth + 1};
        return false;
      }
      if (ex.store_->size() >= max_states) {
        ex.res_.stats.stopped = "state limit";
        incomplete = true;
        return false;
      }
      return true;
    }
    void expanded(uint32_t, uint32_t count) { ex.res_.stats.transitions += count; }
    void too_wide(uint32_t) { error = kRandomTooWide; }
  };
  for (; !safety.any && o_.threads <= 1; ++depth) {
    Found conflict;
    InPlace sink{*this, safety, live, conflict, incomplete, depth, max_states};
    const bool window_starts =
        need_live && (o_.liveness_every_round || depth % static_cast<int>(desc_.num_rounds) == 0);
    for (uint32_t idx = begin; idx < end && !safety.any && !incomplete; ++idx) {
      if (live.any && depth + 1 >= live.length) break;
      expand_state(idx, depth, bound, window_starts, live_specs, sink);
      if (sink.error) return fail(sink.error);
      if (stopping_) {  // a liveness window was abandoned
        incomplete = true;
        break;
      }
      if (live.any && depth + 1 >= live.length) break;
      if ((idx & 255) == 0) {
        report_progress(end - idx, depth, false);
        if (should_stop()) incomplete = true;
      }
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
  if (incomplete && !safety.any) stats.depth = depth;  // the last layer was cut short: depth rounds are complete
  stats.store_bytes = store_->bytes() + procs_->bytes() + parent_.capacity() * sizeof(uint32_t);
  for (auto& m : memo_) stats.store_bytes += m->bytes();
  stats.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  stats.peak_rss_bytes = peak_rss_bytes();

  if (incomplete && !safety.any && !live.any) {
    res_.verdict = Verdict::kIncomplete;
    return res_;
  }
  if (!safety.any && !live.any) return res_;

  // ---- Rebuild a concrete shortest counterexample. The replay recomputes
  // the steps with the hooks capturing log lines and range errors.
  // Replaying a path takes one expansion per round and is not interrupted;
  // the search for a liveness window is, by the limits of the run, and the
  // trace then ends where the window starts (stats.trace_cut).
  res_.verdict = Verdict::kViolation;
  P_.chooser.capture = true;
  cache_.clear();
  bool use_safety = safety.any && (!live.any || safety.length <= live.length);
  // A liveness violation is kept while the search looks for a shorter
  // safety one; a stop before the search got there leaves that open.
  stats.search_cut = incomplete && !use_safety;
  trace_.shortest = !stats.search_cut;
  const std::string search_stopped = stats.stopped;
  if (o_.test_fault == "stop-in-rebuild") {
    stopping_ = true;
    if (stats.stopped.empty()) stats.stopped = "time limit";
  }
  if (use_safety) {
    const Found& f = safety;
    const char* fault_name = f.spec == -2 ? "range" : "conflict";
    std::string name = f.spec >= 0 && desc_.specs[f.spec].name ? desc_.specs[f.spec].name : fault_name;
    trace_.spec = f.spec >= 0 ? name : fault_name;
    trace_.spec_kind = f.spec >= 0 ? spec_kind_name(desc_.specs[f.spec].kind) : fault_name;
    if (f.parent == kNoParent) {  // an initial state
      start_trace(f.state.data());
    } else {
      auto path = bfs_path(f.parent);
      std::vector<uint8_t> target(gs_);
      canonicalise(f.state.data(), target.data());
      path.push_back(target);
      int spec = f.spec;
      bool ok = replay(path, 0, P_.assumes, [&](const uint8_t* X, const uint8_t* Y, int64_t r) {
        if (spec < 0) return fault_in(Y) == -spec;
        if (desc_.specs[spec].kind == PSYNC_SPEC_PROPERTY) return failing_property(X, Y, r) == spec;
        return failing_invariant(Y, r + 1) == spec;
      }, nullptr);
      if (!ok) return internal("could not replay the counterexample (is --symmetry sound here?)");
    }
    int64_t len = static_cast<int64_t>(trace_.steps.size());
    if (f.spec == -2) {
      trace_.detail = "a value out of range where a process id or a set element was expected";
      if (len == 0) trace_.detail += ", in an initial state (an input or a var's initialiser)";
      if (len > 0) {
        const TraceStep& last = trace_.steps.back();
        bool found = false;
        for (size_t i = 0; i < last.events.size() && !found; ++i) {
          if (i >= last.after.size() || !last.after[i].range_error) continue;
          for (const std::string& e : last.events[i])
            if (e.rfind("range error: ", 0) == 0) {
              trace_.detail = "p" + std::to_string(i) + " in round " + std::to_string(len - 1) + ": " + e.substr(13);
              found = true;
              break;
            }
        }
      }
    } else if (f.spec < 0)
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
    if (!ok) return internal("could not replay the counterexample prefix");
    int64_t r0 = static_cast<int64_t>(path.size()) - 1;
    trace_.liveness_from = static_cast<int>(trace_.steps.size());
    for (auto& m : memo_) m = std::make_shared<SharedStore>(gs_);
    std::vector<std::vector<uint8_t>> window;
    if (liveness_holds(X.data(), r0, static_cast<int>(sp.after_rounds), f.spec, &window)) {
      if (!stopping_) return internal("liveness violation did not reproduce (is --symmetry sound here?)");
      // Cut by the limit: the search did find the window, so the verdict
      // stands; the trace is the prefix up to where the window starts.
      stats.trace_cut = stats.stopped;
      stats.stopped = search_stopped;
      trace_.window_missing = static_cast<int>(sp.after_rounds);
      trace_.detail = "liveness " + name + ": from round " + std::to_string(r0) + " (the last state shown), " +
                      std::to_string(sp.after_rounds) + " round" + (sp.after_rounds == 1 ? "" : "s") +
                      " satisfying its predicate can end with its goal false; the window itself was not rebuilt";
      return res_;
    }
    // The window is concrete already: replay it exactly.
    std::vector<std::vector<uint8_t>> exact{X};
    exact.insert(exact.end(), window.begin(), window.end());
    std::vector<int> preds = P_.assumes;
    preds.push_back(f.spec);
    bool sym = o_.symmetry, phases = phases_, dead = dead_;
    o_.symmetry = phases_ = dead_ = false;  // match the window state for state
    // From round r0 > 0 replay() appends to the prefix; from 0 it restarts
    // the trace at the same initial state.
    ok = replay(exact, r0, preds, [](const uint8_t*, const uint8_t*, int64_t) { return true; }, nullptr);
    o_.symmetry = sym;
    phases_ = phases;
    dead_ = dead;
    if (!ok) return internal("could not replay the liveness window");
    trace_.detail = "liveness " + name + ": " + std::to_string(sp.after_rounds) + " round" +
                    (sp.after_rounds == 1 ? "" : "s") + " satisfying its predicate, from round " +
                    std::to_string(r0) + ", end with its goal false";
  }
  stats.stopped = search_stopped;  // a stop during the rebuild cut nothing
  return res_;
}

}  // namespace psync::check::detail

namespace psync::check {

CheckResult explore(const psync_protocol_desc& desc, const CheckOptions& opts, ProgressFn progress,
                    void* user) {
  detail::Explorer ex(desc, opts, progress, user);
  return ex.run();
}

}  // namespace psync::check
