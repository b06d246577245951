// lockstep.h: an in-process lock-step driver over the protocol ABI, for
// tests of generated code. Every process sends, then every process receives
// the messages of its heard-of set, then updates; no network, no timing.
// The round itself is round/round.h's, as for every other driver.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "psync/abi.h"
#include "round/round.h"

namespace psync::test {

class Lockstep {
 public:
  /// ho(r, p) is the heard-of set of process p in round r (default: all).
  using HoFn = std::function<uint64_t(int64_t round, int p)>;

  Lockstep(const psync_protocol_desc& d, int n, const std::vector<std::vector<int64_t>>& inputs)
      : d_(d), n_(n) {
    consts_.assign(d.num_consts, 0);
    if (d.const_defaults) d.const_defaults(n, consts_.data());
    hooks_.self = this;
    hooks_.coin = [](void* self, const psync_env*) -> int32_t {
      auto* t = static_cast<Lockstep*>(self);
      ++t->coin_calls;
      return t->coin_value;
    };
    hooks_.random = [](void* self, const psync_env*, int64_t k) -> int64_t {
      auto* t = static_cast<Lockstep*>(self);
      ++t->random_calls;
      return k - 1;
    };
    hooks_.decided = [](void* self, const psync_env* env, const void*) {
      static_cast<Lockstep*>(self)->decided_calls.push_back(env->me);
    };
    hooks_.conflict = [](void* self, const psync_env* env, const void*) {
      static_cast<Lockstep*>(self)->conflicts.push_back(env->me);
    };
    hooks_.log = [](void* self, const psync_env*, const char* text, uint64_t len) {
      static_cast<Lockstep*>(self)->logs.emplace_back(text, len);
    };
    hooks_.range_error = [](void* self, const psync_env*, int64_t value, const char* where) {
      static_cast<Lockstep*>(self)->range_errors.push_back(std::to_string(value) + " " + where);
    };
    size_t sz = d.state_size(n);
    states_.assign(n, std::vector<uint64_t>(sz / 8 + 1, 0));
    for (int p = 0; p < n; ++p) {
      psync_env e = env(p);
      std::vector<int64_t> in = p < static_cast<int>(inputs.size()) ? inputs[p] : std::vector<int64_t>{};
      in.resize(d.num_inputs, 0);
      d.init(states_[p].data(), &e, in.data());
    }
  }

  psync_env env(int p) const {
    psync_env e{};
    e.n = n_;
    e.me = p;
    e.round = round_;
    e.phase = round_ / d_.num_rounds;
    e.consts = consts_.data();
    e.hooks = &hooks_;
    return e;
  }

  /// Runs one round with the given heard-of sets, through the round step
  /// every driver shares (round/round.h): own message first, then the
  /// others in increasing id order, stopping where the round closes.
  void step(const HoFn& ho = nullptr) {
    const psync_round_desc& rd = d_.rounds[round_ % d_.num_rounds];
    size_t msz = rd.msg_size(n_);
    size_t box = 8 + msz * n_;
    std::vector<std::vector<uint64_t>> out(n_, std::vector<uint64_t>(box / 8 + 1, 0));
    for (int p = 0; p < n_; ++p) {
      psync_env e = env(p);
      psync::round::run_send(rd, e, states_[p].data(), out[p].data());
    }
    auto slot = [&](int from, int to) {
      return reinterpret_cast<const unsigned char*>(out[from].data()) + 8 + to * msz;
    };
    auto sent = [&](int from, int to) { return ((out[from][0] >> to) & 1) != 0; };
    for (int p = 0; p < n_; ++p) {
      if (halted(p)) continue;
      uint64_t heard = ho ? ho(round_, p) : ~0ull;
      std::vector<uint64_t> mbox(box / 8 + 1, 0);
      psync_env e = env(p);
      const psync::round::Step st(rd, e, msz);
      psync::round::Cursor c;
      bool own = sent(p, p) && ((heard >> p) & 1);
      st.open(c, states_[p].data(), mbox.data(), own ? slot(p, p) : nullptr);
      for (int q = 0; q < n_; ++q)
        if (q != p && sent(q, p) && ((heard >> q) & 1)) st.offer(c, states_[p].data(), mbox.data(), q, slot(q, p));
      go_seen |= c.closed == psync::round::Closed::Go;
      st.complete(c, states_[p].data(), mbox.data());
    }
    ++round_;
  }

  void run(int rounds, const HoFn& ho = nullptr) {
    for (int i = 0; i < rounds; ++i) step(ho);
  }

  const psync_proc_header& header(int p) const {
    return *reinterpret_cast<const psync_proc_header*>(states_[p].data());
  }
  bool decided(int p) const { return header(p).decided != 0; }
  bool halted(int p) const { return header(p).halted != 0; }
  int64_t decision(int p) const {
    int64_t v;
    std::memcpy(&v, reinterpret_cast<const char*>(states_[p].data()) + d_.output.offset, 8);
    return v;
  }
  std::string print(int p) const {
    char buf[1024];
    psync_env e = env(p);
    d_.print_state(states_[p].data(), &e, buf, sizeof buf);
    return buf;
  }
  std::vector<const void*> state_ptrs() const {
    std::vector<const void*> v;
    for (auto& s : states_) v.push_back(s.data());
    return v;
  }
  void* state(int p) { return states_[p].data(); }
  /// Evaluates the invariant or liveness goal named `name` on the current states.
  int eval_spec(const std::string& name) const {
    for (uint32_t i = 0; i < d_.num_specs; ++i)
      if (name == d_.specs[i].name && d_.specs[i].eval) {
        auto ptrs = state_ptrs();
        psync_env e = env(0);
        return d_.specs[i].eval(ptrs.data(), &e);
      }
    return -1;
  }
  int64_t round() const { return round_; }

  int coin_calls = 0;
  int random_calls = 0;
  int32_t coin_value = 1;
  bool go_seen = false;
  std::vector<int> decided_calls;
  std::vector<int> conflicts;
  std::vector<std::string> logs;          ///< hooks.log lines
  std::vector<std::string> range_errors;  ///< "VALUE file:line:col: what" per hooks.range_error

 private:
  const psync_protocol_desc& d_;
  int n_;
  int64_t round_ = 0;
  std::vector<int64_t> consts_;
  psync_hooks hooks_{};
  std::vector<std::vector<uint64_t>> states_;
};

}  // namespace psync::test
