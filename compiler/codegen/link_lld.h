// link_lld.h: in-process linking with lld's library (link_lld.cpp), used by
// link_executable for the host when psyncc was built with liblld-19-dev.
#pragma once

#include <string>

namespace psync {

/// Whether link_inprocess can link for the host here: built with lld's
/// library, and every file the configured link line names still exists.
/// If not, `why` says why.
bool inprocess_link_usable(std::string& why);

/// Links `object` with `runtime_lib` (and libsodium, libstdc++, libc) into
/// the executable `output`, as `c++ -fuse-ld=lld` does, in this process
/// (no program is started; lld's fatal errors return here). lld prints its
/// messages to stderr; on failure `error` says that linking failed.
bool link_inprocess(const std::string& object, const std::string& runtime_lib, const std::string& output,
                    std::string& error);

}  // namespace psync
