// faults.cpp: the rules of the fault model declaration `byzantine f`
// (docs/language.md §13.7): at most one, in a protocol, f an int computed
// from n and the consts like a const's initialiser.
#include "sema/checker.h"

namespace psync::sema {

void Checker::check_fault_model() {
  if (prog.byzantine.empty()) return;
  FaultModel& fm = prog.byzantine[0];
  for (size_t i = 1; i < prog.byzantine.size(); ++i) {
    D.error("duplicate-byzantine", prog.byzantine[i].range, "a protocol declares at most one fault model ('byzantine f')");
    D.note(fm.range, "the fault model is declared here");
  }
  if (prog.is_module) {
    D.error("byzantine-in-module", fm.range,
            "a module cannot declare a fault model: 'byzantine f' belongs to the protocol that imports it");
    return;
  }
  if (!fm.count) return;  // a syntax error, reported by the parser
  // Like the initialiser of a const declared after every const: n and all
  // consts are visible, process state is not.
  Context c{Where::ConstInit};
  c.fn_index = static_cast<int>(prog.consts.size());
  ContextGuard g(*this, c);
  if (!coerce(fm.count, T.int_(), "the number of Byzantine processes")) return;
  if (auto v = constant_int(*fm.count); v && *v < 0)
    D.error("negative-byzantine", fm.count->range, "the number of Byzantine processes cannot be negative (it is " +
                                                       std::to_string(*v) + ")");
}

}  // namespace psync::sema
