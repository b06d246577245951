/* lockstep_harness.c: a minimal C driver for a psyncc object through
 * psync/abi.h, for targets the runtime is not built for (aarch64_test.py
 * cross-compiles it with the object psyncc emitted for aarch64 and runs it
 * under qemu-aarch64). Every process hears every other in every round; the
 * harness prints each process's decision and exits 0 when all decided the
 * same value. It is the one round loop that does not call runtime/round
 * (that C++ library is not cross-built). It delivers every message sent, in
 * pid order, and an event round stops at `go`; it ignores `go when`. It
 * checks aarch64 code generation on one fair schedule, not round semantics
 * (tests/differential does that for the drivers that share runtime/round).
 *
 * usage: harness INPUT0 INPUT1 ...   (n = number of inputs; one int input) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psync/abi.h"

extern const psync_protocol_desc psync_protocol;

static int32_t coin(void* self, const psync_env* env) {
  (void)self;
  (void)env;
  return 0;
}

static int64_t random_below(void* self, const psync_env* env, int64_t k) {
  (void)self;
  (void)env;
  (void)k;
  return 0;
}

static void decided(void* self, const psync_env* env, const void* state) {
  (void)self;
  (void)env;
  (void)state;
}

static int conflicts;

static void conflict(void* self, const psync_env* env, const void* state) {
  (void)self;
  (void)env;
  (void)state;
  ++conflicts;
}

static uint64_t* zeroed_words(uint64_t bytes) { return calloc(bytes / 8 + 1, 8); }

int main(int argc, char** argv) {
  const psync_protocol_desc* d = &psync_protocol;
  int32_t n = argc - 1;
  if (n < 1 || n > PSYNC_MAX_N || d->abi_version != PSYNC_ABI_VERSION || d->num_inputs != 1) {
    fprintf(stderr, "usage: %s INPUT... (1..64 processes; a protocol with one input)\n", argv[0]);
    return 2;
  }
  /* log and range_error are optional (abi.h): a lock-step harness has no use for them. */
  psync_hooks hooks = {NULL, coin, random_below, decided, conflict, NULL, NULL};
  int64_t consts[64] = {0};
  if (d->num_consts > 64) return 2;
  if (d->const_defaults) d->const_defaults(n, consts);
  psync_env env = {n, 0, 0, 0, consts, &hooks};

  uint64_t* states[PSYNC_MAX_N];
  for (int32_t p = 0; p < n; ++p) {
    states[p] = zeroed_words(d->state_size(n));
    int64_t input = strtoll(argv[p + 1], NULL, 10);
    env.me = p;
    d->init(states[p], &env, &input);
  }

  for (int64_t r = 0; r < 100; ++r) {
    const psync_round_desc* rd = &d->rounds[r % d->num_rounds];
    uint64_t msz = rd->msg_size(n), box = 8 + n * msz;
    uint64_t* out[PSYNC_MAX_N];
    env.round = r;
    env.phase = r / d->num_rounds;
    for (int32_t p = 0; p < n; ++p) {
      const psync_proc_header* h = (const psync_proc_header*)states[p];
      out[p] = zeroed_words(box);
      env.me = p;
      if (!h->halted) rd->send(states[p], &env, out[p]);
    }
    for (int32_t p = 0; p < n; ++p) {
      const psync_proc_header* h = (const psync_proc_header*)states[p];
      if (h->halted) continue;
      uint64_t* mbox = zeroed_words(box);
      unsigned char* slots = (unsigned char*)(mbox + 1);
      for (int32_t q = 0; q < n; ++q) {
        if (!((out[q][0] >> p) & 1)) continue;
        mbox[0] |= 1ull << q;
        memcpy(slots + q * msz, (const unsigned char*)(out[q] + 1) + p * msz, msz);
      }
      env.me = p;
      if (rd->flags & PSYNC_ROUND_EVENT) {
        for (int32_t q = 0; q < n; ++q)
          if (((mbox[0] >> q) & 1) && rd->receive(states[p], &env, q, slots + q * msz)) break;
        rd->finish(states[p], &env, 0);
      } else {
        rd->update(states[p], &env, mbox);
      }
      free(mbox);
    }
    for (int32_t p = 0; p < n; ++p) free(out[p]);
    int all = 1;
    for (int32_t p = 0; p < n; ++p) all &= ((const psync_proc_header*)states[p])->decided == 1;
    if (all) break;
  }

  int ok = conflicts == 0;
  int64_t first = 0;
  for (int32_t p = 0; p < n; ++p) {
    const psync_proc_header* h = (const psync_proc_header*)states[p];
    int64_t value = *(const int64_t*)((const unsigned char*)states[p] + d->output.offset);
    if (p == 0) first = value;
    ok &= h->decided == 1 && value == first;
    printf("process %d: %s %lld\n", p, h->decided ? "decided" : "undecided", (long long)value);
  }
  printf("%s: %s\n", d->name, ok ? "all decided the same value" : "NO AGREEMENT");
  return ok ? 0 : 1;
}
