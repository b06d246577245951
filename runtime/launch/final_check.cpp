// final_check.cpp: `psyncc run` on a protocol without a decision evaluates
// its invariants over the replicas' final states: each replica prints its
// state (hex) as an instance ends, and the descriptor's spec evaluators judge
// the n states of one instance together, as the checker judges a global state.
#include "launch/launch.h"

#include <psync/abi.h>

#include <cstring>
#include <limits>
#include <map>

namespace psync::launch {

namespace {

bool decode_hex(const std::string& hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2) return false;
  out.resize(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

// One instance: every replica's final state, all at one round, or why not.
InstanceInvariants judge_instance(const InvariantPlan& plan, int n, uint64_t instance,
                                  const std::map<int, const FinalState*>& by_id) {
  InstanceInvariants v;
  v.instance = instance;
  const psync_protocol_desc& d = *plan.desc;
  std::string missing;
  for (int i = 0; i < n; ++i)
    if (!by_id.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty()) {
    // A crashed replica has no final state, and a formula over all
    // processes cannot be judged without it.
    v.why_not = "no final state from replica " + missing;
    return v;
  }
  v.round = by_id.begin()->second->round;
  for (auto& [id, f] : by_id)
    if (f->round != v.round) {
      v.why_not = "the replicas ended in different rounds (" + std::to_string(v.round) + " and " +
                  std::to_string(f->round) + ")";
      return v;
    }
  // Generated code may rely on round >= 0 (docs/abi.md, section 5), and the
  // round after it must exist: a line claiming another round is not judged.
  if (v.round < 0 || v.round == std::numeric_limits<int64_t>::max()) {
    v.why_not = "the replicas reported round " + std::to_string(v.round) + ", outside 0.." +
                std::to_string(std::numeric_limits<int64_t>::max() - 1);
    return v;
  }
  const uint64_t size = d.state_size(n);
  std::vector<std::vector<unsigned char>> states(static_cast<size_t>(n));
  std::vector<const void*> ptrs(static_cast<size_t>(n));
  for (auto& [id, f] : by_id) {
    std::vector<unsigned char>& s = states[size_t(id)];
    if (!decode_hex(f->state, s) || s.size() != size) {
      v.why_not = "replica " + std::to_string(id) + "'s final state is missing or not " + std::to_string(size) +
                  " bytes (a different build?)";
      return v;
    }
    ptrs[size_t(id)] = s.data();
  }
  // The checker judges the state after round r as the state at round r + 1.
  psync_env env{};
  env.n = n;
  env.round = v.round + 1;
  env.phase = d.num_rounds ? env.round / int64_t(d.num_rounds) : 0;
  env.consts = plan.consts.data();
  for (uint32_t s = 0; s < d.num_specs; ++s)
    if (d.specs[s].kind == PSYNC_SPEC_INVARIANT && !d.specs[s].eval(ptrs.data(), &env))
      v.violated.push_back(d.specs[s].name);
  v.evaluated = true;
  return v;
}

}  // namespace

std::vector<InstanceInvariants> evaluate_final_invariants(const InvariantPlan& plan, int n, uint64_t instances,
                                                          const std::vector<FinalState>& finals) {
  std::map<uint64_t, std::map<int, const FinalState*>> by_instance;
  for (const FinalState& f : finals)
    if (f.instance < instances && f.id >= 0 && f.id < n) by_instance[f.instance][f.id] = &f;
  std::vector<InstanceInvariants> out;
  if (!plan.desc) return out;
  for (auto& [instance, by_id] : by_instance) out.push_back(judge_instance(plan, n, instance, by_id));
  return out;
}

}  // namespace psync::launch
