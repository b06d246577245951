// expand_state.h: one state's share of a breadth-first level, written once
// for the one-thread loop (search.cpp) and the threads (parallel.cpp): the
// liveness windows that start there, the symmetry guard, and each successor
// sorted into a violation, a fault or a canonical state to keep. What is done
// with each finding is the sink's: acted on at once (one thread), or recorded
// at its position in the one-thread order (threads). Internal to runtime/check.
#ifndef PSYNC_CHECK_EXPAND_STATE_H
#define PSYNC_CHECK_EXPAND_STATE_H

#include "explorer.h"

namespace psync::check::detail {

// The errors a level can end with, the same from either loop.
inline constexpr const char* kUnsoundSymmetry =
    "--symmetry is unsound for this protocol: a state and its permutation have different "
    "successors or invariant values (does it read `me` or a pid?); check without symmetry";
inline constexpr const char* kRandomTooWide = "random(k) with k > 65536 cannot be explored exhaustively";

// The sink's interface (each a member function, inlined):
//   wants_liveness(idx)             check the windows that start at state idx?
//   liveness_checked()              one window check done
//   liveness_fails(idx, spec, rank) spec's window fails from idx (rank: its place in live_specs)
//   liveness_ends(idx)              after a failure: idx is not expanded
//   symmetry_broken(idx)            the sampled symmetry guard failed at idx
//   violation(idx, k, spec, Y)      successor k of idx violates spec (a property, or an
//                                   invariant of a successor with a fault); ends idx
//   fault(idx, k, code, Y)          successor k has a decide conflict (1) or range error (2)
//   successor(idx, k, C, Y)         successor k, canonical form C, to be kept if new; false ends idx
//   expanded(idx, count)            idx emitted `count` successors
//   too_wide(idx)                   random(k) too wide for exhaustive exploration at idx
template <class Sink>
void Explorer::expand_state(uint32_t idx, int depth, int bound, bool check_live, const std::vector<int>& live_specs,
                            Sink& sink) {
  const uint8_t* X = store_->at(idx);
  const int64_t r = round_at(X, depth);  // depth, or its canonical stand-in
  if (check_live && sink.wants_liveness(idx)) {
    int rank = 0;
    for (int s : live_specs) {
      sink.liveness_checked();
      if (!liveness_holds(X, r, static_cast<int>(desc_.specs[s].after_rounds), s, nullptr)) {
        if (!stopping_) sink.liveness_fails(idx, s, rank);
        break;
      }
      ++rank;
    }
    if (stopping_ || sink.liveness_ends(idx)) return;
  }
  if (depth >= bound) return;
  if (o_.symmetry && n_ > 1 && (idx < 64 || idx % 4096 == 0) && !symmetric_at(X, r)) {
    sink.symmetry_broken(idx);
    return;
  }
  uint32_t k = 0;
  expand(X, r, P_.assumes, [&](const uint8_t* Y, const uint32_t*, const uint64_t*) {
    const uint32_t at = k++;
    int bad = failing_property(X, Y, r);
    const int fault = fault_in(Y);
    if (bad < 0 && fault) bad = failing_invariant(Y, r + 1);
    if (bad >= 0) {
      sink.violation(idx, at, bad, Y);
      return false;
    }
    if (fault) {
      // A decide conflict or a range error is a violation too, but at equal
      // length a violated spec of the user's is the better report: the sink
      // keeps the first, the level goes on, nothing is explored past it.
      sink.fault(idx, at, fault, Y);
      return true;
    }
    canonicalise(Y, C_.data());
    return sink.successor(idx, at, C_.data(), Y);
  });
  sink.expanded(idx, k);
  if (P_.chooser.too_wide) sink.too_wide(idx);
}

// The invariant a state first found at BFS depth `depth` + 1 violates, or -1.
inline int Explorer::new_state_invariant(const uint8_t* C, int depth) {
  return failing_invariant(C, round_at(C, depth + 1));
}

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_EXPAND_STATE_H
