# End-to-end tests of the protocol library (examples/): each example is
# compiled, run as n real replicas on loopback with inputs drawn at random
# (seeded), and the protocol's own guarantee is asserted on the decisions
# the replicas made (tests/e2e/check_guarantee.py). Included by
# tests/e2e/CMakeLists.txt, which defines RUN, EX and psync_e2e().
set(GUARANTEE ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/check_guarantee.py $<TARGET_FILE:psyncc>)

# Consensus: agreement and validity on every instance, every replica decides.
psync_e2e(ex_one_third_rule_n4 ${GUARANTEE} ${EX}/one_third_rule.psync --guarantee consensus
          -n 4 --input init=int:0..99 --instances 10 --seed 1)
psync_e2e(ex_last_voting_n3 ${GUARANTEE} ${EX}/last_voting.psync --guarantee consensus
          -n 3 --input init=int:0..99 --instances 10 --seed 2)
psync_e2e(ex_short_last_voting_n5 ${GUARANTEE} ${EX}/short_last_voting.psync --guarantee consensus
          -n 5 --input init=int:0..99 --instances 10 --seed 3)
psync_e2e(ex_short_last_voting_n5_one_killed ${GUARANTEE} ${EX}/short_last_voting.psync --guarantee consensus
          -n 5 --input init=int:0..99 --instances 4 --kill 1@0ms --seed 4)
psync_e2e(ex_uniform_voting_n4 ${GUARANTEE} ${EX}/uniform_voting.psync --guarantee consensus
          -n 4 --input init=int:0..99 --instances 10 --seed 5)
psync_e2e(ex_paxos_n3 ${GUARANTEE} ${EX}/paxos.psync --guarantee consensus
          -n 3 --input init=int:0..99 --instances 10 --seed 21)
psync_e2e(ex_paxos_n5_one_killed ${GUARANTEE} ${EX}/paxos.psync --guarantee consensus
          -n 5 --input init=int:0..99 --instances 4 --kill 4@0ms --seed 22)
# Ben-Or: binary inputs; coins are seeded per replica and instance.
psync_e2e(ex_ben_or_n5 ${GUARANTEE} ${EX}/ben_or.psync --guarantee consensus
          -n 5 --input init=int:0..1 --instances 20 --seed 6)
psync_e2e(ex_ben_or_n4_tcp ${GUARANTEE} ${EX}/ben_or.psync --guarantee consensus
          -n 4 --input init=int:0..1 --instances 10 --transport tcp --seed 7)
# Crash-fault synchronous algorithms; one crash within f = 1.
psync_e2e(ex_flood_min_n4 ${GUARANTEE} ${EX}/flood_min.psync --guarantee consensus
          -n 4 --input init=int:0..99 --instances 10 --seed 8)
psync_e2e(ex_flood_min_n4_one_killed ${GUARANTEE} ${EX}/flood_min.psync --guarantee consensus
          -n 4 --input init=int:0..99 --instances 3 --kill 2@0ms --seed 9)
# Replica 2 crashes after its handshake with 0 and 1 but before 3 starts:
# 0 and 1 begin round 0 at once, 3 waits --start-wait (1 s) for 2 and
# begins after 0 and 1 decided without it. It must learn their decisions,
# not run the rounds alone on empty mailboxes (it decided 0, nobody's
# input, before the fix; the one_killed run above hit the same race 1 in 4).
psync_e2e(ex_flood_min_n4_killed_before_late_start ${GUARANTEE} ${EX}/flood_min.psync --guarantee consensus
          -n 4 --input init=int:0..99 --instances 3 --kill 2@200ms --late 3@500ms --expect-learned 3 --seed 9)
# k-set agreement: at most k distinct decisions.
psync_e2e(ex_k_set_n5_k2 ${GUARANTEE} ${EX}/k_set_agreement.psync --guarantee kset
          -n 5 --input init=int:0..99 --instances 10 --const k=2 --const f=2 --seed 10)
psync_e2e(ex_k_set_n3_k2_one_killed ${GUARANTEE} ${EX}/k_set_agreement.psync --guarantee kset
          -n 3 --input init=int:0..99 --instances 3 --const k=2 --const f=1 --kill 0@0ms --seed 11)
# Reliable broadcast: every delivery is replica 0's value.
psync_e2e(ex_reliable_broadcast_n5 ${GUARANTEE} ${EX}/reliable_broadcast.psync --guarantee broadcast
          -n 5 --input init=int:0..99 --instances 10 --seed 12)
# Two-phase commit: commit only if everyone voted yes.
psync_e2e(ex_two_phase_commit_n5 ${GUARANTEE} ${EX}/two_phase_commit.psync --guarantee commit
          -n 5 --input vote=vote --instances 16 --seed 13)
psync_e2e(ex_two_phase_commit_n3_participant_killed ${GUARANTEE} ${EX}/two_phase_commit.psync --guarantee commit
          -n 3 --input vote=vote --instances 4 --kill 2@0ms --seed 14)
# Lattice agreement: decisions form a chain under inclusion.
psync_e2e(ex_lattice_agreement_n4 ${GUARANTEE} ${EX}/lattice_agreement.psync --guarantee lattice
          -n 4 --input init=set --instances 6 --seed 15)
# Leader election (no decision: `output var leader`): replicas elected in the
# same round name the same leader, checked on their final states.
psync_e2e(ex_leader_election_n5 ${GUARANTEE} ${EX}/leader_election.psync --guarantee leader
          -n 5 --instances 10 --max-rounds 24 --seed 16)
psync_e2e(ex_leader_election_n3_tcp ${GUARANTEE} ${EX}/leader_election.psync --guarantee leader
          -n 3 --instances 10 --max-rounds 24 --transport tcp --seed 17)
# Issue 14's four: Phase King (binary, n > 3f; the first king crashed),
# Chandra-Toueg (a crashed replica is suspected; its <>S timeout grows),
# FloodSet (the default 0 is a valid decision when inputs differ), and the
# Raft-style election (at most one leader per term, on the final states).
psync_e2e(ex_phase_king_n4 ${GUARANTEE} ${EX}/phase_king.psync --guarantee consensus
          -n 4 --input init=agree:0..1 --instances 10 --seed 18)
# Byzantine: replica 3 lies (`--lie`, random values or nothing to each
# peer); the three correct replicas agree on a correct replica's input.
psync_e2e(ex_phase_king_byzantine_n4_one_liar ${GUARANTEE} ${EX}/phase_king_byzantine.psync --guarantee consensus
          -n 4 --input init=agree:0..1 --instances 6 --lie 3 --seed 21)
psync_e2e(ex_phase_king_n4_one_killed ${GUARANTEE} ${EX}/phase_king.psync --guarantee consensus
          -n 4 --input init=agree:0..1 --instances 3 --kill 0@0ms --seed 19)
psync_e2e(ex_chandra_toueg_n3 ${GUARANTEE} ${EX}/chandra_toueg.psync --guarantee consensus
          -n 3 --input init=int:0..99 --instances 10 --seed 20)
psync_e2e(ex_chandra_toueg_n5_coordinator_killed ${GUARANTEE} ${EX}/chandra_toueg.psync --guarantee consensus
          -n 5 --input init=int:0..99 --instances 4 --kill 0@0ms --seed 21)
psync_e2e(ex_flood_set_n4 ${GUARANTEE} ${EX}/flood_set.psync --guarantee consensus --default 0
          -n 4 --input init=agree:0..7 --instances 10 --seed 22)
psync_e2e(ex_flood_set_n4_one_killed ${GUARANTEE} ${EX}/flood_set.psync --guarantee consensus --default 0
          -n 4 --input init=agree:0..7 --instances 3 --kill 1@0ms --seed 23)
psync_e2e(ex_raft_election_n5 ${GUARANTEE} ${EX}/raft_election.psync --guarantee election
          -n 5 --instances 10 --max-rounds 24 --seed 24)
psync_e2e(ex_raft_election_n3_tcp_one_killed ${GUARANTEE} ${EX}/raft_election.psync --guarantee election
          -n 3 --instances 6 --max-rounds 24 --transport tcp --kill 0@0ms --seed 25)

# docs/examples.md's table is generated from the examples and the checks of
# tests/lit/examples (which this runs again); fail when the page is stale.
add_test(NAME examples_table_fresh
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/examples_table.py $<TARGET_FILE:psyncc> --check)
set_tests_properties(examples_table_fresh PROPERTIES TIMEOUT 900)
