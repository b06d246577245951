// udp.cpp: the default transport. One socket per process; frames for the
// same peer produced while handling one batch of input leave together in as
// few datagrams as fit under max_datagram, one packet header and MAC per
// datagram (wire.h), which is what keeps many instances in flight cheap.
// Datagrams are sealed and sent only in flush(), after the node's group
// commit (before_send), never from inside send().
//
// Segmentation offload (Linux UDP GSO and GRO, on unless
// NetConfig::segment_offload is off): a flush's datagrams for one peer
// leave in one sendmsg that the kernel cuts into max_datagram-byte
// datagrams (UDP_SEGMENT), and a receiver that enabled UDP_GRO (once a
// drain has read 8 datagrams: a replica that gets one at a time reads
// faster with recvfrom) takes such a batch in one recvmsg. Over loopback
// the batch crosses the stack as one packet; per-datagram work in the
// kernel (and the peer's wake-ups) was most of a busy replica's system
// time. Every datagram of a batch but the last must fill its segment, so
// one that closed short of max_datagram is padded (wire.h, kPadding); each
// is still a packet of its own on the wire, with its header and MAC, for a
// receiver without GRO. A kernel that refuses (no UDP_SEGMENT, or a route
// whose MTU is below max_datagram) turns the offload off and the datagrams
// go one by one.
#include "net/transport.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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
    enable_offload();
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
      close_datagram(to, /*fill=*/true);  // more for this peer follows
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
      if (pending_[size_t(to)].size != 0) close_datagram(to, /*fill=*/false);
    if (ready_.empty()) return;
    run_before_send();
    for (Datagram& d : ready_) session_.seal(d.to, std::span<std::byte>(d.bytes.get(), d.size));
    if (segment_size_ != 0) {
      send_in_batches();
    } else {
      for (const Datagram& d : ready_) send_datagram(d.to, std::span<const std::byte>(d.bytes.get(), d.size));
    }
    for (Datagram& d : ready_)
      if (spare_.size() < kMaxSpare) spare_.push_back(std::move(d.bytes));
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
  // then it waits for flush(). One that more datagrams for the same peer
  // follow (`fill`) is padded to max_datagram when batches are on, so that
  // it fills its segment.
  void close_datagram(int32_t to, bool fill) {
    Datagram& d = pending_[size_t(to)];
    if (fill && segment_size_ != 0 && d.size + kMacSize < segment_size_) {
      write_padding(d.bytes.get() + d.size, segment_size_ - kMacSize - d.size);
      d.size = segment_size_ - kMacSize;
      ++counters_.datagrams_padded;
    }
    ready_.push_back({std::move(d.bytes), d.size + kMacSize, 0, to});
    d.size = 0;
  }

  // Turns segmentation offload on for sending if the configuration asks for
  // it and the kernel has it (GSO, probed with the socket option and then
  // given per send: a datagram sent alone must not be cut, one frame may
  // exceed max_datagram). GRO, to take batches in, waits for the first
  // drain that reads kGroAfter datagrams (maybe_enable_gro).
  void enable_offload() {
    if (!config_.segment_offload) return;
    const int fd = socket_.native_handle();
    const size_t per_batch = std::min<size_t>(kMaxSegments, kMaxBatchBytes / config_.max_datagram);
    if (per_batch < 2) return;
    int size = int(config_.max_datagram);
    if (::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0) return;
    size = 0;
    ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size);
    segment_size_ = config_.max_datagram;
    segments_per_batch_ = per_batch;
  }

  // The sealed datagrams of ready_, each peer's in as few sendmsg calls as
  // segmentation allows: a batch takes datagrams in order while each before
  // the newest filled its segment, up to segments_per_batch_.
  void send_in_batches() {
    for (int32_t to = 0; to < config_.n; ++to) {
      size_t count = 0, bytes = 0;
      bool full = false;  // every datagram in the batch fills its segment
      for (const Datagram& d : ready_) {
        if (d.to != to) continue;
        if (count != 0 && (!full || d.size > segment_size_ || count == segments_per_batch_)) {
          send_batch(to, count, bytes);
          count = bytes = 0;
        }
        iov_[count++] = {d.bytes.get(), d.size};
        bytes += d.size;
        full = d.size == segment_size_;
      }
      if (count != 0) send_batch(to, count, bytes);
    }
  }

  // iov_[0, count): datagrams for `to`, one sendmsg. Should the kernel
  // refuse the segmentation (EINVAL: a route MTU below the segment; EIO: a
  // device without checksum offload), offload is turned off for good and
  // these go one by one.
  void send_batch(int32_t to, size_t count, size_t bytes) {
    if (count == 1) {
      send_datagram(to, std::span<const std::byte>(static_cast<const std::byte*>(iov_[0].iov_base), iov_[0].iov_len));
      return;
    }
    const udp::endpoint& dest = endpoints_[size_t(to)];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = const_cast<void*>(static_cast<const void*>(dest.data()));
    msg.msg_namelen = socklen_t(dest.size());
    msg.msg_iov = iov_;
    msg.msg_iovlen = count;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t segment = uint16_t(segment_size_);
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    ssize_t sent;
    do sent = ::sendmsg(socket_.native_handle(), &msg, 0);
    while (sent < 0 && errno == EINTR);
    if (sent >= 0) {
      ++counters_.datagram_batches_sent;
      counters_.datagrams_sent += count;
      counters_.bytes_sent += bytes;
      return;
    }
    if (errno == EINVAL || errno == EIO || errno == EOPNOTSUPP || errno == ENOPROTOOPT) {
      ++counters_.segment_offload_failures;
      segment_size_ = 0;
      for (size_t i = 0; i < count; ++i)
        send_datagram(to, std::span<const std::byte>(static_cast<const std::byte*>(iov_[i].iov_base), iov_[i].iov_len));
      return;
    }
    counters_.send_errors += count;  // UDP may lose them anyway; rounds tolerate loss
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

  // Reads what is queued without going back to the reactor for each
  // datagram. Until GRO is on, with recvfrom (asio's receive_from): a
  // replica that gets a datagram at a time (`--window 1`) reads no faster
  // with recvmsg and its control buffer, and measurably slower (3 % of
  // OneThirdRule's CPU per instance at n = 3, bench/README.md, "Wave 13").
  void drain_socket() {
    if (gro_) {
      drain_batches();
      return;
    }
    size_t read = 0;
    for (size_t i = 0; i < kMaxDrain; ++i) {
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t len = socket_.receive_from(asio::buffer(buffer_.data(), buffer_.size()), from, 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
      ++read;
      take_datagram(from, std::span<const std::byte>(buffer_.data(), len));
    }
    if (read >= kGroAfter) maybe_enable_gro();
  }

  // One received datagram, alone or cut from a GRO batch: counted, handed
  // up, and maybe taken again later (--duplicate).
  void take_datagram(const udp::endpoint& from, std::span<const std::byte> datagram) {
    ++counters_.datagrams_received;
    counters_.bytes_received += datagram.size();
    accept_datagram(from, datagram);
    maybe_echo(from, datagram);
  }

  // GRO on, once a drain has read kGroAfter datagrams: peers send batches
  // (and this socket, until now, got them cut into datagrams by the
  // kernel). For good: a batch queued whole while GRO was on must be read
  // with its segment size, so reads stay with drain_batches. A kernel
  // without UDP_GRO (before 5.0) keeps handing datagrams one by one.
  void maybe_enable_gro() {
    if (gro_tried_ || !config_.segment_offload) return;
    gro_tried_ = true;
    const int one = 1;
    gro_ = ::setsockopt(socket_.native_handle(), SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  }

  // drain_socket with GRO on: one read may hold a batch, datagrams of the
  // size the kernel reports (the last may be shorter), each a packet of its
  // own. A drain takes kMaxDrain datagrams at most, batched or not, as
  // drain_socket does: a turn that read 256 batches of 46 could last long
  // enough for peers' rounds to time out while their answers wait for the
  // flush at its end.
  void drain_batches() {
    const int fd = socket_.native_handle();
    for (size_t taken = 0; taken < kMaxDrain;) {
      udp::endpoint from;
      iovec iov{buffer_.data(), buffer_.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
      msghdr msg{};
      msg.msg_name = from.data();
      msg.msg_namelen = socklen_t(from.capacity());
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t got = ::recvmsg(fd, &msg, MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        ++taken;  // EINTR, or e.g. ICMP port unreachable reported on the socket: bounded too
        continue;
      }
      from.resize(msg.msg_namelen);
      const size_t len = size_t(got);
      size_t segment = len;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        if (size > 0) segment = std::min(len, size_t(size));
      }
      if (segment < len) ++counters_.datagram_batches_received;
      size_t at = 0;
      do {  // once at least: an empty datagram is a (truncated) packet too
        const std::span<const std::byte> datagram(buffer_.data() + at, std::min(segment, len - at));
        take_datagram(from, datagram);
        at += datagram.size();
        ++taken;
      } while (at < len);
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
  // Segmentation offload (enable_offload): the segment size, 0 when off.
  // Linux takes at most 64 segments (UDP_MAX_SEGMENTS before 6.x) and an
  // IPv4 datagram's 65,507 bytes per send.
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxBatchBytes = 65000;
  size_t segment_size_ = 0;
  size_t segments_per_batch_ = 0;
  static constexpr size_t kMaxDrain = 256;  // datagrams per drain (one turn)
  static constexpr size_t kGroAfter = 8;
  bool gro_ = false;
  bool gro_tried_ = false;
  iovec iov_[kMaxSegments] = {};
  uint64_t echo_rng_ = config_.fault_seed ^ 0x9e3779b97f4a7c15ULL;
};

}  // namespace

std::unique_ptr<Transport> make_udp_transport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet,
                                              NetCounters& counters) {
  return std::make_unique<UdpTransport>(io, config, std::move(on_packet), counters);
}

}  // namespace psync::net
