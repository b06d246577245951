// wire.h: the bytes on the wire. Every message travels as one frame: a fixed
// 40-byte little-endian header followed by the payload (one mailbox slot).
// A UDP datagram carries one or more frames; a TCP stream is a sequence of
// frames. Decoding is strict: anything unexpected is a named reason to drop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace psync::net {

inline constexpr uint32_t kMagic = 0x4E595350;  // "PSYN" in little-endian bytes
inline constexpr uint16_t kWireVersion = 1;
inline constexpr size_t kHeaderSize = 40;

enum class FrameKind : uint16_t {
  Message = 0,  // a round message for (instance, round)
  Hello = 1,    // first frame on a TCP connection: announces the sender
};

struct WireHeader {
  FrameKind kind = FrameKind::Message;
  uint64_t fingerprint = 0;
  uint64_t instance = 0;
  int64_t round = 0;
  int32_t sender = 0;
  uint32_t length = 0;  // payload bytes after the header
};

// Appends header + payload to `out`.
void encode_frame(const WireHeader& h, std::span<const std::byte> payload, std::vector<std::byte>& out);

// Why a frame was rejected. Each has a counter of the same name + "_dropped".
enum class DecodeStatus : uint8_t {
  Ok,
  Truncated,         // shorter than a header, or than the length it announces
  BadMagic,
  BadVersion,
  BadKind,           // unknown frame kind
  WrongFingerprint,  // another protocol (or another version of this one)
  UnknownSender,     // sender id outside 0..n-1
  BadRound,          // negative round
  Oversized,         // length above the largest message of the protocol
};
const char* decode_status_name(DecodeStatus s);

struct DecodeLimits {
  uint64_t fingerprint = 0;
  int32_t n = 0;
  uint32_t max_payload = 0;
};

// Decodes the frame at the start of `bytes`. On Ok, `payload` is the body and
// `consumed` the frame's size. Never reads past `bytes`.
DecodeStatus decode_frame(std::span<const std::byte> bytes, const DecodeLimits& limits, WireHeader& header,
                          std::span<const std::byte>& payload, size_t& consumed);

}  // namespace psync::net
