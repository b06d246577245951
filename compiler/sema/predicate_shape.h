// predicate_shape.h: the structure of a heard-of predicate (`assume`, the
// `where` of liveness), so the checker can generate admissible HO vectors
// instead of filtering all 2^(n*n). In: a typed predicate. Out: its shape.
#pragma once

#include <string>
#include <vector>

#include "ast/ast.h"

namespace psync {

/// One conjunct of a predicate, under the `forall`s that enclose it.
struct PredicatePart {
  const Expr* expr = nullptr;
  std::vector<const Expr*> binders;  ///< enclosing forall Quant nodes, outermost first
  /// A local part reads one HO set only, ho(target) (target's free names
  /// are binders' params or state), or, with target null, no set or
  /// ho_size alone in an upward-closed position (min |ho(p)| >= k iff every
  /// |ho(p)| >= k).
  const Expr* target = nullptr;
};

/// pred == [uniform] && forall c: (every local part, at c) && residual.
/// A local part with target t holds at c when every binding of its binders
/// with t == c satisfies it with ho(t) read as c's set (ho_size: with
/// every set read as c's).
struct PredicateShape {
  bool uniform = false;                 ///< a conjunct `uniform`
  std::vector<PredicatePart> local;
  std::vector<PredicatePart> residual;  ///< parts relating two HO sets (or `uniform` nested)
  /// Every residual part is upward closed in every HO set (adding a
  /// process to any ho(p) keeps it true): only `has`, `size >`, `inter`,
  /// `!is_empty`... in positive positions, through fns with expression bodies.
  bool residual_monotone = true;
  /// "uniform, 2 local parts, residual (monotone)": for tests and notes.
  std::string describe() const;
};

PredicateShape analyse_predicate(const Expr& pred);

}  // namespace psync
