// udp.cpp: the default transport. One socket per process; frames for the
// same peer produced while handling one batch of input leave together in as
// few datagrams as fit under max_datagram, one packet header and MAC per
// datagram (wire.h), which is what keeps many instances in flight cheap.
// Datagrams are sealed and sent only in flush(), after the node's group
// commit (before_send), never from inside send().
#include "net/transport.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace psync::net {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

class UdpTransport final : public Transport {
 public:
  UdpTransport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet, NetCounters& counters)
      : Transport(io, config, std::move(on_packet), counters), socket_(io), pending_(size_t(config.n)),
        capacity_(std::max(config.max_datagram, kPacketHeaderSize + kMacSize) + kMaxFrameOverhead +
                  std::max<size_t>({config.max_payload, kMaxAnswerValue, kMaxDecidedBitmap})),
        buffer_(65536) {
    for (const Peer& p : config_.peers) endpoints_.emplace_back(p.address, p.port);
  }

  ~UdpTransport() override { *alive_ = false; }

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
    send_due_hellos();
  }

  int32_t reachable_peers() const override { return session_.complete_count(); }

  // Encodes the frame straight into the peer's open datagram; if it went
  // past max_datagram, the datagram is closed without it and it is encoded
  // again into a new one (its instance delta starts afresh). A frame alone
  // may exceed max_datagram: it still goes, alone.
  void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) override {
    if (!session_.can_send(to)) {
      ++counters_.handshake_pending_dropped;
      return;
    }
    Datagram& d = pending_[size_t(to)];
    if (d.size == 0) open_datagram(d);
    uint64_t prev = d.prev_instance;
    size_t end = size_t(write_frame(d.bytes.get() + d.size, h, payload, prev) - d.bytes.get());
    if (end + kMacSize > config_.max_datagram && d.size > kPacketHeaderSize) {
      close_datagram(to);
      open_datagram(d);
      prev = 0;
      end = size_t(write_frame(d.bytes.get() + d.size, h, payload, prev) - d.bytes.get());
    }
    d.size = end;
    d.prev_instance = prev;
    ++counters_.frames_sent;
    schedule_flush();
  }

  bool has_frames_for(int32_t to) const override { return pending_[size_t(to)].size != 0; }

  void flush() override {
    flush_posted_ = true;  // the Decided frames made here leave with this flush
    send_gathered_notices();
    flush_posted_ = false;
    for (int32_t to = 0; to < config_.n; ++to)
      if (pending_[size_t(to)].size != 0) close_datagram(to);
    if (ready_.empty()) return;
    run_before_send();
    for (Datagram& d : ready_) {
      const std::span<std::byte> packet(d.bytes.get(), d.size);
      session_.seal(d.to, packet);
      send_datagram(d.to, packet);
      if (spare_.size() < kMaxSpare) spare_.push_back(std::move(d.bytes));
    }
    ready_.clear();
  }

  void stop() override {
    stopped_ = true;
    cancel_timers();
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  // A datagram being filled or waiting to be sealed: a buffer of capacity_
  // bytes (never value-initialised, reused from spare_), of which `size` are
  // used.
  struct Datagram {
    std::unique_ptr<std::byte[]> bytes;
    size_t size = 0;
    uint64_t prev_instance = 0;  // the last frame's instance (frames are delta-encoded)
    int32_t to = 0;
  };

  void open_datagram(Datagram& d) {
    if (!d.bytes) {
      if (!spare_.empty()) {  // a sent datagram's buffer: no allocation per datagram
        d.bytes = std::move(spare_.back());
        spare_.pop_back();
      } else {
        d.bytes.reset(new std::byte[capacity_]);
      }
    }
    const PacketHeader ph{PacketKind::Messages, config_.fingerprint, config_.me, 0, 0, 0};
    d.size = size_t(write_packet_header(d.bytes.get(), ph) - d.bytes.get());
    d.prev_instance = 0;
  }

  // The datagram for `to` is full (or the turn is over): room for its MAC,
  // then it waits for flush().
  void close_datagram(int32_t to) {
    Datagram& d = pending_[size_t(to)];
    ready_.push_back({std::move(d.bytes), d.size + kMacSize, 0, to});
    d.size = 0;
  }

  void send_datagram(int32_t to, std::span<const std::byte> packet) {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(packet.data(), packet.size()), endpoints_[size_t(to)], 0, ec);
    if (ec) {
      ++counters_.send_errors;  // UDP may lose it anyway; rounds tolerate loss
    } else {
      ++counters_.datagrams_sent;
      counters_.bytes_sent += packet.size();
    }
  }

  void send_hello_packet(int32_t peer, std::vector<std::byte>&& packet) override {
    if (!stopped_) send_datagram(peer, packet);
  }

  void wait_for_datagrams() {
    socket_.async_wait(udp::socket::wait_read, [this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive || stopped_) return;  // closed
      in_batch_ = true;
      const uint64_t before = counters_.datagrams_received;
      drain_socket();
      if (counters_.datagrams_received != before) ++counters_.receive_batches;
      if (batch_end_) batch_end_();
      in_batch_ = false;
      flush();
      send_due_hellos();  // replies owed to this batch's Hellos
      if (!echoes_.empty()) take_echoes_later();
      wait_for_datagrams();
    });
  }

  // --duplicate: a copy of a received datagram, kept for a later batch (the
  // network duplicated it, and the copy arrives after what followed it).
  static constexpr size_t kMaxEchoes = 1024;
  void maybe_echo(const udp::endpoint& from, std::span<const std::byte> bytes) {
    if (config_.duplicate <= 0 || echoes_.size() >= kMaxEchoes) return;
    echo_rng_ = echo_rng_ * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG (Knuth, MMIX)
    if (double(echo_rng_ >> 11) * 0x1.0p-53 >= config_.duplicate) return;
    ++counters_.injected_duplicates;
    echoes_.emplace_back(from, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  void take_echoes_later() {
    asio::post(io_, [this, alive = alive_] {
      if (!*alive || stopped_) return;
      std::vector<std::pair<udp::endpoint, std::vector<std::byte>>> batch;
      batch.swap(echoes_);
      in_batch_ = true;
      for (const auto& [from, bytes] : batch) accept_datagram(from, bytes);
      if (batch_end_) batch_end_();
      in_batch_ = false;
      flush();
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
      maybe_echo(from, std::span<const std::byte>(buffer_.data(), len));
    }
  }

  void accept_datagram(const udp::endpoint& from, std::span<const std::byte> bytes) {
    if (!session_.keyed()) {
      // Keyless: the source address is the only evidence of the sender, so
      // it must be a member's and match the packet's sender id. With keys,
      // the MAC proves the sender wherever the datagram comes from.
      int32_t peer = -1;
      for (size_t i = 0; i < endpoints_.size(); ++i)
        if (endpoints_[i] == from) peer = int32_t(i);
      if (peer < 0 || peer == config_.me) {
        ++counters_.unknown_peer_dropped;
        return;
      }
      PacketHeader ph;
      if (decode_packet_header(bytes, session_.limits(), ph) == DecodeStatus::Ok && ph.sender != peer) {
        ++counters_.sender_mismatch_dropped;
        return;
      }
    }
    int32_t peer = -1;
    PacketKind kind = PacketKind::Messages;
    accept_packet(bytes, peer, kind);
  }

  udp::socket socket_;
  std::vector<udp::endpoint> endpoints_;
  std::vector<Datagram> pending_;  // per peer: the datagram taking frames
  std::vector<Datagram> ready_;    // closed datagrams, unsealed
  // Room for a full datagram plus the largest frame (written before it is
  // known not to fit).
  size_t capacity_;
  // Buffers of sent datagrams, for the next ones: a turn sends a few dozen
  // datagrams, so a few dozen are kept.
  static constexpr size_t kMaxSpare = 64;
  std::vector<std::unique_ptr<std::byte[]>> spare_;
  std::vector<std::byte> buffer_;
  std::vector<std::pair<udp::endpoint, std::vector<std::byte>>> echoes_;  // --duplicate
  uint64_t echo_rng_ = config_.fault_seed ^ 0x9e3779b97f4a7c15ULL;
};

}  // namespace

std::unique_ptr<Transport> make_udp_transport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet,
                                              NetCounters& counters) {
  return std::make_unique<UdpTransport>(io, config, std::move(on_packet), counters);
}

}  // namespace psync::net
