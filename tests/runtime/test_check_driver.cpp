// test_check_driver.cpp: what `psyncc check` does after exploring
// (runtime/check/driver.cpp): the exit status of each verdict, and the
// --stats-json file, built as JSON whatever the protocol is called.
#include "check.h"
#include "compiled.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace psync::check;

namespace {
// examples/one_third_rule.psync, JIT-compiled.
const psync_protocol_desc& otr() { return psync::test::compiled("examples/one_third_rule.psync"); }
}  // namespace

TEST_CASE("check: each verdict has its exit status; internal errors are not usage errors") {
  CHECK(exit_status(Verdict::kOk) == 0);
  CHECK(exit_status(Verdict::kViolation) == 1);
  CHECK(exit_status(Verdict::kError) == 2);
  CHECK(exit_status(Verdict::kIncomplete) == 3);
  CHECK(exit_status(Verdict::kInternalError) == 5);  // not 3: "incomplete" asks for more time, this for a bug report
}

TEST_CASE("check: an internal error exits 5 and says it is a bug in the checker") {
  CheckOptions o;
  o.n = 3;
  o.test_fault = "corrupt-replay";  // the counterexample's replay misses every successor
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  CHECK(run_check(psync::test::compiled("tests/check/psync/otr_half_threshold.psync"), o, out) == kExitInternal);
  CHECK(kExitInternal == 5);
  std::rewind(out);
  char line[512] = {};
  REQUIRE(std::fgets(line, sizeof line, out) != nullptr);
  CHECK(std::string(line) == "internal error: could not replay the counterexample (is --symmetry sound here?)\n");
  REQUIRE(std::fgets(line, sizeof line, out) != nullptr);
  CHECK(std::string(line).find("this is a bug in the checker") != std::string::npos);
  std::fclose(out);
}

TEST_CASE("check: a usage error exits 2 with one line") {
  CheckOptions o;
  o.n = 21;  // beyond exhaustive exploration
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  CHECK(run_check(otr(), o, out) == kExitUsage);
  std::rewind(out);
  char line[256] = {};
  REQUIRE(std::fgets(line, sizeof line, out) != nullptr);
  CHECK(std::string(line).rfind("error: exhaustive checking supports n <= 20", 0) == 0);
  std::fclose(out);
}

TEST_CASE("check: --stats-json is JSON even for a protocol name that needs escaping") {
  psync_protocol_desc d = otr();
  const std::string name = std::string("One\"Third\\Rule\n") + std::string(600, 'x');  // past the old 512-byte buffer
  d.name = name.c_str();
  const auto path = std::filesystem::path(std::filesystem::temp_directory_path()) /
                    ("psync-stats-" + std::to_string(::getpid()) + ".json");
  CheckOptions o;
  o.n = 3;
  o.stats_json = path.string();
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  CHECK(run_check(d, o, out) == kExitOk);
  std::fclose(out);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  auto j = nlohmann::json::parse(text.str());
  CHECK(j["protocol"].get<std::string>() == name);
  CHECK(j["n"] == 3);
  CHECK(j["verdict"] == "ok");
  CHECK(j["states"].get<uint64_t>() > 0);
  CHECK(j["exhausted"].is_boolean());
}
