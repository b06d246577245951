// misc.cpp: tiny protocols that pin down one rule of the checker each:
// branching on coin()/random(k), decide conflicts, halted processes staying
// put.
#include "protocols.h"
#include "util.h"

namespace psync::fixtures {
namespace {

constexpr size_t kDecision = 3;

uint64_t four_words(int32_t) { return 4 * 8; }
uint64_t no_message(int32_t) { return 0; }

void init_nothing(void*, const psync_env*, const int64_t*) {}

int32_t print_decision(const void* s, const psync_env*, char* buf, uint64_t cap) {
  return std::snprintf(buf, cap, "decision=%lld", static_cast<long long>(word(s, kDecision)));
}

void send_nothing(void*, const psync_env*, void*) {}

int32_t agreement(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    for (int q = 0; q < env->n; ++q)
      if (header(st[p]).decided && header(st[q]).decided && word(st[p], kDecision) != word(st[q], kDecision))
        return 0;
  return 1;
}

const psync_spec_desc kAgreement[] = {{"agreement", PSYNC_SPEC_INVARIANT, 0, agreement, nullptr, nullptr}};

// CoinDecide: const k = 2; round flip { update { decide(k == 2 ? coin() : random(k)) } }
const psync_field kConsts[] = {{"k", PSYNC_KIND_INT, 0}};
void k_default(int32_t, int64_t* out) { out[0] = 2; }
void flip_update(void* s, const psync_env* env, const void*) {
  int64_t k = env->consts[0];
  decide(s, env, kDecision, k == 2 ? coin(env) : random_below(env, k));
}
const psync_round_desc kFlip[] = {
    {"flip", 0, 0, 0, 0, 0, no_message, send_nothing, flip_update, nullptr, nullptr, nullptr}};

// FlipFlop: round step { update { decide(r % 2); if halting { halt } } }
template <bool Halting>
void flipflop_update(void* s, const psync_env* env, const void*) {
  decide(s, env, kDecision, env->round % 2);
  if (Halting) header(s).halted = 1;
}
template <bool Halting>
const psync_round_desc kStep[] = {
    {"step", 0, 0, 0, 0, 0, no_message, send_nothing, flipflop_update<Halting>, nullptr, nullptr, nullptr}};

psync_protocol_desc make(const char* name, const psync_round_desc* rounds, uint32_t num_specs) {
  psync_protocol_desc d{};
  d.abi_version = PSYNC_ABI_VERSION;
  d.num_rounds = 1;
  d.name = name;
  d.rounds = rounds;
  d.output = {"decision", PSYNC_KIND_INT, kDecision * 8};
  d.num_specs = num_specs;
  d.specs = kAgreement;
  d.state_size = four_words;
  d.init = init_nothing;
  d.print_state = print_decision;
  return d;
}

psync_protocol_desc with_k(psync_protocol_desc d) {
  d.num_consts = 1;
  d.consts = kConsts;
  d.const_defaults = k_default;
  return d;
}

}  // namespace

const psync_protocol_desc& coin_decide() {
  static const psync_protocol_desc d = with_k(make("CoinDecide", kFlip, 1));
  return d;
}
const psync_protocol_desc& coin_decide_unchecked() {
  static const psync_protocol_desc d = with_k(make("CoinDecideUnchecked", kFlip, 0));
  return d;
}
const psync_protocol_desc& flip_flop() {
  static const psync_protocol_desc d = make("FlipFlop", kStep<false>, 1);
  return d;
}
const psync_protocol_desc& flip_flop_halting() {
  static const psync_protocol_desc d = make("FlipFlopHalting", kStep<true>, 1);
  return d;
}

}  // namespace psync::fixtures
