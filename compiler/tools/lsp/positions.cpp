// positions.cpp: LineIndex and file URIs (positions.h).
#include "tools/lsp/positions.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

namespace psync::lsp {

LineIndex::LineIndex(std::string_view text, Encoding enc) : text_(text), enc_(enc) {
  starts_.push_back(0);
  for (uint32_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') starts_.push_back(i + 1);
}

namespace {

// The length of the UTF-8 sequence that starts with byte `c` (1 for a stray
// continuation byte, so that walking always advances).
uint32_t sequence_length(unsigned char c) {
  if (c >= 0xF0) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC0) return 2;
  return 1;
}

uint32_t units(uint32_t bytes, Encoding enc) {
  switch (enc) {
    case Encoding::Utf8: return bytes;
    case Encoding::Utf32: return 1;
    case Encoding::Utf16: return bytes == 4 ? 2 : 1;
  }
  return 1;
}

}  // namespace

Position LineIndex::position(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - starts_.begin()) - 1;
  uint32_t character = 0;
  for (uint32_t i = starts_[line]; i < offset;) {
    uint32_t len = sequence_length(static_cast<unsigned char>(text_[i]));
    character += units(len, enc_);
    i += len;
  }
  return {line, character};
}

uint32_t LineIndex::offset(Position p) const {
  if (p.line >= starts_.size()) return static_cast<uint32_t>(text_.size());
  uint32_t end = p.line + 1 < starts_.size() ? starts_[p.line + 1] - 1 : static_cast<uint32_t>(text_.size());
  uint32_t i = starts_[p.line], character = 0;
  while (i < end && character < p.character) {
    uint32_t len = sequence_length(static_cast<unsigned char>(text_[i]));
    character += units(len, enc_);
    i = std::min(i + len, end);
  }
  return i;
}

std::string uri_to_path(const std::string& uri) {
  const std::string scheme = "file://";
  if (uri.rfind(scheme, 0) != 0) return uri;
  std::string path;
  for (size_t i = scheme.size(); i < uri.size(); ++i) {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    if (uri[i] == '%' && i + 2 < uri.size() && hex(uri[i + 1]) && hex(uri[i + 2])) {
      path += static_cast<char>(std::stoi(uri.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      path += uri[i];
    }
  }
  // file://host/path: only the local host is meaningful here.
  if (!path.empty() && path[0] != '/') {
    size_t slash = path.find('/');
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  return path;
}

std::string path_to_uri(const std::string& path) {
  std::string abs = path;
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  if (!ec) abs = p.lexically_normal().string();
  std::string out = "file://";
  for (unsigned char c : abs) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace psync::lsp
