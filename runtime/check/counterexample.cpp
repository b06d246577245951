// counterexample.cpp: from the parent links of the breadth-first search to a
// concrete trace: each step is re-expanded and the successor with the
// recorded canonical form is taken, with its HO sets, messages and coin
// outcomes (capture_step).
#include "byzantine.h"
#include "explorer.h"

#include <cstring>

namespace psync::check::detail {

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
    // Logs and range errors: those of the send, then those of the round's
    // end (recorded while capturing, see Explorer::run).
    std::vector<std::string> ev;
    if (alt_[i] < sends_[i].events.size()) ev = sends_[i].events[alt_[i]];
    if (ids[i] < L.events.size()) ev.insert(ev.end(), L.events[ids[i]].begin(), L.events[ids[i]].end());
    st.events.push_back(std::move(ev));
  }
  for (int j = 0; j < n_; ++j) {
    uint64_t to = static_cast<uint64_t>(load_word(outbox_[j], 0));
    for (int i = 0; i < n_; ++i) {
      if (!(to >> i & 1) || is_faulty(proc(X, i))) continue;  // what a liar hears is of no consequence
      TraceMessage m;
      m.from = j;
      m.to = i;
      uint64_t mask = ho ? (ho[i] & senders_to_[i]) : lp_[i]->masks[ids[i]];
      if (is_halted(proc(X, i))) mask = 0;
      m.delivered = (mask >> j & 1) != 0;
      const uint8_t* slot = outbox_[j] + 8 + static_cast<size_t>(i) * msz;
      for (size_t w = 0; w + 8 <= msz; w += 8) m.words.push_back(load_word(slot, w));
      m.value = P_.print_msg(slot, j, r);
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
bool Explorer::replay(const std::vector<std::vector<uint8_t>>& path, int64_t r_start,
                      const std::vector<int>& preds, Accept last_ok, std::vector<uint8_t>* final_state) {
  std::vector<uint8_t> X = path[0];
  std::vector<uint8_t> canon(gs_);
  // PSYNC_CHECK_TEST_FAULT=corrupt-replay: no successor matches (the tests of the internal-error status).
  const bool corrupt = o_.test_fault == "corrupt-replay";
  if (r_start == 0) start_trace(X.data());
  for (size_t t = 1; t < path.size(); ++t) {
    int64_t r = r_start + static_cast<int64_t>(t) - 1;
    bool last = t + 1 == path.size();
    bool found = false;
    std::vector<uint8_t> next;
    TraceStep step;
    expand(X.data(), r, preds, [&](const uint8_t* Y, const uint32_t* ids, const uint64_t* ho) {
      canonicalise(Y, canon.data());
      if (corrupt || std::memcmp(canon.data(), path[t].data(), gs_) != 0) return true;
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

}  // namespace psync::check::detail
