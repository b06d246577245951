// store.h: the explorer's memory: an append-only store of fixed-size states
// with an open-addressing index, and the memo of local successor sets.
// Internal to runtime/check.
#ifndef PSYNC_CHECK_STORE_H
#define PSYNC_CHECK_STORE_H

#include "engine.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

namespace psync::check::detail {

// Append-only store of fixed-size keys with an open-addressing index. Keys
// live in chunks so that growth never moves them; a slot is the key's 32-bit
// hash tag and its index + 1 (0 = empty).
class StateStore {
 public:
  explicit StateStore(size_t key_bytes) : kb_(key_bytes), slots_(1u << 12, 0) {}

  uint32_t size() const { return count_; }
  const uint8_t* at(uint32_t i) const { return chunks_[i >> kShift].get() + (i & kMask) * kb_; }

  // Returns the key's index and whether it was new.
  std::pair<uint32_t, bool> insert(const uint8_t* key) {
    if ((static_cast<uint64_t>(count_) + 1) * 2 > slots_.size()) grow();
    uint64_t h = hash_bytes(key, kb_);
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint64_t slot = slots_[pos];
      if (slot == 0) {
        uint32_t idx = count_++;
        if ((idx & kMask) == 0) chunks_.emplace_back(new uint8_t[kb_ << kShift]);
        std::memcpy(const_cast<uint8_t*>(at(idx)), key, kb_);
        slots_[pos] = (h >> 32) << 32 | (static_cast<uint64_t>(idx) + 1);
        return {idx, true};
      }
      if ((slot >> 32) == (h >> 32)) {
        uint32_t idx = static_cast<uint32_t>(slot) - 1;
        if (std::memcmp(at(idx), key, kb_) == 0) return {idx, false};
      }
    }
  }

  bool contains(const uint8_t* key) const {
    uint64_t h = hash_bytes(key, kb_);
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint64_t slot = slots_[pos];
      if (slot == 0) return false;
      if ((slot >> 32) == (h >> 32) && std::memcmp(at(static_cast<uint32_t>(slot) - 1), key, kb_) == 0)
        return true;
    }
  }

  uint64_t bytes() const {
    return chunks_.size() * (kb_ << kShift) + slots_.size() * sizeof(uint64_t);
  }

 private:
  static constexpr uint32_t kShift = 14;
  static constexpr uint32_t kMask = (1u << kShift) - 1;

  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    size_t mask = bigger.size() - 1;
    for (uint64_t slot : slots_) {
      if (!slot) continue;
      uint64_t h = hash_bytes(at(static_cast<uint32_t>(slot) - 1), kb_);
      size_t pos = h & mask;
      while (bigger[pos]) pos = (pos + 1) & mask;
      bigger[pos] = slot;
    }
    slots_.swap(bigger);
  }

  size_t kb_;
  uint32_t count_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  std::vector<uint64_t> slots_;
};

constexpr uint32_t kNoParent = UINT32_MAX;
constexpr size_t kCacheBudget = size_t{256} << 20;  // local-successor memo, bytes

// The distinct local successors of one process in one round, with the first
// mailbox (and coin outcomes) that produced each, for counterexamples.
struct Local {
  std::vector<uint32_t> ids;         // interned process states
  std::vector<uint64_t> masks;
  std::vector<uint8_t> conflict;
  std::vector<uint32_t> choice_off;  // size count + 1, into choice_pool
  std::vector<int64_t> choice_pool;
  std::vector<std::vector<std::string>> events;  // per outcome, only while capturing
  // Restricted mode: for each mailbox mask, the ids it leads to.
  std::vector<uint32_t> tab_begin, tab_len, tab_ids;
  uint32_t count = 0;

  void clear() {
    ids.clear(); masks.clear(); conflict.clear();
    choice_off.assign(1, 0); choice_pool.clear(); tab_ids.clear(); events.clear();
    count = 0;
  }
};

// One send alternative of one process (several only if send flips coins).
struct SendAlts {
  std::vector<uint8_t> buf;  // count * (state + outbox)
  std::vector<std::vector<int64_t>> choices;
  std::vector<std::vector<std::string>> events;  // while capturing: range errors of each send
  uint32_t count = 0;
};

// Memo of local successor sets. What process i can become in round r is a
// function of its post-send state, who sends to it and what they send (plus
// i and r, which the code may read), so equal keys share one entry: most
// global states repeat the local situations of others.
class LocalCache {
 public:
  // The entry for `key`, and whether it must still be filled in.
  std::pair<Local*, bool> find_or_add(const std::vector<uint8_t>& key) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    uint64_t h = hash_bytes(key.data(), key.size());
    size_t mask = slots_.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      uint32_t e = slots_[pos];
      if (e == 0) {
        slots_[pos] = static_cast<uint32_t>(entries_.size()) + 1;
        hashes_.push_back(h);
        key_off_.push_back(keys_.size());
        keys_.insert(keys_.end(), key.begin(), key.end());
        key_len_.push_back(key.size());
        entries_.emplace_back();
        bytes_ += key.size() + 64;
        return {&entries_.back(), true};
      }
      --e;
      if (hashes_[e] == h && key_len_[e] == key.size() &&
          std::memcmp(keys_.data() + key_off_[e], key.data(), key.size()) == 0)
        return {&entries_[e], false};
    }
  }
  void account(const Local& L) {
    bytes_ += L.ids.size() * 4 + L.tab_ids.size() * 4 + L.tab_begin.size() * 8 + L.masks.size() * 17 +
              L.choice_pool.size() * 8;
  }
  size_t bytes() const { return bytes_ + slots_.size() * 4; }
  void clear() {
    entries_.clear(); keys_.clear(); key_off_.clear(); key_len_.clear(); hashes_.clear();
    slots_.assign(1024, 0);
    bytes_ = 0;
  }

 private:
  void grow() {
    std::vector<uint32_t> bigger(std::max<size_t>(1024, slots_.size() * 2), 0);
    size_t mask = bigger.size() - 1;
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      size_t pos = hashes_[e] & mask;
      while (bigger[pos]) pos = (pos + 1) & mask;
      bigger[pos] = e + 1;
    }
    slots_.swap(bigger);
  }
  std::deque<Local> entries_;  // a deque: entries never move
  std::vector<uint8_t> keys_;
  std::vector<size_t> key_off_, key_len_;
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> slots_;
  size_t bytes_ = 0;
};

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_STORE_H
