// round.cpp: a protocol's sizes at one n (the rules themselves are inline in
// round.h).
#include "round/round.h"

#include <algorithm>
#include <cstring>

namespace psync::round {

Layout Layout::compute(const psync_protocol_desc& desc, int32_t n) {
  Layout l;
  l.desc = &desc;
  l.n = n;
  l.state_size = desc.state_size(n);
  for (uint32_t i = 0; i < desc.num_rounds; ++i) {
    l.msg_size.push_back(desc.rounds[i].msg_size(n));
    l.max_msg_size = std::max(l.max_msg_size, l.msg_size.back());
  }
  return l;
}

}  // namespace psync::round
