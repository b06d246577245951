// protocols.h: hand-written descriptors that implement psync/abi.h exactly
// as psyncc's back end will, so the checker can be tested (and benchmarked)
// before generated code exists. Each returns a static descriptor.
#ifndef PSYNC_TESTS_CHECK_PROTOCOLS_H
#define PSYNC_TESTS_CHECK_PROTOCOLS_H

#include <psync/abi.h>

#include <string_view>

namespace psync::fixtures {

// examples/one_third_rule.psync: agreement, validity, irrevocability,
// termination after 2 uniform rounds heard by more than 2n/3.
const psync_protocol_desc& one_third_rule();
// The same, claiming termination after a single uniform round (false).
const psync_protocol_desc& one_third_rule_hasty_termination();
// The same with a majority (n/2) threshold: agreement fails for n = 5.
const psync_protocol_desc& one_third_rule_majority();
// Event-round versions (receive/finish, `go` once past the threshold);
// inputs must be 0 or 1.
const psync_protocol_desc& one_third_rule_event();
const psync_protocol_desc& one_third_rule_event_majority();

// Ben-Or, two rounds per phase, coin() when no vote is heard, with
// `assume majority: forall p: ho(p).size > n/2`; and without the assume.
const psync_protocol_desc& ben_or();
const psync_protocol_desc& ben_or_without_assume();

// decide(coin()) in one round (const k != 2: decide(random(k))).
const psync_protocol_desc& coin_decide();
const psync_protocol_desc& coin_decide_unchecked();  // no specs
// decide(r % 2) every round: a decide conflict in round 1; the halting
// variant halts after its first decision and never conflicts.
const psync_protocol_desc& flip_flop();
const psync_protocol_desc& flip_flop_halting();

// LastVoting (Paxos in the HO model, examples/last_voting.psync), and a
// coordinator that ignores timestamps (takes the smallest value instead).
const psync_protocol_desc& last_voting();
const psync_protocol_desc& last_voting_no_timestamps();

// By name ("otr", "otr-majority", ...), for the command-line tool; nullptr
// if unknown.
const psync_protocol_desc* fixture_by_name(std::string_view name);
const char* fixture_names();

}  // namespace psync::fixtures

#endif  // PSYNC_TESTS_CHECK_PROTOCOLS_H
