// transport.h: moving frames between the processes of a cluster over one
// Asio io_context. UDP (the default) coalesces the frames for one peer into
// datagrams; TCP keeps one length-framed connection per direction and
// reconnects. Both seal and open every packet through the same Session
// (net/session.h: MAC, incarnations, replay window, handshake), hand only
// authenticated, well-formed frames up, and count the rest.
#pragma once

#include "net/session.h"
#include "net/wire.h"

#include <utility>  // before Asio: g++ 12 in C++20 needs std::exchange declared
#include <boost/asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psync::net {

#define PSYNC_NET_COUNTERS(X)                                                   \
  X(datagrams_sent)                                                             \
  X(datagrams_received)                                                         \
  X(frames_sent)                                                                \
  X(frames_received)            /* well-formed message frames handed up */      \
  X(bytes_sent)                                                                 \
  X(bytes_received)                                                             \
  X(datagram_batches_sent)      /* UDP: sends of two or more datagrams (segmentation offload) */ \
  X(datagram_batches_received)  /* UDP: reads of two or more datagrams (GRO) */ \
  X(datagrams_padded)           /* UDP: padded to fill a batch's segment */ \
  X(segment_offload_failures)   /* UDP: a batch the kernel refused; offload then off */ \
  X(unknown_peer_dropped)       /* keyless: from an address not in the cluster */ \
  X(sender_mismatch_dropped)    /* keyless: sender id not the source's; TCP: not the connection's */ \
  X(truncated_dropped)                                                          \
  X(bad_magic_dropped)                                                          \
  X(bad_version_dropped)                                                        \
  X(bad_kind_dropped)                                                           \
  X(wrong_fingerprint_dropped)                                                  \
  X(unknown_sender_dropped)                                                     \
  X(bad_round_dropped)                                                          \
  X(oversized_dropped)                                                          \
  X(bad_encoding_dropped)       /* reserved bits, overlong varints, bad instance */ \
  X(bad_mac_dropped)            /* forged or corrupted packets */               \
  X(replayed_dropped)           /* a packet counter seen before, or too old */  \
  X(stale_incarnation_dropped)  /* from an earlier incarnation of the sender */ \
  X(wrong_incarnation_dropped)  /* meant for another incarnation of this process */ \
  X(handshake_pending_dropped)  /* frames for a peer whose incarnation is not known yet */ \
  X(hellos_sent)                                                                \
  X(hellos_received)                                                            \
  X(peer_restarts_seen)         /* a new incarnation of a peer we knew */       \
  X(send_errors)                /* the socket refused a datagram or write */    \
  X(tcp_connects)               /* outgoing connections established */          \
  X(tcp_accepts)                /* incoming connections authenticated */        \
  X(tcp_disconnects)                                                            \
  X(tcp_queue_dropped)          /* frames dropped: peer unreachable, queue full */ \
  X(tcp_pending_evicted)        /* unauthenticated connections closed to make room */ \
  X(tcp_idle_closed)            /* connections closed for silence */            \
  X(tcp_replaced)               /* a peer's older incoming connection, closed for its newer one */ \
  X(tcp_accept_errors)          /* accept failed (e.g. out of file descriptors); retried after a pause */ \
  X(injected_duplicates)        /* --duplicate: received datagrams taken a second time, later */ \
  X(decided_frames_sent)        /* Decided frames: the decided notices of one flush for one peer */ \
  X(notices_kept_back)          /* times a peer's few notices began to wait for its next frame (notice_delay_us) */ \
  X(decided_frames_received)                                                    \
  X(receive_batches)            /* wake-ups that took input: a drain of the UDP socket, a TCP read of every connection */ \
  X(tcp_packets_sent)           /* TCP: packets written (each a header, its frames and a MAC) */ \
  X(tcp_packets_received)

struct NetCounters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_NET_COUNTERS(PSYNC_X)
#undef PSYNC_X
  // Every packet or frame rejected by decoding or authentication: malformed,
  // forged, corrupted or replayed. (Packets for another incarnation are
  // counted apart: they are what a restart leaves in flight.)
  uint64_t malformed_total() const {
    return unknown_peer_dropped + sender_mismatch_dropped + truncated_dropped + bad_magic_dropped +
           bad_version_dropped + bad_kind_dropped + wrong_fingerprint_dropped + unknown_sender_dropped +
           bad_round_dropped + oversized_dropped + bad_encoding_dropped + bad_mac_dropped + replayed_dropped;
  }
  void count_rejected(DecodeStatus s);
};

std::vector<std::pair<const char*, uint64_t>> counter_list(const NetCounters& c);

struct Peer {
  int32_t id = 0;
  std::string host;
  uint16_t port = 0;
  boost::asio::ip::address address;
};

struct NetConfig {
  int32_t n = 0;
  int32_t me = 0;
  uint64_t fingerprint = 0;
  uint32_t max_payload = 0;        // the protocol's largest message
  size_t max_datagram = 1400;      // UDP: frames per datagram up to this size
  bool segment_offload = true;     // UDP: GSO/GRO batches where the kernel has them (udp.cpp)
  size_t max_tcp_queue = 16 << 20; // TCP: bytes queued per peer before dropping
  std::vector<Peer> peers;         // index = id
  uint64_t incarnation = 1;        // this start of the process (session.h)
  bool durable = false;            // it keeps its state across restarts (--data-dir)
  SessionKeys keys;                // empty: keyless (SessionKeys::keyless is used)
  // TCP resource bounds (docs/runtime.md, "Resource bounds").
  size_t max_pending_connections = 64;       // not yet authenticated, all peers together
  int64_t handshake_timeout_us = 2'000'000;  // to authenticate a new connection
  int64_t idle_timeout_us = 10'000'000;      // a peer's connection that carries nothing (heartbeats: 100 ms)
  int64_t accept_pause_us = 50'000;          // after accept fails (out of descriptors)
  // Fault injection (UDP): each received datagram is taken a second time,
  // after the rest of its batch, with this probability (--duplicate).
  double duplicate = 0.0;
  uint64_t fault_seed = 0;
  // A few decided notices for a peer that gets no other frame in a flush
  // wait for one, for at most this long, when two or more peers are so
  // (keep_back_notices; 0: they leave with the flush that has them). A
  // notice alone is a datagram alone, and a wake-up of its receiver: with
  // one instance in flight, LastVoting's non-coordinators, which never
  // message each other, sent one for every instance and peer.
  int64_t notice_delay_us = 0;
};

// A Decided frame stands for one decided notice per instance it names
// (wire.h): if `h` is one, hands `on_notice` a Notice header (empty
// payload) for each, in increasing order, and returns true; otherwise
// returns false. The node and the replica dispatch notices this way.
template <typename OnNotice>
bool expand_decided_frame(const WireHeader& h, std::span<const std::byte> payload, OnNotice&& on_notice) {
  if (h.kind != FrameKind::Decided) return false;
  WireHeader one = h;
  one.kind = FrameKind::Notice;
  for_each_decided(h.instance, payload, [&](uint64_t i) {
    one.instance = i;
    on_notice(static_cast<const WireHeader&>(one));
  });
  return true;
}

// One frame of a received packet: its header and its payload (a view into
// the packet, valid during the call it is handed up in).
using ReceivedFrame = std::pair<WireHeader, std::span<const std::byte>>;
// Where well-formed, authenticated frames (messages and decided notices) go:
// every frame of a packet in one call, in order. The node walks a packet's
// ~100 frames itself (it prefetches the instances they are for before the
// first, so that their cache misses overlap), without an indirect call per
// frame; a receiver that takes frames one at a time wraps its handler in
// each_frame.
using PacketHandler = std::function<void(std::span<const ReceivedFrame> frames)>;
using FrameHandler = std::function<void(const WireHeader&, std::span<const std::byte> payload)>;
inline PacketHandler each_frame(FrameHandler f) {
  return [f = std::move(f)](std::span<const ReceivedFrame> frames) {
    for (const auto& [h, payload] : frames) f(h, payload);
  };
}

class Transport {
 public:
  Transport(boost::asio::io_context& io, const NetConfig& config, PacketHandler on_packet, NetCounters& counters);
  virtual ~Transport();
  // Binds and starts receiving, and starts the handshake. Throws
  // std::runtime_error naming the address.
  virtual void start() = 0;
  // Queues one frame for `to` (h.sender and the fingerprint are filled in);
  // it leaves by the next flush. Frames for a peer whose incarnation is not
  // known yet are dropped (handshake_pending_dropped): rounds tolerate loss.
  virtual void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) = 0;
  // The frames that carry no round message, built here once for the node
  // and the replica: a decided notice ("this process has decided
  // `instance`"), gathered per peer until the next flush and sent as one
  // Decided frame (a bitmap; wire.h), and an Answer (its decided value, for
  // a peer that is behind; false, and nothing sent, when the value is longer
  // than an Answer may carry).
  void send_notice(int32_t to, uint64_t instance) {
    notices_[size_t(to)].push_back(instance);
    schedule_flush();
  }
  // A decided notice for each peer in the set `to` (bit p: peer p; this
  // process's own bit is ignored). Inline: one call per decided instance.
  // Notices for every peer (nearly all: an instance that decides tells all
  // its peers at once) are gathered once, and the flush makes their Decided
  // frames once and sends the same frames to each peer.
  void send_notices(uint64_t to, uint64_t instance) {
    to &= others_;
    if (to == others_) {
      notices_to_all_.push_back(instance);
    } else {
      for (; to != 0; to &= to - 1) notices_[size_t(__builtin_ctzll(to))].push_back(instance);
    }
    schedule_flush();
  }
  bool send_answer(int32_t to, uint64_t instance, int64_t round, std::string_view value);
  // Writes out everything queued (after before_send). Also posted
  // automatically after a send.
  virtual void flush() = 0;
  // flush(), with every decided notice kept back (notice_delay_us) too: for
  // a process about to stop.
  void flush_everything() {
    notices_now_ = true;
    flush();
    notices_now_ = false;
  }
  virtual void stop() = 0;
  // Called after each batch of received frames (one wake-up of the socket),
  // before the frames it caused are flushed: the node settles catch-ups here.
  void set_batch_end(std::function<void()> f) { batch_end_ = std::move(f); }
  // Called before any packet leaves (once per flush that sends something):
  // the node's group commit, so that nothing leaves before what it depends
  // on is on disk.
  void set_before_send(std::function<void()> f) { before_send_ = std::move(f); }
  // The node's side of the handshake: what a Hello to a peer says (its
  // fence and decided_below), and what to do with a Hello received.
  void set_hello_hooks(std::function<HelloBody(int32_t peer)> body, std::function<void(const HelloEvent&)> on_hello) {
    hello_body_ = std::move(body);
    on_hello_ = std::move(on_hello);
  }
  // Peers this process can send to and has completed the handshake with
  // (TCP: over an established outgoing connection), and a callback when the
  // number grows.
  virtual int32_t reachable_peers() const = 0;
  void set_on_connect(std::function<void()> f) { on_connect_ = std::move(f); }
  const Session& session() const { return session_; }
  // A last Hello to every peer with a session, before this process stops:
  // its decided_below lets peers that stay for it (--stay) stop at once.
  void send_farewell();
  // Microseconds since the transport was made (the session's clock).
  int64_t now_us() const;

 protected:
  // Sends the due Hellos (replies first) and re-arms the heartbeat timer.
  void send_due_hellos();
  // Hands one sealed Hello packet to the socket (UDP: a datagram; TCP: the
  // front of the peer's queue).
  virtual void send_hello_packet(int32_t peer, std::vector<std::byte>&& packet) = 0;
  // Authenticates a packet from the network and hands up its frames, or
  // processes its Hello. Returns the status (Ok or why it was dropped, which
  // has been counted). `peer` is the sender on Ok.
  DecodeStatus accept_packet(std::span<const std::byte> packet, int32_t& peer, PacketKind& kind);
  // Posts a flush() unless one is posted or a receive batch is running
  // (its end flushes). flush() sets flush_posted_ while it gathers the
  // Decided frames (they leave with it) and clears it before writing.
  // Inline: every frame sent asks, and nearly always nothing is to be done.
  void schedule_flush() {
    if (!flush_posted_ && !in_batch_) post_flush();
  }
  void post_flush();
  // Turns the notices gathered since the last flush into Decided frames
  // (send()); the first thing flush() does. A peer with no frame in this
  // flush (has_frames_for) keeps its notices back up to notice_delay_us.
  void send_gathered_notices();
  void keep_back_notices();
  // Whether a frame for `to` waits for this flush.
  virtual bool has_frames_for(int32_t to) const = 0;
  void run_before_send() {
    if (before_send_) before_send_();
  }
  void notify_reachable();
  void cancel_timers();

  boost::asio::io_context& io_;
  const NetConfig& config_;
  PacketHandler on_packet_;
  NetCounters& counters_;
  Session session_;
  std::function<void()> batch_end_;
  std::function<void()> before_send_;
  std::function<void()> on_connect_;
  std::function<HelloBody(int32_t)> hello_body_;
  std::function<void(const HelloEvent&)> on_hello_;
  bool in_batch_ = false;  // sends inside a batch leave at its end, not by a post
  bool flush_posted_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards queued handlers

 private:
  void arm_hello_timer();
  boost::asio::steady_timer hello_timer_;
  int64_t hello_timer_at_ = INT64_MAX;
  // The Decided frames naming a list of instances: the first instance of
  // each, and where its bitmap ends in `bitmaps`.
  struct DecidedFrames {
    std::vector<std::pair<uint64_t, size_t>> frames;
    std::vector<std::byte> bitmaps;
    // Replaces the frames with those of `instances` (made canonical here).
    void make(std::vector<uint64_t>& instances, std::vector<std::byte>& scratch);
  };
  void send_decided_frames(int32_t to, const DecidedFrames& f);
  const uint64_t others_;                       // every peer's bit
  std::vector<std::vector<uint64_t>> notices_;  // per peer: instances to name in its next Decided frame
  std::vector<uint64_t> notices_to_all_;        // instances to name in every peer's next Decided frame
  std::vector<int64_t> kept_since_;             // per peer: when its kept-back notices were first kept; -1: none
  std::vector<uint8_t> kept_;                   // per peer: its notices wait in this flush (keep_back_notices)
  bool notices_now_ = false;                    // flush_everything()
  boost::asio::steady_timer notice_timer_;      // the kept-back notices' deadline
  int64_t notice_timer_at_ = INT64_MAX;
  DecidedFrames to_all_frames_;                 // of notices_to_all_, made once per flush
  DecidedFrames own_frames_;                    // of one peer's own list
  std::vector<std::byte> bitmap_;               // scratch for one Decided frame
  // The frames of the packet being handed up (views into it), capacity kept.
  std::vector<ReceivedFrame> frames_;
  std::chrono::steady_clock::time_point epoch_;
  int32_t last_reachable_ = 0;
};

std::unique_ptr<Transport> make_udp_transport(boost::asio::io_context& io, const NetConfig& config,
                                              PacketHandler on_packet, NetCounters& counters);
std::unique_ptr<Transport> make_tcp_transport(boost::asio::io_context& io, const NetConfig& config,
                                              PacketHandler on_packet, NetCounters& counters);

}  // namespace psync::net
