// server.h: psyncc lsp, a Language Server Protocol server over stdio. It
// keeps the open documents, runs the real front end on every open and change
// (diagnostics), and answers hover (the type of an expression), definition,
// document symbols and formatting from the typed tree (tools/query) and the
// formatter (tools/format). A malformed message gets a JSON-RPC error
// response; nothing a client sends makes it crash or stop reading.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace psync::lsp {

struct ServerOptions {
  /// Searched for imports before the defaults, like psyncc's -I; a client
  /// may add more in initializationOptions.importDirs.
  std::vector<std::string> import_dirs;
};

/// Serves one client until `exit` or the end of the input. Returns the exit
/// status: 0 after shutdown then exit, 1 otherwise (as the LSP specifies).
int run_language_server(std::istream& in, std::ostream& out, const ServerOptions& options);

}  // namespace psync::lsp
