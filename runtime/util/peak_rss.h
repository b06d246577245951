// runtime/util/peak_rss.h: this process's peak resident set, for `--stats`.
//
// The kernel's high-water mark of the process's own address space (VmHWM in
// /proc/self/status), in KiB. getrusage's ru_maxrss is no substitute: it
// also counts the image of the process that forked this one before it
// exec'd (a benchmark driver written in Python, say), so it never reads
// below the parent's size. 0 where /proc is not mounted.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace psync::util {

inline uint64_t peak_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::strncmp(line, "VmHWM:", 6) == 0 && std::sscanf(line + 6, "%llu", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

}  // namespace psync::util
