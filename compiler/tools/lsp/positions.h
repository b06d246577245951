// positions.h: byte offsets (what the front end uses) versus LSP positions
// (line, character), where a character is counted in the encoding the
// client and server agreed on: UTF-16 code units by default, or UTF-8
// bytes or code points (LSP 3.17 positionEncoding). Also file URIs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace psync::lsp {

enum class Encoding { Utf16, Utf8, Utf32 };

struct Position {
  uint32_t line = 0;
  uint32_t character = 0;
};

/// Line starts of one text, for conversions both ways.
class LineIndex {
 public:
  LineIndex(std::string_view text, Encoding enc);
  Position position(uint32_t offset) const;
  /// The byte offset of a position; past the end of a line clamps to it,
  /// past the last line to the end of the text.
  uint32_t offset(Position p) const;

 private:
  std::string_view text_;
  Encoding enc_;
  std::vector<uint32_t> starts_;
};

/// file:///a%20b/c.psync -> /a b/c.psync; any other URI is returned as is.
std::string uri_to_path(const std::string& uri);
/// /a b/c.psync -> file:///a%20b/c.psync
std::string path_to_uri(const std::string& path);

}  // namespace psync::lsp
