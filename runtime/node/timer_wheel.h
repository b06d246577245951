// timer_wheel.h: every instance's next deadline, in one hashed timing wheel
// (Varghese & Lauck, "Hashed and hierarchical timing wheels", SOSP 1987):
// buckets of kTickUs microseconds with intrusive lists indexed by instance
// slot, so that setting, moving and removing a deadline is O(1), costs no
// allocation once the slots exist, and leaves no stale entries behind (the
// binary heap it replaces re-filed an entry each time a deadline moved).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace psync::node {

class TimerWheel {
 public:
  static constexpr int64_t kNever = INT64_MAX;
  static constexpr int64_t kTickUs = 64;
  static constexpr uint32_t kBuckets = 4096;  // one turn: 262 ms; later deadlines wait in the last bucket

  // Grows the per-slot arrays to hold slots 0..count-1.
  void reserve_slots(size_t count) {
    if (count <= when_.size()) return;
    when_.resize(count, kNever);
    next_.resize(count, -1);
    prev_.resize(count, -1);
    bucket_.resize(count, -1);
  }

  int64_t when(int32_t slot) const { return when_[size_t(slot)]; }

  // Files `slot` under `when` (kNever removes it).
  void set(int32_t slot, int64_t when) {
    if (when_[size_t(slot)] == when && bucket_[size_t(slot)] >= 0) return;
    unlink(slot);
    when_[size_t(slot)] = when;
    if (when != kNever) link(slot, bucket_for(when));
  }
  void remove(int32_t slot) {
    unlink(slot);
    when_[size_t(slot)] = kNever;
  }

  // When the earliest bucket with an entry ends (a deadline may be up to a
  // tick earlier than this, never later), or kNever: where to arm the clock.
  int64_t next_wake() const {
    if (count_ == 0) return kNever;
    // The first non-empty bucket at or after the cursor, through the bitmap
    // of non-empty buckets: at most kBuckets / 64 words, wrapping once.
    const uint32_t start = uint32_t(cursor_ & (kBuckets - 1));
    for (uint32_t i = 0; i <= kWords; ++i) {
      const uint32_t w = ((start >> 6) + i) % kWords;
      uint64_t bits = nonempty_[w];
      if (i == 0) bits &= ~uint64_t{0} << (start & 63);             // from the cursor on
      else if (i == kWords) bits &= (uint64_t{1} << (start & 63)) - 1;  // wrapped: up to it
      if (bits == 0) continue;
      const uint32_t b = w * 64 + uint32_t(std::countr_zero(bits));
      const int64_t ahead = int64_t((b - start) & (kBuckets - 1));
      return (cursor_ + ahead + 1) * kTickUs - 1;
    }
    return kNever;
  }

  // Calls fire(slot) for every slot whose deadline is at or before now,
  // removed from the wheel first (fire may set it again). Entries of a later
  // turn found on the way are filed again.
  template <typename Fire>
  void expire(int64_t now, Fire&& fire) {
    const int64_t now_tick = now / kTickUs;
    if (now_tick < cursor_) return;
    const int64_t last = std::min(now_tick, cursor_ + int64_t(kBuckets) - 1);
    for (int64_t t = cursor_; t <= last; ++t) {
      const uint32_t b = uint32_t(t & (kBuckets - 1));
      if (heads_[b] < 0) continue;
      // Deadlines filed from here on (by fire(), or refiled) land at tick t
      // or later: never in a bucket this walk has passed.
      cursor_ = t;
      // Move the bucket's list aside, so that fire() may file new entries
      // (into this bucket too) while it is being walked.
      int32_t s = heads_[b];
      heads_[b] = -1;
      nonempty_[b >> 6] &= ~(uint64_t{1} << (b & 63));
      for (int32_t x = s; x >= 0; x = next_[size_t(x)]) bucket_[size_t(x)] = kAside;
      aside_ = s;
      while (aside_ >= 0) {
        const int32_t slot = aside_;
        aside_ = next_[size_t(slot)];
        if (aside_ >= 0) prev_[size_t(aside_)] = -1;
        bucket_[size_t(slot)] = -1;
        next_[size_t(slot)] = prev_[size_t(slot)] = -1;
        --count_;
        if (when_[size_t(slot)] <= now) {
          when_[size_t(slot)] = kNever;
          fire(slot);
        } else {
          link(slot, bucket_for(when_[size_t(slot)]));  // a later turn, or later in this tick
        }
      }
    }
    // Entries due later in the current tick stay in its bucket.
    cursor_ = std::max(cursor_, now_tick);
  }

  size_t size() const { return count_; }

 private:
  static constexpr int32_t kAside = int32_t(kBuckets);  // bucket_ of an entry being walked by expire()
  static constexpr uint32_t kWords = kBuckets / 64;

  uint32_t bucket_for(int64_t when) const {
    int64_t tick = std::max(when / kTickUs, cursor_);
    tick = std::min(tick, cursor_ + int64_t(kBuckets) - 1);  // beyond one turn: filed again when reached
    return uint32_t(tick & (kBuckets - 1));
  }

  void link(int32_t slot, uint32_t b) {
    const int32_t head = heads_[b];
    next_[size_t(slot)] = head;
    prev_[size_t(slot)] = -1;
    if (head >= 0) prev_[size_t(head)] = slot;
    heads_[b] = slot;
    nonempty_[b >> 6] |= uint64_t{1} << (b & 63);
    bucket_[size_t(slot)] = int32_t(b);
    ++count_;
  }

  void unlink(int32_t slot) {
    const int32_t b = bucket_[size_t(slot)];
    if (b < 0) return;
    const int32_t p = prev_[size_t(slot)], n = next_[size_t(slot)];
    if (n >= 0) prev_[size_t(n)] = p;
    if (p >= 0) next_[size_t(p)] = n;
    else if (b == kAside) aside_ = n;
    else if ((heads_[size_t(b)] = n) < 0) nonempty_[size_t(b) >> 6] &= ~(uint64_t{1} << (b & 63));
    next_[size_t(slot)] = prev_[size_t(slot)] = -1;
    bucket_[size_t(slot)] = -1;
    --count_;
  }

  std::vector<int32_t> heads_ = std::vector<int32_t>(kBuckets, -1);
  std::vector<uint64_t> nonempty_ = std::vector<uint64_t>(kWords, 0);  // bit b: heads_[b] >= 0
  std::vector<int64_t> when_;
  std::vector<int32_t> next_, prev_, bucket_;
  int64_t cursor_ = 0;  // first tick not yet walked
  int32_t aside_ = -1;  // the list expire() is walking
  size_t count_ = 0;
};

}  // namespace psync::node
