// cmdline.h: the values a command line carries — durations, integers in a
// range, probabilities — parsed one way for psyncc and for every node, so
// that `2min` means the same thing to both. No dependencies; cmdline_cli11.h
// wraps these functions as CLI11 validators.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace psync::cmdline {

// The most instances one run may have (--instances, --window), for psyncc
// run and the node alike: a node keeps one status byte per instance id.
inline constexpr uint64_t kMaxInstances = 100'000'000;

// The longest duration accepted: 10^9 s (about 31.7 years), far below what
// steady_clock arithmetic in nanoseconds can hold (about 292 years).
inline constexpr int64_t kMaxDurationUs = 1'000'000'000'000'000;

// A duration, in microseconds, rounded to the nearest microsecond. Grammar
// (docs/runtime.md, "Durations"):
//     DIGITS [ "." DIGITS ] [ UNIT ]      UNIT = us | ms | s | m | min | h
// A bare number is milliseconds. No sign, no spaces, no exponent. On error,
// returns nullopt and sets `error` to a phrase such as "unknown unit 'x'
// (use us, ms, s, m, min or h)", which callers put after the option's name.
std::optional<int64_t> parse_duration_us(std::string_view text, std::string& error);

// Formats microseconds back into the grammar above, exactly ("1500us" for
// 1.5 ms, "2s", "90s"): what psyncc passes on to its replicas.
std::string format_duration_us(int64_t us);

// A base-10 integer in [lo, hi]: optional '-', digits, nothing else (no
// '+', no spaces, no 0x; leading zeros are decimal). On error, returns
// nullopt and sets `error` ("expected an integer in 1..64, got '-5'").
std::optional<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi, std::string& error);
std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string& error);

// A probability: a finite decimal number in [0, 1] ("0.2", "1", "0").
std::optional<double> parse_probability(std::string_view text, std::string& error);

}  // namespace psync::cmdline
