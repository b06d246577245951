// probe_protocol.h: a test protocol whose state records what the engine did
// to it (updates, finishes, receives, mailbox sizes, env consistency), with
// round flags set per test. Consts: [0] go threshold, [1] decide round,
// [2] halt round, [3] number of rounds.
#pragma once

#include <psync/abi.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

namespace probe {

struct State {
  psync_proc_header header;
  int64_t decision;
  int64_t updates;
  int64_t finishes;
  int64_t receives;
  int64_t sends;
  int64_t last_size;
  int64_t last_presence;
  int64_t last_timed_out;
  int64_t last_round;
  int64_t bad_env;       // calls where phase != round / k or round unexpected
  int64_t round_local;   // reset by send, counted by receive
  int64_t empty_updates;
  int64_t payload_sum;   // sum of payloads seen in updates (payload = sender's round)
};

enum { kGo = 0, kDecideRound = 1, kHaltRound = 2, kNumRounds = 3 };

inline void check_env(State* s, const psync_env* env) {
  if (env->phase != env->round / env->consts[kNumRounds] || env->round < 0) ++s->bad_env;
}

inline uint64_t state_size(int32_t) { return sizeof(State); }
inline uint64_t msg_size(int32_t) { return 8; }
inline void const_defaults(int32_t, int64_t* out) {
  out[kGo] = 0;
  out[kDecideRound] = -1;
  out[kHaltRound] = -1;
  out[kNumRounds] = 1;
}
inline void init(void* st, const psync_env*, const int64_t* inputs) {
  static_cast<State*>(st)->decision = inputs[0];
}

inline void send(void* st, const psync_env* env, void* outbox) {
  auto* s = static_cast<State*>(st);
  check_env(s, env);
  ++s->sends;
  s->round_local = 0;
  uint64_t all = (uint64_t{1} << env->n) - 1;
  std::memcpy(outbox, &all, 8);
  for (int32_t i = 0; i < env->n; ++i) std::memcpy(static_cast<char*>(outbox) + 8 + 8 * i, &env->round, 8);
}

inline void end_of_round(State* s, const psync_env* env, const void* mailbox) {
  check_env(s, env);
  uint64_t p;
  std::memcpy(&p, mailbox, 8);
  s->last_size = std::popcount(p);
  s->last_presence = int64_t(p);
  s->last_round = env->round;
  if (p == 0) ++s->empty_updates;
  for (int32_t i = 0; i < env->n; ++i) {
    if (!((p >> i) & 1)) continue;
    int64_t v;
    std::memcpy(&v, static_cast<const char*>(mailbox) + 8 + 8 * i, 8);
    if (v != env->round) ++s->bad_env;  // a message delivered in the wrong round
    s->payload_sum += v;
  }
  if (env->round == env->consts[kDecideRound] && !s->header.decided) {
    s->header.decided = 1;
    env->hooks->decided(env->hooks->self, env, s);
  }
  if (env->round == env->consts[kHaltRound]) s->header.halted = 1;
}

inline void update(void* st, const psync_env* env, const void* mailbox) {
  auto* s = static_cast<State*>(st);
  ++s->updates;
  end_of_round(s, env, mailbox);
}

inline int32_t receive(void* st, const psync_env* env, int32_t sender, const void* msg) {
  auto* s = static_cast<State*>(st);
  check_env(s, env);
  ++s->receives;
  ++s->round_local;
  int64_t v;
  std::memcpy(&v, msg, 8);
  if (v != env->round) ++s->bad_env;
  s->last_presence |= int64_t(1) << sender;
  return env->consts[kGo] > 0 && s->round_local >= env->consts[kGo] ? 1 : 0;
}

inline void finish(void* st, const psync_env* env, int32_t timed_out) {
  auto* s = static_cast<State*>(st);
  check_env(s, env);
  ++s->finishes;
  s->last_timed_out = timed_out;
  s->last_round = env->round;
  s->last_size = s->round_local;
  if (env->round == env->consts[kDecideRound] && !s->header.decided) {
    s->header.decided = 1;
    env->hooks->decided(env->hooks->self, env, s);
  }
  if (env->round == env->consts[kHaltRound]) s->header.halted = 1;
  s->last_presence = 0;
}

inline int32_t go_when(const void* st, const psync_env* env, const void* mailbox) {
  (void)st;
  uint64_t p;
  std::memcpy(&p, mailbox, 8);
  return std::popcount(p) >= env->consts[kGo] ? 1 : 0;
}

// `go when` of an event round: reads only the state (its round-local
// counter of received messages), as generated code does there: three
// messages are enough.
inline int32_t go_when_state(const void* st, const psync_env*, const void*) {
  return static_cast<const State*>(st)->round_local >= 3 ? 1 : 0;
}

inline const psync_field kInputs[] = {{"v", PSYNC_KIND_INT, offsetof(State, decision), nullptr, 0, 0}};
inline const psync_field kConsts[] = {
    {"go", PSYNC_KIND_INT, 0, nullptr, 0, 0}, {"decide_round", PSYNC_KIND_INT, 1, nullptr, 0, 0},
    {"halt_round", PSYNC_KIND_INT, 2, nullptr, 0, 0}, {"k", PSYNC_KIND_INT, 3, nullptr, 0, 0}};

// A descriptor whose rounds a test configures.
struct Protocol {
  std::vector<psync_round_desc> rounds;
  psync_protocol_desc desc{};

  explicit Protocol(std::vector<psync_round_desc> r) : rounds(std::move(r)) {
    desc.abi_version = PSYNC_ABI_VERSION;
    desc.num_rounds = uint32_t(rounds.size());
    desc.name = "Probe";
    desc.fingerprint = 0x1234;
    desc.rounds = rounds.data();
    desc.num_inputs = 1;
    desc.num_consts = 4;
    desc.inputs = kInputs;
    desc.consts = kConsts;
    desc.output = {"decision", PSYNC_KIND_INT, offsetof(State, decision), nullptr, 0, 0};
    desc.state_size = &state_size;
    desc.const_defaults = &const_defaults;
    desc.init = &init;
  }
};

inline psync_round_desc closed_round(uint32_t flags = 0, bool with_go_when = false) {
  psync_round_desc r{};
  r.name = "closed";
  r.flags = flags;
  r.msg_size = &msg_size;
  r.send = &send;
  r.update = &update;
  r.go_when = with_go_when ? &go_when : nullptr;
  return r;
}

inline psync_round_desc event_round(uint32_t flags = 0) {
  psync_round_desc r{};
  r.name = "event";
  r.flags = flags | PSYNC_ROUND_EVENT;
  r.msg_size = &msg_size;
  r.send = &send;
  r.receive = &receive;
  r.finish = &finish;
  return r;
}

}  // namespace probe
