// explore.h: `psyncc explore FILE -n N`, an interactive explorer of a
// compiled protocol served as a local web page (runtime/explore/README.md).
// The driver compiles FILE in memory and calls run_explore; the HTTP server
// and Asio stay behind this header.
#ifndef PSYNC_EXPLORE_EXPLORE_H
#define PSYNC_EXPLORE_EXPLORE_H

#include <psync/abi.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace psync::explore {

struct ExploreOptions {
  int n = 3;
  // TCP port on 127.0.0.1; 0 picks a free one.
  uint16_t port = 0;
  // Domain of int inputs offered on the page (`--values A..B`), as in check.
  int64_t values_lo = 0;
  int64_t values_hi = 1;
  std::vector<std::string> bytes_values;  // `--bytes-values`
  std::vector<std::pair<std::string, int64_t>> consts;  // `--const`
  // Largest request body accepted (a trace to replay); larger ones get 413.
  size_t max_body_bytes = 8u << 20;
};

// Serves until SIGINT or SIGTERM. The first line on `out` is
// "psyncc explore: http://127.0.0.1:PORT/". Returns the exit status: 0 after
// a signal, 2 when the options do not fit the protocol or the port cannot
// be bound (the reason goes to stderr).
int run_explore(const psync_protocol_desc& desc, const ExploreOptions& opts, std::FILE* out);

}  // namespace psync::explore

#endif  // PSYNC_EXPLORE_EXPLORE_H
