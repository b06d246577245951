// cmdline.cpp: strict parsers for command-line values. Durations are parsed
// in exact integer arithmetic (no double), so that "0.1s" is 100000us and a
// value too large to represent is an error rather than a wrapped number.
#include "util/cmdline.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace psync::cmdline {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Appends rather than chaining operator+: g++ 12 at -O3 reports a false
// -Wrestrict for "'" + std::string(s) + "'".
std::string quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q += '\'';
  q.append(s);
  q += '\'';
  return q;
}

}  // namespace

std::optional<int64_t> parse_duration_us(std::string_view text, std::string& error) {
  static const std::string kHint = "expected a duration such as 500us, 20ms, 1.5s, 2m or 1h";
  if (text.empty()) {
    error = "empty value: " + kHint;
    return std::nullopt;
  }
  if (text[0] == '-') {
    error = quoted(text) + ": a duration cannot be negative";
    return std::nullopt;
  }
  size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view whole = text.substr(0, i);
  std::string_view fraction;
  bool bad = whole.empty();
  if (!bad && i < text.size() && text[i] == '.') {
    const size_t from = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(from, i - from);
    bad = fraction.empty();
  }
  if (bad) {
    error = quoted(text) + ": " + kHint;
    return std::nullopt;
  }
  const std::string_view unit = text.substr(i);
  int64_t scale = 0;
  if (unit.empty() || unit == "ms") scale = 1'000;
  else if (unit == "us") scale = 1;
  else if (unit == "s") scale = 1'000'000;
  else if (unit == "m" || unit == "min") scale = 60'000'000;
  else if (unit == "h") scale = 3'600'000'000;
  else {
    error = quoted(text) + ": unknown unit " + quoted(unit) + " (use us, ms, s, m, min or h)";
    return std::nullopt;
  }
  const std::string too_long = quoted(text) + ": too long (at most 1000000000s)";
  // Leading zeros would otherwise count against the digit limit.
  std::string_view digits = whole;
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  uint64_t units = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), units);
  if (ec != std::errc() || end != digits.data() + digits.size() || units > uint64_t(kMaxDurationUs / scale)) {
    error = too_long;
    return std::nullopt;
  }
  int64_t us = int64_t(units) * scale;
  if (!fraction.empty()) {
    // 18 fractional digits are far below a microsecond for every unit;
    // later ones cannot change the rounded result except at an exact tie.
    if (fraction.size() > 18) fraction = fraction.substr(0, 18);
    uint64_t numerator = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), numerator);
    __int128 denominator = 1;
    for (size_t k = 0; k < fraction.size(); ++k) denominator *= 10;
    const __int128 part = (__int128(numerator) * scale * 2 + denominator) / (denominator * 2);  // nearest
    us += int64_t(part);
  }
  if (us > kMaxDurationUs) {
    error = too_long;
    return std::nullopt;
  }
  return us;
}

std::string format_duration_us(int64_t us) {
  if (us % 1'000'000 == 0) return std::to_string(us / 1'000'000) + "s";
  if (us % 1'000 == 0) return std::to_string(us / 1'000) + "ms";
  return std::to_string(us) + "us";
}

std::optional<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi, std::string& error) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    error = "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + quoted(text);
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string& error) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    error = "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + quoted(text);
    return std::nullopt;
  }
  return v;
}

std::optional<double> parse_probability(std::string_view text, std::string& error) {
  const std::string s(text);
  // strtod would also take leading spaces, hex floats, "inf" and "nan".
  bool plain = !s.empty() && (is_digit(s[0]) || s[0] == '.');
  for (char c : s) plain = plain && (is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+');
  char* end = nullptr;
  const double v = plain ? std::strtod(s.c_str(), &end) : 0.0;
  if (!plain || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0.0 || v > 1.0) {
    error = "expected a probability in [0, 1], got " + quoted(text);
    return std::nullopt;
  }
  return v;
}

}  // namespace psync::cmdline
