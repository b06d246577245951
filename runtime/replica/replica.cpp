// replica.cpp: psync::Replica (psync/replica.hpp), a replicated log over a
// compiled consensus protocol. The instance table, timer heap, catch-up
// settling and fault injection follow the node's (node/node.cpp); what is
// new is where inputs come from (batches of pending proposals, or a no-op)
// and where decisions go (a log applied in instance order, deduplicated by
// request id). docs/service.md, "The log", states the rules.
#include "psync/replica.hpp"

#include "abi/validate.h"
#include "abi/typed_values.h"
#include "engine/engine.h"
#include "net/auth.h"
#include "net/transport.h"
#include "node/config.h"
#include "node/learning.h"
#include "replica/batch.h"
#include "store/log.h"
#include "util/bits.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace psync {

namespace asio = boost::asio;
using engine::kNoDeadline;

#define PSYNC_REPLICA_COUNTERS(X)                                                      \
  X(proposals_accepted)           /* propose() queued a request */                      \
  X(proposals_refused)            /* too large, overloaded, stopped */                  \
  X(proposals_repeated)           /* an id already pending or decided */                \
  X(proposals_reproposed)         /* lost their instance to another value */            \
  X(log_entries)                  /* requests applied to the log */                     \
  X(duplicate_entries_skipped)    /* a decided id decided again: not applied */         \
  X(noop_instances)               /* instances that decided an empty batch */           \
  X(malformed_batches)            /* decided values that do not decode */               \
  X(instances_started)                                                                  \
  X(instances_started_by_peers)                                                         \
  X(instances_finished)                                                                 \
  X(instances_decided)                                                                  \
  X(instances_undecided)          /* finished without a decision: the log stalls */     \
  X(instance_too_far_dropped)     /* a message for an instance far past the log */      \
  X(finished_instance_messages_dropped)                                                 \
  X(decided_notices_sent)                                                               \
  X(decided_notices_received)                                                           \
  X(answers_sent)                 /* a decided value sent to a peer still running it */ \
  X(answers_received)                                                                   \
  X(decisions_learned)            /* decided values adopted from a peer's answer */     \
  X(malformed_answers)            /* an answer longer than the protocol's output */     \
  X(decisions_recovered)          /* decided batches read back from data_dir */         \
  X(instances_resumed)            /* undecided instances resumed from data_dir */       \
  X(injected_drops)                                                                     \
  X(injected_delays)

struct ReplicaCounters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_REPLICA_COUNTERS(PSYNC_X)
#undef PSYNC_X
};

namespace {

// Instances are accepted this far past the first one not yet applied: a peer
// cannot be further ahead than its window, and a garbage id must not grow
// the status table without bound.
constexpr uint64_t kMaxAhead = 1 << 16;
// Decided values kept to answer peers that are behind: the most recent this
// many instances (node::DecidedValues drops older ones in chunks).
constexpr uint64_t kAnswersRetained = 2 * node::DecidedValues::kChunk;
// The data dir's log is rewritten as a snapshot once it grows past this.
constexpr uint64_t kCompactLogBytes = uint64_t(64) << 20;

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

asio::ip::address resolve_host(asio::io_context& io, const node::ClusterMember& m) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(m.host, ec);
  if (!ec) return addr;
  asio::ip::udp::resolver resolver(io);
  auto results = resolver.resolve(m.host, std::to_string(m.port), ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve host '" + m.host + "' of replica " + std::to_string(m.id));
  for (const auto& r : results)
    if (r.endpoint().address().is_v4()) return r.endpoint().address();
  return results.begin()->endpoint().address();
}

std::vector<node::ClusterMember> cluster_of(const ReplicaOptions& o) {
  if (o.cluster.empty()) return node::load_cluster(o.cluster_file);
  std::string toml;
  for (size_t i = 0; i < o.cluster.size(); ++i)
    toml += "[[process]]\nid = " + std::to_string(i) + "\naddress = \"" + o.cluster[i] + "\"\n";
  return node::parse_cluster(toml, "the replica's cluster");
}

}  // namespace

struct Replica::Impl final : engine::Host {
  Impl(asio::io_context& io, const psync_protocol_desc& desc, ReplicaOptions o)
      : io_(io), desc_(desc), options_(std::move(o)), wake_(io), alive_(std::make_shared<bool>(true)),
        answers_(kAnswersRetained) {
    std::random_device rd;
    nonce_ = (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    fault_rng_ = options_.seed * 0x2545F4914F6CDD1Dull ^ uint64_t(options_.id);
    try {
      configure();
    } catch (const node::ConfigError& e) {
      throw std::runtime_error(e.what());
    }
  }

  ~Impl() override {
    *alive_ = false;
    if (transport_) transport_->stop();
  }

  // ------------------------------------------------------------ set-up

  void configure() {
    if (std::string e = validate_descriptor_shape(desc_); !e.empty()) throw std::runtime_error(e);
    for (uint32_t i = 0; i < desc_.num_inputs; ++i)
      if (desc_.inputs[i].kind == PSYNC_KIND_BYTES) {
        proposal_input_ = int(i);
        break;
      }
    if (proposal_input_ < 0 || desc_.output.kind != PSYNC_KIND_BYTES)
      throw std::runtime_error(std::string("protocol ") + desc_.name +
                               " cannot back a replicated log: it needs a bytes<K> input for proposals and a "
                               "bytes<K> output (docs/service.md)");
    capacity_ = desc_.input_types[proposal_input_]->count;
    output_capacity_ = desc_.output_type->count;
    cluster_ = cluster_of(options_);
    n_ = int32_t(cluster_.size());
    if (options_.id < 0 || options_.id >= n_)
      throw std::runtime_error("replica id " + std::to_string(options_.id) + " is not in the cluster (ids 0.." +
                               std::to_string(n_ - 1) + ")");
    // Keys, as a node's --key (docs/reliability.md): a cluster that lists
    // public keys authenticates every packet, with this replica's secret key.
    if (node::cluster_is_keyed(cluster_)) {
      if (options_.key_file.empty())
        throw std::runtime_error("the cluster lists public keys: give this replica's secret key file (key_file)");
      key_pair_ = net::read_secret_key_file(options_.key_file);
      if (key_pair_->public_key != *cluster_[size_t(options_.id)].public_key)
        throw std::runtime_error("key file " + options_.key_file +
                                 ": its public key is not the one the cluster lists for replica " +
                                 std::to_string(options_.id));
    } else if (!options_.key_file.empty()) {
      throw std::runtime_error("key file " + options_.key_file + " given, but the cluster lists no public keys");
    }
    if (std::string e = validate_descriptor(desc_, n_); !e.empty()) throw std::runtime_error(e);
    if (options_.transport != "udp" && options_.transport != "tcp")
      throw std::runtime_error("transport '" + options_.transport + "': expected udp or tcp");
    if (options_.window < 1) throw std::runtime_error("window must be at least 1");
    if (options_.round_timeout_us < 1) throw std::runtime_error("round timeout must be at least 1 us");
    if (options_.duplicate < 0 || options_.duplicate > 1) throw std::runtime_error("duplicate must be in 0..1");
    if (options_.duplicate > 0 && options_.transport != "udp")
      throw std::runtime_error("duplicate injects UDP datagram duplication; the transport is " + options_.transport);

    consts_.assign(desc_.num_consts, 0);
    if (desc_.num_consts > 0) desc_.const_defaults(n_, consts_.data());
    for (const auto& [name, value] : options_.consts) {
      uint32_t k = 0;
      while (k < desc_.num_consts && name != desc_.consts[k].name) ++k;
      if (k == desc_.num_consts) throw std::runtime_error("the protocol has no const named '" + name + "'");
      consts_[desc_.consts[k].offset] = node::parse_value(value, desc_.consts[k], n_, "const " + name);
    }
    // The other inputs: given like a node's --input, the same in every instance.
    node_options_.id = options_.id;
    node_options_.seed = options_.seed;
    node_options_.inputs.assign(desc_.num_inputs, node::InputSpec{});
    std::vector<bool> given(desc_.num_inputs, false);
    given[size_t(proposal_input_)] = true;
    node_options_.inputs[size_t(proposal_input_)].bytes = {""};
    for (const auto& [name, value] : options_.inputs) {
      uint32_t k = 0;
      while (k < desc_.num_inputs && name != desc_.inputs[k].name) ++k;
      if (k == desc_.num_inputs) throw std::runtime_error("the protocol has no input named '" + name + "'");
      if (int(k) == proposal_input_)
        throw std::runtime_error("input '" + name + "' carries the proposals; it cannot be set");
      given[k] = true;
      node_options_.inputs[k] = desc_.inputs[k].kind == PSYNC_KIND_BYTES
                                    ? node::parse_bytes_input_spec(value, desc_.input_types[k]->count, name)
                                    : node::parse_input_spec(value, desc_.inputs[k], n_);
    }
    for (uint32_t k = 0; k < desc_.num_inputs; ++k)
      if (!given[k]) throw std::runtime_error(std::string("input '") + desc_.inputs[k].name + "' needs a value");

    learner_ = node::Learner(n_, options_.id, 0);  // the crash model: one peer's word
    layout_ = engine::Layout::compute(desc_, n_);
    config_.n = n_;
    config_.me = options_.id;
    config_.default_timeout_us = options_.round_timeout_us;
    config_.max_rounds = 0;  // a log instance never gives up: the log would stall behind it
    config_.seed = options_.seed;
    config_.after_decide_rounds = 2;
    for (uint32_t i = 0; i < desc_.num_consts; ++i)
      if (std::string(desc_.consts[i].name) == "after_decide" && consts_[desc_.consts[i].offset] >= 0)
        config_.after_decide_rounds = consts_[desc_.consts[i].offset];
    if (options_.linger_us > 0) {
      config_.linger_rounds = std::max<int64_t>(8, 4 * int64_t(desc_.num_rounds));
      config_.linger_us = options_.linger_us;
    }
    config_.defer_catch_up = true;
    config_.catch_up_grace_us = 500;
    if (!options_.data_dir.empty()) {
      try {
        disk_ = store::Log::open(options_.data_dir, {desc_.fingerprint, n_, options_.id}, recovered_);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("data dir: ") + e.what());
      }
      config_.report_round_starts = true;
    }
  }

  void start() {
    if (started_) return;
    started_ = true;
    net_.n = n_;
    net_.me = options_.id;
    net_.fingerprint = desc_.fingerprint;
    net_.max_payload = uint32_t(layout_.max_msg_size);
    net_.duplicate = options_.duplicate;
    net_.fault_seed = options_.seed * 0x100000001b3ULL + uint64_t(options_.id);
    for (const node::ClusterMember& m : cluster_) net_.peers.push_back({m.id, m.host, m.port, resolve_host(io_, m)});
    // A new incarnation per start (the wall clock, as the node's without
    // --data-dir): peers then tell a restarted replica's packets from old ones.
    net_.incarnation = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
    if (disk_) {  // past every incarnation recorded, whatever the clock says
      net_.incarnation = std::max(net_.incarnation, recovered_.incarnation + 1);
      net_.durable = recovered_.incarnation != 0;
      disk_->append_incarnation(net_.incarnation);
      disk_->commit();
    }
    if (key_pair_) {
      std::vector<net::Key> keys;
      for (const node::ClusterMember& m : cluster_) keys.push_back(*m.public_key);
      net_.keys = net::SessionKeys::from_key_pairs(options_.id, *key_pair_, keys);
    }
    auto on_frame =
        net::each_frame([this](const net::WireHeader& h, std::span<const std::byte> p) { receive_frame(h, p); });
    transport_ = options_.transport == "udp" ? net::make_udp_transport(io_, net_, on_frame, net_counters_)
                                             : net::make_tcp_transport(io_, net_, on_frame, net_counters_);
    transport_->set_batch_end([this] {
      in_receive_batch_ = false;
      settle_pending();
      schedule_wake();
    });
    // The durability rule, as the node's: nothing leaves before what it
    // depends on (the round state it was sent from) is on disk.
    if (disk_) transport_->set_before_send([this] { commit_log(); });
    start_ = std::chrono::steady_clock::now();
    recover();
    transport_->start();
    post_fill();
  }

  // ------------------------------------------------------------ durability

  // data_dir: decided batches are applied again (in order, by apply_ready:
  // the callbacks rebuild the application's state), finished instances stay
  // finished, and undecided ones resume from their last round state, with
  // the votes they had sent. Instances the log never saw had no vote here.
  void recover() {
    if (!disk_) return;
    for (auto& [i, d] : recovered_.decisions) {
      ++counters_.decisions_recovered;
      answers_.set(i, d.value, d.round);
      if (i >= applied_) decided_.emplace(i, d.value);
      history_[i] = {d.round, d.learned, std::move(d.value)};
      set_status(i, DoneDecided);
      known_end_ = std::max(known_end_, i + 1);
    }
    for (const auto& [i, decided] : recovered_.finished) {
      if (status_of(i) == Pending) set_status(i, decided ? DoneDecided : Done);
      known_end_ = std::max(known_end_, i + 1);
    }
    for (auto& [i, r] : recovered_.rounds) {
      if (status_of(i) != Pending) continue;
      set_status(i, Active);
      ++counters_.instances_started;
      ++counters_.instances_resumed;
      known_end_ = std::max(known_end_, i + 1);
      std::vector<std::vector<int64_t>> buffers;
      const std::vector<int64_t> no_batch = bytes_input_buffer("");
      std::vector<int64_t> inputs = node::inputs_for_instance(desc_, node_options_, n_, i, &buffers);
      inputs[size_t(proposal_input_)] = int64_t(reinterpret_cast<uintptr_t>(no_batch.data()));
      Slot& slot = active_[i];
      slot.inst = std::make_unique<engine::Instance>(layout_, config_, consts_.data(), i, inputs, *this,
                                                     engine_counters_);
      slot.last = std::move(r);
      slot.inst->resume(slot.last.round, slot.last.state, slot.last.rng, slot.last.decided_round, now());
      after_event(i);
    }
    recovered_ = store::Recovered{};
  }

  void commit_log() {
    if (!disk_ || !disk_->has_pending()) return;
    disk_->commit();
    if (disk_->wants_compaction(kCompactLogBytes)) compact_log();
  }

  // The log as what is still needed: every decided batch (the application
  // is rebuilt from them), the instances that ended undecided, and the last
  // round state of each running instance.
  void compact_log() {
    store::Log::Snapshot snap;
    snap.incarnation = net_.incarnation;
    for (uint64_t i = base_; i < base_ + status_.size(); ++i)
      if (status_of(i) == Done) snap.finished.emplace_back(i, false);
    for (const auto& [i, d] : history_) snap.decisions.emplace_back(i, &d);
    for (const auto& [i, slot] : active_)
      if (!slot.last.state.empty()) snap.rounds.emplace_back(i, &slot.last);
    disk_->compact(snap);
  }

  void round_starting(uint64_t instance, int64_t round, std::span<const std::byte> state, uint64_t rng,
                      int64_t decided_round) override {
    if (!disk_) return;
    disk_->append_round(instance, round, rng, decided_round, state);
    if (auto it = active_.find(instance); it != active_.end()) {  // kept for a compaction
      store::RoundState& r = it->second.last;
      r.round = round;
      r.rng = rng;
      r.decided_round = decided_round;
      r.state.assign(state.begin(), state.end());
    }
  }

  // A decided batch, into the durable log before it is applied.
  void record_decision(uint64_t instance, int64_t round, const std::string& value, bool learned) {
    if (!disk_) return;
    disk_->append_decision(instance, round, value, learned);
    if (learned) disk_->append_finished(instance, true);
    history_[instance] = {round, learned, value};
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    *alive_ = false;
    wake_.cancel();
    commit_log();
    if (transport_) {
      transport_->flush();
      transport_->stop();
    }
  }

  // ------------------------------------------------------------ proposals

  ProposeResult propose(std::string id, std::string_view value) {
    if (stopped_) return refuse(ProposeResult::Stopped);
    if (ids_.count(id)) {
      ++counters_.proposals_repeated;
      return ProposeResult::AlreadyDecided;
    }
    if (pending_ids_.count(id)) {
      ++counters_.proposals_repeated;
      return ProposeResult::AlreadyPending;
    }
    if (replica::entry_size(id.size(), value.size()) > capacity_) return refuse(ProposeResult::TooLarge);
    if (pending_.size() >= options_.max_pending) return refuse(ProposeResult::Overloaded);
    pending_ids_.insert(id);
    pending_.push_back({std::move(id), std::string(value)});
    ++counters_.proposals_accepted;
    post_fill();
    return ProposeResult::Accepted;
  }

  ProposeResult refuse(ProposeResult r) {
    ++counters_.proposals_refused;
    return r;
  }

  std::string fresh_id() {
    char buf[64];
    std::snprintf(buf, sizeof buf, "r%d-%016llx-%llu", options_.id, (unsigned long long)nonce_,
                  (unsigned long long)next_request_++);
    return buf;
  }

  size_t max_value_size(size_t id_bytes) const {
    for (size_t v = capacity_; v > 0; --v)
      if (replica::entry_size(id_bytes, v) <= capacity_) return v;
    return 0;
  }

  // ------------------------------------------------------------ engine::Host

  void send_message(uint64_t instance, int64_t round, int32_t to, std::span<const std::byte> payload,
                    bool decided) override {
    net::WireHeader h;
    h.decided = decided;
    h.instance = instance;
    h.round = round;
    h.sender = options_.id;
    transport_->send(to, h, payload);
  }

  void announce_decided(uint64_t instance, int64_t /*round: Decided frames carry none*/, uint64_t to) override {
    to &= ~(uint64_t{1} << options_.id);
    transport_->send_notices(to, instance);
    counters_.decided_notices_sent += uint64_t(util::popcount64(to));
  }

  void report_decision(uint64_t instance, int64_t round, const void* state) override {
    ++counters_.instances_decided;
    const char* out = static_cast<const char*>(state) + desc_.output.offset;
    int64_t len;
    std::memcpy(&len, out, 8);
    len = std::clamp<int64_t>(len, 0, int64_t(output_capacity_));
    std::string value(out + 8, size_t(len));
    record_decision(instance, round, value, false);
    take_decision(instance, round, std::move(value));
  }

  // A decided value, through the protocol or learned: kept to answer peers
  // that are behind, my batch's displaced requests queued again, and the
  // value applied once every instance below it is.
  void take_decision(uint64_t instance, int64_t round, std::string value) {
    answers_.set(instance, value, round);
    learner_.forget(instance);
    // My batch for this instance: whatever of it another value displaced
    // goes back to the front of the queue, to be proposed again.
    auto mine = in_flight_.find(instance);
    if (mine != in_flight_.end()) {
      std::vector<replica::Entry> decided_entries;
      replica::decode_batch(value, decided_entries);
      std::unordered_set<std::string> in_value;
      for (auto& e : decided_entries) in_value.insert(e.id);
      for (auto it = mine->second.rbegin(); it != mine->second.rend(); ++it)
        if (!in_value.count(it->id)) {
          pending_.push_front(std::move(*it));
          ++counters_.proposals_reproposed;
        }
      in_flight_.erase(mine);
    }
    decided_.emplace(instance, std::move(value));
    post_fill();  // applies what is now in order, and starts more instances
  }

  void report_conflict(uint64_t instance, int64_t round, const void*) override {
    std::fprintf(stderr, "psync replica %d: instance %llu decided a second, different value in round %lld\n",
                 options_.id, (unsigned long long)instance, (long long)round);
  }

  // ------------------------------------------------------------ the log

  // Applies decided instances in order: each new request id becomes the next
  // log entry; an id already in the log is skipped (it was proposed twice).
  void apply_ready() {
    // A decision is on disk before the application acts on it (a reply to a
    // client, say).
    if (decided_.count(applied_)) commit_log();
    for (auto it = decided_.find(applied_); it != decided_.end(); it = decided_.find(applied_)) {
      std::vector<replica::Entry> entries;
      if (!replica::decode_batch(it->second, entries)) ++counters_.malformed_batches;
      if (entries.empty()) ++counters_.noop_instances;
      for (replica::Entry& e : entries) {
        pending_ids_.erase(e.id);
        if (ids_.count(e.id)) {
          ++counters_.duplicate_entries_skipped;
          continue;
        }
        Decision d{applied_, log_.size(), std::move(e.id), std::move(e.value)};
        ids_.emplace(d.id, d.seq);
        log_.push_back(std::move(d));
        ++counters_.log_entries;
        for (auto& listener : listeners_) listener(log_.back());
      }
      decided_.erase(it);
      ++applied_;
    }
    // Statuses below the first unapplied instance are all "done, decided".
    while (base_ < applied_ && !status_.empty() && (status_.front() == Done || status_.front() == DoneDecided)) {
      status_.pop_front();
      ++base_;
    }
  }

  // ------------------------------------------------------------ instances

  enum Status : uint8_t { Pending, Active, Done, DoneDecided };
  struct Slot {
    std::unique_ptr<engine::Instance> inst;
    int64_t armed = kNoDeadline;
    bool released = false;
    store::RoundState last;  // with data_dir: the last round state logged, for a compaction
  };

  Status status_of(uint64_t id) const {
    if (id < base_) return DoneDecided;
    const uint64_t k = id - base_;
    return k < status_.size() ? Status(status_[k]) : Pending;
  }
  void set_status(uint64_t id, Status s) {
    const uint64_t k = id - base_;
    if (k >= status_.size()) status_.resize(k + 1, Pending);
    status_[k] = s;
  }

  // The next batch: pending requests in order while they fit (ones decided
  // meanwhile through another replica are dropped). Instance `id` belongs
  // to replica id mod n, which alone proposes a batch there; the others
  // propose the no-op. Without that, a protocol whose choice favours one
  // replica (LastVoting's first coordinator) decides that replica's batch
  // in every instance and starves the others' clients (docs/service.md).
  std::string take_batch(uint64_t id, std::vector<replica::Entry>& taken) {
    std::string batch;
    if (id % uint64_t(n_) != uint64_t(options_.id)) return batch;
    while (!pending_.empty()) {
      replica::Entry& e = pending_.front();
      if (ids_.count(e.id)) {
        pending_.pop_front();
        continue;
      }
      if (batch.size() + replica::entry_size(e.id.size(), e.value.size()) > capacity_) break;
      replica::append_entry(batch, e.id, e.value);
      taken.push_back(std::move(e));
      pending_.pop_front();
    }
    return batch;
  }

  void start_instance(uint64_t id, bool by_peer) {
    set_status(id, Active);
    ++counters_.instances_started;
    if (by_peer) ++counters_.instances_started_by_peers;
    known_end_ = std::max(known_end_, id + 1);
    std::vector<replica::Entry> taken;
    const std::vector<int64_t> proposal = bytes_input_buffer(take_batch(id, taken));
    if (!taken.empty()) in_flight_[id] = std::move(taken);
    std::vector<std::vector<int64_t>> buffers;  // other bytes inputs: read by init, in start() below
    std::vector<int64_t> inputs = node::inputs_for_instance(desc_, node_options_, n_, id, &buffers);
    inputs[size_t(proposal_input_)] = int64_t(reinterpret_cast<uintptr_t>(proposal.data()));
    Slot& slot = active_[id];
    slot.inst = std::make_unique<engine::Instance>(layout_, config_, consts_.data(), id, inputs, *this,
                                                   engine_counters_);
    slot.inst->start(now());
    after_event(id);
  }

  void after_event(uint64_t id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    Slot& slot = it->second;
    if (slot.inst->finished()) {
      if (slot.released) --released_;
      const bool decided = slot.inst->decided();
      if (disk_) disk_->append_finished(id, decided);
      set_status(id, decided ? DoneDecided : Done);
      if (!decided) ++counters_.instances_undecided;
      active_.erase(it);
      ++counters_.instances_finished;
      post_fill();
      return;
    }
    if (!slot.released && slot.inst->lingering()) {
      slot.released = true;
      ++released_;
      post_fill();
    }
    if (slot.inst->catch_up_pending()) {
      to_settle_.push_back(id);
      if (!settle_posted_ && !in_receive_batch_) {
        settle_posted_ = true;
        asio::post(io_, [this, alive = alive_] {
          if (!*alive) return;
          settle_posted_ = false;
          settle_pending();
        });
      }
    }
    const int64_t d = slot.inst->deadline_us();
    if (d < slot.armed) {
      slot.armed = d;
      timers_.emplace(d, id);
    }
  }

  void settle_pending() {
    if (to_settle_.empty()) return;
    std::vector<uint64_t> ids;
    ids.swap(to_settle_);
    const int64_t t = now();
    for (uint64_t id : ids) {
      auto it = active_.find(id);
      if (it == active_.end()) continue;
      it->second.inst->settle(t);
      after_event(id);
    }
    schedule_wake();
  }

  // Applies the log and starts instances, once per event-loop turn: engine
  // callbacks must not start instances while an instance is running.
  void post_fill() {
    if (fill_posted_ || stopped_) return;
    fill_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      fill_posted_ = false;
      apply_ready();
      fill_window();
    });
  }

  // Starts the next instances while the window has room and there is
  // something to propose or a gap below an instance a peer has started.
  void fill_window() {
    if (!started_ || stopped_) return;
    while (active_.size() - released_ < options_.window) {
      while (status_of(next_) != Pending) ++next_;
      if (pending_.empty() && next_ >= known_end_) break;
      if (next_ >= applied_ + kMaxAhead) break;
      start_instance(next_++, false);
    }
    schedule_wake();
  }

  // ------------------------------------------------------------ the network

  void send_notice(uint64_t instance, int32_t to) {
    transport_->send_notice(to, instance);
    ++counters_.decided_notices_sent;
  }

  // Learning (docs/service.md, "Stragglers"): a replica that is behind
  // learns a decided value from a peer that has finished the instance, by
  // the node's rule (node/learning.h: one peer's word in the crash model).
  void send_answer(int32_t to, uint64_t instance) {
    const auto v = answers_.get(instance);
    if (v && transport_->send_answer(to, instance, v->round, v->value)) ++counters_.answers_sent;
  }

  void take_answer(const net::WireHeader& h, std::span<const std::byte> payload) {
    ++counters_.answers_received;
    if (payload.size() > output_capacity_) {
      ++counters_.malformed_answers;
      return;
    }
    auto it = active_.find(h.instance);
    if (it != active_.end() ? it->second.inst->decided() : status_of(h.instance) == DoneDecided) return;
    if (decided_.count(h.instance)) return;
    const std::string_view value(reinterpret_cast<const char*>(payload.data()), payload.size());
    auto adopted = learner_.answer(h.instance, h.sender, value);
    if (!adopted) return;
    ++counters_.decisions_learned;
    ++counters_.instances_decided;
    if (it != active_.end()) {
      if (it->second.released) --released_;
      active_.erase(it);  // its timer entries and pending settles find nothing now
      ++counters_.instances_finished;
    }
    known_end_ = std::max(known_end_, h.instance + 1);
    set_status(h.instance, DoneDecided);
    record_decision(h.instance, h.round, *adopted, true);
    take_decision(h.instance, h.round, std::move(*adopted));
  }

  struct Delayed {
    int64_t at;
    uint64_t seq;
    net::WireHeader header;
    std::vector<std::byte> payload;
    bool operator>(const Delayed& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  double uniform() { return double(splitmix(fault_rng_) >> 11) * 0x1.0p-53; }

  void receive_frame(const net::WireHeader& h, std::span<const std::byte> payload) {
    if (stopped_) return;
    in_receive_batch_ = true;
    if (options_.drop > 0 && uniform() < options_.drop) {
      ++counters_.injected_drops;
      return;
    }
    if (options_.delay_us > 0) {
      ++counters_.injected_delays;
      const int64_t at = now() + int64_t(splitmix(fault_rng_) % uint64_t(options_.delay_us + 1));
      delayed_.push({at, delayed_seq_++, h, {payload.begin(), payload.end()}});
      schedule_wake();
      return;
    }
    dispatch(h, payload);
  }

  void dispatch(const net::WireHeader& h, std::span<const std::byte> payload) {
    // The decided notices of one flush (wire.h), one at a time.
    if (net::expand_decided_frame(h, payload, [&](const net::WireHeader& one) { dispatch(one, {}); })) return;
    if (h.instance >= applied_ + kMaxAhead) {
      ++counters_.instance_too_far_dropped;
      return;
    }
    if (h.kind == net::FrameKind::Query) {
      send_answer(h.sender, h.instance);
      return;
    }
    if (h.kind == net::FrameKind::Answer) {
      take_answer(h, payload);
      return;
    }
    const bool notice = h.kind == net::FrameKind::Notice;
    if (notice) ++counters_.decided_notices_received;
    const Status st = active_.count(h.instance) ? Active : status_of(h.instance);
    if (st == Done || st == DoneDecided) {
      if (st == DoneDecided && !notice) {
        // The sender still runs an instance that is over here. Decided too:
        // tell it again that we have (the frames carrying our bit may have
        // been lost), as the node does. Not decided: it is behind, and the
        // rounds it waits for will never come; tell it the decision.
        if (h.decided) send_notice(h.instance, h.sender);
        else send_answer(h.sender, h.instance);
      }
      if (!notice) ++counters_.finished_instance_messages_dropped;
      return;
    }
    if (st == Pending) start_instance(h.instance, true);
    auto it = active_.find(h.instance);
    if (it == active_.end()) return;
    engine::Instance& inst = *it->second.inst;
    if (h.decided) inst.peer_decided(h.sender);
    if (!notice && !inst.finished()) inst.receive(h.sender, h.round, payload, now());
    after_event(h.instance);
  }

  void prune_timers() {
    while (!timers_.empty()) {
      const auto [t, id] = timers_.top();
      auto it = active_.find(id);
      if (it == active_.end() || it->second.armed != t) {
        timers_.pop();
        continue;
      }
      const int64_t d = it->second.inst->deadline_us();
      if (d <= t) break;
      timers_.pop();
      it->second.armed = d;
      if (d != kNoDeadline) timers_.emplace(d, id);
    }
  }

  void schedule_wake() {
    if (stopped_) return;
    prune_timers();
    int64_t earliest = kNoDeadline;
    if (!timers_.empty()) earliest = timers_.top().first;
    if (!delayed_.empty()) earliest = std::min(earliest, delayed_.top().at);
    if (earliest == kNoDeadline || earliest >= wake_at_) return;
    wake_at_ = earliest;
    wake_.expires_at(start_ + std::chrono::microseconds(earliest));
    wake_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted || !*alive) return;
      wake_at_ = kNoDeadline;
      fire_due();
    });
  }

  void fire_due() {
    const int64_t t = now();
    while (!delayed_.empty() && delayed_.top().at <= t) {
      Delayed d = std::move(const_cast<Delayed&>(delayed_.top()));
      delayed_.pop();
      dispatch(d.header, d.payload);
    }
    while (!timers_.empty() && timers_.top().first <= t) {
      const auto [at, id] = timers_.top();
      timers_.pop();
      auto it = active_.find(id);
      if (it == active_.end() || it->second.armed != at) continue;
      Slot& slot = it->second;
      slot.armed = kNoDeadline;
      if (slot.inst->deadline_us() <= t) slot.inst->on_timer(t);
      after_event(id);
    }
    schedule_wake();
  }

  int64_t now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
  }

  std::vector<std::pair<std::string, uint64_t>> counter_list() const {
    std::vector<std::pair<std::string, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, counters_.name);
    PSYNC_REPLICA_COUNTERS(PSYNC_X)
#undef PSYNC_X
    out.emplace_back("pending_proposals", pending_.size());
    out.emplace_back("log_instances_applied", applied_);
    for (auto& [name, v] : engine::counter_list(engine_counters_)) out.emplace_back(name, v);
    for (auto& [name, v] : net::counter_list(net_counters_)) out.emplace_back(name, v);
    if (disk_)
      for (auto& [name, v] : store::counter_list(disk_->counters())) out.emplace_back(name, v);
    return out;
  }

  asio::io_context& io_;
  const psync_protocol_desc& desc_;
  ReplicaOptions options_;
  node::Options node_options_;  // inputs other than the proposal, as a node holds them
  std::vector<node::ClusterMember> cluster_;
  int32_t n_ = 0;
  int proposal_input_ = -1;
  uint32_t capacity_ = 0;         // K of the proposal input
  uint32_t output_capacity_ = 0;  // K of the output
  std::vector<int64_t> consts_;
  engine::Layout layout_;
  engine::Config config_;
  net::NetConfig net_;
  std::unique_ptr<net::Transport> transport_;
  std::optional<net::KeyPair> key_pair_;
  asio::steady_timer wake_;
  std::shared_ptr<bool> alive_;  // false once stopped: queued handlers do nothing
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int64_t wake_at_ = kNoDeadline;
  bool started_ = false;
  bool stopped_ = false;

  // Instances.
  std::unordered_map<uint64_t, Slot> active_;
  std::deque<uint8_t> status_;  // of ids base_, base_ + 1, ...
  uint64_t base_ = 0;           // ids below are finished and applied
  uint64_t next_ = 0;           // next id to start locally
  uint64_t known_end_ = 0;      // ids below were started somewhere
  size_t released_ = 0;
  std::priority_queue<std::pair<int64_t, uint64_t>, std::vector<std::pair<int64_t, uint64_t>>, std::greater<>> timers_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
  uint64_t delayed_seq_ = 0;
  uint64_t fault_rng_ = 0;
  std::vector<uint64_t> to_settle_;
  bool settle_posted_ = false;
  bool fill_posted_ = false;
  bool in_receive_batch_ = false;

  // Proposals and the log.
  std::deque<replica::Entry> pending_;
  std::unordered_set<std::string> pending_ids_;               // pending or in an instance
  std::map<uint64_t, std::vector<replica::Entry>> in_flight_;  // my batch per running instance
  std::map<uint64_t, std::string> decided_;                    // decided, not yet applied
  uint64_t applied_ = 0;                                        // first instance not applied
  std::vector<Decision> log_;
  std::unordered_map<std::string, uint64_t> ids_;               // request id -> seq
  std::vector<std::function<void(const Decision&)>> listeners_;
  uint64_t nonce_ = 0;
  uint64_t next_request_ = 0;
  // data_dir (durability above).
  std::unique_ptr<store::Log> disk_;  // data_dir
  store::Recovered recovered_;
  std::map<uint64_t, store::Decision> history_;  // every decided batch, for a compaction
  node::DecidedValues answers_;  // recent decided values, to answer stragglers
  node::Learner learner_{1, 0, 0};

  engine::Counters engine_counters_;
  net::NetCounters net_counters_;
  ReplicaCounters counters_;
};

Replica::Replica(asio::io_context& io, const psync_protocol_desc& protocol, ReplicaOptions options)
    : impl_(std::make_unique<Impl>(io, protocol, std::move(options))) {}
Replica::~Replica() = default;

void Replica::start() {
  try {
    impl_->start();
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  }
}

std::string Replica::propose(std::string_view value) {
  std::string id = impl_->fresh_id();
  switch (impl_->propose(id, value)) {
    case ProposeResult::Accepted: return id;
    case ProposeResult::TooLarge:
      throw std::invalid_argument("value of " + std::to_string(value.size()) + " bytes; at most " +
                                  std::to_string(impl_->max_value_size(id.size())) + " fit");
    case ProposeResult::Overloaded: throw std::invalid_argument("too many pending proposals");
    case ProposeResult::Stopped: throw std::invalid_argument("the replica is stopped");
    default: throw std::invalid_argument("request id in use");
  }
}

ProposeResult Replica::propose(std::string id, std::string_view value) { return impl_->propose(std::move(id), value); }
void Replica::on_decision(std::function<void(const Decision&)> callback) { impl_->listeners_.push_back(std::move(callback)); }
uint64_t Replica::log_size() const { return impl_->log_.size(); }
const Decision& Replica::log_entry(uint64_t seq) const { return impl_->log_.at(seq); }
const Decision* Replica::find(std::string_view id) const {
  auto it = impl_->ids_.find(std::string(id));
  return it == impl_->ids_.end() ? nullptr : &impl_->log_[it->second];
}
size_t Replica::max_value_size(size_t id_bytes) const { return impl_->max_value_size(id_bytes); }
std::vector<std::pair<std::string, uint64_t>> Replica::counters() const { return impl_->counter_list(); }
int32_t Replica::id() const { return impl_->options_.id; }
int32_t Replica::cluster_size() const { return impl_->n_; }
void Replica::stop() { impl_->stop(); }

}  // namespace psync
