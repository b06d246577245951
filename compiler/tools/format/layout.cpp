// layout.cpp: the line writer of psyncc fmt (layout.h): lines, indentation,
// blank lines, comments and the alignment of trailing comments.
#include "tools/format/layout.h"

#include <algorithm>

namespace psync::format {

size_t display_width(std::string_view s) {
  size_t w = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++w;
  return w;
}

LineWriter::LineWriter(std::string_view source, std::vector<Comment> comments)
    : src_(source), comments_(std::move(comments)) {}

// ---------------------------------------------------------------- lines

int LineWriter::continuation_indent() const { return align_.empty() ? item_indent_ + 4 : align_.back(); }

int LineWriter::new_line_indent() const {
  return !in_item_ || item_first_line_ ? block_indent_ : continuation_indent();
}

void LineWriter::open_line() {
  if (force_break_) {
    end_line();
    force_break_ = false;
  }
  if (!cur_open_) {
    cur_.assign(static_cast<size_t>(new_line_indent()), ' ');
    cur_open_ = true;
    cur_comment_only_ = false;
  }
}

void LineWriter::end_line() {
  if (!pending_inline_.empty()) add_trailing("", false);
  if (!cur_open_) return;
  while (!cur_.empty() && cur_.back() == ' ') cur_.pop_back();
  lines_.push_back({std::move(cur_), std::move(cur_trailing_), cur_comment_only_, cur_trailing_closed_});
  cur_comment_only_ = false;
  cur_trailing_closed_ = false;
  cur_.clear();
  cur_trailing_.clear();
  cur_open_ = false;
  item_first_line_ = false;
}

int LineWriter::newlines(uint32_t begin, uint32_t end) const {
  if (begin >= end || end > src_.size()) return 0;
  return static_cast<int>(std::count(src_.begin() + begin, src_.begin() + end, '\n'));
}

bool LineWriter::newline_between(uint32_t begin, uint32_t end) const { return newlines(begin, end) > 0; }

bool LineWriter::comments_between(uint32_t begin, uint32_t end) const {
  for (const Comment& c : comments_)
    if (c.begin >= begin && c.begin < end) return true;
  return false;
}

void LineWriter::blank_line_if(bool wanted) {
  if (wanted && !at_block_start_ && !lines_.empty() && !lines_.back().code.empty()) lines_.push_back({});
}

// ---------------------------------------------------------------- items and blocks

void LineWriter::begin_item(uint32_t pos) {
  in_item_ = false;
  flush_comments(pos);
  end_line();
  force_break_ = false;
  blank_line_if(newlines(last_end_, pos) >= 2);
  at_block_start_ = false;
  in_item_ = true;
  item_first_line_ = true;
  item_indent_ = block_indent_;
  align_.clear();
}

void LineWriter::open_block() {
  saved_.push_back({item_indent_, align_});
  block_indent_ += 2;
  at_block_start_ = true;
  in_item_ = false;
}

void LineWriter::close_block(uint32_t brace) {
  in_item_ = false;
  flush_comments(brace);
  end_line();
  force_break_ = false;
  block_indent_ -= 2;
  if (!saved_.empty()) {
    item_indent_ = saved_.back().item_indent;
    align_ = std::move(saved_.back().align);
    saved_.pop_back();
  }
  in_item_ = true;
  item_first_line_ = false;
  cur_.assign(static_cast<size_t>(block_indent_), ' ');
  cur_ += "}";
  cur_open_ = true;
  at_block_start_ = false;
  consumed(brace + 1);
}

// ---------------------------------------------------------------- code

void LineWriter::write(std::string_view code) {
  open_line();
  // A line starts with code, not with the space that separated it from
  // what a line break moved to the previous line.
  if (cur_.find_first_not_of(' ') == std::string::npos && pending_inline_.empty())
    while (!code.empty() && code.front() == ' ') code.remove_prefix(1);
  if (!pending_inline_.empty()) {
    // The comment goes where it was: between what is on the line and `code`.
    char last = cur_.empty() ? ' ' : cur_.back();
    if (last != ' ' && last != '(' && last != '[') cur_ += ' ';
    cur_ += pending_inline_;
    pending_inline_.clear();
    if (!code.empty() && code.front() != ' ' && code.front() != ')' && code.front() != ']' && code.front() != ',')
      cur_ += ' ';
  }
  cur_ += code;
  cur_comment_only_ = false;
}

void LineWriter::space() {
  if (cur_open_ && !force_break_ && !cur_.empty() && cur_.back() != ' ') cur_ += ' ';
}

void LineWriter::break_or_space(uint32_t next, bool newline_before) {
  bool source_breaks = newline_before || newline_between(last_end_, next);
  flush_comments(next);
  if (force_break_ || source_breaks) {
    end_line();
    force_break_ = false;
  } else {
    space();
  }
}

void LineWriter::consumed(uint32_t end) { last_end_ = std::max(last_end_, end); }

void LineWriter::push_align() {
  int col = cur_open_ ? static_cast<int>(display_width(cur_)) : new_line_indent();
  align_.push_back(col);
}

void LineWriter::pop_align() {
  if (!align_.empty()) align_.pop_back();
}

// ---------------------------------------------------------------- comments

void LineWriter::flush_comments(uint32_t pos) {
  while (next_ < comments_.size() && comments_[next_].begin < pos) emit_comment(comments_[next_++]);
}

void LineWriter::flush_inline_comments(uint32_t pos) {
  while (next_ < comments_.size() && comments_[next_].begin < pos) {
    const Comment& c = comments_[next_];
    if (c.own_line || c.ends_line || c.line_comment) return;
    emit_comment(comments_[next_++]);
  }
}

void LineWriter::emit_comment(const Comment& c) {
  bool ends = c.ends_line || c.line_comment;
  if (c.own_line || (!cur_open_ && lines_.empty())) {
    end_line();
    force_break_ = false;
    blank_line_if(newlines(last_end_, c.begin) >= 2);
    open_line();
    cur_ += c.text;
    cur_comment_only_ = true;
    if (ends)
      end_line();
    else
      cur_ += ' ';
  } else if (ends) {
    add_trailing(c.text, c.line_comment);
    force_break_ = cur_open_;
  } else {
    // A block comment with code after it on its line stays in the line,
    // before that code; if the line ends first, it trails the line.
    pending_inline_ += (pending_inline_.empty() ? "" : " ") + c.text;
  }
  at_block_start_ = false;
  consumed(c.end);
}

// Appends to the trailing comments of the current line, or of the last line
// when none is open and that line holds code; but never after a line comment
// (which runs to the end of the line) and never after an own-line comment:
// then the comment gets a line of its own. Any inline comment still pending
// comes first.
void LineWriter::add_trailing(const std::string& text, bool line_comment) {
  std::string add = pending_inline_;
  pending_inline_.clear();
  if (!text.empty()) add += (add.empty() ? "" : " ") + text;
  if (add.empty()) return;
  if (cur_open_ && !cur_trailing_closed_) {
    cur_trailing_ += (cur_trailing_.empty() ? "" : " ") + add;
    cur_trailing_closed_ = line_comment;
  } else if (!cur_open_ && !lines_.empty() && !lines_.back().comment_only && !lines_.back().code.empty() &&
             !lines_.back().trailing_closed) {
    lines_.back().trailing += (lines_.back().trailing.empty() ? "" : " ") + add;
    lines_.back().trailing_closed = line_comment;
  } else {
    end_line();
    Line own{std::string(static_cast<size_t>(new_line_indent()), ' ') + add, "", true, true};
    lines_.push_back(std::move(own));
  }
}

// ---------------------------------------------------------------- the result

std::string LineWriter::finish() {
  in_item_ = false;
  flush_comments(UINT32_MAX);
  end_line();
  while (!lines_.empty() && lines_.back().code.empty() && lines_.back().trailing.empty()) lines_.pop_back();

  // Trailing comments on consecutive lines line up two columns after the
  // longest code among them (a comment spanning lines stands alone).
  auto alignable = [&](const Line& l) {
    return !l.trailing.empty() && !l.code.empty() && l.trailing.find('\n') == std::string::npos &&
           l.code.find('\n') == std::string::npos;
  };
  std::string out;
  for (size_t i = 0; i < lines_.size();) {
    if (!alignable(lines_[i])) {
      out += lines_[i].code;
      if (!lines_[i].trailing.empty()) out += (lines_[i].code.empty() ? "" : "  ") + lines_[i].trailing;
      out += '\n';
      ++i;
      continue;
    }
    size_t j = i, width = 0;
    while (j < lines_.size() && alignable(lines_[j])) width = std::max(width, display_width(lines_[j++].code));
    for (; i < j; ++i) {
      out += lines_[i].code;
      out.append(width - display_width(lines_[i].code) + 2, ' ');
      out += lines_[i].trailing + '\n';
    }
  }
  return out;
}

}  // namespace psync::format
