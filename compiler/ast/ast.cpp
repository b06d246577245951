// ast.cpp: names of AST enums, the table of built-ins (builtins.def) and the
// `psyncc dump-ast` printer.
#include "ast/ast.h"

#include <iterator>

namespace psync {

const char* var_kind_name(VarKind k) {
  switch (k) {
    case VarKind::Const: return "Const";
    case VarKind::Input: return "Input";
    case VarKind::Output: return "Output";
    case VarKind::Var: return "Var";
    case VarKind::Let: return "Let";
    case VarKind::RoundVar: return "RoundVar";
    case VarKind::Local: return "Local";
    case VarKind::Param: return "Param";
    case VarKind::LambdaParam: return "LambdaParam";
    case VarKind::QuantVar: return "QuantVar";
    case VarKind::LoopVar: return "LoopVar";
    case VarKind::Mailbox: return "Mailbox";
    case VarKind::Sender: return "Sender";
    case VarKind::Message: return "Message";
    case VarKind::TimedOut: return "TimedOut";
    case VarKind::Variant: return "Variant";
  }
  return "?";
}

const char* unary_op_spelling(UnaryOp op) {
  switch (op) {
    case UnaryOp::Not: return "!";
    case UnaryOp::Neg: return "-";
    case UnaryOp::BitNot: return "~";
  }
  return "?";
}

const char* binary_op_spelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::And: return "&&";
    case BinaryOp::Or: return "||";
    case BinaryOp::Implies: return "==>";
    case BinaryOp::BitAnd: return "&";
    case BinaryOp::BitOr: return "|";
    case BinaryOp::BitXor: return "^";
    case BinaryOp::Shl: return "<<";
    case BinaryOp::Shr: return ">>";
  }
  return "?";
}

namespace {

// Row 0 is Builtin::None; the rest is builtins.def in order, so that a
// Builtin indexes its own row.
constexpr BuiltinInfo kBuiltins[] = {
    {BuiltinForm::Implicit, "", "none", BuiltinSymmetry::Neutral, ""},
#define PSYNC_BUILTIN(Name, Form, Spelling, Dump, Symmetry, Why) \
  {BuiltinForm::Form, Spelling, Dump, BuiltinSymmetry::Symmetry, Why},
#include "ast/builtins.def"
};

constexpr bool breaking_builtins_say_why() {
  for (const BuiltinInfo& b : kBuiltins)
    if (b.symmetry == BuiltinSymmetry::Breaks && b.why[0] == '\0') return false;
  return true;
}
static_assert(breaking_builtins_say_why(), "builtins.def: a built-in that breaks symmetry needs its reason");

}  // namespace

const BuiltinInfo& builtin_info(Builtin b) { return kBuiltins[static_cast<size_t>(b)]; }

Builtin find_builtin(BuiltinForm form, std::string_view spelling) {
  for (size_t i = 1; i < std::size(kBuiltins); ++i)
    if (kBuiltins[i].form == form && spelling == kBuiltins[i].spelling) return static_cast<Builtin>(i);
  return Builtin::None;
}

std::string builtin_spellings(BuiltinForm form) {
  std::string out;
  std::string_view last;
  for (size_t i = 1; i < std::size(kBuiltins); ++i) {
    if (kBuiltins[i].form != form || last == kBuiltins[i].spelling) continue;
    last = kBuiltins[i].spelling;
    out += (out.empty() ? "" : ", ") + std::string(last);
  }
  return out;
}

const char* builtin_name(Builtin b) { return builtin_info(b).dump_name; }

namespace {

class Dumper {
 public:
  explicit Dumper(const SourceManager& s) : sources_(s) {}
  std::string out;

  void program(const Program& p) {
    line(0, std::string(p.is_module ? "Module " : "Protocol ") + p.name, p.name_range);
    for (auto& t : p.types) line(1, "Type " + t.name + " = " + type_name(t.type), t.range);
    for (auto& en : p.enums) {
      std::string vs;
      for (auto& v : en.variants) vs += " " + v->name;
      line(1, "Enum " + en.name + vs, en.range);
    }
    for (auto* list : {&p.consts, &p.inputs, &p.outputs, &p.vars, &p.lets})
      for (auto& v : *list) var(1, *v);
    for (auto& f : p.fns) {
      std::string sig = "Fn " + f->name + "(";
      for (size_t i = 0; i < f->params.size(); ++i)
        sig += (i ? ", " : "") + f->params[i]->name + ": " + type_name(f->params[i]->type);
      line(1, sig + "): " + type_name(f->result_type), f->name_range);
      if (f->body) expr(2, *f->body);
      block(2, f->block);
    }
    for (auto& r : p.rounds) round(1, r);
    for (auto& s : p.specs) spec(1, s);
    for (auto& b : p.byzantine) {
      line(1, "Byzantine", b.range);
      if (b.count) expr(2, *b.count);
    }
  }

 private:
  std::string loc(SourceRange r) const {
    if (!r.valid()) return "";
    LineCol lc = sources_.file(r.file).line_col(r.begin);
    return " @" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
  }
  void line(int depth, const std::string& text, SourceRange r) {
    out.append(static_cast<size_t>(depth) * 2, ' ');
    out += text + loc(r) + "\n";
  }
  static std::string typed(const Type* t) { return t ? " : " + type_name(t) : ""; }

  void var(int depth, const VarDecl& v) {
    std::string marks = std::string(v.model ? "model " : "") + (v.output ? "output " : "");
    line(depth, marks + var_kind_name(v.kind) + " " + v.name + typed(v.type), v.range);
    if (v.init) expr(depth + 1, *v.init);
  }

  void round(int depth, const Round& r) {
    line(depth, "Round " + r.name + " #" + std::to_string(r.index) + (r.is_event() ? " event" : " closed") +
                    " message" + typed(r.message_type),
         r.name_range);
    for (auto& v : r.vars) var(depth + 1, *v);
    int open_loop = -1;
    for (auto& s : r.sends) {
      int d = depth + 1;
      if (s.loop >= 0) {
        const SendLoop& lp = r.send_loops[static_cast<size_t>(s.loop)];
        if (s.loop != open_loop) {
          line(d, "SendFor " + lp.var->name + typed(lp.var->type) + (lp.end ? " in range" : " in set"), lp.range);
          expr(d + 1, *lp.coll);
          if (lp.end) expr(d + 1, *lp.end);
          open_loop = s.loop;
        }
        ++d;
      }
      line(d, s.dest == DestKind::All ? "Send to all" : "Send to", s.range);
      expr(d + 1, *s.value);
      if (s.dest_expr) {
        line(d + 1, "Dest", s.dest_expr->range);
        expr(d + 2, *s.dest_expr);
      }
      if (s.guard) {
        line(d + 1, "Guard", s.guard->range);
        expr(d + 2, *s.guard);
      }
    }
    auto handler = [&](const char* name, const std::optional<Handler>& h) {
      if (!h) return;
      std::string ps;
      for (size_t i = 0; i < h->params.size(); ++i) ps += (i ? ", " : "") + h->params[i]->name;
      line(depth + 1, std::string(name) + "(" + ps + ")", h->range);
      block(depth + 2, h->body);
    };
    handler("Update", r.update);
    handler("Receive", r.receive);
    handler("Finish", r.finish);
    const Progress& pr = r.progress;
    if (pr.range.valid()) {
      std::string s = "Progress";
      if (pr.timeout_us) s += " timeout=" + std::to_string(*pr.timeout_us) + "us";
      if (pr.timeout) s += " timeout=expr";
      if (pr.wait) s += " wait";
      if (pr.strict) s += " strict" + (pr.strict_bound ? "=" + std::to_string(*pr.strict_bound) : std::string());
      if (pr.sync) s += " sync=" + std::to_string(*pr.sync);
      line(depth + 1, s, pr.range);
      if (pr.timeout) {
        line(depth + 2, "Timeout", pr.timeout->range);
        expr(depth + 3, *pr.timeout);
      }
      if (pr.go_when) {
        line(depth + 2, "GoWhen", pr.go_when->range);
        expr(depth + 3, *pr.go_when);
      }
    }
  }

  void arms(int depth, const std::vector<MatchArm>& as) {
    for (auto& a : as) {
      std::string head = "Arm";
      for (auto& v : a.variants) head += " " + v;
      if (a.wildcard) head += " _";
      line(depth, head, a.range);
      if (a.value) expr(depth + 1, *a.value);
      block(depth + 1, a.body);
    }
  }

  void spec(int depth, const Spec& s) {
    static const char* kinds[] = {"Invariant", "Property", "Liveness", "Assume"};
    std::string head = std::string(kinds[static_cast<int>(s.kind)]) + " " + s.name;
    if (s.kind == SpecKind::Liveness) head += " after " + std::to_string(s.after_rounds);
    line(depth, head, s.name_range);
    if (s.pred) {
      line(depth + 1, "Where", s.pred->range);
      expr(depth + 2, *s.pred);
    }
    if (s.body) expr(depth + 1, *s.body);
  }

  void block(int depth, const std::vector<StmtPtr>& body) {
    for (auto& s : body) stmt(depth, *s);
  }

  void stmt(int depth, const Stmt& s) {
    switch (s.kind) {
      case StmtKind::LocalVar: var(depth, *s.var); break;
      case StmtKind::If:
        line(depth, "If", s.range);
        expr(depth + 1, *s.cond);
        line(depth + 1, "Then", {});
        block(depth + 2, s.body);
        if (s.has_else) {
          line(depth + 1, "Else", {});
          block(depth + 2, s.else_body);
        }
        break;
      case StmtKind::For:
        line(depth, "For " + s.var->name + typed(s.var->type) + (s.range_end ? " in range" : " in set"), s.range);
        expr(depth + 1, *s.cond);
        if (s.range_end) expr(depth + 1, *s.range_end);
        line(depth + 1, "Do", {});
        block(depth + 2, s.body);
        break;
      case StmtKind::Match:
        line(depth, "Match", s.range);
        expr(depth + 1, *s.cond);
        arms(depth + 1, s.arms);
        break;
      case StmtKind::Decide:
        line(depth, "Decide", s.range);
        expr(depth + 1, *s.value);
        break;
      case StmtKind::Halt: line(depth, "Halt", s.range); break;
      case StmtKind::Go: line(depth, "Go", s.range); break;
      case StmtKind::Return:
        line(depth, "Return", s.range);
        expr(depth + 1, *s.value);
        break;
      case StmtKind::Log:
        line(depth, "Log \"" + s.text + "\"", s.range);
        for (auto& a : s.args) expr(depth + 1, *a);
        break;
      case StmtKind::Model:
        line(depth, "Model", s.range);
        block(depth + 1, s.body);
        break;
      case StmtKind::Assign: {
        static const char* ops[] = {"=", "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>="};
        static_assert(std::size(ops) == static_cast<size_t>(AssignOp::Shr) + 1, "one spelling per AssignOp");
        line(depth, std::string("Assign ") + ops[static_cast<int>(s.assign_op)], s.range);
        expr(depth + 1, *s.target);
        expr(depth + 1, *s.value);
        break;
      }
      case StmtKind::ExprStmt:
        line(depth, "ExprStmt", s.range);
        expr(depth + 1, *s.value);
        break;
      case StmtKind::Block:
        line(depth, "Block", s.range);
        block(depth + 1, s.body);
        break;
    }
  }

  void expr(int depth, const Expr& e) {
    std::string head;
    switch (e.kind) {
      case ExprKind::IntLit: head = (e.duration ? "Duration " : "Int ") + std::to_string(e.int_value); break;
      case ExprKind::BoolLit: head = std::string("Bool ") + (e.bool_value ? "true" : "false"); break;
      case ExprKind::UnitLit: head = "Unit"; break;
      case ExprKind::NoneLit: head = "None"; break;
      case ExprKind::Some: head = "Some"; break;
      case ExprKind::Name:
        head = "Name " + e.name +
               (e.decl ? std::string(" -> ") + var_kind_name(e.decl->kind)
                       : e.builtin != Builtin::None ? std::string(" -> builtin") : std::string());
        break;
      case ExprKind::Call:
        head = "Call " + e.name + (e.fn ? " -> fn" : e.builtin != Builtin::None ? std::string(" -> ") + builtin_name(e.builtin) : "");
        break;
      case ExprKind::Member:
        head = "Member " + e.name + (e.builtin != Builtin::None ? std::string(" -> ") + builtin_name(e.builtin) : "");
        break;
      case ExprKind::TupleIndex: head = "TupleIndex " + std::to_string(e.int_value); break;
      case ExprKind::Index: head = e.builtin == Builtin::MboxGet ? "Index -> mbox.get" : "Index"; break;
      case ExprKind::Unary: head = std::string("Unary ") + unary_op_spelling(e.unary_op); break;
      case ExprKind::Binary: head = std::string("Binary ") + binary_op_spelling(e.binary_op); break;
      case ExprKind::Cond: head = "Cond"; break;
      case ExprKind::Quant: {
        head = e.bool_value ? "Forall" : "Exists";
        for (auto& p : e.params) head += " " + p->name;
        break;
      }
      case ExprKind::Lambda: {
        head = "Lambda";
        for (auto& p : e.params) head += " " + p->name + typed(p->type);
        break;
      }
      case ExprKind::Tuple: head = "Tuple"; break;
      case ExprKind::ArrayFill: head = "ArrayFill"; break;
      case ExprKind::Record: {
        head = "Record";
        for (auto& f : e.field_names) head += " " + f;
        break;
      }
      case ExprKind::Old: head = "Old"; break;
      case ExprKind::Match: head = "Match"; break;
      case ExprKind::Error: head = "Error"; break;
      case ExprKind::StringLit: head = "String " + bytes_literal_text(e.str_value); break;
    }
    if (e.kind != ExprKind::Lambda) head += typed(e.type);
    line(depth, head, e.range);
    for (auto& a : e.args) expr(depth + 1, *a);
    arms(depth + 1, e.arms);
  }

  const SourceManager& sources_;
};

}  // namespace

std::string dump_ast(const Program& program, const SourceManager& sources) {
  Dumper d(sources);
  d.program(program);
  return d.out;
}

}  // namespace psync
