// test_engine.cpp: the round engine without sockets. A fake host records what
// an instance sends and decides; the tests play the network and the clock.
#include "engine/engine.h"
#include "compiled.h"

#include <doctest/doctest.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

using namespace psync::engine;

namespace {

struct Sent {
  uint64_t instance;
  int64_t round;
  int32_t from;
  int32_t to;
  std::vector<std::byte> payload;
  bool decided = false;
};

struct FakeHost : Host {
  int32_t me = 0;
  std::vector<Sent> sent;
  std::vector<std::pair<uint64_t, int64_t>> decisions;  // instance, round
  std::vector<std::pair<int64_t, uint64_t>> notices;  // round, to
  void send_message(uint64_t instance, int64_t round, int32_t to, std::span<const std::byte> p,
                    bool decided) override {
    sent.push_back({instance, round, me, to, {p.begin(), p.end()}, decided});
  }
  void announce_decided(uint64_t, int64_t round, uint64_t to) override { notices.emplace_back(round, to); }
  void report_decision(uint64_t instance, int64_t round, const void*) override {
    decisions.emplace_back(instance, round);
  }
  size_t sent_in_round(int64_t r) const {
    size_t c = 0;
    for (const Sent& s : sent) c += s.round == r;
    return c;
  }
};

std::vector<std::byte> word(int64_t v) {
  std::vector<std::byte> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

// The probe (tests/runtime/psync/probe.psync) with the rounds a test asks
// for: each copies the file's round `closed` or `event` and adds its own
// progress clause ("" for none), as in `closed("strict 2")`.
struct ProbeRound {
  std::string kind;
  std::string progress;
};
ProbeRound closed(std::string progress = "") { return {"closed", std::move(progress)}; }
ProbeRound event(std::string progress = "") { return {"event", std::move(progress)}; }

// The probe's source with `rounds`: the file's declarations (everything
// before its first round), then a copy of the template named by each round,
// renamed after its position (closed_0, event_1, ...).
std::string probe_source(const std::vector<ProbeRound>& rounds) {
  const std::string path = psync::test::source_file("tests/runtime/psync/probe.psync");
  std::ifstream in(path);
  const std::string file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const size_t first = file.find("\nround ");
  if (!in || first == std::string::npos) throw std::runtime_error(path + ": no round");
  std::string text = file.substr(0, first + 1);
  for (size_t i = 0; i < rounds.size(); ++i) {
    const std::string head = "\nround " + rounds[i].kind + " {\n";
    const size_t begin = file.find(head);
    const size_t close = file.find("\n}\n", begin);  // a template ends at a `}` in column 0
    if (begin == std::string::npos || close == std::string::npos)
      throw std::runtime_error(path + ": no round `" + rounds[i].kind + "`");
    text += "\nround " + rounds[i].kind + "_" + std::to_string(i) + " {\n";
    text += file.substr(begin + head.size(), close + 1 - (begin + head.size()));
    if (!rounds[i].progress.empty()) text += "  progress " + rounds[i].progress + "\n";
    text += "}\n";
  }
  return text;
}

// The probe's output vars, read by name through the descriptor.
struct ProbeState {
  int64_t updates = 0, receives = 0, finishes = 0, last_size = 0, last_presence = 0, last_timed_out = 0,
          empty_updates = 0, payload_sum = 0, bad_env = 0, stale_locals = 0;
};
constexpr std::pair<const char*, int64_t ProbeState::*> kProbeVars[] = {
    {"updates", &ProbeState::updates},
    {"receives", &ProbeState::receives},
    {"finishes", &ProbeState::finishes},
    {"last_size", &ProbeState::last_size},
    {"last_presence", &ProbeState::last_presence},  // a set<pid>: its bitset word
    {"last_timed_out", &ProbeState::last_timed_out},
    {"empty_updates", &ProbeState::empty_updates},
    {"payload_sum", &ProbeState::payload_sum},
    {"bad_env", &ProbeState::bad_env},
    {"stale_locals", &ProbeState::stale_locals},
};

// One probe instance at process `me` of n, with consts set by the test.
struct ProbeFixture {
  const psync_protocol_desc& proto;
  Layout layout;
  Config config;
  std::vector<int64_t> consts;
  FakeHost host;
  Counters counters;
  std::unique_ptr<Instance> inst;

  ProbeFixture(const std::vector<ProbeRound>& rounds, int32_t n = 4, int32_t me = 0)
      : proto(psync::test::compiled_text("probe.psync", probe_source(rounds))),
        layout(Layout::compute(proto, n)),
        consts(proto.num_consts) {
    proto.const_defaults(n, consts.data());
    config.n = n;
    config.me = me;
    config.default_timeout_us = 1000;
    config.after_decide_rounds = 1;
    konst("k") = int64_t(rounds.size());
    host.me = me;
  }
  // The value the instance will get for const `name`.
  int64_t& konst(std::string_view name) {
    for (uint32_t i = 0; i < proto.num_consts; ++i)
      if (name == proto.consts[i].name) return consts[proto.consts[i].offset];
    throw std::logic_error("the probe has no const " + std::string(name));
  }
  void start(int64_t now = 0) {
    int64_t input = 7;
    inst = std::make_unique<Instance>(layout, config, consts.data(), 0, std::span<const int64_t>(&input, 1),
                                      host, counters);
    inst->start(now);
  }
  ProbeState st() const {
    ProbeState s;
    for (const auto& [name, member] : kProbeVars) {
      const psync_field* field = nullptr;
      for (uint32_t i = 0; i < proto.num_output_vars; ++i)
        if (std::string_view(proto.output_vars[i].name) == name) field = &proto.output_vars[i];
      if (field == nullptr) throw std::logic_error("the probe has no output var " + std::string(name));
      std::memcpy(&(s.*member), static_cast<const std::byte*>(inst->state()) + field->offset, 8);
    }
    return s;
  }
  void recv(int32_t from, int64_t round, int64_t now = 0) { inst->receive(from, round, word(round), now); }
};

}  // namespace

TEST_CASE("a closed round sends to all, delivers to itself, and ends when the mailbox is full") {
  ProbeFixture f({closed()});
  f.start();
  CHECK(f.inst->round() == 0);
  CHECK(f.host.sent.size() == 3);  // to 1, 2, 3; its own message goes to the mailbox
  CHECK(f.counters.messages_delivered == 1);
  f.recv(1, 0);
  f.recv(2, 0);
  CHECK(f.inst->round() == 0);
  f.recv(3, 0);
  CHECK(f.inst->round() == 1);
  CHECK(f.st().updates == 1);
  CHECK(f.st().last_size == 4);
  CHECK(f.counters.rounds_ended_full == 1);
  CHECK(f.st().bad_env == 0);
}

TEST_CASE("the default timeout ends a round with what it has") {
  ProbeFixture f({closed()});
  f.start(100);
  CHECK(f.inst->deadline_us() == 1100);
  f.recv(2, 0, 500);
  f.inst->on_timer(1099);  // early: nothing happens
  CHECK(f.inst->round() == 0);
  f.inst->on_timer(1100);
  CHECK(f.inst->round() == 1);
  CHECK(f.counters.timeouts == 1);
  CHECK(f.st().last_size == 2);
  CHECK(f.st().last_presence == 0b101);
  CHECK(f.inst->deadline_us() == 2100);  // the next round's timer starts now
}

TEST_CASE("a round's own timeout overrides the default") {
  ProbeFixture f({closed("timeout 250us")});
  f.start(0);
  CHECK(f.inst->deadline_us() == 250);
}

TEST_CASE("wait: no timeout, the round ends only on a full mailbox") {
  ProbeFixture f({closed("wait")});
  f.start(0);
  CHECK(f.inst->deadline_us() == kNoDeadline);
  f.inst->on_timer(1'000'000'000);
  CHECK(f.inst->round() == 0);
  f.recv(1, 0);
  f.recv(2, 0);
  f.recv(3, 0);
  CHECK(f.inst->round() == 1);
  CHECK(f.counters.timeouts == 0);
}

TEST_CASE("go when is evaluated after each delivery") {
  ProbeFixture f({closed("wait, go when mbox.size >= go_at")});
  f.konst("go_at") = 3;  // go when mbox.size >= 3
  f.start(0);
  f.recv(1, 0);
  CHECK(f.inst->round() == 0);
  f.recv(3, 0);
  CHECK(f.inst->round() == 1);
  CHECK(f.st().last_size == 3);
  CHECK(f.counters.rounds_ended_by_go == 1);
}

TEST_CASE("go when that holds on the empty mailbox ends the round at once") {
  ProbeFixture f({closed("go when mbox.size >= go_at")});
  f.konst("go_at") = 0;  // always true: like LastVoting's non-coordinator
  f.config.max_rounds = 5;
  f.start(0);
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::GaveUp);
  CHECK(f.st().updates == 5);
  CHECK(f.counters.instances_gave_up == 1);
}

TEST_CASE("late messages are dropped and counted") {
  ProbeFixture f({closed()});
  f.start(0);
  f.inst->on_timer(1000);
  f.inst->on_timer(2000);
  REQUIRE(f.inst->round() == 2);
  f.recv(1, 0);
  f.recv(1, 1);
  CHECK(f.counters.late_messages_dropped == 2);
  CHECK(f.inst->round() == 2);
}

TEST_CASE("duplicates (same sender, same round) are dropped, current and future") {
  ProbeFixture f({closed("strict")});
  f.start(0);
  f.recv(1, 0);
  f.recv(1, 0);
  CHECK(f.counters.duplicates_dropped == 1);
  f.recv(2, 3);
  f.recv(2, 3);
  CHECK(f.counters.duplicates_dropped == 2);
  CHECK(f.inst->buffered_messages() == 1);
}

TEST_CASE("wrong payload sizes and impossible senders are malformed") {
  ProbeFixture f({closed()});
  f.start(0);
  std::vector<std::byte> short_payload(4);
  f.inst->receive(1, 0, short_payload, 0);
  f.inst->receive(9, 0, word(0), 0);
  f.inst->receive(0, 0, word(0), 0);  // itself, from the network
  f.inst->receive(1, -1, word(-1), 0);
  CHECK(f.counters.invalid_messages_dropped == 4);
  CHECK(f.st().last_size == 0);
}

TEST_CASE("catch-up: a future message finishes the round, skips with empty mailboxes, delivers it") {
  ProbeFixture f({closed()});
  f.start(0);
  f.recv(1, 0);
  f.recv(2, 3, 10);
  CHECK(f.inst->round() == 3);
  CHECK(f.counters.catch_ups == 1);
  CHECK(f.counters.rounds_skipped == 2);
  CHECK(f.st().updates == 3);
  CHECK(f.st().empty_updates == 2);  // rounds 1 and 2
  // Skipped rounds send nothing (by default); round 3 sends to everyone.
  CHECK(f.host.sent_in_round(1) == 0);
  CHECK(f.host.sent_in_round(2) == 0);
  CHECK(f.host.sent_in_round(3) == 3);
  CHECK(f.counters.sends_suppressed == 8);  // 4 per skipped round, self included
  // Round 3's mailbox holds the buffered message and our own.
  uint64_t p;
  std::memcpy(&p, f.inst->mailbox().data(), 8);
  CHECK(p == 0b101);
  CHECK(f.st().stale_locals == 0);  // send ran in skipped rounds too: each update saw its own round-locals
  CHECK(f.st().bad_env == 0);
  CHECK(f.inst->deadline_us() == 1010);
}

TEST_CASE("deferred catch-up: round-r messages queued behind the future one still count") {
  ProbeFixture f({closed()});
  f.config.defer_catch_up = true;
  f.start(0);
  f.recv(1, 0);
  f.recv(2, 1);  // a future message: noted, not acted on yet
  CHECK(f.inst->catch_up_pending());
  CHECK(f.inst->round() == 0);
  f.recv(3, 0);  // the last round-0 message was right behind it
  f.recv(2, 0);
  CHECK(f.inst->round() == 1);  // round 0 ended full, no catch-up needed
  CHECK(f.st().last_size == 4);
  f.inst->settle(0);
  CHECK(f.counters.catch_ups == 0);
  // A real jump still happens, at settle().
  f.recv(1, 5);
  CHECK(f.inst->round() == 1);
  f.inst->settle(10);
  CHECK(f.inst->round() == 5);
  CHECK(f.counters.catch_ups == 1);
}

TEST_CASE("catch-up sends can be enabled") {
  ProbeFixture f({closed()});
  f.config.suppress_catch_up_sends = false;
  f.start(0);
  f.recv(2, 3);
  CHECK(f.host.sent_in_round(1) == 3);
  CHECK(f.host.sent_in_round(2) == 3);
  CHECK(f.counters.sends_suppressed == 0);
  CHECK(f.st().empty_updates == 0);  // their own messages are in the skipped mailboxes
}

TEST_CASE("Byzantine budget: catch up only once f+1 distinct senders are ahead") {
  ProbeFixture f({closed()}, 5);
  f.config.byzantine_f = 1;
  f.start(0);
  f.recv(1, 9);  // one (possibly lying) sender far ahead
  CHECK(f.inst->round() == 0);
  CHECK(f.counters.catch_ups == 0);
  f.recv(1, 4);  // the same sender again does not count twice
  CHECK(f.inst->round() == 0);
  f.recv(2, 4);  // a second sender: two are at >= 4, so round 4 is safe
  CHECK(f.inst->round() == 4);
  CHECK(f.counters.catch_ups == 1);
  // Round 4's mailbox holds both buffered round-4 messages and our own.
  CHECK(f.inst->buffered_messages() == 1);  // the round-9 one waits
}

TEST_CASE("strict rounds never catch up; the future buffer is bounded") {
  ProbeFixture f({closed("strict 2")});
  f.start(0);
  f.recv(1, 1);
  f.recv(2, 1);
  f.recv(3, 2);
  CHECK(f.inst->round() == 0);
  CHECK(f.counters.catch_ups == 0);
  CHECK(f.counters.future_messages_buffered == 2);
  CHECK(f.counters.future_messages_dropped == 1);
  // The round ends on its timeout; round 1 starts with the buffered messages.
  f.inst->on_timer(1000);
  CHECK(f.inst->round() == 1);
  uint64_t p;
  std::memcpy(&p, f.inst->mailbox().data(), 8);
  CHECK(p == 0b0111);
}

TEST_CASE("strict uses the driver's bound when the round gives none") {
  ProbeFixture f({closed("strict")}, 8);
  f.config.default_future_bound = 3;
  f.start(0);
  for (int32_t s = 1; s < 8; ++s) f.recv(s, 5);
  CHECK(f.counters.future_messages_buffered == 3);
  CHECK(f.counters.future_messages_dropped == 4);
}

TEST_CASE("a non-strict round after a strict one catches up from the buffer") {
  ProbeFixture f({closed("strict"), closed()});
  f.start(0);
  f.recv(1, 4);  // buffered during strict round 0
  CHECK(f.inst->round() == 0);
  f.inst->on_timer(1000);  // round 1 is not strict: catch up to 4
  CHECK(f.inst->round() == 4);
  CHECK(f.counters.catch_ups == 1);
  CHECK(f.st().bad_env == 0);
}

TEST_CASE("sync k: the round's clock starts only once k processes reached it") {
  ProbeFixture f({closed("strict, sync 3")});
  f.start(0);
  CHECK(f.inst->deadline_us() == kNoDeadline);
  f.inst->on_timer(50'000);
  CHECK(f.inst->round() == 0);
  f.recv(1, 0, 100);
  CHECK(f.inst->deadline_us() == kNoDeadline);
  f.recv(2, 2, 200);  // a message from a later round also shows 2 got here
  CHECK(f.inst->deadline_us() == 1200);
  f.inst->on_timer(1200);
  CHECK(f.inst->round() == 1);
  CHECK(f.counters.timeouts == 1);
}

TEST_CASE("event rounds: receive per message, go ends the round, finish sees timed_out") {
  ProbeFixture f({event()}, 5);
  f.konst("go_at") = 3;  // go after the third message (own one included)
  f.start(0);
  CHECK(f.st().receives == 1);  // its own message
  f.recv(4, 0);
  CHECK(f.inst->round() == 0);
  f.recv(2, 0);
  CHECK(f.inst->round() == 1);
  CHECK(f.st().finishes == 1);
  CHECK(f.st().last_timed_out == 0);
  CHECK(f.counters.rounds_ended_by_go == 1);
  // Round 1: only its own message, then the timeout.
  f.inst->on_timer(f.inst->deadline_us());
  CHECK(f.st().finishes == 2);
  CHECK(f.st().last_timed_out == 1);
  CHECK(f.st().last_size == 1);
  CHECK(f.st().bad_env == 0);
}

TEST_CASE("event rounds: `go when` over the state ends the round after a delivery") {
  ProbeFixture f({event("go when heard >= 3")}, 5);
  f.konst("go_at") = 100;  // receive never executes `go` here
  f.start(0);
  f.recv(4, 0);
  CHECK(f.inst->round() == 0);
  f.recv(2, 0);  // third message, own one included
  CHECK(f.inst->round() == 1);
  CHECK(f.st().last_timed_out == 0);
  CHECK(f.counters.rounds_ended_by_go == 1);
}

TEST_CASE("event rounds: nothing is received after go, buffered messages included") {
  ProbeFixture f({event()}, 5);
  f.konst("go_at") = 2;  // go at the second message, own one included
  f.config.defer_catch_up = true;
  f.start(0);
  CHECK(f.st().receives == 1);  // its own
  // Round-1 messages from three peers arrive early and are buffered.
  f.recv(2, 1);
  f.recv(3, 1);
  f.recv(4, 1);
  CHECK(f.counters.future_messages_buffered == 3);
  f.recv(1, 0);  // second round-0 message: go
  // Round 1 opens with its own message, takes the first buffered one, goes,
  // and drops the other two unseen (round/round.h, rule 3); round 2 opens
  // with its own message.
  CHECK(f.inst->round() == 2);
  CHECK(f.st().receives == 5);
  CHECK(f.counters.messages_after_close_dropped == 2);
  CHECK(f.st().finishes == 2);
  CHECK(f.st().last_timed_out == 0);
}

TEST_CASE("a skipped round gets the messages buffered for it, never its own") {
  ProbeFixture f({closed()});
  f.config.defer_catch_up = true;
  f.start(0);
  f.recv(1, 1);  // for round 1, which will be skipped
  f.recv(2, 3);  // the round to catch up to
  f.inst->settle(10);
  CHECK(f.inst->round() == 3);
  CHECK(f.counters.rounds_skipped == 2);
  // Updates: round 0 (own only), round 1 (the buffered message only: its
  // own send was suppressed), round 2 (empty).
  CHECK(f.st().updates == 3);
  CHECK(f.st().empty_updates == 1);
  CHECK(f.st().payload_sum == 0 + 1);  // round 0's own message carries 0, round 1's buffered one 1
  uint64_t p;
  std::memcpy(&p, f.inst->mailbox().data(), 8);
  CHECK(p == 0b101);  // round 3: its own and the buffered one from 2
}

TEST_CASE("event rounds drop duplicates before receive sees them") {
  ProbeFixture f({event("wait")}, 5);
  f.start(0);
  f.recv(1, 0);
  f.recv(1, 0);
  CHECK(f.st().receives == 2);
  CHECK(f.counters.duplicates_dropped == 1);
}

TEST_CASE("decisions are reported once; the instance runs after_decide more rounds") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 2;
  f.start(0);
  for (int64_t t = 1; t <= 4; ++t) f.inst->on_timer(1000 * t);
  REQUIRE(f.host.decisions.size() == 1);
  CHECK(f.host.decisions[0].second == 1);
  CHECK(f.inst->decided_round() == 1);
  CHECK(f.inst->finished());  // decided in round 1; rounds 2 and 3 ran, then it stopped
  CHECK(f.inst->end_reason() == EndReason::AfterDecide);
  CHECK(f.st().updates == 4);
  const size_t sent = f.host.sent.size();
  f.recv(1, 4);
  CHECK(f.host.sent.size() == sent);
  CHECK(f.counters.messages_after_finish_dropped == 1);
}

TEST_CASE("frames carry the decided bit from the round after the decision on") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 2;
  f.start(0);
  for (int64_t t = 1; t <= 3; ++t) f.inst->on_timer(1000 * t);
  for (const Sent& s : f.host.sent) CHECK(s.decided == (s.round >= 2));
}

TEST_CASE("lingering: a decided instance runs on until every peer has reported a decision") {
  ProbeFixture f({closed()});  // n = 4, me = 0
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 1;
  f.config.linger_rounds = 100;
  f.config.linger_us = 1'000'000;
  f.start(0);
  f.inst->on_timer(1000);  // round 0
  f.inst->on_timer(2000);  // round 1: decides
  f.inst->on_timer(3000);  // round 2: after-decide done, nobody else known to have decided
  CHECK(f.inst->decided());
  CHECK(!f.inst->finished());
  CHECK(f.inst->lingering());
  CHECK(f.counters.instances_lingered == 1);
  CHECK(f.host.notices.empty());  // round 2 sent its decided bit to everyone already
  f.inst->on_timer(4000);  // it keeps running the protocol's rounds, sending as usual
  CHECK(f.host.sent_in_round(4) == 3);
  CHECK(f.counters.lingered_rounds == 1);
  f.inst->peer_decided(1);
  f.inst->peer_decided(1);  // seen twice, counted once
  f.inst->peer_decided(3);
  CHECK(f.counters.peer_decisions_seen == 2);
  CHECK(f.inst->lingering());
  f.inst->peer_decided(2);  // the last one: stop at once, mid-round
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::AfterDecide);
  CHECK(f.counters.linger_expired == 0);
}

TEST_CASE("lingering: peers that reported early end the instance as soon as it decides") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 1;
  f.config.linger_rounds = 100;
  f.config.linger_us = 1'000'000;
  f.start(0);
  for (int32_t p = 1; p < 4; ++p) f.inst->peer_decided(p);  // e.g. bits on late frames
  f.inst->on_timer(1000);
  CHECK(!f.inst->finished());
  f.inst->on_timer(2000);  // round 1 decides: its after-decide rounds have nobody left to serve
  CHECK(f.inst->decided());
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::AfterDecide);
  CHECK(f.counters.instances_lingered == 0);
  // Nobody has had a frame with its decided bit: each peer gets a notice.
  REQUIRE(f.host.notices.size() == 1);
  CHECK(f.host.notices[0].second == 0b1110);
}

TEST_CASE("after-decide rounds end once the last peer reports, with notices sent at the decision") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 0;
  f.config.after_decide_rounds = 5;
  f.config.linger_rounds = 100;
  f.config.linger_us = 1'000'000;
  f.start(0);
  f.inst->on_timer(1000);  // round 0 decides; round 1 sends with the decided bit
  REQUIRE(f.inst->decided());
  CHECK(!f.inst->finished());
  CHECK(f.host.notices.empty() == (f.host.sent_in_round(1) == 3));  // notices only to peers round 1 missed
  f.inst->peer_decided(1);
  f.inst->peer_decided(2);
  CHECK(!f.inst->finished());
  f.inst->peer_decided(3);  // everyone has decided: mid-round, no more after-decide rounds
  CHECK(f.inst->finished());
  CHECK(f.inst->round() == 1);
}

TEST_CASE("pause after decide: when every peer reports, the next round never runs") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 0;
  f.config.after_decide_rounds = 2;
  f.config.linger_rounds = 100;
  f.config.linger_us = 1'000'000;
  f.config.pause_after_decide = true;
  f.start(0);
  f.inst->on_timer(1000);  // round 0 ends on its timeout and decides
  REQUIRE(f.inst->decided());
  CHECK(f.inst->round() == 0);
  CHECK(f.counters.decide_pauses == 1);
  CHECK(f.inst->deadline_us() == 2000);  // one default timeout
  REQUIRE(f.host.notices.size() == 1);   // every peer told at the decision
  CHECK(f.host.notices[0].second == 0b1110);
  f.recv(1, 0, 1100);  // round 0 is complete: its messages are late now
  CHECK(f.counters.late_messages_dropped == 1);
  f.inst->on_timer(1500);  // before the pause's end: nothing
  f.inst->peer_decided(1);
  f.inst->peer_decided(2);
  CHECK(!f.inst->finished());
  f.inst->peer_decided(3);
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::AfterDecide);
  CHECK(f.host.sent_in_round(1) == 0);  // round 1 never ran
  CHECK(f.host.notices.size() == 1);
}

TEST_CASE("pause after decide: its end, or a peer's later round, begins the next round as usual") {
  for (bool by_peer : {false, true}) {
    CAPTURE(by_peer);
    ProbeFixture f({closed()});
    f.konst("decide_round") = 0;
    f.config.after_decide_rounds = 2;
    f.config.linger_rounds = 100;
    f.config.linger_us = 1'000'000;
    f.config.pause_after_decide = true;
    f.start(0);
    f.inst->on_timer(1000);
    REQUIRE(f.counters.decide_pauses == 1);
    f.inst->peer_decided(2);
    if (by_peer) {
      f.recv(1, 1, 1200);  // a peer that has not decided runs round 1: so do we, at once
      CHECK(f.counters.decide_pauses_expired == 0);
      CHECK(f.inst->cursor().heard == 0b0011);  // its message is in round 1's mailbox
    } else {
      f.inst->on_timer(2000);
      CHECK(f.counters.decide_pauses_expired == 1);
    }
    CHECK(f.inst->round() == 1);
    CHECK(f.host.sent_in_round(1) == 3);
    for (const Sent& m : f.host.sent)
      if (m.round == 1) CHECK(m.decided);
    CHECK(f.host.notices.size() == 1);  // not told twice
    CHECK(!f.inst->finished());
  }
}

TEST_CASE("without lingering, after-decide rounds run in full whatever peers report") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 0;
  f.config.after_decide_rounds = 2;
  f.start(0);
  for (int32_t p = 1; p < 4; ++p) f.inst->peer_decided(p);
  f.inst->on_timer(1000);
  f.inst->on_timer(2000);
  CHECK(!f.inst->finished());
  f.inst->on_timer(3000);
  CHECK(f.inst->finished());
  CHECK(f.host.notices.empty());
}

TEST_CASE("lingering ends at the bound: both the rounds and the time must have passed") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 0;
  f.config.after_decide_rounds = 0;
  f.config.linger_rounds = 3;
  f.config.linger_us = 10'000;
  f.start(0);
  f.inst->on_timer(1000);  // round 0: decides, starts lingering at t = 1000
  REQUIRE(f.inst->lingering());
  for (int64_t t = 2000; t <= 4000; t += 1000) f.inst->on_timer(t);  // 3 rounds, only 3 ms
  CHECK(!f.inst->finished());
  f.inst->on_timer(10'999);
  CHECK(!f.inst->finished());
  f.inst->on_timer(11'999);
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::LingerExpired);
  CHECK(f.counters.linger_expired == 1);
  CHECK(f.inst->decided());
}

TEST_CASE("peers that never had a frame with our decided bit get a notice") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 0;  // no round after the decision: nobody has the bit
  f.config.linger_rounds = 1;
  f.start(0);
  f.inst->on_timer(1000);
  f.inst->on_timer(2000);
  REQUIRE(f.host.notices.size() == 1);
  CHECK(f.host.notices[0].second == 0b1110);
  f.inst->on_timer(3000);
  f.inst->on_timer(4000);
  CHECK(f.inst->finished());
  CHECK(f.host.notices.size() == 1);  // once
}

TEST_CASE("without lingering an instance stops after its after-decide rounds and sends no notice") {
  ProbeFixture f({closed()});
  f.konst("decide_round") = 1;
  f.config.after_decide_rounds = 0;
  f.start(0);
  f.inst->on_timer(1000);
  f.inst->on_timer(2000);
  CHECK(f.inst->finished());
  CHECK(f.host.notices.empty());
}

TEST_CASE("catch-up grace: a round-r message in flight still counts; the catch-up comes at the grace's end") {
  ProbeFixture f({closed()});  // n = 4
  f.config.catch_up_grace_us = 500;
  f.start(0);
  f.recv(1, 0, 50);
  f.recv(1, 1, 100);  // 1 is ahead: catch-up possible from now on
  CHECK(f.inst->round() == 0);
  CHECK(f.inst->deadline_us() == 600);
  f.recv(2, 0, 300);  // in flight when 1 moved on: still in round 0
  CHECK(f.inst->round() == 0);
  f.inst->on_timer(599);
  CHECK(f.inst->round() == 0);
  f.inst->on_timer(600);
  CHECK(f.inst->round() == 1);
  CHECK(f.counters.catch_ups == 1);
  CHECK(f.st().last_size == 3);  // round 0 ended with 0, 1 and 2
}

TEST_CASE("catch-up grace: a round that fills up first needs no catch-up") {
  ProbeFixture f({closed()});
  f.config.catch_up_grace_us = 500;
  f.start(0);
  f.recv(1, 0, 10);
  f.recv(1, 1, 20);
  f.recv(2, 0, 30);
  f.recv(3, 0, 40);  // full: round 0 ends, round 1 starts with 1's message
  CHECK(f.inst->round() == 1);
  CHECK(f.counters.catch_ups == 0);
  CHECK(f.inst->deadline_us() == 40 + 1000);  // only the round's own timeout
}

TEST_CASE("halt stops the instance at once") {
  ProbeFixture f({closed()});
  f.konst("halt_round") = 0;
  f.start(0);
  f.inst->on_timer(1000);
  CHECK(f.inst->finished());
  CHECK(f.inst->end_reason() == EndReason::Halted);
  CHECK(f.counters.halts == 1);
  CHECK(f.host.sent_in_round(1) == 0);
}

TEST_CASE("phase is round / number of rounds in every call") {
  ProbeFixture f({closed(), event(), closed()});
  f.start(0);
  for (int64_t t = 1; t <= 7; ++t) f.inst->on_timer(1000 * t);
  CHECK(f.inst->round() == 7);
  CHECK(f.inst->env().phase == 2);
  CHECK(f.st().bad_env == 0);
  f.recv(1, 12, 8000);  // catch-up across phases
  CHECK(f.inst->round() == 12);
  CHECK(f.st().bad_env == 0);
}

TEST_CASE("an implausibly distant round is dropped, not caught up to") {
  ProbeFixture f({closed()});
  f.config.max_catch_up = 10;
  f.start(0);
  f.recv(1, 11);
  CHECK(f.counters.implausible_round_dropped == 1);
  CHECK(f.inst->round() == 0);
}

// OneThirdRule over a perfect fake network: n instances exchange messages in
// FIFO order until none is left.
namespace {

// examples/one_third_rule.psync, JIT-compiled.
const psync_protocol_desc& otr() { return psync::test::compiled("examples/one_third_rule.psync"); }

struct OtrCluster {
  Layout layout;
  std::vector<Config> configs;
  std::vector<FakeHost> hosts;
  std::vector<std::unique_ptr<Instance>> nodes;
  Counters counters;
  std::deque<Sent> wire;

  std::vector<uint64_t> cut;  // per process: peers whose messages it does not get
  // With driver_words: each instance's decided set lives here, and a notice
  // that cannot end it sets its bit here without calling the instance, as
  // the node does (node.cpp, notice_to_running).
  std::vector<uint64_t> words;
  bool driver_words = false;

  OtrCluster(std::vector<int64_t> inits, int64_t after_decide, int64_t linger_rounds = 0, bool driver_words = false)
      : layout(Layout::compute(otr(), int32_t(inits.size()))),
        configs(inits.size()), hosts(inits.size()), words(inits.size(), 0), driver_words(driver_words) {
    const int32_t n = int32_t(inits.size());
    for (int32_t i = 0; i < n; ++i) {
      configs[size_t(i)].n = n;
      configs[size_t(i)].me = i;
      configs[size_t(i)].after_decide_rounds = after_decide;
      configs[size_t(i)].linger_rounds = linger_rounds;
      hosts[size_t(i)].me = i;
    }
    for (int32_t i = 0; i < n; ++i)
      nodes.push_back(std::make_unique<Instance>(layout, configs[size_t(i)], nullptr, 0,
                                                 std::span<const int64_t>(&inits[size_t(i)], 1),
                                                 hosts[size_t(i)], counters, nullptr,
                                                 driver_words ? &words[size_t(i)] : nullptr));
    cut.assign(inits.size(), 0);
  }
  int64_t now = 0;
  void tick(const std::vector<bool>& alive) {
    now += 20'000;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (alive[i]) nodes[i]->on_timer(now);
    pump(alive);
  }
  void pump(const std::vector<bool>& alive) {
    for (;;) {
      for (FakeHost& h : hosts) {
        for (Sent& s : h.sent) wire.push_back(std::move(s));
        h.sent.clear();
        // Decided notices, delivered at once, as the node turns them into peer_decided.
        for (const auto& [round, to] : h.notices)
          for (int32_t p = 0; p < int32_t(nodes.size()); ++p)
            if (((to >> p) & 1) && alive[size_t(p)] && alive[size_t(h.me)] && !((cut[size_t(p)] >> h.me) & 1))
              notice(p, h.me);
        h.notices.clear();
      }
      if (wire.empty()) return;
      Sent s = std::move(wire.front());
      wire.pop_front();
      if (!alive[size_t(s.to)] || !alive[size_t(s.from)] || ((cut[size_t(s.to)] >> s.from) & 1)) continue;
      Instance& to = *nodes[size_t(s.to)];
      if (s.decided) to.peer_decided(s.from);  // what the node does with the frame's bit
      if (!to.finished()) to.receive(s.from, s.round, s.payload, now);
    }
  }
  void notice(int32_t p, int32_t from) {
    const int32_t n = int32_t(nodes.size());
    if (driver_words && !Instance::peer_decided_may_end(words[size_t(p)], from, p, n)) {
      if (!(words[size_t(p)] & uint64_t{1} << from)) ++counters.peer_decisions_seen;
      words[size_t(p)] |= uint64_t{1} << from;
      return;
    }
    nodes[size_t(p)]->peer_decided(from);
  }
  int64_t decision(size_t i) const {
    int64_t v;
    std::memcpy(&v, static_cast<const std::byte*>(nodes[i]->state()) + otr().output.offset, sizeof v);
    return v;
  }
};

}  // namespace

TEST_CASE("OneThirdRule: five instances decide the smallest most frequent value") {
  OtrCluster c({3, 1, 3, 2, 1}, 1);
  std::vector<bool> alive(5, true);
  for (auto& n : c.nodes) n->start(0);
  c.pump(alive);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(c.nodes[i]->decided());
    CHECK(c.decision(i) == 1);
    CHECK(c.nodes[i]->finished());
  }
  const void* states[5];
  for (size_t i = 0; i < 5; ++i) states[i] = c.nodes[i]->state();
  for (const auto& spec : std::span(otr().specs, otr().num_specs))
    if (spec.kind == PSYNC_SPEC_INVARIANT) CHECK(spec.eval(states, &c.nodes[0]->env()) == 1);
}

TEST_CASE("OneThirdRule: with one of four silent the rest still decide (3 > 8/3)") {
  OtrCluster c({5, 4, 5, 9}, 1);
  std::vector<bool> alive = {true, true, true, false};
  for (size_t i = 0; i < 3; ++i) c.nodes[i]->start(0);
  c.pump(alive);
  // Nothing more to deliver: the rounds end on their timeouts.
  for (int64_t t = 1; t <= 5; ++t) {
    for (size_t i = 0; i < 3; ++i) c.nodes[i]->on_timer(t * 20'000);
    c.pump(alive);
  }
  for (size_t i = 0; i < 3; ++i) {
    CHECK(c.nodes[i]->decided());
    CHECK(c.decision(i) == 5);  // round 0 hears {5, 4, 5}: x = 5 everywhere
  }
}

// Process 4 of c hears nothing until the other four have decided and run
// their after-decide rounds (its early messages lost, as over a TCP
// connection still coming up); then the network heals for 20 ticks.
static void run_straggler(OtrCluster& c) {
  std::vector<bool> alive(5, true);
  c.cut[4] = 0b01111;
  for (auto& n : c.nodes) n->start(0);
  c.pump(alive);
  for (int i = 0; i < 4; ++i) c.tick(alive);
  for (size_t i = 0; i < 4; ++i) CHECK(c.nodes[i]->decided());
  CHECK(!c.nodes[4]->decided());
  c.cut[4] = 0;
  for (int i = 0; i < 20; ++i) c.tick(alive);
}

TEST_CASE("OneThirdRule straggler: with lingering the others wait for it, and it decides") {
  for (int64_t linger : {0, 8}) {
    CAPTURE(linger);
    OtrCluster c({5, 5, 5, 5, 9}, 2, linger);
    run_straggler(c);
    if (linger == 0) {
      // Everyone else has stopped: the straggler can never hear a quorum.
      for (size_t i = 0; i < 4; ++i) CHECK(c.nodes[i]->finished());
      CHECK(!c.nodes[4]->decided());
    } else {
      CHECK(c.nodes[4]->decided());
      CHECK(c.decision(4) == 5);
      for (size_t i = 0; i < 5; ++i) CHECK(c.nodes[i]->finished());
      for (size_t i = 0; i < 5; ++i) CHECK(c.nodes[i]->end_reason() == EndReason::AfterDecide);
    }
  }
}

TEST_CASE("OneThirdRule straggler with pause after decide: the others still run rounds for it") {
  OtrCluster c({5, 5, 5, 5, 9}, 2, 8);
  for (Config& k : c.configs) k.pause_after_decide = true;
  run_straggler(c);
  CHECK(c.nodes[4]->decided());
  CHECK(c.decision(4) == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(c.nodes[i]->finished());
  CHECK(c.counters.decide_pauses >= 4);
}

TEST_CASE("OneThirdRule with pause after decide: all decide in one round, nobody runs another") {
  OtrCluster c({3, 1, 3, 2, 1}, 2, 8);
  for (Config& k : c.configs) k.pause_after_decide = true;
  std::vector<bool> alive(5, true);
  for (auto& n : c.nodes) n->start(0);
  c.pump(alive);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(c.nodes[i]->finished());
    CHECK(c.decision(i) == 1);
    CHECK(c.nodes[i]->round() == c.nodes[0]->round());
    CHECK(c.nodes[i]->end_reason() == EndReason::AfterDecide);
  }
  // Each ran the rounds up to the decision and no other (the last to decide
  // had every peer's notice already and did not even pause).
  const int64_t r = c.nodes[0]->round();
  CHECK(c.counters.rounds_completed == uint64_t(5 * (r + 1)));
  CHECK(c.counters.messages_sent == uint64_t(5 * 4 * (r + 1)));
  CHECK(c.counters.decide_pauses >= 1);
  CHECK(c.counters.decide_pauses_expired == 0);
}

TEST_CASE("decided words kept by the driver: notices set bits there, and the instances end as with peer_decided") {
  // The straggler and the all-decide-at-once runs, with each instance's
  // decided set in a word of the driver's, where notices that cannot end it
  // go without calling it: the same ends, rounds and counts.
  for (bool straggler : {false, true}) {
    CAPTURE(straggler);
    const std::vector<int64_t> inits = straggler ? std::vector<int64_t>{5, 5, 5, 5, 9} : std::vector<int64_t>{3, 1, 3, 2, 1};
    OtrCluster a(inits, 2, 8), b(inits, 2, 8, true);
    for (OtrCluster* c : {&a, &b}) {
      for (Config& k : c->configs) k.pause_after_decide = true;
      if (straggler) {
        run_straggler(*c);
      } else {
        std::vector<bool> alive(5, true);
        for (auto& n : c->nodes) n->start(0);
        c->pump(alive);
      }
    }
    for (size_t i = 0; i < 5; ++i) {
      CHECK(b.nodes[i]->finished());
      CHECK(b.nodes[i]->end_reason() == a.nodes[i]->end_reason());
      CHECK(b.nodes[i]->round() == a.nodes[i]->round());
      CHECK(b.decision(i) == a.decision(i));
      CHECK(b.nodes[i]->decided_set() == a.nodes[i]->decided_set());
      CHECK(b.words[i] == (b.nodes[i]->decided_set() & ~(uint64_t{1} << i)));  // the instance reads the driver's word
    }
    CHECK(b.counters.peer_decisions_seen == a.counters.peer_decisions_seen);
    CHECK(b.counters.rounds_completed == a.counters.rounds_completed);
    CHECK(b.counters.decide_pauses == a.counters.decide_pauses);
    CHECK(b.counters.decide_pauses_expired == a.counters.decide_pauses_expired);
  }
}

TEST_CASE("OneThirdRule: a crashed peer holds the others only up to the linger bound") {
  OtrCluster c({5, 5, 5, 5, 9}, 2, 6);
  std::vector<bool> alive = {true, true, true, true, false};
  for (size_t i = 0; i < 4; ++i) c.nodes[i]->start(0);
  c.pump(alive);
  int ticks = 0;
  while (ticks < 100 && !(c.nodes[0]->finished() && c.nodes[1]->finished())) {
    c.tick(alive);
    ++ticks;
  }
  for (size_t i = 0; i < 4; ++i) {
    CHECK(c.nodes[i]->decided());
    CHECK(c.nodes[i]->finished());
    CHECK(c.nodes[i]->end_reason() == EndReason::LingerExpired);
  }
  CHECK(ticks <= 2 + 2 + 6 + 1);  // decide, after-decide, linger rounds
}

TEST_CASE("counter_list names every counter") {
  Counters c;
  c.late_messages_dropped = 3;
  auto list = counter_list(c);
  bool found = false;
  for (auto& [name, v] : list)
    if (std::string(name) == "late_messages_dropped") found = v == 3;
  CHECK(found);
  CHECK(list.size() == 29);  // 21 + the 4 lingering counters + range_errors and log_lines + the 2 pause counters
}
