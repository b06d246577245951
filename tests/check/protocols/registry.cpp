// registry.cpp: the fixtures by name, for psync-check-fixtures and bench/check.
#include "protocols.h"

namespace psync::fixtures {

const psync_protocol_desc* fixture_by_name(std::string_view name) {
  struct Entry { std::string_view name; const psync_protocol_desc& (*get)(); };
  static const Entry kAll[] = {
      {"otr", one_third_rule},
      {"otr-majority", one_third_rule_majority},
      {"otr-hasty", one_third_rule_hasty_termination},
      {"otr-event", one_third_rule_event},
      {"otr-event-majority", one_third_rule_event_majority},
      {"benor", ben_or},
      {"benor-no-assume", ben_or_without_assume},
      {"coin-decide", coin_decide},
      {"flip-flop", flip_flop},
      {"flip-flop-halting", flip_flop_halting},
      {"last-voting", last_voting},
      {"last-voting-no-ts", last_voting_no_timestamps},
  };
  for (const Entry& e : kAll)
    if (e.name == name) return &e.get();
  return nullptr;
}

const char* fixture_names() {
  return "otr otr-majority otr-hasty otr-event otr-event-majority benor benor-no-assume coin-decide flip-flop "
         "flip-flop-halting last-voting last-voting-no-ts";
}

}  // namespace psync::fixtures
