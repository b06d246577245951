// traits.h: facts about a typed program that drivers use to pick sound
// shortcuts, computed by walks over the tree (traits.cpp: symmetry and the
// round number; phase_order.cpp: which values are phases; stale_phase.cpp:
// which of them fold once stale; dead_state.cpp: which state words no future
// depends on).
// In: a Program that passed sema. Out: ProgramTraits.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ast/ast.h"

namespace psync {

/// Stale phase values (stale_phase.cpp; docs/checker.md, "Stale phase
/// values"): which phase vars the checker may fold once their values are
/// older than the window, and whether old ballots may be ranked whole.
struct StalePhases {
  /// Per int `var` the phase abstraction renames: bit i set = before round
  /// i, every stale value it may hold (positive, older than the window) has
  /// the same futures, so the checker stores them all as one.
  std::map<const VarDecl*, uint64_t> fold;
  /// The process part of an old ballot is never observed: old ballots may
  /// be ranked among themselves as whole ballots. When the program stores
  /// ballots and this is false, whole_reason says why (file:line:col).
  bool whole_ballots = false;
  std::string whole_reason;
  std::vector<std::string> round_names;  ///< in cycle order, for reports
};

/// The checker's phase abstraction (docs/checker.md, "Unbounded verdicts for
/// protocols that read phase"): when `applies`, the program never reads `r`
/// and uses `phase` only through the order of phase values (timestamps) and
/// ballots (`phase * n + p`) among themselves, their distance to the current
/// phase (`phase - c`, c <= window) and `phase % n` / `phase % k`. The
/// checker may then rename the phase values of a state by an order-preserving
/// map relative to the current phase, which closes the state space.
struct PhaseOrder {
  bool applies = false;
  /// Why not, when the program reads `phase` or `r` and it does not apply:
  /// the first use that breaks it, with file:line:col.
  std::string reason;
  int64_t window = 0;    ///< the largest c in `phase - c`
  bool modulo_n = false; ///< `phase % n` is read
  int64_t modulus = 1;   ///< lcm of the k in `phase % k`
  /// One int-like word of a state variable that holds a phase (or, with
  /// `ballot`, a ballot phase * n + p): its index among the variable's
  /// int-like words (int and pid leaves in layout order; int_leaf_count).
  struct Leaf {
    int index;
    bool ballot;
  };
  /// The state variables (var and round var) that hold phase values.
  std::map<const VarDecl*, std::vector<Leaf>> leaves;
  /// Computed when `applies` (analyze_stale_phases).
  StalePhases stale;
};

/// State variables the checker may zero at a round boundary (dead_state.cpp;
/// docs/checker.md, "Dead state words"): no future send, condition,
/// decision or spec depends on their value there.
struct DeadState {
  /// Per var (top-level `var`, not `output var`): bit i set
  /// = dead at the boundary before round i (rounds 64 and on: never).
  std::map<const VarDecl*, uint64_t> dead;
  /// The vars whose values feed only `timeout` expressions (dead everywhere).
  std::vector<const VarDecl*> timeout_only;
  std::vector<std::string> round_names;  ///< in cycle order, for reports
};

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
  /// Computed when reads_round_number (analyze_phase_order).
  PhaseOrder phase_order;
  /// Always computed (analyze_dead_state).
  DeadState dead_state;
};

ProgramTraits analyze_traits(const Program& program, const SourceManager& sources);
PhaseOrder analyze_phase_order(const Program& program, const SourceManager& sources);
DeadState analyze_dead_state(const Program& program);
StalePhases analyze_stale_phases(const Program& program, const PhaseOrder& phases, const SourceManager& sources);

/// The int-like words of a value of type t (int and pid leaves; an option's
/// payload, not its tag; [T; n] counts T once), in layout order.
int int_leaf_count(const Type* t);

}  // namespace psync
