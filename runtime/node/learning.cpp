// learning.cpp: the decided values a replica keeps and the rule for
// adopting a peer's (see learning.h).
#include "node/learning.h"

#include "net/wire.h"  // put_varint, read_varint: a record's round and length are LEB128 as on the wire

#include <bit>

namespace psync::node {

void DecidedValues::set(uint64_t instance, std::string_view value, int64_t round) {
  if (instance + retain_ <= highest_) return;  // older than anything kept
  if (instance > highest_) {
    highest_ = instance;
    // Drop the chunks that fell out of the retained range (once per chunk,
    // not a search per value).
    const uint64_t keep_from = highest_ >= retain_ ? (highest_ - retain_ + 1) / kChunk : 0;
    if (!chunks_.empty() && chunks_.begin()->first < keep_from) {
      chunks_.erase(chunks_.begin(), chunks_.lower_bound(keep_from));
      last_ = nullptr;
    }
  }
  // Values come in nearly in instance order: the chunk of the last one is
  // usually the one (map nodes never move).
  const uint64_t key = instance / kChunk;
  if (last_ == nullptr || last_key_ != key) {
    const auto [it, fresh] = chunks_.try_emplace(key);
    if (fresh) it->second.blob.reserve(kChunk * kBytesPerValue);  // no doubling and copying as it fills
    last_ = &it->second;
    last_key_ = key;
  }
  Chunk& c = *last_;
  uint32_t& at = c.at[instance % kChunk];
  if (at != UINT32_MAX) return;  // the first value stands
  at = uint32_t(c.blob.size());
  std::byte head[20];
  const std::byte* const end = net::put_varint(net::put_varint(head, uint64_t(round)), value.size());
  c.blob.append(reinterpret_cast<const char*>(head), size_t(end - head));
  c.blob.append(value);
}

std::optional<DecidedValues::Entry> DecidedValues::get(uint64_t instance) const {
  const auto it = chunks_.find(instance / kChunk);
  if (it == chunks_.end()) return std::nullopt;
  const uint32_t at = it->second.at[instance % kChunk];
  if (at == UINT32_MAX) return std::nullopt;
  const std::string& b = it->second.blob;
  const std::byte* p = reinterpret_cast<const std::byte*>(b.data()) + at;
  const std::byte* const end = reinterpret_cast<const std::byte*>(b.data()) + b.size();
  uint64_t round = 0, len = 0;
  net::read_varint(p, end, round);  // set() wrote them: well formed and in bounds
  net::read_varint(p, end, len);
  Entry e;
  e.round = int64_t(round);
  e.value = std::string_view(reinterpret_cast<const char*>(p), len);
  return e;
}

uint64_t DecidedValues::oldest_kept() const { return chunks_.empty() ? 0 : chunks_.begin()->first * kChunk; }

uint64_t Learner::peers_with_decided(uint64_t instance) const {
  uint64_t peers = 0;
  for (int32_t p = 0; p < n_; ++p)
    if (p != me_ && below_[size_t(p)] > instance) peers |= uint64_t{1} << p;
  return peers;
}

void Learner::hint(uint64_t instance, int32_t peer) {
  if (hints_.size() >= kMaxHints && !hints_.count(instance)) return;  // bounded: the sweep catches up later
  hints_[instance] |= uint64_t{1} << peer;
}

std::vector<std::pair<uint64_t, uint64_t>> Learner::take_hints() {
  std::vector<std::pair<uint64_t, uint64_t>> out(hints_.begin(), hints_.end());
  hints_.clear();
  return out;
}

uint64_t Learner::ask(uint64_t instance, uint64_t decided_peers) {
  decided_peers &= ~(uint64_t{1} << me_);
  if (decided_peers == 0) return 0;
  if (f_ > 0) return decided_peers;
  // One peer is enough; rotate, so that a peer whose answers are lost does
  // not hold a straggler back.
  const int count = std::popcount(decided_peers);
  int pick = int((rotate_++ + instance) % uint64_t(count));
  for (uint64_t bits = decided_peers; bits; bits &= bits - 1)
    if (pick-- == 0) return bits & -bits;
  return 0;
}

std::optional<std::string> Learner::answer(uint64_t instance, int32_t peer, std::string_view value) {
  if (f_ <= 0) return std::string(value);
  auto it = tallies_.find(instance);
  if (it == tallies_.end()) {
    if (tallies_.size() >= kMaxTallies) return std::nullopt;
    it = tallies_.emplace(instance, std::vector<std::pair<int32_t, std::string>>{}).first;
  }
  auto& votes = it->second;
  for (const auto& [who, v] : votes)
    if (who == peer) return std::nullopt;  // one word per peer: its first
  votes.emplace_back(peer, std::string(value));
  int32_t matching = 0;
  for (const auto& [who, v] : votes) matching += v == value ? 1 : 0;
  if (matching < f_ + 1) return std::nullopt;
  tallies_.erase(it);
  return std::string(value);
}

}  // namespace psync::node
