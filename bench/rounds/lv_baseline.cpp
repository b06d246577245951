// lv_baseline.cpp: the hand-written LastVoting replica of bench/rounds — what
// a careful programmer writes for many Paxos instances in flight on a
// lossless loopback network, with no runtime, no ABI and no fault tolerance
// beyond re-sending on a stall. It is the baseline lv-psyncc is held to.
//
// One phase of LastVoting (Charron-Bost & Schiper, "The Heard-Of model",
// Distributed Computing 22(1), 2009, Algorithm 4; PSync, POPL 2016, Fig. 3),
// coordinator phase % n = 0, as examples/last_voting.psync runs it:
//   collect  every process sends (x, ts) to the coordinator, which waits for
//            a majority (itself included) and votes the x with the newest ts;
//   propose  the coordinator sends its vote to all; each adopts it (ts = 0);
//   ack      each sends an ack to the coordinator, which waits for a majority;
//   decide   the coordinator sends the vote to all; everyone decides.
// A process is done with an instance once it has decided; the next one
// starts then (at most --window started locally and undecided). Everything
// a process sends to one peer in one turn of the event loop leaves in as few
// datagrams as fit in 1400 bytes. Decided values go to a log (as in a
// replicated log), so the coordinator can answer a peer that lost a decide
// however far behind it is; after its last decision a process lingers until
// 100 ms pass without traffic. elapsed_us in the stats is the time of the
// last decision, so the lingering does not count against the baseline.
//
// Usage: lv-baseline --id I --ports P0,P1,... [--instances K] [--window W] [--seed S]
// Prints decisions as JSON lines and {"stats":{...}} on stderr at exit.
#include <utility>
#include <boost/asio.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "util/peak_rss.h"

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

enum Kind : uint8_t { Collect, Propose, Ack, Decide };

struct Msg {
  uint64_t instance;
  int64_t value;
  int32_t ts;
  uint8_t kind;
  uint8_t sender;
  uint8_t resend = 0;  // sent again after a stall (only those get a late decide)
  uint8_t pad = 0;
};
static_assert(sizeof(Msg) == 24);

enum Phase : uint8_t { Free, WaitPropose, WaitDecide, Collecting, Acking, Done };

struct Inst {
  uint64_t id = 0;
  Phase phase = Free;
  int64_t x = 0;
  int32_t ts = -1;
  int64_t vote = 0;      // coordinator: the value with the newest ts so far
  int32_t vote_ts = -1;
  uint64_t heard = 0;    // coordinator: senders of collect, then of ack
  int64_t since = 0;     // when it entered its phase (us): re-sent after 20 ms
};

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class LastVoting {
 public:
  LastVoting(int32_t id, std::vector<uint16_t> ports, uint64_t instances, uint64_t window, uint64_t seed)
      : id_(id), n_(int32_t(ports.size())), instances_(instances), window_(window), seed_(seed), socket_(io_),
        stall_(io_), out_(ports.size()) {
    for (uint16_t p : ports) peers_.emplace_back(asio::ip::make_address("127.0.0.1"), p);
    socket_.open(udp::v4());
    socket_.bind(peers_[size_t(id)]);
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
    socket_.non_blocking(true);
    // Instances in flight are within a few windows of each other: a ring of
    // four windows indexed by instance id holds them (and the decided values
    // of recent ones, to answer a peer that missed a decide).
    size_t size = 64;
    while (size < 4 * window) size *= 2;
    ring_.resize(size);
    log_.assign(instances, kUndecided);
    start_ = std::chrono::steady_clock::now();
  }

  void run() {
    fill_window();
    flush();
    wait_read();
    arm_stall();
    io_.run();
  }

  void print_stats() const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    std::fprintf(stderr,
                 "{\"stats\":{\"id\":%d,\"elapsed_us\":%lld,\"rounds_completed\":%llu,\"instances_decided\":%llu,"
                 "\"sent\":%llu,\"datagrams_sent\":%llu,\"resends\":%llu,\"peak_rss_kib\":%llu}}\n",
                 id_, (long long)(decided_ == instances_ ? progress_ : us.count()), (unsigned long long)(4 * decided_), (unsigned long long)decided_,
                 (unsigned long long)sent_, (unsigned long long)datagrams_, (unsigned long long)resends_, (unsigned long long)psync::util::peak_rss_kib());
  }

 private:
  bool coordinator() const { return id_ == 0; }  // phase 0: coord = 0 % n
  int32_t majority() const { return n_ / 2 + 1; }

  Inst* slot(uint64_t i) { return &ring_[i & (ring_.size() - 1)]; }

  static constexpr int64_t kUndecided = INT64_MIN;

  void fill_window() {
    while (in_flight_ < window_ && next_ < instances_) {
      const uint64_t i = next_;
      Inst* in = slot(i);
      // Started here already by a peer's message, or decided: skip it. A slot
      // still held by an undecided older instance: try again next turn.
      if (!(in->id == i && in->phase != Free) && log_[i] == kUndecided && start(i) == nullptr) break;
      ++next_;
    }
  }

  // Starts instance i (locally, or because a peer's message names it).
  Inst* start(uint64_t i) {
    Inst* in = slot(i);
    if (in->phase != Free && in->phase != Done) return nullptr;  // ring full: the peer will resend
    *in = Inst{};
    in->id = i;
    in->since = now_;
    highest_ = std::max(highest_, i);
    in->x = int64_t(mix(mix(seed_) ^ uint64_t(id_) * 0x100000001b3ull ^ i * 0x9E3779B97F4A7C15ull) % 100);
    ++in_flight_;
    if (coordinator()) {
      in->phase = Collecting;
      in->heard = uint64_t{1} << id_;
      in->vote = in->x;
      in->vote_ts = in->ts;
    } else {
      in->phase = WaitPropose;
      queue(0, {i, in->x, in->ts, Collect, uint8_t(id_)});
    }
    return in;
  }

  void queue(int32_t to, const Msg& m) {
    auto& o = out_[size_t(to)];
    const size_t at = o.size();
    o.resize(at + sizeof m);
    std::memcpy(o.data() + at, &m, sizeof m);
    ++sent_;
    if (o.size() + sizeof m > 1400) send_to(to);
  }

  void queue_to_others(const Msg& m) {
    for (int32_t p = 0; p < n_; ++p)
      if (p != id_) queue(p, m);
  }

  void send_to(int32_t p) {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(out_[size_t(p)]), peers_[size_t(p)], 0, ec);
    ++datagrams_;
    out_[size_t(p)].clear();
  }

  void flush() {
    for (int32_t p = 0; p < n_; ++p)
      if (!out_[size_t(p)].empty()) send_to(p);
  }

  void wait_read() {
    socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      now_ = now_us();
      for (int k = 0; k < 256; ++k) {
        udp::endpoint from;
        boost::system::error_code e;
        const size_t len = socket_.receive_from(asio::buffer(buf_), from, 0, e);
        if (e) break;
        for (size_t off = 0; off + sizeof(Msg) <= len; off += sizeof(Msg)) {
          Msg m;
          std::memcpy(&m, buf_ + off, sizeof m);
          deliver(m);
        }
      }
      fill_window();
      flush();
      heard_ = now_;
      wait_read();
    });
  }

  // Decides instance i, started here or not (a decide from the coordinator
  // needs no slot: the replica may be far behind).
  void decide(uint64_t i, int64_t v) {
    Inst* in = slot(i);
    if (in->id == i && in->phase != Free && in->phase != Done) {
      in->phase = Done;
      in->x = v;
      --in_flight_;
    }
    log_[i] = v;
    ++decided_;
    progress_ = now_;
    std::printf("{\"id\":%d,\"instance\":%llu,\"round\":3,\"value\":%lld,\"us\":%lld}\n", id_,
                (unsigned long long)i, (long long)v, (long long)now_);
  }

  void deliver(const Msg& m) {
    if (m.sender >= n_ || m.instance >= instances_) return;
    if (log_[m.instance] != kUndecided) {
      // A peer re-sending after a stall missed the decide (a lost datagram);
      // first sends that merely arrive late need no answer.
      if (coordinator() && m.resend && (m.kind == Ack || m.kind == Collect))
        queue(m.sender, {m.instance, log_[m.instance], 0, Decide, uint8_t(id_)});
      return;
    }
    if (m.kind == Decide) {
      decide(m.instance, m.value);
      return;
    }
    Inst* in = slot(m.instance);
    if (in->id != m.instance || in->phase == Free || in->phase == Done) {
      if (m.instance + ring_.size() / 2 < highest_) return;  // long over here: a stray resend
      if ((in = start(m.instance)) == nullptr) return;
    }
    switch (m.kind) {
      case Collect:
        if (in->phase != Collecting) return;
        in->heard |= uint64_t{1} << m.sender;
        if (m.ts > in->vote_ts) {
          in->vote = m.value;
          in->vote_ts = m.ts;
        }
        if (std::popcount(in->heard) >= majority()) {
          in->x = in->vote;
          in->ts = 0;
          in->phase = Acking;
          in->since = now_;
          in->heard = uint64_t{1} << id_;  // its own ack
          queue_to_others({in->id, in->vote, 0, Propose, uint8_t(id_)});
        }
        break;
      case Propose:
        if (in->phase != WaitPropose) return;
        in->x = m.value;
        in->ts = 0;
        in->phase = WaitDecide;
        in->since = now_;
        queue(m.sender, {in->id, in->x, 0, Ack, uint8_t(id_)});
        break;
      case Ack:
        if (in->phase != Acking) return;
        in->heard |= uint64_t{1} << m.sender;
        if (std::popcount(in->heard) >= majority()) {
          queue_to_others({in->id, in->vote, 0, Decide, uint8_t(id_)});
          decide(in->id, in->vote);
        }
        break;
      case Decide: break;  // handled above
    }
  }

  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
  }

  // Loopback loses the datagrams sent before a peer has bound its socket and
  // those that overflow a busy receiver's buffer: every 20 ms, send again the
  // last message of each instance that has waited in its phase that long.
  void arm_stall() {
    stall_.expires_after(std::chrono::milliseconds(20));
    stall_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      now_ = now_us();
      if (decided_ == instances_ && now_ - heard_ > 100'000) {
        io_.stop();
        return;
      }
      for (Inst& in : ring_) {
        if (now_ - in.since < 20'000) continue;
        in.since = now_;
        switch (in.phase) {
          case WaitPropose: queue(0, {in.id, in.x, in.ts, Collect, uint8_t(id_), 1}); break;
          case WaitDecide: queue(0, {in.id, in.x, 0, Ack, uint8_t(id_), 1}); break;
          case Acking: queue_to_others({in.id, in.vote, 0, Propose, uint8_t(id_), 1}); break;
          default: continue;
        }
        ++resends_;
      }
      flush();
      arm_stall();
    });
  }

  int32_t id_, n_;
  uint64_t instances_, window_, seed_;
  asio::io_context io_{1};
  udp::socket socket_;
  asio::steady_timer stall_;
  std::vector<udp::endpoint> peers_;
  std::vector<std::vector<std::byte>> out_;
  std::vector<Inst> ring_;
  std::vector<int64_t> log_;  // decided values by instance (kUndecided until then)
  std::byte buf_[65536];
  uint64_t next_ = 0, highest_ = 0, in_flight_ = 0, decided_ = 0, sent_ = 0, datagrams_ = 0, resends_ = 0;
  int64_t now_ = 0, progress_ = 0, heard_ = 0;  // this turn, last decision, last datagram (us)
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
  int32_t id = -1;
  std::vector<uint16_t> ports;
  uint64_t instances = 1, window = 1, seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--id") id = std::stoi(v);
    else if (k == "--instances") instances = std::stoull(v);
    else if (k == "--window") window = std::stoull(v);
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--ports") {
      size_t at = 0;
      while (at <= v.size()) {
        const size_t comma = v.find(',', at);
        ports.push_back(uint16_t(std::stoi(v.substr(at, comma - at))));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
    } else {
      std::fprintf(stderr, "lv-baseline: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (id < 0 || id >= int32_t(ports.size()) || ports.size() > 64 || ports.size() < 2) {
    std::fprintf(stderr, "lv-baseline: need --id I --ports P0,P1,... with I < n, 2 <= n <= 64\n");
    return 2;
  }
  auto* lv = new LastVoting(id, ports, instances, window, seed);  // 64 KiB receive buffer: not on the stack
  lv->run();
  std::fflush(stdout);
  lv->print_stats();
  return 0;
}
