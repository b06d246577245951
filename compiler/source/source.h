// source.h: the files psyncc reads, and positions in them.
// Every AST node carries a SourceRange; the diagnostics layer turns one back
// into file:line:col and the text of the line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psync {

/// A half-open byte range [begin, end) inside one source file.
struct SourceRange {
  uint32_t file = 0;   ///< index into SourceManager; 0 means "no location"
  uint32_t begin = 0;
  uint32_t end = 0;

  bool valid() const { return file != 0; }
  /// The smallest range that covers both (same file assumed).
  static SourceRange join(SourceRange a, SourceRange b);
};

struct LineCol {
  uint32_t line = 0;   ///< 1-based
  uint32_t column = 0; ///< 1-based, counted in bytes
};

/// One loaded file: its name as the user gave it and its bytes.
class SourceFile {
 public:
  SourceFile(std::string name, std::string text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  LineCol line_col(uint32_t offset) const;
  /// The text of a 1-based line, without its newline.
  std::string_view line_text(uint32_t line) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<uint32_t> line_starts_;
};

/// Owns every file of a compilation (the main file and its imports).
class SourceManager {
 public:
  SourceManager();
  /// Adds a file and returns its id (never 0).
  uint32_t add(std::string name, std::string text);
  /// Reads a file from disk; returns 0 and sets `error` on failure.
  uint32_t load(const std::string& path, std::string& error);
  const SourceFile& file(uint32_t id) const { return *files_.at(id); }
  size_t size() const { return files_.size() - 1; }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

/// Returns the byte offset of the first invalid UTF-8 sequence, or npos.
size_t find_invalid_utf8(std::string_view text);

}  // namespace psync
