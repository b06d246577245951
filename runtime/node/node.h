// node.h: one replica process. It owns the io_context, the transport and the
// table of running instances, routes frames to instances by instance id,
// keeps their round timers in one heap behind one Asio timer, and writes
// decisions to stdout as JSON lines.
#pragma once

#include "engine/engine.h"
#include "net/transport.h"
#include "node/config.h"

#include <psync/abi.h>

namespace psync::node {

#define PSYNC_NODE_COUNTERS(X)                                                  \
  X(injected_drops)                 /* --drop: received messages thrown away */ \
  X(injected_delays)                /* --delay: received messages held back */ \
  X(unknown_instance_dropped)       /* instance id beyond --instances */       \
  X(finished_instance_messages_dropped) /* for an instance already retired */  \
  X(instances_started)                                                         \
  X(instances_started_by_peers)     /* a peer's message started it */          \
  X(instances_finished)                                                        \
  X(instances_decided)                                                         \
  X(decided_notices_sent)           /* notices: "this process has decided" */  \
  X(decided_notices_received)                                                  \
  X(start_wait_expired)             /* TCP: round 0 began before every peer was connected */

struct NodeCounters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_NODE_COUNTERS(PSYNC_X)
#undef PSYNC_X
};

// Runs a node to completion: every instance finished, the time limit, or a
// signal. Returns the process exit status (0: every instance decided;
// 1: some did not; 130/143: interrupted). Throws ConfigError on setup errors.
int run_node(const psync_protocol_desc& desc, const Options& options);

// --serve: the replica behind the JSON-lines service (serve.cpp), until a
// signal or --time-limit. Returns the exit status.
int run_service(const psync_protocol_desc& desc, const Options& options);

// The node's main(): parses argv, runs, maps errors to exit status 2.
int node_main(const psync_protocol_desc& desc, int argc, char** argv);

}  // namespace psync::node
