// format.cpp: the AST printer of psyncc fmt. It walks the parsed (untyped)
// Program in source order and writes each construct in the one style of
// docs/tools.md through the LineWriter (layout.h). The AST does not keep
// everything a reader sees, so the token list (parse/tokens.h) supplies the
// rest: comments, the parentheses the user wrote, braces (for the comments
// before a closing brace), `else if` versus `else { if }`, and the order of
// progress clauses.
#include "tools/format/format.h"

#include <algorithm>
#include <functional>

#include "parse/parse.h"
#include "parse/tokens.h"
#include "sema/frontend.h"
#include "tools/format/layout.h"

namespace psync {

namespace format {

namespace {

/// The code tokens of a file, with matching brackets, for the questions the
/// AST cannot answer.
class Tokens {
 public:
  explicit Tokens(std::vector<SourceToken> all) {
    for (auto& t : all)
      if (!t.is_comment()) toks_.push_back(std::move(t));
    match_.assign(toks_.size(), -1);
    std::vector<int> open;
    for (int i = 0; i < static_cast<int>(toks_.size()); ++i) {
      const std::string& s = toks_[i].text;
      if (s == "(" || s == "[" || s == "{") {
        open.push_back(i);
      } else if ((s == ")" || s == "]" || s == "}") && !open.empty()) {
        match_[i] = open.back();
        match_[open.back()] = i;
        open.pop_back();
      }
    }
  }

  int size() const { return static_cast<int>(toks_.size()); }
  const SourceToken& operator[](int i) const { return toks_[static_cast<size_t>(i)]; }
  int match(int i) const { return i >= 0 && i < size() ? match_[static_cast<size_t>(i)] : -1; }
  bool is(int i, std::string_view text) const { return i >= 0 && i < size() && toks_[static_cast<size_t>(i)].text == text; }

  /// The token that starts at byte `pos`, or -1.
  int starting_at(uint32_t pos) const {
    auto it = std::lower_bound(toks_.begin(), toks_.end(), pos,
                               [](const SourceToken& t, uint32_t p) { return t.range.begin < p; });
    return it != toks_.end() && it->range.begin == pos ? static_cast<int>(it - toks_.begin()) : -1;
  }
  /// The token that ends at byte `pos`, or -1.
  int ending_at(uint32_t pos) const {
    auto it = std::lower_bound(toks_.begin(), toks_.end(), pos,
                               [](const SourceToken& t, uint32_t p) { return t.range.end < p; });
    return it != toks_.end() && it->range.end == pos ? static_cast<int>(it - toks_.begin()) : -1;
  }
  /// The first token at or after byte `pos` spelled `text`, or -1.
  int find_from(uint32_t pos, std::string_view text) const {
    auto it = std::lower_bound(toks_.begin(), toks_.end(), pos,
                               [](const SourceToken& t, uint32_t p) { return t.range.begin < p; });
    for (; it != toks_.end(); ++it)
      if (it->text == text) return static_cast<int>(it - toks_.begin());
    return -1;
  }

 private:
  std::vector<SourceToken> toks_;
  std::vector<int> match_;
};

std::vector<Comment> collect_comments(const std::vector<SourceToken>& tokens, std::string_view src) {
  std::vector<Comment> out;
  for (const SourceToken& t : tokens) {
    if (!t.is_comment()) continue;
    Comment c;
    c.begin = t.range.begin;
    c.end = t.range.end;
    for (char ch : t.text)
      if (ch != '\r') c.text += ch;
    c.line_comment = t.text.rfind("//", 0) == 0;
    size_t b = c.begin;
    while (b > 0 && (src[b - 1] == ' ' || src[b - 1] == '\t' || src[b - 1] == '\f')) --b;
    c.own_line = b == 0 || src[b - 1] == '\n' || src[b - 1] == '\r';
    size_t e = c.end;
    while (e < src.size() && (src[e] == ' ' || src[e] == '\t' || src[e] == '\f')) ++e;
    c.ends_line = e == src.size() || src[e] == '\n' || src[e] == '\r';
    out.push_back(std::move(c));
  }
  return out;
}

class Printer {
 public:
  Printer(std::string_view src, const Tokens& toks, LineWriter& w) : src_(src), t_(toks), w_(w) {}

  void program(const Program& p);

 private:
  // ---- where things are in the token list
  /// The user's parentheses around `e`: pairs that wrap it exactly, less the
  /// `owned` innermost ones that belong to the enclosing syntax (a call's).
  int user_parens(const Expr& e, int owned) const {
    int i = t_.starting_at(e.range.begin), j = t_.ending_at(e.range.end);
    if (i < 0 || j < 0) return 0;
    int pairs = 0;
    while (t_.is(i - 1, "(") && t_.is(j + 1, ")") && t_.match(i - 1) == j + 1) {
      ++pairs;
      --i;
      ++j;
    }
    return std::max(0, pairs - owned);
  }
  /// Where `e`'s printed text starts: its first user parenthesis, or itself.
  uint32_t start_of(const Expr& e, int owned = 0) const {
    int parens = user_parens(e, owned);
    if (parens == 0) return e.range.begin;
    return t_[t_.starting_at(e.range.begin) - parens].range.begin;
  }
  /// The keyword before a declaration's name (`var` in `var x: int`).
  uint32_t keyword_before(SourceRange name) const {
    int i = t_.starting_at(name.begin);
    return i > 0 ? t_[i - 1].range.begin : name.begin;
  }

  // ---- declarations
  void header(const Program& p);
  void var_decl(const char* keyword, const VarDecl& v);
  void fn_decl(const FnDecl& f);
  void type_alias(const TypeAlias& a);
  void spec(const Spec& s);
  void round(const Round& r);
  void send(const Send& s);
  void handler(const char* name, const Handler& h);
  void progress(const Progress& p);

  // ---- statements and blocks
  void block(const std::vector<StmtPtr>& body, int open);
  bool inline_block(const std::vector<StmtPtr>& body, int open) const;
  bool inline_stmt(const Stmt& s) const;
  void stmt(const Stmt& s, bool inline_);
  void if_chain(const Stmt& s);
  void local_var(const VarDecl& v);

  // ---- expressions and types
  void expr(const Expr& e, int owned = 0);
  void expr_body(const Expr& e);
  void list(const std::vector<ExprPtr>& items, size_t from);
  void type(const TypeExpr& t);

  std::string_view src_;
  const Tokens& t_;
  LineWriter& w_;
};

// ---------------------------------------------------------------- the file

void Printer::program(const Program& p) {
  header(p);
  // The AST keeps declarations by kind; the file has them in one order.
  std::vector<std::pair<uint32_t, std::function<void()>>> decls;
  for (auto& i : p.imports)
    decls.emplace_back(i.range.begin, [this, &i] {
      w_.begin_item(i.range.begin);
      w_.write("import " + i.module);
      w_.consumed(i.range.end);
    });
  for (auto& a : p.types) decls.emplace_back(keyword_before(a.range), [this, &a] { type_alias(a); });
  auto vars = [&](const std::vector<VarDeclPtr>& list, const char* keyword) {
    for (auto& v : list) decls.emplace_back(keyword_before(v->range), [this, &v, keyword] { var_decl(keyword, *v); });
  };
  vars(p.consts, "const");
  vars(p.inputs, "input");
  vars(p.outputs, "output");
  vars(p.vars, "var");
  vars(p.lets, "let");
  for (auto& f : p.fns) decls.emplace_back(f->range.begin, [this, &f] { fn_decl(*f); });
  for (auto& r : p.rounds) decls.emplace_back(r.range.begin, [this, &r] { round(r); });
  for (auto& s : p.specs) decls.emplace_back(s.range.begin, [this, &s] { spec(s); });
  std::stable_sort(decls.begin(), decls.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& d : decls) d.second();
}

void Printer::header(const Program& p) {
  uint32_t at = keyword_before(p.name_range);
  w_.begin_item(at);
  w_.write(std::string(p.is_module ? "module " : "protocol ") + p.name);
  w_.consumed(p.name_range.end);
}

void Printer::var_decl(const char* keyword, const VarDecl& v) {
  w_.begin_item(keyword_before(v.range));
  w_.write(std::string(keyword) + " " + v.name);
  w_.consumed(v.range.end);
  if (v.type_expr) {
    w_.write(": ");
    type(*v.type_expr);
  }
  if (v.init) {
    w_.write(" =");
    w_.break_or_space(start_of(*v.init));
    expr(*v.init);
  }
}

void Printer::type_alias(const TypeAlias& a) {
  w_.begin_item(keyword_before(a.range));
  w_.write("type " + a.name + " = ");
  w_.consumed(a.range.end);
  if (a.type_expr) type(*a.type_expr);
}

void Printer::fn_decl(const FnDecl& f) {
  w_.begin_item(f.range.begin);
  w_.write("fn " + f.name + "(");
  w_.consumed(f.name_range.end);
  w_.push_align();
  for (size_t i = 0; i < f.params.size(); ++i) {
    const VarDecl& p = *f.params[i];
    if (i) {
      w_.write(",");
      w_.break_or_space(p.range.begin);
    }
    w_.flush_comments(p.range.begin);
    w_.write(p.name + ": ");
    w_.consumed(p.range.end);
    if (p.type_expr) type(*p.type_expr);
  }
  w_.pop_align();
  w_.write("): ");
  if (f.result_type_expr) type(*f.result_type_expr);
  if (f.body) {
    w_.write(" =");
    w_.break_or_space(start_of(*f.body));
    expr(*f.body);
  }
  w_.consumed(f.range.end);
}

void Printer::spec(const Spec& s) {
  static const char* keywords[] = {"invariant", "property", "liveness", "assume"};
  w_.begin_item(s.range.begin);
  w_.write(std::string(keywords[static_cast<int>(s.kind)]) + " " + s.name + ":");
  w_.consumed(s.name_range.end);
  if (s.kind == SpecKind::Liveness && s.pred) {
    w_.write(" after " + std::to_string(s.after_rounds) + (s.after_rounds == 1 ? " round" : " rounds") + " where");
    w_.break_or_space(start_of(*s.pred));
    expr(*s.pred);
    w_.write(":");
  }
  if (s.body) {
    w_.break_or_space(start_of(*s.body));
    expr(*s.body);
  }
  w_.consumed(s.range.end);
}

// ---------------------------------------------------------------- rounds

void Printer::round(const Round& r) {
  w_.begin_item(r.range.begin);
  w_.write("round " + r.name + " {");
  w_.consumed(r.name_range.end);
  int open = t_.find_from(r.name_range.end, "{");
  int close = t_.match(open);
  uint32_t close_pos = close >= 0 ? t_[close].range.begin : r.range.end - 1;
  std::vector<std::pair<uint32_t, std::function<void()>>> items;
  for (auto& v : r.vars) items.emplace_back(keyword_before(v->range), [this, &v] { var_decl("var", *v); });
  for (auto& s : r.sends) items.emplace_back(s.range.begin, [this, &s] { send(s); });
  if (r.update) items.emplace_back(r.update->range.begin, [this, &r] { handler("update", *r.update); });
  if (r.receive) items.emplace_back(r.receive->range.begin, [this, &r] { handler("receive", *r.receive); });
  if (r.finish) items.emplace_back(r.finish->range.begin, [this, &r] { handler("finish", *r.finish); });
  if (r.progress.range.valid()) items.emplace_back(r.progress.range.begin, [this, &r] { progress(r.progress); });
  std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
  if (items.empty() && !w_.comments_between(r.range.begin, close_pos)) {
    w_.write("}");
    w_.consumed(r.range.end);
    return;
  }
  w_.open_block();
  for (auto& item : items) item.second();
  w_.close_block(close_pos);
  w_.consumed(r.range.end);
}

void Printer::send(const Send& s) {
  w_.begin_item(s.range.begin);
  w_.write("send ");
  expr(*s.value);
  w_.write(" to ");
  if (s.dest == DestKind::All || !s.dest_expr) {
    w_.write("all");
  } else {
    expr(*s.dest_expr);
  }
  if (s.guard) {
    w_.write(" if ");
    expr(*s.guard);
  }
  w_.consumed(s.range.end);
}

void Printer::handler(const char* name, const Handler& h) {
  w_.begin_item(h.range.begin);
  std::string params;
  for (auto& p : h.params) params += (params.empty() ? "" : ", ") + p->name;
  w_.write(std::string(name) + "(" + params + ")");
  uint32_t after = h.params.empty() ? h.range.begin : h.params.back()->range.end;
  w_.consumed(after);
  block(h.body, t_.find_from(after, "{"));
  w_.consumed(h.range.end);
}

// Progress clauses in the order written. The AST keeps one field per kind,
// so the tokens give the order and the spelling of durations and bounds.
void Printer::progress(const Progress& p) {
  w_.begin_item(p.range.begin);
  w_.write("progress");
  int i = t_.starting_at(p.range.begin) + 1;
  bool first = true;
  auto in_range = [&](int k) { return k > 0 && k < t_.size() && t_[k].range.begin < p.range.end; };
  while (in_range(i)) {
    const SourceToken& tok = t_[i];
    if (tok.text == ",") {
      ++i;
      continue;
    }
    if (first) {
      w_.write(" ");
    } else {
      w_.write(",");
      w_.break_or_space(tok.range.begin);
    }
    first = false;
    w_.flush_comments(tok.range.begin);
    w_.consumed(tok.range.end);
    if (tok.text == "go") {
      w_.write("go when ");
      // The clause runs to the next top-level comma.
      int end = i + 2;
      while (in_range(end) && !t_.is(end, ",")) end = t_.match(end) > end ? t_.match(end) + 1 : end + 1;
      uint32_t from = in_range(i + 2) ? t_[i + 2].range.begin : tok.range.end;
      if (p.go_when && start_of(*p.go_when) == from) {
        expr(*p.go_when);
      } else {
        // An earlier `go when` that a later one overrides: kept as written.
        uint32_t to = t_[end - 1].range.end;
        w_.write(src_.substr(from, to - from));
        w_.consumed(to);
      }
      i = end;
      continue;
    }
    w_.write(tok.text);
    ++i;
    // timeout D, strict [K], sync K: the operand as written.
    if ((tok.text == "timeout" || tok.text == "strict" || tok.text == "sync") && in_range(i) && !t_.is(i, ",")) {
      w_.write(" " + t_[i].text);
      w_.consumed(t_[i].range.end);
      ++i;
    }
  }
  w_.consumed(p.range.end);
}

// ---------------------------------------------------------------- statements

// A block stays on one line when it was written on one line and holds at
// most one statement whose own blocks qualify too, with no comment inside.
bool Printer::inline_stmt(const Stmt& s) const {
  if (s.kind == StmtKind::If) {
    int open = t_.find_from(s.cond->range.end, "{");
    if (!inline_block(s.body, open)) return false;
    if (!s.has_else) return true;
    int else_tok = t_.match(open) + 1;
    if (!s.else_body.empty() && s.else_body[0]->kind == StmtKind::If && t_.is(else_tok + 1, "if"))
      return inline_stmt(*s.else_body[0]);
    return inline_block(s.else_body, else_tok + 1);
  }
  if (s.kind == StmtKind::For) {
    const Expr& last = s.range_end ? *s.range_end : *s.cond;
    return inline_block(s.body, t_.find_from(last.range.end, "{"));
  }
  return s.kind != StmtKind::Block;
}

bool Printer::inline_block(const std::vector<StmtPtr>& body, int open) const {
  int close = t_.match(open);
  if (open < 0 || close < 0) return false;
  uint32_t a = t_[open].range.begin, b = t_[close].range.end;
  if (w_.comments_between(a, b)) return false;
  if (body.empty()) return true;
  if (w_.newline_between(a, b) || body.size() > 1) return false;
  return inline_stmt(*body[0]);
}

void Printer::block(const std::vector<StmtPtr>& body, int open) {
  int close = t_.match(open);
  if (open < 0 || close < 0) return;  // not reached: the file parsed
  w_.write(" {");
  w_.consumed(t_[open].range.end);
  bool empty = body.empty() && !w_.comments_between(t_[open].range.begin, t_[close].range.end);
  if (empty || inline_block(body, open)) {
    if (!body.empty()) {
      w_.write(" ");
      stmt(*body[0], true);
      w_.write(" ");
    }
    w_.write("}");
    w_.consumed(t_[close].range.end);
    return;
  }
  w_.open_block();
  for (auto& s : body) stmt(*s, false);
  w_.close_block(t_[close].range.begin);
}

void Printer::local_var(const VarDecl& v) {
  w_.write(std::string(v.mutable_ ? "var " : "let ") + v.name);
  w_.consumed(v.range.end);
  if (v.type_expr) {
    w_.write(": ");
    type(*v.type_expr);
  }
  if (v.init) {
    w_.write(" =");
    w_.break_or_space(start_of(*v.init));
    expr(*v.init);
  }
}

void Printer::stmt(const Stmt& s, bool inline_) {
  if (!inline_) w_.begin_item(s.range.begin);
  w_.flush_comments(s.range.begin);
  switch (s.kind) {
    case StmtKind::LocalVar: local_var(*s.var); break;
    case StmtKind::If: if_chain(s); break;
    case StmtKind::For: {
      w_.write("for " + s.var->name + " in ");
      w_.consumed(s.var->range.end);
      expr(*s.cond);
      if (s.range_end) {
        w_.write("..");
        expr(*s.range_end);
      }
      block(s.body, t_.find_from((s.range_end ? *s.range_end : *s.cond).range.end, "{"));
      break;
    }
    case StmtKind::Decide:
      w_.write("decide(");
      w_.push_align();
      expr(*s.value, 1);
      w_.pop_align();
      w_.write(")");
      break;
    case StmtKind::Halt: w_.write("halt"); break;
    case StmtKind::Go: w_.write("go"); break;
    case StmtKind::Assign: {
      static const char* ops[] = {" =", " +=", " -=", " *="};
      expr(*s.target);
      w_.write(ops[static_cast<int>(s.assign_op)]);
      w_.break_or_space(start_of(*s.value));
      expr(*s.value);
      break;
    }
    case StmtKind::ExprStmt: expr(*s.value); break;
    case StmtKind::Block: {
      int open = t_.starting_at(s.range.begin);
      block(s.body, open);
      break;
    }
  }
  w_.consumed(s.range.end);
}

void Printer::if_chain(const Stmt& s) {
  w_.write("if ");
  expr(*s.cond);
  int open = t_.find_from(s.cond->range.end, "{");
  block(s.body, open);
  if (!s.has_else) return;
  int else_tok = t_.match(open) + 1;
  w_.write(" else");
  w_.consumed(t_[else_tok].range.end);
  if (!s.else_body.empty() && s.else_body[0]->kind == StmtKind::If && t_.is(else_tok + 1, "if")) {
    // `else if`: the chain goes on in the same item.
    w_.write(" ");
    w_.flush_comments(s.else_body[0]->range.begin);
    if_chain(*s.else_body[0]);
    return;
  }
  block(s.else_body, else_tok + 1);
}

// ---------------------------------------------------------------- expressions

void Printer::expr(const Expr& e, int owned) {
  int parens = user_parens(e, owned);
  int first = t_.starting_at(e.range.begin), last = t_.ending_at(e.range.end);
  for (int k = parens; k >= 1; --k) {
    const SourceToken& open = t_[first - k];
    w_.flush_comments(open.range.begin);
    w_.write("(");
    w_.consumed(open.range.end);
    w_.push_align();
  }
  w_.flush_comments(e.range.begin);
  expr_body(e);
  w_.consumed(e.range.end);
  for (int k = 1; k <= parens; ++k) {
    const SourceToken& close = t_[last + k];
    w_.flush_comments(close.range.begin);
    w_.pop_align();
    w_.write(")");
    w_.consumed(close.range.end);
  }
}

// Comma-separated items from `from` on; a call's single argument sits in the
// call's own parentheses.
void Printer::list(const std::vector<ExprPtr>& items, size_t from) {
  for (size_t i = from; i < items.size(); ++i) {
    if (i > from) {
      w_.write(",");
      w_.break_or_space(start_of(*items[i]));
    }
    expr(*items[i], items.size() - from == 1 ? 1 : 0);
  }
}

void Printer::expr_body(const Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: w_.write(std::to_string(e.int_value)); break;
    case ExprKind::BoolLit: w_.write(e.bool_value ? "true" : "false"); break;
    case ExprKind::UnitLit: w_.write("()"); break;
    case ExprKind::NoneLit: w_.write("none"); break;
    case ExprKind::Name: w_.write(e.name); break;
    case ExprKind::Some:
    case ExprKind::Old:
      w_.write(e.kind == ExprKind::Some ? "some(" : "old(");
      w_.push_align();
      expr(*e.args[0], 1);
      w_.pop_align();
      w_.write(")");
      break;
    case ExprKind::Call:
      w_.write(e.name + "(");
      w_.push_align();
      list(e.args, 0);
      w_.pop_align();
      w_.write(")");
      break;
    case ExprKind::Member:
      expr(*e.args[0]);
      w_.write("." + e.name);
      if (e.has_call_parens) {
        w_.write("(");
        w_.push_align();
        list(e.args, 1);
        w_.pop_align();
        w_.write(")");
      }
      break;
    case ExprKind::TupleIndex:
      expr(*e.args[0]);
      w_.write("." + std::to_string(e.int_value));
      break;
    case ExprKind::Index:
      expr(*e.args[0]);
      w_.write("[");
      w_.push_align();
      expr(*e.args[1]);
      w_.pop_align();
      w_.write("]");
      break;
    case ExprKind::Unary:
      w_.write(unary_op_spelling(e.unary_op));
      expr(*e.args[0]);
      break;
    case ExprKind::Binary:
      expr(*e.args[0]);
      w_.write(std::string(" ") + binary_op_spelling(e.binary_op));
      w_.break_or_space(start_of(*e.args[1]));
      expr(*e.args[1]);
      break;
    case ExprKind::Cond:
      expr(*e.args[0]);
      w_.write(" ?");
      w_.break_or_space(start_of(*e.args[1]));
      expr(*e.args[1]);
      w_.write(" :");
      w_.break_or_space(start_of(*e.args[2]));
      expr(*e.args[2]);
      break;
    case ExprKind::Quant:
    case ExprKind::Lambda: {
      bool lambda = e.kind == ExprKind::Lambda;
      std::string params;
      for (auto& p : e.params) params += (params.empty() ? "" : ", ") + p->name;
      if (lambda)
        w_.write(e.params.size() == 1 ? params + " =>" : "(" + params + ") =>");
      else
        w_.write(std::string(e.bool_value ? "forall " : "exists ") + params + ":");
      if (!e.params.empty()) w_.consumed(e.params.back()->range.end);
      w_.break_or_space(start_of(*e.args[0]));
      expr(*e.args[0]);
      break;
    }
    case ExprKind::Tuple:
      w_.write("(");
      w_.push_align();
      list(e.args, 0);
      w_.pop_align();
      w_.write(")");
      break;
    case ExprKind::ArrayFill:
      w_.write("[");
      w_.push_align();
      expr(*e.args[0]);
      w_.pop_align();
      w_.write("; n]");
      break;
    case ExprKind::Record:
      if (!e.name.empty()) w_.write(e.name + " ");
      w_.write("{ ");
      w_.push_align();
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) {
          w_.write(",");
          w_.break_or_space(e.field_ranges[i].begin);
        }
        w_.flush_comments(e.field_ranges[i].begin);
        w_.write(e.field_names[i] + ": ");
        w_.consumed(e.field_ranges[i].end);
        expr(*e.args[i]);
      }
      w_.pop_align();
      w_.write(" }");
      break;
    case ExprKind::Error:
      // Not reached: a file with syntax errors is not formatted.
      w_.write(src_.substr(e.range.begin, e.range.end - e.range.begin));
      break;
  }
}

void Printer::type(const TypeExpr& t) {
  switch (t.kind) {
    case TypeExprKind::Int: w_.write("int"); break;
    case TypeExprKind::Bool: w_.write("bool"); break;
    case TypeExprKind::Pid: w_.write("pid"); break;
    case TypeExprKind::PidSet: w_.write("set<pid>"); break;
    case TypeExprKind::Unit: w_.write("()"); break;
    case TypeExprKind::Named: w_.write(t.name); break;
    case TypeExprKind::Option:
      type(*t.elems[0]);
      w_.write("?");
      break;
    case TypeExprKind::Array:
      w_.write("[");
      type(*t.elems[0]);
      w_.write("; " + t.name + "]");
      break;
    case TypeExprKind::Tuple:
    case TypeExprKind::Record: {
      bool record = t.kind == TypeExprKind::Record;
      w_.write(record ? "{ " : "(");
      w_.push_align();
      for (size_t i = 0; i < t.elems.size(); ++i) {
        if (i) {
          w_.write(",");
          // A record field's name comes before its type: break before it.
          uint32_t at = t.elems[i]->range.begin;
          if (record) {
            int k = t_.starting_at(at);
            if (k >= 2) at = t_[k - 2].range.begin;
          }
          w_.break_or_space(at);
        }
        if (record) w_.write(t.field_names[i] + ": ");
        type(*t.elems[i]);
      }
      w_.pop_align();
      w_.write(record ? " }" : ")");
      break;
    }
  }
  w_.consumed(t.range.end);
}

}  // namespace

}  // namespace format

std::optional<std::string> format_file(uint32_t file_id, const SourceManager& sources, DiagnosticEngine& diags) {
  std::optional<std::string> out;
  run_with_large_stack([&] {
    std::unique_ptr<Program> program = parse_file(file_id, sources, diags);
    if (diags.has_errors() || !program || program->name.empty()) return;
    const std::string& text = sources.file(file_id).text();
    std::vector<SourceToken> tokens = lex_file(file_id, sources);
    format::LineWriter writer(text, format::collect_comments(tokens, text));
    format::Tokens code(std::move(tokens));
    format::Printer(text, code, writer).program(*program);
    std::string result = writer.finish();
    if (!writer.all_comments_emitted()) throw std::logic_error("psyncc fmt lost a comment");
    out = std::move(result);
  });
  diags.flush();
  return out;
}

std::optional<std::string> format_text(const std::string& name, const std::string& text, std::string* errors) {
  SourceManager sources;
  uint32_t id = sources.add(name, text);
  CollectingConsumer consumer;
  std::optional<std::string> out;
  {
    DiagnosticEngine diags(sources, consumer);
    out = format_file(id, sources, diags);
  }
  if (errors) *errors = consumer.text;
  return out;
}

}  // namespace psync
