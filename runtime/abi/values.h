// values.h: one-word values of a descriptor's fields (inputs, consts,
// outputs) as people write and read them: parsed from the command line the
// same way by the node, `psyncc run`, `check` and `simulate`, and printed
// the same way in decisions and reports. docs/runtime.md, "Values".
#pragma once

#include <psync/abi.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace psync {

// The kind's name as diagnostics spell it: "int", "bool", "pid", "set<pid>",
// "enum", "composite".
const char* field_kind_name(uint32_t kind);

// Parses one value of `field` for n processes: an int; true/false (or 1/0)
// for a bool; a pid in 0..n-1; a set<pid> as {0+2+3} or {}; an enum's
// variant by name (or by number). Returns false and sets `error` (a phrase
// such as "'7' is not a pid in 0..3") when the text is not such a value.
bool parse_field_value(const psync_field& field, std::string_view text, int32_t n, int64_t& value,
                       std::string& error);

// A value of `field` as JSON: 3, true, [0,2], "Leader" (an enum's variant;
// a number outside its variants prints as the number).
std::string field_value_json(const psync_field& field, int64_t word);

}  // namespace psync
