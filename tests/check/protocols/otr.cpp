// otr.cpp: the One-Third Rule (Charron-Bost & Schiper, Distrib. Comput.
// 22(1), 2009, Algorithm 1), written by hand the way psyncc lays it out:
// examples/one_third_rule.psync, closed-round and event-round versions, and
// the classic mistake of a majority (n/2) threshold instead of 2n/3.
#include "protocols.h"
#include "util.h"

#include <algorithm>

namespace psync::fixtures {
namespace {

// State words: header (3), init, decision, x; event version adds the
// round-local counters c0, c1.
constexpr size_t kInit = 3, kDecision = 4, kX = 5, kC0 = 6, kC1 = 7;

enum Threshold { kTwoThirds, kHalf };
int64_t threshold(int n, Threshold t) { return t == kTwoThirds ? 2 * n / 3 : n / 2; }

uint64_t otr_state_size(int32_t) { return 6 * 8; }
uint64_t otr_event_state_size(int32_t) { return 8 * 8; }
uint64_t one_word(int32_t) { return 8; }

void otr_init(void* s, const psync_env*, const int64_t* in) {
  word(s, kInit) = in[0];
  word(s, kX) = in[0];
}

int32_t otr_print(const void* s, const psync_env*, char* buf, uint64_t cap) {
  return std::snprintf(buf, cap, "init=%lld decision=%lld x=%lld", static_cast<long long>(word(s, kInit)),
                       static_cast<long long>(word(s, kDecision)), static_cast<long long>(word(s, kX)));
}

int32_t otr_event_print(const void* s, const psync_env*, char* buf, uint64_t cap) {
  return std::snprintf(buf, cap, "init=%lld decision=%lld x=%lld c0=%lld c1=%lld",
                       static_cast<long long>(word(s, kInit)), static_cast<long long>(word(s, kDecision)),
                       static_cast<long long>(word(s, kX)), static_cast<long long>(word(s, kC0)),
                       static_cast<long long>(word(s, kC1)));
}

// send x to all
void otr_send(void* s, const psync_env* env, void* out) {
  set_presence(out, all_of(env->n));
  for (int i = 0; i < env->n; ++i) slot_word(out, 1, i) = word(s, kX);
}

// if mbox.size > T { x = mbox.min_most_frequent(); if mbox.count(x) > T { decide(x) } }
template <Threshold T>
void otr_update(void* s, const psync_env* env, const void* mbox) {
  uint64_t p = presence(mbox);
  int64_t t = threshold(env->n, T);
  if (size_of(p) <= t) return;
  int64_t vals[PSYNC_MAX_N] = {};
  int k = 0;
  for (int j = 0; j < env->n; ++j)
    if (p >> j & 1) vals[k++] = slot_word(mbox, 1, j);
  std::sort(vals, vals + k);
  int64_t best = vals[0];
  int best_count = 0;
  for (int a = 0; a < k;) {
    int b = a;
    while (b < k && vals[b] == vals[a]) ++b;
    if (b - a > best_count) { best = vals[a]; best_count = b - a; }  // ties keep the smaller value
    a = b;
  }
  word(s, kX) = best;
  if (best_count > t) decide(s, env, kDecision, best);
}

// Event round, binary values: count per value, `go` once more than T arrived.
void otr_event_send(void* s, const psync_env* env, void* out) {
  word(s, kC0) = 0;  // round-local vars reset when the round starts
  word(s, kC1) = 0;
  otr_send(s, env, out);
}

template <Threshold T>
int32_t otr_event_receive(void* s, const psync_env* env, int32_t, const void* msg) {
  ++word(s, static_cast<const int64_t*>(msg)[0] == 0 ? kC0 : kC1);
  return word(s, kC0) + word(s, kC1) > threshold(env->n, T) ? 1 : 0;
}

template <Threshold T>
void otr_event_finish(void* s, const psync_env* env, int32_t) {
  int64_t t = threshold(env->n, T), c0 = word(s, kC0), c1 = word(s, kC1);
  if (c0 + c1 <= t) return;
  int64_t v = c0 >= c1 ? 0 : 1;
  word(s, kX) = v;
  if (std::max(c0, c1) > t) decide(s, env, kDecision, v);
}

// ---- Specs (shared by every variant) ----

int32_t agreement(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    for (int q = 0; q < env->n; ++q)
      if (header(st[p]).decided && header(st[q]).decided && word(st[p], kDecision) != word(st[q], kDecision))
        return 0;
  return 1;
}

int32_t validity(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p) {
    if (!header(st[p]).decided) continue;
    bool found = false;
    for (int q = 0; q < env->n; ++q) found = found || word(st[p], kDecision) == word(st[q], kInit);
    if (!found) return 0;
  }
  return 1;
}

int32_t irrevocability(const void* const* old, const void* const* now, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    if (header(old[p]).decided &&
        !(header(now[p]).decided && word(now[p], kDecision) == word(old[p], kDecision)))
      return 0;
  return 1;
}

// uniform && ho_size > 2 * n / 3
int32_t uniform_two_thirds(const void* const*, const uint64_t* ho, const psync_env* env) {
  for (int p = 1; p < env->n; ++p)
    if (ho[p] != ho[0]) return 0;
  return size_of(ho[0]) > 2 * env->n / 3 ? 1 : 0;
}

int32_t all_decided(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    if (!header(st[p]).decided) return 0;
  return 1;
}

const psync_spec_desc kOtrSpecs[] = {
    {"agreement", PSYNC_SPEC_INVARIANT, 0, agreement, nullptr, nullptr},
    {"validity", PSYNC_SPEC_INVARIANT, 0, validity, nullptr, nullptr},
    {"irrevocability", PSYNC_SPEC_PROPERTY, 0, nullptr, irrevocability, nullptr},
    {"termination", PSYNC_SPEC_LIVENESS, 2, all_decided, nullptr, uniform_two_thirds},
};

// The same with a liveness window too short to be true: one uniform round
// makes everyone adopt one value but need not let anyone decide.
const psync_spec_desc kOneRoundTermination[] = {
    {"agreement", PSYNC_SPEC_INVARIANT, 0, agreement, nullptr, nullptr},
    {"termination", PSYNC_SPEC_LIVENESS, 1, all_decided, nullptr, uniform_two_thirds},
};

const psync_field kInputs[] = {{"init", PSYNC_KIND_INT, kInit * 8}};

template <Threshold T>
const psync_round_desc kClosedRound[] = {
    {"exchange", 0, 0, 0, 0, 0, one_word, otr_send, otr_update<T>, nullptr, nullptr, nullptr}};

template <Threshold T>
const psync_round_desc kEventRound[] = {
    {"exchange", PSYNC_ROUND_EVENT, 0, 0, 0, 0, one_word, otr_event_send, nullptr, otr_event_receive<T>,
     otr_event_finish<T>, nullptr}};

psync_protocol_desc make(const char* name, const psync_round_desc* rounds, bool event) {
  psync_protocol_desc d{};
  d.abi_version = PSYNC_ABI_VERSION;
  d.num_rounds = 1;
  d.name = name;
  d.fingerprint = 0x0770;
  d.rounds = rounds;
  d.num_inputs = 1;
  d.inputs = kInputs;
  d.output = {"decision", PSYNC_KIND_INT, kDecision * 8};
  d.num_specs = sizeof kOtrSpecs / sizeof kOtrSpecs[0];
  d.specs = kOtrSpecs;
  d.state_size = event ? otr_event_state_size : otr_state_size;
  d.init = otr_init;
  d.print_state = event ? otr_event_print : otr_print;
  return d;
}

}  // namespace

const psync_protocol_desc& one_third_rule() {
  static const psync_protocol_desc d = make("OneThirdRule", kClosedRound<kTwoThirds>, false);
  return d;
}
const psync_protocol_desc& one_third_rule_hasty_termination() {
  static const psync_protocol_desc d = [] {
    psync_protocol_desc p = make("OneThirdRuleHastyTermination", kClosedRound<kTwoThirds>, false);
    p.specs = kOneRoundTermination;
    p.num_specs = 2;
    return p;
  }();
  return d;
}
const psync_protocol_desc& one_third_rule_majority() {
  static const psync_protocol_desc d = make("OneThirdRuleMajority", kClosedRound<kHalf>, false);
  return d;
}
const psync_protocol_desc& one_third_rule_event() {
  static const psync_protocol_desc d = make("OneThirdRuleEvent", kEventRound<kTwoThirds>, true);
  return d;
}
const psync_protocol_desc& one_third_rule_event_majority() {
  static const psync_protocol_desc d = make("OneThirdRuleEventMajority", kEventRound<kHalf>, true);
  return d;
}

}  // namespace psync::fixtures
