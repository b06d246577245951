// jsonrpc.cpp: reading and writing LSP frames (jsonrpc.h).
#include "tools/lsp/jsonrpc.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace psync::lsp {

namespace {

constexpr size_t kMaxHeaderLine = 4096;

// One header line without its CR LF (a bare LF is accepted too). `too_long`
// is set, and the rest of the line skipped, past kMaxHeaderLine bytes.
bool read_line(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  int c;
  bool any = false;
  while ((c = in.get()) != std::char_traits<char>::eof()) {
    any = true;
    if (c == '\n') break;
    if (line.size() < kMaxHeaderLine)
      line += static_cast<char>(c);
    else
      too_long = true;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return any;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Frame read_frame(std::istream& in) {
  Frame f;
  std::string line, error;
  bool too_long = false, have_length = false, any_header = false, debris = false;
  size_t length = 0;
  for (;;) {
    if (!read_line(in, line, too_long)) return f;  // end of input
    if (too_long) {
      error = "header line longer than " + std::to_string(kMaxHeaderLine) + " bytes";
      continue;
    }
    if (line.empty()) {
      if (!any_header) continue;  // stray blank lines between messages
      break;
    }
    // Resynchronise after a bad frame: a body without a newline runs into
    // the next header on the same line.
    std::string low = lower(line);
    size_t at = low.find("content-length:");
    if (at != std::string::npos && at > 0) {
      line = line.substr(at);
      low = low.substr(at);
    }
    any_header = true;
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      error = "malformed header line '" + line.substr(0, 80) + "'";
      debris = true;
      continue;
    }
    std::string name = low.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    if (name == "content-length") {
      size_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        error = "Content-Length '" + value.substr(0, 40) + "' is not a number";
      } else if (n > kMaxMessageBytes) {
        error = "Content-Length " + value + " is larger than " + std::to_string(kMaxMessageBytes) + " bytes";
      } else {
        length = n;
        have_length = true;
        if (debris) error.clear();  // what came before was the rest of a bad frame
        debris = false;
      }
    }
    // Other headers (Content-Type) are allowed and ignored.
  }
  if (error.empty() && !have_length) error = "no Content-Length header";
  if (!error.empty()) {
    f.status = Frame::BadHeader;
    f.error = error;
    return f;
  }
  f.body.resize(length);
  in.read(f.body.data(), static_cast<std::streamsize>(length));
  if (static_cast<size_t>(in.gcount()) != length) {
    f.body.clear();
    return f;  // the input ended inside the body
  }
  f.status = Frame::Message;
  return f;
}

void write_frame(std::ostream& out, const std::string& body) {
  out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  out.flush();
}

}  // namespace psync::lsp
