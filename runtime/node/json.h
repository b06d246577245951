// json.h: the node's JSON output (decision lines, --stats, --describe) is
// built with these: in growing strings, never fixed buffers, and with every
// string escaped, since protocol, field and state texts come from the
// descriptor. Small on purpose: it is compiled into every protocol binary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace psync::node {

// Appends s as a JSON string: quotes, backslashes and control characters
// escaped; other bytes (UTF-8 included) as they are.
inline void append_json_string(std::string& out, std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

// One JSON object: fields in the order they are added.
class JsonObject {
 public:
  JsonObject& add(std::string_view key, int64_t v) { return add_raw(key, std::to_string(v)); }
  JsonObject& add(std::string_view key, uint64_t v) { return add_raw(key, std::to_string(v)); }
  JsonObject& add(std::string_view key, int32_t v) { return add_raw(key, std::to_string(v)); }
  JsonObject& add_string(std::string_view key, std::string_view v) {
    open(key);
    append_json_string(text_, v);
    return *this;
  }
  JsonObject& add_raw(std::string_view key, std::string_view json) {
    open(key);
    text_ += json;
    return *this;
  }
  std::string str() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  void open(std::string_view key) {
    text_ += text_.empty() ? '{' : ',';
    append_json_string(text_, key);
    text_ += ':';
  }
  std::string text_;
};

}  // namespace psync::node
