// wire.cpp: frame encoding and the strict decoder (see wire.h).
#include "net/wire.h"

#include <bit>
#include <cstring>

namespace psync::net {

namespace {

template <typename T>
void put(std::byte* p, T v) {
  static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");
  std::memcpy(p, &v, sizeof v);
}

template <typename T>
T get(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

void encode_frame(const WireHeader& h, std::span<const std::byte> payload, std::vector<std::byte>& out) {
  const size_t at = out.size();
  out.resize(at + kHeaderSize + payload.size());
  std::byte* p = out.data() + at;
  put<uint32_t>(p + 0, kMagic);
  put<uint16_t>(p + 4, kWireVersion);
  put<uint16_t>(p + 6, uint16_t(h.kind));
  put<uint64_t>(p + 8, h.fingerprint);
  put<uint64_t>(p + 16, h.instance);
  put<int64_t>(p + 24, h.round);
  put<uint32_t>(p + 32, uint32_t(h.sender));
  put<uint32_t>(p + 36, uint32_t(payload.size()));
  if (!payload.empty()) std::memcpy(p + kHeaderSize, payload.data(), payload.size());
}

DecodeStatus decode_frame(std::span<const std::byte> bytes, const DecodeLimits& limits, WireHeader& h,
                          std::span<const std::byte>& payload, size_t& consumed) {
  if (bytes.size() < kHeaderSize) return DecodeStatus::Truncated;
  const std::byte* p = bytes.data();
  if (get<uint32_t>(p) != kMagic) return DecodeStatus::BadMagic;
  if (get<uint16_t>(p + 4) != kWireVersion) return DecodeStatus::BadVersion;
  const uint16_t kind = get<uint16_t>(p + 6);
  if (kind != uint16_t(FrameKind::Message) && kind != uint16_t(FrameKind::Hello)) return DecodeStatus::BadKind;
  h.kind = FrameKind(kind);
  h.fingerprint = get<uint64_t>(p + 8);
  if (h.fingerprint != limits.fingerprint) return DecodeStatus::WrongFingerprint;
  h.instance = get<uint64_t>(p + 16);
  h.round = get<int64_t>(p + 24);
  const uint32_t sender = get<uint32_t>(p + 32);
  if (sender >= uint32_t(limits.n)) return DecodeStatus::UnknownSender;
  h.sender = int32_t(sender);
  if (h.round < 0) return DecodeStatus::BadRound;
  h.length = get<uint32_t>(p + 36);
  if (h.length > limits.max_payload) return DecodeStatus::Oversized;
  if (bytes.size() - kHeaderSize < h.length) return DecodeStatus::Truncated;
  payload = bytes.subspan(kHeaderSize, h.length);
  consumed = kHeaderSize + h.length;
  return DecodeStatus::Ok;
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
  }
  return "?";
}

}  // namespace psync::net
