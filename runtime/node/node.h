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
  X(lies_sent)                      /* --lie: messages replaced by a random value */ \
  X(lies_withheld)                  /* --lie: messages not sent at all */ \
  X(unknown_instance_dropped)       /* instance id beyond --instances */       \
  X(beyond_window_dropped)          /* a peer's message would start an instance too far ahead */ \
  X(fenced_messages_dropped)        /* a restarted peer's message for an instance it may have voted in before */ \
  X(learning_messages_dropped)      /* for an instance this replica may only learn (below its rejoin point, or before round 0 beyond the hold bound) */ \
  X(early_frames_held)              /* arrived before round 0 could begin; dispatched once it does */ \
  X(instances_learned_at_start)     /* a peer had decided them before round 0 began: learned, not run */ \
  X(decisions_learned)              /* decided values adopted from peers */    \
  X(decisions_recovered)            /* decided values read back from --data-dir */ \
  X(instances_resumed)              /* undecided instances resumed from --data-dir */ \
  X(queries_sent)                   /* asking a peer for a decided value */    \
  X(answers_sent)                                                              \
  X(answers_received)                                                          \
  X(peers_fenced)                   /* restarts of peers without a data dir, fenced out of earlier instances */ \
  X(late_fences)                    /* a fence arrived after this replica voted above it (docs/reliability.md) */ \
  X(finished_instance_messages_dropped) /* for an instance already retired */  \
  X(instances_started)                                                         \
  X(instances_started_by_peers)     /* a peer's message started it */          \
  X(instances_finished)                                                        \
  X(instances_decided)                                                         \
  X(decided_notices_sent)           /* notices: "this process has decided" */  \
  X(decided_notices_received)                                                  \
  X(start_wait_expired)             /* round 0 began before the handshake with every peer */ \
  X(silent_periods)                 /* times no peer was heard for 2 s (each warned of once) */

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
