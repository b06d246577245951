// traits.h: facts about a typed program that drivers use to pick sound
// shortcuts, computed by one walk over the tree.
// In: a Program that passed sema. Out: ProgramTraits.
#pragma once

#include <string>

#include "ast/ast.h"

namespace psync {

struct ProgramTraits {
  /// Some code or spec that can run reads `r` or `phase`. When false, only
  /// the position in the cycle of rounds matters, and the checker may fold
  /// rounds modulo their number (check::CheckOptions::cyclic_rounds).
  bool reads_round_number = false;
  /// Renaming processes maps executions to executions and preserves every
  /// spec, so the checker may sort process states (symmetry reduction).
  /// False as soon as code or a spec tells processes apart (traits.cpp).
  bool symmetric = true;
  /// Why `symmetric` is false, with file:line, for the checker's report.
  std::string asymmetry_reason;
};

ProgramTraits analyze_traits(const Program& program, const SourceManager& sources);

}  // namespace psync
