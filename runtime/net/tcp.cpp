// tcp.cpp: the TCP transport. Each process connects out to every peer and
// writes its packets there (each behind a 4-byte length); it reads packets
// from the connections its peers opened. Every packet is sealed and opened
// by the Session, exactly as over UDP: the first packet on a connection must
// be an authenticated Hello, which binds the connection to its sender, and
// nothing depends on the source address (with keys; keyless clusters still
// compare it, their only evidence). A broken outgoing connection is
// re-dialled with exponential backoff; frames queued meanwhile wait (up to
// max_tcp_queue bytes), since rounds tolerate loss but not a stalled writer.
//
// Bounds (docs/runtime.md, "Resource bounds"): unauthenticated connections
// are at most max_pending_connections (the oldest is evicted), may buffer one
// Hello and must authenticate within handshake_timeout; each peer has one
// incoming connection (a newer one replaces it), buffering at most one
// packet (kMaxTcpPacket); a connection silent for idle_timeout is closed;
// when accept fails (out of file descriptors) the acceptor pauses instead of
// spinning.
#include "net/transport.h"

#include <cstring>
#include <deque>
#include <list>
#include <set>
#include <stdexcept>

namespace psync::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr int kFirstBackoffMs = 5;
constexpr int kMaxBackoffMs = 200;
constexpr int64_t kSweepUs = 200'000;  // how often deadlines of incoming connections are checked

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet, NetCounters& counters)
      : Transport(io, config, std::move(on_packet), counters), acceptor_(io), accept_timer_(io), sweep_timer_(io),
        bound_(size_t(config.n)) {
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
    sweep_later();
    for (int32_t i = 0; i < config_.n; ++i)
      if (i != config_.me) dial(*out_[size_t(i)]);
  }

  int32_t reachable_peers() const override {
    int32_t c = 0;
    for (int32_t i = 0; i < config_.n; ++i)
      if (i != config_.me && out_[size_t(i)]->connected && session_.complete(i)) ++c;
    return c;
  }

  void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) override {
    if (!session_.can_send(to)) {
      ++counters_.handshake_pending_dropped;
      return;
    }
    Outgoing& o = *out_[size_t(to)];
    if (o.queued_bytes + o.open.size() + kMaxFrameOverhead + payload.size() + kPacketOverhead > config_.max_tcp_queue) {
      ++counters_.tcp_queue_dropped;
      return;
    }
    if (!o.open.empty() && o.open.size() > kPacketTarget) close_packet(o);
    if (o.open.empty()) {
      o.open.resize(kTcpLengthSize + kPacketHeaderSize);
      write_packet_header(o.open.data() + kTcpLengthSize,
                          {PacketKind::Messages, config_.fingerprint, config_.me, 0, 0, 0});
      o.prev_instance = 0;
    }
    // Written in place: the buffer grows without zeroing (Bytes), and only
    // by what the frame takes.
    const size_t at = o.open.size();
    o.open.resize(at + kMaxFrameOverhead + payload.size());
    o.open.resize(size_t(write_frame(o.open.data() + at, h, payload, o.prev_instance) - o.open.data()));
    ++counters_.frames_sent;
    schedule_flush();
  }

  bool has_frames_for(int32_t to) const override {
    const Outgoing& o = *out_[size_t(to)];
    return !o.open.empty() || !o.closed.empty();
  }

  // Closes every open packet (what the node produced up to now, the decided
  // notices gathered as Decided frames), runs the group commit, then writes.
  void flush() override {
    flush_posted_ = true;  // the Decided frames made here leave with this flush
    send_gathered_notices();
    flush_posted_ = false;
    bool any = false;
    for (auto& o : out_) {
      if (!o->open.empty()) close_packet(*o);
      any = any || !o->closed.empty();
    }
    if (!any) return;
    run_before_send();
    for (auto& o : out_) {
      for (Packet& p : o->closed) o->queue.push_back(std::move(p));
      o->closed.clear();
      write_queued(*o);
    }
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    cancel_timers();
    boost::system::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
    sweep_timer_.cancel();
    for (auto& o : out_) {
      o->socket.close(ec);
      o->retry.cancel();
    }
    for (const auto& c : incoming_) c->socket.close(ec);
    incoming_.clear();
  }

 private:
  static constexpr size_t kPacketTarget = 64 << 10;  // start a new packet beyond this

  // A byte vector whose growth leaves the new bytes uninitialised: frames
  // are written over them at once (resize would zero every frame's room).
  struct DefaultInit : std::allocator<std::byte> {
    template <class U> struct rebind { using other = DefaultInit; };
    template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
    template <class U, class... A> void construct(U* p, A&&... a) { ::new (static_cast<void*>(p)) U(std::forward<A>(a)...); }
  };
  using Bytes = std::vector<std::byte, DefaultInit>;

  struct Packet {
    Bytes bytes;  // the 4-byte length, then the packet (MAC included)
    bool sealed = false;           // Hellos are sealed when made; the rest when written
  };

  struct Outgoing {
    Outgoing(asio::io_context& io, int32_t peer) : peer(peer), socket(io), retry(io) {}
    int32_t peer;
    tcp::socket socket;
    asio::steady_timer retry;
    bool connected = false;
    bool connecting = false;
    bool writing = false;
    int backoff_ms = kFirstBackoffMs;
    std::vector<Packet> closed;       // complete packets waiting for the next group commit
    std::deque<Packet> queue;         // committed packets not yet handed to the socket
    size_t queued_bytes = 0;          // in closed and queue
    Bytes open;                       // the packet still taking frames (length first)
    uint64_t prev_instance = 0;       // the open packet's last instance
    std::vector<std::byte> inflight;  // the buffer async_write owns
    std::byte probe[1];               // reads only to notice the peer hanging up
  };

  struct Incoming {
    explicit Incoming(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::vector<std::byte> buffer;
    size_t used = 0;
    int32_t peer = -1;              // bound by its first Hello
    int64_t accepted_us = 0;
    int64_t last_activity_us = 0;
    std::list<std::shared_ptr<Incoming>>::iterator pending_at;  // while unbound
  };

  // The open packet gets room for its MAC and its length; it leaves after
  // the next group commit (flush).
  void close_packet(Outgoing& o) {
    o.open.resize(o.open.size() + kMacSize);
    const uint32_t len = uint32_t(o.open.size() - kTcpLengthSize);
    std::memcpy(o.open.data(), &len, sizeof len);
    o.queued_bytes += o.open.size();
    o.closed.push_back({std::move(o.open), false});
    o.open.clear();
  }

  void dial(Outgoing& o) {
    if (stopped_) return;
    const Peer& p = config_.peers[size_t(o.peer)];
    const Peer& me = config_.peers[size_t(config_.me)];
    o.socket = tcp::socket(io_);
    boost::system::error_code ec;
    o.socket.open(p.address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (ec) {  // e.g. out of file descriptors: try again later
      redial_later(o);
      return;
    }
    // Leave from our own address, so that a cluster on 127.0.0.1, .2 and .3
    // (or any multi-homed host) shows each replica's connections coming from
    // its own address: keyless clusters compare it.
    if (!me.address.is_unspecified() && me.address.is_v4() == p.address.is_v4())
      o.socket.bind(tcp::endpoint(me.address, 0), ec);
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
      // A Hello goes first, before anything queued while connecting.
      std::vector<std::byte> hello;
      session_.append_hello(o.peer, hello_body_ ? hello_body_(o.peer) : HelloBody{}, hello, now_us());
      ++counters_.hellos_sent;
      o.queue.push_front(framed(std::move(hello)));
      o.queued_bytes += o.queue.front().bytes.size();
      write_queued(o);
      watch_for_hangup(o);
      notify_reachable();
    });
  }

  static Packet framed(std::vector<std::byte>&& packet) {
    Packet p;
    p.bytes.resize(kTcpLengthSize);
    const uint32_t len = uint32_t(packet.size());
    std::memcpy(p.bytes.data(), &len, sizeof len);
    p.bytes.insert(p.bytes.end(), packet.begin(), packet.end());
    p.sealed = true;
    return p;
  }

  void send_hello_packet(int32_t peer, std::vector<std::byte>&& packet) override {
    Outgoing& o = *out_[size_t(peer)];
    if (!o.connected) return;  // the connect sends a fresh one
    o.queue.push_back(framed(std::move(packet)));
    o.queued_bytes += o.queue.back().bytes.size();
    write_queued(o);
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

  // Seals what is queued (in queue order, so counters grow along the
  // stream) and hands it to the socket.
  void write_queued(Outgoing& o) {
    if (!o.connected || o.writing || o.queue.empty()) return;
    o.writing = true;
    o.inflight.clear();
    while (!o.queue.empty()) {
      Packet& p = o.queue.front();
      if (!p.sealed) session_.seal(o.peer, std::span<std::byte>(p.bytes.data() + kTcpLengthSize, p.bytes.size() - kTcpLengthSize));
      ++counters_.tcp_packets_sent;
      o.inflight.insert(o.inflight.end(), p.bytes.begin(), p.bytes.end());
      o.queued_bytes -= p.bytes.size();
      o.queue.pop_front();
    }
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
    if (stopped_) return;
    auto conn = std::make_shared<Incoming>(io_);
    acceptor_.async_accept(conn->socket, [this, conn, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || stopped_) return;
      if (ec) {
        // Out of file descriptors (or another transient failure): free the
        // oldest unauthenticated connection and pause, rather than retrying
        // at once — the listening socket stays readable, and an immediate
        // retry spins at 100% CPU.
        ++counters_.tcp_accept_errors;
        if (!pending_.empty()) evict_oldest_pending();
        accept_timer_.expires_after(std::chrono::microseconds(config_.accept_pause_us));
        accept_timer_.async_wait([this, alive](const boost::system::error_code& e2) {
          if (*alive && !e2 && !stopped_) accept_next();
        });
        return;
      }
      if (pending_.size() >= config_.max_pending_connections) evict_oldest_pending();
      boost::system::error_code ignore;
      conn->socket.set_option(tcp::no_delay(true), ignore);
      conn->socket.non_blocking(true, ignore);  // read_available reads without blocking
      conn->accepted_us = conn->last_activity_us = now_us();
      conn->buffer.resize(kTcpLengthSize + kMaxHelloPacket);  // until bound: one Hello at most
      pending_.push_back(conn);
      conn->pending_at = std::prev(pending_.end());
      incoming_.insert(conn);
      read_more(conn);
      accept_next();
    });
  }

  void evict_oldest_pending() {
    ++counters_.tcp_pending_evicted;
    close_incoming(pending_.front());
  }

  void close_incoming(const std::shared_ptr<Incoming>& conn) {
    boost::system::error_code ignore;
    conn->socket.close(ignore);
    if (conn->peer < 0) {
      if (incoming_.count(conn)) pending_.erase(conn->pending_at);
    } else if (bound_[size_t(conn->peer)] == conn) {
      bound_[size_t(conn->peer)].reset();
    }
    incoming_.erase(conn);
    conn->buffer = {};  // the memory goes with the connection
  }

  // Waits until `conn` is readable, then takes one batch, as UDP takes a
  // drain of its socket: what `conn` holds and what every other peer's
  // connection holds, read without blocking, then the batch's end and one
  // flush for all of it (not one per connection). The other connections'
  // own waits then find little or nothing, and wait again.
  void read_more(std::shared_ptr<Incoming> conn) {
    conn->socket.async_wait(tcp::socket::wait_read, [this, conn, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || stopped_ || !incoming_.count(conn)) return;
      if (ec) {
        close_incoming(conn);
        return;
      }
      in_batch_ = true;
      const uint64_t before = counters_.bytes_received;
      const bool ok = read_available(conn);
      if (ok && !stopped_ && conn->peer >= 0) {
        for (int32_t p = 0; p < config_.n && !stopped_; ++p) {
          std::shared_ptr<Incoming> other = bound_[size_t(p)];
          if (other && other != conn && !read_available(other) && !stopped_) close_incoming(other);
        }
      }
      // A wake-up whose bytes an earlier batch already took is no batch.
      const bool took = counters_.bytes_received != before;
      if (took) ++counters_.receive_batches;
      if (took && batch_end_ && !stopped_) batch_end_();
      in_batch_ = false;
      if (stopped_) return;
      if (took) {
        flush();
        send_due_hellos();
      }
      if (ok && incoming_.count(conn)) read_more(conn);
      else if (incoming_.count(conn)) close_incoming(conn);
    });
  }

  // Reads what `c` holds without blocking and takes its complete packets;
  // false if the connection must close (closed by the peer, a read error,
  // bad framing). At most kMaxReadsPerBatch reads, so that one peer cannot
  // keep the batch open.
  static constexpr int kMaxReadsPerBatch = 16;
  bool read_available(const std::shared_ptr<Incoming>& c) {
    for (int i = 0; i < kMaxReadsPerBatch; ++i) {
      if (c->used == c->buffer.size()) {
        // Only a bound connection fills up (an unbound one holds one Hello
        // at most), and it grows only up to one whole packet.
        c->buffer.resize(std::min<size_t>(c->buffer.size() * 2, kTcpLengthSize + kMaxTcpPacket));
      }
      const size_t room = c->buffer.size() - c->used;
      boost::system::error_code ec;
      const size_t n = c->socket.read_some(asio::buffer(c->buffer.data() + c->used, room), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return true;
      if (ec) return false;  // closed by the peer, or broken
      counters_.bytes_received += n;
      c->used += n;
      c->last_activity_us = now_us();
      if (!take_packets(c) || stopped_) return false;
      if (n < room) return true;  // a short read: nothing more is buffered now
    }
    return true;
  }

  // Handles every complete packet in the buffer; false if the connection
  // must go (bad framing, or a packet that cannot come from its peer).
  bool take_packets(const std::shared_ptr<Incoming>& c) {
    size_t at = 0;
    DecodeStatus rejected = DecodeStatus::Ok;
    // Until a Hello binds the connection, one Hello is all it may send.
    auto limit = [&] { return c->peer < 0 ? uint32_t(kMaxHelloPacket) : kMaxTcpPacket; };
    const bool ok = split_tcp_records(std::span<const std::byte>(c->buffer.data(), c->used), limit, at, rejected,
                                      [&](std::span<const std::byte> packet) { return take_packet(c, packet) && !stopped_; });
    if (rejected != DecodeStatus::Ok) counters_.count_rejected(rejected);
    if (!ok) return false;
    if (at > 0) {
      std::memmove(c->buffer.data(), c->buffer.data() + at, c->used - at);
      c->used -= at;
    }
    return true;
  }

  bool take_packet(const std::shared_ptr<Incoming>& c, std::span<const std::byte> bytes) {
    ++counters_.tcp_packets_received;
    if (c->peer < 0) return bind_connection(c, bytes);
    // A bound connection carries only its peer's packets.
    PacketHeader ph;
    if (decode_packet_header(bytes, session_.limits(), ph) == DecodeStatus::Ok && ph.sender != c->peer) {
      ++counters_.sender_mismatch_dropped;
      return false;
    }
    int32_t peer = -1;
    PacketKind kind = PacketKind::Messages;
    const DecodeStatus s = accept_packet(bytes, peer, kind);
    // Packets queued before a restart (of either side) are dropped but do
    // not end the connection; anything forged, corrupted or malformed does.
    return s == DecodeStatus::Ok || s == DecodeStatus::StaleIncarnation || s == DecodeStatus::WrongIncarnation ||
           s == DecodeStatus::Replayed;
  }

  // The first packet: an authenticated Hello binds the connection to its
  // sender. Keyless clusters also require the sender's configured address.
  bool bind_connection(const std::shared_ptr<Incoming>& c, std::span<const std::byte> bytes) {
    PacketHeader ph;
    DecodeStatus s = decode_packet_header(bytes, session_.limits(), ph);
    if (s != DecodeStatus::Ok) {
      counters_.count_rejected(s);
      return false;
    }
    if (ph.kind != PacketKind::Hello) {
      ++counters_.bad_kind_dropped;
      return false;
    }
    if (!session_.keyed()) {
      boost::system::error_code e2;
      const auto remote = c->socket.remote_endpoint(e2);
      if (e2 || ph.sender == config_.me || config_.peers[size_t(ph.sender)].address != remote.address()) {
        ++counters_.sender_mismatch_dropped;
        return false;
      }
    }
    int32_t peer = -1;
    PacketKind kind = PacketKind::Hello;
    s = accept_packet(bytes, peer, kind);
    if (s != DecodeStatus::Ok) return false;
    pending_.erase(c->pending_at);
    c->peer = peer;
    c->buffer.resize(size_t(64) << 10);
    ++counters_.tcp_accepts;
    if (auto& old = bound_[size_t(peer)]; old && old != c) {
      ++counters_.tcp_replaced;
      close_incoming(old);
    }
    bound_[size_t(peer)] = c;
    // The peer is up: if our own connection to it is waiting out a backoff,
    // dial now instead of letting our messages queue up.
    Outgoing& back = *out_[size_t(peer)];
    if (!back.connected && !back.connecting) {
      back.retry.cancel();
      dial(back);
    }
    return true;
  }

  // Closes connections that did not authenticate in time, and peers'
  // connections that went silent (a live peer sends a Hello every 100 ms).
  void sweep_later() {
    sweep_timer_.expires_after(std::chrono::microseconds(kSweepUs));
    sweep_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || ec || stopped_) return;
      const int64_t now = now_us();
      while (!pending_.empty() && now - pending_.front()->accepted_us >= config_.handshake_timeout_us) {
        ++counters_.tcp_idle_closed;
        close_incoming(pending_.front());
      }
      for (int32_t p = 0; p < config_.n; ++p) {
        auto c = bound_[size_t(p)];
        if (c && now - c->last_activity_us >= config_.idle_timeout_us) {
          ++counters_.tcp_idle_closed;
          close_incoming(c);
        }
      }
      sweep_later();
    });
  }

  tcp::acceptor acceptor_;
  asio::steady_timer accept_timer_;
  asio::steady_timer sweep_timer_;
  std::vector<std::unique_ptr<Outgoing>> out_;
  std::set<std::shared_ptr<Incoming>> incoming_;
  std::list<std::shared_ptr<Incoming>> pending_;          // unbound, oldest first
  std::vector<std::shared_ptr<Incoming>> bound_;          // per peer
};

}  // namespace

std::unique_ptr<Transport> make_tcp_transport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet,
                                              NetCounters& counters) {
  return std::make_unique<TcpTransport>(io, config, std::move(on_packet), counters);
}

}  // namespace psync::net
