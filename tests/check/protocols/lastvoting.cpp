// lastvoting.cpp: LastVoting, Paxos in the Heard-Of model (Charron-Bost &
// Schiper, Distrib. Comput. 22(1), 2009, Algorithm 4; PSync POPL'16 fig. 3),
// by hand after examples/last_voting.psync. Four rounds per phase; the
// coordinator of phase ph is ph % n, so the protocol is not symmetric.
#include "protocols.h"
#include "util.h"

namespace psync::fixtures {
namespace {

constexpr size_t kInit = 3, kDecision = 4, kX = 5, kTs = 6, kVote = 7, kCommit = 8, kReady = 9;

uint64_t state_size(int32_t) { return 10 * 8; }
uint64_t two_words(int32_t) { return 16; }
uint64_t one_word(int32_t) { return 8; }

int coord(const psync_env* env) { return static_cast<int>(env->phase % env->n); }
bool me_coord(const psync_env* env) { return env->me == coord(env); }

void init(void* s, const psync_env*, const int64_t* in) {
  word(s, kInit) = in[0];
  word(s, kX) = in[0];
  word(s, kTs) = -1;
  word(s, kVote) = in[0];
}

int32_t print(const void* s, const psync_env*, char* buf, uint64_t cap) {
  return std::snprintf(buf, cap, "init=%lld decision=%lld x=%lld ts=%lld vote=%lld commit=%lld ready=%lld",
                       static_cast<long long>(word(s, kInit)), static_cast<long long>(word(s, kDecision)),
                       static_cast<long long>(word(s, kX)), static_cast<long long>(word(s, kTs)),
                       static_cast<long long>(word(s, kVote)), static_cast<long long>(word(s, kCommit)),
                       static_cast<long long>(word(s, kReady)));
}

// round collect { send (x, ts) to coord; update: the coordinator adopts the
// value with the newest timestamp once it hears a majority }
void collect_send(void* s, const psync_env* env, void* out) {
  int c = coord(env);
  set_presence(out, uint64_t{1} << c);
  slot_word(out, 2, c, 0) = word(s, kX);
  slot_word(out, 2, c, 1) = word(s, kTs);
}
template <bool UseTimestamps>
void collect_update(void* s, const psync_env* env, const void* mbox) {
  uint64_t p = presence(mbox);
  if (!me_coord(env) || size_of(p) <= env->n / 2) return;
  int best = -1;
  for (int j = 0; j < env->n; ++j) {
    if (!(p >> j & 1)) continue;
    // max_by(m => m.1): the first sender with the newest timestamp. The
    // broken variant takes the first sender whatever its timestamp.
    if (best < 0 || (UseTimestamps && slot_word(mbox, 2, j, 1) > slot_word(mbox, 2, best, 1))) best = j;
  }
  word(s, kVote) = slot_word(mbox, 2, best, 0);
  word(s, kCommit) = 1;
}

// round propose { send vote to all if me == coord && commit;
//                 update: accept the coordinator's value }
void propose_send(void* s, const psync_env* env, void* out) {
  if (!me_coord(env) || !word(s, kCommit)) return;
  set_presence(out, all_of(env->n));
  for (int i = 0; i < env->n; ++i) slot_word(out, 1, i) = word(s, kVote);
}
void propose_update(void* s, const psync_env* env, const void* mbox) {
  int c = coord(env);
  if (presence(mbox) >> c & 1) {
    word(s, kX) = slot_word(mbox, 1, c);
    word(s, kTs) = env->phase;
  }
}

// round ack { send x to coord if ts == phase; update: coordinator ready on a majority }
void ack_send(void* s, const psync_env* env, void* out) {
  if (word(s, kTs) != env->phase) return;
  int c = coord(env);
  set_presence(out, uint64_t{1} << c);
  slot_word(out, 1, c) = word(s, kX);
}
void ack_update(void* s, const psync_env* env, const void* mbox) {
  if (me_coord(env) && size_of(presence(mbox)) > env->n / 2) word(s, kReady) = 1;
}

// round decide_round { send vote to all if me == coord && ready;
//                      update: decide the coordinator's value }
void decide_send(void* s, const psync_env* env, void* out) {
  if (!me_coord(env) || !word(s, kReady)) return;
  set_presence(out, all_of(env->n));
  for (int i = 0; i < env->n; ++i) slot_word(out, 1, i) = word(s, kVote);
}
void decide_update(void* s, const psync_env* env, const void* mbox) {
  int c = coord(env);
  if (presence(mbox) >> c & 1) decide(s, env, kDecision, slot_word(mbox, 1, c));
  word(s, kReady) = 0;
  word(s, kCommit) = 0;
}

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

// forall p: ho(p).has(coord) && ho(coord).size > n / 2
int32_t coordinator_good(const void* const*, const uint64_t* ho, const psync_env* env) {
  int c = coord(env);
  if (size_of(ho[c]) <= env->n / 2) return 0;
  for (int p = 0; p < env->n; ++p)
    if (!(ho[p] >> c & 1)) return 0;
  return 1;
}

int32_t all_decided(const void* const* st, const psync_env* env) {
  for (int p = 0; p < env->n; ++p)
    if (!header(st[p]).decided) return 0;
  return 1;
}

const psync_spec_desc kSpecs[] = {
    {"agreement", PSYNC_SPEC_INVARIANT, 0, agreement, nullptr, nullptr},
    {"validity", PSYNC_SPEC_INVARIANT, 0, validity, nullptr, nullptr},
    {"irrevocability", PSYNC_SPEC_PROPERTY, 0, nullptr, irrevocability, nullptr},
    {"termination", PSYNC_SPEC_LIVENESS, 4, all_decided, nullptr, coordinator_good},
};

const psync_field kInputs[] = {{"init", PSYNC_KIND_INT, kInit * 8}};

template <bool UseTimestamps>
const psync_round_desc kRounds[] = {
    {"collect", 0, 0, 0, 0, 0, two_words, collect_send, collect_update<UseTimestamps>, nullptr, nullptr, nullptr},
    {"propose", 0, 0, 0, 0, 0, one_word, propose_send, propose_update, nullptr, nullptr, nullptr},
    {"ack", 0, 0, 0, 0, 0, one_word, ack_send, ack_update, nullptr, nullptr, nullptr},
    {"decide_round", 0, 0, 0, 0, 0, one_word, decide_send, decide_update, nullptr, nullptr, nullptr},
};

psync_protocol_desc make(const char* name, const psync_round_desc* rounds) {
  psync_protocol_desc d{};
  d.abi_version = PSYNC_ABI_VERSION;
  d.num_rounds = 4;
  d.name = name;
  d.rounds = rounds;
  d.num_inputs = 1;
  d.inputs = kInputs;
  d.output = {"decision", PSYNC_KIND_INT, kDecision * 8};
  d.num_specs = sizeof kSpecs / sizeof kSpecs[0];
  d.specs = kSpecs;
  d.state_size = state_size;
  d.init = init;
  d.print_state = print;
  return d;
}

}  // namespace

const psync_protocol_desc& last_voting() {
  static const psync_protocol_desc d = make("LastVoting", kRounds<true>);
  return d;
}
const psync_protocol_desc& last_voting_no_timestamps() {
  static const psync_protocol_desc d = make("LastVotingNoTimestamps", kRounds<false>);
  return d;
}

}  // namespace psync::fixtures
