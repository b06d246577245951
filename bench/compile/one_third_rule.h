// one_third_rule.h: OneThirdRule written by hand in C++ against the ABI, as
// psyncc compiles examples/one_third_rule.psync: the g++ -O2 baseline of
// bench/compile, and (linked as otr-hand) the hand-written side of
// bench/rounds. Tests use compiled protocols, not this.
//
// Algorithm: Charron-Bost & Schiper, "The Heard-Of model: computing in
// distributed systems with benign faults", Distributed Computing 22(1), 2009,
// Algorithm 1; PSync (Dragoi, Henzinger, Zufferey, POPL 2016), Figure 1.
#pragma once

#include <psync/abi.h>

#include <cstdint>

extern "C" {
uint64_t psync_otr_state_size(int32_t n);
uint64_t psync_otr_msg_size(int32_t n);
void psync_otr_const_defaults(int32_t n, int64_t* out);
void psync_otr_init(void* state, const psync_env* env, const int64_t* inputs);
void psync_otr_send(void* state, const psync_env* env, void* outbox);
void psync_otr_update(void* state, const psync_env* env, const void* mailbox);
int32_t psync_otr_print_state(const void* state, const psync_env* env, char* buf, uint64_t cap);
int32_t psync_otr_agreement(const void* const* states, const psync_env* env);
int32_t psync_otr_validity(const void* const* states, const psync_env* env);
}

namespace psync::bench {

// State layout: header (decided, halted, conflict, range_error), init, decision, x.
struct OtrState {
  psync_proc_header header;
  int64_t init;
  int64_t decision;
  int64_t x;
};

inline constexpr psync_round_desc kOtrRounds[] = {{
    "exchange", 0u, 0u, 0, 0, 0,
    &psync_otr_msg_size, &psync_otr_send, &psync_otr_update, nullptr, nullptr, nullptr, nullptr,
    nullptr,  // print_msg (version 4): drivers print the message's words
    nullptr,  // msg_type (version 6): no liars for a hand-written descriptor
}};

inline constexpr psync_field kOtrInputs[] = {{"init", PSYNC_KIND_INT, offsetof(OtrState, init), nullptr, 0, 0}};

inline constexpr psync_spec_desc kOtrSpecs[] = {
    {"agreement", PSYNC_SPEC_INVARIANT, 0, &psync_otr_agreement, nullptr, nullptr, 0, 0, nullptr},
    {"validity", PSYNC_SPEC_INVARIANT, 0, &psync_otr_validity, nullptr, nullptr, 0, 0, nullptr},
};

// FNV-1a (Fowler, Noll, Vo) over a string, as the compiler fingerprints sources.
constexpr uint64_t fnv1a(const char* s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s != 0; ++s) h = (h ^ uint64_t(uint8_t(*s))) * 0x100000001b3ull;
  return h;
}

// Version 2 of the ABI describes the types of inputs and the output.
inline constexpr psync_type kOtrInt = {PSYNC_TYPE_INT, 0, nullptr, nullptr, 0};
inline constexpr const psync_type* kOtrInputTypes[] = {&kOtrInt};

inline constexpr psync_protocol_desc kOneThirdRule = {
    PSYNC_ABI_VERSION,
    1,
    "OneThirdRule",
    fnv1a("hand-written OneThirdRule, bench/compile/one_third_rule.cpp v1"),
    kOtrRounds,
    1,
    0,
    kOtrInputs,
    nullptr,
    {"decision", PSYNC_KIND_INT, offsetof(OtrState, decision), nullptr, 0, 0},
    2,
    0,
    kOtrSpecs,
    &psync_otr_state_size,
    &psync_otr_const_defaults,
    &psync_otr_init,
    &psync_otr_print_state,
    0,
    0,
    nullptr,
    -1,
    nullptr,
    kOtrInputTypes,
    &kOtrInt,
    nullptr,  // version 5: phase_words (OneThirdRule reads no phase)
    0,
    1,
    0,
    0,
    nullptr,  // byzantine (version 7): no fault model
    nullptr,  // dead_words (version 8): none known
    nullptr,  // stale_words (version 9): no phase words
    0,
    0,
};

}  // namespace psync::bench
