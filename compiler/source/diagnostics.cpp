// diagnostics.cpp: formatting file:line:col, the source line and the caret.
#include "source/diagnostics.h"

#include <cstdio>

namespace psync {

namespace {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
  }
  return "error";
}

// Prints a source line safely: tabs are kept so that the caret lines up,
// other control bytes become spaces, and very long lines are cut around
// the column of interest.
std::string printable_line(std::string_view line, uint32_t& col, uint32_t& width) {
  constexpr size_t kMax = 160;
  size_t start = 0;
  if (line.size() > kMax) {
    size_t c = col ? col - 1 : 0;
    start = c > kMax / 2 ? c - kMax / 2 : 0;
    if (start + kMax > line.size()) start = line.size() > kMax ? line.size() - kMax : 0;
    line = line.substr(start, kMax);
    col = static_cast<uint32_t>(col > start ? col - start : 1);
  }
  // Bytes that do not form valid UTF-8 (a binary file, a cut line) are shown
  // as '?' so that the terminal receives only text.
  const bool utf8 = find_invalid_utf8(line) == std::string_view::npos;
  std::string out;
  out.reserve(line.size());
  for (char ch : line) {
    auto u = static_cast<unsigned char>(ch);
    out.push_back(ch == '\t' ? '\t' : (u < 0x20 || u == 0x7f) ? ' ' : (!utf8 && u >= 0x80) ? '?' : ch);
  }
  if (col > out.size() + 1) col = static_cast<uint32_t>(out.size() + 1);
  if (col - 1 + width > out.size()) width = static_cast<uint32_t>(out.size() >= col ? out.size() - col + 1 : 1);
  if (width == 0) width = 1;
  return out;
}

}  // namespace

void StreamConsumer::consume(const Diagnostic&, const std::string& formatted) {
  std::fwrite(formatted.data(), 1, formatted.size(), stderr);
}

std::string DiagnosticEngine::format(const Diagnostic& d) const {
  std::string out;
  if (d.range.valid()) {
    const SourceFile& f = sources_.file(d.range.file);
    LineCol lc = f.line_col(d.range.begin);
    LineCol end = f.line_col(d.range.end > d.range.begin ? d.range.end - 1 : d.range.begin);
    out += f.name() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": ";
    out += std::string(severity_name(d.severity)) + ": " + d.message;
    if (!d.id.empty()) out += " [" + d.id + "]";
    out += "\n";
    uint32_t col = lc.column;
    uint32_t width = end.line == lc.line && end.column >= lc.column ? end.column - lc.column + 1 : 1;
    std::string line = printable_line(f.line_text(lc.line), col, width);
    out += "  " + line + "\n  ";
    for (uint32_t i = 1; i < col; ++i) out += (i - 1 < line.size() && line[i - 1] == '\t') ? '\t' : ' ';
    out += '^';
    for (uint32_t i = 1; i < width; ++i) out += '~';
    out += "\n";
  } else {
    out += "psyncc: " + std::string(severity_name(d.severity)) + ": " + d.message;
    if (!d.id.empty()) out += " [" + d.id + "]";
    out += "\n";
  }
  for (const auto& n : d.notes) out += format(n);
  return out;
}

void DiagnosticEngine::flush() {
  for (auto& d : pending_) consumer_.consume(d, format(d));
  pending_.clear();
}

void DiagnosticEngine::report(Diagnostic d) {
  flush();
  // A message quoting a huge identifier stays readable.
  constexpr size_t kMaxMessage = 400;
  if (d.message.size() > kMaxMessage)
    d.message = d.message.substr(0, kMaxMessage / 2) + " ... " + d.message.substr(d.message.size() - kMaxMessage / 4);
  if (d.severity == Severity::Error) {
    if (capped_) { ++errors_; return; }
    if (errors_ == kMaxErrors) {
      capped_ = true;
      ++errors_;
      Diagnostic stop{Severity::Error, "too-many-errors", {}, "too many errors, stopping here", {}};
      pending_.push_back(std::move(stop));
      return;
    }
    ++errors_;
  } else if (d.severity == Severity::Warning) {
    ++warnings_;
    if (capped_ || warnings_ > kMaxWarnings) return;
    if (warnings_ == kMaxWarnings) {
      pending_.push_back(std::move(d));
      pending_.push_back({Severity::Warning, "too-many-warnings", {}, "too many warnings, not showing the rest", {}});
      return;
    }
  }
  pending_.push_back(std::move(d));
}

void DiagnosticEngine::error(std::string id, SourceRange range, std::string message) {
  report({Severity::Error, std::move(id), range, std::move(message), {}});
}

void DiagnosticEngine::warning(std::string id, SourceRange range, std::string message) {
  report({Severity::Warning, std::move(id), range, std::move(message), {}});
}

void DiagnosticEngine::note(SourceRange range, std::string message) {
  if (pending_.empty() || pending_.back().id == "too-many-errors" || pending_.back().id == "too-many-warnings") return;
  pending_.back().notes.push_back({Severity::Note, "", range, std::move(message), {}});
}

}  // namespace psync
