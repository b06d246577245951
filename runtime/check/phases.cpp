// phases.cpp: the explorer's phase abstraction (docs/checker.md, "Unbounded
// verdicts for protocols that read phase"): a global state's phase values
// and ballots are renamed by their order relative to the current phase, and
// the phase itself is kept modulo the coordinator's rotation, so that the
// reachable canonical states are finitely many and the search closes.
#include "explorer.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace psync::check::detail {

// Reads the descriptor's phase words for this n (abi.h, version 5) and picks
// the constants of the renaming: D, the window of recent phases kept at
// their distance; L, the modulus the phase is kept by; B, the first
// canonical phase, a multiple of L far enough above D that the old values
// of n processes fit between 0 and phi - D.
std::string Explorer::setup_phases() {
  phases_ = false;
  if (desc_.phase_words == nullptr) return "";
  uint32_t none = 0;
  phase_words_.resize(desc_.phase_words(n_, &none, 0));
  if (!phase_words_.empty())
    desc_.phase_words(n_, phase_words_.data(), static_cast<uint32_t>(phase_words_.size()));
  for (uint32_t w : phase_words_)
    if ((w >> 1) % 8 != 0 || (w >> 1) + 8 > ss_)
      return "the descriptor's phase_words gave a word outside the state (byte " + std::to_string(w >> 1) + ")";
  phase_D_ = desc_.phase_window;
  phase_L_ = std::max<int64_t>(1, desc_.phase_modulus);
  if (desc_.phase_flags & PSYNC_PHASE_MOD_N) phase_L_ = std::lcm(phase_L_, static_cast<int64_t>(n_));
  const int64_t need = phase_D_ + static_cast<int64_t>(n_) * static_cast<int64_t>(phase_words_.size()) + 1;
  phase_B_ = (need + phase_L_ - 1) / phase_L_ * phase_L_;
  if (phase_B_ == 0) phase_B_ = phase_L_;
  const int64_t k = desc_.num_rounds;
  if ((phase_B_ + phase_L_) * k > INT32_MAX / 2) return "the phase abstraction's canonical rounds do not fit in 31 bits";
  // Version 9: per round of the cycle, the phase words whose stale values
  // fold, and whether old ballots are ranked whole.
  stale_fold_.assign(desc_.num_rounds, {});
  if (desc_.stale_words != nullptr)
    for (uint32_t i = 0; i < desc_.num_rounds; ++i) {
      std::vector<uint32_t> words(desc_.stale_words(n_, i, nullptr, 0));
      if (!words.empty()) desc_.stale_words(n_, i, words.data(), static_cast<uint32_t>(words.size()));
      if (words.empty()) continue;
      stale_fold_[i].assign(phase_words_.size(), 0);
      for (uint32_t w : words) {
        auto at = std::find(phase_words_.begin(), phase_words_.end(), w);
        if (at == phase_words_.end()) return "the descriptor's stale_words gave a word that is not a phase word";
        stale_fold_[i][static_cast<size_t>(at - phase_words_.begin())] = 1;
      }
    }
  whole_ballots_ = (desc_.stale_flags & PSYNC_STALE_WHOLE_BALLOTS) != 0;
  phases_ = true;
  return "";
}

// In place, on a global state at round r of phase p = r / k with p > D
// (earlier states are stored as they are): the phase becomes
// phi = B + (p mod L) and the round phi * k + r mod k. A phase value v
// becomes
//   v            if v <= 0 (negative constants, and 0, which `b / n` of a
//                negative ballot yields);
//   phi + v - p  if v >= p - D (the window: `phase - c` keeps its meaning);
//   phi - D - m + rank(v) otherwise, the m distinct older values packed in
//                their order just below the window;
// and a ballot b >= 0 becomes rename(b / n) * n + b % n. Every comparison
// the program may make (sema/phase_order.cpp) has the same outcome before
// and after, so the renamed state has the renamed futures; and a canonical
// state is its own canonical form.
// Before that (docs/checker.md, "Stale phase values"): a stale value (> 0,
// older than the window) of a word that folds before this round becomes 1;
// and with whole ballots, the old positive ballots become 1 + their rank
// among the state's old ballots (their phases then take no rank among the
// phase values).
void Explorer::rename_phases(uint8_t* C) {
  const int64_t k = desc_.num_rounds;
  const int64_t r = round_in(C);
  const int64_t p = r / k;
  if (p <= phase_D_) return;
  const int64_t phi = phase_B_ + p % phase_L_;
  const int64_t n = n_;
  auto phase_of = [&](uint32_t w, int64_t v) { return (w & 1) && v >= 0 ? v / n : v; };
  auto stale = [&](uint32_t w, int64_t v) { return v > 0 && phase_of(w, v) < p - phase_D_; };
  const std::vector<uint8_t>& fold = stale_fold_[static_cast<size_t>(r % k)];
  auto folded = [&](size_t j, int64_t v) { return !fold.empty() && fold[j] && stale(phase_words_[j], v) ? 1 : v; };
  phase_old_.clear();
  old_ballots_.clear();
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(C, i);
    for (size_t j = 0; j < phase_words_.size(); ++j) {
      const uint32_t w = phase_words_[j];
      const int64_t raw = folded(j, load_word(s, w >> 1));
      if (whole_ballots_ && (w & 1)) {
        if (stale(w, raw)) old_ballots_.push_back(raw);
        continue;
      }
      const int64_t v = phase_of(w, raw);
      if (v > 0 && v < p - phase_D_) phase_old_.push_back(v);
    }
  }
  for (std::vector<int64_t>* old : {&phase_old_, &old_ballots_}) {
    std::sort(old->begin(), old->end());
    old->erase(std::unique(old->begin(), old->end()), old->end());
  }
  const int64_t old_base = phi - phase_D_ - static_cast<int64_t>(phase_old_.size());
  auto rename = [&](int64_t v) -> int64_t {
    if (v <= 0) return v;
    if (v >= p - phase_D_) return phi + (v - p);
    return old_base + (std::lower_bound(phase_old_.begin(), phase_old_.end(), v) - phase_old_.begin());
  };
  auto renamed = [&](size_t j, int64_t v) -> int64_t {
    const uint32_t w = phase_words_[j];
    v = folded(j, v);
    if (!(w & 1)) return rename(v);
    if (whole_ballots_ && stale(w, v))
      return 1 + (std::lower_bound(old_ballots_.begin(), old_ballots_.end(), v) - old_ballots_.begin());
    return v < 0 ? v : rename(v / n) * n + v % n;
  };
  phase_scratch_.resize(ss_);
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(C, i);
    bool changed = false;
    for (size_t j = 0; j < phase_words_.size(); ++j)
      changed = changed || renamed(j, load_word(s, phase_words_[j] >> 1)) != load_word(s, phase_words_[j] >> 1);
    if (!changed) continue;
    std::memcpy(phase_scratch_.data(), s, ss_);
    for (size_t j = 0; j < phase_words_.size(); ++j) {
      const int64_t v = renamed(j, load_word(s, phase_words_[j] >> 1));
      std::memcpy(phase_scratch_.data() + (phase_words_[j] >> 1), &v, 8);
    }
    const uint32_t id = procs_->insert(phase_scratch_.data()).first;
    std::memcpy(C + 4 + 4 * static_cast<size_t>(i), &id, 4);
  }
  const int32_t canon = static_cast<int32_t>(phi * k + r % k);
  std::memcpy(C, &canon, 4);
}

}  // namespace psync::check::detail
