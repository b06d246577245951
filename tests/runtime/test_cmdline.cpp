// test_cmdline.cpp: the one parser of command-line durations and ranged
// numbers that psyncc and the node share (runtime/util/cmdline.h), and its
// CLI11 validators: accepted forms, exact values, and every rejection.
#include "util/cmdline.h"
#include "util/cmdline_cli11.h"

#include <doctest/doctest.h>

using namespace psync::cmdline;

namespace {

int64_t us(std::string_view text) {
  std::string error;
  auto v = parse_duration_us(text, error);
  INFO(text, ": ", error);
  REQUIRE(v.has_value());
  return *v;
}

std::string duration_error(std::string_view text) {
  std::string error;
  auto v = parse_duration_us(text, error);
  return v ? "accepted" : error;
}

}  // namespace

TEST_CASE("durations: units, fractions, and a bare number in milliseconds") {
  CHECK(us("500us") == 500);
  CHECK(us("20ms") == 20'000);
  CHECK(us("20") == 20'000);
  CHECK(us("1.5s") == 1'500'000);
  CHECK(us("0.1s") == 100'000);  // exact: no binary floating point on the way
  CHECK(us("2m") == 120'000'000);
  CHECK(us("2min") == 120'000'000);
  CHECK(us("1h") == 3'600'000'000);
  CHECK(us("1.25h") == 4'500'000'000);
  CHECK(us("0") == 0);
  CHECK(us("0us") == 0);
  CHECK(us("007ms") == 7'000);
  CHECK(us("1.0004ms") == 1'000);  // rounded to the nearest microsecond
  CHECK(us("1.0005ms") == 1'001);
  CHECK(us("0.4us") == 0);
  CHECK(us("1000000000s") == kMaxDurationUs);
  CHECK(us("0.000000000000000000001s") == 0);  // more than 18 fractional digits
}

TEST_CASE("durations: rejections say why") {
  CHECK(duration_error("") == "empty value: expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error("-1s") == "'-1s': a duration cannot be negative");
  CHECK(duration_error("-0") == "'-0': a duration cannot be negative");
  CHECK(duration_error("fast") == "'fast': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error(".5s") == "'.5s': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error("1.s") == "'1.s': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error("+1s") == "'+1s': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error(" 1s") == "' 1s': expected a duration such as 500us, 20ms, 1.5s, 2m or 1h");
  CHECK(duration_error("2x") == "'2x': unknown unit 'x' (use us, ms, s, m, min or h)");
  CHECK(duration_error("3d") == "'3d': unknown unit 'd' (use us, ms, s, m, min or h)");
  CHECK(duration_error("1 s") == "'1 s': unknown unit ' s' (use us, ms, s, m, min or h)");
  CHECK(duration_error("1e3ms") == "'1e3ms': unknown unit 'e3ms' (use us, ms, s, m, min or h)");
  CHECK(duration_error("1.5.2s") == "'1.5.2s': unknown unit '.2s' (use us, ms, s, m, min or h)");
  CHECK(duration_error("1000000001s") == "'1000000001s': too long (at most 1000000000s)");
  CHECK(duration_error("1000000000.1s") == "'1000000000.1s': too long (at most 1000000000s)");
  CHECK(duration_error("99999999999999999999999h") == "'99999999999999999999999h': too long (at most 1000000000s)");
  CHECK(duration_error("278000h") == "'278000h': too long (at most 1000000000s)");
}

TEST_CASE("durations: formatting round-trips through the parser") {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1'000}, int64_t{1'500}, int64_t{2'000'000},
                    int64_t{90'000'000}, kMaxDurationUs}) {
    const std::string text = format_duration_us(v);
    CHECK(us(text) == v);
  }
  CHECK(format_duration_us(1'500) == "1500us");
  CHECK(format_duration_us(60'000'000) == "60s");
  CHECK(format_duration_us(20'000) == "20ms");
}

TEST_CASE("integers: base 10, in range, nothing else") {
  std::string error;
  CHECK(parse_integer("-5", -10, 10, error) == -5);
  CHECK(parse_integer("010", 0, 100, error) == 10);
  CHECK(parse_integer("9223372036854775807", INT64_MIN, INT64_MAX, error) == INT64_MAX);
  CHECK(parse_unsigned("18446744073709551615", 0, UINT64_MAX, error) == UINT64_MAX);
  for (const char* bad : {"", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "abc", "9223372036854775808"}) {
    CHECK_FALSE(parse_integer(bad, INT64_MIN, INT64_MAX, error));
    CHECK(error == "expected an integer in -9223372036854775808..9223372036854775807, got '" + std::string(bad) + "'");
  }
  CHECK_FALSE(parse_integer("11", 0, 10, error));
  CHECK(error == "expected an integer in 0..10, got '11'");
  CHECK_FALSE(parse_unsigned("-1", 0, UINT64_MAX, error));
  CHECK(error == "expected an integer in 0..18446744073709551615, got '-1'");
  CHECK_FALSE(parse_unsigned("18446744073709551616", 0, UINT64_MAX, error));
}

TEST_CASE("probabilities: finite, in [0, 1]") {
  std::string error;
  CHECK(parse_probability("0", error) == 0.0);
  CHECK(parse_probability("1", error) == 1.0);
  CHECK(parse_probability("0.25", error) == 0.25);
  CHECK(parse_probability("1e-3", error) == doctest::Approx(0.001));
  for (const char* bad : {"", "nan", "inf", "-0.1", "1.01", "0x1p-1", " 0.5", "0.5 ", "half"}) {
    CHECK_FALSE(parse_probability(bad, error));
    CHECK(error == "expected a probability in [0, 1], got '" + std::string(bad) + "'");
  }
}

TEST_CASE("CLI11 validators rewrite the text before CLI11 converts it") {
  CLI::App app;
  int64_t timeout = -1;
  uint64_t count = 0;
  int level = 0;
  double p = 0;
  app.add_option("--timeout", timeout)->transform(Duration(1));
  app.add_option("--count", count)->transform(Unsigned(1, 100));
  app.add_option("--level", level)->transform(Integer(0, 3));
  app.add_option("--p", p)->transform(Probability());
  app.parse(std::vector<std::string>{"0.5", "--p", "3", "--level", "010", "--count", "2min", "--timeout"});
  CHECK(timeout == 120'000'000);
  CHECK(count == 10);  // CLI11 alone would read 010 as octal 8
  CHECK(level == 3);
  CHECK(p == 0.5);

  auto failure = [&](std::vector<std::string> args) {
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(failure({"0", "--timeout"}) == "--timeout: '0': must be at least 1us");
  CHECK(failure({"-1", "--count"}) == "--count: expected an integer in 1..100, got '-1'");
  CHECK(failure({"nan", "--p"}) == "--p: expected a probability in [0, 1], got 'nan'");
}
