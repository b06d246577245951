// layout.h: the line writer behind psyncc fmt. The AST printer (format.cpp)
// hands it code in source order, with the source positions it came from; the
// writer decides where lines end, indents them, keeps one blank line where the
// source had blank lines between items, puts every comment back (own-line
// comments on their own line, trailing comments at the end of their line,
// aligned in runs), and breaks a line only where the source broke it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace psync::format {

/// A comment of the source, with where it sat on its line.
struct Comment {
  uint32_t begin = 0, end = 0;
  std::string text;           ///< as written (CRLF turned into LF)
  bool own_line = false;      ///< only white space before it on its line
  bool ends_line = false;     ///< only white space after it on its line
  bool line_comment = false;  ///< `//` or `///`: the line ends with it
};

class LineWriter {
 public:
  LineWriter(std::string_view source, std::vector<Comment> comments);

  // ---- items: the header, declarations, round items, statements.
  /// Starts an item whose code begins at `pos`: flushes the comments before
  /// it, ends the current line and keeps one blank line if the source had
  /// at least one between the previous item (or comment) and this one.
  void begin_item(uint32_t pos);

  // ---- blocks
  /// After "{" has been written: what follows is one level deeper.
  void open_block();
  /// Flushes the comments before the closing brace at `brace`, then writes
  /// "}" on its own line, one level out, where the enclosing item goes on.
  void close_block(uint32_t brace);

  // ---- code
  void write(std::string_view code);
  /// One space, unless the line is empty or ends with one.
  void space();
  /// Between two parts of an item, the next starting at `next`: a new
  /// (continuation) line if the source had a line break there (or just
  /// before the separator written last: `newline_before`) or a line comment
  /// ended the line, else one space.
  void break_or_space(uint32_t next, bool newline_before = false);
  /// How far the source has been printed.
  uint32_t last_end() const { return last_end_; }
  /// Emits every comment that starts before `pos`.
  void flush_comments(uint32_t pos);
  /// Emits the comments before `pos` that sit inside a line (with code after
  /// them), up to the first that ends its line: that one and those after it
  /// wait for the next flush (so that `} // c` stays `} else {  // c`).
  void flush_inline_comments(uint32_t pos);
  /// The source has been printed up to `end` (for line breaks and blank lines).
  void consumed(uint32_t end);
  /// Continuation lines align one column after what was just written
  /// (an opening bracket) until pop_align.
  void push_align();
  void pop_align();

  bool comments_between(uint32_t begin, uint32_t end) const;
  /// A comment before `pos` has not been emitted yet.
  bool comment_pending_before(uint32_t pos) const { return next_ < comments_.size() && comments_[next_].begin < pos; }
  bool newline_between(uint32_t begin, uint32_t end) const;

  /// Flushes the remaining comments and returns the text, trailing comments
  /// aligned, ending with one newline.
  std::string finish();

  /// True when every comment was emitted exactly once (a self-check).
  bool all_comments_emitted() const { return next_ == comments_.size(); }

 private:
  struct Line {
    std::string code;
    std::string trailing;
    bool comment_only = false;     ///< the line is an own-line comment: nothing may follow it
    bool trailing_closed = false;  ///< `trailing` ends with a line comment: nothing may follow it
  };
  struct Saved {
    int item_indent;
    std::vector<int> align;
  };

  void end_line();
  void open_line();
  int continuation_indent() const;
  int new_line_indent() const;
  int newlines(uint32_t begin, uint32_t end) const;
  void blank_line_if(bool wanted);
  void emit_comment(const Comment& c);
  void add_trailing(const std::string& text, bool line_comment);

  std::string_view src_;
  std::vector<Comment> comments_;
  size_t next_ = 0;

  std::vector<Line> lines_;
  std::string cur_;            ///< the line being written, indentation included
  std::string cur_trailing_;   ///< its trailing comments
  std::string pending_inline_; ///< block comments to write before the next code on this line
  bool cur_open_ = false;      ///< cur_ has been started
  bool cur_comment_only_ = false;  ///< cur_ holds only an own-line comment so far
  bool cur_trailing_closed_ = false;  ///< cur_trailing_ ends with a line comment
  bool force_break_ = false;   ///< a line comment ended cur_: code goes on the next line

  int block_indent_ = 0;
  int item_indent_ = 0;
  bool in_item_ = false;          ///< between begin_item and the item's next sibling
  bool item_first_line_ = false;  ///< still on the item's first line
  bool at_block_start_ = true;    ///< no blank line right after "{" or at the top of the file
  uint32_t last_end_ = 0;
  std::vector<int> align_;
  std::vector<Saved> saved_;
};

/// The width of a line of code in columns (UTF-8 code points).
size_t display_width(std::string_view s);

}  // namespace psync::format
