// tcp.cpp: the TCP transport. Each process connects out to every peer and
// writes its packets there (each behind a 4-byte length); it reads packets
// from the connections its peers opened. The first packet on a connection is
// a Hello naming the sender,
// checked against the connection's source address. A broken outgoing
// connection is re-dialled with exponential backoff; frames queued meanwhile
// wait (up to max_tcp_queue bytes), since rounds tolerate loss but not a
// stalled writer.
#include "net/transport.h"

#include <cstring>
#include <set>
#include <stdexcept>

namespace psync::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr int kFirstBackoffMs = 5;
constexpr int kMaxBackoffMs = 200;

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::io_context& io, const NetConfig& config, FrameHandler on_frame, NetCounters& counters)
      : io_(io), config_(config), on_frame_(std::move(on_frame)), counters_(counters), acceptor_(io) {
    limits_ = {config_.fingerprint, config_.n, config_.max_payload};
    for (int32_t i = 0; i < config_.n; ++i) out_.push_back(std::make_unique<Outgoing>(io, i));
  }

  ~TcpTransport() override {
    stop();
    *alive_ = false;  // handlers still queued in the io_context must not touch us
  }

  void start() override {
    const Peer& me = config_.peers[size_t(config_.me)];
    const tcp::endpoint ep(me.address, me.port);
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen on TCP " + me.address.to_string() + ":" + std::to_string(me.port) +
                               ": " + ec.message());
    accept_next();
    for (int32_t i = 0; i < config_.n; ++i)
      if (i != config_.me) dial(*out_[size_t(i)]);
  }

  int32_t reachable_peers() const override { return connected_; }

  void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) override {
    Outgoing& o = *out_[size_t(to)];
    if (o.queue.size() + kMaxFrameOverhead + payload.size() > config_.max_tcp_queue) {
      ++counters_.tcp_queue_dropped;
      return;
    }
    if (o.open == kNone || o.queue.size() - o.open > kPacketTarget) {
      close_packet(o);
      o.open = o.queue.size();
      o.queue.resize(o.queue.size() + kTcpLengthSize);
      encode_packet_header({PacketKind::Messages, config_.fingerprint, config_.me}, o.queue);
      o.prev_instance = 0;
    }
    encode_frame(h, payload, o.prev_instance, o.queue);
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
    for (auto& o : out_) write_queued(*o);
  }

  void stop() override {
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& o : out_) {
      o->socket.close(ec);
      o->retry.cancel();
    }
    for (const auto& c : incoming_) c->socket.close(ec);
    incoming_.clear();
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;
  static constexpr size_t kPacketTarget = 64 << 10;  // start a new packet beyond this

  struct Outgoing {
    Outgoing(asio::io_context& io, int32_t peer) : peer(peer), socket(io), retry(io) {}
    int32_t peer;
    tcp::socket socket;
    asio::steady_timer retry;
    bool connected = false;
    bool connecting = false;
    bool writing = false;
    int backoff_ms = kFirstBackoffMs;
    std::vector<std::byte> queue;     // packets not yet handed to the socket
    size_t open = kNone;              // offset of the packet still taking frames
    uint64_t prev_instance = 0;       // the open packet's last instance
    std::vector<std::byte> inflight;  // the buffer async_write owns
    std::byte probe[1];               // reads only to notice the peer hanging up
  };

  // Writes the open packet's length in front of it.
  static void close_packet(Outgoing& o) {
    if (o.open == kNone) return;
    const uint32_t len = uint32_t(o.queue.size() - o.open - kTcpLengthSize);
    std::memcpy(o.queue.data() + o.open, &len, sizeof len);
    o.open = kNone;
  }

  struct Incoming {
    explicit Incoming(asio::io_context& io) : socket(io), buffer(1 << 16) {}
    tcp::socket socket;
    std::vector<std::byte> buffer;
    size_t used = 0;
    int32_t peer = -1;  // known after the Hello
  };

  void dial(Outgoing& o) {
    if (stopped_) return;
    const Peer& p = config_.peers[size_t(o.peer)];
    o.socket = tcp::socket(io_);
    o.connecting = true;
    o.socket.async_connect(tcp::endpoint(p.address, p.port), [this, &o, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || stopped_) return;
      o.connecting = false;
      if (ec) {
        redial_later(o);
        return;
      }
      boost::system::error_code ignore;
      o.socket.set_option(tcp::no_delay(true), ignore);
      o.connected = true;
      o.backoff_ms = kFirstBackoffMs;
      ++counters_.tcp_connects;
      // The Hello goes first, before anything queued while connecting.
      close_packet(o);
      std::vector<std::byte> stream(kTcpLengthSize);
      const uint32_t len = uint32_t(kPacketHeaderSize);
      std::memcpy(stream.data(), &len, sizeof len);
      encode_packet_header({PacketKind::Hello, config_.fingerprint, config_.me}, stream);
      stream.insert(stream.end(), o.queue.begin(), o.queue.end());
      o.queue.swap(stream);
      ++connected_;
      write_queued(o);
      watch_for_hangup(o);
      if (on_connect_) on_connect_();
    });
  }

  void redial_later(Outgoing& o) {
    boost::system::error_code ignore;
    o.socket.close(ignore);
    o.connected = false;
    o.writing = false;
    o.retry.expires_after(std::chrono::milliseconds(o.backoff_ms));
    o.backoff_ms = std::min(o.backoff_ms * 2, kMaxBackoffMs);
    o.retry.async_wait([this, &o, alive = alive_](const boost::system::error_code& ec) {
      if (*alive && !ec && !stopped_) dial(o);
    });
  }

  void lost_connection(Outgoing& o) {
    if (!o.connected) return;
    ++counters_.tcp_disconnects;
    --connected_;
    o.inflight.clear();  // what was in flight may be lost: rounds tolerate it
    o.backoff_ms = kFirstBackoffMs;
    redial_later(o);
  }

  void watch_for_hangup(Outgoing& o) {
    o.socket.async_read_some(asio::buffer(o.probe), [this, &o, alive = alive_](const boost::system::error_code& ec, size_t) {
      if (!*alive || stopped_) return;
      if (ec) lost_connection(o);
      else watch_for_hangup(o);  // peers never write here; ignore stray bytes
    });
  }

  void write_queued(Outgoing& o) {
    if (!o.connected || o.writing || o.queue.empty()) return;
    o.writing = true;
    close_packet(o);
    o.inflight.swap(o.queue);
    o.queue.clear();
    asio::async_write(o.socket, asio::buffer(o.inflight), [this, &o, alive = alive_](const boost::system::error_code& ec, size_t n) {
      if (!*alive || stopped_) return;
      o.writing = false;
      if (ec) {
        ++counters_.send_errors;
        lost_connection(o);
        return;
      }
      counters_.bytes_sent += n;
      o.inflight.clear();
      write_queued(o);
    });
  }

  void accept_next() {
    auto conn = std::make_shared<Incoming>(io_);
    acceptor_.async_accept(conn->socket, [this, conn, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || stopped_) return;
      if (!ec) {
        boost::system::error_code e2;
        const auto remote = conn->socket.remote_endpoint(e2);
        bool known = false;
        for (const Peer& p : config_.peers)
          if (!e2 && p.id != config_.me && p.address == remote.address()) known = true;
        if (!known) {
          ++counters_.unknown_peer_dropped;
          conn->socket.close(e2);
        } else {
          conn->socket.set_option(tcp::no_delay(true), e2);
          incoming_.insert(conn);
          read_more(conn);
        }
      }
      accept_next();
    });
  }

  void close_incoming(const std::shared_ptr<Incoming>& conn) {
    boost::system::error_code ignore;
    conn->socket.close(ignore);
    incoming_.erase(conn);
  }

  void read_more(std::shared_ptr<Incoming> conn) {
    if (conn->used == conn->buffer.size()) conn->buffer.resize(conn->buffer.size() * 2);
    conn->socket.async_read_some(
        asio::buffer(conn->buffer.data() + conn->used, conn->buffer.size() - conn->used),
        [this, conn, alive = alive_](const boost::system::error_code& ec, size_t n) {
          if (!*alive || stopped_) return;
          if (ec) {
            close_incoming(conn);
            return;
          }
          counters_.bytes_received += n;
          conn->used += n;
          in_batch_ = true;
          const bool ok = take_frames(*conn);
          if (batch_end_ && !stopped_) batch_end_();
          in_batch_ = false;
          flush();
          if (ok) read_more(conn);
          else close_incoming(conn);
        });
  }

  // Hands up every frame of every complete packet in the buffer; false if
  // the stream is bad (a stream cannot resynchronise after a bad packet, so
  // the connection goes).
  bool take_frames(Incoming& c) {
    size_t at = 0;
    bool ok = true;
    while (ok && c.used - at >= kTcpLengthSize) {
      uint32_t len;
      std::memcpy(&len, c.buffer.data() + at, sizeof len);
      if (len > kMaxTcpPacket) {
        counters_.count_rejected(DecodeStatus::Oversized);
        return false;
      }
      if (len < kPacketHeaderSize) {
        counters_.count_rejected(DecodeStatus::Truncated);
        return false;
      }
      if (c.used - at - kTcpLengthSize < len) break;  // wait for the rest
      ok = take_packet(c, std::span<const std::byte>(c.buffer.data() + at + kTcpLengthSize, len));
      at += kTcpLengthSize + len;
    }
    if (!ok) return false;
    if (at > 0) {
      std::memmove(c.buffer.data(), c.buffer.data() + at, c.used - at);
      c.used -= at;
    }
    return true;
  }

  bool take_packet(Incoming& c, std::span<const std::byte> bytes) {
    PacketHeader ph;
    DecodeStatus s = decode_packet_header(bytes, limits_, ph);
    if (s != DecodeStatus::Ok) {
      counters_.count_rejected(s);
      return false;
    }
    if (c.peer < 0) {
      const Peer& claimed = config_.peers[size_t(ph.sender)];
      boost::system::error_code e2;
      const auto remote = c.socket.remote_endpoint(e2);
      if (ph.kind != PacketKind::Hello || e2 || ph.sender == config_.me || claimed.address != remote.address()) {
        ++counters_.sender_mismatch_dropped;
        return false;
      }
      if (bytes.size() != kPacketHeaderSize) {
        ++counters_.bad_encoding_dropped;
        return false;
      }
      c.peer = ph.sender;
      ++counters_.tcp_accepts;
      // The peer is up: if our own connection to it is waiting out a
      // backoff, dial now instead of letting our messages queue up.
      Outgoing& back = *out_[size_t(c.peer)];
      if (!back.connected && !back.connecting) {
        back.retry.cancel();
        dial(back);
      }
      return true;
    }
    if (ph.kind != PacketKind::Messages) {
      ++counters_.bad_kind_dropped;
      return false;
    }
    if (ph.sender != c.peer) {
      ++counters_.sender_mismatch_dropped;
      return false;
    }
    s = decode_packet(bytes, limits_, ph, [&](const WireHeader& h, std::span<const std::byte> payload) {
      ++counters_.frames_received;
      on_frame_(h, payload);
      return !stopped_;
    });
    if (s != DecodeStatus::Ok) {
      counters_.count_rejected(s);
      return false;
    }
    return !stopped_;
  }

  asio::io_context& io_;
  const NetConfig& config_;
  FrameHandler on_frame_;
  NetCounters& counters_;
  tcp::acceptor acceptor_;
  DecodeLimits limits_;
  std::vector<std::unique_ptr<Outgoing>> out_;
  std::set<std::shared_ptr<Incoming>> incoming_;
  bool flush_posted_ = false;
  bool stopped_ = false;
  int32_t connected_ = 0;  // outgoing connections established
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<Transport> make_tcp_transport(asio::io_context& io, const NetConfig& config, FrameHandler on_frame,
                                              NetCounters& counters) {
  return std::make_unique<TcpTransport>(io, config, std::move(on_frame), counters);
}

}  // namespace psync::net
