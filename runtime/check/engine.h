// engine.h: what the explorer and the simulator share: the descriptor seen
// from the checker's side (sizes, consts, spec lists), the hooks that turn
// coin() and random(k) into choices, a 64-bit state hash, and the small
// helpers that read process headers and print states. Internal to
// runtime/check.
#ifndef PSYNC_CHECK_ENGINE_H
#define PSYNC_CHECK_ENGINE_H

#include "check.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace psync::check::detail {

// ---- Hashing ----------------------------------------------------------------

inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// The finaliser of a 64-bit mix: every input bit reaches every output bit.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  x ^= x >> 33;
  return x;
}

// Hash of a byte string, one 8-byte word per step (states are words).
inline uint64_t hash_bytes(const void* data, size_t len, uint64_t seed = 0x243f6a8885a308d3ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = rotl64(h ^ (w * 0x9e3779b97f4a7c15ULL), 29) * 0xc2b2ae3d27d4eb4fULL;
  }
  if (i < len) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, len - i);
    h = rotl64(h ^ (w * 0x9e3779b97f4a7c15ULL), 29) * 0xc2b2ae3d27d4eb4fULL;
  }
  return mix64(h);
}

// ---- Choices ------------------------------------------------------------------

// A small, seedable generator (xoshiro256** seeded through splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      w = mix64(seed);
    }
  }
  uint64_t next() {
    uint64_t r = rotl64(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl64(s_[3], 45);
    return r;
  }
  uint64_t below(uint64_t k) { return k <= 1 ? 0 : next() % k; }  // bias negligible for small k
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_[4];
};

// coin() and random(k) as choice points. In exhaustive mode a run replays
// `script` and extends it with 0s; advance() steps to the next script in
// lexicographic order, so re-running until advance() fails visits every
// outcome once. In random mode the choices come from an Rng.
struct Chooser {
  std::vector<int64_t> script;
  std::vector<int64_t> arity;
  size_t pos = 0;
  Rng* rng = nullptr;
  bool too_wide = false;     // random(k) with k beyond kMaxBranch
  bool conflict_seen = false;
  // While a trace is being recorded: the lines of `log` and the range
  // errors that generated code reports through its hooks, in order.
  bool capture = false;
  std::vector<std::string> events;
  static constexpr int64_t kMaxBranch = 1 << 16;

  void begin_exhaustive() { script.clear(); arity.clear(); pos = 0; }
  void restart() { pos = 0; }
  int64_t choose(int64_t k) {
    if (k <= 1) return 0;
    if (k > kMaxBranch && !rng) { too_wide = true; k = kMaxBranch; }
    int64_t v;
    if (rng) {
      v = static_cast<int64_t>(rng->below(static_cast<uint64_t>(k)));
      script.push_back(v);
      arity.push_back(k);
    } else if (pos < script.size()) {
      v = script[pos];
      arity[pos] = k;
    } else {
      v = 0;
      script.push_back(0);
      arity.push_back(k);
    }
    ++pos;
    return v;
  }
  bool advance() {
    script.resize(pos);
    arity.resize(pos);
    while (!script.empty() && script.back() + 1 >= arity.back()) {
      script.pop_back();
      arity.pop_back();
    }
    if (script.empty()) return false;
    ++script.back();
    pos = 0;
    return true;
  }
};

// ---- The descriptor, from the checker's side ----------------------------------

struct Proto {
  const psync_protocol_desc* d = nullptr;
  int n = 0;
  size_t ss = 0;                     // process state bytes
  std::vector<size_t> msz;           // message bytes, per round of the cycle
  std::vector<int64_t> consts;
  std::vector<int> invariants, properties, liveness, assumes;  // spec indices
  psync_hooks hooks{};
  Chooser chooser;

  // Validates the descriptor for this n and resolves consts; returns an
  // error message, or "" when usable.
  std::string setup(const psync_protocol_desc& desc, int n,
                    const std::vector<std::pair<std::string, int64_t>>& overrides);

  psync_env env(int me, int64_t round) const {
    psync_env e{};
    e.n = n;
    e.me = me;
    e.round = round;
    e.phase = round / static_cast<int64_t>(d->num_rounds);
    e.consts = consts.data();
    e.hooks = &hooks;
    return e;
  }
  const psync_round_desc& round_of(int64_t r) const {
    return d->rounds[static_cast<size_t>(r % static_cast<int64_t>(d->num_rounds))];
  }
  size_t msg_size(int64_t r) const { return msz[static_cast<size_t>(r % static_cast<int64_t>(d->num_rounds))]; }

  std::string print_state(const void* state, int me, int64_t round) const;
  // One message of round r (a mailbox slot), readably: the round's
  // print_msg, or its words when the descriptor has none.
  std::string print_msg(const uint8_t* msg, int me, int64_t round) const;
  TraceProcess describe(const void* state, int me, int64_t round) const;

  // bytes<K> inputs range over these values (--bytes-values), as buffers
  // init reads (abi.h): a bytes input's domain is 0 .. size-1, an index.
  std::vector<std::vector<int64_t>> bytes_domain;
  // Sets the domain: `values`, or the decimal texts of lo..hi when empty.
  // An error names a value too long for a bytes input.
  std::string set_bytes_domain(const std::vector<std::string>& values, int64_t lo, int64_t hi);
  bool has_bytes_inputs() const;
  // The words init takes for one process's input values `in` (one per
  // input; a bytes input's value is an index into bytes_domain).
  std::vector<int64_t> input_words(const int64_t* in) const;
};

inline int64_t header_word(const void* state, size_t index) {
  int64_t w;
  std::memcpy(&w, static_cast<const unsigned char*>(state) + index * 8, 8);
  return w;
}
inline bool is_decided(const void* s) { return header_word(s, 0) != 0; }
inline bool is_halted(const void* s) { return header_word(s, 1) != 0; }
inline bool has_conflict(const void* s) { return header_word(s, 2) != 0; }
inline bool has_range_error(const void* s) { return header_word(s, 3) != 0; }

// The values the checker and the simulator give an input: bools 0..1, pids
// 0..n-1, an enum's variants, ints lo..hi (`--values`).
inline std::pair<int64_t, int64_t> input_domain(const psync_field& f, int n, int64_t lo, int64_t hi) {
  switch (f.kind) {
    case PSYNC_KIND_BOOL: return {0, 1};
    case PSYNC_KIND_PID: return {0, n - 1};
    case PSYNC_KIND_ENUM: return {0, static_cast<int64_t>(f.num_variants) - 1};
    default: return {lo, hi};
  }
}

inline int64_t load_word(const void* base, size_t offset) {
  int64_t w;
  std::memcpy(&w, static_cast<const unsigned char*>(base) + offset, 8);
  return w;
}

std::string spec_kind_name(uint32_t kind);
// "the destination of a send is 7, out of range (f.psync:12:15)", from the
// arguments of psync_hooks.range_error.
std::string describe_range_error(int64_t value, const char* where);
std::string format_set(uint64_t set, int n);
std::string format_words(const std::vector<int64_t>& words);

// File output that reports failure; returns "" or an error message.
std::string write_file(const std::string& path, const std::string& text);

// Peak resident set size of this process, in bytes (0 if unknown).
uint64_t peak_rss_bytes();

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_ENGINE_H
