// session.h: the state of one interactive exploration (`psyncc explore`):
// the global states reached so far, round by round, stepped with the
// checker's own local step (runtime/check/local.h) under heard-of sets the
// user picks, plus a counterexample being replayed. No I/O: the HTTP server
// (server.cpp) turns requests into these calls and their JSON back.
#ifndef PSYNC_EXPLORE_SESSION_H
#define PSYNC_EXPLORE_SESSION_H

#include "explore.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace psync::explore {

struct SessionImpl;

class Session {
 public:
  // Fails (error() non-empty) when the descriptor cannot be driven at this n
  // or a --const / --bytes-values option does not fit it.
  Session(const psync_protocol_desc& desc, const ExploreOptions& opts);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& error() const;

  // Each call returns "" or a one-line reason the request was refused (the
  // session is then unchanged).
  //
  // Back to round 0 with these inputs (per process, one value per input, in
  // the input's domain; empty: the defaults). Drops a loaded trace.
  std::string reset(const nlohmann::json& inputs);
  // One round. `ho[i]`: the senders process i hears, a list of pids, or
  // null for all who sent to it (where the round closes first, `go when`,
  // the largest set it can end with). `pick[i]` (optional): which of process i's
  // outcomes to take when coin(), random() or arrival order give several.
  // `crash` (optional): pids that crash in this round as `simulate --crash`
  // crashes them (they send, then never update nor send again).
  std::string step(const nlohmann::json& request);
  // Undoes the last round.
  std::string undo();
  // Loads a counterexample written by `psyncc check --trace-json` (or
  // `simulate`): resets to its inputs; replay_next() then takes its rounds.
  std::string load_trace(const nlohmann::json& trace);
  std::string replay_next();

  // Everything the page shows: the protocol, the inputs' domains, every
  // round so far (HO sets, messages, states after), the specs' verdicts in
  // the current state and the trace being replayed.
  nlohmann::json view() const;

 private:
  std::unique_ptr<SessionImpl> impl_;
};

}  // namespace psync::explore

#endif  // PSYNC_EXPLORE_SESSION_H
