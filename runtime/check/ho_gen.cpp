// ho_gen.cpp: the successors of a state under HO predicates, generated from
// the predicates' shape (abi.h, psync_spec_desc.ho_shape) instead of filtering
// all 2^(n*n) heard-of vectors; docs/checker.md ("Heard-of generation") gives
// the argument that the result is the same set.
#include "explorer.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace psync::check::detail {

bool Explorer::ho_shapes_usable(const std::vector<int>& preds) const {
  if (o_.brute_force_ho) return false;
  for (int s : preds)
    if (!(desc_.specs[s].ho_shape & PSYNC_HO_LOCAL) || desc_.specs[s].pred_local == nullptr) return false;
  return true;
}

bool Explorer::ho_generation_bounded(const std::vector<int>& preds) const {
  if (!ho_shapes_usable(preds)) return false;
  bool uniform = false, monotone = true;
  for (int s : preds) {
    uint32_t sh = desc_.specs[s].ho_shape;
    uniform = uniform || (sh & PSYNC_HO_UNIFORM);
    monotone = monotone && (!(sh & PSYNC_HO_RESIDUAL) || (sh & PSYNC_HO_MONOTONE));
  }
  return uniform || monotone;
}

std::string Explorer::why_brute_force(const std::vector<int>& preds) const {
  if (o_.brute_force_ho) return " (--ho-brute-force)";
  for (int s : preds) {
    const psync_spec_desc& sp = desc_.specs[s];
    const std::string name = std::string("`") + (sp.name ? sp.name : "?") + "`";
    if (!(sp.ho_shape & PSYNC_HO_LOCAL)) return " (" + name + " has no heard-of shape)";
    if ((sp.ho_shape & PSYNC_HO_RESIDUAL) && !(sp.ho_shape & PSYNC_HO_MONOTONE))
      return " (" + name + " relates two processes' heard-of sets in a way that is not upward closed)";
  }
  return "";
}

// Under predicates P = [uniform] && forall p: L_p(ho(p)) && R(ho) (abi.h):
//  1. A_i, the sets process i may hear: L_i holds (every pred_local) and
//     the round can end with mailbox s & S_i.
//  2. uniform: the candidates are (s, ..., s) for s in every A_i.
//     Otherwise each process picks one (set, outcome) pair. When every
//     residual R is upward closed, only the maximal sets of A_i leading to
//     each outcome are tried: a vector of smaller sets with the same
//     outcomes is dominated by one of them, which satisfies the L_i (its
//     sets are in A_i) and R (upward closed). Otherwise every set of A_i.
//  3. Every candidate is filtered by the full predicates, so a successor is
//     emitted only from an admissible vector; tuples already emitted are
//     skipped without calling them.
// Returns false when emit asked to stop.
bool Explorer::emit_generated(int64_t r, const std::vector<int>& preds, const void* const* xp, Emit emit) {
  const uint64_t full = uint64_t{1} << n_;
  psync_env env = P_.env(0, r);
  bool uniform = false, monotone = true;
  for (int s : preds) {
    uint32_t sh = desc_.specs[s].ho_shape;
    uniform = uniform || (sh & PSYNC_HO_UNIFORM);
    monotone = monotone && (!(sh & PSYNC_HO_RESIDUAL) || (sh & PSYNC_HO_MONOTONE));
  }
  // Every set, largest first (the order the maximal sets are found in).
  if (gen_order_.size() != full) {
    gen_order_.clear();
    for (int k = n_; k >= 0; --k)
      for (uint64_t s = 0; s < full; ++s)
        if (std::popcount(s) == k) gen_order_.push_back(s);
  }
  // 1. Admissible sets per process, largest first; with an upward-closed
  // residual and no `uniform`, directly the maximal ones per outcome
  // (step 2b), calling pred_local only on sets not already dominated.
  const bool maximal_only = !uniform && monotone;
  gen_sets_.resize(static_cast<size_t>(n_));  // cleared, not freed: this runs per state
  gen_choices_.resize(static_cast<size_t>(n_));
  for (int i = 0; i < n_; ++i) {
    const Local& L = *lp_[i];
    auto& A = gen_sets_[static_cast<size_t>(i)];
    auto& C = gen_choices_[static_cast<size_t>(i)];
    A.clear();
    C.clear();
    if (maximal_only) {
      if (gen_kept_.size() < L.count) gen_kept_.resize(L.count);
      for (uint32_t k = 0; k < L.count; ++k) gen_kept_[k].clear();
    }
    auto dominated = [&](uint64_t s, uint32_t j) {
      for (uint64_t t : gen_kept_[L.tab_ids[j]])
        if ((s & ~t) == 0) return true;
      return false;
    };
    for (uint64_t s : gen_order_) {
      const uint64_t m = s & senders_to_[i];
      const uint32_t b = L.tab_begin[m], e = b + L.tab_len[m];
      if (b == e) continue;  // the round cannot end with this mailbox
      if (maximal_only) {
        bool needed = false;
        for (uint32_t j = b; j < e && !needed; ++j) needed = !dominated(s, j);
        if (!needed) continue;
      }
      bool ok = true;
      for (size_t k = 0; k < preds.size() && ok; ++k)
        ok = desc_.specs[preds[k]].pred_local(xp, i, s, &env) != 0;
      if (!ok) continue;
      if (!maximal_only) {
        A.push_back(s);
        continue;
      }
      // 2b. The maximal sets leading to each outcome: by decreasing size, a
      // set is kept unless a kept set of the same outcome contains it.
      for (uint32_t j = b; j < e; ++j) {
        if (dominated(s, j)) continue;
        gen_kept_[L.tab_ids[j]].push_back(s);
        C.push_back({s, j, 1});
      }
    }
    if (A.empty() && C.empty()) return true;  // nobody can satisfy it: no successor
  }

  uint64_t stride[PSYNC_MAX_N];
  uint64_t total = 1;
  bool huge = false;
  for (int i = n_ - 1; i >= 0; --i) {
    stride[i] = total;
    if (total > (uint64_t{1} << 40) / std::max<uint32_t>(1, lp_[i]->count)) huge = true;
    total *= lp_[i]->count;
  }
  const bool bitmap = !huge && total <= (uint64_t{1} << 24);
  if (bitmap) seen_bits_.assign((total + 63) / 64, 0);
  seen_big_.clear();
  auto seen = [&](uint64_t key) {
    return bitmap ? (seen_bits_[key >> 6] >> (key & 63) & 1) != 0 : seen_big_.count(key) != 0;
  };
  auto mark = [&](uint64_t key) {
    if (bitmap) seen_bits_[key >> 6] |= uint64_t{1} << (key & 63);
    else seen_big_.insert(key);
  };
  auto admissible = [&](const uint64_t* ho) {
    for (int s : preds)
      if (!desc_.specs[s].pred(xp, ho, &env)) return false;
    return true;
  };

  // A candidate: per process its set and a range of tab_ids (the outcomes
  // it may take with that set); emits every unseen tuple of outcomes.
  uint64_t ho[PSYNC_MAX_N] = {};
  uint32_t first[PSYNC_MAX_N], len[PSYNC_MAX_N], pick[PSYNC_MAX_N], ids[PSYNC_MAX_N];
  auto key_of = [&]() {
    uint64_t key = 0;
    for (int i = 0; i < n_; ++i) key += lp_[i]->tab_ids[first[i] + pick[i]] * stride[i];
    return key;
  };
  auto next_pick = [&]() {
    for (int i = n_ - 1; i >= 0; --i) {
      if (pick[i] + 1 < len[i]) { ++pick[i]; return true; }
      pick[i] = 0;
    }
    return false;
  };
  auto try_candidate = [&]() {
    std::fill(pick, pick + n_, 0);
    bool fresh = false;
    do fresh = !seen(key_of());
    while (!fresh && next_pick());
    if (!fresh || !admissible(ho)) return true;
    std::fill(pick, pick + n_, 0);
    do {
      uint64_t key = key_of();
      if (seen(key)) continue;
      mark(key);
      for (int i = 0; i < n_; ++i) {
        ids[i] = lp_[i]->tab_ids[first[i] + pick[i]];
        std::memcpy(Y_.data() + 4 + 4 * static_cast<size_t>(i), &lp_[i]->ids[ids[i]], 4);
      }
      if (!emit(Y_.data(), ids, static_cast<const uint64_t*>(ho))) return false;
    } while (next_pick());
    return true;
  };

  if (uniform) {
    // 2a. The sets every process admits, each as the whole vector.
    gen_count_.assign(full, 0);
    for (int i = 0; i < n_; ++i)
      for (uint64_t s : gen_sets_[static_cast<size_t>(i)]) ++gen_count_[s];
    for (uint64_t s : gen_order_) {
      if (gen_count_[s] != n_) continue;
      for (int i = 0; i < n_; ++i) {
        const Local& L = *lp_[i];
        ho[i] = s;
        first[i] = L.tab_begin[s & senders_to_[i]];
        len[i] = L.tab_len[s & senders_to_[i]];
      }
      if (!try_candidate()) return false;
    }
    return true;
  }

  // 2c. Without an upward-closed residual, every admissible set.
  if (!maximal_only)
    for (int i = 0; i < n_; ++i) {
      const Local& L = *lp_[i];
      for (uint64_t s : gen_sets_[static_cast<size_t>(i)])
        gen_choices_[static_cast<size_t>(i)].push_back(
            {s, L.tab_begin[s & senders_to_[i]], L.tab_len[s & senders_to_[i]]});
    }
  // 3. The product of the choices, filtered.
  size_t at[PSYNC_MAX_N] = {};
  for (;;) {
    for (int i = 0; i < n_; ++i) {
      const GenChoice& c = gen_choices_[static_cast<size_t>(i)][at[i]];
      ho[i] = c.set;
      first[i] = c.first;
      len[i] = c.len;
    }
    if (!try_candidate()) return false;
    int i = n_ - 1;
    for (; i >= 0; --i) {
      if (++at[i] < gen_choices_[static_cast<size_t>(i)].size()) break;
      at[i] = 0;
    }
    if (i < 0) return true;
  }
}

}  // namespace psync::check::detail
