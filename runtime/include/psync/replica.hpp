// replica.hpp: one replica of a replicated log, run by a compiled psync
// protocol inside the application's own boost::asio::io_context
// (docs/service.md, "The C++ API"). Consensus instances 0, 1, 2, ... of the
// protocol decide the log's entries: pending proposals become the input of
// the next instances (a no-op where a replica has none), a proposal that
// loses its instance is proposed again, decisions are applied in instance
// order, and a request id is decided at most once.
//
// Asio stays out of this header (the implementation is behind a pointer):
// include <boost/asio/io_context.hpp> where you create the io_context.
#pragma once

#include <psync/abi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace psync {

struct ReplicaOptions {
  int32_t id = 0;                    // this replica, 0 .. n-1
  std::vector<std::string> cluster;  // "host:port" of every replica, by id ("[::1]:7000" for IPv6)
  std::string cluster_file;          // or a cluster TOML file (docs/runtime.md), read when `cluster` is empty
  std::string key_file;              // this replica's secret key file (psyncc keygen): required exactly
                                     // when the cluster file lists public keys (docs/reliability.md)
  std::string transport = "udp";     // "udp" or "tcp"
  int64_t round_timeout_us = 20'000; // rounds without their own `timeout`
  uint64_t window = 32;              // instances this replica runs at once (its own and its peers')
  // Values of the protocol's inputs other than the proposal, and const
  // overrides, as on a node's command line: {"f", "1"}.
  std::vector<std::pair<std::string, std::string>> inputs;
  std::vector<std::pair<std::string, std::string>> consts;
  int64_t linger_us = 500'000;       // after deciding, wait this long at most for peers (docs/runtime.md)
  uint64_t max_pending = 100'000;    // proposals waiting for an instance; more are refused (Overloaded)
  // A directory for the replica's durable log (docs/service.md,
  // "Durability"): votes, decided batches and instance ends, written before
  // anything that depends on them leaves. A replica restarted on it gets
  // its log back (the decision callbacks see every entry again, in order)
  // and may rejoin its cluster. Empty: the log lives in memory only.
  std::string data_dir;
  // Fault injection, as the node's --drop, --delay, --duplicate and --seed.
  double drop = 0.0;
  double duplicate = 0.0;            // UDP only: a received datagram is taken a second time
  int64_t delay_us = 0;
  uint64_t seed = 1;
};

// One entry of the log.
struct Decision {
  uint64_t instance = 0;  // the consensus instance that decided it
  uint64_t seq = 0;       // its position in the log: 0, 1, 2, ... without gaps
  std::string id;         // the request id
  std::string value;      // the proposed bytes
};

enum class ProposeResult {
  Accepted,        // queued; the decision callback reports it once decided
  AlreadyPending,  // a proposal with this id is waiting or in an instance
  AlreadyDecided,  // this id is in the log already (find() has it)
  TooLarge,        // id and value do not fit the protocol's bytes<K> input
  Overloaded,      // max_pending proposals are waiting
  Stopped,         // stop() was called
};

class Replica {
 public:
  // Checks that `protocol` can back a log (a bytes<K> input for proposals
  // and a bytes<K> output) and reads the cluster; throws std::runtime_error
  // with one line on a problem. `protocol` and `io` must outlive the replica.
  Replica(boost::asio::io_context& io, const psync_protocol_desc& protocol, ReplicaOptions options);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Binds the socket and joins the cluster; throws std::runtime_error when
  // the address cannot be bound. Returns at once: the work runs in io.run().
  void start();
  // Proposes `value` under a request id this replica makes up (unique across
  // replicas and restarts); returns it. Throws std::invalid_argument when
  // the value is too large or the replica is stopped or overloaded.
  std::string propose(std::string_view value);
  // Proposes `value` under the caller's request id.
  ProposeResult propose(std::string id, std::string_view value);
  // Adds a callback, called for every entry of the log, in log order, each
  // once (callbacks in the order they were added; a Service adds its own).
  void on_decision(std::function<void(const Decision&)> callback);
  // The log so far (entries 0 .. log_size()-1) and lookups by id.
  uint64_t log_size() const;
  const Decision& log_entry(uint64_t seq) const;
  const Decision* find(std::string_view id) const;
  // The largest value propose() accepts with an id of `id_bytes` bytes.
  size_t max_value_size(size_t id_bytes) const;
  // Counters named after what they count (engine, transport and log).
  std::vector<std::pair<std::string, uint64_t>> counters() const;
  int32_t id() const;
  int32_t cluster_size() const;
  // Stops taking part: cancels timers, closes sockets, refuses proposals.
  // io.run() returns once the application's own work is done too. The
  // replica must not be destroyed while io.run() may still call it: destroy
  // it after run() returns, or after stop() from inside a handler.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The JSON-lines service of docs/service.md on top of a Replica, listening on
// `host:port` in the replica's io_context: the same as a node's --serve.
class Service {
 public:
  Service(boost::asio::io_context& io, Replica& replica, const std::string& host_port);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  // Binds and accepts clients; throws std::runtime_error when it cannot bind.
  void start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  std::vector<std::pair<std::string, uint64_t>> counters() const;
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace psync
