// traits.cpp: the walk behind analyze_traits (see traits.h). Built-ins get
// their verdict from the Symmetry column of ast/builtins.def.
#include "sema/traits.h"

#include <set>

namespace psync {

namespace {

class TraitWalker {
 public:
  TraitWalker(ProgramTraits& t, const SourceManager& s) : t_(t), sources_(s) {}

  void asymmetric(const Expr& e, const std::string& why) {
    if (!t_.symmetric) return;
    t_.symmetric = false;
    std::string where;
    if (e.range.valid()) {
      LineCol lc = sources_.file(e.range.file).line_col(e.range.begin);
      where = " (line " + std::to_string(lc.line) + ")";
    }
    t_.asymmetry_reason = why + where;
  }

  void expr(const Expr& e) {
    // Every built-in carries its verdict in ast/builtins.def, so a new one
    // cannot be forgotten here.
    if (e.builtin != Builtin::None) {
      const BuiltinInfo& b = builtin_info(e.builtin);
      switch (b.symmetry) {
        case BuiltinSymmetry::Neutral:
        case BuiltinSymmetry::Equivariant: break;
        case BuiltinSymmetry::RoundNumber: t_.reads_round_number = true; break;
        case BuiltinSymmetry::Breaks: asymmetric(e, b.why); break;
      }
    }
    bool quantified = e.kind == ExprKind::Name && e.decl && e.decl->kind == VarKind::QuantVar;
    bool process_field = e.kind == ExprKind::Member &&
                         (e.builtin == Builtin::ProcField || e.builtin == Builtin::Decided);
    bool equivariant = e.builtin != Builtin::None && builtin_info(e.builtin).symmetry == BuiltinSymmetry::Equivariant;
    if (e.type && (e.type->is(TypeKind::Pid) || e.type->is(TypeKind::PidSet)) && !quantified && !process_field &&
        !equivariant)
      asymmetric(e, "computes with a process id (" + type_name(e.type) + ")");
    if (process_field && e.decl && e.decl->type &&
        (e.decl->type->is(TypeKind::Pid) || e.decl->type->is(TypeKind::PidSet)))
      asymmetric(e, "a specification reads a pid-valued variable");
    if (process_field) {
      // p.x: the receiver is the quantified process; a let read this way is
      // evaluated in p's state, so walk its definition too.
      if (e.decl && e.decl->kind == VarKind::Let && e.decl->init && lets_seen_.insert(e.decl).second) expr(*e.decl->init);
      return;
    }
    for (auto& a : e.args) expr(*a);
    for (auto& a : e.arms)
      if (a.value) expr(*a.value);
  }

  void stmts(const std::vector<StmtPtr>& body) {
    for (auto& s : body) stmt(*s);
  }

  void stmt(const Stmt& s) {
    if (s.var && s.var->init) expr(*s.var->init);
    if (s.kind == StmtKind::For && !s.range_end && s.cond->type && s.cond->type->is(TypeKind::PidSet)) {
      // for p in S: the loop variable is a pid
      if (t_.symmetric) {
        t_.symmetric = false;
        t_.asymmetry_reason = "iterates over process ids (for ... in a set<pid>)";
      }
    }
    for (const ExprPtr* e : {&s.cond, &s.range_end, &s.target, &s.value})
      if (*e) expr(**e);
    for (auto& a : s.args) expr(*a);
    for (auto& a : s.arms) stmts(a.body);
    stmts(s.body);
    stmts(s.else_body);
  }

  void program(const Program& p) {
    for (auto* list : {&p.consts, &p.vars, &p.lets})
      for (auto& v : *list)
        if (v->init) expr(*v->init);
    for (auto& v : p.inputs)
      if (v->type && v->type->is(TypeKind::Pid)) {
        t_.symmetric = false;
        t_.asymmetry_reason = "input '" + v->name + "' is a pid";
      }
    for (auto& f : p.fns) {
      if (f->body) expr(*f->body);
      stmts(f->block);
    }
    for (auto& r : p.rounds) {
      for (auto& v : r.vars)
        if (v->init) expr(*v->init);
      for (auto& lp : r.send_loops) {
        // for q in S { send ... to q }: q is a process id, but over `pids`
        // every process gets the same treatment (renaming maps the loop to
        // itself), while a range or another set names processes.
        if (!lp.end && lp.coll->builtin == Builtin::Pids) continue;
        if (t_.symmetric) {
          t_.symmetric = false;
          t_.asymmetry_reason = "round '" + r.name + "' sends to the processes of a set or range one by one";
        }
        expr(*lp.coll);
        if (lp.end) expr(*lp.end);
      }
      for (auto& s : r.sends) {
        expr(*s.value);
        if (s.dest_expr && !(s.loop >= 0 && s.dest_expr->kind == ExprKind::Name)) expr(*s.dest_expr);
        if (s.guard) expr(*s.guard);
      }
      // `timeout e` is not part of the checker's model (time is not), so it
      // cannot make a checked protocol asymmetric.
      for (auto* h : {&r.update, &r.receive, &r.finish})
        if (*h) stmts((*h)->body);
      if (r.receive && r.receive->params[0]->used && t_.symmetric) {
        t_.symmetric = false;
        t_.asymmetry_reason = "round '" + r.name + "' reads the sender of a message";
      }
      if (r.progress.go_when) expr(*r.progress.go_when);
    }
    for (auto& s : p.specs) {
      if (s.pred) expr(*s.pred);
      if (s.body) expr(*s.body);
    }
  }

 private:
  ProgramTraits& t_;
  const SourceManager& sources_;
  std::set<const VarDecl*> lets_seen_;
};

}  // namespace

ProgramTraits analyze_traits(const Program& program, const SourceManager& sources) {
  ProgramTraits t;
  TraitWalker(t, sources).program(program);
  return t;
}

}  // namespace psync
