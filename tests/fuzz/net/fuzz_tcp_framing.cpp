// fuzz_tcp_framing.cpp: libFuzzer target over the TCP framing
// (net::split_tcp_records) as the transport drives it: the input is a byte
// stream cut into reads at points the input chooses (its first byte), kept
// in a buffer that is compacted after each read, with the Hello-sized limit
// until a first record arrives. Traps: a record outside the buffer, a
// different sequence of records than one read of the whole stream gives, a
// buffer that grows past one record and one read.
#include "fuzz_net.h"

#include <algorithm>
#include <vector>

using namespace psync;

namespace {

const char* const kTarget = "psync_fuzz_net_tcp_framing";

struct Outcome {
  std::vector<std::vector<std::byte>> records;
  bool closed = false;
  net::DecodeStatus rejected = net::DecodeStatus::Ok;
};

// Feeds `stream` in reads of `chunk` bytes (0: all at once), as tcp.cpp does.
Outcome feed(std::span<const std::byte> stream, size_t chunk, net::Session& me) {
  Outcome out;
  std::vector<std::byte> buffer;
  bool bound = false;
  size_t at = 0;
  while (at < stream.size() && !out.closed) {
    const size_t n = chunk == 0 ? stream.size() - at : std::min(chunk, stream.size() - at);
    buffer.insert(buffer.end(), stream.begin() + ptrdiff_t(at), stream.begin() + ptrdiff_t(at + n));
    at += n;
    size_t consumed = 0;
    auto limit = [&] { return bound ? net::kMaxTcpPacket : uint32_t(net::kMaxHelloPacket); };
    const bool ok = net::split_tcp_records(buffer, limit, consumed, out.rejected, [&](std::span<const std::byte> p) {
      if (p.data() < buffer.data() || p.data() + p.size() > buffer.data() + buffer.size())
        fuzz::invariant_failed(kTarget, "a record outside the buffer");
      out.records.emplace_back(p.begin(), p.end());
      net::PacketHeader h;
      net::HelloEvent ev;
      me.open(p, 0, h, ev);
      bound = true;  // the transport binds on the first (Hello) record or closes
      return true;
    });
    if (!ok) {
      out.closed = true;
      break;
    }
    if (consumed > buffer.size()) fuzz::invariant_failed(kTarget, "consumed past the buffer");
    buffer.erase(buffer.begin(), buffer.begin() + ptrdiff_t(consumed));
    if (buffer.size() > net::kTcpLengthSize + net::kMaxTcpPacket + n)
      fuzz::invariant_failed(kTarget, "the buffer holds more than one record and one read");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = size_t(data[0] % 64) + 1;
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  net::Session a = fuzz::make_session(0, 1000), b = fuzz::make_session(0, 1000);
  const Outcome whole = feed(stream, 0, a);
  const Outcome pieces = feed(stream, chunk, b);
  // Reads cut anywhere give the same records, and close for the same reason.
  if (whole.records != pieces.records || whole.closed != pieces.closed || whole.rejected != pieces.rejected)
    fuzz::invariant_failed(kTarget, "the records depend on how the stream was cut into reads");
  return 0;
}
