// wire.h: the bytes on the wire (version 2). Messages travel in packets: one
// 13-byte packet header (magic, version, kind, protocol fingerprint, sender)
// followed by compact frames, one per message: a flags byte, the instance as a
// zigzag varint delta from the previous frame's instance, the round and the
// payload length as varints, then the payload. A UDP datagram is one packet;
// a TCP stream is a sequence of packets, each behind a 4-byte length.
// Decoding is strict: anything unexpected is a named reason to drop.
// docs/runtime.md, "Wire format", has the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace psync::net {

inline constexpr uint16_t kMagic = 0x5350;       // the bytes 'P' 'S'
inline constexpr uint8_t kWireVersion = 2;
inline constexpr size_t kPacketHeaderSize = 13;  // magic 2, version 1, kind 1, fingerprint 8, sender 1
inline constexpr size_t kMaxFrameOverhead = 1 + 10 + 10 + 5;  // flags + three varints at their longest
inline constexpr size_t kTcpLengthSize = 4;      // TCP: each packet behind its length
inline constexpr uint32_t kMaxTcpPacket = 1 << 20;

enum class PacketKind : uint8_t {
  Messages = 0,  // one or more frames
  Hello = 1,     // TCP only, first on a connection, no frames: announces the sender
};

enum class FrameKind : uint8_t {
  Message = 0,  // a round message for (instance, round)
  Notice = 1,   // "I have decided this instance": no payload, decided bit set
};

// Frame flags byte. Every other bit must be zero.
inline constexpr uint8_t kFlagDecided = 0x01;  // the sender has decided the instance
inline constexpr uint8_t kFlagNotice = 0x02;   // a decided notice, not a message
inline constexpr uint8_t kKnownFlags = kFlagDecided | kFlagNotice;

struct PacketHeader {
  PacketKind kind = PacketKind::Messages;
  uint64_t fingerprint = 0;
  int32_t sender = 0;
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

// Appends a packet header to `out`.
void encode_packet_header(const PacketHeader& p, std::vector<std::byte>& out);
// Appends one frame; `prev_instance` is the previous frame's instance in the
// same packet (0 for the first) and is updated. Instance ids are below 2^63.
void encode_frame(const WireHeader& h, std::span<const std::byte> payload, uint64_t& prev_instance,
                  std::vector<std::byte>& out);
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
  UnknownSender,     // sender id outside 0..n-1
  BadRound,          // round beyond 2^63-1
  Oversized,         // length above the largest message of the protocol
  BadEncoding,       // reserved flag bits, non-canonical varint, instance outside [0, 2^63), notice with a body
};
const char* decode_status_name(DecodeStatus s);

struct DecodeLimits {
  uint64_t fingerprint = 0;
  int32_t n = 0;
  uint32_t max_payload = 0;
};

// Decodes the packet header at the start of `bytes` (kPacketHeaderSize bytes).
DecodeStatus decode_packet_header(std::span<const std::byte> bytes, const DecodeLimits& limits, PacketHeader& p);

// Decodes the frame at the start of `bytes` (a packet's body after the
// frames already read). On Ok, `h` (all but sender) and `payload` are set,
// `consumed` is the frame's size and `prev_instance` is updated. Never reads
// past `bytes`.
DecodeStatus decode_frame(std::span<const std::byte> bytes, const DecodeLimits& limits, uint64_t& prev_instance,
                          WireHeader& h, std::span<const std::byte>& payload, size_t& consumed);

// A whole packet: the header, then every frame, each handed to on_frame as it
// is decoded. Stops at the first bad frame (frames before it were handed up).
// A Messages packet must hold at least one frame, a Hello none.
template <typename OnFrame>
DecodeStatus decode_packet(std::span<const std::byte> bytes, const DecodeLimits& limits, PacketHeader& p,
                           OnFrame&& on_frame) {
  DecodeStatus s = decode_packet_header(bytes, limits, p);
  if (s != DecodeStatus::Ok) return s;
  bytes = bytes.subspan(kPacketHeaderSize);
  if (p.kind == PacketKind::Hello) return bytes.empty() ? DecodeStatus::Ok : DecodeStatus::BadEncoding;
  if (bytes.empty()) return DecodeStatus::Truncated;
  uint64_t prev = 0;
  while (!bytes.empty()) {
    WireHeader h;
    std::span<const std::byte> payload;
    size_t consumed = 0;
    s = decode_frame(bytes, limits, prev, h, payload, consumed);
    if (s != DecodeStatus::Ok) return s;
    h.sender = p.sender;
    if (!on_frame(h, payload)) return DecodeStatus::Ok;  // the receiver stopped
    bytes = bytes.subspan(consumed);
  }
  return DecodeStatus::Ok;
}

}  // namespace psync::net
