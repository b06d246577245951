// silent_rounds.h: the processes nobody can send to in a round, proved from
// the round's sends alone; the lowering turns it into a derived `go when`
// (docs/runtime.md, "Rounds nobody sends to").
#pragma once

#include "ast/ast.h"

#include <optional>
#include <vector>

namespace psync::lower {

/// For a closed (`update`) round of a protocol without Byzantine senders:
/// integer expressions d1..dk, each the same at every process in a given
/// round (built from literals, consts, n, r, phase and `let`s of those) and
/// free of range-error reports, such that every message of the round goes
/// to one of them (`send v to d [if g]`, for each send). Then a process
/// whose id is none of them receives nothing in this round, whoever sends.
/// k = 0: the round sends nothing. nullopt: not shown (a send to all or to a
/// set, a loop of sends, a destination that depends on the sender).
std::optional<std::vector<const Expr*>> sole_receivers(const Program& prog, const Round& r);

}  // namespace psync::lower
