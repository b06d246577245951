// wire.cpp: packet and frame encoding, and the strict decoder (see wire.h).
// Authentication (the MAC, incarnations, replay) is net/session.cpp's.
#include "net/wire.h"

#include <bit>
#include <cstring>

namespace psync::net {

namespace {

static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");

template <typename T>
void put(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

template <typename T>
T get(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

bool is_padding(std::span<const std::byte> rest) {
  if (rest.empty() || rest[0] != std::byte(kPadding)) return false;
  std::byte any{0};
  for (size_t i = 1; i < rest.size(); ++i) any |= rest[i];
  return any == std::byte{0};
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void append_varint(std::vector<std::byte>& out, uint64_t v) {
  std::byte buf[10];
  const std::byte* end = put_varint(buf, v);
  out.insert(out.end(), static_cast<const std::byte*>(buf), end);
}

// LEB128, canonical only: at most 10 bytes, no trailing zero groups, no bits
// beyond 64. Returns Truncated when the bytes run out, BadEncoding otherwise.
DecodeStatus read_varint_long(const std::byte*& p, const std::byte* end, uint64_t& out) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    if (p == end) return DecodeStatus::Truncated;
    const uint8_t b = uint8_t(*p++);
    if (shift == 63 && b > 1) return DecodeStatus::BadEncoding;
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      if (b == 0 && shift > 0) return DecodeStatus::BadEncoding;  // overlong
      out = v;
      return DecodeStatus::Ok;
    }
    if (shift == 63) return DecodeStatus::BadEncoding;
  }
}

FrameVarints read_frame_varints(const std::byte* p, const std::byte* end) {
  FrameVarints v;
  v.status = read_varint(p, end, v.delta);
  if (v.status == DecodeStatus::Ok) v.status = read_varint(p, end, v.round);
  if (v.status == DecodeStatus::Ok) v.status = read_varint(p, end, v.length);
  v.end = p;
  return v;
}

void encode_packet_header(const PacketHeader& h, std::vector<std::byte>& out) {
  const size_t at = out.size();
  out.resize(at + kPacketHeaderSize);
  write_packet_header(out.data() + at, h);
}

std::byte* write_packet_header(std::byte* p, const PacketHeader& h) {
  put<uint16_t>(p + 0, kMagic);
  put<uint8_t>(p + 2, kWireVersion);
  put<uint8_t>(p + 3, uint8_t(h.kind));
  put<uint64_t>(p + 4, h.fingerprint);
  put<uint8_t>(p + 12, uint8_t(h.sender));
  put<uint64_t>(p + 13, h.sender_incarnation);
  put<uint64_t>(p + 21, h.receiver_incarnation);
  put<uint64_t>(p + 29, h.counter);
  return p + kPacketHeaderSize;
}

size_t frame_size(const WireHeader& h, size_t payload_size, uint64_t prev_instance) {
  return 1 + varint_size(zigzag_delta(prev_instance, h.instance)) + varint_size(uint64_t(h.round)) +
         varint_size(payload_size) + payload_size;
}

void encode_frame(const WireHeader& h, std::span<const std::byte> payload, uint64_t& prev_instance,
                  std::vector<std::byte>& out) {
  const size_t at = out.size();
  out.resize(at + kMaxFrameOverhead + payload.size());
  std::byte* end = write_frame(out.data() + at, h, payload, prev_instance);
  out.resize(size_t(end - out.data()));
}

DecodeStatus decode_packet_header(std::span<const std::byte> bytes, const DecodeLimits& limits, PacketHeader& h) {
  if (bytes.size() < kPacketHeaderSize) return DecodeStatus::Truncated;
  const std::byte* p = bytes.data();
  if (get<uint16_t>(p) != kMagic) return DecodeStatus::BadMagic;
  if (get<uint8_t>(p + 2) != kWireVersion) return DecodeStatus::BadVersion;
  const uint8_t kind = get<uint8_t>(p + 3);
  if (kind != uint8_t(PacketKind::Messages) && kind != uint8_t(PacketKind::Hello)) return DecodeStatus::BadKind;
  h.kind = PacketKind(kind);
  h.fingerprint = get<uint64_t>(p + 4);
  if (h.fingerprint != limits.fingerprint) return DecodeStatus::WrongFingerprint;
  const uint8_t sender = get<uint8_t>(p + 12);
  if (int32_t(sender) >= limits.n) return DecodeStatus::UnknownSender;
  h.sender = int32_t(sender);
  h.sender_incarnation = get<uint64_t>(p + 13);
  h.receiver_incarnation = get<uint64_t>(p + 21);
  h.counter = get<uint64_t>(p + 29);
  if (h.sender_incarnation == 0) return DecodeStatus::BadEncoding;
  return DecodeStatus::Ok;
}

size_t make_decided_bitmap(std::span<const uint64_t> instances, std::vector<std::byte>& bitmap) {
  const uint64_t first = instances[0];
  constexpr uint64_t kSpan = 8 * uint64_t(kMaxDecidedBitmap);
  bitmap.assign(kMaxDecidedBitmap, std::byte{0});  // capacity kept: no allocation after the first
  size_t at = 0;
  uint64_t k = 0;
  for (; at < instances.size() && (k = instances[at] - first) < kSpan; ++at)
    bitmap[size_t(k / 8)] |= std::byte(uint8_t(1u << (k % 8)));
  bitmap.resize(size_t((instances[at - 1] - first) / 8) + 1);
  return at;
}

const char* decode_status_name(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: return "ok";
    case DecodeStatus::Truncated: return "truncated";
    case DecodeStatus::BadMagic: return "bad_magic";
    case DecodeStatus::BadVersion: return "bad_version";
    case DecodeStatus::BadKind: return "bad_kind";
    case DecodeStatus::WrongFingerprint: return "wrong_fingerprint";
    case DecodeStatus::UnknownSender: return "unknown_sender";
    case DecodeStatus::BadRound: return "bad_round";
    case DecodeStatus::Oversized: return "oversized";
    case DecodeStatus::BadEncoding: return "bad_encoding";
    case DecodeStatus::BadMac: return "bad_mac";
    case DecodeStatus::Replayed: return "replayed";
    case DecodeStatus::StaleIncarnation: return "stale_incarnation";
    case DecodeStatus::WrongIncarnation: return "wrong_incarnation";
  }
  return "?";
}

}  // namespace psync::net
