// test_session.cpp: the explorer's session without sockets, on compiled
// protocols: its rounds are the checker's (every outcome local_step finds is
// reachable through some heard set and pick, and nothing else), undo
// restores the view exactly, coins are offered as outcomes, and bad
// requests leave the session unchanged.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "compiled.h"
#include "session.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

using nlohmann::json;
using psync::explore::ExploreOptions;
using psync::explore::Session;

namespace {

ExploreOptions options(int n) {
  ExploreOptions o;
  o.n = n;
  return o;
}

// The value of `name` in a printed state ("init=0 x=3 ...").
std::string var(const std::string& vars, const std::string& name) {
  const std::string key = name + "=";
  size_t at = vars.rfind(" " + key);
  at = at == std::string::npos ? (vars.rfind(key, 0) == 0 ? 0 : std::string::npos) : at + 1;
  REQUIRE(at != std::string::npos);
  at += key.size();
  return vars.substr(at, vars.find(' ', at) - at);
}

}  // namespace

TEST_CASE("OneThirdRule: three rounds all hear all decide, and undo restores the view") {
  Session s(psync::test::compiled("examples/one_third_rule.psync"), options(3));
  REQUIRE(s.error().empty());
  const json v0 = s.view();
  CHECK(v0["round"] == 0);
  CHECK(v0["inputs"] == json::parse("[[0],[1],[0]]"));
  CHECK(s.step(json::object()) == "");
  const json v1 = s.view();
  CHECK(s.step(json::object()) == "");
  CHECK(s.step(json::object()) == "");
  const json v3 = s.view();
  CHECK(v3["round"] == 3);
  for (const json& p : v3["rounds"][2]["after"]) {
    CHECK(p["decided"] == true);
    CHECK(var(p["vars"], "decision") == "0");
  }
  CHECK(s.undo() == "");
  CHECK(s.undo() == "");
  CHECK(s.view() == v1);
  CHECK(s.undo() == "");
  CHECK(s.view() == v0);
  CHECK(s.undo() != "");
}

TEST_CASE("bad requests are refused and change nothing") {
  Session s(psync::test::compiled("examples/one_third_rule.psync"), options(3));
  const json before = s.view();
  CHECK(s.step(json::parse(R"({"ho": [[0], [3], null]})")).find("out of range") != std::string::npos);
  CHECK(s.step(json::parse(R"({"ho": [[0], null]})")).find("expected an array of 3") != std::string::npos);
  CHECK(s.step(json::parse(R"({"pick": [0, 0, 1]})")).find("1 outcome") != std::string::npos);
  CHECK(s.reset(json::parse("[[2],[0],[0]]")).find("outside 0..1") != std::string::npos);
  CHECK(s.load_trace(json::parse(R"({"protocol": "OneThirdRule", "n": 3, "violation": {}})")) != "");
  CHECK(s.replay_next() != "");
  CHECK(s.view() == before);
}

TEST_CASE("event round: the outcomes over every heard set and pick are exactly the checker's") {
  // tests/check/test_local.cpp lists them: acc = acc * 4 + sender + 1 over
  // the arrival order, own message first or lost.
  Session s(psync::test::compiled("tests/check/psync/arrival_order.psync"), options(3));
  REQUIRE(s.error().empty());
  std::set<std::string> seen;
  for (int mask = 0; mask < 8; ++mask) {
    json set = json::array();
    for (int j = 0; j < 3; ++j)
      if (mask >> j & 1) set.push_back(j);
    const json ho = json::array({set, nullptr, nullptr});
    REQUIRE(s.step({{"ho", ho}}) == "");
    const int outcomes = s.view()["rounds"][0]["outcomes"][0];
    CHECK(outcomes >= 1);
    for (int k = 0; k < outcomes; ++k) {
      REQUIRE(s.undo() == "");
      REQUIRE(s.step({{"ho", ho}, {"pick", json::array({k, 0, 0})}}) == "");
      const json r = s.view()["rounds"][0];
      CHECK(r["ho"][0] == set);
      CHECK(r["picked"][0] == k);
      seen.insert(var(r["after"][0]["vars"], "x"));
    }
    CHECK(s.step({{"ho", ho}, {"pick", json::array({outcomes, 0, 0})}}) != "");
    REQUIRE(s.undo() == "");
  }
  CHECK(seen == std::set<std::string>{"0", "1", "2", "3", "6", "7", "11", "14", "27", "30"});
}

TEST_CASE("coin(): each outcome can be picked, and the choices are labelled as in counterexamples") {
  Session s(psync::test::compiled("tests/check/psync/coin_decide.psync"), options(2));
  REQUIRE(s.error().empty());
  REQUIRE(s.step({{"pick", json::array({0, 1})}}) == "");
  const json r = s.view()["rounds"][0];
  CHECK(r["outcomes"] == json::array({2, 2}));
  CHECK(var(r["after"][0]["vars"], "decision") != var(r["after"][1]["vars"], "decision"));
  CHECK(r["choices"][0] == "update 0");
  CHECK(r["choices"][1] == "update 1");
  json specs = s.view()["specs"];
  CHECK(specs[0]["name"] == "agreement");
  CHECK(specs[0]["status"] == "violated");
}

TEST_CASE("an unknown const is an error of the session") {
  ExploreOptions o = options(3);
  o.consts = {{"nope", 1}};
  Session s(psync::test::compiled("examples/one_third_rule.psync"), o);
  CHECK(s.error().find("nope") != std::string::npos);
}
