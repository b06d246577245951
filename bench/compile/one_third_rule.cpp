// one_third_rule.cpp: the entry points of the hand-written OneThirdRule (see
// one_third_rule.h). Each function does what the generated code for
// examples/one_third_rule.psync does, over the same flat layouts.
#include "one_third_rule.h"

#include <bit>
#include <cstdio>
#include <cstring>

using psync::bench::OtrState;

namespace {

int64_t slot(const void* mailbox, int32_t i) {
  int64_t v;
  std::memcpy(&v, static_cast<const char*>(mailbox) + 8 + 8 * i, 8);
  return v;
}

uint64_t presence(const void* box) {
  uint64_t p;
  std::memcpy(&p, box, 8);
  return p;
}

void decide(OtrState* s, const psync_env* env, int64_t v) {
  if (s->header.decided == 0) {
    s->decision = v;
    s->header.decided = 1;
    env->hooks->decided(env->hooks->self, env, s);
  } else if (s->decision != v) {
    s->header.conflict = 1;
    env->hooks->conflict(env->hooks->self, env, s);
  }
}

}  // namespace

extern "C" {

uint64_t psync_otr_state_size(int32_t) { return sizeof(OtrState); }
uint64_t psync_otr_msg_size(int32_t) { return 8; }
void psync_otr_const_defaults(int32_t, int64_t*) {}

void psync_otr_init(void* state, const psync_env*, const int64_t* inputs) {
  auto* s = static_cast<OtrState*>(state);
  s->init = inputs[0];
  s->x = s->init;
}

// send x to all
void psync_otr_send(void* state, const psync_env* env, void* outbox) {
  const auto* s = static_cast<const OtrState*>(state);
  uint64_t all = env->n >= 64 ? ~uint64_t{0} : (uint64_t{1} << env->n) - 1;
  std::memcpy(outbox, &all, 8);
  for (int32_t i = 0; i < env->n; ++i) std::memcpy(static_cast<char*>(outbox) + 8 + 8 * i, &s->x, 8);
}

// if mbox.size > 2n/3 { x = min_most_frequent; if count(x) > 2n/3 decide(x) }
void psync_otr_update(void* state, const psync_env* env, const void* mailbox) {
  auto* s = static_cast<OtrState*>(state);
  const uint64_t p = presence(mailbox);
  const int32_t size = std::popcount(p);
  const int32_t threshold = 2 * env->n / 3;
  if (size <= threshold) return;
  int64_t best = 0;
  int32_t best_count = 0;
  for (int32_t i = 0; i < env->n; ++i) {
    if (!((p >> i) & 1)) continue;
    const int64_t v = slot(mailbox, i);
    int32_t c = 0;
    for (int32_t j = 0; j < env->n; ++j)
      if (((p >> j) & 1) && slot(mailbox, j) == v) ++c;
    if (c > best_count || (c == best_count && v < best)) {
      best = v;
      best_count = c;
    }
  }
  s->x = best;
  if (best_count > threshold) decide(s, env, best);
}

int32_t psync_otr_print_state(const void* state, const psync_env*, char* buf, uint64_t cap) {
  const auto* s = static_cast<const OtrState*>(state);
  return std::snprintf(buf, cap, "init=%lld decision=%lld x=%lld", (long long)s->init,
                       (long long)s->decision, (long long)s->x);
}

// invariant agreement: forall p, q: p.decided && q.decided ==> p.decision == q.decision
int32_t psync_otr_agreement(const void* const* states, const psync_env* env) {
  for (int32_t p = 0; p < env->n; ++p)
    for (int32_t q = 0; q < env->n; ++q) {
      const auto* a = static_cast<const OtrState*>(states[p]);
      const auto* b = static_cast<const OtrState*>(states[q]);
      if (a->header.decided && b->header.decided && a->decision != b->decision) return 0;
    }
  return 1;
}

// invariant validity: forall p: p.decided ==> exists q: p.decision == q.init
int32_t psync_otr_validity(const void* const* states, const psync_env* env) {
  for (int32_t p = 0; p < env->n; ++p) {
    const auto* a = static_cast<const OtrState*>(states[p]);
    if (!a->header.decided) continue;
    bool found = false;
    for (int32_t q = 0; q < env->n; ++q)
      if (static_cast<const OtrState*>(states[q])->init == a->decision) found = true;
    if (!found) return 0;
  }
  return 1;
}

}  // extern "C"
