// config.h: everything a node is told before it starts — the cluster file,
// the command line, inputs and consts — parsed and checked against the
// protocol descriptor. Every problem is a ConfigError with a one-line
// message naming it; the node prints it and exits with status 2.
#pragma once

#include "engine/engine.h"
#include "net/auth.h"

#include <psync/abi.h>

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace psync::node {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ClusterMember {
  int32_t id = 0;
  std::string host;  // as written: an IPv4/IPv6 literal or a name
  uint16_t port = 0;
  std::optional<net::Key> public_key;  // every member has one, or none does (keyless)
};

// How one input gets its value in each instance.
struct InputSpec {
  enum class Mode { Constant, Random, List } mode = Mode::Constant;
  std::vector<int64_t> values;  // Constant: one; List: per instance, cycled
  int64_t random_bound = 100;   // Random: [0, bound) for int inputs
  std::vector<std::string> bytes;  // a bytes<K> input: its values, as values are for the others
  int64_t capacity = 0;            // a bytes<K> input: K
};

enum class TransportKind { Udp, Tcp };

// Upper bounds of numeric options (docs/runtime.md, "Command line"): far
// above any sensible value, low enough that nothing overflows or allocates
// without bound. --instances and --window are bounded by
// cmdline::kMaxInstances.
inline constexpr int64_t kMaxRoundsOption = 1'000'000'000'000;  // --max-rounds, --after-decide, --linger-rounds
inline constexpr int64_t kMaxFutureBound = 1'000'000;           // --future-bound

struct Options {
  int32_t id = -1;
  std::string cluster_path;
  std::vector<ClusterMember> cluster;  // index = id
  std::vector<InputSpec> inputs;       // one per descriptor input
  std::vector<int64_t> consts;         // one per descriptor const
  TransportKind transport = TransportKind::Udp;
  int64_t timeout_us = 20'000;
  int64_t timeout_ceiling_us = 1'000'000;  // the adaptive timeout stays below this; 0 = off
  uint64_t instances = 1;
  uint64_t window = 1;
  bool stats = false;
  double drop = 0.0;       // fault injection: drop received messages
  int64_t delay_us = 0;    // fault injection: delay received messages by up to this
  double duplicate = 0.0;  // fault injection (UDP): take received datagrams twice
  bool lie = false;        // fault injection: this replica is Byzantine (lie.h)
  uint64_t seed = 1;
  int64_t after_decide = -1;  // -1: the protocol's `after_decide` const, else 2
  int64_t linger_rounds = -1; // -1: 4 phases (4 x the round declarations), at least 8
  int64_t linger_us = 500'000;   // lingering lasts at least this long too
  int64_t catch_up_grace_us = 500;  // a catch-up waits this long for round-r messages in flight
  int64_t start_wait_us = 1'000'000;  // wait this long at most for the handshake with every peer
  int64_t max_rounds = 10'000;
  int64_t time_limit_us = 0;  // 0 = none
  int32_t byzantine_f = 0;
  bool catch_up_sends = false;
  int64_t future_bound = 64;
  size_t max_datagram = 1400;
  bool no_gso = false;  // --no-gso: UDP datagrams one by one, no segmentation offload
  bool quiet = false;
  bool check_only = false;  // --check-config: parse, check, exit
  // --serve HOST:PORT: run as a replicated log behind the JSON-lines service
  // (docs/service.md); the first bytes input carries the proposals.
  std::string serve;
  // --input and --const as written (name, value), for the service's replica.
  std::vector<std::pair<std::string, std::string>> input_texts, const_texts;
  // Trust (docs/reliability.md).
  std::string key_path;                  // --key: this replica's secret key file
  std::optional<net::KeyPair> key_pair;  // read from it; set exactly when the cluster lists keys
  std::string data_dir;                  // --data-dir: durable state; empty = none
  int64_t stay_us = 1'000'000;           // --stay: after finishing, serve peers that are behind
  int64_t learn_delay_us = 200'000;      // a running instance asks peers for the decision after this long
  uint64_t retain_decisions = 1'000'000; // decided values kept (by instance id) to answer stragglers
};

// Parses argv against `desc` (inputs and consts are named by the protocol).
// Every numeric option is range-checked and every duration goes through
// util/cmdline.h, the parser psyncc uses too. Returns nullopt after printing
// --help; throws ConfigError on any mistake.
std::optional<Options> parse_command_line(const psync_protocol_desc& desc, int argc, char** argv);

// Reads and validates a cluster TOML file: [[process]] tables with id,
// address = "host:port" and optionally public_key = "<64 hex>" (on every
// process or on none), ids exactly 0..n-1, 1 <= n <= PSYNC_MAX_N.
std::vector<ClusterMember> load_cluster(const std::string& path);
std::vector<ClusterMember> parse_cluster(const std::string& toml_text, const std::string& source_name);
bool cluster_is_keyed(const std::vector<ClusterMember>& cluster);

// One value of `kind` as written on the command line ("3", "true", "{0+2}").
int64_t parse_value(const std::string& text, psync_kind kind, int32_t n, const std::string& what);

// One value of a descriptor field: as above, and an enum's variant by name
// (or number) through abi/values.h, the parser check and simulate share.
int64_t parse_value(const std::string& text, const psync_field& field, int32_t n, const std::string& what);

// `--input name=value`: value, `random`, `random:K`, or a list a,b,c.
InputSpec parse_input_spec(const std::string& text, psync_kind kind, int32_t n, const std::string& name);
InputSpec parse_input_spec(const std::string& text, const psync_field& field, int32_t n);

// `--input name=value` for a bytes<K> input: text or hex:..., `random`
// (1 to min(K, 8) random letters), or a list a,b,c; a value longer than K
// is refused.
InputSpec parse_bytes_input_spec(const std::string& text, int64_t capacity, const std::string& name);

// The input words of instance `instance` at process `me`. A bytes input's
// word points into `buffers` (abi.h, init), which must outlive the call of
// init; without `buffers` a protocol with bytes inputs is refused.
std::vector<int64_t> inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n,
                                         uint64_t instance,
                                         std::vector<std::vector<int64_t>>* buffers = nullptr);
// The same into `out` (desc.num_inputs words), without allocating unless
// the protocol has bytes inputs.
void fill_inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n, uint64_t instance,
                              std::span<int64_t> out, std::vector<std::vector<int64_t>>* buffers = nullptr);
// The part of every random input's seed that depends only on --seed and the
// process id. The node computes it once and passes it to the overload
// below, which then mixes only the instance and the input's index (two of
// the three mixing steps per instance were this constant).
uint64_t random_input_key(const Options& o);
void fill_inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n, uint64_t instance,
                              std::span<int64_t> out, std::vector<std::vector<int64_t>>* buffers, uint64_t key);

}  // namespace psync::node
