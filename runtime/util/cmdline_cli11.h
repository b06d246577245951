// cmdline_cli11.h: the parsers of cmdline.h as CLI11 validators, shared by
// psyncc and the node. Each one checks the text as typed and rewrites it to
// plain decimal before CLI11 converts it, because CLI11's own conversion
// reads "010" as octal, wraps "-1" into an unsigned and lets NaN through a
// Range. Use them with ->transform(), which lets a validator rewrite.
// A failure reads "--window: expected an integer in 1..100000000, got '-1'".
#pragma once

#include "util/cmdline.h"

#include <CLI/CLI.hpp>

#include <limits>

namespace psync::cmdline {

// A signed integer in [lo, hi], for an option of a signed type.
inline CLI::Validator Integer(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        std::string error;
        auto v = parse_integer(text, lo, hi, error);
        if (!v) return error;
        text = std::to_string(*v);
        return std::string();
      },
      "", "INT");
}

// An unsigned integer in [lo, hi], for an option of an unsigned type.
inline CLI::Validator Unsigned(uint64_t lo, uint64_t hi = std::numeric_limits<uint64_t>::max()) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        std::string error;
        auto v = parse_unsigned(text, lo, hi, error);
        if (!v) return error;
        text = std::to_string(*v);
        return std::string();
      },
      "", "UINT");
}

// A duration (cmdline.h) of at least min_us, rewritten to microseconds, for
// an option of type int64_t that holds microseconds.
inline CLI::Validator Duration(int64_t min_us = 0) {
  return CLI::Validator(
      [min_us](std::string& text) {
        std::string error;
        auto v = parse_duration_us(text, error);
        if (!v) return error;
        if (*v < min_us) return "'" + text + "': must be at least " + format_duration_us(min_us);
        text = std::to_string(*v);
        return std::string();
      },
      "", "DURATION");
}

// A probability in [0, 1], for an option of type double.
inline CLI::Validator Probability() {
  return CLI::Validator(
      [](std::string& text) {
        std::string error;
        if (!parse_probability(text, error)) return error;
        return std::string();
      },
      "", "P");
}

}  // namespace psync::cmdline
