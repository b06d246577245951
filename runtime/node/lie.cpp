// lie.cpp: random values of a message type for `--lie` (lie.h). Ints are
// drawn from 0..1 (the checker's default --values), pids below n, sets and
// enums over their members, options half the time none.
#include "node/lie.h"

#include "abi/typed_values.h"

#include <cstring>

namespace psync::node {

std::string Liar::refuse(const psync_protocol_desc& desc) {
  if (desc.byzantine == nullptr)
    return std::string("--lie: ") + desc.name +
           " declares no `byzantine f`, so its correct replicas are not meant to tolerate a liar";
  for (uint32_t k = 0; k < desc.num_rounds; ++k)
    if (desc.rounds[k].msg_type == nullptr)
      return std::string("--lie: round `") + desc.rounds[k].name + "` has no message type";
  return "";
}

Liar::Liar(const psync_protocol_desc& desc, int32_t n, uint64_t seed)
    : desc_(desc), n_(n), state_(seed ^ 0x6c696521ull) {}

uint64_t Liar::next() {  // splitmix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void Liar::fill(const psync_type& t, int64_t* w) {
  const uint64_t all = n_ >= 64 ? ~uint64_t{0} : (uint64_t{1} << n_) - 1;
  switch (t.kind) {
    case PSYNC_TYPE_UNIT: return;
    case PSYNC_TYPE_INT:
    case PSYNC_TYPE_BOOL: w[0] = int64_t(next() & 1); return;
    case PSYNC_TYPE_PID: w[0] = int64_t(next() % uint64_t(n_)); return;
    case PSYNC_TYPE_PIDSET: w[0] = int64_t(next() & all); return;
    case PSYNC_TYPE_ENUM: w[0] = int64_t(next() % (t.count ? t.count : 1)); return;
    case PSYNC_TYPE_SET: w[0] = int64_t(next() & (t.count >= 64 ? ~uint64_t{0} : (uint64_t{1} << t.count) - 1)); return;
    case PSYNC_TYPE_OPTION:
      w[0] = int64_t(next() & 1);
      if (w[0]) fill(*t.elems[0], w + 1);
      return;
    case PSYNC_TYPE_TUPLE:
    case PSYNC_TYPE_RECORD:
      for (uint32_t k = 0; k < t.count; ++k) {
        fill(*t.elems[k], w);
        w += value_words(*t.elems[k], n_);
      }
      return;
    case PSYNC_TYPE_ARRAY:
      for (int32_t k = 0; k < n_; ++k) {
        fill(*t.elems[0], w);
        w += value_words(*t.elems[0], n_);
      }
      return;
    case PSYNC_TYPE_BYTES: {
      const uint64_t len = next() % (uint64_t(t.count) + 1);
      w[0] = int64_t(len);
      auto* bytes = reinterpret_cast<unsigned char*>(w + 1);
      for (uint64_t i = 0; i < len; ++i) bytes[i] = static_cast<unsigned char>(next());
      return;
    }
  }
}

bool Liar::draw(int64_t round, std::span<std::byte> out) {
  if (next() % 4 == 0) return false;  // nothing, a quarter of the time
  const psync_type& t = *desc_.rounds[size_t(round % int64_t(desc_.num_rounds))].msg_type;
  std::vector<int64_t> words(value_words(t, n_), 0);
  fill(t, words.data());
  std::memset(out.data(), 0, out.size());
  std::memcpy(out.data(), words.data(), std::min(out.size(), words.size() * 8));
  return true;
}

}  // namespace psync::node
