// node.cpp: the replica process — configuration in, frames routed to
// instances by id through a flat instance table, one timing wheel for every
// instance's round deadline, decisions out as buffered JSON lines, counters
// at exit. Built for many instances in flight: the steady state allocates
// nothing per instance or per round (bench/rounds counts it). The trust
// pieces (docs/reliability.md) hook in here: keys and incarnations for the
// transport, the --data-dir log (group commit before anything leaves),
// fences for restarted peers and the rejoin point of a restarted replica,
// and learning decided values from peers.
#include "node/node.h"
#include "abi/values.h"
#include "abi/validate.h"
#include "abi/typed_values.h"

#include "node/json.h"
#include "node/learning.h"
#include "node/lie.h"
#include "node/timer_wheel.h"
#include "store/log.h"
#include "util/bits.h"
#include "util/peak_rss.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
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

// Running instances by slot. Each instance lives in one slab slot: the
// object (its hot fields first, engine.h) and right after it its tail (state,
// mailbox, rounds seen, inputs, room for future messages), sized from the
// descriptor at start-up and rounded to whole cache lines. Slots sit side by
// side in chunks of kChunk (cache-line aligned, never moved, one allocation
// per chunk) and are recycled through a free list, so each is built once;
// an instance id finds its slot through a direct-mapped ring indexed by the
// id's low bits. Ids in flight are close together (instances start in
// order), so the ring stays near twice the window and grows only when a
// straggling instance holds an old id while new ones start. Each chunk has
// a dense array of its slots' decided words (engine::Instance's
// decided_word): the peers known to have decided, which a decided notice
// sets without touching the slot (notice_to_running).
class InstanceTable {
 public:
  static constexpr int32_t kNone = -1;

  InstanceTable(const InstanceTable&) = delete;
  InstanceTable& operator=(const InstanceTable&) = delete;
  ~InstanceTable() {
    for (size_t s = 0; s < count_; ++s) instance(int32_t(s)).~Instance();
  }

  InstanceTable(size_t window, bool keep_round_states) : keep_round_states_(keep_round_states) {
    size_t size = 64;
    while (size < 2 * window && size < (size_t{1} << 30)) size *= 2;
    ring_.assign(size, kNone);
    // The slots a full window needs, without a vector's doubling slack.
    const size_t expect = std::min<size_t>(window, size_t{1} << 20);
    ids_.reserve(expect);
    started_us_.reserve(expect);
    released_.reserve(expect);
    settle_queued_.reserve(expect);
    in_use_.reserve(expect);
  }

  // Asks the cache for the first lines of `id`'s instance (what every
  // message, timer and round touches: engine.h orders its fields so), if it
  // may be here. Only a hint: nothing is read.
  void prefetch(uint64_t id) const {
    const int32_t s = ring_[id & (ring_.size() - 1)];
    if (s == kNone) return;
    const std::byte* at = slot(s);
    __builtin_prefetch(at);
    __builtin_prefetch(at + 64);
    __builtin_prefetch(at + 128);
  }

  int32_t find(uint64_t id) const {
    const int32_t s = ring_[id & (ring_.size() - 1)];
    return s != kNone && ids_[size_t(s)] == id ? s : kNone;
  }

  // Sizes the slots, before the first is claimed: the object, then its tail
  // (engine::Instance::tail_bytes), in whole cache lines.
  void size_slots(size_t tail_bytes) {
    stride_ = (tail_offset_ + tail_bytes + kLine - 1) & ~(kLine - 1);
  }

  // A slot for `id` (not in the table): a free one, or a new one built by
  // make(at, tail, decided_word).
  template <typename Make>
  int32_t claim(uint64_t id, Make&& make) {
    int32_t s;
    if (!free_.empty()) {
      s = free_.back();
      free_.pop_back();
    } else {
      s = int32_t(count_);
      if (count_ % kChunk == 0) {
        chunks_.emplace_back(static_cast<std::byte*>(::operator new(kChunk * stride_, std::align_val_t{kLine})));
        words_.emplace_back(std::make_unique<uint64_t[]>(kChunk));
      }
      std::byte* at = slot(s);
      make(static_cast<void*>(at), at + tail_offset_, &decided_word(s));
      ++count_;
      ids_.push_back(0);
      started_us_.push_back(0);
      if (keep_round_states_) last_round_.emplace_back();
      released_.push_back(0);
      settle_queued_.push_back(0);
      in_use_.push_back(0);
    }
    ids_[size_t(s)] = id;
    started_us_[size_t(s)] = 0;
    if (keep_round_states_) last_round_[size_t(s)].state.clear();  // keeps its capacity
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

  engine::Instance& instance(int32_t s) {
    return *std::launder(reinterpret_cast<engine::Instance*>(slot(s)));
  }
  uint64_t id(int32_t s) const { return ids_[size_t(s)]; }
  uint64_t& decided_word(int32_t s) { return words_[size_t(s) / kChunk][size_t(s) % kChunk]; }
  bool in_use(int32_t s) const { return in_use_[size_t(s)] != 0; }
  uint8_t& released(int32_t s) { return released_[size_t(s)]; }
  int64_t& started_us(int32_t s) { return started_us_[size_t(s)]; }  // learning waits a while for running ones
  store::RoundState& last_round(int32_t s) { return last_round_[size_t(s)]; }  // --data-dir only: for a compaction
  uint8_t& settle_queued(int32_t s) { return settle_queued_[size_t(s)]; }
  size_t live() const { return live_; }
  size_t slots() const { return count_; }
  size_t slot_bytes() const { return stride_; }

 private:
  void grow() {
    std::vector<int32_t> bigger(ring_.size() * 2, kNone);
    for (size_t s = 0; s < count_; ++s) {
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

  std::byte* slot(int32_t s) const { return chunks_[size_t(s) / kChunk].get() + (size_t(s) % kChunk) * stride_; }

  // Raw storage for kChunk slots; instances are built in place by claim().
  struct FreeChunk {
    void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{kLine}); }
  };
  static constexpr size_t kLine = 64;
  static constexpr size_t kChunk = 64;
  static constexpr size_t tail_offset_ = (sizeof(engine::Instance) + 7) & ~size_t{7};  // where its tail begins
  size_t stride_ = 0;  // bytes per slot: whole cache lines (size_slots)
  const bool keep_round_states_;
  std::vector<std::unique_ptr<std::byte[], FreeChunk>> chunks_;
  std::vector<std::unique_ptr<uint64_t[]>> words_;  // per chunk: its slots' decided words
  size_t count_ = 0;  // instances built
  std::vector<uint64_t> ids_;
  std::vector<int64_t> started_us_;
  std::vector<store::RoundState> last_round_;
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
  // `id`: this replica's, the same in every line: its piece of the line is
  // formatted once, here.
  explicit DecisionWriter(int32_t id) : data_(new char[kCapacity + kLineMax]), capacity_(kCapacity + kLineMax) {
    char* p = prefix_;
    p = put(p, "{\"id\":");
    p = std::to_chars(p, prefix_ + sizeof prefix_, id).ptr;
    p = put(p, ",\"instance\":");
    prefix_len_ = size_t(p - prefix_);
  }

  bool wants_flush() const { return size_ >= kCapacity; }
  bool empty() const { return size_ == 0; }

  void append(std::string_view text) {
    reserve(text.size());
    std::memcpy(data_.get() + size_, text.data(), text.size());
    size_ += text.size();
  }

  // {"id":0,"instance":3,"round":1,"value":42,"us":1804}: written in place
  // at the buffer's end (room for the longest line is made first), the
  // fixed pieces as copies of a length known at compile time, the numbers
  // by to_chars, the id's piece copied whole.
  //
  // The round's piece and the time's are formatted once and copied while
  // they repeat: a batch's decisions share its clock read, and nearly all
  // of a protocol's decisions are in one round.
  void append_int_line(uint64_t instance, int64_t round, std::string_view value, int64_t us) {
    reserve(sizeof prefix_ + 20 + value.size() + 2 * sizeof(Piece::text));
    char* p = data_.get() + size_;
    std::memcpy(p, prefix_, sizeof prefix_);  // a fixed length: one copy, whatever the id's digits
    p += prefix_len_;
    p = std::to_chars(p, p + 20, instance).ptr;
    if (round != round_.key) round_.set(round, ",\"round\":", ",\"value\":");
    p = round_.copy(p);
    std::memcpy(p, value.data(), value.size());  // an array or object value (abi/typed_values.h) may be long
    p += value.size();
    if (us != us_.key) us_.set(us, ",\"us\":", "}\n");
    p = us_.copy(p);
    size_ = size_t(p - data_.get());
  }

  void write_out() {
    if (size_ == 0) return;
    std::fflush(stdout);  // anything stdio still holds goes first
    const char* at = data_.get();
    size_t left = size_;
    while (left > 0) {
      const ssize_t w = ::write(STDOUT_FILENO, at, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;  // stdout closed: decisions cannot be reported, the run goes on
      at += w;
      left -= size_t(w);
    }
    size_ = 0;
  }

 private:
  // A fixed piece: a copy of a length known at compile time.
  template <size_t N>
  static char* put(char* p, const char (&text)[N]) {
    std::memcpy(p, text, N - 1);
    return p + N - 1;
  }

  // Room for `more` bytes past the end (only lines of long values, or many
  // lines between two write_outs, ever grow it).
  void reserve(size_t more) {
    if (size_ + more <= capacity_) return;
    const size_t grown = std::max(2 * capacity_, size_ + more);
    std::unique_ptr<char[]> bigger(new char[grown]);
    std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = grown;
  }

  static constexpr size_t kCapacity = 64 << 10;  // write out past this
  static constexpr size_t kLineMax = 512;        // room kept past kCapacity: a line of a scalar value fits
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_;
  char prefix_[32] = {};  // {"id":N,"instance":
  size_t prefix_len_ = 0;
  // A number between two fixed pieces, formatted for the last `key` seen.
  struct Piece {
    int64_t key = INT64_MIN;  // no line has this round or time: the first line formats
    char text[40] = {};
    size_t len = 0;
    template <size_t A, size_t B>
    void set(int64_t k, const char (&before)[A], const char (&after)[B]) {
      key = k;
      char* p = put(text, before);
      p = std::to_chars(p, text + sizeof text, k).ptr;
      len = size_t(put(p, after) - text);
    }
    char* copy(char* to) const {
      std::memcpy(to, text, sizeof text);  // a fixed length: one copy (the buffer has room past the line)
      return to + len;
    }
  };
  Piece round_, us_;
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
        wake_(io_), flush_timer_(io_), limit_timer_(io_), start_timer_(io_), adapt_timer_(io_), learn_timer_(io_),
        stay_timer_(io_), signals_(io_, SIGINT, SIGTERM), status_(o.instances, Pending), table_(o.window, !o.data_dir.empty()),
        fault_rng_(o.seed * 0x2545F4914F6CDD1Dull ^ uint64_t(o.id)), inputs_(std::max<uint32_t>(desc.num_inputs, 1)),
        decided_(o.retain_decisions), learner_(n_, o.id, o.byzantine_f), fence_for_(size_t(n_), 0),
        heard_messages_(size_t(n_), false), fence_reported_(size_t(n_), false), out_(o.id) {
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
      config_.pause_after_decide = true;  // no next phase when every peer decided in the same round
    }
    config_.defer_catch_up = true;  // settled once per event-loop turn, see settle_pending()
    config_.catch_up_grace_us = o.catch_up_grace_us;  // when > 0, instead of the above
    config_.round_latency = &latency_;
    table_.size_slots(engine::Instance::tail_bytes(layout_, config_));
    wheel_.reserve_slots(std::min<size_t>(o.window, size_t{1} << 20));  // a full window's slots, no doubling slack

    // --data-dir: recover before anything else, so that the incarnation
    // grows past every earlier one and nothing is redone.
    if (!o.data_dir.empty()) {
      try {
        log_ = store::Log::open(o.data_dir, {desc.fingerprint, n_, o.id}, recovered_);
      } catch (const std::runtime_error& e) {
        throw ConfigError(std::string("--data-dir: ") + e.what());
      }
      config_.report_round_starts = true;
    }
    // Incarnation: the wall clock in microseconds (so that it grows across
    // restarts without a data dir), and past the last one recorded.
    incarnation_ = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
    incarnation_ = std::max(incarnation_, recovered_.incarnation + 1);
    if (log_) {
      log_->append_incarnation(incarnation_);
      log_->commit();
    }

    if (o.lie) {  // --lie: only for a protocol that declares `byzantine f`
      if (std::string e = Liar::refuse(desc); !e.empty()) throw ConfigError(e);
      liar_.emplace(desc, n_, o.seed * 0x9e3779b97f4a7c15ull + uint64_t(o.id));
    }
    net_.n = n_;
    net_.me = o.id;
    net_.fingerprint = desc.fingerprint;
    net_.max_payload = uint32_t(layout_.max_msg_size);
    net_.max_datagram = o.max_datagram;
    net_.segment_offload = !o.no_gso;
    net_.duplicate = o.duplicate;
    // Notices to a peer that gets nothing else wait up to 1 ms for company
    // (an eighth of a shorter round timeout): well inside the decide pause
    // they end, which lasts at least a round timeout (docs/runtime.md,
    // "Lingering").
    net_.notice_delay_us = std::min<int64_t>(1000, o.timeout_us / 8);
    net_.fault_seed = o.seed * 0x100000001b3ULL + uint64_t(o.id);
    for (const ClusterMember& m : o.cluster) net_.peers.push_back({m.id, m.host, m.port, resolve_host(io_, m)});
    net_.incarnation = incarnation_;
    // Durable only with history: a new data dir remembers no earlier votes.
    net_.durable = log_ != nullptr && recovered_.incarnation != 0;
    if (o.key_pair) {
      std::vector<net::Key> keys;
      for (const ClusterMember& m : o.cluster) keys.push_back(*m.public_key);
      try {
        net_.keys = net::SessionKeys::from_key_pairs(o.id, *o.key_pair, keys);
      } catch (const std::runtime_error& e) {
        throw ConfigError(o.cluster_path + ": " + e.what());
      }
    }
    auto on_packet = [this](std::span<const net::ReceivedFrame> frames) { receive_packet(frames); };
    transport_ = o.transport == TransportKind::Udp ? net::make_udp_transport(io_, net_, on_packet, net_counters_)
                                                    : net::make_tcp_transport(io_, net_, on_packet, net_counters_);
    transport_->set_on_connect([this] { check_start_gate(); });
    transport_->set_batch_end([this] { end_receive_batch(); });
    transport_->set_before_send([this] { commit_log(); });
    transport_->set_hello_hooks([this](int32_t peer) { return hello_for(peer); },
                                [this](const net::HelloEvent& ev) { take_hello(ev); });
    start_ = std::chrono::steady_clock::now();
    recover_from_log();
  }

  int run() {
    transport_->start();
    if (!net_.keys.keyed && n_ > 1)  // even with --quiet: nobody should run this way by accident
      std::fprintf(stderr, "psync: warning: id=%d: %s lists no public keys, so packets are not authenticated: "
                           "anyone who can reach this replica can forge messages (psyncc keygen makes keys)\n",
                   options_.id, options_.cluster_path.c_str());
    if (!options_.quiet) {
      const ClusterMember& me = options_.cluster[size_t(options_.id)];
      std::fprintf(stderr, "psync: %s id=%d n=%d %s %s:%u, %llu instance(s), window %llu, timeout %lldus, incarnation %llu%s\n",
                   desc_.name, options_.id, n_, options_.transport == TransportKind::Udp ? "udp" : "tcp",
                   me.host.c_str(), unsigned(me.port), (unsigned long long)options_.instances,
                   (unsigned long long)options_.window, (long long)options_.timeout_us,
                   (unsigned long long)incarnation_, log_ ? ", durable" : "");
      if (log_ && (recovered_.records > 1 || recovered_.truncated_bytes > 0))
        std::fprintf(stderr, "psync: id=%d recovered %s: %llu decided, %llu resumable, %llu byte(s) of torn tail cut off\n",
                     options_.id, options_.data_dir.c_str(), (unsigned long long)counters_.decisions_recovered,
                     (unsigned long long)recovered_.rounds.size(), (unsigned long long)recovered_.truncated_bytes);
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
    // Round 0 waits (boundedly) for the handshake with every peer: messages
    // can only be sealed for a peer whose incarnation is known, and a
    // restarted replica must hear every peer's fence before it votes
    // (docs/reliability.md). Over TCP that includes a connection to each.
    // A replica whose log says every instance is over has nothing to wait for.
    if (options_.start_wait_us > 0 && n_ > 1 && counters_.instances_finished < options_.instances) {
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
    sweep_learning_later();
    io_.run();
    commit_log();
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
    if (liar_ && to != options_.id) {  // --lie: a value of its own choosing, or nothing
      lie_buf_.resize(payload.size());
      if (!liar_->draw(round, lie_buf_)) {
        ++counters_.lies_withheld;
        return;
      }
      ++counters_.lies_sent;
      payload = lie_buf_;
    }
    transport_->send(to, h, payload);
  }

  void announce_decided(uint64_t instance, int64_t /*round: Decided frames carry none*/, uint64_t to) override {
    to &= ~(uint64_t{1} << options_.id);
    transport_->send_notices(to, instance);
    counters_.decided_notices_sent += uint64_t(util::popcount64(to));
  }

  void report_decision(uint64_t instance, int64_t round, const void* state) override {
    ++counters_.instances_decided;
    // An integer, pid or bool output (the common case) is formatted in
    // place; any other goes through output_value.
    char scalar[24];
    std::string text, state_text;
    std::string_view value;
    if (const size_t len = scalar_output_text(state, scalar)) {
      value = {scalar, len};
    } else {
      text = output_value(state, instance, state_text);
      value = text;
    }
    decided_.set(instance, value, round);
    learner_.forget(instance);
    if (status_[instance] == Active) status_[instance] = ActiveDecided;
    if (log_) log_->append_decision(instance, round, value, false);
    if (state_text.empty() && value != "null") {
      out_.append_int_line(instance, round, value, event_now());  // one clock read per batch
      if (out_.wants_flush()) write_out();
      else schedule_write_out();
      return;
    }
    JsonObject line;
    line.add("id", options_.id).add("instance", instance).add("round", round).add_raw("value", value);
    line.add_string("state", state_text).add("us", event_now());
    emit_line(line);
  }

  void round_starting(uint64_t instance, int64_t round, std::span<const std::byte> state, uint64_t rng,
                      int64_t decided_round) override {
    if (!log_) return;
    log_->append_round(instance, round, rng, decided_round, state);
    if (const int32_t s = table_.find(instance); s != InstanceTable::kNone) {  // kept for a compaction of the log
      store::RoundState& r = table_.last_round(s);
      r.round = round;
      r.rng = rng;
      r.decided_round = decided_round;
      r.state.assign(state.begin(), state.end());
    }
  }

  void report_conflict(uint64_t instance, int64_t round, const void*) override {
    std::fprintf(stderr, "psync: id=%d instance %llu decided a second, different value in round %lld\n",
                 options_.id, (unsigned long long)instance, (long long)round);
  }

  // `log` lines go to stderr, the first kMaxPrintedLogLines of them: a log in
  // every round of every instance must not turn a replica into a disk
  // writer. All are counted (log_lines in --stats).
  void log_line(uint64_t instance, int64_t round, std::string_view text) override {
    if (++log_lines_seen_ > kMaxPrintedLogLines) {
      if (log_lines_seen_ == kMaxPrintedLogLines + 1)
        std::fprintf(stderr, "psync: id=%d more than %d log lines: the rest are counted (log_lines), not printed\n",
                     options_.id, kMaxPrintedLogLines);
      return;
    }
    std::fprintf(stderr, "psync: id=%d instance %llu round %lld: %.*s\n", options_.id, (unsigned long long)instance,
                 (long long)round, int(text.size()), text.data());
  }

  // A computed pid or set element out of range (abi.h): the operation did
  // nothing; the engine counts it (range_errors) and the first few are shown.
  void report_range_error(uint64_t instance, int64_t round, int64_t value, const char* where) override {
    if (++range_errors_seen_ > kMaxPrintedRangeErrors) return;
    std::fprintf(stderr, "psync: id=%d instance %llu round %lld: range error: %lld at %s%s\n", options_.id,
                 (unsigned long long)instance, (long long)round, (long long)value, where ? where : "?",
                 range_errors_seen_ == kMaxPrintedRangeErrors ? " (further range errors are only counted)" : "");
  }

 private:
  // Learning: a peer had decided it before this replica's round 0 began;
  // it is learned from peers (sweep_learning), never run here.
  enum InstanceStatus : uint8_t { Pending, Active, ActiveDecided, Done, DoneDecided, Learning };
  static bool finished(uint8_t st) { return st == Done || st == DoneDecided; }
  static bool decided_status(uint8_t st) { return st == ActiveDecided || st == DoneDecided; }

  void send_notice(uint64_t instance, int32_t to) {
    transport_->send_notice(to, instance);
    ++counters_.decided_notices_sent;
  }

  void begin_rounds() {
    if (started_) return;
    started_ = true;
    start_timer_.cancel();
    // Below the rejoin point this replica only learns (it may have voted
    // there in an earlier incarnation it does not remember).
    next_ = std::max(next_, rejoin_);
    resume_recovered();
    learn_what_peers_decided();
    fill_window();
    replay_early();
    schedule_wake();
  }

  // Frames that arrived before round 0 could begin (dispatch): at most
  // kEarlyFramesPerPeer * window frames and kEarlyBytes bytes in all.
  static constexpr size_t kEarlyFramesPerPeer = 16;
  static constexpr size_t kEarlyBytes = size_t(16) << 20;
  void hold_early(const net::WireHeader& h, std::span<const std::byte> payload) {
    const size_t max_frames = kEarlyFramesPerPeer * size_t(n_) * size_t(std::max<uint64_t>(options_.window, 1));
    if (early_.size() >= max_frames || early_bytes_.size() + payload.size() > kEarlyBytes) {
      ++counters_.learning_messages_dropped;
      if (h.kind == net::FrameKind::Decided)
        net::for_each_decided(h.instance, payload, [&](uint64_t i) { learner_.hint(i, h.sender); });
      else if (h.decided)
        learner_.hint(h.instance, h.sender);
      return;
    }
    ++counters_.early_frames_held;
    early_.push_back({h, early_bytes_.size()});
    early_bytes_.insert(early_bytes_.end(), payload.begin(), payload.end());
  }
  // A replica whose round 0 begins after a peer decided an instance (its
  // --start-wait waited for a peer that crashed, say) learns that decision
  // rather than run the instance: its peers went through those rounds
  // without it, as if it had crashed, and a protocol whose assumption
  // bounds the crashes (FloodMin) promises nothing to a process that
  // resumes after one. Adopting a peer's decision is safe by agreement.
  // The evidence: a held frame's decided bit, or a Hello's decided_below.
  void learn_what_peers_decided() {
    auto learn = [&](uint64_t i) {
      if (i < next_ || i >= options_.instances || status_[i] != Pending) return;
      status_[i] = Learning;
      ++counters_.instances_learned_at_start;
    };
    for (const HeldFrame& f : early_) {
      if (!f.header.decided) continue;
      auto learn_from = [&](uint64_t i) {
        learn(i);
        if (i < options_.instances) learner_.hint(i, f.header.sender);
      };
      if (f.header.kind == net::FrameKind::Decided)
        net::for_each_decided(f.header.instance, {early_bytes_.data() + f.offset, f.header.length}, learn_from);
      else
        learn_from(f.header.instance);
    }
    for (uint64_t i = next_; i < options_.instances && learner_.peers_with_decided(i) != 0; ++i) learn(i);
  }
  void replay_early() {
    std::vector<HeldFrame> frames;
    std::vector<std::byte> bytes;
    frames.swap(early_);
    bytes.swap(early_bytes_);
    // Lower rounds first, so that a round closes with its messages before a
    // later round's message makes the instance catch up.
    std::stable_sort(frames.begin(), frames.end(),
                     [](const HeldFrame& a, const HeldFrame& b) { return a.header.round < b.header.round; });
    for (const HeldFrame& f : frames) {
      if (shutting_down_) return;
      dispatch(f.header, {bytes.data() + f.offset, f.header.length});
    }
    settle_pending();
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

  // {"id":..,"instance":..,"round":..,"final":{"leader":0,...},"state":"0a00.."}:
  // the `output var`s as an instance ends, and the whole state in hex, for
  // psyncc run (which evaluates the invariants over it) and the e2e tests.
  // Printed by a protocol with output vars or without a decision.
  void report_final_outputs(uint64_t instance, const engine::Instance& inst) {
    if (desc_.num_output_vars == 0 && desc_.output.kind != PSYNC_KIND_NONE) return;
    std::string obj = "{";
    for (uint32_t k = 0; k < desc_.num_output_vars; ++k) {
      const psync_field& f = desc_.output_vars[k];
      int64_t v = 0;
      std::memcpy(&v, static_cast<const char*>(inst.state()) + f.offset, 8);
      if (k) obj += ',';
      obj += "\"" + std::string(f.name) + "\":" + field_value_json(f, v);
    }
    obj += '}';
    static constexpr char kHex[] = "0123456789abcdef";
    const auto* bytes = static_cast<const unsigned char*>(inst.state());
    const uint64_t size = desc_.state_size(n_);
    std::string hex = "\"";
    hex.reserve(size * 2 + 2);
    for (uint64_t b = 0; b < size; ++b) hex += {kHex[bytes[b] >> 4], kHex[bytes[b] & 15]};
    hex += '"';
    JsonObject line;
    line.add("id", options_.id).add("instance", instance).add("round", inst.round()).add_raw("final", obj);
    line.add_raw("state", hex);
    emit_line(line);
  }

  // The output's JSON text in `out` if it is an integer, a pid or a bool
  // (its length), else 0: what output_value gives, without a string.
  size_t scalar_output_text(const void* state, char (&out)[24]) const {
    const psync_field& f = desc_.output;
    const psync_kind kind = psync_kind(f.kind);
    if (kind != PSYNC_KIND_INT && kind != PSYNC_KIND_PID && kind != PSYNC_KIND_BOOL) return 0;
    int64_t v = 0;
    std::memcpy(&v, static_cast<const char*>(state) + f.offset, 8);
    if (kind == PSYNC_KIND_BOOL) {
      const std::string_view b = v ? "true" : "false";
      std::memcpy(out, b.data(), b.size());
      return b.size();
    }
    return size_t(std::to_chars(out, out + sizeof out, v).ptr - out);
  }

  // The output as JSON text, whatever its type; a protocol without an output
  // gives null and its whole state as text in `state_text` instead. The
  // value text is what peers learn and what --data-dir keeps.
  std::string output_value(const void* state, uint64_t instance, std::string& state_text) {
    const psync_field& f = desc_.output;
    int64_t v = 0;
    if (f.kind != PSYNC_KIND_NONE && f.kind != PSYNC_KIND_OTHER)
      std::memcpy(&v, static_cast<const char*>(state) + f.offset, 8);
    char value[32 + 64 * 3];
    size_t len = 0;
    switch (psync_kind(f.kind)) {
      case PSYNC_KIND_INT:
      case PSYNC_KIND_PID:
        len = size_t(std::to_chars(value, value + sizeof value, v).ptr - value);
        return std::string(value, len);  // at most 20 characters: no allocation for most
      case PSYNC_KIND_BOOL: return v ? "true" : "false";
      case PSYNC_KIND_ENUM: return field_value_json(f, v);
      case PSYNC_KIND_BYTES:
      case PSYNC_KIND_OTHER:
        // Any other type, through its description (abi/typed_values.h:
        // arrays, objects, bytes as a string or {"hex":...}).
        return value_to_json(*desc_.output_type, static_cast<const char*>(state) + f.offset, n_);
      case PSYNC_KIND_PIDSET: {
        value[len++] = '[';
        for (int32_t i = 0; i < 64; ++i)
          if ((uint64_t(v) >> i) & 1) {
            if (len > 1) value[len++] = ',';
            len = size_t(std::to_chars(value + len, value + sizeof value, i).ptr - value);
          }
        value[len++] = ']';
        return std::string(value, len);
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
        state_text = text;
        return "null";
      }
    }
  }

  void emit_line(const JsonObject& line) {
    out_.append(line.str());
    out_.append("\n");
    schedule_write_out();
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
    commit_log();  // a decision line leaves only once its record is on disk
    out_.write_out();
  }

  // A packet's frames: the instances its messages are for are asked of the
  // cache first, so that their misses overlap instead of coming one by one,
  // then the frames are taken in order. Not those a Decided frame names:
  // most of its notices touch only the slots' dense decided words
  // (notice_to_running).
  void receive_packet(std::span<const net::ReceivedFrame> frames) {
    for (const auto& [h, payload] : frames)
      if (h.kind != net::FrameKind::Decided) table_.prefetch(h.instance);
    for (const auto& [h, payload] : frames) receive_frame(h, payload);
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
      if (s != InstanceTable::kNone) {
        if (h.round > table_.instance(s).round()) {
          const size_t at = held_bytes_.size();
          held_bytes_.insert(held_bytes_.end(), payload.begin(), payload.end());
          held_.push_back({h, at});
          return;
        }
        dispatch_to_running(h, payload, s);
        return;
      }
    }
    dispatch(h, payload);
  }

  // dispatch() for a message whose instance is running here (it is in the
  // table, so its status is Active or ActiveDecided), found once by the
  // caller: most frames of a busy replica, the late ones included (a third
  // of what the coordinator receives), take this path.
  void dispatch_to_running(const net::WireHeader& h, std::span<const std::byte> payload, int32_t s) {
    heard_messages_[size_t(h.sender)] = true;
    if (h.instance < fence_for_[size_t(h.sender)]) {
      dispatch(h, payload);  // a fenced peer: the general path drops it and answers
      return;
    }
    frontier_ = std::max(frontier_, h.instance + 1);
    // A late message (the coordinator's third collect or ack, say) is
    // dropped and counted by receive, which leaves the instance as it was:
    // nothing to re-file unless the decided bit changed something.
    deliver_to_slot(h, payload, s, false, false);
  }

  // The transport has handed up a whole batch (one drain of the socket):
  // held frames now, in arrival order, then the catch-ups it made possible.
  void end_receive_batch() {
    for (size_t i = 0; i < held_.size(); ++i) {
      const HeldFrame& f = held_[i];
      const std::span<const std::byte> payload(held_bytes_.data() + f.offset, f.header.length);
      if (const int32_t s = table_.find(f.header.instance); s != InstanceTable::kNone) dispatch_to_running(f.header, payload, s);
      else dispatch(f.header, payload);
    }
    held_.clear();
    held_bytes_.clear();
    // A batch without frames (Hellos only, or datagrams all dropped) did not
    // start the clock: batch_now_ is an earlier batch's.
    const bool timed = in_receive_batch_;
    in_receive_batch_ = false;
    settle_pending();
    schedule_wake();
    if (timed) note_turn(now_us() - batch_now_);
  }

  void dispatch(const net::WireHeader& h, std::span<const std::byte> payload) {
    // The decided notices of one flush (wire.h), one at a time: those for
    // instances running here (nearly all of them) straight to the instance.
    if (net::expand_decided_frame(h, payload, [&](const net::WireHeader& one) {
          if (!notice_to_running(one)) dispatch(one, {});
        }))
      return;
    if (h.instance >= options_.instances) {
      ++counters_.unknown_instance_dropped;
      return;
    }
    if (h.kind == net::FrameKind::Query) {
      send_answer(h.sender, h.instance);
      return;
    }
    if (h.kind == net::FrameKind::Answer) {
      take_answer(h.sender, h.instance, h.round, payload);
      return;
    }
    const bool notice = h.kind == net::FrameKind::Notice;
    if (notice) ++counters_.decided_notices_received;
    if (!notice) heard_messages_[size_t(h.sender)] = true;
    // A peer that restarted without a data dir may not vote where its
    // earlier incarnation may have: we drop those messages, and tell it the
    // decision if we know it.
    if (!notice && h.instance < fence_for_[size_t(h.sender)]) {
      ++counters_.fenced_messages_dropped;
      if (!h.decided) send_answer(h.sender, h.instance);
      return;
    }
    const uint8_t st = status_[h.instance];
    if (st == Learning) {
      if (!notice) ++counters_.learning_messages_dropped;
      if (h.decided) learner_.hint(h.instance, h.sender);
      return;
    }
    if (finished(st)) {
      // A peer that has decided may be lingering for want of our decided
      // bit (the frames that carried it were lost): tell it again. Only a
      // message triggers this, never a notice, so two finished processes
      // cannot keep answering each other. A peer that has not decided is
      // behind: it gets the value itself.
      if (st == DoneDecided && !notice) {
        if (h.decided) send_notice(h.instance, h.sender);
        else send_answer(h.sender, h.instance);
      }
      if (!notice) ++counters_.finished_instance_messages_dropped;
      return;
    }
    int32_t s = table_.find(h.instance);
    if (st == Pending) {
      if (!started_) {
        // Before round 0 may begin, no peer's message starts an instance:
        // a recovered one must resume from its log (begin_rounds), not start
        // afresh with its old votes forgotten, and a replica restarted
        // without a data dir does not know its rejoin point yet. The frame
        // is held (boundedly) and dispatched again once round 0 begins, past
        // those checks: dropping it would make a replica that starts late
        // (its --start-wait waiting for a crashed peer) skip the rounds its
        // peers ran meanwhile with empty mailboxes, which the protocol's
        // assumptions may exclude (FloodMin then decides a value nobody
        // proposed). Beyond the bound it is dropped; a decided instance is
        // then learned.
        hold_early(h, payload);
        return;
      }
      if (h.instance < rejoin_) {
        // Below our rejoin point: we learn this one, we do not vote in it.
        ++counters_.learning_messages_dropped;
        if (h.decided) learner_.hint(h.instance, h.sender);
        return;
      }
      if (h.instance >= start_horizon()) {
        // Bounded: a peer (or a forger with a key) cannot make us start
        // instances far beyond our window; if we are really that far
        // behind, we learn the decisions instead.
        ++counters_.beyond_window_dropped;
        return;
      }
      // A peer is already running it: join now rather than lose its messages.
      ++counters_.instances_started_by_peers;
      s = start_instance(h.instance);
    }
    frontier_ = std::max(frontier_, h.instance + 1);
    if (s == InstanceTable::kNone) return;  // finished while starting
    deliver_to_slot(h, payload, s, notice, true);
  }

  // A decided notice for an instance running here: what dispatch() does
  // with it (count it, note the frontier, hand the instance the peer's
  // decided bit) without its checks for instances that are not running, and
  // the instance is re-filed only if the bit ended it: a decided bit changes
  // nothing else that after_event() looks at (its deadline, its lingering or
  // decision, a pending catch-up). False if the instance is not running
  // here: dispatch() then takes the notice.
  //
  // A bit that cannot end the instance (engine::Instance::
  // peer_decided_may_end: some other process is still not known to have
  // decided) is set in the slot's decided word, and the instance itself is
  // not touched: at n = 5 that is three of the four notices an instance
  // gets, each a cache miss on a slot that decided a while ago.
  bool notice_to_running(const net::WireHeader& h) {
    if (h.instance >= options_.instances) return false;
    const int32_t s = table_.find(h.instance);
    if (s == InstanceTable::kNone) return false;
    ++counters_.decided_notices_received;
    frontier_ = std::max(frontier_, h.instance + 1);
    uint64_t& word = table_.decided_word(s);
    if (!engine::Instance::peer_decided_may_end(word, h.sender, options_.id, n_)) {
      const uint64_t bit = uint64_t{1} << h.sender;  // the transport checked: 0 <= sender < n, not us
      if (!(word & bit)) {
        word |= bit;
        ++engine_counters_.peer_decisions_seen;
      }
      return true;
    }
    engine::Instance& inst = table_.instance(s);
    inst.peer_decided(h.sender);
    if (inst.finished()) after_event(s);
    return true;
  }

  // The frame reaches the running instance in slot `s`: its decided bit,
  // then (a message) the instance's receive; the instance is re-filed if
  // `refile` or it changed. No learner hint for a running instance (a map
  // node per instance): it keeps the peers that reported a decision itself,
  // and the sweep asks them if it runs too long (sweep_learning).
  void deliver_to_slot(const net::WireHeader& h, std::span<const std::byte> payload, int32_t s, bool notice,
                       bool refile) {
    engine::Instance& inst = table_.instance(s);
    if (h.decided) inst.peer_decided(h.sender);
    const bool changed = !notice && !inst.finished() && inst.receive(h.sender, h.round, payload, event_now());
    if (refile || changed || h.decided) after_event(s);
  }

  // How far beyond the lowest unfinished instance a peer's message may
  // start one: twice the window, plus a little for peers that finish
  // instances in another order.
  uint64_t start_horizon() {
    while (low_unfinished_ < options_.instances && finished(status_[low_unfinished_])) ++low_unfinished_;
    return low_unfinished_ + 2 * options_.window + 16;
  }

  // Starts instance `id` in a recycled slot; returns the slot, or kNone if
  // it finished at once.
  int32_t start_instance(uint64_t id) {
    status_[id] = Active;
    ++counters_.instances_started;
    frontier_ = std::max(frontier_, id + 1);
    fill_inputs_for_instance(desc_, options_, n_, id, inputs_, input_buffers(), input_key_);
    const std::span<const int64_t> inputs(inputs_.data(), desc_.num_inputs);
    const int32_t s = table_.claim(id, [&](void* at, std::byte* tail, uint64_t* word) {
      new (at) engine::Instance(layout_, config_, options_.consts.data(), id, inputs, *this, engine_counters_, tail,
                                word);
    });
    wheel_.reserve_slots(table_.slots());
    table_.started_us(s) = event_now();
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
      const uint64_t id = inst.id();
      report_final_outputs(id, inst);
      const bool decided = inst.decided() || status_[id] == ActiveDecided;
      status_[id] = decided ? DoneDecided : Done;
      if (log_) log_->append_finished(id, decided);
      wheel_.remove(s);
      table_.release(s);
      ++counters_.instances_finished;
      after_finishing();
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
    // Filed lazily: a deadline that moved later (every round arms one
    // further out) stays filed where it was, and the wheel's early call finds
    // nothing due (on_timer checks) and files it then. Instances mostly end
    // before their first deadline, so they are filed once, not once a round.
    if (const int64_t d = inst.deadline_us(); d < wheel_.when(s)) wheel_.set(s, d);
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

  // An instance retired, decided or learned: start the next, or, once every
  // instance is finished, stay for peers that are behind (--stay) and stop.
  void after_finishing() {
    if (counters_.instances_finished == options_.instances) stay_or_stop();
    else fill_window();
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
    note_turn(now_us() - now);
  }
  // One turn of the event loop (a receive batch or a timer handler) took
  // `us`: a message that arrived meanwhile waited that long.
  void note_turn(int64_t us) { turn_max_us_ = std::max(turn_max_us_, us); }

  // The adaptive timeout (docs/runtime.md, "Adaptive timeout"): every 50 ms,
  // the default and written round timeouts are raised to
  //   max(4 x the 99th percentile of the round latency measured since,
  //       4 x the longest turn of the event loop since),
  // between --timeout and --timeout-ceiling. A round that ends on its
  // timeout while its messages are only queued behind thousands of others
  // (a turn of the event loop takes about window / throughput) costs a
  // phase. Neither signal may depend on the timeout itself: latency samples
  // leave out rounds that ended in the second half of their timeout (the
  // engine), and the turn is measured directly. The earlier signal, 2 x
  // in-flight / instances finished per busy second, fed on itself (a longer
  // timeout, fewer instances finished per turn, a longer timeout): LastVoting
  // n=5 --window 1000 took 18-60 s instead of 2 s in 2 runs of 3.
  void schedule_adaptation() {
    adapt_timer_.expires_after(std::chrono::milliseconds(kAdaptEveryMs));
    adapt_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down_) return;
      adapt_timeout();
      schedule_adaptation();
    });
  }

  void adapt_timeout() {
    int64_t want = 0;
    if (latency_.samples >= 16) want = 4 * latency_.quantile_upper_us(0.99);
    want = std::max(want, 4 * turn_max_us_);
    turn_max_us_ = 0;
    const int64_t timeout = std::clamp(want, options_.timeout_us, std::max(options_.timeout_us, options_.timeout_ceiling_us));
    config_.adaptive_timeout_us = timeout > options_.timeout_us ? timeout : 0;
    round_latency_p99_us_ = latency_.quantile_upper_us(0.99);
    adaptive_timeout_max_us_ = std::max(adaptive_timeout_max_us_, timeout);
    latency_.clear();
  }


  // ---- Trust: handshake, fences, the --data-dir log, learning ------------

  // Round 0 may begin once the handshake with every peer is done (and each
  // has told us our fence), or --start-wait has passed.
  void check_start_gate() {
    if (started_) return;
    if (transport_->reachable_peers() < n_ - 1) return;
    for (int32_t p = 0; p < n_; ++p)
      if (p != options_.id && !fence_reported_[size_t(p)]) return;
    begin_rounds();
  }

  net::HelloBody hello_for(int32_t peer) {
    net::HelloBody b;
    b.fence = fence_for_[size_t(peer)];
    b.decided_below = decided_below();
    return b;
  }

  // Every instance below this is decided here (our Hellos say so).
  uint64_t decided_below() {
    while (low_undecided_ < options_.instances && decided_status(status_[low_undecided_])) ++low_undecided_;
    return low_undecided_;
  }

  void take_hello(const net::HelloEvent& ev) {
    const size_t p = size_t(ev.peer);
    if (ev.new_incarnation) {
      // A restart of a peer we had heard messages from, without a data dir
      // to remember them: it may not vote again where it may have voted
      // (docs/reliability.md). Fences only grow.
      const bool durable = (ev.body.flags & net::kHelloDurable) != 0;
      if (ev.previous_incarnation != 0 && heard_messages_[p] && !durable && frontier_ > fence_for_[p]) {
        fence_for_[p] = frontier_;
        ++counters_.peers_fenced;
        if (!options_.quiet)
          std::fprintf(stderr, "psync: id=%d peer %d restarted without a data dir: it may vote only from instance %llu on\n",
                       options_.id, ev.peer, (unsigned long long)fence_for_[p]);
      }
      heard_messages_[p] = false;
    }
    learner_.set_peer_decided_below(ev.peer, ev.body.decided_below);
    if (ev.fresh) {
      // The fence this peer sets for us: we must not vote below it.
      if (ev.body.fence > rejoin_) {
        if (started_ && ev.body.fence > next_) {
          // We already voted above the old rejoin point; this is the case a
          // peer unreachable through --start-wait leaves open.
          ++counters_.late_fences;
          std::fprintf(stderr, "psync: id=%d warning: peer %d reports that an earlier incarnation of this replica "
                               "voted up to instance %llu, after this one started voting from %llu: run with --data-dir\n",
                       options_.id, ev.peer, (unsigned long long)ev.body.fence, (unsigned long long)rejoin_);
        }
        rejoin_ = ev.body.fence;
        if (started_) next_ = std::max(next_, rejoin_);
      }
      if (!fence_reported_[p]) {
        fence_reported_[p] = true;
        check_start_gate();
      }
    }
    // Staying for peers (stay_or_stop): a peer's Hello may say it has
    // caught up (its farewell does), so look again now rather than at the
    // next 20 ms tick; the replicas of a run that finish together stop
    // together, not up to 20 ms apart. Posted: not from inside the packet's
    // handling.
    if (announced_finish_ && !shutting_down_ && !stay_check_posted_) {
      stay_check_posted_ = true;
      asio::post(io_, [this] {
        stay_check_posted_ = false;
        stay_or_stop();
      });
    }
  }

  void commit_log() {
    if (!log_ || !log_->has_pending()) return;
    log_->commit();
    if (log_->wants_compaction(kCompactLogBytes)) compact_log();
  }

  // Rewrites the log as what is still needed: every instance below the
  // watermark decided and retired, the retired ones above it, the decided
  // values kept for stragglers, and the last round of each running one.
  void compact_log() {
    start_horizon();  // brings low_unfinished_ up to date
    const uint64_t below = std::min(decided_below(), low_unfinished_);
    store::Log::Snapshot snap;
    snap.incarnation = incarnation_;
    snap.finished_below = below;
    std::vector<store::Decision> values;
    std::vector<uint64_t> ids;
    for (uint64_t i = below; i < frontier_; ++i)
      if (finished(status_[i])) snap.finished.emplace_back(i, status_[i] == DoneDecided);
    for (uint64_t i = decided_.oldest_kept(); i < frontier_; ++i)
      if (auto v = decided_.get(i)) {
        values.push_back({v->round, false, std::string(v->value)});
        ids.push_back(i);
      }
    for (size_t k = 0; k < values.size(); ++k) snap.decisions.emplace_back(ids[k], &values[k]);
    for (int32_t s = 0; s < int32_t(table_.slots()); ++s)
      if (table_.in_use(s) && !table_.last_round(s).state.empty())
        snap.rounds.emplace_back(table_.id(s), &table_.last_round(s));
    log_->compact(snap);
  }

  // --data-dir: decided and retired instances are known again; undecided
  // ones resume (after the handshake, in begin_rounds).
  void recover_from_log() {
    if (!log_) return;
    for (uint64_t i = 0; i < std::min(recovered_.finished_below, options_.instances); ++i) mark_recovered(i, true);
    for (const auto& [i, decided] : recovered_.finished)
      if (i < options_.instances) mark_recovered(i, decided);
    for (const auto& [i, d] : recovered_.decisions) {
      if (i >= options_.instances) continue;
      decided_.set(i, d.value, d.round);
      if (status_[i] != DoneDecided) mark_recovered(i, true);
      ++counters_.decisions_recovered;
      // At least once: a decision whose line was lost with the process is
      // printed now; one printed before is printed again, the same.
      JsonObject line;
      line.add("id", options_.id).add("instance", i).add("round", d.round).add_raw("value", d.value);
      line.add("us", now_us()).add_raw("recovered", "true");
      if (d.learned) line.add_raw("learned", "true");
      emit_line(line);
    }
    for (const auto& [i, r] : recovered_.rounds) frontier_ = std::max(frontier_, i + 1);
    if (!recovered_.finished.empty()) frontier_ = std::max(frontier_, recovered_.finished.rbegin()->first + 1);
    frontier_ = std::max(frontier_, std::min(recovered_.finished_below, options_.instances));
  }

  void mark_recovered(uint64_t i, bool decided) {
    if (finished(status_[i])) return;
    status_[i] = decided ? DoneDecided : Done;
    ++counters_.instances_finished;
    if (decided) ++counters_.instances_decided;
  }

  void resume_recovered() {
    for (auto& [i, r] : recovered_.rounds) {
      if (i >= options_.instances || status_[i] != Pending || i < rejoin_) continue;
      status_[i] = Active;
      ++counters_.instances_started;
      ++counters_.instances_resumed;
      fill_inputs_for_instance(desc_, options_, n_, i, inputs_, input_buffers(), input_key_);
      const std::span<const int64_t> inputs(inputs_.data(), desc_.num_inputs);
      const int32_t s = table_.claim(i, [&](void* at, std::byte* tail, uint64_t* word) {
        new (at) engine::Instance(layout_, config_, options_.consts.data(), i, inputs, *this, engine_counters_, tail,
                                  word);
      });
      wheel_.reserve_slots(table_.slots());
      table_.started_us(s) = now_us();
      engine::Instance& inst = table_.instance(s);
      inst.reset(i, inputs);
      inst.resume(r.round, r.state, r.rng, r.decided_round, now_us());
      after_event(s);
    }
    recovered_.rounds.clear();
    if (counters_.instances_finished == options_.instances) stay_or_stop();
  }

  void send_answer(int32_t to, uint64_t instance) {
    const auto v = decided_.get(instance);
    if (v && transport_->send_answer(to, instance, v->round, v->value)) ++counters_.answers_sent;
  }

  void send_query(int32_t to, uint64_t instance) {
    net::WireHeader h;
    h.kind = net::FrameKind::Query;
    h.instance = instance;
    h.sender = options_.id;
    transport_->send(to, h, {});
    ++counters_.queries_sent;
  }

  void take_answer(int32_t from, uint64_t instance, int64_t round, std::span<const std::byte> payload) {
    ++counters_.answers_received;
    if (decided_status(status_[instance])) return;
    const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    if (auto value = learner_.answer(instance, from, text)) adopt_decision(instance, round, *value);
  }

  // A decision learned from peers: printed like any other (marked), kept,
  // logged, and the instance is over here.
  void adopt_decision(uint64_t instance, int64_t round, const std::string& value) {
    ++counters_.decisions_learned;
    ++counters_.instances_decided;
    decided_.set(instance, value, round);
    learner_.forget(instance);
    if (log_) {
      log_->append_decision(instance, round, value, true);
      log_->append_finished(instance, true);
    }
    JsonObject line;
    line.add("id", options_.id).add("instance", instance).add("round", round).add_raw("value", value);
    line.add("us", now_us()).add_raw("learned", "true");
    emit_line(line);
    const uint8_t st = status_[instance];
    status_[instance] = DoneDecided;
    if (const int32_t s = table_.find(instance); s != InstanceTable::kNone) {
      if (table_.released(s)) --released_;
      wheel_.remove(s);
      table_.release(s);
    }
    if (st != Done) {
      ++counters_.instances_finished;
      after_finishing();
    }
  }

  void sweep_learning_later() {
    learn_timer_.expires_after(std::chrono::microseconds(kLearnSweepUs));
    learn_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || shutting_down_) return;
      sweep_learning();
      watch_silence();
      sweep_learning_later();
    });
  }

  // No packet from any peer for kSilenceUs: say so, once per such period.
  // Otherwise a replica started after its peers finished (or cut off from
  // them) waits without a word until its time limit, if it has one. Peers
  // send a Hello every 100 ms even when idle, so 2 s of silence means none
  // is running or none can reach this replica.
  void watch_silence() {
    if (n_ < 2) return;
    const int64_t now = transport_->now_us();
    int64_t latest = 0;  // a peer never heard from counts from our start
    for (int32_t p = 0; p < n_; ++p)
      if (p != options_.id) latest = std::max(latest, transport_->session().last_heard_us(p));
    const bool silent = now - latest >= kSilenceUs;
    if (silent == silent_) return;
    silent_ = silent;
    if (silent) ++counters_.silent_periods;
    if (options_.quiet) return;
    if (silent)
      std::fprintf(stderr,
                   "psync: id=%d warning: no packet from any peer for %lld ms: they have not started, have "
                   "finished, or cannot reach this replica (check the cluster file); waiting%s\n",
                   options_.id, (long long)((now - latest) / 1000),
                   options_.time_limit_us > 0 ? " until the time limit" : " (no --time-limit)");
    else
      std::fprintf(stderr, "psync: id=%d hearing from peers again\n", options_.id);
  }

  // Asks peers for the decisions this replica is missing: every undecided
  // instance that a peer's decided_below covers, and those whose frames
  // carried a peer's decided bit (hints, or for a running instance the peers
  // it knows to have decided). A running instance gets a while to decide
  // through the protocol first (--learn-delay is internal: 200 ms).
  void sweep_learning() {
    if (!started_) return;
    const int64_t now = now_us();
    int budget = kQueriesPerSweep;
    auto eligible = [&](uint64_t i) {
      const uint8_t st = status_[i];
      if (decided_status(st)) return false;
      if (st != Active) return true;  // not started (or below the rejoin point), or over undecided
      const int32_t s = table_.find(i);
      return s == InstanceTable::kNone || now - table_.started_us(s) >= options_.learn_delay_us;
    };
    auto ask = [&](uint64_t i, uint64_t peers) {
      for (uint64_t bits = learner_.ask(i, peers); bits; bits &= bits - 1) send_query(std::countr_zero(bits), i);
      --budget;
    };
    for (uint64_t i = decided_below(); i < options_.instances && budget > 0; ++i) {
      const uint64_t peers = learner_.peers_with_decided(i);
      if (peers == 0) break;  // decided_below is a prefix: nobody is further
      if (eligible(i)) ask(i, peers);
    }
    for (const auto& [i, peers] : learner_.take_hints())
      if (budget > 0 && eligible(i)) ask(i, peers);
    // Running instances: only those past the learn delay are read (their
    // start time is in the table, not in the instance).
    for (int32_t s = 0; s < int32_t(table_.slots()) && budget > 0; ++s) {
      if (!table_.in_use(s) || now - table_.started_us(s) < options_.learn_delay_us) continue;
      const engine::Instance& inst = table_.instance(s);
      const uint64_t peers = inst.decided_set() & ~(uint64_t{1} << options_.id);
      if (!inst.decided() && !inst.finished() && peers != 0 && eligible(table_.id(s))) ask(table_.id(s), peers);
    }
  }

  // Every instance is finished here. Peers that are behind may still need
  // our answers (or we theirs): stay while some peer heard from within
  // --stay (a peer never heard from counts from our start) reports a
  // different decided_below, then stop.
  void stay_or_stop() {
    if (shutting_down_) return;
    const int64_t now = transport_->now_us();
    bool needed = false;
    for (int32_t p = 0; p < n_ && options_.stay_us > 0; ++p) {
      if (p == options_.id) continue;
      const int64_t heard = std::max<int64_t>(transport_->session().last_heard_us(p), 0);
      if (now - heard < options_.stay_us && learner_.peer_decided_below(p) != decided_below()) needed = true;
    }
    if (!needed) {
      // A protocol without a decision (`output x: T`) has nothing to decide:
      // its instances end by halt or the round limit, which is success.
      begin_shutdown(counters_.instances_decided == options_.instances || desc_.output.kind == PSYNC_KIND_NONE ? 0 : 1);
      return;
    }
    // Peers learn our decided_below from our Hellos, whose heartbeat comes
    // every 100 ms: say it once now, so that peers finishing with us stop
    // as soon as they have heard it instead of at the next heartbeat (every
    // replica of a run used to end about 100 ms after its last decision).
    if (!announced_finish_) {
      announced_finish_ = true;
      transport_->send_farewell();
      transport_->flush_everything();
    }
    stay_timer_.expires_after(std::chrono::milliseconds(20));
    stay_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stay_or_stop();
    });
  }

  void begin_shutdown(int code) {
    if (shutting_down_) return;
    shutting_down_ = true;
    exit_code_ = code;
    commit_log();
    transport_->send_farewell();
    transport_->flush_everything();
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
    stats.add("instance_slot_bytes", uint64_t(table_.slot_bytes()));
    stats.add("peak_rss_kib", util::peak_rss_kib());
    stats.add("incarnation", incarnation_).add("rejoin_point", rejoin_).add_raw("keyed", net_.keys.keyed ? "true" : "false");
    if (log_)
      for (auto& [name, v] : store::counter_list(log_->counters())) stats.add(name, uint64_t(v));
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
  asio::steady_timer learn_timer_;
  asio::steady_timer stay_timer_;
  asio::signal_set signals_;
  std::chrono::steady_clock::time_point start_;
  int64_t wake_at_ = kNoDeadline;

  std::vector<uint8_t> status_;  // per instance id: InstanceStatus
  InstanceTable table_;
  TimerWheel wheel_;
  size_t released_ = 0;          // decided or lingering instances (not counted against the window)
  bool started_ = false;         // round 0 may begin (TCP waits for its connections)
  bool filling_ = false;
  uint64_t next_ = 0;            // next instance id to start locally
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
  uint64_t delayed_seq_ = 0;
  uint64_t fault_rng_;
  std::optional<Liar> liar_;        // --lie
  std::vector<std::byte> lie_buf_;
  std::vector<int64_t> inputs_;  // scratch: the inputs of the instance being started
  const uint64_t input_key_ = random_input_key(options_);  // fill_inputs_for_instance
  // Scratch for bytes inputs: their words point here until init has read them.
  std::vector<std::vector<int64_t>> input_buffers_;
  std::vector<std::vector<int64_t>>* input_buffers() {
    input_buffers_.clear();
    return &input_buffers_;
  }

  // Trust (docs/reliability.md).
  static constexpr int64_t kLearnSweepUs = 20'000;
  static constexpr int64_t kSilenceUs = 2'000'000;  // watch_silence
  bool silent_ = false;                             // watch_silence: warned, no peer heard since
  static constexpr int kQueriesPerSweep = 4096;
  static constexpr uint64_t kCompactLogBytes = 64ull << 20;
  DecidedValues decided_;
  Learner learner_;
  std::vector<uint64_t> fence_for_;    // per peer: it may not vote below this (it restarted without a data dir)
  std::vector<bool> heard_messages_;   // per peer: its current incarnation has sent us messages
  std::vector<bool> fence_reported_;   // per peer: its Hello naming our incarnation (and our fence) arrived
  uint64_t rejoin_ = 0;                // we vote only from here on (the highest fence reported)
  uint64_t frontier_ = 0;              // 1 + the highest instance started or heard of here
  uint64_t low_undecided_ = 0;         // every instance below is decided here
  uint64_t low_unfinished_ = 0;        // every instance below is finished here
  uint64_t incarnation_ = 0;
  std::unique_ptr<store::Log> log_;
  store::Recovered recovered_;

  engine::Counters engine_counters_;
  net::NetCounters net_counters_;
  NodeCounters counters_;
  engine::LatencyHistogram latency_;
  int64_t round_latency_p99_us_ = 0;
  int64_t adaptive_timeout_max_us_ = 0;
  int64_t turn_max_us_ = 0;  // the longest turn since the last adaptation
  DecisionWriter out_;
  bool flush_scheduled_ = false;
  std::vector<int32_t> to_settle_, settling_;
  bool settle_posted_ = false;
  std::vector<HeldFrame> held_;
  std::vector<std::byte> held_bytes_;
  std::vector<HeldFrame> early_;  // before round 0 (hold_early)
  std::vector<std::byte> early_bytes_;
  bool in_receive_batch_ = false;
  int64_t batch_now_ = 0;
  bool shutting_down_ = false;
  bool announced_finish_ = false;  // stay_or_stop has sent our decided_below to the peers
  bool stay_check_posted_ = false;  // take_hello has asked stay_or_stop to look again
  static constexpr int kMaxPrintedLogLines = 1000;
  static constexpr int kMaxPrintedRangeErrors = 10;
  int64_t log_lines_seen_ = 0;
  int64_t range_errors_seen_ = 0;
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
