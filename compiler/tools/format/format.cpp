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
#include <map>

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
  /// The first token that starts at or after byte `pos`, or -1.
  int next_from(uint32_t pos) const {
    auto it = std::lower_bound(toks_.begin(), toks_.end(), pos,
                               [](const SourceToken& t, uint32_t p) { return t.range.begin < p; });
    return it != toks_.end() ? static_cast<int>(it - toks_.begin()) : -1;
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
    // Trailing white space goes, inside a line comment too.
    while (c.line_comment && !c.text.empty() && (c.text.back() == ' ' || c.text.back() == '\t')) c.text.pop_back();
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

  /// Writes `out` for the next token of the source when it is spelled
  /// `text`: the comments before it come first, and the source counts as
  /// printed up to its end. (Tokens the AST does not keep: keywords,
  /// punctuation, operators.)
  void tok(std::string_view text, std::string_view out) {
    int i = t_.next_from(w_.last_end());
    bool found = i >= 0 && t_[i].text == text;
    if (found) w_.flush_comments(t_[i].range.begin);
    w_.write(out);
    if (found) w_.consumed(t_[i].range.end);
  }
  void tok(std::string_view text) { tok(text, text); }
  /// The opening brace of a block at token `open`, on the line of what
  /// precedes it even when a comment ends that line in the source.
  void open_brace(int open) {
    w_.flush_inline_comments(t_[open].range.begin);
    w_.write(" {");
    w_.consumed(t_[open].range.end);
  }
  /// A name the AST keeps with its range.
  void name(const std::string& text, SourceRange r) {
    w_.flush_comments(r.begin);
    w_.write(text);
    w_.consumed(r.end);
  }
  /// A separator (`,`, an operator, `=>`) after which the item may go on
  /// on the next line, as in the source, before `next`.
  void separator(std::string_view text, std::string_view out, uint32_t next) {
    bool newline = w_.newline_between(w_.last_end(), next) &&
                   w_.newline_between(w_.last_end(), std::max(w_.last_end(), token_start(text)));
    tok(text, out);
    w_.break_or_space(next, newline);
  }
  uint32_t token_start(std::string_view text) const {
    int i = t_.next_from(w_.last_end());
    return i >= 0 && t_[i].text == text ? t_[i].range.begin : w_.last_end();
  }

  // ---- declarations
  void header(const Program& p);
  void var_decl(const VarDecl& v);
  void fn_decl(const FnDecl& f);
  void type_alias(const TypeAlias& a);
  void enum_decl(const EnumDecl& en);
  void spec(const Spec& s);
  void round(const Round& r);
  void send(const Send& s, bool inline_ = false);
  void send_loop(const Round& r, int index);
  void arm_pattern(const MatchArm& a);
  void match_stmt(const Stmt& s);
  void handler(const char* name, const Handler& h);
  void progress(const Progress& p);

  // ---- statements and blocks
  void block(const std::vector<StmtPtr>& body, int open);
  bool inline_block(const std::vector<StmtPtr>& body, int open) const;
  bool inline_stmt(const Stmt& s) const;
  void stmt(const Stmt& s, bool inline_);
  void if_chain(const Stmt& s);
  void initialiser(const VarDecl& v);

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
      tok("import", "import ");
      tok(i.module);
      w_.consumed(i.range.end);
    });
  for (auto& a : p.types) decls.emplace_back(keyword_before(a.range), [this, &a] { type_alias(a); });
  for (auto& en : p.enums) decls.emplace_back(keyword_before(en.range), [this, &en] { enum_decl(en); });
  for (auto* list : {&p.consts, &p.inputs, &p.outputs, &p.vars, &p.lets})
    for (auto& v : *list) decls.emplace_back(keyword_before(v->range), [this, &v] { var_decl(*v); });
  for (auto& f : p.fns) decls.emplace_back(f->range.begin, [this, &f] { fn_decl(*f); });
  for (auto& r : p.rounds) decls.emplace_back(r.range.begin, [this, &r] { round(r); });
  for (auto& s : p.specs) decls.emplace_back(s.range.begin, [this, &s] { spec(s); });
  for (auto& b : p.byzantine)  // `byzantine f` (docs/language.md §13.7)
    decls.emplace_back(b.range.begin, [this, &b] {
      w_.begin_item(b.range.begin);
      tok("byzantine", "byzantine ");
      if (b.count) expr(*b.count);
      w_.consumed(b.range.end);
    });
  std::stable_sort(decls.begin(), decls.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& d : decls) d.second();
}

void Printer::header(const Program& p) {
  w_.begin_item(keyword_before(p.name_range));
  tok(p.is_module ? "module" : "protocol", p.is_module ? "module " : "protocol ");
  name(p.name, p.name_range);
}

// `var x: T = e`, and likewise const, input, output, let, round variables.
void Printer::var_decl(const VarDecl& v) {
  static const std::map<VarKind, const char*> keywords = {
      {VarKind::Const, "const"}, {VarKind::Input, "input"}, {VarKind::Output, "output"},
      {VarKind::Var, "var"},     {VarKind::Let, "let"},     {VarKind::RoundVar, "var"}};
  // `model var`, `output var`: two keywords before the name.
  int first = t_.starting_at(v.range.begin) - ((v.model || v.output) ? 2 : 1);
  w_.begin_item(first >= 0 ? t_[first].range.begin : v.range.begin);
  if (v.model) tok("model", "model ");
  if (v.output && v.kind == VarKind::Var) tok("output", "output ");
  const char* keyword = keywords.count(v.kind) ? keywords.at(v.kind) : "var";
  tok(keyword, std::string(keyword) + " ");
  name(v.name, v.range);
  initialiser(v);
}

// `: T = e` after a variable's name (each part optional).
void Printer::initialiser(const VarDecl& v) {
  if (v.type_expr) {
    tok(":", ": ");
    type(*v.type_expr);
  }
  if (v.init) {
    separator("=", " =", start_of(*v.init));
    expr(*v.init);
  }
}

void Printer::type_alias(const TypeAlias& a) {
  w_.begin_item(keyword_before(a.range));
  tok("type", "type ");
  name(a.name, a.range);
  tok("=", " = ");
  if (a.type_expr) type(*a.type_expr);
}

// `enum E { A, B }` on one line, or one variant a line (each with its comma)
// when the source broke the line after `{`.
void Printer::enum_decl(const EnumDecl& en) {
  w_.begin_item(keyword_before(en.range));
  tok("enum", "enum ");
  name(en.name, en.range);
  int open = t_.next_from(w_.last_end());
  int close = t_.match(open);
  if (open < 0 || close < 0) return;  // not reached: the file parsed
  bool lines = en.variants.empty() ? w_.newline_between(t_[open].range.end, t_[close].range.begin)
                                   : w_.newline_between(t_[open].range.end, en.variants[0]->range.begin);
  if (lines) {
    open_brace(open);
    w_.open_block();
    for (auto& v : en.variants) {
      w_.begin_item(v->range.begin);
      name(v->name, v->range);
      tok(",");
    }
    w_.close_block(t_[close].range.begin);
    w_.consumed(t_[close].range.end);
    return;
  }
  tok("{", " { ");
  w_.push_align();
  for (size_t i = 0; i < en.variants.size(); ++i) {
    if (i) separator(",", ",", en.variants[i]->range.begin);
    name(en.variants[i]->name, en.variants[i]->range);
  }
  if (t_.is(t_.next_from(w_.last_end()), ",")) w_.consumed(t_[t_.next_from(w_.last_end())].range.end);
  w_.pop_align();
  tok("}", " }");
}

void Printer::fn_decl(const FnDecl& f) {
  w_.begin_item(f.range.begin);
  tok("fn", "fn ");
  name(f.name, f.name_range);
  tok("(");
  w_.push_align();
  for (size_t i = 0; i < f.params.size(); ++i) {
    const VarDecl& p = *f.params[i];
    if (i) separator(",", ",", p.range.begin);
    name(p.name, p.range);
    initialiser(p);
  }
  w_.pop_align();
  tok(")");
  tok(":", ": ");
  if (f.result_type_expr) type(*f.result_type_expr);
  if (f.body) {
    separator("=", " =", start_of(*f.body));
    expr(*f.body);
  }
  if (f.has_block) block(f.block, t_.next_from(w_.last_end()));
  w_.consumed(f.range.end);
}

void Printer::spec(const Spec& s) {
  static const char* keywords[] = {"invariant", "property", "liveness", "assume"};
  const char* keyword = keywords[static_cast<int>(s.kind)];
  w_.begin_item(s.range.begin);
  tok(keyword, std::string(keyword) + " ");
  name(s.name, s.name_range);
  if (s.kind == SpecKind::Liveness && s.pred) {
    tok(":", ":");
    tok("after", " after ");
    int k = t_.next_from(w_.last_end());
    tok(k >= 0 ? t_[k].text : "", std::to_string(s.after_rounds));
    // "1 round", "2 rounds": either word is accepted; the number decides.
    k = t_.next_from(w_.last_end());
    tok(k >= 0 ? t_[k].text : "", s.after_rounds == 1 ? " round" : " rounds");
    separator("where", " where", start_of(*s.pred));
    expr(*s.pred);
  }
  if (s.body) {
    separator(":", ":", start_of(*s.body));
    expr(*s.body);
  }
  w_.consumed(s.range.end);
}

// ---------------------------------------------------------------- rounds

void Printer::round(const Round& r) {
  w_.begin_item(r.range.begin);
  tok("round", "round ");
  name(r.name, r.name_range);
  int open = t_.find_from(r.name_range.end, "{");
  int close = t_.match(open);
  uint32_t close_pos = close >= 0 ? t_[close].range.begin : r.range.end - 1;
  std::vector<std::pair<uint32_t, std::function<void()>>> items;
  for (auto& v : r.vars) items.emplace_back(keyword_before(v->range), [this, &v] { var_decl(*v); });
  for (auto& s : r.sends)
    if (s.loop < 0) items.emplace_back(s.range.begin, [this, &s] { send(s); });
  for (size_t i = 0; i < r.send_loops.size(); ++i)
    items.emplace_back(r.send_loops[i].range.begin, [this, &r, i] { send_loop(r, static_cast<int>(i)); });
  if (r.update) items.emplace_back(r.update->range.begin, [this, &r] { handler("update", *r.update); });
  if (r.receive) items.emplace_back(r.receive->range.begin, [this, &r] { handler("receive", *r.receive); });
  if (r.finish) items.emplace_back(r.finish->range.begin, [this, &r] { handler("finish", *r.finish); });
  if (r.progress.range.valid()) items.emplace_back(r.progress.range.begin, [this, &r] { progress(r.progress); });
  std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
  if (open >= 0) open_brace(open);
  if (items.empty() && !w_.comments_between(r.range.begin, close_pos)) {
    tok("}");
    w_.consumed(r.range.end);
    return;
  }
  w_.open_block();
  for (auto& item : items) item.second();
  w_.close_block(close_pos);
  w_.consumed(r.range.end);
}

// `for q in S { send ... }`: on one line when the source had it so with one
// send, else one send a line.
void Printer::send_loop(const Round& r, int index) {
  const SendLoop& l = r.send_loops[static_cast<size_t>(index)];
  w_.begin_item(l.range.begin);
  tok("for", "for ");
  name(l.var->name, l.var->range);
  tok("in", " in ");
  expr(*l.coll);
  if (l.end) {
    tok("..");
    expr(*l.end);
  }
  std::vector<const Send*> sends;
  for (auto& s : r.sends)
    if (s.loop == index) sends.push_back(&s);
  int open = t_.next_from(w_.last_end());
  int close = t_.match(open);
  if (open < 0 || close < 0) return;  // not reached: the file parsed
  uint32_t a = t_[open].range.begin, b = t_[close].range.end;
  w_.flush_inline_comments(a);
  bool comment_moves_in = w_.comment_pending_before(a);
  open_brace(open);
  if (!comment_moves_in && !w_.comments_between(a, b) && !w_.newline_between(a, b) && sends.size() <= 1) {
    if (!sends.empty()) {
      w_.write(" ");
      send(*sends[0], true);
      w_.write(" ");
    }
    tok("}");
    return;
  }
  w_.open_block();
  for (auto* s : sends) send(*s);
  w_.close_block(t_[close].range.begin);
  w_.consumed(l.range.end);
}

void Printer::send(const Send& s, bool inline_) {
  if (!inline_) w_.begin_item(s.range.begin);
  tok("send", "send ");
  expr(*s.value);
  tok("to", " to ");
  if (s.dest == DestKind::All || !s.dest_expr)
    tok("all");
  else
    expr(*s.dest_expr);
  if (s.guard) {
    tok("if", " if ");
    expr(*s.guard);
  }
  w_.consumed(s.range.end);
}

void Printer::handler(const char* keyword, const Handler& h) {
  w_.begin_item(h.range.begin);
  tok(keyword);
  tok("(");
  for (size_t i = 0; i < h.params.size(); ++i) {
    if (i) tok(",", ", ");
    name(h.params[i]->name, h.params[i]->range);
  }
  tok(")");
  block(h.body, t_.next_from(w_.last_end()));
  w_.consumed(h.range.end);
}

// Progress clauses in the order written. The AST keeps one field per kind,
// so the tokens give the order and the spelling of durations and bounds.
void Printer::progress(const Progress& p) {
  w_.begin_item(p.range.begin);
  tok("progress");
  int i = t_.starting_at(p.range.begin) + 1;
  bool first = true;
  auto in_range = [&](int k) { return k > 0 && k < t_.size() && t_[k].range.begin < p.range.end; };
  while (in_range(i)) {
    if (first) {
      w_.write(" ");
    } else {
      if (!t_.is(i, ",") || !in_range(i + 1)) break;  // not reached: the file parsed
      separator(",", ",", t_[i + 1].range.begin);
      ++i;
    }
    first = false;
    const SourceToken& clause = t_[i];
    tok(clause.text);
    ++i;
    if (clause.text == "go") {
      tok("when", " when ");
      // The clause runs to the next top-level comma.
      int end = i + 1;
      while (in_range(end) && !t_.is(end, ",")) end = t_.match(end) > end ? t_.match(end) + 1 : end + 1;
      uint32_t from = in_range(i + 1) ? t_[i + 1].range.begin : clause.range.end;
      if (p.go_when && start_of(*p.go_when) == from) {
        expr(*p.go_when);
      } else {
        // An earlier `go when` that a later one overrides: kept as written.
        uint32_t to = t_[end - 1].range.end;
        w_.flush_comments(from);
        w_.write(src_.substr(from, to - from));
        w_.consumed(to);
      }
      i = end;
    } else if (clause.text == "timeout" && in_range(i) && !t_.is(i, ",") &&
               (p.timeout || (in_range(i + 1) && !t_.is(i + 1, ",")))) {
      // A computed timeout: the expression, or (overridden by a later
      // clause) its text as written.
      int end = i;
      while (in_range(end) && !t_.is(end, ",")) end = t_.match(end) > end ? t_.match(end) + 1 : end + 1;
      uint32_t from = t_[i].range.begin;
      if (p.timeout && start_of(*p.timeout) == from) {
        w_.write(" ");
        expr(*p.timeout);
      } else {
        uint32_t to = t_[end - 1].range.end;
        w_.flush_comments(from);
        w_.write(" " + std::string(src_.substr(from, to - from)));
        w_.consumed(to);
      }
      i = end;
    } else if ((clause.text == "timeout" || clause.text == "strict" || clause.text == "sync") && in_range(i) &&
               !t_.is(i, ",")) {
      // timeout D, strict [K], sync K: the operand as written.
      tok(t_[i].text, " " + t_[i].text);
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
  if (s.kind == StmtKind::Model) return inline_block(s.body, t_.starting_at(s.range.begin) + 1);
  return s.kind != StmtKind::Block && s.kind != StmtKind::Match;
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
  // A comment that ends the line before the brace comes after it: the
  // block cannot stay on one line then.
  w_.flush_inline_comments(t_[open].range.begin);
  bool comment_moves_in = w_.comment_pending_before(t_[open].range.begin);
  open_brace(open);
  if (!comment_moves_in && inline_block(body, open)) {
    if (!body.empty()) {
      w_.write(" ");
      stmt(*body[0], true);
      w_.write(" ");
    }
    tok("}");
    return;
  }
  w_.open_block();
  for (auto& s : body) stmt(*s, false);
  w_.close_block(t_[close].range.begin);
}

void Printer::stmt(const Stmt& s, bool inline_) {
  if (!inline_) w_.begin_item(s.range.begin);
  switch (s.kind) {
    case StmtKind::LocalVar:
      tok(s.var->mutable_ ? "var" : "let", s.var->mutable_ ? "var " : "let ");
      name(s.var->name, s.var->range);
      initialiser(*s.var);
      break;
    case StmtKind::If: if_chain(s); break;
    case StmtKind::For: {
      tok("for", "for ");
      name(s.var->name, s.var->range);
      tok("in", " in ");
      expr(*s.cond);
      if (s.range_end) {
        tok("..");
        expr(*s.range_end);
      }
      block(s.body, t_.next_from(w_.last_end()));
      break;
    }
    case StmtKind::Decide:
      tok("decide");
      tok("(");
      w_.push_align();
      expr(*s.value, 1);
      w_.pop_align();
      tok(")");
      break;
    case StmtKind::Halt: tok("halt"); break;
    case StmtKind::Go: tok("go"); break;
    case StmtKind::Assign: {
      static const char* ops[] = {"=", "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>="};
      const char* op = ops[static_cast<int>(s.assign_op)];
      expr(*s.target);
      separator(op, std::string(" ") + op, start_of(*s.value));
      expr(*s.value);
      break;
    }
    case StmtKind::ExprStmt: expr(*s.value); break;
    case StmtKind::Block: block(s.body, t_.starting_at(s.range.begin)); break;
    case StmtKind::Match: match_stmt(s); break;
    case StmtKind::Return:
      tok("return", "return ");
      expr(*s.value);
      break;
    case StmtKind::Log: {
      // `log "format", values`: the string as written.
      tok("log", "log ");
      int k = t_.next_from(w_.last_end());
      if (k >= 0) tok(t_[k].text);
      for (auto& a : s.args) {
        separator(",", ",", start_of(*a));
        expr(*a);
      }
      break;
    }
    case StmtKind::Model:
      tok("model");
      block(s.body, t_.next_from(w_.last_end()));
      break;
  }
  w_.consumed(s.range.end);
}

// `A | B` or `_`.
void Printer::arm_pattern(const MatchArm& a) {
  if (a.wildcard) {
    tok("_");
    return;
  }
  for (size_t i = 0; i < a.variants.size(); ++i) {
    if (i) tok("|", " | ");
    name(a.variants[i], a.variant_ranges[i]);
  }
}

// `match e {` then one arm a line: `A | B => { ... }`.
void Printer::match_stmt(const Stmt& s) {
  tok("match", "match ");
  expr(*s.cond);
  int open = t_.next_from(w_.last_end());
  int close = t_.match(open);
  if (open < 0 || close < 0) return;  // not reached: the file parsed
  open_brace(open);
  if (s.arms.empty() && !w_.comments_between(t_[open].range.begin, t_[close].range.end)) {
    tok("}");
    return;
  }
  w_.open_block();
  for (auto& a : s.arms) {
    w_.begin_item(a.range.begin);
    arm_pattern(a);
    tok("=>", " =>");
    block(a.body, t_.next_from(w_.last_end()));
  }
  w_.close_block(t_[close].range.begin);
  w_.consumed(t_[close].range.end);
}

void Printer::if_chain(const Stmt& s) {
  tok("if", "if ");
  expr(*s.cond);
  int open = t_.next_from(w_.last_end());
  block(s.body, open);
  if (!s.has_else) return;
  int else_tok = t_.match(open) + 1;
  // `} else {` stays on one line: a comment after the brace waits for the
  // line's end.
  w_.write(" else");
  w_.consumed(t_[else_tok].range.end);
  if (!s.else_body.empty() && s.else_body[0]->kind == StmtKind::If && t_.is(else_tok + 1, "if")) {
    // `else if`: the chain goes on in the same item.
    w_.write(" ");
    if_chain(*s.else_body[0]);
    return;
  }
  block(s.else_body, else_tok + 1);
}

// ---------------------------------------------------------------- expressions

void Printer::expr(const Expr& e, int owned) {
  int parens = user_parens(e, owned);
  for (int k = 0; k < parens; ++k) {
    tok("(");
    w_.push_align();
  }
  w_.flush_comments(e.range.begin);
  expr_body(e);
  w_.consumed(e.range.end);
  for (int k = 0; k < parens; ++k) {
    w_.pop_align();
    tok(")");
  }
}

// Comma-separated items from `from` on; a call's single argument sits in the
// call's own parentheses.
void Printer::list(const std::vector<ExprPtr>& items, size_t from) {
  for (size_t i = from; i < items.size(); ++i) {
    if (i > from) separator(",", ",", start_of(*items[i]));
    expr(*items[i], items.size() - from == 1 ? 1 : 0);
  }
}

void Printer::expr_body(const Expr& e) {
  switch (e.kind) {
    case ExprKind::IntLit: {
      if (e.duration) {  // `10ms`: as written
        int k = t_.next_from(w_.last_end());
        if (k >= 0) tok(t_[k].text);
        break;
      }
      // -9223372036854775808 is one literal: the minus sign is its own token.
      if (e.int_value < 0) tok("-");
      std::string digits = std::to_string(e.int_value);
      if (e.int_value < 0) digits.erase(0, 1);
      tok(t_.next_from(w_.last_end()) >= 0 ? t_[t_.next_from(w_.last_end())].text : digits, digits);
      break;
    }
    case ExprKind::BoolLit: tok(e.bool_value ? "true" : "false"); break;
    case ExprKind::UnitLit:
      tok("(");
      tok(")");
      break;
    case ExprKind::NoneLit: tok("none"); break;
    case ExprKind::Name: tok(e.name); break;
    case ExprKind::StringLit: {  // a bytes<K> literal: as written (its escapes kept)
      int k = t_.next_from(w_.last_end());
      if (k >= 0) tok(t_[k].text);
      break;
    }
    case ExprKind::Some:
    case ExprKind::Old:
      tok(e.kind == ExprKind::Some ? "some" : "old");
      tok("(");
      w_.push_align();
      expr(*e.args[0], 1);
      w_.pop_align();
      tok(")");
      break;
    case ExprKind::Call:
      tok(e.name);
      tok("(");
      w_.push_align();
      list(e.args, 0);
      w_.pop_align();
      tok(")");
      break;
    case ExprKind::Member:
      expr(*e.args[0]);
      tok(".");
      tok(e.name);
      if (e.has_call_parens) {
        tok("(");
        w_.push_align();
        list(e.args, 1);
        w_.pop_align();
        tok(")");
      }
      break;
    case ExprKind::TupleIndex: {
      expr(*e.args[0]);
      tok(".");
      int k = t_.next_from(w_.last_end());
      tok(k >= 0 ? t_[k].text : "", std::to_string(e.int_value));
      break;
    }
    case ExprKind::Index:
      expr(*e.args[0]);
      tok("[");
      w_.push_align();
      expr(*e.args[1]);
      w_.pop_align();
      tok("]");
      break;
    case ExprKind::Unary:
      tok(unary_op_spelling(e.unary_op));
      expr(*e.args[0]);
      break;
    case ExprKind::Binary: {
      const char* op = binary_op_spelling(e.binary_op);
      expr(*e.args[0]);
      separator(op, std::string(" ") + op, start_of(*e.args[1]));
      expr(*e.args[1]);
      break;
    }
    case ExprKind::Cond:
      expr(*e.args[0]);
      separator("?", " ?", start_of(*e.args[1]));
      expr(*e.args[1]);
      separator(":", " :", start_of(*e.args[2]));
      expr(*e.args[2]);
      break;
    case ExprKind::Quant:
      tok(e.bool_value ? "forall" : "exists", e.bool_value ? "forall " : "exists ");
      for (size_t i = 0; i < e.params.size(); ++i) {
        if (i) tok(",", ", ");
        name(e.params[i]->name, e.params[i]->range);
      }
      separator(":", ":", start_of(*e.args[0]));
      expr(*e.args[0]);
      break;
    case ExprKind::Lambda: {
      // One parameter needs no parentheses.
      bool parens = t_.is(t_.starting_at(e.range.begin), "(");
      if (parens) w_.consumed(t_[t_.starting_at(e.range.begin)].range.end);
      if (e.params.size() != 1) w_.write("(");
      for (size_t i = 0; i < e.params.size(); ++i) {
        if (i) tok(",", ", ");
        name(e.params[i]->name, e.params[i]->range);
      }
      if (parens) {
        int close = t_.match(t_.starting_at(e.range.begin));
        w_.flush_comments(t_[close].range.begin);
        w_.consumed(t_[close].range.end);
      }
      if (e.params.size() != 1) w_.write(")");
      separator("=>", " =>", start_of(*e.args[0]));
      expr(*e.args[0]);
      break;
    }
    case ExprKind::Tuple:
      tok("(");
      w_.push_align();
      list(e.args, 0);
      w_.pop_align();
      tok(")");
      break;
    case ExprKind::ArrayFill:
      tok("[");
      w_.push_align();
      expr(*e.args[0]);
      w_.pop_align();
      tok(";", "; ");
      tok("n");
      tok("]");
      break;
    case ExprKind::Record:
      if (!e.name.empty()) tok(e.name, e.name + " ");
      tok("{", "{ ");
      w_.push_align();
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) separator(",", ",", e.field_ranges[i].begin);
        name(e.field_names[i], e.field_ranges[i]);
        tok(":", ": ");
        expr(*e.args[i]);
      }
      if (t_.is(t_.next_from(w_.last_end()), ",")) w_.consumed(t_[t_.next_from(w_.last_end())].range.end);
      w_.pop_align();
      tok("}", " }");
      break;
    case ExprKind::Match:
      // `match e { A => x, B | C => y }`, breaking after a comma where the
      // source did, aligned after `{ `.
      tok("match", "match ");
      expr(*e.args[0]);
      tok("{", " { ");
      w_.push_align();
      for (size_t i = 0; i < e.arms.size(); ++i) {
        if (i) separator(",", ",", e.arms[i].range.begin);
        arm_pattern(e.arms[i]);
        separator("=>", " =>", start_of(*e.arms[i].value));
        expr(*e.arms[i].value);
      }
      if (t_.is(t_.next_from(w_.last_end()), ",")) w_.consumed(t_[t_.next_from(w_.last_end())].range.end);
      w_.pop_align();
      tok("}", " }");
      break;
    case ExprKind::Error:
      // Not reached: a file with syntax errors is not formatted.
      w_.write(src_.substr(e.range.begin, e.range.end - e.range.begin));
      break;
  }
}

void Printer::type(const TypeExpr& t) {
  switch (t.kind) {
    case TypeExprKind::Int: tok("int"); break;
    case TypeExprKind::Bool: tok("bool"); break;
    case TypeExprKind::Pid: tok("pid"); break;
    case TypeExprKind::PidSet:
      tok("set");
      tok("<");
      tok("pid");
      tok(">");
      break;
    case TypeExprKind::Unit:
      tok("(");
      tok(")");
      break;
    case TypeExprKind::Named: tok(t.name); break;
    case TypeExprKind::Bytes: {  // NAME<K> as written (sema refuses names other than bytes)
      tok(t.name);
      tok("<");
      int k = t_.next_from(w_.last_end());
      if (k >= 0) tok(t_[k].text);
      tok(">");
      break;
    }
    case TypeExprKind::EnumSet:
    case TypeExprKind::RangeSet: {
      // set<E>, set<lo..hi>: the element as written (bounds may be negative).
      tok("set");
      tok("<");
      int close = t_.next_from(w_.last_end());
      while (close >= 0 && close < t_.size() && !t_.is(close, ">")) ++close;
      for (int k = t_.next_from(w_.last_end()); k >= 0 && k < close; k = t_.next_from(w_.last_end())) tok(t_[k].text);
      tok(">");
      break;
    }
    case TypeExprKind::Option:
      type(*t.elems[0]);
      tok("?");
      break;
    case TypeExprKind::Array:
      tok("[");
      type(*t.elems[0]);
      tok(";", "; ");
      tok(t.name);
      tok("]");
      break;
    case TypeExprKind::Tuple:
    case TypeExprKind::Record: {
      bool record = t.kind == TypeExprKind::Record;
      tok(record ? "{" : "(", record ? "{ " : "(");
      w_.push_align();
      for (size_t i = 0; i < t.elems.size(); ++i) {
        if (i) {
          // A record field's name comes before its type: break before it.
          int k = t_.next_from(w_.last_end());
          separator(",", ",", record && k >= 0 && k + 1 < t_.size() ? t_[k + 1].range.begin : t.elems[i]->range.begin);
        }
        if (record) {
          tok(t.field_names[i]);
          tok(":", ": ");
        }
        type(*t.elems[i]);
      }
      if (record && t_.is(t_.next_from(w_.last_end()), ",")) w_.consumed(t_[t_.next_from(w_.last_end())].range.end);
      w_.pop_align();
      tok(record ? "}" : ")", record ? " }" : ")");
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
