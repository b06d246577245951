// expand.cpp: the explorer's successor relation. Each process sends
// (round/round.h, rule 1), then ends the round in every way local.h finds
// (rules 2-4); a global successor picks one local outcome per process,
// either freely (the product) or under the HO predicates of `assume` and
// liveness windows.
#include "explorer.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace psync::check::detail {

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
    sa.events.clear();
    const uint8_t* Xi = proc(X, i);
    if (byz_.on() && is_faulty(Xi)) {  // byzantine.cpp
      send_lies(i, r, Xi, sa);
      continue;
    }
    psync_env env = P_.env(i, r);
    ch.begin_exhaustive();
    do {
      if (sa.buf.size() < (sa.count + 1) * unit) sa.buf.resize((sa.count + 1) * unit);
      uint8_t* st = sa.buf.data() + sa.count * unit;
      std::memcpy(st, Xi, ss_);
      std::memset(st + ss_, 0, obx_);
      ch.events.clear();
      round::run_send(rd, env, st, st + ss_);  // a halted process sends nothing
      bool dup = false;
      for (uint32_t a = 0; a < sa.count && !dup; ++a)
        dup = std::memcmp(sa.buf.data() + a * unit, st, unit) == 0;
      if (!dup) {
        sa.choices.emplace_back(ch.script.begin(), ch.script.begin() + static_cast<long>(ch.pos));
        sa.events.push_back(ch.events);
        ++sa.count;
      }
    } while (ch.advance());
  }
}

// ---- Local successors ----------------------------------------------------------

uint32_t Explorer::add_local(const uint8_t* st, uint64_t mask, const int64_t* choices, size_t count,
                             OutcomeEvents events) {
  Local& L = *building_;
  uint32_t id = intern(st);
  for (uint32_t k = 0; k < L.count; ++k)
    if (L.ids[k] == id) return k;
  L.ids.push_back(id);
  L.masks.push_back(mask);
  L.conflict.push_back(has_conflict(st) ? 1 : 0);
  if (P_.chooser.capture) L.events.emplace_back(events.lines, events.lines + events.count);
  L.choice_pool.insert(L.choice_pool.end(), choices, choices + count);
  L.choice_off.push_back(static_cast<uint32_t>(L.choice_pool.size()));
  return L.count++;
}

// Process i's local successors in round r (local.h), and in restricted mode
// a table from each final mailbox to the successors it leads to: a mailbox
// that the round cannot end with (it would have closed earlier) leads to
// none, so a heard-of assignment that needs it is impossible.
void Explorer::compute_local(int i, const uint8_t* post, int64_t r, bool table) {
  Local& L = *building_;
  L.clear();
  const size_t full = size_t{1} << n_;
  if (table) {
    L.tab_begin.assign(full, 0);
    L.tab_len.assign(full, 0);
  }
  if (is_halted(post)) {  // whatever it hears, it stays put
    add_local(post, 0, nullptr, 0, {});
    if (table) {
      L.tab_ids.push_back(0);
      std::fill(L.tab_len.begin(), L.tab_len.end(), 1);
    }
    return;
  }
  const size_t msz = P_.msg_size(r);
  const uint8_t* msg[PSYNC_MAX_N] = {};
  for (uint64_t rest = senders_to_[i]; rest; rest &= rest - 1) {
    const int j = std::countr_zero(rest);
    msg[j] = outbox_[j] + 8 + static_cast<size_t>(i) * msz;
  }
  tab_pairs_.clear();
  steps_.run(P_, i, r, post, senders_to_[i], msg,
             [&](const uint8_t* st, uint64_t heard, const int64_t* choices, size_t count, OutcomeEvents events) {
               uint32_t k = add_local(st, heard, choices, count, events);
               if (table) tab_pairs_.emplace_back(heard, k);
             });
  if (!table) return;
  std::sort(tab_pairs_.begin(), tab_pairs_.end());
  tab_pairs_.erase(std::unique(tab_pairs_.begin(), tab_pairs_.end()), tab_pairs_.end());
  for (size_t p = 0; p < tab_pairs_.size();) {
    const uint64_t m = tab_pairs_[p].first;
    L.tab_begin[m] = static_cast<uint32_t>(L.tab_ids.size());
    for (; p < tab_pairs_.size() && tab_pairs_[p].first == m; ++p) L.tab_ids.push_back(tab_pairs_[p].second);
    L.tab_len[m] = static_cast<uint32_t>(L.tab_ids.size()) - L.tab_begin[m];
  }
}

void Explorer::local_for(int i, int64_t r, bool table) {
  size_t msz = P_.msg_size(r);
  uint64_t S = senders_to_[i];
  int64_t rk = stored_round(r);
  key_.clear();
  // Grown then copied into: key_.insert() of a few constant-size bytes gets
  // false -Warray-bounds / -Wstringop-overflow from g++ 12 at -O3.
  auto put = [&](const void* p, size_t len) {
    const size_t at = key_.size();
    key_.resize(at + len);
    std::memcpy(key_.data() + at, p, len);
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
// ho[0..n-1] is admissible iff every predicate holds of (X, ho) and every
// process i can end the round with mailbox ho[i] & S_i; it then takes a
// local successor of that mailbox. ho_gen.cpp generates the candidates
// from the predicates' shape; without one (a descriptor before ABI 5, or
// CheckOptions::brute_force_ho) we enumerate every assignment. Either way
// the result is exactly the set of successors reachable by an admissible
// assignment: sound and complete (brute force: 2^(n*n) predicate calls).
void Explorer::expand(const uint8_t* X, int64_t r, const std::vector<int>& preds, Emit emit) {
  if (cache_.bytes() > cache_budget_) cache_.clear();  // only here: lp_ points into it
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
    } else if (ho_shapes_usable(preds)) {
      stop = !emit_generated(r, preds, xp, emit);  // ho_gen.cpp
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
      // What a faulty process hears changes nothing (it never moves) and
      // predicates skip it: its heard-of set is fixed to everyone.
      auto faulty_ho = [&](int i, uint64_t m) { return byz_.on() && m != full - 1 && is_faulty(xp[i]); };
      bool fixed[PSYNC_MAX_N] = {};  // the odometers below skip those sets
      for (int i = 0; i < n_; ++i) {
        fixed[i] = byz_.on() && is_faulty(xp[i]);
        if (fixed[i]) ho[i] = full - 1;
      }
      auto admissible = [&]() {
        for (int s : preds)
          if (!desc_.specs[s].pred(xp, ho, &env)) return false;
        return true;
      };
      // The fast path: every mailbox leads to at most one local successor
      // (no coins). key(ho) = sum of kv[i][ho[i]], kept as prefix sums; an
      // assignment whose successor is known skips the predicates, and one
      // needing a mailbox that cannot end the round is skipped.
      constexpr uint64_t kNone = UINT64_MAX;
      bool single = true;
      for (int i = 0; i < n_ && single; ++i)
        for (uint64_t m = 0; m < full && single; ++m)
          single = (m & ~senders_to_[i]) || lp_[i]->tab_len[m] <= 1;
      if (single) {
        kv_.resize(static_cast<size_t>(n_) * full);
        for (int i = 0; i < n_; ++i) {
          const Local& L = *lp_[i];
          for (uint64_t m = 0; m < full; ++m) {
            const uint64_t mm = m & senders_to_[i];
            kv_[static_cast<size_t>(i) * full + m] =
                L.tab_len[mm] && !faulty_ho(i, m) ? L.tab_ids[L.tab_begin[mm]] * stride[i] : kNone;
          }
        }
        uint64_t partial[PSYNC_MAX_N + 1] = {};
        const uint64_t* last = kv_.data() + static_cast<size_t>(n_ - 1) * full;
        for (;;) {
          bool possible = true;
          for (int i = 0; i + 1 < n_ && possible; ++i) {
            const uint64_t v = kv_[static_cast<size_t>(i) * full + ho[i]];
            possible = v != kNone;
            partial[i + 1] = partial[i] + v;
          }
          const uint64_t base = partial[n_ - 1];
          for (uint64_t h = fixed[n_ - 1] ? full - 1 : 0; h < full && possible; ++h) {
            if (last[h] == kNone) continue;
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
          ho[n_ - 1] = fixed[n_ - 1] ? full - 1 : 0;
          if (stop) break;
          int i = n_ - 2;
          for (; i >= 0; --i) {
            if (fixed[i]) continue;
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
        bool possible = true;
        for (int i = 0; i < n_ && possible; ++i)
          possible = lp_[i]->tab_len[ho[i] & senders_to_[i]] != 0 && !faulty_ho(i, ho[i]);
        bool all_seen = !possible || for_tuples([&](uint64_t key) { return seen(key); });
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
          if (fixed[i]) continue;
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

// The canonical form of a global state: its phase values renamed under the
// phase abstraction (phases.cpp), then, under symmetry, its process states in
// a content order (hash, then bytes): one representative per permutation orbit.
void Explorer::canonicalise(const uint8_t* Y, uint8_t* C) {
  std::memcpy(C, Y, gs_);
  if (dead_) zero_dead_words(C);  // first: a dead phase value adds no rank
  if (phases_) rename_phases(C);
  if (!o_.symmetry) return;
  // Ordered by the states' content (their hash, then their bytes), not by
  // their ids: ids depend on the order threads interned the states in, and
  // the representative must not (docs/checker.md, "Threads").
  uint32_t ids[PSYNC_MAX_N];
  uint64_t hs[PSYNC_MAX_N];
  std::memcpy(ids, C + 4, 4 * static_cast<size_t>(n_));
  for (int i = 0; i < n_; ++i) hs[i] = procs_->hash_at(ids[i]);
  auto before = [&](uint64_t ha, uint32_t a, uint64_t hb, uint32_t b) {
    if (ha != hb) return ha < hb;
    return a != b && std::memcmp(procs_->at(a), procs_->at(b), ss_) < 0;
  };
  for (int i = 1; i < n_; ++i) {  // insertion sort: n is small
    const uint32_t v = ids[i];
    const uint64_t hv = hs[i];
    int j = i - 1;
    while (j >= 0 && before(hv, v, hs[j], ids[j])) {
      ids[j + 1] = ids[j];
      hs[j + 1] = hs[j];
      --j;
    }
    ids[j + 1] = v;
    hs[j + 1] = hv;
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

}  // namespace psync::check::detail
