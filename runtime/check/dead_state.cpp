// dead_state.cpp: the explorer's dead-word reduction (docs/checker.md,
// "Dead state words"): at a round boundary, the state words that no future
// observation depends on (descriptor's dead_words, ABI 8, derived by the
// compiler's compiler/sema/dead_state.cpp) are zeroed in the stored state,
// so states that differ only there are explored once.
#include "explorer.h"

#include <cstring>

namespace psync::check::detail {

// Reads the dead words of every round of the cycle for this n, checking
// that each is a whole word inside the process state.
std::string Explorer::setup_dead_words() {
  dead_ = false;
  dead_words_.assign(desc_.num_rounds, {});
  if (desc_.dead_words == nullptr) return "";
  bool any = false;
  for (uint32_t i = 0; i < desc_.num_rounds; ++i) {
    std::vector<uint32_t>& w = dead_words_[i];
    w.resize(desc_.dead_words(n_, i, nullptr, 0));
    if (!w.empty()) desc_.dead_words(n_, i, w.data(), static_cast<uint32_t>(w.size()));
    for (uint32_t off : w)
      if (off % 8 != 0 || off < sizeof(psync_proc_header) || off + 8 > ss_)
        return "the descriptor's dead_words gave a word outside the state's variables (byte " + std::to_string(off) +
               ")";
    any = any || !w.empty();
  }
  dead_ = any;
  return "";
}

// In place, on a global state about to run round r mod k: every process
// state with a nonzero dead word is replaced by its copy with those words
// zeroed (interned like any process state). Faulty markers are all zero
// there already.
void Explorer::zero_dead_words(uint8_t* C) {
  const std::vector<uint32_t>& words =
      dead_words_[static_cast<size_t>(round_in(C) % static_cast<int64_t>(desc_.num_rounds))];
  if (words.empty()) return;
  dead_scratch_.resize(ss_);
  for (int i = 0; i < n_; ++i) {
    const uint8_t* s = proc(C, i);
    bool live_bits = false;
    for (uint32_t off : words) live_bits = live_bits || load_word(s, off) != 0;
    if (!live_bits) continue;
    std::memcpy(dead_scratch_.data(), s, ss_);
    for (uint32_t off : words) std::memset(dead_scratch_.data() + off, 0, 8);
    const uint32_t id = procs_->insert(dead_scratch_.data()).first;
    std::memcpy(C + 4 + 4 * static_cast<size_t>(i), &id, 4);
  }
}

}  // namespace psync::check::detail
