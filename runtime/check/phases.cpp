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
void Explorer::rename_phases(uint8_t* C) {
  const int64_t k = desc_.num_rounds;
  const int64_t r = round_in(C);
  const int64_t p = r / k;
  if (p <= phase_D_) return;
  const int64_t phi = phase_B_ + p % phase_L_;
  const int64_t n = n_;
  auto phase_of = [&](uint32_t w, int64_t v) { return (w & 1) && v >= 0 ? v / n : v; };
  phase_old_.clear();
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(C, i);
    for (uint32_t w : phase_words_) {
      const int64_t v = phase_of(w, load_word(s, w >> 1));
      if (v > 0 && v < p - phase_D_) phase_old_.push_back(v);
    }
  }
  std::sort(phase_old_.begin(), phase_old_.end());
  phase_old_.erase(std::unique(phase_old_.begin(), phase_old_.end()), phase_old_.end());
  const int64_t old_base = phi - phase_D_ - static_cast<int64_t>(phase_old_.size());
  auto rename = [&](int64_t v) -> int64_t {
    if (v <= 0) return v;
    if (v >= p - phase_D_) return phi + (v - p);
    return old_base + (std::lower_bound(phase_old_.begin(), phase_old_.end(), v) - phase_old_.begin());
  };
  auto renamed = [&](uint32_t w, int64_t v) {
    if (!(w & 1)) return rename(v);
    return v < 0 ? v : rename(v / n) * n + v % n;
  };
  phase_scratch_.resize(ss_);
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(C, i);
    bool changed = false;
    for (uint32_t w : phase_words_) changed = changed || renamed(w, load_word(s, w >> 1)) != load_word(s, w >> 1);
    if (!changed) continue;
    std::memcpy(phase_scratch_.data(), s, ss_);
    for (uint32_t w : phase_words_) {
      const int64_t v = renamed(w, load_word(s, w >> 1));
      std::memcpy(phase_scratch_.data() + (w >> 1), &v, 8);
    }
    const uint32_t id = procs_->insert(phase_scratch_.data()).first;
    std::memcpy(C + 4 + 4 * static_cast<size_t>(i), &id, 4);
  }
  const int32_t canon = static_cast<int32_t>(phi * k + r % k);
  std::memcpy(C, &canon, 4);
}

}  // namespace psync::check::detail
