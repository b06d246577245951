// node.cpp: the replica process — configuration in, frames routed to
// instances by id through a flat instance table, one timing wheel for every
// instance's round deadline, decisions out as buffered JSON lines, counters
// at exit. Built for many instances in flight: the steady state allocates
// nothing per instance or per round (bench/rounds counts it).
#include "node/node.h"
#include "abi/validate.h"

#include "node/json.h"
#include "node/timer_wheel.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <queue>

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

// Running instances by slot. The instance objects live in a slab (a deque
// never moves them) and are recycled through a free list, so each is built
// once; an instance id finds its slot through a direct-mapped ring indexed
// by the id's low bits. Ids in flight are close together (instances start
// in order), so the ring stays near twice the window and grows only when a
// straggling instance holds an old id while new ones start.
class InstanceTable {
 public:
  static constexpr int32_t kNone = -1;

  explicit InstanceTable(size_t window) {
    size_t size = 64;
    while (size < 2 * window && size < (size_t{1} << 30)) size *= 2;
    ring_.assign(size, kNone);
  }

  int32_t find(uint64_t id) const {
    const int32_t s = ring_[id & (ring_.size() - 1)];
    return s != kNone && ids_[size_t(s)] == id ? s : kNone;
  }

  // A slot for `id` (not in the table): a free one, or a new one built by make().
  template <typename Make>
  int32_t claim(uint64_t id, Make&& make) {
    int32_t s;
    if (!free_.empty()) {
      s = free_.back();
      free_.pop_back();
    } else {
      s = int32_t(instances_.size());
      make(instances_);
      ids_.push_back(0);
      released_.push_back(0);
      settle_queued_.push_back(0);
      in_use_.push_back(0);
    }
    ids_[size_t(s)] = id;
    released_[size_t(s)] = 0;
    settle_queued_[size_t(s)] = 0;
    while (ring_[id & (ring_.size() - 1)] != kNone) grow();  // another id in flight there
    ring_[id & (ring_.size() - 1)] = s;
    in_use_[size_t(s)] = 1;
    ++live_;
    return s;
  }

  void release(int32_t s) {
    ring_[ids_[size_t(s)] & (ring_.size() - 1)] = kNone;
    in_use_[size_t(s)] = 0;
    free_.push_back(s);
    --live_;
  }

  engine::Instance& instance(int32_t s) { return instances_[size_t(s)]; }
  uint64_t id(int32_t s) const { return ids_[size_t(s)]; }
  bool in_use(int32_t s) const { return in_use_[size_t(s)] != 0; }
  uint8_t& released(int32_t s) { return released_[size_t(s)]; }
  uint8_t& settle_queued(int32_t s) { return settle_queued_[size_t(s)]; }
  size_t live() const { return live_; }
  size_t slots() const { return instances_.size(); }

 private:
  void grow() {
    std::vector<int32_t> bigger(ring_.size() * 2, kNone);
    for (size_t s = 0; s < instances_.size(); ++s) {
      if (!in_use_[s]) continue;
      const uint64_t at = ids_[s] & (bigger.size() - 1);
      if (bigger[at] != kNone) {  // still colliding: double again
        ring_.assign(bigger.size(), kNone);
        grow();
        return;
      }
      bigger[at] = int32_t(s);
    }
    ring_.swap(bigger);
  }

  std::deque<engine::Instance> instances_;
  std::vector<uint64_t> ids_;
  std::vector<uint8_t> released_;       // lingering: no longer holds a window place
  std::vector<uint8_t> settle_queued_;  // in the list of catch-ups to settle
  std::vector<uint8_t> in_use_;
  std::vector<int32_t> free_;
  std::vector<int32_t> ring_;
  size_t live_ = 0;
};

// Decision lines, formatted straight into one buffer and written with one
// write(2) per flush: no stdio, no allocation per line.
class DecisionWriter {
 public:
  DecisionWriter() { buffer_.reserve(kCapacity + kLineMax); }

  bool wants_flush() const { return buffer_.size() >= kCapacity; }
  std::string& buffer() { return buffer_; }

  // {"id":0,"instance":3,"round":1,"value":42,"us":1804}
  void append_int_line(int32_t id, uint64_t instance, int64_t round, std::string_view value, int64_t us) {
    buffer_ += "{\"id\":";
    append_number(id);
    buffer_ += ",\"instance\":";
    append_number(instance);
    buffer_ += ",\"round\":";
    append_number(round);
    buffer_ += ",\"value\":";
    buffer_ += value;
    buffer_ += ",\"us\":";
    append_number(us);
    buffer_ += "}\n";
  }

  void write_out() {
    if (buffer_.empty()) return;
    std::fflush(stdout);  // anything stdio still holds goes first
    const char* at = buffer_.data();
    size_t left = buffer_.size();
    while (left > 0) {
      const ssize_t w = ::write(STDOUT_FILENO, at, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // stdout closed: decisions cannot be reported, the run goes on
      at += w;
      left -= size_t(w);
    }
    buffer_.clear();
  }

 private:
  static constexpr size_t kCapacity = 64 << 10;
  static constexpr size_t kLineMax = 512;  // a line with a 64-member set<pid> is about 260 bytes
  template <typename T>
  void append_number(T v) {
    char digits[24];
    buffer_.append(digits, size_t(std::to_chars(digits, digits + sizeof digits, v).ptr - digits));
  }
  std::string buffer_;
};

// A frame of a later round than its instance's, held back until the rest of
// its batch has been delivered (rounds of a batch are taken in round order).
struct HeldFrame {
  net::WireHeader header;
  size_t offset;  // payload in Node::held_bytes_
};

class Node final : public engine::Host {
 public:
  Node(const psync_protocol_desc& desc, const Options& o)
      : desc_(desc), options_(o), n_(int32_t(o.cluster.size())), layout_(engine::Layout::compute(desc, n_)),
        wake_(io_), flush_timer_(io_), limit_timer_(io_), start_timer_(io_), adapt_timer_(io_),
        signals_(io_, SIGINT, SIGTERM), status_(o.instances, Pending), table_(o.window),
        fault_rng_(o.seed * 0x2545F4914F6CDD1Dull ^ uint64_t(o.id)), inputs_(std::max<uint32_t>(desc.num_inputs, 1)) {
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
    config_.round_latency = &latency_;

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
    transport_->set_batch_end([this] { end_receive_batch(); });
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
    if (options_.timeout_ceiling_us > options_.timeout_us) schedule_adaptation();
    io_.run();
    out_.write_out();
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
    append_decision_line(instance, round, state);
    if (out_.wants_flush()) out_.write_out();
    else schedule_write_out();
  }

  void report_conflict(uint64_t instance, int64_t round, const void*) override {
    std::fprintf(stderr, "psync: id=%d instance %llu decided a second, different value in round %lld\n",
                 options_.id, (unsigned long long)instance, (long long)round);
  }

 private:
  enum InstanceStatus : uint8_t { Pending, Active, Done, DoneDecided };

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
    schedule_wake();
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
  // One clock read per batch of received datagrams.
  int64_t event_now() const { return in_receive_batch_ ? batch_now_ : now_us(); }

  double uniform() { return double(splitmix(fault_rng_) >> 11) * 0x1.0p-53; }

  // One decision line. A scalar output is formatted in place; a protocol
  // without one gives "value": null and its whole state as a "state" string
  // (rare, and allowed to allocate).
  void append_decision_line(uint64_t instance, int64_t round, const void* state) {
    const psync_field& f = desc_.output;
    int64_t v = 0;
    if (f.kind != PSYNC_KIND_NONE && f.kind != PSYNC_KIND_OTHER)
      std::memcpy(&v, static_cast<const char*>(state) + f.offset, 8);
    char value[32 + 64 * 3];
    size_t len = 0;
    switch (psync_kind(f.kind)) {
      case PSYNC_KIND_INT:
      case PSYNC_KIND_PID: len = size_t(std::to_chars(value, value + sizeof value, v).ptr - value); break;
      case PSYNC_KIND_BOOL:
        len = v ? 4 : 5;
        std::memcpy(value, v ? "true" : "false", len);
        break;
      case PSYNC_KIND_PIDSET: {
        value[len++] = '[';
        for (int32_t i = 0; i < 64; ++i)
          if ((uint64_t(v) >> i) & 1) {
            if (len > 1) value[len++] = ',';
            len = size_t(std::to_chars(value + len, value + sizeof value, i).ptr - value);
          }
        value[len++] = ']';
        break;
      }
      default: {
        std::string text(256, '\0');
        const int32_t s = table_.find(instance);
        const psync_env* env = s != InstanceTable::kNone ? &table_.instance(s).env() : nullptr;
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
        JsonObject line;
        line.add("id", options_.id).add("instance", instance).add("round", round);
        line.add_raw("value", "null").add_string("state", text).add("us", now_us());
        out_.buffer() += line.str();
        out_.buffer() += '\n';
        return;
      }
    }
    out_.append_int_line(options_.id, instance, round, {value, len}, now_us());
  }

  void schedule_write_out() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    flush_timer_.expires_after(std::chrono::milliseconds(20));
    flush_timer_.async_wait([this](const boost::system::error_code&) {
      flush_scheduled_ = false;
      out_.write_out();
    });
  }

  void receive_frame(const net::WireHeader& h, std::span<const std::byte> payload) {
    if (shutting_down_) return;
    if (!in_receive_batch_) {  // until the transport's batch_end
      in_receive_batch_ = true;
      batch_now_ = now_us();
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
    // A message for a later round than its instance is in waits for the end
    // of the batch: the batch's messages for the current round go first, so
    // that the round closes with them and the later one needs no buffering.
    if (h.kind == net::FrameKind::Message && h.instance < options_.instances) {
      const int32_t s = table_.find(h.instance);
      if (s != InstanceTable::kNone && h.round > table_.instance(s).round()) {
        const size_t at = held_bytes_.size();
        held_bytes_.insert(held_bytes_.end(), payload.begin(), payload.end());
        held_.push_back({h, at});
        return;
      }
    }
    dispatch(h, payload);
  }

  // The transport has handed up a whole batch (one drain of the socket):
  // held frames now, in arrival order, then the catch-ups it made possible.
  void end_receive_batch() {
    for (size_t i = 0; i < held_.size(); ++i) {
      const HeldFrame& f = held_[i];
      dispatch(f.header, {held_bytes_.data() + f.offset, f.header.length});
    }
    held_.clear();
    held_bytes_.clear();
    in_receive_batch_ = false;
    settle_pending();
    schedule_wake();
    busy_us_ += now_us() - batch_now_;
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
    int32_t s = table_.find(h.instance);
    if (st == Pending) {
      // A peer is already running it: join now rather than lose its messages.
      ++counters_.instances_started_by_peers;
      s = start_instance(h.instance);
    }
    if (s == InstanceTable::kNone) return;  // finished while starting
    engine::Instance& inst = table_.instance(s);
    if (h.decided) inst.peer_decided(h.sender);
    if (!notice && !inst.finished()) inst.receive(h.sender, h.round, payload, event_now());
    after_event(s);
  }

  // Starts instance `id` in a recycled slot; returns the slot, or kNone if
  // it finished at once.
  int32_t start_instance(uint64_t id) {
    status_[id] = Active;
    ++counters_.instances_started;
    fill_inputs_for_instance(desc_, options_, n_, id, inputs_);
    const std::span<const int64_t> inputs(inputs_.data(), desc_.num_inputs);
    const int32_t s = table_.claim(id, [&](std::deque<engine::Instance>& slab) {
      slab.emplace_back(layout_, config_, options_.consts.data(), id, inputs, *this, engine_counters_);
    });
    wheel_.reserve_slots(table_.slots());
    engine::Instance& inst = table_.instance(s);
    inst.reset(id, inputs);
    inst.start(event_now());
    return after_event(s) ? s : InstanceTable::kNone;
  }

  // Re-files the instance's deadline, or retires it when it is over.
  // Returns false if the instance is gone.
  bool after_event(int32_t s) {
    engine::Instance& inst = table_.instance(s);
    if (inst.finished()) {
      if (table_.released(s)) --released_;
      status_[inst.id()] = inst.decided() ? DoneDecided : Done;
      wheel_.remove(s);
      table_.release(s);
      ++counters_.instances_finished;
      if (counters_.instances_finished == options_.instances)
        begin_shutdown(counters_.instances_decided == options_.instances ? 0 : 1);
      else
        fill_window();
      return false;
    }
    if (!table_.released(s) && (inst.lingering() || inst.decided())) {
      // Its own work is done; it runs on only for peers that may need it.
      table_.released(s) = 1;
      ++released_;
      fill_window();
    }
    if (inst.catch_up_pending() && !table_.settle_queued(s)) {
      table_.settle_queued(s) = 1;
      to_settle_.push_back(s);
      if (!settle_posted_ && !in_receive_batch_) {  // a timer, a start, a delayed message
        settle_posted_ = true;
        asio::post(io_, [this] {
          settle_posted_ = false;
          settle_pending();
        });
      }
    }
    wheel_.set(s, inst.deadline_us());
    return true;
  }

  // Runs after the handler that received a batch of frames: the catch-ups it
  // noted now see every message that had already arrived.
  void settle_pending() {
    if (to_settle_.empty()) return;
    settling_.swap(to_settle_);
    const int64_t now = now_us();
    for (const int32_t s : settling_) {
      table_.settle_queued(s) = 0;
      if (!table_.in_use(s)) continue;
      table_.instance(s).settle(now);
      after_event(s);
    }
    settling_.clear();
    schedule_wake();
  }

  void fill_window() {
    if (filling_) return;  // an instance that finishes at once re-enters here
    filling_ = true;
    while (!shutting_down_ && started_ && table_.live() - released_ < options_.window && next_ < options_.instances) {
      const uint64_t id = next_++;
      if (status_[id] == Pending) start_instance(id);
    }
    filling_ = false;  // the caller's handler ends with schedule_wake()
  }

  void schedule_wake() {
    int64_t earliest = wheel_.next_wake();
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
    wheel_.expire(now, [&](int32_t s) {
      engine::Instance& inst = table_.instance(s);
      if (inst.deadline_us() <= now) inst.on_timer(now);
      after_event(s);
    });
    schedule_wake();
    busy_us_ += now_us() - now;
  }

  // The adaptive timeout (docs/runtime.md, "Adaptive timeout"): every 50 ms,
  // the default and written round timeouts are raised to
  //   max(4 x the 99th percentile of the round latency measured since,
  //       2 x the in-flight instances / the instances finished per busy second),
  // between --timeout and --timeout-ceiling. A round that ends on its
  // timeout while its messages are only queued behind thousands of others
  // (a turn of the event loop takes window / throughput) costs a phase.
  // Throughput counts busy time only (receive batches and timer handlers):
  // counted against wall time it would feed back on itself when rounds end
  // on their timeout (a longer timeout, fewer instances/s, a longer one...).
  void schedule_adaptation() {
    adapt_timer_.expires_after(std::chrono::milliseconds(kAdaptEveryMs));
    adapt_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down_) return;
      adapt_timeout();
      schedule_adaptation();
    });
  }

  void adapt_timeout() {
    const uint64_t finished = counters_.instances_finished;
    const double seconds = double(busy_us_ - adapted_busy_us_) / 1e6;
    int64_t want = 0;
    if (latency_.samples >= 16) want = 4 * latency_.quantile_upper_us(0.99);
    if (seconds > 0 && finished > adapted_finished_) {
      const double per_second = double(finished - adapted_finished_) / seconds;
      want = std::max(want, int64_t(2e6 * double(table_.live()) / per_second));
    }
    const int64_t timeout = std::clamp(want, options_.timeout_us, std::max(options_.timeout_us, options_.timeout_ceiling_us));
    config_.adaptive_timeout_us = timeout > options_.timeout_us ? timeout : 0;
    round_latency_p99_us_ = latency_.quantile_upper_us(0.99);
    adaptive_timeout_max_us_ = std::max(adaptive_timeout_max_us_, timeout);
    latency_.clear();
    adapted_busy_us_ = busy_us_;
    adapted_finished_ = finished;
  }

  void begin_shutdown(int code) {
    if (shutting_down_) return;
    shutting_down_ = true;
    exit_code_ = code;
    transport_->flush();
    adapt_timer_.cancel();
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
    const int64_t timeout = config_.adaptive_timeout_us > 0 ? config_.adaptive_timeout_us : options_.timeout_us;
    stats.add("round_timeout_us", timeout);
    stats.add("round_timeout_max_us", std::max(adaptive_timeout_max_us_, options_.timeout_us));
    stats.add("round_latency_p99_us", round_latency_p99_us_);
    stats.add("instance_slots", uint64_t(table_.slots()));
    const std::string line = JsonObject().add_raw("stats", stats.str()).str() + "\n";
    std::fputs(line.c_str(), stderr);
  }

  static constexpr int kAdaptEveryMs = 50;

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
  asio::steady_timer adapt_timer_;
  asio::signal_set signals_;
  std::chrono::steady_clock::time_point start_;
  int64_t wake_at_ = kNoDeadline;

  std::vector<uint8_t> status_;  // per instance id: Pending, Active, Done, DoneDecided
  InstanceTable table_;
  TimerWheel wheel_;
  size_t released_ = 0;          // decided or lingering instances (not counted against the window)
  bool started_ = false;         // round 0 may begin (TCP waits for its connections)
  bool filling_ = false;
  uint64_t next_ = 0;            // next instance id to start locally
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
  uint64_t delayed_seq_ = 0;
  uint64_t fault_rng_;
  std::vector<int64_t> inputs_;  // scratch: the inputs of the instance being started

  engine::Counters engine_counters_;
  net::NetCounters net_counters_;
  NodeCounters counters_;
  engine::LatencyHistogram latency_;
  uint64_t adapted_finished_ = 0;
  int64_t round_latency_p99_us_ = 0;
  int64_t adaptive_timeout_max_us_ = 0;
  int64_t busy_us_ = 0, adapted_busy_us_ = 0;  // time in receive batches and timer handlers
  DecisionWriter out_;
  bool flush_scheduled_ = false;
  std::vector<int32_t> to_settle_, settling_;
  bool settle_posted_ = false;
  std::vector<HeldFrame> held_;
  std::vector<std::byte> held_bytes_;
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
