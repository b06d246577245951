// udp.cpp: the default transport. One socket per process; frames for the
// same peer produced while handling one batch of input leave together in as
// few datagrams as fit under max_datagram, one packet header per datagram
// (wire.h), which is what keeps many instances in flight cheap.
#include "net/transport.h"

#include <stdexcept>

namespace psync::net {

namespace asio = boost::asio;
using asio::ip::udp;

void NetCounters::count_rejected(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: break;
    case DecodeStatus::Truncated: ++truncated_dropped; break;
    case DecodeStatus::BadMagic: ++bad_magic_dropped; break;
    case DecodeStatus::BadVersion: ++bad_version_dropped; break;
    case DecodeStatus::BadKind: ++bad_kind_dropped; break;
    case DecodeStatus::WrongFingerprint: ++wrong_fingerprint_dropped; break;
    case DecodeStatus::UnknownSender: ++unknown_sender_dropped; break;
    case DecodeStatus::BadRound: ++bad_round_dropped; break;
    case DecodeStatus::Oversized: ++oversized_dropped; break;
    case DecodeStatus::BadEncoding: ++bad_encoding_dropped; break;
  }
}

std::vector<std::pair<const char*, uint64_t>> counter_list(const NetCounters& c) {
  std::vector<std::pair<const char*, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, c.name);
  PSYNC_NET_COUNTERS(PSYNC_X)
#undef PSYNC_X
  return out;
}

namespace {

class UdpTransport final : public Transport {
 public:
  UdpTransport(asio::io_context& io, const NetConfig& config, FrameHandler on_frame, NetCounters& counters)
      : io_(io), config_(config), on_frame_(std::move(on_frame)), counters_(counters), socket_(io),
        pending_(size_t(config.n)), prev_instance_(size_t(config.n), 0), buffer_(65536) {
    for (const Peer& p : config_.peers) endpoints_.emplace_back(p.address, p.port);
    limits_ = {config_.fingerprint, config_.n, config_.max_payload};
  }

  void start() override {
    const udp::endpoint& mine = endpoints_[size_t(config_.me)];
    boost::system::error_code ec;
    socket_.open(mine.protocol(), ec);
    if (!ec) socket_.set_option(udp::socket::reuse_address(false), ec);
    if (!ec) socket_.bind(mine, ec);
    if (ec)
      throw std::runtime_error("cannot bind UDP " + mine.address().to_string() + ":" +
                               std::to_string(mine.port()) + ": " + ec.message());
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
    socket_.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
    socket_.non_blocking(true);
    wait_for_datagrams();
  }

  int32_t reachable_peers() const override { return config_.n - 1; }

  void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) override {
    std::vector<std::byte>& out = pending_[size_t(to)];
    uint64_t& prev = prev_instance_[size_t(to)];
    if (!out.empty() && out.size() + frame_size(h, payload.size(), prev) > config_.max_datagram) send_pending(to);
    if (out.empty()) {
      encode_packet_header({PacketKind::Messages, config_.fingerprint, config_.me}, out);
      prev = 0;
    }
    encode_frame(h, payload, prev, out);
    ++counters_.frames_sent;
    if (!flush_posted_ && !in_batch_) {
      flush_posted_ = true;
      asio::post(io_, [this, alive = alive_] {
        if (*alive) flush();
      });
    }
  }

  void flush() override {
    flush_posted_ = false;
    for (int32_t to = 0; to < config_.n; ++to)
      if (!pending_[size_t(to)].empty()) send_pending(to);
  }

  void stop() override {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  ~UdpTransport() override { *alive_ = false; }

 private:
  void send_pending(int32_t to) {
    std::vector<std::byte>& out = pending_[size_t(to)];
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(out.data(), out.size()), endpoints_[size_t(to)], 0, ec);
    if (ec) {
      ++counters_.send_errors;  // UDP may lose it anyway; rounds tolerate loss
    } else {
      ++counters_.datagrams_sent;
      counters_.bytes_sent += out.size();
    }
    out.clear();
  }

  void wait_for_datagrams() {
    socket_.async_wait(udp::socket::wait_read, [this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;  // closed
      in_batch_ = true;
      drain_socket();
      if (batch_end_) batch_end_();
      in_batch_ = false;
      flush();
      wait_for_datagrams();
    });
  }

  // Reads what is queued without going back to the reactor for each datagram.
  void drain_socket() {
    for (int i = 0; i < 256; ++i) {
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t len = socket_.receive_from(asio::buffer(buffer_.data(), buffer_.size()), from, 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return;
      if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
      ++counters_.datagrams_received;
      counters_.bytes_received += len;
      accept_datagram(from, std::span<const std::byte>(buffer_.data(), len));
    }
  }

  void accept_datagram(const udp::endpoint& from, std::span<const std::byte> bytes) {
    int32_t peer = -1;
    for (size_t i = 0; i < endpoints_.size(); ++i)
      if (endpoints_[i] == from) peer = int32_t(i);
    if (peer < 0 || peer == config_.me) {
      ++counters_.unknown_peer_dropped;
      return;
    }
    // One packet per datagram: its header names the sender, which must be
    // the one of the source address. After a bad frame the rest of the
    // datagram is dropped: its frame boundaries cannot be trusted.
    PacketHeader ph;
    DecodeStatus s = decode_packet_header(bytes, limits_, ph);
    if (s == DecodeStatus::Ok && ph.kind != PacketKind::Messages) s = DecodeStatus::BadKind;  // Hello: TCP only
    if (s != DecodeStatus::Ok) {
      counters_.count_rejected(s);
      return;
    }
    if (ph.sender != peer) {
      ++counters_.sender_mismatch_dropped;
      return;
    }
    s = decode_packet(bytes, limits_, ph, [&](const WireHeader& h, std::span<const std::byte> payload) {
      ++counters_.frames_received;
      on_frame_(h, payload);
      return true;
    });
    if (s != DecodeStatus::Ok) counters_.count_rejected(s);
  }

  asio::io_context& io_;
  const NetConfig& config_;
  FrameHandler on_frame_;
  NetCounters& counters_;
  udp::socket socket_;
  std::vector<udp::endpoint> endpoints_;
  std::vector<std::vector<std::byte>> pending_;
  std::vector<uint64_t> prev_instance_;  // per peer: last instance in its pending packet
  std::vector<std::byte> buffer_;
  DecodeLimits limits_;
  bool flush_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards queued handlers
};

}  // namespace

std::unique_ptr<Transport> make_udp_transport(asio::io_context& io, const NetConfig& config, FrameHandler on_frame,
                                              NetCounters& counters) {
  return std::make_unique<UdpTransport>(io, config, std::move(on_frame), counters);
}

}  // namespace psync::net
