// util.h: what a hand-written descriptor needs to look like psyncc's output:
// word access into flat states and mailboxes, and decide() with the ABI's
// conflict rule. Only the fixtures in this directory include it.
#ifndef PSYNC_TESTS_CHECK_UTIL_H
#define PSYNC_TESTS_CHECK_UTIL_H

#include <psync/abi.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace psync::fixtures {

inline int64_t& word(void* state, size_t index) { return static_cast<int64_t*>(state)[index]; }
inline int64_t word(const void* state, size_t index) { return static_cast<const int64_t*>(state)[index]; }

inline psync_proc_header& header(void* state) { return *static_cast<psync_proc_header*>(state); }
inline const psync_proc_header& header(const void* state) { return *static_cast<const psync_proc_header*>(state); }

// Layout of mailboxes and outboxes: presence word, then n slots.
inline uint64_t presence(const void* box) { return static_cast<const uint64_t*>(box)[0]; }
inline void set_presence(void* box, uint64_t p) { static_cast<uint64_t*>(box)[0] = p; }
inline int64_t slot_word(const void* box, size_t msg_words, int sender, size_t w = 0) {
  return static_cast<const int64_t*>(box)[1 + static_cast<size_t>(sender) * msg_words + w];
}
inline int64_t& slot_word(void* box, size_t msg_words, int to, size_t w = 0) {
  return static_cast<int64_t*>(box)[1 + static_cast<size_t>(to) * msg_words + w];
}
inline uint64_t all_of(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }
inline int size_of(uint64_t set) { return std::popcount(set); }

// decide(v), as generated code does it: the first call records the value;
// a second, different value sets header.conflict.
inline void decide(void* state, const psync_env* env, size_t output_word, int64_t v) {
  psync_proc_header& h = header(state);
  if (!h.decided) {
    h.decided = 1;
    word(state, output_word) = v;
    if (env->hooks && env->hooks->decided) env->hooks->decided(env->hooks->self, env, state);
  } else if (word(state, output_word) != v) {
    h.conflict = 1;
    if (env->hooks && env->hooks->conflict) env->hooks->conflict(env->hooks->self, env, state);
  }
}

inline int32_t coin(const psync_env* env) { return env->hooks->coin(env->hooks->self, env); }
inline int64_t random_below(const psync_env* env, int64_t k) {
  return k <= 0 ? 0 : env->hooks->random(env->hooks->self, env, k);
}

inline const void* proc(const void* const* states, int i) { return states[i]; }

}  // namespace psync::fixtures

#endif  // PSYNC_TESTS_CHECK_UTIL_H
