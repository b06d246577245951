// compiled.h: protocols for the runtime and checker tests, JIT-compiled from
// .psync files by the real front end and back end, so that the tests drive
// the code psyncc generates rather than hand-written stand-ins.
#pragma once

#include <psync/abi.h>

#include <string>

namespace psync::test {

// `relative` resolved against the source tree: source_file("examples/ben_or.psync").
std::string source_file(const std::string& relative);

// The descriptor of the protocol in `path` (relative paths are resolved with
// source_file), compiled once per process at -O2 with the source tree's
// stdlib, and valid until the process exits. Throws std::runtime_error with
// the file name and every diagnostic when it does not compile.
const psync_protocol_desc& compiled(const std::string& path);

// The same for a protocol held in memory: `name` labels its diagnostics, and
// each distinct text is compiled once per process.
const psync_protocol_desc& compiled_text(const std::string& name, const std::string& text);

}  // namespace psync::test
