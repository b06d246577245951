// baseline.cpp: the hand-written baseline of bench/rounds — a plain Boost.Asio
// program doing OneThirdRule's all-to-all lock-step exchange with no runtime,
// no ABI and no fault tolerance beyond re-sending on a stall. It is what a
// careful programmer would write by hand for a lossless loopback network, so
// the ratio node/baseline prices the runtime's generality.
//
// Each instance: every round, send x to all, wait for all n values, then the
// OneThirdRule update (Charron-Bost & Schiper, Distributed Computing 22(1),
// 2009, Algorithm 1); after deciding, run `after_decide` more rounds, like the
// node. Frames to one peer leave together, as in the node's UDP transport.
//
// Usage: rounds-baseline --id I --ports P0,P1,... [--instances K] [--window W]
//        [--seed S] [--after-decide R]
// Prints decisions as JSON lines and {"stats":{...}} on stderr at exit.
#include <utility>
#include <boost/asio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/peak_rss.h"

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

struct Msg {
  uint64_t instance;
  int32_t round;
  int32_t sender;
  int64_t value;
};

struct Inst {
  int32_t round = 0;
  int64_t x = 0;
  int64_t prev_x = 0;  // what it sent in round - 1, for re-sending
  int64_t decided_round = -1;
  uint64_t have[2] = {0, 0};  // senders heard in round, round + 1
  std::vector<int64_t> vals[2];
};

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Baseline {
 public:
  Baseline(int32_t id, std::vector<uint16_t> ports, uint64_t instances, uint64_t window, uint64_t seed, int after)
      : id_(id), n_(int32_t(ports.size())), instances_(instances), window_(window), seed_(seed), after_(after),
        socket_(io_), stall_(io_), out_(ports.size()) {
    for (uint16_t p : ports) peers_.emplace_back(asio::ip::make_address("127.0.0.1"), p);
    socket_.open(udp::v4());
    socket_.bind(peers_[size_t(id)]);
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
    socket_.non_blocking(true);
    start_ = std::chrono::steady_clock::now();
  }

  void run() {
    while (active_.size() < window_ && next_ < instances_) start(next_++);
    flush();
    wait_read();
    arm_stall();
    io_.run();
  }

  void print_stats() const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    std::fprintf(stderr,
                 "{\"stats\":{\"id\":%d,\"elapsed_us\":%lld,\"rounds_completed\":%llu,\"instances_decided\":%llu,"
                 "\"sent\":%llu,\"resends\":%llu,\"peak_rss_kib\":%llu}}\n",
                 id_, (long long)us.count(), (unsigned long long)rounds_, (unsigned long long)decided_,
                 (unsigned long long)sent_, (unsigned long long)resends_, (unsigned long long)psync::util::peak_rss_kib());
  }

 private:
  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
  }

  void start(uint64_t i) {
    Inst& in = active_[i];
    in.x = int64_t(mix(mix(seed_) ^ uint64_t(id_) * 0x100000001b3ull ^ i * 0x9E3779B97F4A7C15ull) % 100);
    in.vals[0].assign(size_t(n_), 0);
    in.vals[1].assign(size_t(n_), 0);
    send_round(i, in);
  }

  void send_round(uint64_t i, Inst& in, bool previous_too = false) {
    in.have[0] |= uint64_t{1} << id_;
    in.vals[0][size_t(id_)] = in.x;
    if (previous_too && in.round > 0) queue_to_all({i, in.round - 1, id_, in.prev_x});
    queue_to_all({i, in.round, id_, in.x});
  }

  void queue_to_all(const Msg& m) {
    for (int32_t p = 0; p < n_; ++p) {
      if (p == id_) continue;
      auto& o = out_[size_t(p)];
      const size_t at = o.size();
      o.resize(at + sizeof m);
      std::memcpy(o.data() + at, &m, sizeof m);
      if (o.size() + sizeof m > 1400) send_to(p);
      ++sent_;
    }
  }

  void send_to(int32_t p) {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(out_[size_t(p)]), peers_[size_t(p)], 0, ec);
    out_[size_t(p)].clear();
  }

  void flush() {
    for (int32_t p = 0; p < n_; ++p)
      if (!out_[size_t(p)].empty()) send_to(p);
  }

  void wait_read() {
    socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      std::byte buf[65536];
      for (int k = 0; k < 256; ++k) {
        udp::endpoint from;
        boost::system::error_code e;
        const size_t len = socket_.receive_from(asio::buffer(buf), from, 0, e);
        if (e) break;
        for (size_t off = 0; off + sizeof(Msg) <= len; off += sizeof(Msg)) {
          Msg m;
          std::memcpy(&m, buf + off, sizeof m);
          deliver(m);
        }
      }
      flush();
      if (active_.empty() && next_ >= instances_) {
        io_.stop();
        return;
      }
      wait_read();
    });
  }

  void deliver(const Msg& m) {
    if (m.sender < 0 || m.sender >= n_ || m.instance >= instances_) return;
    auto it = active_.find(m.instance);
    if (it == active_.end()) {
      if (m.instance < next_ || done_.count(m.instance)) return;  // finished here already
      start(m.instance);                                          // a peer started it first
      it = active_.find(m.instance);
    }
    Inst& in = it->second;
    const int32_t slot = m.round - in.round;
    if (slot < 0 || slot > 1) return;  // lock-step: peers are at most one round apart
    in.have[slot] |= uint64_t{1} << m.sender;
    in.vals[slot][size_t(m.sender)] = m.value;
    while (in.have[0] == (n_ >= 64 ? ~uint64_t{0} : (uint64_t{1} << n_) - 1)) {
      if (!end_round(m.instance, in)) {
        done_.emplace(m.instance, true);
        active_.erase(it);
        while (active_.size() < window_ && next_ < instances_) {
          if (!done_.count(next_) && !active_.count(next_)) start(next_);
          ++next_;
        }
        return;
      }
    }
  }

  // The OneThirdRule update over a full mailbox; false when the instance is over.
  bool end_round(uint64_t i, Inst& in) {
    ++rounds_;
    progress_ = now_us();
    int64_t best = 0;
    int32_t best_count = 0;
    for (int32_t a = 0; a < n_; ++a) {
      int32_t c = 0;
      for (int32_t b = 0; b < n_; ++b) c += in.vals[0][size_t(b)] == in.vals[0][size_t(a)];
      if (c > best_count || (c == best_count && in.vals[0][size_t(a)] < best)) {
        best = in.vals[0][size_t(a)];
        best_count = c;
      }
    }
    in.prev_x = in.x;
    in.x = best;
    if (best_count > 2 * n_ / 3 && in.decided_round < 0) {
      in.decided_round = in.round;
      ++decided_;
      std::printf("{\"id\":%d,\"instance\":%llu,\"round\":%d,\"value\":%lld,\"us\":%lld}\n", id_,
                  (unsigned long long)i, in.round, (long long)best, (long long)now_us());
    }
    if (in.decided_round >= 0 && in.round >= in.decided_round + after_) return false;
    ++in.round;
    in.have[0] = in.have[1];
    in.have[1] = 0;
    std::swap(in.vals[0], in.vals[1]);
    send_round(i, in);
    return true;
  }

  // Lossless loopback still loses the first datagrams sent before a peer has
  // bound its socket: after a stall, send the current round again, and the
  // previous one for a peer still stuck there (lock-step: at most one behind).
  void arm_stall() {
    stall_.expires_after(std::chrono::milliseconds(20));
    stall_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (now_us() - progress_ > 20'000) {
        for (auto& [i, in] : active_) {
          ++resends_;
          send_round(i, in, /*previous_too=*/true);
        }
        flush();
      }
      arm_stall();
    });
  }

  int32_t id_, n_;
  uint64_t instances_, window_, seed_;
  int after_;
  asio::io_context io_{1};
  udp::socket socket_;
  asio::steady_timer stall_;
  std::vector<udp::endpoint> peers_;
  std::vector<std::vector<std::byte>> out_;
  std::unordered_map<uint64_t, Inst> active_;
  std::unordered_map<uint64_t, bool> done_;
  uint64_t next_ = 0, rounds_ = 0, decided_ = 0, sent_ = 0, resends_ = 0;
  int64_t progress_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
  int32_t id = -1;
  std::vector<uint16_t> ports;
  uint64_t instances = 1, window = 1, seed = 1;
  int after = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--id") id = std::stoi(v);
    else if (k == "--instances") instances = std::stoull(v);
    else if (k == "--window") window = std::stoull(v);
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--after-decide") after = std::stoi(v);
    else if (k == "--ports") {
      size_t at = 0;
      while (at <= v.size()) {
        const size_t comma = v.find(',', at);
        ports.push_back(uint16_t(std::stoi(v.substr(at, comma - at))));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
    } else {
      std::fprintf(stderr, "rounds-baseline: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (id < 0 || id >= int32_t(ports.size()) || ports.size() > 64) {
    std::fprintf(stderr, "rounds-baseline: need --id I --ports P0,P1,... with I < n <= 64\n");
    return 2;
  }
  Baseline b(id, ports, instances, window, seed, after);
  b.run();
  std::fflush(stdout);
  b.print_stats();
  return 0;
}
