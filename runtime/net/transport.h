// transport.h: moving frames between the processes of a cluster over one
// Asio io_context. UDP (the default) coalesces the frames for one peer into
// datagrams; TCP keeps one length-framed connection per direction and
// reconnects. Both authenticate the sender by its address (or its TCP hello)
// and hand only well-formed frames up.
#pragma once

#include "net/wire.h"

#include <utility>  // before Asio: g++ 12 in C++20 needs std::exchange declared
#include <boost/asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace psync::net {

#define PSYNC_NET_COUNTERS(X)                                                   \
  X(datagrams_sent)                                                             \
  X(datagrams_received)                                                         \
  X(frames_sent)                                                                \
  X(frames_received)            /* well-formed message frames handed up */      \
  X(bytes_sent)                                                                 \
  X(bytes_received)                                                             \
  X(unknown_peer_dropped)       /* datagram or connection from an unknown address */ \
  X(sender_mismatch_dropped)    /* sender id does not match the source */       \
  X(truncated_dropped)                                                          \
  X(bad_magic_dropped)                                                          \
  X(bad_version_dropped)                                                        \
  X(bad_kind_dropped)                                                           \
  X(wrong_fingerprint_dropped)                                                  \
  X(unknown_sender_dropped)                                                     \
  X(bad_round_dropped)                                                          \
  X(oversized_dropped)                                                          \
  X(bad_encoding_dropped)       /* reserved bits, overlong varints, bad instance */ \
  X(send_errors)                /* the socket refused a datagram or write */    \
  X(tcp_connects)               /* outgoing connections established */          \
  X(tcp_accepts)                /* incoming connections authenticated */        \
  X(tcp_disconnects)                                                            \
  X(tcp_queue_dropped)          /* frames dropped: peer unreachable, queue full */

struct NetCounters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_NET_COUNTERS(PSYNC_X)
#undef PSYNC_X
  // Every frame or datagram rejected by decoding or authentication.
  uint64_t malformed_total() const {
    return unknown_peer_dropped + sender_mismatch_dropped + truncated_dropped + bad_magic_dropped +
           bad_version_dropped + bad_kind_dropped + wrong_fingerprint_dropped + unknown_sender_dropped +
           bad_round_dropped + oversized_dropped + bad_encoding_dropped;
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
  size_t max_tcp_queue = 16 << 20; // TCP: bytes queued per peer before dropping
  std::vector<Peer> peers;         // index = id
};

// Where well-formed, authenticated frames (messages and decided notices) go.
using FrameHandler = std::function<void(const WireHeader&, std::span<const std::byte> payload)>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Binds and starts receiving. Throws std::runtime_error naming the address.
  virtual void start() = 0;
  // Queues one frame for `to` (h.sender and the fingerprint are filled in);
  // it leaves by the next flush.
  virtual void send(int32_t to, const WireHeader& h, std::span<const std::byte> payload) = 0;
  // Writes out everything queued. Also posted automatically after a send.
  virtual void flush() = 0;
  virtual void stop() = 0;
  // Called after each batch of received frames (one wake-up of the socket),
  // before the frames it caused are flushed: the node settles catch-ups here.
  void set_batch_end(std::function<void()> f) { batch_end_ = std::move(f); }
  // Peers this process can currently send to (UDP: all of them; TCP: those
  // with an established outgoing connection), and a callback when it grows.
  virtual int32_t reachable_peers() const = 0;
  void set_on_connect(std::function<void()> f) { on_connect_ = std::move(f); }

 protected:
  std::function<void()> batch_end_;
  std::function<void()> on_connect_;
  bool in_batch_ = false;  // sends inside a batch leave at its end, not by a post
};

std::unique_ptr<Transport> make_udp_transport(boost::asio::io_context& io, const NetConfig& config,
                                              FrameHandler on_frame, NetCounters& counters);
std::unique_ptr<Transport> make_tcp_transport(boost::asio::io_context& io, const NetConfig& config,
                                              FrameHandler on_frame, NetCounters& counters);

}  // namespace psync::net
