// test_config.cpp: the node's cluster file and command-line parsing, which
// must turn every mistake into a one-line error naming it.
#include "node/config.h"
#include "compiled.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

using namespace psync::node;

namespace {

// examples/one_third_rule.psync, JIT-compiled: one int input `init`, no consts.
const psync_protocol_desc& otr() { return psync::test::compiled("examples/one_third_rule.psync"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* kCluster3 = R"(
[[process]]
id = 0
address = "127.0.0.1:7000"
[[process]]
id = 2
address = "127.0.0.1:7002"
[[process]]
id = 1
address = "localhost:7001"
)";

std::optional<Options> parse(std::vector<std::string> args) {
  static int file_no = 0;
  // Per process too: ctest runs each test case in its own process, in parallel.
  // In the temporary directory, and removed however parsing ends (it throws on
  // a bad command line), so no run leaves files where it was started.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("psync_test_cluster_" + std::to_string(getpid()) + "_" + std::to_string(file_no++) + ".toml"))
                               .string();
  std::ofstream(path) << kCluster3;
  struct RemoveFile {
    const std::string& path;
    ~RemoveFile() { std::remove(path.c_str()); }
  } remove_file{path};
  args.insert(args.begin(), {"node", "--cluster", path});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(otr(), int(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("a cluster file lists processes by id, in any order") {
  auto c = parse_cluster(kCluster3, "c.toml");
  REQUIRE(c.size() == 3);
  CHECK(c[1].host == "localhost");
  CHECK(c[2].port == 7002);
}

TEST_CASE("cluster file mistakes are named") {
  CHECK(error_of([] { parse_cluster("", "c.toml"); }).find("no [[process]]") != std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\naddress = \"a:1\"\n", "c.toml"); }).find("missing integer 'id'") !=
        std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\nid = 0\n", "c.toml"); }).find("missing string 'address'") !=
        std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\nid = 0\naddress = \"nohost\"\n", "c.toml"); })
            .find("is not host:port") != std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\nid = 0\naddress = \"h:99999\"\n", "c.toml"); })
            .find("1..65535") != std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\nid = 3\naddress = \"h:1\"\n", "c.toml"); })
            .find("outside 0..0") != std::string::npos);
  CHECK(error_of([] {
          parse_cluster("[[process]]\nid = 0\naddress = \"h:1\"\n[[process]]\nid = 0\naddress = \"h:2\"\n", "c.toml");
        }).find("id 0 appears twice") != std::string::npos);
  CHECK(error_of([] {
          parse_cluster("[[process]]\nid = 0\naddress = \"h:1\"\n[[process]]\nid = 1\naddress = \"h:1\"\n", "c.toml");
        }).find("share the address") != std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]]\nid = 0\nadress = \"h:1\"\n", "c.toml"); })
            .find("unknown key 'adress'") != std::string::npos);
  CHECK(error_of([] { parse_cluster("[[process]\nid = 0", "c.toml"); }).rfind("c.toml:1:", 0) == 0);
  CHECK(error_of([] { load_cluster("/nonexistent/c.toml"); }).find("cannot read cluster file") != std::string::npos);
}

TEST_CASE("durations on the node's command line go through the shared parser") {
  auto o = parse({"--id", "0", "--input", "init=1", "--timeout", "1.5ms", "--time-limit", "2min", "--linger", "1h",
                  "--delay", "7", "--catch-up-grace", "0", "--start-wait", "250us"});
  REQUIRE(o);
  CHECK(o->timeout_us == 1'500);
  CHECK(o->time_limit_us == 120'000'000);
  CHECK(o->linger_us == 3'600'000'000);
  CHECK(o->delay_us == 7'000);  // a bare number is milliseconds
  CHECK(o->catch_up_grace_us == 0);
  CHECK(o->start_wait_us == 250);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--timeout", "fast"}); }) ==
        "--timeout: 'fast': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--timeout", "3d"}); })
            .find("unknown unit 'd'") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--time-limit", "-1s"}); })
            .find("cannot be negative") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--timeout", "0"}); })
            .find("--timeout: '0': must be at least 1us") != std::string::npos);
}

TEST_CASE("values by kind") {
  CHECK(parse_value("-4", PSYNC_KIND_INT, 3, "x") == -4);
  CHECK(parse_value("true", PSYNC_KIND_BOOL, 3, "x") == 1);
  CHECK(parse_value("2", PSYNC_KIND_PID, 3, "x") == 2);
  CHECK(parse_value("{0+2}", PSYNC_KIND_PIDSET, 3, "x") == 0b101);
  CHECK(parse_value("{}", PSYNC_KIND_PIDSET, 3, "x") == 0);
  CHECK(error_of([] { parse_value("3", PSYNC_KIND_PID, 3, "x"); }).find("not a pid in 0..2") != std::string::npos);
  CHECK(error_of([] { parse_value("4x", PSYNC_KIND_INT, 3, "x"); }).find("not an int") != std::string::npos);
  CHECK(error_of([] { parse_value("yes", PSYNC_KIND_BOOL, 3, "x"); }).find("not a bool") != std::string::npos);
}

TEST_CASE("inputs: a constant, a seeded random value, or a list per instance") {
  auto o = parse({"--id", "1", "--input", "init=random", "--seed", "9"});
  REQUIRE(o);
  auto a = inputs_for_instance(otr(), *o, 3, 0);
  auto b = inputs_for_instance(otr(), *o, 3, 0);
  CHECK(a == b);  // seeded: reproducible
  CHECK(a[0] >= 0);
  CHECK(a[0] < 100);
  bool differs = false;
  for (uint64_t i = 1; i < 20; ++i) differs |= inputs_for_instance(otr(), *o, 3, i) != a;
  CHECK(differs);

  auto l = parse({"--id", "0", "--input", "init=4,5,6"});
  REQUIRE(l);
  CHECK(inputs_for_instance(otr(), *l, 3, 1)[0] == 5);
  CHECK(inputs_for_instance(otr(), *l, 3, 3)[0] == 4);  // cycles
  auto k = parse({"--id", "0", "--input", "init=random:3"});
  for (uint64_t i = 0; i < 50; ++i) CHECK(inputs_for_instance(otr(), *k, 3, i)[0] < 3);
}

TEST_CASE("command line: options land in Options, mistakes are named") {
  auto o = parse({"--id", "2", "--input", "init=3", "--timeout", "5ms", "--transport", "tcp", "--instances", "10",
                  "--window", "4", "--stats", "--drop", "0.25", "--delay", "2ms", "--after-decide", "3"});
  REQUIRE(o);
  CHECK(o->id == 2);
  CHECK(o->cluster.size() == 3);
  CHECK(o->timeout_us == 5000);
  CHECK(o->transport == TransportKind::Tcp);
  CHECK(o->instances == 10);
  CHECK(o->window == 4);
  CHECK(o->stats);
  CHECK(o->drop == doctest::Approx(0.25));
  CHECK(o->delay_us == 2000);
  CHECK(o->after_decide == 3);

  CHECK(error_of([] { parse({"--id", "3", "--input", "init=1"}); }).find("--id 3 is not in the cluster") !=
        std::string::npos);
  CHECK(error_of([] { parse({"--id", "0"}); }).find("missing --input init") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "x=1"}); }).find("no input named 'x'") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init"}); }).find("expected name=value") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--const", "f=1"}); }).find("no const named 'f'") !=
        std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--transport", "quic"}); })
            .find("expected udp or tcp") != std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--drop", "2"}); }).find("--drop") !=
        std::string::npos);
  CHECK(error_of([] { parse({"--id", "0", "--input", "init=1", "--window", "0"}); }).find("--window") !=
        std::string::npos);
  CHECK(!error_of([] { parse({"--id", "0", "--input", "init=1", "--frobnicate"}); }).empty());
}

// Each numeric option rejects what used to wrap, overflow or pass silently.
TEST_CASE("command line: every numeric option is range-checked") {
  auto err = [](std::vector<std::string> extra) {
    std::vector<std::string> args{"--id", "0", "--input", "init=1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return error_of([&] { parse(args); });
  };
  CHECK(err({"--instances", "1000000000000"}) == "--instances: expected an integer in 1..100000000, got '1000000000000'");
  CHECK(err({"--instances", "-5"}) == "--instances: expected an integer in 1..100000000, got '-5'");
  CHECK(err({"--instances", "0"}).find("--instances: expected an integer in 1..") == 0);
  CHECK(err({"--instances", "0x10"}).find("got '0x10'") != std::string::npos);  // no hex, no octal
  CHECK(err({"--window", "-1"}).find("--window: expected an integer in 1..") == 0);
  CHECK(err({"--seed", "-1"}) == "--seed: expected an integer in 0..18446744073709551615, got '-1'");
  CHECK(err({"--seed", "18446744073709551616"}).find("--seed:") == 0);
  CHECK(err({"--after-decide", "-9"}).find("--after-decide: expected an integer in 0..") == 0);
  CHECK(err({"--linger-rounds", "-1"}).find("--linger-rounds: expected an integer in 0..") == 0);
  CHECK(err({"--max-rounds", "-1"}).find("--max-rounds: expected an integer in 0..") == 0);
  CHECK(err({"--future-bound", "99999999999"}).find("--future-bound: expected an integer in 0..1000000") == 0);
  CHECK(err({"--max-datagram", "-1"}).find("--max-datagram: expected an integer in 128..65000") == 0);
  CHECK(err({"--drop", "nan"}) == "--drop: expected a probability in [0, 1], got 'nan'");
  CHECK(err({"--drop", "-0.1"}).find("--drop:") == 0);
  CHECK(err({"--byzantine", "-1"}).find("--byzantine: expected an integer in 0..") == 0);
  CHECK(err({"--byzantine", "1000"}).find("--byzantine: expected an integer in 0..64") == 0);
  // The cluster has 3 processes: only f = 0 satisfies n > 3f.
  CHECK(err({"--byzantine", "1"}).find("--byzantine 1: a Byzantine budget f needs n > 3f") == 0);
  CHECK(error_of([] { parse({"--id", "-1", "--input", "init=1"}); }).find("--id: expected an integer in 0..63") == 0);

  auto o = parse({"--id", "0", "--input", "init=1", "--after-decide", "0", "--instances", "010", "--seed",
                  "18446744073709551615", "--max-rounds", "0"});
  REQUIRE(o);
  CHECK(o->after_decide == 0);  // given: not replaced by the protocol's default
  CHECK(o->instances == 10);    // decimal, not octal
  CHECK(o->seed == UINT64_MAX);
  CHECK(o->max_rounds == 0);
  auto d = parse({"--id", "0", "--input", "init=1"});
  REQUIRE(d);
  CHECK(d->after_decide == 2);  // OneThirdRule has no after_decide const
  CHECK(d->linger_rounds == 8);
}

TEST_CASE("command line: --check-config parses and checks, and says so") {
  auto o = parse({"--id", "1", "--input", "init=1", "--check-config"});
  REQUIRE(o);
  CHECK(o->check_only);
  CHECK(error_of([] { parse({"--id", "1", "--input", "init=x", "--check-config"}); }) ==
        "--input init: 'x' is not an int");
}
