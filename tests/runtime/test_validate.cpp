// test_validate.cpp: validate_descriptor (runtime/abi/validate.h), the check
// the node and the checker share. Compiled protocols pass it; a compiled
// descriptor broken in one field at a time fails it with one line naming
// that field; the node refuses such a descriptor at start-up with status 2.
#include "abi/validate.h"
#include "compiled.h"
#include "node/node.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using psync::validate_descriptor;

namespace {

// tests/runtime/psync/every_field.psync: inputs, output, consts, a closed
// round (index 0, with `go when` and a timeout), an event round (index 1,
// wait, strict 4, sync 2), a round sending pairs (index 2), one spec of each
// kind (invariant, property, liveness, assume, in that order).
const psync_protocol_desc& every_field() { return psync::test::compiled("tests/runtime/psync/every_field.psync"); }

// A compiled descriptor with its tables copied into vectors a test may change.
struct Editable {
  psync_protocol_desc d;
  std::vector<psync_round_desc> rounds;
  std::vector<psync_field> inputs, consts;
  std::vector<psync_spec_desc> specs;

  explicit Editable(const psync_protocol_desc& base)
      : d(base), rounds(base.rounds, base.rounds + base.num_rounds), inputs(base.inputs, base.inputs + base.num_inputs),
        consts(base.consts, base.consts + base.num_consts), specs(base.specs, base.specs + base.num_specs) {
    d.rounds = rounds.data();
    d.inputs = inputs.data();
    d.consts = consts.data();
    d.specs = specs.data();
  }
};

// validate_descriptor's answer for every_field at n after `edit`.
std::string after(const std::function<void(Editable&)>& edit, int32_t n = 4) {
  Editable e(every_field());
  edit(e);
  return validate_descriptor(e.d, n);
}

const std::string kBad = "bad protocol descriptor: ";

}  // namespace

TEST_CASE("every compiled example and test protocol passes validation") {
  std::vector<std::string> files;
  for (const char* dir : {"examples", "tests/check/psync", "tests/runtime/psync"})
    for (const auto& entry : std::filesystem::directory_iterator(psync::test::source_file(dir)))
      if (entry.path().extension() == ".psync") files.push_back(entry.path().string());
  REQUIRE(files.size() > 20);
  for (const std::string& file : files) {
    CAPTURE(file);
    const psync_protocol_desc& d = psync::test::compiled(file);
    int32_t smallest = 1;  // `sync k` needs k processes
    for (uint32_t i = 0; i < d.num_rounds; ++i) smallest = std::max(smallest, int32_t(d.rounds[i].sync_k));
    for (int32_t n : {1, 2, 3, 5, 7, 20, PSYNC_MAX_N})
      if (n >= smallest) CHECK(validate_descriptor(d, n) == "");
  }
}

TEST_CASE("the shape: version, name, entry points, rounds") {
  CHECK(after([](Editable&) {}) == "");
  CHECK(after([](Editable& e) { e.d.abi_version = PSYNC_ABI_VERSION + 1; }) ==
        kBad + "built for ABI version " + std::to_string(PSYNC_ABI_VERSION + 1) + ", this driver implements version " +
            std::to_string(PSYNC_ABI_VERSION));
  CHECK(after([](Editable& e) { e.d.name = nullptr; }) == kBad + "the protocol has no name");
  CHECK(after([](Editable& e) { e.d.state_size = nullptr; }) == kBad + "no state_size");
  CHECK(after([](Editable& e) { e.d.init = nullptr; }) == kBad + "no init");
  CHECK(after([](Editable& e) { e.d.num_rounds = 0; }) == kBad + "the protocol has no rounds");
  CHECK(after([](Editable& e) { e.d.rounds = nullptr; }) == kBad + "the protocol has no rounds");
}

TEST_CASE("rounds: names, flags, progress values, entry points per kind") {
  CHECK(after([](Editable& e) { e.rounds[2].name = nullptr; }) == kBad + "round 2 has no name");
  CHECK(after([](Editable& e) { e.rounds[0].flags |= 1u << 9; }) == kBad + "round `gather` has unknown flags 0x200");
  CHECK(after([](Editable& e) { e.rounds[1].flags |= PSYNC_ROUND_HAS_TIMEOUT; }) ==
        kBad + "round `settle` has both `wait` and a timeout");
  CHECK(after([](Editable& e) { e.rounds[0].timeout_us = 0; }) ==
        kBad + "round `gather` has timeout 0 us (must be positive)");
  CHECK(after([](Editable& e) { e.rounds[1].strict_bound = -1; }) == kBad + "round `settle` has a negative strict bound");
  CHECK(after([](Editable& e) { e.rounds[1].sync_k = -2; }) == kBad + "round `settle` has a negative `sync k`");
  CHECK(after([](Editable& e) { e.rounds[2].msg_size = nullptr; }) == kBad + "round `pairs` has no msg_size");
  CHECK(after([](Editable& e) { e.rounds[0].send = nullptr; }) == kBad + "round `gather` has no send");
  CHECK(after([](Editable& e) { e.rounds[0].update = nullptr; }) == kBad + "closed round `gather` has no update");
  CHECK(after([](Editable& e) { e.rounds[0].finish = e.rounds[1].finish; }) ==
        kBad + "closed round `gather` has receive or finish");
  CHECK(after([](Editable& e) { e.rounds[1].receive = nullptr; }) == kBad + "event round `settle` lacks receive or finish");
  CHECK(after([](Editable& e) { e.rounds[1].finish = nullptr; }) == kBad + "event round `settle` lacks receive or finish");
  CHECK(after([](Editable& e) { e.rounds[1].update = e.rounds[0].update; }) == kBad + "event round `settle` has an update");
  // A round whose kind flag is lost no longer matches its entry points.
  CHECK(after([](Editable& e) { e.rounds[1].flags &= ~uint32_t(PSYNC_ROUND_EVENT); }) ==
        kBad + "closed round `settle` has no update");
}

TEST_CASE("inputs and the output: tables, names, kinds, offsets") {
  CHECK(after([](Editable& e) { e.d.inputs = nullptr; }) == kBad + "2 inputs but no input table");
  CHECK(after([](Editable& e) { e.inputs[1].name = nullptr; }) == kBad + "input 1 has no name");
  CHECK(after([](Editable& e) { e.inputs[0].kind = PSYNC_KIND_OTHER; }) ==
        kBad + "input `a` has kind 5 (must be int, bool, pid, set<pid>, an enum or bytes)");
  CHECK(after([](Editable& e) { e.inputs[0].kind = PSYNC_KIND_NONE; }) ==
        kBad + "input `a` has kind 0 (must be int, bool, pid, set<pid>, an enum or bytes)");
  CHECK(after([](Editable& e) { e.inputs[1].offset = 36; }) ==
        kBad + "input `b` has offset 36 (must be a multiple of 8 past the 32-byte process header)");
  CHECK(after([](Editable& e) { e.inputs[0].offset = 8; }) ==
        kBad + "input `a` has offset 8 (must be a multiple of 8 past the 32-byte process header)");
  CHECK(after([](Editable& e) { e.inputs[1].offset = e.inputs[0].offset; }) ==
        kBad + "inputs `a` and `b` overlap at offset 32");
  CHECK(after([](Editable& e) { e.d.output.kind = 8; }) == kBad + "the output has unknown kind 8");
  CHECK(after([](Editable& e) { e.d.output.kind = PSYNC_KIND_ENUM; }) ==
        kBad + "output `decision` is an enum with 0 variants (must be 1 to 64, with their names)");
  // Version 3: the type descriptions of inputs and the output.
  CHECK(after([](Editable& e) { e.d.input_types = nullptr; }) == kBad + "2 inputs but no input_types");
  CHECK(after([](Editable& e) { e.inputs[0].kind = PSYNC_KIND_BOOL; }) ==
        kBad + "input `a`: its type does not match its kind");
  CHECK(after([](Editable& e) { e.d.output.kind = PSYNC_KIND_BYTES; }) ==
        kBad + "output `decision`: its type does not match its kind");
  CHECK(after([](Editable& e) { e.d.output_type = nullptr; }) ==
        kBad + "output `decision`: a type description is missing");
  static const psync_type bad_bytes = {PSYNC_TYPE_BYTES, 0, nullptr, nullptr, 0};
  static const psync_type* const bad_input_types[] = {&bad_bytes, &bad_bytes};
  CHECK(after([](Editable& e) {
          e.inputs[0].kind = PSYNC_KIND_BYTES;
          e.d.input_types = bad_input_types;
        }) == kBad + "input `a`: a bytes type description has capacity 0 (must be 1..65456)");
  static const psync_type tuple_without_elems = {PSYNC_TYPE_TUPLE, 2, nullptr, nullptr, 0};
  CHECK(after([](Editable& e) {
          e.d.output.kind = PSYNC_KIND_OTHER;
          e.d.output_type = &tuple_without_elems;
        }) == kBad + "output `decision`: a composite type description has no element types");
  // An enum's description names as many variants as its field.
  static const char* const two_names[] = {"A", "B"};
  static const psync_type two_variants = {PSYNC_TYPE_ENUM, 2, nullptr, two_names, 0};
  static const char* const one_name[] = {"A"};
  CHECK(after([](Editable& e) {
          e.d.output.kind = PSYNC_KIND_ENUM;
          e.d.output.variants = one_name;
          e.d.output.num_variants = 1;
          e.d.output_type = &two_variants;
        }) == kBad + "output `decision`: its type does not match its kind");
  // set<E>: its elements are its enum's variants, as many as it has members.
  static const psync_type* const enum_elem[] = {&two_variants};
  static const psync_type set_of_three = {PSYNC_TYPE_SET, 3, enum_elem, nullptr, 0};
  CHECK(after([](Editable& e) {
          e.d.output.kind = PSYNC_KIND_OTHER;
          e.d.output_type = &set_of_three;
        }) == kBad + "output `decision`: a set type description's elements are neither ints nor its enum's variants");
  CHECK(after([](Editable& e) { e.d.output.name = nullptr; }) == kBad + "the output has a kind but no name");
  CHECK(after([](Editable& e) { e.d.output.offset = 4; }) ==
        kBad + "output `decision` has offset 4 (must be a multiple of 8 past the 32-byte process header)");
  CHECK(after([](Editable& e) { e.d.output.offset = e.inputs[1].offset; }) ==
        kBad + "output `decision` overlaps input `b` at offset 40");
}

TEST_CASE("consts: table, defaults, names, kinds, indices") {
  CHECK(after([](Editable& e) { e.d.consts = nullptr; }) == kBad + "2 consts but no const table");
  CHECK(after([](Editable& e) { e.d.const_defaults = nullptr; }) == kBad + "2 consts but no const_defaults");
  CHECK(after([](Editable& e) { e.consts[0].name = nullptr; }) == kBad + "const 0 has no name");
  CHECK(after([](Editable& e) { e.consts[1].kind = PSYNC_KIND_OTHER; }) ==
        kBad + "const `k` has kind 5 (must be int, bool, pid, set<pid> or an enum)");
  CHECK(after([](Editable& e) { e.consts[1].offset = 2; }) == kBad + "const `k` has index 2 (there are 2 consts)");
  CHECK(after([](Editable& e) { e.consts[1].offset = 0; }) == kBad + "consts `f` and `k` share index 0");
}

TEST_CASE("specs: table, names, kinds, exactly the evaluators of the kind") {
  CHECK(after([](Editable& e) { e.d.specs = nullptr; }) == kBad + "4 specs but no spec table");
  CHECK(after([](Editable& e) { e.specs[3].name = nullptr; }) == kBad + "spec 3 has no name");
  CHECK(after([](Editable& e) { e.specs[0].kind = 4; }) == kBad + "spec `validity` has unknown kind 4");
  CHECK(after([](Editable& e) { e.specs[0].eval = nullptr; }) == kBad + "invariant `validity` has no eval");
  CHECK(after([](Editable& e) { e.specs[0].eval2 = e.specs[1].eval2; }) ==
        kBad + "invariant `validity` has an eval2 it does not use");
  CHECK(after([](Editable& e) { e.specs[1].eval2 = nullptr; }) == kBad + "property `irrevocability` has no eval2");
  CHECK(after([](Editable& e) { e.specs[1].pred = e.specs[3].pred; }) ==
        kBad + "property `irrevocability` has a pred it does not use");
  CHECK(after([](Editable& e) { e.specs[2].pred = nullptr; }) == kBad + "liveness `termination` has no pred");
  CHECK(after([](Editable& e) { e.specs[2].eval = nullptr; }) == kBad + "liveness `termination` has no eval");
  CHECK(after([](Editable& e) { e.specs[2].after_rounds = 0; }) ==
        kBad + "liveness `termination` has after_rounds 0 (must be at least 1)");
  CHECK(after([](Editable& e) { e.specs[3].pred = nullptr; }) == kBad + "assume `someone` has no pred");
  // Version 6: the predicate's shape.
  CHECK(after([](Editable& e) { e.specs[3].pred_local = nullptr; }) ==
        kBad + "assume `someone` has PSYNC_HO_LOCAL but no pred_local");
  CHECK(after([](Editable& e) { e.specs[3].ho_shape = 0; }) ==
        kBad + "assume `someone` has a pred_local without PSYNC_HO_LOCAL");
  CHECK(after([](Editable& e) { e.specs[0].ho_shape = PSYNC_HO_UNIFORM; }) ==
        kBad + "invariant `validity` has an ho_shape but no predicate");
  CHECK(after([](Editable& e) { e.specs[3].ho_shape |= 16u; }) == kBad + "assume `someone` has unknown ho_shape bits 16");
  CHECK(after([](Editable& e) { e.specs[3].ho_shape |= PSYNC_HO_MONOTONE; }) ==
        kBad + "assume `someone` has PSYNC_HO_MONOTONE without PSYNC_HO_RESIDUAL");
  CHECK(after([](Editable& e) { e.specs[3].ho_shape = 0; e.specs[3].pred_local = nullptr; }) == "");
  CHECK(after([](Editable& e) { e.specs[3].eval = e.specs[0].eval; }) ==
        kBad + "assume `someone` has an eval it does not use");
}

TEST_CASE("sizes for n: state, offsets inside it, messages, sync") {
  CHECK(after([](Editable&) {}, 0) == "n = 0 is outside 1..64");
  CHECK(after([](Editable&) {}, PSYNC_MAX_N + 1) == "n = 65 is outside 1..64");
  CHECK(after([](Editable&) {}, 1) == kBad + "round `settle` waits for `sync 2` with n = 1: it could never start");
  CHECK(after([](Editable&) {}, 2) == "");
  CHECK(after([](Editable& e) { e.d.state_size = [](int32_t) -> uint64_t { return 60; }; }) ==
        kBad + "state_size(4) = 60 (must be a multiple of 8 from 32 to 16777216)");
  CHECK(after([](Editable& e) { e.d.state_size = [](int32_t) -> uint64_t { return 16; }; }) ==
        kBad + "state_size(4) = 16 (must be a multiple of 8 from 32 to 16777216)");
  CHECK(after([](Editable& e) { e.d.state_size = [](int32_t) -> uint64_t { return uint64_t{1} << 40; }; }) ==
        kBad + "state_size(4) = 1099511627776 (must be a multiple of 8 from 32 to 16777216)");
  // Header, a, b, decision: the output is the last field below byte 56.
  CHECK(after([](Editable& e) { e.d.state_size = [](int32_t) -> uint64_t { return 48; }; }) ==
        kBad + "output `decision` at offset 48 lies outside the state (state_size(4) = 48)");
  CHECK(after([](Editable& e) { e.d.state_size = [](int32_t) -> uint64_t { return 40; }; }) ==
        kBad + "input `b` at offset 40 lies outside the state (state_size(4) = 40)");
  CHECK(after([](Editable& e) { e.rounds[2].msg_size = [](int32_t) -> uint64_t { return 12; }; }) ==
        kBad + "round `pairs`: msg_size(4) = 12 (must be a multiple of 8 up to 65464)");
  CHECK(after([](Editable& e) { e.rounds[2].msg_size = [](int32_t) -> uint64_t { return 65472; }; }) ==
        kBad + "round `pairs`: msg_size(4) = 65472 (must be a multiple of 8 up to 65464)");
  CHECK(after([](Editable& e) {  // the largest size (its type, version 7, would say 16 bytes: drop it)
          e.rounds[2].msg_size = [](int32_t) -> uint64_t { return 65464; };
          e.rounds[2].msg_type = nullptr;
        }) == "");
  CHECK(after([](Editable& e) { e.rounds[2].msg_size = [](int32_t) -> uint64_t { return 24; }; }) ==
        kBad + "round `pairs`: msg_size(4) = 24 but its message type takes 16 bytes");
  CHECK(after([](Editable& e) { e.rounds[1].sync_k = 5; }) ==
        kBad + "round `settle` waits for `sync 5` with n = 4: it could never start");
}

// Version 8: dead_words(n, round, ...) names whole words of the state, past
// the header; the checker zeroes them (runtime/check/dead_state.cpp).
template <uint32_t Off>
uint32_t one_dead_word(int32_t, uint32_t, uint32_t* words, uint32_t cap) {
  if (cap >= 1) words[0] = Off;
  return 1;
}

TEST_CASE("dead words: whole words past the header, inside the state") {
  const uint64_t ss = every_field().state_size(4);
  REQUIRE(ss % 8 == 0);
  REQUIRE(ss >= sizeof(psync_proc_header) + 8);
  CHECK(after([](Editable& e) { e.d.dead_words = nullptr; }) == "");
  CHECK(after([](Editable& e) { e.d.dead_words = one_dead_word<sizeof(psync_proc_header)>; }) == "");
  CHECK(after([](Editable& e) { e.d.dead_words = one_dead_word<sizeof(psync_proc_header) + 4>; }) ==
        kBad + "dead_words(4, 0) gave byte " + std::to_string(sizeof(psync_proc_header) + 4) +
            " (must be a whole word past the header, inside state_size(4) = " + std::to_string(ss) + ")");
  CHECK(after([](Editable& e) { e.d.dead_words = one_dead_word<0>; }) ==
        kBad + "dead_words(4, 0) gave byte 0 (must be a whole word past the header, inside state_size(4) = " +
            std::to_string(ss) + ")");
  CHECK(after([](Editable& e) { e.d.dead_words = one_dead_word<1u << 24>; }) ==
        kBad + "dead_words(4, 0) gave byte 16777216 (must be a whole word past the header, inside state_size(4) = " +
            std::to_string(ss) + ")");
}

TEST_CASE("what may be null: go_when, print_state, empty tables, no output") {
  CHECK((every_field().rounds[0].go_when != nullptr));
  CHECK(after([](Editable& e) { e.rounds[0].go_when = nullptr; }) == "");
  CHECK(after([](Editable& e) { e.d.print_state = nullptr; }) == "");
  CHECK(after([](Editable& e) {
          e.d.num_consts = 0;
          e.d.consts = nullptr;
          e.d.const_defaults = nullptr;
        }) == "");
  CHECK(after([](Editable& e) {
          e.d.num_inputs = 0;
          e.d.inputs = nullptr;
          e.d.num_specs = 0;
          e.d.specs = nullptr;
        }) == "");
  CHECK(after([](Editable& e) { e.d.output = {nullptr, PSYNC_KIND_NONE, 0, nullptr, 0, 0}; }) == "");
  // Version 3: a composite output is read through its type description, so
  // its kind must match that description (and its offset is checked).
  CHECK(after([](Editable& e) { e.d.output.kind = PSYNC_KIND_OTHER; e.d.output.offset = 3; }) ==
        "bad protocol descriptor: output `decision`: its type does not match its kind");
}

namespace {

// Runs node_main with `args`, its stderr going to a file; returns the status
// and what it printed.
std::pair<int, std::string> run_node_main(const psync_protocol_desc& d, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  std::fflush(stderr);
  const int saved = dup(fileno(stderr));
  dup2(fileno(capture), fileno(stderr));
  const int status = psync::node::node_main(d, int(argv.size()), argv.data());
  std::fflush(stderr);
  dup2(saved, fileno(stderr));
  close(saved);
  std::rewind(capture);
  std::string text;
  char buf[512];
  for (size_t k; (k = std::fread(buf, 1, sizeof buf, capture)) > 0;) text.append(buf, k);
  std::fclose(capture);
  return {status, text};
}

}  // namespace

TEST_CASE("the node refuses a bad descriptor at start-up: one line, status 2") {
  // Broken in its shape: refused before the command line is read.
  Editable e(every_field());
  e.rounds[0].msg_size = nullptr;
  auto [status, text] = run_node_main(e.d, {"replica", "--describe"});
  CHECK(status == 2);
  CHECK(text == "replica: error: bad protocol descriptor: round `gather` has no msg_size\n");

  // Unusable at the cluster's n: refused once the cluster file gives n.
  const std::string cluster = "psync_test_validate_" + std::to_string(getpid()) + ".toml";
  std::ofstream(cluster) << "[[process]]\nid = 0\naddress = \"127.0.0.1:7999\"\n";
  auto [status1, text1] =
      run_node_main(every_field(), {"replica", "--id", "0", "--cluster", cluster, "--input", "a=1", "--input", "b=true"});
  std::remove(cluster.c_str());
  CHECK(status1 == 2);
  CHECK(text1 == "replica: error: bad protocol descriptor: round `settle` waits for `sync 2` with n = 1: it could never "
                 "start\n");
}

// Version 9: stale_words(n, round, ...) names some of the phase words; it
// and stale_flags come only with phase_words (runtime/check/phases.cpp).
uint32_t one_phase_word(int32_t, uint32_t* words, uint32_t cap) {
  if (cap >= 1) words[0] = (sizeof(psync_proc_header) << 1) | 1;
  return 1;
}
template <uint32_t Word>
uint32_t one_stale_word(int32_t, uint32_t, uint32_t* words, uint32_t cap) {
  if (cap >= 1) words[0] = Word;
  return 1;
}

TEST_CASE("stale words: phase words only, and only with phase_words") {
  constexpr uint32_t kPhase = (sizeof(psync_proc_header) << 1) | 1;
  static_assert(kPhase + 16 == 0x51);
  CHECK(after([](Editable& e) {
          e.d.phase_words = one_phase_word;
          e.d.phase_modulus = 1;
          e.d.stale_words = one_stale_word<kPhase>;
          e.d.stale_flags = PSYNC_STALE_WHOLE_BALLOTS;
        }) == "");
  CHECK(after([](Editable& e) { e.d.stale_words = one_stale_word<kPhase>; }) ==
        kBad + "stale_words or stale_flags without phase_words");
  CHECK(after([](Editable& e) { e.d.stale_flags = PSYNC_STALE_WHOLE_BALLOTS; }) ==
        kBad + "stale_words or stale_flags without phase_words");
  CHECK(after([](Editable& e) {
          e.d.phase_words = one_phase_word;
          e.d.phase_modulus = 1;
          e.d.stale_flags = 2;
        }) == kBad + "unknown stale_flags 0x2 (the only flag is PSYNC_STALE_WHOLE_BALLOTS)");
  CHECK(after([](Editable& e) {
          e.d.phase_words = one_phase_word;
          e.d.phase_modulus = 1;
          e.d.stale_words = one_stale_word<kPhase + 16>;
        }) == kBad + "stale_words(4, 0) gave word 0x51, which is not one of phase_words(4)");
}
