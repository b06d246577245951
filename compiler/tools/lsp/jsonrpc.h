// jsonrpc.h: the base protocol of the LSP: messages framed by a header
// (`Content-Length: N`, a blank line) and N bytes of JSON. Reading never
// throws and never waits for bytes a header did not announce; a bad header
// is reported and the reader resynchronises on the next one.
#pragma once

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>

namespace psync::lsp {

/// Bodies larger than this are refused (the header is reported as bad).
constexpr size_t kMaxMessageBytes = 64u << 20;

struct Frame {
  enum Status { Message, BadHeader, Eof } status = Eof;
  std::string body;   ///< Message: the JSON text
  std::string error;  ///< BadHeader: what was wrong
};

/// Reads the next framed message.
Frame read_frame(std::istream& in);

/// Writes one framed message and flushes.
void write_frame(std::ostream& out, const std::string& body);

}  // namespace psync::lsp
