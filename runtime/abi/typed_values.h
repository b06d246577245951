// typed_values.h: values of any type, as a driver sees them through the type
// descriptions of abi.h (psync_type): their size, their shape check, and
// their JSON form, which the node prints for decisions, the service sends
// to clients and `psyncc run` compares; plus bytes<K> values as they are
// written on command lines ("text" or "hex:..."). docs/abi.md, "Type
// descriptions", and docs/runtime.md, "Output", describe the forms.
#pragma once

#include <psync/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psync {

// The largest bytes<K> capacity a type description may claim: one value
// must fit a message (validate.h's kMaxMessageBytes).
inline constexpr uint32_t kMaxBytesCapacityAbi = 65456;

// Empty when `t` is a well-formed description (known kinds, the element
// arrays and names its kind needs, bytes capacity 1..kMaxBytesCapacityAbi,
// at most 32 levels deep); otherwise one line saying what is wrong with it.
std::string check_type_description(const psync_type* t);

// Words of a value of type t for n processes (abi.h's layout rules).
uint64_t value_words(const psync_type& t, int32_t n);

// Whether a value of type t takes one word (int, bool, pid, set<pid>, an
// enum, set<E>, set<lo..hi>).
bool is_word_type(const psync_type& t);

// The JSON form of the value at `value` (value_words(t, n) words):
//   int, pid         a number                 bool      true / false
//   set<pid>         [0,2] (members)          T?        null or the payload
//   an enum          "Leader" (its variant)   set<E>    ["A","C"]; set<lo..hi>: [3,5]
//   tuple, [T; n]    an array                 record    an object, fields in order
//   bytes<K>         a string when the bytes are valid UTF-8, else {"hex":"6869"}
//   ()               null
// A bytes length outside 0..K is clamped (a peer's message may lie).
std::string value_to_json(const psync_type& t, const void* value, int32_t n);

// The JSON form of a bytes value alone (as above for bytes<K>).
std::string bytes_to_json(std::string_view bytes);
bool is_valid_utf8(std::string_view s);

// A bytes value as written on a command line or in a service request:
// "hex:68656c6c6f" (an even number of hex digits) or the text itself
// ("str:..." forces text, for a value that starts with "hex:").
// nullopt with `error` set when the hex is malformed.
std::optional<std::string> parse_bytes_text(std::string_view text, std::string& error);

// The buffer a bytes input's word points to (abi.h, init): a length word,
// then the bytes, padded to whole words.
std::vector<int64_t> bytes_input_buffer(std::string_view bytes);

}  // namespace psync
