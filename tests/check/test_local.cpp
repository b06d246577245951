// test_local.cpp: the checker's local step (check::local_step, the
// explorer's successor relation for one process) against the rules of
// round/round.h, on compiled protocols: own message first or lost, every
// arrival order of the others, every prefix, cut where the round closes.
#include "check.h"
#include "compiled.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using namespace psync::check;

namespace {

// Process 0 of 3 in round 0 after init with input 0; processes 1 and 2
// each sent it a message (a word holding 0: these protocols send `x`).
std::vector<std::string> outcomes(const std::string& file, const std::string& var) {
  const psync_protocol_desc& d = psync::test::compiled(file);
  const int n = 3;
  std::vector<int64_t> consts(d.num_consts);
  if (d.const_defaults) d.const_defaults(n, consts.data());
  std::vector<uint8_t> state(d.state_size(n), 0);
  psync_env env{};
  env.n = n;
  env.consts = consts.data();
  int64_t input = 0;
  d.init(state.data(), &env, &input);
  int64_t zero = 0;
  LocalStep step = local_step(d, n, {}, 0, 0, state.data(), {nullptr, &zero, &zero});
  REQUIRE(step.error.empty());
  REQUIRE(step.outboxes.size() == 1);
  std::vector<std::string> values;
  for (const auto& s : step.states) {
    char buf[512];
    env.round = 1;
    int32_t len = d.print_state(s.data(), &env, buf, sizeof buf);
    std::string text(buf, static_cast<size_t>(std::min<int32_t>(len, static_cast<int32_t>(sizeof buf) - 1)));
    size_t at = text.find(" " + var + "=");
    REQUIRE(at != std::string::npos);
    at += var.size() + 2;
    size_t end = at;  // the next space outside braces ends the value ("{0, 1}" has one inside)
    for (int depth = 0; end < text.size() && (text[end] != ' ' || depth > 0); ++end)
      depth += text[end] == '{' ? 1 : text[end] == '}' ? -1 : 0;
    values.push_back(text.substr(at, end - at));
  }
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("event round: own message first or lost, then every order and every prefix of the others") {
  // acc = acc * 4 + sender + 1 over the arrival sequence:
  //   []=0 [0]=1 [1]=2 [2]=3 [0,1]=6 [0,2]=7 [1,2]=11 [2,1]=14 [0,1,2]=27 [0,2,1]=30
  // and never [1,0] (=9) or [2,0,1] (=50): the own message comes first.
  CHECK(outcomes("tests/check/psync/arrival_order.psync", "x") ==
        sorted({"0", "1", "2", "3", "6", "7", "11", "14", "27", "30"}));
}

TEST_CASE("event round: nothing is received after go, and finish's timed_out says how the round ended") {
  // go at the second message: x = acc * 2 + timed_out.
  //   [] 1, [0] 3, [1] 5, [2] 7 (timed out); [0,1] 12, [0,2] 14, [1,2] 22, [2,1] 28 (go)
  CHECK(outcomes("tests/check/psync/arrival_order_go.psync", "x") ==
        sorted({"1", "3", "5", "7", "12", "14", "22", "28"}));
}

TEST_CASE("closed round: go when cuts the mailboxes the round can end with") {
  // The round closes once two messages are in: {0, 1, 2} cannot be reached.
  std::vector<std::string> v = outcomes("tests/check/psync/go_when_closes.psync", "heard");
  CHECK(v.size() == 7);
  CHECK(std::find(v.begin(), v.end(), "{0, 1, 2}") == v.end());
  CHECK(std::find(v.begin(), v.end(), "{0, 1}") != v.end());
  CHECK(std::find(v.begin(), v.end(), "{1, 2}") != v.end());
  CHECK(std::find(v.begin(), v.end(), "{}") != v.end());
}

TEST_CASE("closed round without go when: every subset of the senders, the full one included") {
  // OneThirdRule decides only with more than 2n/3 = 2 messages: all three.
  CHECK(outcomes("examples/one_third_rule.psync", "decided") == sorted({"false", "true"}));
}

TEST_CASE("local_step refuses a bad process or incoming vector") {
  const psync_protocol_desc& d = psync::test::compiled("examples/one_third_rule.psync");
  std::vector<uint8_t> state(d.state_size(3), 0);
  CHECK(!local_step(d, 3, {}, 5, 0, state.data(), {nullptr, nullptr, nullptr}).error.empty());
  CHECK(!local_step(d, 3, {}, 0, 0, state.data(), {nullptr}).error.empty());
}
