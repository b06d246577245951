// benor.cpp: Ben-Or's randomized binary consensus (Ben-Or, PODC 1983) in
// the Heard-Of model, two rounds per phase, as in the PSync examples. Its
// safety needs every HO set to be a majority, which it states as an
// `assume`; the variant without it must fail. It also exercises coin().
#include "protocols.h"
#include "util.h"

namespace psync::fixtures {
namespace {

constexpr size_t kInit = 3, kDecision = 4, kX = 5, kVote = 6;
constexpr int64_t kNoVote = -1;

uint64_t state_size(int32_t) { return 7 * 8; }
uint64_t one_word(int32_t) { return 8; }

void init(void* s, const psync_env*, const int64_t* in) {
  word(s, kInit) = in[0];
  word(s, kX) = in[0];
  word(s, kVote) = kNoVote;
}

int32_t print(const void* s, const psync_env*, char* buf, uint64_t cap) {
  return std::snprintf(buf, cap, "init=%lld decision=%lld x=%lld vote=%lld",
                       static_cast<long long>(word(s, kInit)), static_cast<long long>(word(s, kDecision)),
                       static_cast<long long>(word(s, kX)), static_cast<long long>(word(s, kVote)));
}

void send_word(const psync_env* env, void* out, int64_t v) {
  set_presence(out, all_of(env->n));
  for (int i = 0; i < env->n; ++i) slot_word(out, 1, i) = v;
}

// The value held by more than n/2 of the received messages, else kNoVote.
int64_t majority_value(const void* mbox, int n) {
  uint64_t p = presence(mbox);
  for (int j = 0; j < n; ++j) {
    if (!(p >> j & 1)) continue;
    int64_t v = slot_word(mbox, 1, j);
    if (v == kNoVote) continue;
    int c = 0;
    for (int k = 0; k < n; ++k) c += (p >> k & 1) && slot_word(mbox, 1, k) == v;
    if (c > n / 2) return v;
  }
  return kNoVote;
}

// round report { send x to all; update: vote = the majority value or none }
void report_send(void* s, const psync_env* env, void* out) { send_word(env, out, word(s, kX)); }
void report_update(void* s, const psync_env* env, const void* mbox) {
  word(s, kVote) = majority_value(mbox, env->n);
}

// round propose { send vote to all; update: decide a majority vote, adopt
// any vote, or flip a coin }
void propose_send(void* s, const psync_env* env, void* out) { send_word(env, out, word(s, kVote)); }
void propose_update(void* s, const psync_env* env, const void* mbox) {
  int64_t v = majority_value(mbox, env->n);
  if (v != kNoVote) {
    decide(s, env, kDecision, v);
    word(s, kX) = v;
    return;
  }
  uint64_t p = presence(mbox);
  for (int j = 0; j < env->n; ++j)
    if ((p >> j & 1) && slot_word(mbox, 1, j) != kNoVote) {
      word(s, kX) = slot_word(mbox, 1, j);
      return;
    }
  word(s, kX) = coin(env);
}

int32_t agreement(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    for (int q = 0; q < env->n; ++q)
      if (header(st[p]).decided && header(st[q]).decided && word(st[p], kDecision) != word(st[q], kDecision))
        return 0;
  return 1;
}

// assume majority: forall p: ho(p).size > n / 2
int32_t majority_heard(const void* const*, const uint64_t* ho, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    if (size_of(ho[p]) <= env->n / 2) return 0;
  return 1;
}

const psync_spec_desc kSpecs[] = {
    {"agreement", PSYNC_SPEC_INVARIANT, 0, agreement, nullptr, nullptr},
    {"majority", PSYNC_SPEC_ASSUME, 0, nullptr, nullptr, majority_heard},
};

const psync_field kInputs[] = {{"init", PSYNC_KIND_INT, kInit * 8}};

const psync_round_desc kRounds[] = {
    {"report", 0, 0, 0, 0, 0, one_word, report_send, report_update, nullptr, nullptr, nullptr},
    {"propose", 0, 0, 0, 0, 0, one_word, propose_send, propose_update, nullptr, nullptr, nullptr},
};

psync_protocol_desc make(const char* name, uint32_t num_specs) {
  psync_protocol_desc d{};
  d.abi_version = PSYNC_ABI_VERSION;
  d.num_rounds = 2;
  d.name = name;
  d.rounds = kRounds;
  d.num_inputs = 1;
  d.inputs = kInputs;
  d.output = {"decision", PSYNC_KIND_INT, kDecision * 8};
  d.num_specs = num_specs;
  d.specs = kSpecs;
  d.state_size = state_size;
  d.init = init;
  d.print_state = print;
  return d;
}

}  // namespace

const psync_protocol_desc& ben_or() {
  static const psync_protocol_desc d = make("BenOr", 2);
  return d;
}
const psync_protocol_desc& ben_or_without_assume() {
  static const psync_protocol_desc d = make("BenOrNoAssume", 1);
  return d;
}

}  // namespace psync::fixtures
