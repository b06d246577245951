// fuzz_packet.cpp: libFuzzer target over the packet decoder. Each input is
// (1) opened as a packet off the network (it must fail the MAC unless it is
// one), (2) decoded without the MAC (header, then frames), and (3) sealed
// by a real peer as a packet's body and opened, so that the frame decoder
// runs behind a valid MAC. Traps: a frame outside its packet, a payload
// over the limit, a sealed packet that fails its MAC, an accepted packet
// accepted twice.
#include "fuzz_net.h"

#include <cstring>

using namespace psync;

namespace {

const char* const kTarget = "psync_fuzz_net_packet";

void check_frames(std::span<const std::byte> body, int32_t sender) {
  const std::byte* begin = body.data();
  const std::byte* end = begin + body.size();
  net::decode_frames(body, fuzz::kLimits, sender, [&](const net::WireHeader& h, std::span<const std::byte> payload) {
    if (!payload.empty() && (payload.data() < begin || payload.data() + payload.size() > end))
      fuzz::invariant_failed(kTarget, "a payload outside its packet");
    if (h.kind == net::FrameKind::Message && payload.size() > fuzz::kLimits.max_payload)
      fuzz::invariant_failed(kTarget, "a message payload above the limit");
    if (h.kind == net::FrameKind::Answer && payload.size() > net::kMaxAnswerValue)
      fuzz::invariant_failed(kTarget, "an answer above the limit");
    if (h.kind == net::FrameKind::Decided) {
      if (payload.empty() || payload.size() > net::kMaxDecidedBitmap || h.round != 0)
        fuzz::invariant_failed(kTarget, "a Decided frame outside its limits");
      uint64_t count = 0;
      net::for_each_decided(h.instance, payload, [&](uint64_t i) {
        if (i < h.instance || i > uint64_t(INT64_MAX)) fuzz::invariant_failed(kTarget, "a decided instance out of range");
        ++count;
      });
      if (count == 0) fuzz::invariant_failed(kTarget, "a Decided frame naming nothing");
    }
    if (h.length != payload.size()) fuzz::invariant_failed(kTarget, "length and payload disagree");
    if (h.sender != sender) fuzz::invariant_failed(kTarget, "a frame with another sender");
    return true;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  net::Session me = fuzz::make_session(0, 1000);
  net::Session peer = fuzz::make_session(1, 2000);
  fuzz::handshake(me, peer);

  // (1) Raw bytes off the network.
  net::PacketHeader h;
  net::HelloEvent ev;
  const net::DecodeStatus raw = me.open(input, 1, h, ev);
  (void)raw;

  // (2) The decoder alone, as if the MAC had passed.
  if (net::decode_packet_header(input, fuzz::kLimits, h) == net::DecodeStatus::Ok && size >= net::kPacketOverhead)
    check_frames(net::packet_body(input), h.sender);

  // (3) Sealed by a real peer: the MAC passes, the frames decide.
  const std::vector<std::byte> packet = fuzz::sealed(peer, 0, input);
  const net::DecodeStatus s = me.open(packet, 2, h, ev);
  if (s == net::DecodeStatus::BadMac) fuzz::invariant_failed(kTarget, "a packet sealed by a member fails its MAC");
  if (s == net::DecodeStatus::Ok) {
    check_frames(net::packet_body(packet), h.sender);
    if (me.open(packet, 3, h, ev) != net::DecodeStatus::Replayed)
      fuzz::invariant_failed(kTarget, "the same packet accepted twice");
  }
  // One flipped bit anywhere must fail the MAC (or the header before it).
  if (!packet.empty()) {
    std::vector<std::byte> flipped = packet;
    const size_t at = size ? data[0] % flipped.size() : 0;
    flipped[at] ^= std::byte{0x01};
    if (me.open(flipped, 4, h, ev) == net::DecodeStatus::Ok)
      fuzz::invariant_failed(kTarget, "a corrupted packet passed");
  }
  return 0;
}
