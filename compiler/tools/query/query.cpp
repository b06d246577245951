// query.cpp: node_at, definition, describe and document_symbols over a typed
// Program (query.h). One walk visits every name, expression and written type
// in source order; the smallest range around the position wins, and among
// equal ranges the deepest node (so an implicit int->pid conversion, which
// shares its operand's range, yields the operand as written).
#include "tools/query/query.h"

#include <algorithm>

namespace psync::query {

namespace {

bool inside(SourceRange r, uint32_t file, uint32_t off) { return r.file == file && r.begin <= off && off < r.end; }

class Finder {
 public:
  Finder(uint32_t file, uint32_t offset) : file_(file), off_(offset) {}
  Node best;

  void program(const Program& p) {
    for (auto& a : p.types) {
      consider({NodeKind::TypeAlias, nullptr, nullptr, nullptr, nullptr, nullptr, &a, nullptr, a.range});
      if (a.type_expr) type(*a.type_expr);
    }
    for (auto& en : p.enums)
      for (auto& v : en.variants) var(*v);
    for (auto* list : {&p.consts, &p.inputs, &p.outputs, &p.vars, &p.lets})
      for (auto& v : *list) var(*v);
    for (auto& f : p.fns) {
      Node n;
      n.kind = NodeKind::Fn;
      n.fn = f.get();
      n.range = f->name_range;
      consider(n);
      for (auto& param : f->params) var(*param);
      if (f->result_type_expr) type(*f->result_type_expr);
      if (f->body) expr(*f->body);
      block(f->block);
    }
    for (auto& r : p.rounds) round(r);
    for (auto& s : p.specs) {
      Node n;
      n.kind = NodeKind::Spec;
      n.spec = &s;
      n.range = s.name_range;
      consider(n);
      if (s.pred) expr(*s.pred);
      if (s.body) expr(*s.body);
    }
  }

 private:
  void consider(const Node& n) {
    if (!inside(n.range, file_, off_)) return;
    uint32_t size = n.range.end - n.range.begin;
    if (size <= best_size_) {
      best = n;
      best_size_ = size;
    }
  }

  void var(const VarDecl& v) {
    Node n;
    n.kind = NodeKind::Var;
    n.var = &v;
    n.range = v.range;
    consider(n);
    if (v.type_expr) type(*v.type_expr);
    if (v.init) expr(*v.init);
  }

  void type(const TypeExpr& t) {
    Node n;
    n.kind = NodeKind::TypeName;
    n.type = &t;
    n.range = t.range;
    consider(n);
    for (auto& e : t.elems) type(*e);
  }

  void round(const Round& r) {
    Node n;
    n.kind = NodeKind::Round;
    n.round = &r;
    n.range = r.name_range;
    consider(n);
    for (auto& v : r.vars) var(*v);
    for (auto& l : r.send_loops) {
      if (l.var) var(*l.var);
      if (l.coll) expr(*l.coll);
      if (l.end) expr(*l.end);
    }
    for (auto& s : r.sends) {
      expr(*s.value);
      if (s.dest_expr) expr(*s.dest_expr);
      if (s.guard) expr(*s.guard);
    }
    for (auto* h : {&r.update, &r.receive, &r.finish}) {
      if (!*h) continue;
      for (auto& p : (*h)->params) var(*p);
      block((*h)->body);
    }
    if (r.progress.go_when) expr(*r.progress.go_when);
    if (r.progress.timeout) expr(*r.progress.timeout);
  }

  void arms(const std::vector<MatchArm>& list) {
    for (auto& a : list) {
      block(a.body);
      if (a.value) expr(*a.value);
    }
  }

  void block(const std::vector<StmtPtr>& body) {
    for (auto& s : body) stmt(*s);
  }

  void stmt(const Stmt& s) {
    if (s.var) var(*s.var);
    if (s.cond) expr(*s.cond);
    if (s.range_end) expr(*s.range_end);
    if (s.target) expr(*s.target);
    if (s.value) expr(*s.value);
    block(s.body);
    block(s.else_body);
    arms(s.arms);
    for (auto& a : s.args) expr(*a);
  }

  void expr(const Expr& e) {
    Node n;
    n.kind = NodeKind::Expr;
    n.expr = &e;
    n.range = e.range;
    consider(n);
    for (auto& p : e.params) var(*p);
    for (auto& a : e.args) expr(*a);
    arms(e.arms);
  }

  uint32_t file_, off_;
  uint32_t best_size_ = UINT32_MAX;
};

const char* var_word(const VarDecl& v) {
  switch (v.kind) {
    case VarKind::Const: return "const";
    case VarKind::Input: return "input";
    case VarKind::Output: return "output";
    case VarKind::Var: return "var";
    case VarKind::Let: return "let";
    case VarKind::RoundVar: return "var";
    case VarKind::Local: return v.mutable_ ? "var" : "let";
    case VarKind::Param: return "param";
    case VarKind::LambdaParam: return "param";
    case VarKind::QuantVar: return "process";
    case VarKind::LoopVar: return "for";
    case VarKind::Mailbox: return "mailbox";
    case VarKind::Sender: return "sender";
    case VarKind::Message: return "message";
    case VarKind::TimedOut: return "timed_out";
    case VarKind::Variant: return "variant";
  }
  return "";
}

const char* var_meaning(const VarDecl& v) {
  switch (v.kind) {
    case VarKind::Const: return "a constant, overridable with --const";
    case VarKind::Input: return "an input of each process";
    case VarKind::Output: return "an output, written by decide";
    case VarKind::Var: return "a variable of each process";
    case VarKind::Let: return "a derived value, recomputed on each read";
    case VarKind::RoundVar: return "a round variable, reset when the round starts";
    case VarKind::Local: return "a local variable";
    case VarKind::Param: return "a parameter of a fn";
    case VarKind::LambdaParam: return "a parameter of a lambda";
    case VarKind::QuantVar: return "a process bound by a quantifier";
    case VarKind::LoopVar: return "the variable of a for loop";
    case VarKind::Mailbox: return "the mailbox of the round";
    case VarKind::Sender: return "the sender of the message";
    case VarKind::Message: return "the message received";
    case VarKind::TimedOut: return "whether the round timed out";
    case VarKind::Variant: return "a variant of an enum";
  }
  return "";
}

std::string type_of(const Type* t) { return t ? type_name(t) : std::string("?"); }

std::string code(const std::string& text) { return "```psync\n" + text + "\n```"; }

std::string var_signature(const VarDecl& v) { return std::string(var_word(v)) + " " + v.name + ": " + type_of(v.type); }

std::string fn_signature(const FnDecl& f) {
  std::string s = "fn " + f.name + "(";
  for (size_t i = 0; i < f.params.size(); ++i)
    s += (i ? ", " : "") + f.params[i]->name + ": " + type_of(f.params[i]->type);
  return s + "): " + type_of(f.result_type);
}

const TypeAlias* find_alias(const Program& p, const std::string& name) {
  for (auto& a : p.types)
    if (a.name == name) return &a;
  return nullptr;
}

// The text of `r`, when it is short and on one line.
std::string short_text(const SourceManager& sources, SourceRange r) {
  if (!r.valid() || r.end <= r.begin) return "";
  const std::string& text = sources.file(r.file).text();
  if (r.end > text.size()) return "";
  std::string s = text.substr(r.begin, r.end - r.begin);
  if (s.size() > 60 || s.find('\n') != std::string::npos) return "";
  return s;
}

const char* spec_word(SpecKind k) {
  switch (k) {
    case SpecKind::Invariant: return "invariant";
    case SpecKind::Property: return "property";
    case SpecKind::Liveness: return "liveness";
    case SpecKind::Assume: return "assume";
  }
  return "";
}

}  // namespace

Node node_at(const Program& program, uint32_t file, uint32_t offset) {
  Finder f(file, offset);
  f.program(program);
  if (f.best.kind == NodeKind::None && offset > 0) {
    Finder before(file, offset - 1);
    before.program(program);
    return before.best;
  }
  return f.best;
}

SourceRange definition(const Program& program, const Node& n) {
  switch (n.kind) {
    case NodeKind::Expr:
      if (n.expr->decl) return n.expr->decl->range;
      if (n.expr->fn) return n.expr->fn->name_range;
      return {};
    case NodeKind::Var: return n.var->range;
    case NodeKind::Fn: return n.fn->name_range;
    case NodeKind::Round: return n.round->name_range;
    case NodeKind::Spec: return n.spec->name_range;
    case NodeKind::TypeAlias: return n.alias->range;
    case NodeKind::TypeName:
      if (n.type->kind == TypeExprKind::Named)
        if (const TypeAlias* a = find_alias(program, n.type->name)) return a->range;
      return {};
    case NodeKind::None: return {};
  }
  return {};
}

std::string describe(const Program& program, const Node& n, const SourceManager& sources) {
  switch (n.kind) {
    case NodeKind::Expr: {
      const Expr& e = *n.expr;
      if (e.kind == ExprKind::Name && e.decl) return code(var_signature(*e.decl)) + "\n\n" + var_meaning(*e.decl);
      if (e.kind == ExprKind::Call && e.fn) return code(fn_signature(*e.fn)) + "\n\nthis call: `" + type_of(e.type) + "`";
      if (e.kind == ExprKind::Member && e.decl)
        return code(short_text(sources, e.range) + ": " + type_of(e.type)) + "\n\n" + var_meaning(*e.decl) +
               ", read at a process";
      std::string what = short_text(sources, e.range);
      std::string out = code((what.empty() ? std::string("expression") : what) + ": " + type_of(e.type));
      if (e.builtin != Builtin::None) out += "\n\nbuilt-in `" + std::string(builtin_name(e.builtin)) + "`";
      return out;
    }
    case NodeKind::Var: return code(var_signature(*n.var)) + "\n\n" + var_meaning(*n.var);
    case NodeKind::Fn: return code(fn_signature(*n.fn));
    case NodeKind::Round: {
      const Round& r = *n.round;
      return code("round " + r.name) + "\n\nround " + std::to_string(r.index) + " of " +
             std::to_string(program.rounds.size()) + ", " + (r.is_event() ? "event" : "closed") +
             ", message `" + type_of(r.message_type) + "`";
    }
    case NodeKind::Spec: return code(std::string(spec_word(n.spec->kind)) + " " + n.spec->name);
    case NodeKind::TypeAlias: return code("type " + n.alias->name + " = " + type_of(n.alias->type));
    case NodeKind::TypeName: {
      if (n.type->kind == TypeExprKind::Named)
        if (const TypeAlias* a = find_alias(program, n.type->name))
          return code("type " + a->name + " = " + type_of(a->type));
      return code(short_text(sources, n.type->range));
    }
    case NodeKind::None: return "";
  }
  return "";
}

// ---------------------------------------------------------------- symbols

namespace {

SourceRange extend(SourceRange r, SourceRange to) {
  if (to.valid() && to.file == r.file) r.end = std::max(r.end, to.end);
  return r;
}

Symbol var_symbol(const VarDecl& v, SymbolKind kind, const std::string& detail) {
  Symbol s;
  s.name = v.name;
  s.detail = detail;
  s.kind = kind;
  s.selection = v.range;
  s.range = v.range;
  if (v.type_expr) s.range = extend(s.range, v.type_expr->range);
  if (v.init) s.range = extend(s.range, v.init->range);
  return s;
}

}  // namespace

std::vector<Symbol> document_symbols(const Program& p, uint32_t file) {
  std::vector<Symbol> out;
  auto mine = [&](SourceRange r) { return r.file == file; };
  for (auto& a : p.types) {
    if (!mine(a.range)) continue;
    Symbol s;
    s.name = a.name;
    s.detail = "type " + type_of(a.type);
    s.kind = SymbolKind::Struct;
    s.selection = a.range;
    s.range = a.type_expr ? extend(a.range, a.type_expr->range) : a.range;
    out.push_back(std::move(s));
  }
  auto vars = [&](const std::vector<VarDeclPtr>& list, SymbolKind kind, const char* word) {
    for (auto& v : list)
      if (mine(v->range)) out.push_back(var_symbol(*v, kind, std::string(word) + " " + type_of(v->type)));
  };
  for (auto& en : p.enums) {
    if (!mine(en.range)) continue;
    Symbol s;
    s.name = en.name;
    s.detail = "enum";
    s.kind = SymbolKind::Enum;
    s.selection = en.range;
    s.range = en.variants.empty() ? en.range : extend(en.range, en.variants.back()->range);
    for (auto& v : en.variants) s.children.push_back(var_symbol(*v, SymbolKind::EnumMember, en.name));
    out.push_back(std::move(s));
  }
  vars(p.consts, SymbolKind::Constant, "const");
  vars(p.inputs, SymbolKind::Field, "input");
  vars(p.outputs, SymbolKind::Field, "output");
  vars(p.vars, SymbolKind::Variable, "var");
  vars(p.lets, SymbolKind::Variable, "let");
  for (auto& f : p.fns) {
    if (!mine(f->range)) continue;
    Symbol s;
    s.name = f->name;
    s.detail = fn_signature(*f);
    s.kind = SymbolKind::Function;
    s.selection = f->name_range;
    s.range = f->range;
    out.push_back(std::move(s));
  }
  for (auto& r : p.rounds) {
    if (!mine(r.range)) continue;
    Symbol s;
    s.name = r.name;
    s.detail = std::string("round ") + std::to_string(r.index) + (r.is_event() ? ", event" : ", closed");
    s.kind = SymbolKind::Method;
    s.selection = r.name_range;
    s.range = r.range;
    for (auto& v : r.vars) s.children.push_back(var_symbol(*v, SymbolKind::Variable, "var " + type_of(v->type)));
    auto handler = [&](const char* name, const std::optional<Handler>& h) {
      if (!h) return;
      Symbol c;
      std::string params;
      for (auto& v : h->params) params += (params.empty() ? "" : ", ") + v->name;
      c.name = std::string(name) + "(" + params + ")";
      c.kind = SymbolKind::Event;
      c.range = h->range;
      c.selection = {h->range.file, h->range.begin, h->range.begin + static_cast<uint32_t>(std::string(name).size())};
      s.children.push_back(std::move(c));
    };
    handler("update", r.update);
    handler("receive", r.receive);
    handler("finish", r.finish);
    std::sort(s.children.begin(), s.children.end(),
              [](const Symbol& a, const Symbol& b) { return a.range.begin < b.range.begin; });
    out.push_back(std::move(s));
  }
  for (auto& sp : p.specs) {
    if (!mine(sp.range)) continue;
    Symbol s;
    s.name = sp.name;
    s.detail = spec_word(sp.kind);
    s.kind = SymbolKind::Property;
    s.selection = sp.name_range;
    s.range = sp.range;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Symbol& a, const Symbol& b) { return a.range.begin < b.range.begin; });
  return out;
}

}  // namespace psync::query
