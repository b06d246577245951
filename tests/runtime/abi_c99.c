/* abi_c99.c: psync/abi.h used from C, as an embedder or a protocol written in
 * C would: it compiles as strict C99 (-std=c99 -pedantic -Wall -Wextra), a
 * descriptor and hooks can be defined with it, and its structs have the
 * layouts docs/abi.md documents. Exits 0 when every check holds. */
#include <psync/abi.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "abi_c99: %s\n", what);
    ++failures;
  }
}

/* A one-round protocol in C: each process sends its input and decides the
 * smallest value it hears. */
enum { kInit = 4, kDecision = 5, kWords = 6 };

static uint64_t min_state_size(int32_t n) {
  (void)n;
  return kWords * 8;
}
static uint64_t min_msg_size(int32_t n) {
  (void)n;
  return 8;
}
static void min_init(void* state, const psync_env* env, const int64_t* inputs) {
  (void)env;
  ((int64_t*)state)[kInit] = inputs[0];
}
static void min_send(void* state, const psync_env* env, void* outbox) {
  uint64_t all = env->n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << env->n) - 1;
  int32_t i;
  memcpy(outbox, &all, 8);
  for (i = 0; i < env->n; ++i) memcpy((char*)outbox + 8 + 8 * i, (int64_t*)state + kInit, 8);
}
static void min_update(void* state, const psync_env* env, const void* mailbox) {
  int64_t* s = (int64_t*)state;
  uint64_t presence;
  int64_t best = 0, v;
  int32_t i, any = 0;
  memcpy(&presence, mailbox, 8);
  for (i = 0; i < env->n; ++i)
    if (presence >> i & 1) {
      memcpy(&v, (const char*)mailbox + 8 + 8 * i, 8);
      if (!any || v < best) best = v;
      any = 1;
    }
  if (any && !s[0]) {
    s[0] = 1;
    s[kDecision] = best;
    if (env->hooks && env->hooks->decided) env->hooks->decided(env->hooks->self, env, state);
  }
}
static int32_t min_agreement(const void* const* states, const psync_env* env) {
  int32_t p;
  for (p = 1; p < env->n; ++p) {
    const int64_t* a = (const int64_t*)states[0];
    const int64_t* b = (const int64_t*)states[p];
    if (a[0] && b[0] && a[kDecision] != b[kDecision]) return 0;
  }
  return 1;
}

static const psync_round_desc rounds[] = {
    {"exchange", 0u, 0u, 0, 0, 0, min_msg_size, min_send, min_update, NULL, NULL, NULL, NULL, NULL, NULL}};
static const psync_field inputs[] = {{"init", PSYNC_KIND_INT, kInit * 8, NULL, 0u, 0u}};
static const psync_spec_desc specs[] = {{"agreement", PSYNC_SPEC_INVARIANT, 0u, min_agreement, NULL, NULL, 0u, 0u, NULL}};
static const psync_type int_type = {PSYNC_TYPE_INT, 0u, NULL, NULL, 0};
static const psync_type* const input_types[] = {&int_type};

static const psync_protocol_desc protocol = {
    PSYNC_ABI_VERSION, 1u, "MinC", 0x1234u, rounds, 1u, 0u, inputs, NULL,
    {"decision", PSYNC_KIND_INT, kDecision * 8, NULL, 0u, 0u}, 1u, 0u, specs, min_state_size, NULL, min_init, NULL,
    0u, 0u, NULL, -1, NULL, input_types, &int_type, NULL, 0u, 1u, 0u, 0u, NULL, NULL, NULL, 0u, 0u};

static int decisions = 0;
static void on_decided(void* self, const psync_env* env, const void* state) {
  (void)self;
  (void)env;
  (void)state;
  ++decisions;
}

int main(void) {
  /* Layouts from docs/abi.md: one 8-byte word per header field, the env's
   * fields at fixed offsets, 16-byte fields. */
  expect(sizeof(psync_proc_header) == 32, "psync_proc_header is 4 words");
  expect(offsetof(psync_proc_header, halted) == 8 && offsetof(psync_proc_header, conflict) == 16 &&
             offsetof(psync_proc_header, range_error) == 24,
         "header words: decided, halted, conflict, range_error");
  expect(offsetof(psync_env, n) == 0 && offsetof(psync_env, me) == 4 && offsetof(psync_env, round) == 8 &&
             offsetof(psync_env, phase) == 16 && offsetof(psync_env, consts) == 24 && offsetof(psync_env, hooks) == 32,
         "psync_env layout");
  expect(sizeof(psync_field) == 32, "psync_field is 32 bytes");
  expect(sizeof(psync_type) == 32 && offsetof(psync_type, elems) == 8 && offsetof(psync_type, names) == 16 &&
             offsetof(psync_type, lo) == 24,
         "psync_type layout (version 3)");
  expect(offsetof(psync_protocol_desc, phase_words) == offsetof(psync_protocol_desc, output_type) + sizeof(void*),
         "phase_words follows output_type (version 5)");
  expect(offsetof(psync_protocol_desc, byzantine) == offsetof(psync_protocol_desc, reserved5) + sizeof(uint32_t),
         "byzantine follows reserved5 (version 7)");
  expect(offsetof(psync_protocol_desc, dead_words) == offsetof(psync_protocol_desc, byzantine) + sizeof(void*),
         "dead_words follows byzantine (version 8)");
  expect(offsetof(psync_protocol_desc, stale_words) == offsetof(psync_protocol_desc, dead_words) + sizeof(void*) &&
             offsetof(psync_protocol_desc, reserved9) + sizeof(uint32_t) == sizeof(psync_protocol_desc),
         "stale_words, stale_flags and reserved9 end the descriptor, after dead_words (version 9)");
  expect(offsetof(psync_round_desc, msg_type) == offsetof(psync_round_desc, print_msg) + sizeof(void*) &&
             offsetof(psync_round_desc, msg_type) + sizeof(void*) == sizeof(psync_round_desc),
         "msg_type ends the round descriptor, after print_msg (version 7)");
  expect(PSYNC_HALTED_FAULTY == 2, "the faulty marker of the halted word (version 7)");
  expect(PSYNC_MAX_N == 64, "PSYNC_MAX_N is 64 (one presence word)");
  expect(strcmp(PSYNC_DESCRIPTOR_SYMBOL, "psync_protocol") == 0, "the descriptor symbol");

  /* Drive the C protocol for one round, everyone hearing everyone. */
  {
    enum { N = 3 };
    const psync_protocol_desc* d = &protocol;
    const psync_round_desc* rd = &d->rounds[0];
    psync_hooks hooks;
    psync_env env;
    int64_t states[N][kWords];
    unsigned char out[N][8 + 8 * N], mbox[8 + 8 * N];
    const void* views[N];
    int p, q;
    memset(&hooks, 0, sizeof hooks);
    hooks.decided = on_decided;
    memset(&env, 0, sizeof env);
    env.n = N;
    env.hooks = &hooks;
    memset(states, 0, sizeof states);
    expect(d->state_size(N) == sizeof states[0], "state size");
    for (p = 0; p < N; ++p) {
      int64_t in = 10 - p;
      env.me = p;
      d->init(states[p], &env, &in);
      memset(out[p], 0, 8);
      rd->send(states[p], &env, out[p]);
    }
    for (p = 0; p < N; ++p) {
      uint64_t presence = 0;
      for (q = 0; q < N; ++q) {
        presence |= (uint64_t)1 << q;
        memcpy(mbox + 8 + 8 * q, out[q] + 8 + 8 * p, 8);
      }
      memcpy(mbox, &presence, 8);
      env.me = p;
      rd->update(states[p], &env, mbox);
      views[p] = states[p];
    }
    expect(decisions == N, "every process decided once");
    for (p = 0; p < N; ++p) expect(states[p][kDecision] == 8, "everyone decided the smallest input, 8");
    expect(d->specs[0].eval(views, &env) == 1, "agreement holds");
  }
  if (failures == 0) printf("abi_c99: ok\n");
  return failures == 0 ? 0 : 1;
}
