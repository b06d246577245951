// serve.cpp: a node started with --serve HOST:PORT. Instead of running
// --instances fixed instances, it runs the protocol as one replica of a
// replicated log (psync::Replica) behind the JSON-lines service
// (psync::Service), until SIGINT/SIGTERM or --time-limit (docs/service.md).
#include "node/node.h"

#include "node/json.h"
#include "psync/replica.hpp"

#include <csignal>
#include <cstdio>

namespace psync::node {

int run_service(const psync_protocol_desc& desc, const Options& o) {
  ReplicaOptions ro;
  ro.id = o.id;
  ro.cluster_file = o.cluster_path;
  ro.key_file = o.key_path;
  ro.transport = o.transport == TransportKind::Udp ? "udp" : "tcp";
  ro.round_timeout_us = o.timeout_us;
  ro.window = o.window;
  ro.inputs = o.input_texts;
  ro.consts = o.const_texts;
  ro.linger_us = o.linger_us;
  ro.drop = o.drop;
  ro.delay_us = o.delay_us;
  ro.seed = o.seed;
  ro.duplicate = o.duplicate;
  ro.data_dir = o.data_dir;

  boost::asio::io_context io(1);
  Replica replica(io, desc, ro);
  Service service(io, replica, o.serve);
  try {
    replica.start();
    service.start();
  } catch (const std::exception& e) {
    throw ConfigError(e.what());
  }
  if (!o.quiet)
    std::fprintf(stderr, "psync: %s id=%d n=%d serving a replicated log on %s (port %u), window %llu%s\n", desc.name,
                 o.id, replica.cluster_size(), o.serve.c_str(), unsigned(service.port()),
                 (unsigned long long)o.window, o.data_dir.empty() ? "" : ", durable");
  // Even with --quiet, as the keyless warning: restarting such a replica
  // into its running cluster can break agreement (docs/service.md).
  if (o.data_dir.empty() && replica.cluster_size() > 1)
    std::fprintf(stderr, "psync: warning: id=%d: the log lives in memory (no --data-dir): if this replica restarts, "
                         "it must not rejoin its cluster\n", o.id);
  int status = 0;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer limit(io);
  // Once everything is stopped, no work is left and io.run() returns.
  auto shut_down = [&](int code) {
    status = code;
    service.stop();
    replica.stop();
    signals.cancel();
    limit.cancel();
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (!o.quiet) std::fprintf(stderr, "psync: id=%d stopping on signal %d\n", o.id, sig);
    shut_down(128 + sig);
  });
  if (o.time_limit_us > 0) {
    limit.expires_after(std::chrono::microseconds(o.time_limit_us));
    limit.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) shut_down(0);
    });
  }
  io.run();
  if (!o.quiet)
    std::fprintf(stderr, "psync: id=%d served %llu log entries\n", o.id, (unsigned long long)replica.log_size());
  if (o.stats) {
    JsonObject stats;
    stats.add("id", o.id);
    for (auto& [name, v] : replica.counters()) stats.add(name, v);
    for (auto& [name, v] : service.counters()) stats.add(name, v);
    const std::string line = JsonObject().add_raw("stats", stats.str()).str() + "\n";
    std::fputs(line.c_str(), stderr);
  }
  return status;
}

}  // namespace psync::node
