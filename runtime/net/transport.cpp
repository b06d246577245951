// transport.cpp: what the UDP and TCP transports share: counting rejected
// packets, opening packets through the Session and handing their frames up,
// and the Hellos of the handshake and heartbeat on a timer.
#include "net/transport.h"

#include "util/bits.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace psync::net {

namespace asio = boost::asio;

void NetCounters::count_rejected(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: break;
    case DecodeStatus::Truncated: ++truncated_dropped; break;
    case DecodeStatus::BadMagic: ++bad_magic_dropped; break;
    case DecodeStatus::BadVersion: ++bad_version_dropped; break;
    case DecodeStatus::BadKind: ++bad_kind_dropped; break;
    case DecodeStatus::WrongFingerprint: ++wrong_fingerprint_dropped; break;
    case DecodeStatus::UnknownSender: ++unknown_sender_dropped; break;
    case DecodeStatus::BadRound: ++bad_round_dropped; break;
    case DecodeStatus::Oversized: ++oversized_dropped; break;
    case DecodeStatus::BadEncoding: ++bad_encoding_dropped; break;
    case DecodeStatus::BadMac: ++bad_mac_dropped; break;
    case DecodeStatus::Replayed: ++replayed_dropped; break;
    case DecodeStatus::StaleIncarnation: ++stale_incarnation_dropped; break;
    case DecodeStatus::WrongIncarnation: ++wrong_incarnation_dropped; break;
  }
}

std::vector<std::pair<const char*, uint64_t>> counter_list(const NetCounters& c) {
  std::vector<std::pair<const char*, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, c.name);
  PSYNC_NET_COUNTERS(PSYNC_X)
#undef PSYNC_X
  return out;
}

namespace {

SessionKeys keys_for(const NetConfig& c) {
  if (c.keys.keyed) return c.keys;
  return SessionKeys::keyless(c.n, c.me, c.fingerprint);
}

}  // namespace

Transport::Transport(asio::io_context& io, const NetConfig& config, PacketHandler on_packet, NetCounters& counters)
    : io_(io), config_(config), on_packet_(std::move(on_packet)), counters_(counters),
      session_(DecodeLimits{config.fingerprint, config.n, config.max_payload}, config.me, config.incarnation,
               config.durable, keys_for(config)),
      hello_timer_(io), others_(((config.n >= 64 ? ~uint64_t{0} : (uint64_t{1} << config.n) - 1)) &
                                ~(uint64_t{1} << config.me)),
      notices_(size_t(config.n)), kept_since_(size_t(config.n), -1), kept_(size_t(config.n), 0),
      notice_timer_(io), epoch_(std::chrono::steady_clock::now()) {}

Transport::~Transport() { *alive_ = false; }

int64_t Transport::now_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - epoch_).count();
}

DecodeStatus Transport::accept_packet(std::span<const std::byte> packet, int32_t& peer, PacketKind& kind) {
  PacketHeader h;
  HelloEvent ev;
  DecodeStatus s = session_.open(packet, now_us(), h, ev);
  if (s != DecodeStatus::Ok) {
    counters_.count_rejected(s);
    return s;
  }
  peer = h.sender;
  kind = h.kind;
  if (h.kind == PacketKind::Hello) {
    ++counters_.hellos_received;
    if (ev.new_incarnation && ev.previous_incarnation != 0) ++counters_.peer_restarts_seen;
    if (on_hello_) on_hello_(ev);
    notify_reachable();
    return DecodeStatus::Ok;
  }
  notify_reachable();
  // Decoded first, then handed up: the frames before a malformed one still
  // are, as before, all at once to a packet handler.
  std::vector<ReceivedFrame> frames;
  frames.swap(frames_);  // its capacity, and safe should a handler re-enter
  frames.clear();
  s = decode_frames(packet_body(packet), session_.limits(), h.sender,
                    [&](const WireHeader& fh, std::span<const std::byte> payload) {
                      ++counters_.frames_received;
                      if (fh.kind == FrameKind::Decided) ++counters_.decided_frames_received;
                      frames.emplace_back(fh, payload);
                      return true;
                    });
  if (!frames.empty()) on_packet_(frames);
  frames_.swap(frames);
  if (s != DecodeStatus::Ok) counters_.count_rejected(s);
  return s;
}

void Transport::notify_reachable() {
  const int32_t now = reachable_peers();
  if (now > last_reachable_ && on_connect_) {
    last_reachable_ = now;
    on_connect_();
  }
  last_reachable_ = now;
}

void Transport::send_due_hellos() {
  const int64_t now = now_us();
  std::vector<int32_t> due;
  session_.hellos_due(now, due);
  for (int32_t p : due) {
    std::vector<std::byte> packet;
    session_.append_hello(p, hello_body_ ? hello_body_(p) : HelloBody{}, packet, now);
    ++counters_.hellos_sent;
    send_hello_packet(p, std::move(packet));
  }
  arm_hello_timer();
}

void Transport::send_farewell() {
  const int64_t now = now_us();
  for (int32_t p = 0; p < session_.n(); ++p) {
    if (p == session_.me() || !session_.can_send(p)) continue;
    std::vector<std::byte> packet;
    session_.append_hello(p, hello_body_ ? hello_body_(p) : HelloBody{}, packet, now);
    ++counters_.hellos_sent;
    send_hello_packet(p, std::move(packet));
  }
}

void Transport::arm_hello_timer() {
  // At least a millisecond ahead: a reply owed to a peer that keeps asking
  // goes out with the next batch, not in a loop of its own.
  const int64_t at = std::max(session_.next_hello_us(), now_us() + 1000);
  if (at >= hello_timer_at_) return;
  hello_timer_at_ = at;
  hello_timer_.expires_at(epoch_ + std::chrono::microseconds(at));
  hello_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    hello_timer_at_ = INT64_MAX;
    if (!stopped_) send_due_hellos();
  });
}

void Transport::post_flush() {
  flush_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (*alive) flush();
  });
}

namespace {

// Instances mostly decide in order, each once: a list of them is sorted and
// its repeats dropped only when it is not already so (one pass finds out).
void make_canonical(std::vector<uint64_t>& list) {
  if (std::adjacent_find(list.begin(), list.end(), std::greater_equal<uint64_t>()) != list.end()) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
}

}  // namespace

void Transport::DecidedFrames::make(std::vector<uint64_t>& instances, std::vector<std::byte>& scratch) {
  frames.clear();
  bitmaps.clear();
  make_canonical(instances);
  for (size_t at = 0; at < instances.size();) {
    const uint64_t first = instances[at];
    at += make_decided_bitmap(std::span<const uint64_t>(instances).subspan(at), scratch);
    bitmaps.insert(bitmaps.end(), scratch.begin(), scratch.end());
    frames.emplace_back(first, bitmaps.size());
  }
}

void Transport::send_decided_frames(int32_t to, const DecidedFrames& f) {
  WireHeader h;
  h.kind = FrameKind::Decided;
  h.decided = true;
  h.sender = config_.me;
  size_t begin = 0;
  for (const auto& [first, end] : f.frames) {
    h.instance = first;
    send(to, h, std::span<const std::byte>(f.bitmaps).subspan(begin, end - begin));
    ++counters_.decided_frames_sent;
    begin = end;
  }
}

// One Decided frame per peer and flush (more only when the instances span
// more than a bitmap holds), instead of a frame per decided instance. The
// frames of the notices for every peer are made once; a peer that also has
// notices of its own (rare: it had the decided bit of some instances on a
// message) gets frames of the two lists merged. With notice_delay_us, a peer
// that gets no other frame in this flush keeps its notices back (in its own
// list) until a flush that has a frame for it, or the delay's end.
void Transport::send_gathered_notices() {
  if (config_.notice_delay_us > 0 && !notices_now_) keep_back_notices();
  to_all_frames_.make(notices_to_all_, bitmap_);
  for (int32_t to = 0; to < config_.n; ++to) {
    if (to == config_.me || kept_[size_t(to)]) continue;
    kept_since_[size_t(to)] = -1;
    std::vector<uint64_t>& own = notices_[size_t(to)];
    if (own.empty()) {
      send_decided_frames(to, to_all_frames_);
      continue;
    }
    own.insert(own.end(), notices_to_all_.begin(), notices_to_all_.end());
    own_frames_.make(own, bitmap_);
    send_decided_frames(to, own_frames_);
    own.clear();  // keeps its capacity
  }
  notices_to_all_.clear();
}

// Marks (kept_) the peers whose notices wait: they have a few (fewer than
// kKeepBackBelow: a datagram of many is worth its header, MAC, system call
// and wake-up), no other frame waits for them, and their first kept notice
// is younger than the delay; and at least kKeepBackFrom peers are so in
// this flush. Their share of the notices for everyone moves to their own
// list, and the timer is set for the first of them to go.
//
// Why two: one lone datagram per decision is what a pair of processes that
// exchange nothing else (LastVoting's two non-coordinators at n = 3) costs,
// and keeping even that one back made a run with one instance in flight
// 10-25 % slower on loopback (its wake-up of the peer, which was asleep,
// had the peer up when the coordinator's next message came). A
// non-coordinator at n = 5 sent three a decision; keeping them back made
// the same run 15-25 % faster (bench/README.md, wave 12).
void Transport::keep_back_notices() {
  constexpr size_t kKeepBackBelow = 32;
  constexpr int kKeepBackFrom = 2;
  uint64_t quiet = 0;  // peers that would get a datagram of a few notices alone
  for (int32_t to = 0; to < config_.n; ++to) {
    kept_[size_t(to)] = 0;
    const size_t count = notices_[size_t(to)].size() + notices_to_all_.size();
    if (to != config_.me && count > 0 && count < kKeepBackBelow && !has_frames_for(to)) quiet |= uint64_t{1} << to;
  }
  if (util::popcount64(quiet) < kKeepBackFrom) return;
  const int64_t now = now_us();
  int64_t due = INT64_MAX;
  for (uint64_t bits = quiet; bits != 0; bits &= bits - 1) {
    const int32_t to = std::countr_zero(bits);
    int64_t& since = kept_since_[size_t(to)];
    if (since < 0) {
      since = now;
      ++counters_.notices_kept_back;
    }
    if (now - since >= config_.notice_delay_us) continue;  // kept long enough: they go now
    kept_[size_t(to)] = 1;
    std::vector<uint64_t>& own = notices_[size_t(to)];
    own.insert(own.end(), notices_to_all_.begin(), notices_to_all_.end());
    due = std::min(due, since + config_.notice_delay_us);
  }
  if (due >= notice_timer_at_) return;
  notice_timer_at_ = due;
  notice_timer_.expires_after(std::chrono::microseconds(due - now));
  notice_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    notice_timer_at_ = INT64_MAX;
    if (!stopped_) flush();
  });
}

bool Transport::send_answer(int32_t to, uint64_t instance, int64_t round, std::string_view value) {
  if (value.size() > kMaxAnswerValue) return false;
  WireHeader h;
  h.kind = FrameKind::Answer;
  h.decided = true;
  h.instance = instance;
  h.round = round;
  h.sender = config_.me;
  send(to, h, std::as_bytes(std::span<const char>(value.data(), value.size())));
  return true;
}

void Transport::cancel_timers() {
  hello_timer_.cancel();
  hello_timer_at_ = INT64_MAX;
  notice_timer_.cancel();
  notice_timer_at_ = INT64_MAX;
}

}  // namespace psync::net
