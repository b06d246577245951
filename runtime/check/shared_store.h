// shared_store.h: an append-only store of fixed-size keys that several
// explorer threads intern into at once (process states, liveness memos).
// Internal to runtime/check; docs/checker.md, "Threads".
#ifndef PSYNC_CHECK_SHARED_STORE_H
#define PSYNC_CHECK_SHARED_STORE_H

#include "engine.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace psync::check::detail {

// Keys live in chunks reached through a fixed table of chunk pointers, so
// at() reads without a lock while other threads append. The index is split
// into 64 shards by hash, each with its own lock: two threads block each
// other only when their keys fall in the same shard. Ids are dense and
// global (a shared counter), but which key gets which id depends on the
// threads' timing: the explorer never lets an id's value decide anything
// (canonicalise() sorts process states by content, not by id).
class SharedStore {
 public:
  explicit SharedStore(size_t key_bytes)
      : kb_(key_bytes), table_(static_cast<uint8_t**>(std::calloc(kMaxChunks, sizeof(uint8_t*)))) {
    if (!table_) throw std::bad_alloc();
  }
  ~SharedStore() {
    const uint32_t chunks = static_cast<uint32_t>((static_cast<uint64_t>(size()) + kMask) >> kShift);
    for (uint32_t c = 0; c < chunks; ++c) delete[] table_[c];
    std::free(table_);
  }
  SharedStore(const SharedStore&) = delete;
  SharedStore& operator=(const SharedStore&) = delete;

  uint32_t size() const { return count_.load(std::memory_order_acquire); }
  // The key with id i; i came from insert() in this thread or reached it
  // through a lock or a thread start/join, so its bytes are visible.
  const uint8_t* at(uint32_t i) const {
    return std::atomic_ref<uint8_t*>(table_[i >> kShift]).load(std::memory_order_acquire) + (i & kMask) * rb_;
  }
  // hash_bytes() of the key with id i, kept next to it.
  uint64_t hash_at(uint32_t i) const {
    uint64_t h;
    std::memcpy(&h, at(i) + kb_, 8);
    return h;
  }

  // Returns the key's id and whether it was new; h is hash_bytes(key).
  std::pair<uint32_t, bool> insert(const uint8_t* key) { return insert(key, hash_bytes(key, kb_)); }
  std::pair<uint32_t, bool> insert(const uint8_t* key, uint64_t h) {
    Shard& sh = shards_[h >> (64 - kShardBits)];
    std::lock_guard<std::mutex> lock(sh.mu);
    if ((sh.used + 1) * 2 > sh.slots.size()) grow(sh);
    const size_t mask = sh.slots.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      const uint64_t slot = sh.slots[pos];
      if (slot == 0) {
        const uint32_t idx = count_.fetch_add(1, std::memory_order_acq_rel);
        uint8_t* rec = chunk_for(idx) + (idx & kMask) * rb_;
        std::memcpy(rec, key, kb_);
        std::memcpy(rec + kb_, &h, 8);
        sh.slots[pos] = (h >> 32) << 32 | (static_cast<uint64_t>(idx) + 1);
        ++sh.used;
        return {idx, true};
      }
      if ((slot >> 32) == (h >> 32)) {
        const uint32_t idx = static_cast<uint32_t>(slot) - 1;
        if (std::memcmp(at(idx), key, kb_) == 0) return {idx, false};
      }
    }
  }

  bool contains(const uint8_t* key) {
    const uint64_t h = hash_bytes(key, kb_);
    Shard& sh = shards_[h >> (64 - kShardBits)];
    std::lock_guard<std::mutex> lock(sh.mu);
    if (sh.slots.empty()) return false;
    const size_t mask = sh.slots.size() - 1;
    for (size_t pos = h & mask;; pos = (pos + 1) & mask) {
      const uint64_t slot = sh.slots[pos];
      if (slot == 0) return false;
      if ((slot >> 32) == (h >> 32) && std::memcmp(at(static_cast<uint32_t>(slot) - 1), key, kb_) == 0) return true;
    }
  }

  // Not exact while other threads insert; the explorer calls it when they are done.
  uint64_t bytes() const {
    uint64_t slots = 0;
    for (const Shard& sh : shards_) slots += sh.slots.size();
    const uint64_t chunks = (static_cast<uint64_t>(size()) + kMask) >> kShift;
    return chunks * (rb_ << kShift) + slots * sizeof(uint64_t);
  }

 private:
  static constexpr uint32_t kShift = 14;
  static constexpr uint32_t kMask = (1u << kShift) - 1;
  static constexpr uint32_t kMaxChunks = 1u << (32 - kShift);  // ids are 32 bits
  static constexpr int kShardBits = 6;

  struct Shard {
    std::mutex mu;
    std::vector<uint64_t> slots;  // (hash tag << 32) | (id + 1), 0 = empty
    size_t used = 0;
  };

  // The chunk that holds id idx, allocated by whichever thread needs it first.
  uint8_t* chunk_for(uint32_t idx) {
    std::atomic_ref<uint8_t*> ref(table_[idx >> kShift]);
    uint8_t* c = ref.load(std::memory_order_acquire);
    if (c) return c;
    std::lock_guard<std::mutex> lock(alloc_mu_);
    c = ref.load(std::memory_order_acquire);
    if (!c) {
      c = new uint8_t[rb_ << kShift];
      ref.store(c, std::memory_order_release);
    }
    return c;
  }

  void grow(Shard& sh) {
    std::vector<uint64_t> bigger(std::max<size_t>(64, sh.slots.size() * 2), 0);
    const size_t mask = bigger.size() - 1;
    for (uint64_t slot : sh.slots) {
      if (!slot) continue;
      const uint64_t h = hash_at(static_cast<uint32_t>(slot) - 1);
      size_t pos = h & mask;
      while (bigger[pos]) pos = (pos + 1) & mask;
      bigger[pos] = slot;
    }
    sh.slots.swap(bigger);
  }

  size_t kb_;
  size_t rb_ = kb_ + 8;  // a record: the key, then its hash
  uint8_t** table_;
  std::atomic<uint32_t> count_{0};
  std::mutex alloc_mu_;
  Shard shards_[1 << kShardBits];
};

}  // namespace psync::check::detail

#endif  // PSYNC_CHECK_SHARED_STORE_H
