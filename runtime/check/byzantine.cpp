// byzantine.cpp: the fault model `byzantine f` for the explorer and the
// simulator: f from the descriptor, every value of each round's message
// type within the check's bounds, the faulty sets to start from, and a
// liar's outbox. The explorer's hooks are here too (Explorer::send_lies,
// Explorer::faulty_set_admitted), so that expand.cpp and search.cpp only
// call them.
#include "byzantine.h"

#include "abi/typed_values.h"
#include "explorer.h"

#include <bit>
#include <cstring>

namespace psync::check::detail {

void make_faulty(uint8_t* state, size_t state_bytes) {
  std::memset(state, 0, state_bytes);
  const int64_t mark = PSYNC_HALTED_FAULTY;
  std::memcpy(state + 8, &mark, 8);  // psync_proc_header.halted
}

namespace {

constexpr size_t kMaxValues = 4096;  // per round: a liar picks one per receiver

using Values = std::vector<std::vector<int64_t>>;

// Every value of type t, word by word, within the bounds; false (with
// `why`) when the type is infinite there or the domain passes kMaxValues.
bool enumerate(const psync_type& t, int n, int64_t lo, int64_t hi, Values& out, std::string& why) {
  out.clear();
  auto words = [](std::initializer_list<int64_t> w) { return std::vector<int64_t>(w); };
  auto bitsets = [&](uint32_t members) {
    if (members > 12) {
      why = "a set of " + std::to_string(members) + " members has 2^" + std::to_string(members) + " values";
      return false;
    }
    for (uint64_t m = 0; m < (uint64_t{1} << members); ++m) out.push_back(words({static_cast<int64_t>(m)}));
    return true;
  };
  // The product of element domains, each element's words in order.
  auto product = [&](const std::vector<const psync_type*>& elems) {
    out.push_back({});
    for (const psync_type* e : elems) {
      Values sub, next;
      if (!enumerate(*e, n, lo, hi, sub, why)) return false;
      if (out.size() * sub.size() > kMaxValues) {
        why = "more than " + std::to_string(kMaxValues) + " values";
        return false;
      }
      for (const auto& a : out)
        for (const auto& b : sub) {
          next.push_back(a);
          next.back().insert(next.back().end(), b.begin(), b.end());
        }
      out.swap(next);
    }
    return true;
  };
  switch (t.kind) {
    case PSYNC_TYPE_UNIT: out.push_back({}); return true;
    case PSYNC_TYPE_INT:
      if (hi - lo + 1 > static_cast<int64_t>(kMaxValues)) {
        why = "ints range over --values " + std::to_string(lo) + ".." + std::to_string(hi);
        return false;
      }
      for (int64_t v = lo; v <= hi; ++v) out.push_back(words({v}));
      return true;
    case PSYNC_TYPE_BOOL: out = {words({0}), words({1})}; return true;
    case PSYNC_TYPE_PID:
      for (int p = 0; p < n; ++p) out.push_back(words({p}));
      return true;
    case PSYNC_TYPE_PIDSET: return bitsets(static_cast<uint32_t>(n));
    case PSYNC_TYPE_ENUM:
      for (uint32_t k = 0; k < t.count; ++k) out.push_back(words({static_cast<int64_t>(k)}));
      return true;
    case PSYNC_TYPE_SET: return bitsets(t.count);
    case PSYNC_TYPE_OPTION: {
      Values sub;
      if (!enumerate(*t.elems[0], n, lo, hi, sub, why)) return false;
      const size_t payload = value_words(*t.elems[0], n);
      std::vector<int64_t> none(1 + payload, 0);
      out.push_back(none);
      for (auto& v : sub) {
        v.insert(v.begin(), 1);
        out.push_back(std::move(v));
      }
      return out.size() <= kMaxValues || (why = "more than " + std::to_string(kMaxValues) + " values", false);
    }
    case PSYNC_TYPE_TUPLE:
    case PSYNC_TYPE_RECORD: return product(std::vector<const psync_type*>(t.elems, t.elems + t.count));
    case PSYNC_TYPE_ARRAY: return product(std::vector<const psync_type*>(static_cast<size_t>(n), t.elems[0]));
    case PSYNC_TYPE_BYTES: why = "bytes<" + std::to_string(t.count) + "> has too many values"; return false;
  }
  why = "an unknown type kind";
  return false;
}

}  // namespace

std::string setup_byzantine(const Proto& P, int64_t lo, int64_t hi, bool symmetric, ByzantineModel& out) {
  out = ByzantineModel{};
  const psync_protocol_desc& d = *P.d;
  if (!d.byzantine) return "";
  psync_env env = P.env(0, 0);
  env.hooks = nullptr;
  const int64_t f = d.byzantine(&env);
  if (f < 0) return "`byzantine " + std::to_string(f) + "`: the number of faulty processes cannot be negative";
  if (f >= P.n)
    return "`byzantine " + std::to_string(f) + "` with n = " + std::to_string(P.n) +
           ": at least one process must be correct";
  out.f = static_cast<int>(f);
  if (f == 0) return "";
  for (uint32_t k = 0; k < d.num_rounds; ++k) {
    const psync_round_desc& rd = d.rounds[k];
    if (!rd.msg_type) return std::string("round `") + rd.name + "` has no message type (msg_type, ABI 7)";
    Values vals;
    std::string why;
    if (!enumerate(*rd.msg_type, P.n, lo, hi, vals, why))
      return std::string("Byzantine senders: the message type of round `") + rd.name +
             "` is not finite enough to enumerate (" + why + "); narrow --values or the type";
    const size_t msz = P.msz[k];
    std::vector<uint8_t> bytes(vals.size() * msz, 0);
    for (size_t v = 0; v < vals.size(); ++v) std::memcpy(bytes.data() + v * msz, vals[v].data(), vals[v].size() * 8);
    out.values.push_back(std::move(bytes));
    out.count.push_back(vals.size());
  }
  // Faulty sets: under symmetry one representative (the last f processes),
  // since every other set is a permutation of it; else every f-subset.
  const uint64_t full = P.n == 64 ? ~uint64_t{0} : (uint64_t{1} << P.n) - 1;
  if (symmetric) {
    out.sets.push_back(full & ~((uint64_t{1} << (P.n - f)) - 1));
  } else {
    for (uint64_t m = 0; m <= full && P.n <= 20; ++m)
      if (std::popcount(m) == f) out.sets.push_back(m);
  }
  return "";
}

void write_lies(const ByzantineModel& M, const Proto& P, int me, int64_t r, const uint32_t* pick, uint8_t* outbox) {
  const size_t k = static_cast<size_t>(r % static_cast<int64_t>(P.d->num_rounds));
  const size_t msz = P.msz[k];
  uint64_t present = 0;
  std::memset(outbox, 0, 8 + static_cast<size_t>(P.n) * msz);
  for (int j = 0; j < P.n; ++j) {
    if (j == me || pick[j] >= M.count[k]) continue;
    present |= uint64_t{1} << j;
    std::memcpy(outbox + 8 + static_cast<size_t>(j) * msz, M.value(k, pick[j], msz), msz);
  }
  std::memcpy(outbox, &present, 8);
}

// ---- The explorer's hooks -------------------------------------------------------

// Faulty process i's send alternatives: its state unchanged, and every
// assignment of a value or nothing to each other process.
void Explorer::send_lies(int i, int64_t r, const uint8_t* Xi, SendAlts& sa) {
  const size_t unit = ss_ + obx_;
  const size_t k = static_cast<size_t>(r % static_cast<int64_t>(desc_.num_rounds));
  const uint32_t choices = static_cast<uint32_t>(byz_.count[k] + 1);  // a value, or nothing
  uint32_t pick[PSYNC_MAX_N] = {};
  for (;;) {
    if (sa.buf.size() < (sa.count + 1) * unit) sa.buf.resize((sa.count + 1) * unit);
    uint8_t* st = sa.buf.data() + sa.count * unit;
    std::memcpy(st, Xi, ss_);
    write_lies(byz_, P_, i, r, pick, st + ss_);
    sa.choices.emplace_back();
    sa.events.emplace_back();
    ++sa.count;
    int j = n_ - 1;
    for (; j >= 0; --j) {
      if (j == i) continue;
      if (++pick[j] < choices) break;
      pick[j] = 0;
    }
    if (j < 0) return;
  }
}

// An initial global state is explored iff its faulty processes form one of
// the sets of the model (exactly f of them).
bool Explorer::faulty_set_admitted(const uint8_t* G) const {
  uint64_t m = 0;
  for (int i = 0; i < n_; ++i)
    if (is_faulty(proc(G, i))) m |= uint64_t{1} << i;
  if (!byz_.on()) return m == 0;
  for (uint64_t s : byz_.sets)
    if (s == m) return true;
  return false;
}

}  // namespace psync::check::detail
