// node.cpp: the replica process — configuration in, frames routed to
// instances by id, one timer heap for every instance's round deadline,
// decisions out as JSON lines, counters at exit.
#include "node/node.h"
#include "abi/validate.h"
#include "abi/typed_values.h"

#include "node/json.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unordered_map>

namespace psync::node {

namespace asio = boost::asio;
using engine::kNoDeadline;

namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

asio::ip::address resolve_host(asio::io_context& io, const ClusterMember& m) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(m.host, ec);
  if (!ec) return addr;
  asio::ip::udp::resolver resolver(io);
  auto results = resolver.resolve(m.host, std::to_string(m.port), ec);
  if (ec || results.empty())
    throw ConfigError("cannot resolve host '" + m.host + "' of process " + std::to_string(m.id) +
                      (ec ? ": " + ec.message() : ""));
  for (const auto& r : results)
    if (r.endpoint().address().is_v4()) return r.endpoint().address();
  return results.begin()->endpoint().address();
}

class Node final : public engine::Host {
 public:
  Node(const psync_protocol_desc& desc, const Options& o)
      : desc_(desc), options_(o), n_(int32_t(o.cluster.size())), layout_(engine::Layout::compute(desc, n_)),
        wake_(io_), flush_timer_(io_), limit_timer_(io_), start_timer_(io_), signals_(io_, SIGINT, SIGTERM),
        status_(o.instances, Pending), fault_rng_(o.seed * 0x2545F4914F6CDD1Dull ^ uint64_t(o.id)) {
    config_.n = n_;
    config_.me = o.id;
    config_.default_timeout_us = o.timeout_us;
    config_.default_future_bound = o.future_bound;
    config_.suppress_catch_up_sends = !o.catch_up_sends;
    config_.byzantine_f = o.byzantine_f;
    config_.after_decide_rounds = o.after_decide;
    config_.max_rounds = o.max_rounds;
    config_.seed = o.seed;
    if (o.linger_us > 0) {
      config_.linger_rounds = o.linger_rounds;
      config_.linger_us = o.linger_us;
    }
    config_.defer_catch_up = true;  // settled once per event-loop turn, see settle_pending()
    config_.catch_up_grace_us = o.catch_up_grace_us;  // when > 0, instead of the above

    net_.n = n_;
    net_.me = o.id;
    net_.fingerprint = desc.fingerprint;
    net_.max_payload = uint32_t(layout_.max_msg_size);
    net_.max_datagram = o.max_datagram;
    for (const ClusterMember& m : o.cluster) net_.peers.push_back({m.id, m.host, m.port, resolve_host(io_, m)});
    auto on_frame = [this](const net::WireHeader& h, std::span<const std::byte> p) { receive_frame(h, p); };
    transport_ = o.transport == TransportKind::Udp ? net::make_udp_transport(io_, net_, on_frame, net_counters_)
                                                    : net::make_tcp_transport(io_, net_, on_frame, net_counters_);
    transport_->set_on_connect([this] {
      if (!started_ && transport_->reachable_peers() >= n_ - 1) begin_rounds();
    });
    transport_->set_batch_end([this] {
      in_receive_batch_ = false;
      settle_pending();
      schedule_wake();
    });
    start_ = std::chrono::steady_clock::now();
  }

  int run() {
    transport_->start();
    if (!options_.quiet) {
      const ClusterMember& me = options_.cluster[size_t(options_.id)];
      std::fprintf(stderr, "psync: %s id=%d n=%d %s %s:%u, %llu instance(s), window %llu, timeout %lldus\n",
                   desc_.name, options_.id, n_, options_.transport == TransportKind::Udp ? "udp" : "tcp",
                   me.host.c_str(), unsigned(me.port), (unsigned long long)options_.instances,
                   (unsigned long long)options_.window, (long long)options_.timeout_us);
    }
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (!options_.quiet) std::fprintf(stderr, "psync: id=%d stopping on signal %d\n", options_.id, sig);
      begin_shutdown(128 + sig);
    });
    if (options_.time_limit_us > 0) {
      limit_timer_.expires_after(std::chrono::microseconds(options_.time_limit_us));
      limit_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (!options_.quiet)
          std::fprintf(stderr, "psync: id=%d time limit reached, %llu of %llu instance(s) unfinished\n", options_.id,
                       (unsigned long long)(options_.instances - counters_.instances_finished),
                       (unsigned long long)options_.instances);
        // Instances that are only lingering have decided: that is success.
        begin_shutdown(counters_.instances_decided == options_.instances ? 0 : 1);
      });
    }
    // TCP: round 0 waits (boundedly) for a connection to every peer, so that
    // the first rounds are not run against peers that cannot hear them yet.
    if (options_.transport == TransportKind::Tcp && options_.start_wait_us > 0 && n_ > 1) {
      start_timer_.expires_after(std::chrono::microseconds(options_.start_wait_us));
      start_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || started_) return;
        ++counters_.start_wait_expired;
        begin_rounds();
      });
    } else {
      asio::post(io_, [this] { begin_rounds(); });
    }
    io_.run();
    write_out();
    if (!options_.quiet)
      std::fprintf(stderr, "psync: id=%d decided %llu/%llu instance(s) in %.1f ms\n", options_.id,
                   (unsigned long long)counters_.instances_decided, (unsigned long long)options_.instances,
                   double(now_us()) / 1000.0);
    if (options_.stats) print_stats();
    return exit_code_;
  }

  // engine::Host
  void send_message(uint64_t instance, int64_t round, int32_t to, std::span<const std::byte> payload,
                    bool decided) override {
    net::WireHeader h;
    h.decided = decided;
    h.instance = instance;
    h.round = round;
    h.sender = options_.id;
    transport_->send(to, h, payload);
  }

  void announce_decided(uint64_t instance, int64_t round, uint64_t to) override {
    for (int32_t p = 0; p < n_; ++p)
      if (p != options_.id && ((to >> p) & 1)) send_notice(instance, round, p);
  }

  void report_decision(uint64_t instance, int64_t round, const void* state) override {
    ++counters_.instances_decided;
    JsonObject line;
    line.add("id", options_.id).add("instance", instance).add("round", round);
    append_output_value(line, state, instance);
    line.add("us", now_us());
    out_ += line.str();
    out_ += '\n';
    schedule_write_out();
  }

  void report_conflict(uint64_t instance, int64_t round, const void*) override {
    std::fprintf(stderr, "psync: id=%d instance %llu decided a second, different value in round %lld\n",
                 options_.id, (unsigned long long)instance, (long long)round);
  }

 private:
  enum InstanceStatus : uint8_t { Pending, Active, Done, DoneDecided };
  struct Slot {
    std::unique_ptr<engine::Instance> inst;
    int64_t armed = kNoDeadline;  // earliest heap entry for this instance
    bool released = false;        // lingering: no longer holds a window place
  };

  void send_notice(uint64_t instance, int64_t round, int32_t to) {
    net::WireHeader h;
    h.kind = net::FrameKind::Notice;
    h.decided = true;
    h.instance = instance;
    h.round = round;
    h.sender = options_.id;
    transport_->send(to, h, {});
    ++counters_.decided_notices_sent;
  }

  void begin_rounds() {
    if (started_) return;
    started_ = true;
    start_timer_.cancel();
    fill_window();
  }
  struct Delayed {
    int64_t at;
    uint64_t seq;
    net::WireHeader header;
    std::vector<std::byte> payload;
    bool operator>(const Delayed& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
  }

  double uniform() { return double(splitmix(fault_rng_) >> 11) * 0x1.0p-53; }

  // "value": the output as JSON, whatever its type (abi/typed_values.h: numbers,
  // booleans, arrays, objects, bytes as strings or {"hex":...}); a protocol
  // without an output gives null and its whole state as a "state" string.
  void append_output_value(JsonObject& line, const void* state, uint64_t instance) {
    const psync_field& f = desc_.output;
    if (f.kind != PSYNC_KIND_NONE) {
      line.add_raw("value", value_to_json(*desc_.output_type, static_cast<const char*>(state) + f.offset, n_));
      return;
    }
    std::string text(256, '\0');
    const auto it = active_.find(instance);
    const psync_env* env = it != active_.end() ? &it->second.inst->env() : nullptr;
    if (env != nullptr && desc_.print_state != nullptr) {
      int32_t need = desc_.print_state(state, env, text.data(), text.size());
      if (need >= int32_t(text.size())) {
        text.assign(size_t(need) + 1, '\0');
        need = desc_.print_state(state, env, text.data(), text.size());
      }
      text.resize(size_t(std::clamp<int32_t>(need, 0, int32_t(text.size()))));
    } else {
      text.clear();
    }
    line.add_raw("value", "null").add_string("state", text);
  }

  void schedule_write_out() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(20));
    flush_timer_.async_wait([this](const boost::system::error_code&) {
      flush_scheduled_ = false;
      write_out();
    });
  }

  void write_out() {
    if (out_.empty()) return;
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    std::fflush(stdout);
    out_.clear();
  }

  void receive_frame(const net::WireHeader& h, std::span<const std::byte> payload) {
    if (shutting_down_) return;
    if (!in_receive_batch_) {  // until the transport's batch_end
      in_receive_batch_ = true;
      batch_now_ = now_us();   // one clock read per batch of datagrams
    }
    if (options_.drop > 0 && uniform() < options_.drop) {
      ++counters_.injected_drops;
      return;
    }
    if (options_.delay_us > 0) {
      ++counters_.injected_delays;
      const int64_t at = now_us() + int64_t(splitmix(fault_rng_) % uint64_t(options_.delay_us + 1));
      delayed_.push({at, delayed_seq_++, h, {payload.begin(), payload.end()}});
      schedule_wake();
      return;
    }
    dispatch(h, payload);
  }

  void dispatch(const net::WireHeader& h, std::span<const std::byte> payload) {
    if (h.instance >= options_.instances) {
      ++counters_.unknown_instance_dropped;
      return;
    }
    const bool notice = h.kind == net::FrameKind::Notice;
    if (notice) ++counters_.decided_notices_received;
    const uint8_t st = status_[h.instance];
    if (st == Done || st == DoneDecided) {
      // A peer that has decided may be lingering for want of our decided
      // bit (the frames that carried it were lost): tell it again. Only a
      // message triggers this, never a notice, so two finished processes
      // cannot keep answering each other.
      if (st == DoneDecided && h.decided && !notice) send_notice(h.instance, h.round, h.sender);
      if (!notice) ++counters_.finished_instance_messages_dropped;
      return;
    }
    if (st == Pending) {
      // A peer is already running it: join now rather than lose its messages.
      ++counters_.instances_started_by_peers;
      start_instance(h.instance);
    }
    auto it = active_.find(h.instance);
    if (it == active_.end()) return;  // finished while starting
    engine::Instance& inst = *it->second.inst;
    if (h.decided) inst.peer_decided(h.sender);
    if (!notice && !inst.finished())
      inst.receive(h.sender, h.round, payload, in_receive_batch_ ? batch_now_ : now_us());
    after_event(h.instance);
  }

  void start_instance(uint64_t id) {
    status_[id] = Active;
    ++counters_.instances_started;
    std::vector<std::vector<int64_t>> buffers;  // bytes inputs: read by init, in start() below
    const std::vector<int64_t> inputs = inputs_for_instance(desc_, options_, n_, id, &buffers);
    Slot& slot = active_[id];
    slot.inst = std::make_unique<engine::Instance>(layout_, config_, options_.consts.data(), id, inputs, *this,
                                                   engine_counters_);
    slot.inst->start(in_receive_batch_ ? batch_now_ : now_us());
    after_event(id);
  }

  // Re-files the instance's deadline, or retires it when it is over.
  void after_event(uint64_t id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    Slot& slot = it->second;
    if (slot.inst->finished()) {
      if (slot.released) --released_;
      status_[id] = slot.inst->decided() ? DoneDecided : Done;
      active_.erase(it);
      ++counters_.instances_finished;
      if (counters_.instances_finished == options_.instances)
        begin_shutdown(counters_.instances_decided == options_.instances ? 0 : 1);
      else
        fill_window();
      return;
    }
    if (!slot.released && slot.inst->lingering()) {
      // Its own work is done; it runs on only for peers that may need it.
      slot.released = true;
      ++released_;
      fill_window();
    }
    if (slot.inst->catch_up_pending()) {
      to_settle_.push_back(id);
      if (!settle_posted_ && !in_receive_batch_) {  // a timer, a start, a delayed message
        settle_posted_ = true;
        asio::post(io_, [this] {
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

  // Runs after the handler that received a batch of frames: the catch-ups it
  // noted now see every message that had already arrived.
  void settle_pending() {
    if (to_settle_.empty()) return;
    std::vector<uint64_t> ids;
    ids.swap(to_settle_);
    const int64_t now = now_us();
    for (uint64_t id : ids) {
      auto it = active_.find(id);
      if (it == active_.end()) continue;
      it->second.inst->settle(now);
      after_event(id);
    }
    schedule_wake();
  }

  void fill_window() {
    while (!shutting_down_ && started_ && active_.size() - released_ < options_.window && next_ < options_.instances) {
      const uint64_t id = next_++;
      if (status_[id] == Pending) start_instance(id);
    }
    schedule_wake();
  }

  // Heap entries go stale when an instance ends or its deadline moves later
  // (a round that ended before its timeout). Dropping or re-filing stale
  // entries at the top before arming keeps the event loop from waking up
  // for nothing — with one instance at a time, that was one wake-up per
  // instance.
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
    prune_timers();
    int64_t earliest = kNoDeadline;
    if (!timers_.empty()) earliest = timers_.top().first;
    if (!delayed_.empty()) earliest = std::min(earliest, delayed_.top().at);
    if (earliest == kNoDeadline || earliest >= wake_at_) return;
    wake_at_ = earliest;
    wake_.expires_at(start_ + std::chrono::microseconds(earliest));
    wake_.async_wait([this](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      wake_at_ = kNoDeadline;
      fire_due();
    });
  }

  void fire_due() {
    if (shutting_down_) return;
    const int64_t now = now_us();
    while (!delayed_.empty() && delayed_.top().at <= now) {
      Delayed d = std::move(const_cast<Delayed&>(delayed_.top()));
      delayed_.pop();
      dispatch(d.header, d.payload);
    }
    while (!timers_.empty() && timers_.top().first <= now) {
      const auto [t, id] = timers_.top();
      timers_.pop();
      auto it = active_.find(id);
      if (it == active_.end() || it->second.armed != t) continue;  // stale entry
      Slot& slot = it->second;
      slot.armed = kNoDeadline;
      if (slot.inst->deadline_us() <= now) slot.inst->on_timer(now);
      after_event(id);
    }
    schedule_wake();
  }

  void begin_shutdown(int code) {
    if (shutting_down_) return;
    shutting_down_ = true;
    exit_code_ = code;
    transport_->flush();
    // TCP writes complete asynchronously: give them a moment to drain.
    const auto grace = options_.transport == TransportKind::Tcp ? std::chrono::milliseconds(30)
                                                                : std::chrono::milliseconds(0);
    limit_timer_.cancel();
    limit_timer_.expires_after(grace);
    limit_timer_.async_wait([this](const boost::system::error_code&) {
      transport_->stop();
      io_.stop();
    });
  }

  void print_stats() {
    JsonObject stats;
    stats.add("id", options_.id).add("elapsed_us", now_us());
    stats.add("sent", net_counters_.frames_sent).add("received", net_counters_.frames_received);
    stats.add("malformed_dropped", net_counters_.malformed_total() + engine_counters_.invalid_messages_dropped);
    for (auto& [name, v] : engine::counter_list(engine_counters_)) stats.add(name, uint64_t(v));
    for (auto& [name, v] : net::counter_list(net_counters_)) stats.add(name, uint64_t(v));
#define PSYNC_X(name) stats.add(#name, counters_.name);
    PSYNC_NODE_COUNTERS(PSYNC_X)
#undef PSYNC_X
    const std::string line = JsonObject().add_raw("stats", stats.str()).str() + "\n";
    std::fputs(line.c_str(), stderr);
  }

  const psync_protocol_desc& desc_;
  const Options& options_;
  int32_t n_;
  engine::Layout layout_;
  engine::Config config_;
  net::NetConfig net_;
  asio::io_context io_{1};
  std::unique_ptr<net::Transport> transport_;
  asio::steady_timer wake_;
  asio::steady_timer flush_timer_;
  asio::steady_timer limit_timer_;
  asio::steady_timer start_timer_;
  asio::signal_set signals_;
  std::chrono::steady_clock::time_point start_;
  int64_t wake_at_ = kNoDeadline;

  std::vector<uint8_t> status_;  // per instance id: Pending, Active, Done, DoneDecided
  size_t released_ = 0;          // lingering instances (not counted against the window)
  bool started_ = false;         // round 0 may begin (TCP waits for its connections)
  uint64_t next_ = 0;            // next instance id to start locally
  std::unordered_map<uint64_t, Slot> active_;
  std::priority_queue<std::pair<int64_t, uint64_t>, std::vector<std::pair<int64_t, uint64_t>>, std::greater<>> timers_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
  uint64_t delayed_seq_ = 0;
  uint64_t fault_rng_;

  engine::Counters engine_counters_;
  net::NetCounters net_counters_;
  NodeCounters counters_;
  std::string out_;
  bool flush_scheduled_ = false;
  std::vector<uint64_t> to_settle_;
  bool settle_posted_ = false;
  bool in_receive_batch_ = false;
  int64_t batch_now_ = 0;
  bool shutting_down_ = false;
  int exit_code_ = 0;
};

// `--describe`: the descriptor as one JSON line, for drivers and scripts.
void describe_protocol(const psync_protocol_desc& desc) {
  auto names = [](const psync_field* f, uint32_t count) {
    std::string list = "[";
    for (uint32_t i = 0; i < count; ++i) {
      if (i) list += ',';
      append_json_string(list, f[i].name);
    }
    return list + "]";
  };
  std::string rounds = "[";
  for (uint32_t i = 0; i < desc.num_rounds; ++i) {
    if (i) rounds += ',';
    append_json_string(rounds, desc.rounds[i].name);
  }
  rounds += ']';
  JsonObject d;
  d.add_string("name", desc.name).add("fingerprint", uint64_t(desc.fingerprint)).add("abi_version", uint64_t(desc.abi_version));
  d.add_raw("inputs", names(desc.inputs, desc.num_inputs)).add_raw("consts", names(desc.consts, desc.num_consts));
  d.add_raw("rounds", rounds).add_string("output", desc.output.kind == PSYNC_KIND_NONE ? "" : desc.output.name);
  const std::string line = d.str() + "\n";
  std::fputs(line.c_str(), stdout);
}

}  // namespace

int run_node(const psync_protocol_desc& desc, const Options& options) {
  Node node(desc, options);
  return node.run();
}

int node_main(const psync_protocol_desc& desc, int argc, char** argv) {
  const char* prog = argc > 0 ? argv[0] : "psync-node";
  try {
    // Nothing reads the descriptor before it is validated: its shape now, its
    // sizes once the cluster file gives n.
    if (std::string e = validate_descriptor_shape(desc); !e.empty()) throw ConfigError(e);
    for (int i = 1; i < argc; ++i)
      if (std::strcmp(argv[i], "--describe") == 0) {
        describe_protocol(desc);
        return 0;
      }
    auto options = parse_command_line(desc, argc, argv);
    if (!options) return 0;
    if (std::string e = validate_descriptor(desc, int32_t(options->cluster.size())); !e.empty()) throw ConfigError(e);
    if (options->check_only) return 0;
    if (!options->serve.empty()) return run_service(desc, *options);
    return run_node(desc, *options);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog, e.what());
    return 2;
  }
}

}  // namespace psync::node
