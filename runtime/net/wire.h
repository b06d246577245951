// wire.h: the bytes on the wire (version 5). Messages travel in packets: one
// 37-byte packet header (magic, version, kind, protocol fingerprint, sender,
// the sender's incarnation, the receiver's incarnation as the sender knows
// it, a packet counter), a body, and a 16-byte MAC (net/auth.h). A Messages
// body is compact frames, one per message: a flags byte, the instance as a
// zigzag varint delta from the previous frame's instance, the round and the
// payload length as varints, then the payload. Decided notices travel as
// one Decided frame per peer and flush: a bitmap of the instances decided
// here since the last one (version 4; version 3 had a frame per instance).
// A Messages body may end in padding (version 5): the byte kPadding, then
// zero bytes up to the MAC, so that a UDP datagram sent in a segmentation
// offload batch fills its segment (udp.cpp). A Hello body is the handshake
// (net/session.h). A UDP datagram is one packet; a TCP stream is a sequence
// of packets, each behind a 4-byte length.
// Decoding is strict: anything unexpected is a named reason to drop.
// docs/runtime.md, "Wire format", has the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "util/small_copy.h"

namespace psync::net {

inline constexpr uint16_t kMagic = 0x5350;       // the bytes 'P' 'S'
inline constexpr uint8_t kWireVersion = 5;
// magic 2, version 1, kind 1, fingerprint 8, sender 1, sender incarnation 8,
// receiver incarnation 8, counter 8
inline constexpr size_t kPacketHeaderSize = 37;
inline constexpr size_t kIncarnationOffset = 13;  // the 24 bytes from here are the MAC's nonce
inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kMacSize = 16;            // the tag at the end of every packet
inline constexpr size_t kPacketOverhead = kPacketHeaderSize + kMacSize;
inline constexpr size_t kMaxFrameOverhead = 1 + 10 + 10 + 5;  // flags + three varints at their longest
inline constexpr size_t kTcpLengthSize = 4;      // TCP: each packet behind its length
inline constexpr uint32_t kMaxTcpPacket = 1 << 20;
inline constexpr uint32_t kMaxAnswerValue = 4096;  // a decided value carried by an Answer frame
inline constexpr uint32_t kMaxDecidedBitmap = 512;  // bytes of a Decided frame's bitmap: 4096 instances
inline constexpr size_t kMaxHelloBody = 1 + 3 * 10;  // flags + three varints
inline constexpr size_t kMaxHelloPacket = kPacketOverhead + kMaxHelloBody;

enum class PacketKind : uint8_t {
  Messages = 0,  // one or more frames
  Hello = 1,     // the handshake and heartbeat (net/session.h), no frames
};

enum class FrameKind : uint8_t {
  Message = 0,  // a round message for (instance, round)
  Notice = 1,   // "I have decided this instance": never on the wire since version 4; what a
                // receiver makes of each bit of a Decided frame (for_each_decided)
  Query = 2,    // "what did you decide in this instance?": no payload
  Answer = 3,   // "I decided this value": the value as its JSON text, decided bit set
  Decided = 4,  // "I have decided these instances": the frame's instance is the first,
                // the payload a bitmap from it (bit k of byte k/8: instance + 8*(k/8) + k%8),
                // round 0; the bitmap's first bit and last byte are set (canonical)
};

// Frame flags byte. Allowed: 0 and decided (a message), decided|notice (a
// Decided frame), query, decided|answer. Every other bit and combination is
// rejected.
inline constexpr uint8_t kFlagDecided = 0x01;  // the sender has decided the instance
inline constexpr uint8_t kFlagNotice = 0x02;   // with kFlagDecided: a Decided frame, not a message
inline constexpr uint8_t kFlagQuery = 0x04;    // a straggler asks for the decided value
inline constexpr uint8_t kFlagAnswer = 0x08;   // the decided value
// Not a frame: where a frame's flags byte would be, the start of padding
// that runs to the end of the body, every byte after this one zero.
inline constexpr uint8_t kPadding = 0xFF;

struct PacketHeader {
  PacketKind kind = PacketKind::Messages;
  uint64_t fingerprint = 0;
  int32_t sender = 0;
  uint64_t sender_incarnation = 0;    // never 0 on the wire
  uint64_t receiver_incarnation = 0;  // 0: the sender does not know it yet
  uint64_t counter = 0;               // per sender incarnation and receiver, from 1, increasing
};

// One frame as handed to the node (sender filled in from its packet).
struct WireHeader {
  FrameKind kind = FrameKind::Message;
  bool decided = false;
  uint64_t instance = 0;
  int64_t round = 0;
  int32_t sender = 0;
  uint32_t length = 0;  // payload bytes
};

// Appends a packet header to `out`. The incarnations, the counter and the
// MAC are filled in when the packet is sealed (Session::seal).
void encode_packet_header(const PacketHeader& p, std::vector<std::byte>& out);
// The same at `p` (kPacketHeaderSize bytes); returns its end.
std::byte* write_packet_header(std::byte* p, const PacketHeader& h);
// Appends one frame; `prev_instance` is the previous frame's instance in the
// same packet (0 for the first) and is updated. Instance ids are below 2^63.
void encode_frame(const WireHeader& h, std::span<const std::byte> payload, uint64_t& prev_instance,
                  std::vector<std::byte>& out);
// The same frame written at `p`, which has room for kMaxFrameOverhead +
// payload.size() bytes; returns its end. Inline, with no vector to grow: the
// UDP transport encodes each frame straight into its datagram buffer.
inline std::byte* write_frame(std::byte* p, const WireHeader& h, std::span<const std::byte> payload,
                              uint64_t& prev_instance);
// Bytes encode_frame appends for `h` (exact).
size_t frame_size(const WireHeader& h, size_t payload_size, uint64_t prev_instance);

// Why a packet or frame was rejected. Each has a counter of the same name + "_dropped".
enum class DecodeStatus : uint8_t {
  Ok,
  Truncated,         // shorter than a header, than its varints, or than the length it announces
  BadMagic,
  BadVersion,
  BadKind,           // unknown packet kind, or a kind not allowed here
  WrongFingerprint,  // another protocol (or another version of this one)
  UnknownSender,     // sender id outside 0..n-1, or this process's own id
  BadRound,          // round beyond 2^63-1
  Oversized,         // length above the largest message of the protocol (or of an answer)
  BadEncoding,       // reserved flag bits, non-canonical varint, instance outside [0, 2^63), query with a body,
                     // a Decided frame with a round, an empty or non-canonical bitmap, or one past 2^63
  BadMac,            // the MAC does not verify: forged or corrupted
  Replayed,          // a counter already seen, or older than the replay window
  StaleIncarnation,  // from an earlier incarnation of the sender
  WrongIncarnation,  // addressed to another incarnation of this process, or sent before the handshake
};
const char* decode_status_name(DecodeStatus s);

struct DecodeLimits {
  uint64_t fingerprint = 0;
  int32_t n = 0;
  uint32_t max_payload = 0;
};

// Decodes the packet header at the start of `bytes` (kPacketHeaderSize bytes).
// A zero sender incarnation is BadEncoding. The MAC is not checked here.
DecodeStatus decode_packet_header(std::span<const std::byte> bytes, const DecodeLimits& limits, PacketHeader& p);

// Decodes the frame at the start of `bytes` (a packet's body after the
// frames already read). On Ok, `h` (all but sender) and `payload` are set,
// `consumed` is the frame's size and `prev_instance` is updated. Never reads
// past `bytes`. Inline (below), and always inlined: it runs once per frame
// received, and inlined into decode_frames' loop the header stays in
// registers until the caller's on_frame stores it (out of line, GCC left
// it a call whose header the caller then re-read from the stack, ~100
// instructions a frame at the coordinator).
[[gnu::always_inline]] inline DecodeStatus decode_frame(std::span<const std::byte> bytes, const DecodeLimits& limits,
                                                        uint64_t& prev_instance, WireHeader& h,
                                                        std::span<const std::byte>& payload, size_t& consumed);

// Padding of `size` bytes at `p` (at least 1): kPadding, then zeros.
inline void write_padding(std::byte* p, size_t size) {
  p[0] = std::byte(kPadding);
  std::memset(p + 1, 0, size - 1);
}

// True if `rest` (starting with kPadding) is well-formed padding.
bool is_padding(std::span<const std::byte> rest);

// The frames of a Messages packet's body (between the header and the MAC),
// each handed to on_frame as it is decoded. Stops at the first bad frame
// (frames before it were handed up). A body holds at least one frame, and
// may end in padding (kPadding, then zeros; anything else after kPadding
// is BadEncoding).
template <typename OnFrame>
DecodeStatus decode_frames(std::span<const std::byte> body, const DecodeLimits& limits, int32_t sender,
                           OnFrame&& on_frame) {
  if (body.empty()) return DecodeStatus::Truncated;
  uint64_t prev = 0;
  for (bool first = true; !body.empty(); first = false) {
    if (body[0] == std::byte(kPadding)) {
      if (!is_padding(body)) return DecodeStatus::BadEncoding;
      return first ? DecodeStatus::Truncated : DecodeStatus::Ok;  // padding alone: no frame
    }
    WireHeader h;
    std::span<const std::byte> payload;
    size_t consumed = 0;
    const DecodeStatus s = decode_frame(body, limits, prev, h, payload, consumed);
    if (s != DecodeStatus::Ok) return s;
    h.sender = sender;
    if (!on_frame(h, payload)) return DecodeStatus::Ok;  // the receiver stopped
    body = body.subspan(consumed);
  }
  return DecodeStatus::Ok;
}

// TCP: the complete records at the start of `stream` (each a 4-byte
// little-endian length, then that many bytes of packet), handed to on_packet
// in order. `consumed` is where the first incomplete record starts. False if
// the connection must close: a length above max_packet() (asked before each
// record: a Hello may bind the connection and raise it) or below a packet's
// overhead (`rejected` says which), or on_packet returned false.
template <typename MaxPacket, typename OnPacket>
bool split_tcp_records(std::span<const std::byte> stream, MaxPacket&& max_packet, size_t& consumed,
                       DecodeStatus& rejected, OnPacket&& on_packet) {
  consumed = 0;
  rejected = DecodeStatus::Ok;
  while (stream.size() - consumed >= kTcpLengthSize) {
    uint32_t len = 0;
    for (size_t k = 0; k < kTcpLengthSize; ++k) len |= uint32_t(stream[consumed + k]) << (8 * k);
    if (len > max_packet()) {
      rejected = DecodeStatus::Oversized;
      return false;
    }
    if (len < kPacketOverhead) {
      rejected = DecodeStatus::Truncated;
      return false;
    }
    if (stream.size() - consumed - kTcpLengthSize < len) break;  // wait for the rest
    if (!on_packet(stream.subspan(consumed + kTcpLengthSize, len))) return false;
    consumed += kTcpLengthSize + len;
  }
  return true;
}

// The body of a packet: between its header and its MAC (empty if too short).
inline std::span<const std::byte> packet_body(std::span<const std::byte> packet) {
  if (packet.size() < kPacketOverhead) return {};
  return packet.subspan(kPacketHeaderSize, packet.size() - kPacketOverhead);
}

// The instances a Decided frame names, in increasing order (the frame was
// decoded, so they are below 2^63).
template <typename OnInstance>
void for_each_decided(uint64_t first, std::span<const std::byte> bitmap, OnInstance&& on_instance) {
  for (size_t byte = 0; byte < bitmap.size(); ++byte)
    for (unsigned bits = unsigned(bitmap[byte]); bits != 0; bits &= bits - 1)
      on_instance(first + 8 * byte + unsigned(__builtin_ctz(bits)));
}

// The bitmap of one Decided frame for a prefix of `instances` (sorted, no
// repeats, not empty): it starts at instances[0] and spans at most
// kMaxDecidedBitmap bytes. `bitmap` is overwritten (its capacity reused);
// returns how many instances it names.
size_t make_decided_bitmap(std::span<const uint64_t> instances, std::vector<std::byte>& bitmap);

// Varints as frames use them (LEB128, canonical only), for other bodies.
size_t varint_size(uint64_t v);
void append_varint(std::vector<std::byte>& out, uint64_t v);
// A one-byte varint (every flags-adjacent field of a typical frame: instance
// delta, round, length) is read inline; longer ones by read_varint_long.
DecodeStatus read_varint_long(const std::byte*& p, const std::byte* end, uint64_t& out);
inline DecodeStatus read_varint(const std::byte*& p, const std::byte* end, uint64_t& out) {
  if (p != end && uint8_t(*p) < 0x80) {
    out = uint8_t(*p++);
    return DecodeStatus::Ok;
  }
  return read_varint_long(p, end, out);
}

// A frame's three varints after its flags byte (instance delta, round,
// payload length), read one after another, for a frame where they are not
// all one byte (decode_frame reads those inline). Returned by value, so that
// decode_frame's read position never has its address taken and stays in a
// register.
struct FrameVarints {
  DecodeStatus status = DecodeStatus::Ok;
  const std::byte* end = nullptr;  // past the third, on Ok
  uint64_t delta = 0, round = 0, length = 0;
};
FrameVarints read_frame_varints(const std::byte* p, const std::byte* end);

// A frame's instance as the zigzag of its two's complement difference from
// the previous frame's (small either way: frames go out nearly in order).
inline uint64_t zigzag_delta(uint64_t from, uint64_t to) {
  const int64_t d = int64_t(to - from);
  return (uint64_t(d) << 1) ^ uint64_t(d >> 63);
}

// LEB128 at `p`; returns the end (at most 10 bytes).
inline std::byte* put_varint(std::byte* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = std::byte(uint8_t(v) | 0x80);
    v >>= 7;
  }
  *p++ = std::byte(uint8_t(v));
  return p;
}

inline std::byte* write_frame(std::byte* p, const WireHeader& h, std::span<const std::byte> payload,
                              uint64_t& prev_instance) {
  uint8_t flags = h.decided ? kFlagDecided : 0;
  switch (h.kind) {
    case FrameKind::Message: break;
    case FrameKind::Notice:  // not on the wire: encoded as the Decided frame it stands for
    case FrameKind::Decided: flags = kFlagDecided | kFlagNotice; break;
    case FrameKind::Query: flags = kFlagQuery; break;
    case FrameKind::Answer: flags = kFlagDecided | kFlagAnswer; break;
  }
  *p++ = std::byte(flags);
  p = put_varint(p, zigzag_delta(prev_instance, h.instance));
  p = put_varint(p, uint64_t(h.round));
  p = put_varint(p, payload.size());
  util::copy_small(p, payload.data(), payload.size());
  prev_instance = h.instance;
  return p + payload.size();
}

[[gnu::always_inline]] inline DecodeStatus decode_frame(std::span<const std::byte> bytes, const DecodeLimits& limits,
                                                        uint64_t& prev_instance, WireHeader& h,
                                                        std::span<const std::byte>& payload, size_t& consumed) {
  const std::byte* p = bytes.data();
  const std::byte* end = p + bytes.size();
  if (p == end) return DecodeStatus::Truncated;
  const uint8_t flags = uint8_t(*p++);
  switch (flags) {
    case 0: h.kind = FrameKind::Message; break;
    case kFlagDecided: h.kind = FrameKind::Message; break;
    case kFlagDecided | kFlagNotice: h.kind = FrameKind::Decided; break;
    case kFlagQuery: h.kind = FrameKind::Query; break;
    case kFlagDecided | kFlagAnswer: h.kind = FrameKind::Answer; break;
    default: return DecodeStatus::BadEncoding;  // reserved bits, or a combination with no meaning
  }
  h.decided = (flags & kFlagDecided) != 0;
  uint64_t delta, round, length;
  if (end - p >= 3 && ((uint8_t(p[0]) | uint8_t(p[1]) | uint8_t(p[2])) & 0x80) == 0) {
    // Nearly every frame: a small instance delta, a round below 128 and a
    // short payload, each varint one byte (and so canonical).
    delta = uint8_t(p[0]);
    round = uint8_t(p[1]);
    length = uint8_t(p[2]);
    p += 3;
  } else {
    const FrameVarints v = read_frame_varints(p, end);
    if (v.status != DecodeStatus::Ok) return v.status;
    delta = v.delta;
    round = v.round;
    length = v.length;
    p = v.end;
  }
  // Undo the zigzag; the instance must stay in [0, 2^63).
  const int64_t d = int64_t(delta >> 1) ^ -int64_t(delta & 1);
  int64_t instance = 0;
  if (__builtin_add_overflow(int64_t(prev_instance), d, &instance) || instance < 0) return DecodeStatus::BadEncoding;
  if (round > uint64_t(INT64_MAX)) return DecodeStatus::BadRound;
  const uint64_t max_length = h.kind == FrameKind::Answer    ? kMaxAnswerValue
                              : h.kind == FrameKind::Decided ? kMaxDecidedBitmap
                                                             : limits.max_payload;
  if (length > max_length) return DecodeStatus::Oversized;
  if (h.kind == FrameKind::Query && length != 0) return DecodeStatus::BadEncoding;
  if (uint64_t(end - p) < length) return DecodeStatus::Truncated;
  if (h.kind == FrameKind::Decided) {
    // Canonical: the first instance is named, the last byte is not padding,
    // no round, and every instance named is below 2^63.
    if (round != 0 || length == 0 || (uint8_t(p[0]) & 1) == 0 || p[length - 1] == std::byte{0} ||
        uint64_t(instance) + 8 * length > uint64_t(INT64_MAX) + 1)
      return DecodeStatus::BadEncoding;
  }
  h.instance = uint64_t(instance);
  h.round = int64_t(round);
  h.length = uint32_t(length);
  payload = std::span<const std::byte>(p, size_t(length));
  consumed = size_t(p - bytes.data()) + size_t(length);
  prev_instance = h.instance;
  return DecodeStatus::Ok;
}

}  // namespace psync::net
