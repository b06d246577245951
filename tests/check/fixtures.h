// fixtures.h: the protocols the checker's tests and psync-check-fixtures run,
// each JIT-compiled from a .psync file (tests/support/compiled.h): the
// examples themselves, and the variants in tests/check/psync that each pin
// down one verdict (most are broken on purpose).
#pragma once

#include "compiled.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace psync::fixtures {

struct Fixture {
  const char* name;  // for psync-check-fixtures and bench/check
  const char* file;  // relative to the source tree
};

inline constexpr Fixture kFixtures[] = {
    // examples/one_third_rule.psync: agreement, validity,
    // termination after 2 uniform rounds heard by more than 2n/3.
    {"otr", "examples/one_third_rule.psync"},
    // An n/2 threshold: agreement fails for n = 5.
    {"otr-majority", "tests/check/psync/otr_half_threshold.psync"},
    // Claiming termination after a single uniform round (false).
    {"otr-hasty", "tests/check/psync/otr_no_termination.psync"},
    // Event-round versions (receive/finish, `go` once past the threshold);
    // inputs must be 0 or 1.
    {"otr-event", "tests/check/psync/otr_event.psync"},
    {"otr-event-majority", "tests/check/psync/otr_event_half_threshold.psync"},
    // A false property (x never changes) and a false invariant (every input
    // is 0), judged on the first transition and in initial states.
    {"otr-x-changes", "tests/check/psync/otr_x_changes.psync"},
    {"otr-inputs-zero", "tests/check/psync/otr_inputs_zero.psync"},
    // Ben-Or with `assume majority`, without it, and with it and a false
    // invariant (nobody decides).
    {"benor", "examples/ben_or.psync"},
    {"benor-no-assume", "tests/check/psync/ben_or_no_assume.psync"},
    {"benor-never-decides", "tests/check/psync/ben_or_never_decides.psync"},
    // decide(coin()) in one round (const k != 2: decide(random(k))).
    {"coin-decide", "tests/check/psync/coin_decide.psync"},
    {"coin-decide-unchecked", "tests/check/psync/coin_decide_unchecked.psync"},
    // decide(r % 2) every round: a conflict in round 1; the halting variant
    // halts after its first decision and never conflicts.
    {"flip-flop", "tests/check/psync/flip_flop.psync"},
    {"flip-flop-halting", "tests/check/psync/flip_flop_halting.psync"},
    // LastVoting (not symmetric: the coordinator is phase % n), one whose
    // coordinator ignores timestamps, and one with a one-phase liveness window.
    {"last-voting", "examples/last_voting.psync"},
    {"last-voting-no-ts", "tests/check/psync/lv_ignores_timestamps.psync"},
    {"last-voting-phase-window", "tests/check/psync/lv_phase_window.psync"},
};

// nullptr if `name` is not a fixture.
inline const Fixture* fixture_named(std::string_view name) {
  for (const Fixture& f : kFixtures)
    if (name == f.name) return &f;
  return nullptr;
}

// The compiled fixture; throws std::logic_error for an unknown name.
inline const psync_protocol_desc& fixture(std::string_view name) {
  const Fixture* f = fixture_named(name);
  if (f == nullptr) throw std::logic_error("no fixture named " + std::string(name));
  return psync::test::compiled(f->file);
}

inline const psync_protocol_desc& one_third_rule() { return fixture("otr"); }
inline const psync_protocol_desc& one_third_rule_majority() { return fixture("otr-majority"); }
inline const psync_protocol_desc& one_third_rule_hasty_termination() { return fixture("otr-hasty"); }
inline const psync_protocol_desc& one_third_rule_event() { return fixture("otr-event"); }
inline const psync_protocol_desc& one_third_rule_event_majority() { return fixture("otr-event-majority"); }
inline const psync_protocol_desc& ben_or() { return fixture("benor"); }
inline const psync_protocol_desc& ben_or_without_assume() { return fixture("benor-no-assume"); }
inline const psync_protocol_desc& coin_decide() { return fixture("coin-decide"); }
inline const psync_protocol_desc& coin_decide_unchecked() { return fixture("coin-decide-unchecked"); }
inline const psync_protocol_desc& flip_flop() { return fixture("flip-flop"); }
inline const psync_protocol_desc& flip_flop_halting() { return fixture("flip-flop-halting"); }
inline const psync_protocol_desc& last_voting() { return fixture("last-voting"); }
inline const psync_protocol_desc& last_voting_no_timestamps() { return fixture("last-voting-no-ts"); }

}  // namespace psync::fixtures
