// parse.cpp: runs the generated ANTLR lexer and parser over one file and
// converts the parse tree into the AST of ast/ast.h.
//
// Robustness comes first: the text is checked for valid UTF-8 before ANTLR
// sees it, a token pre-scan bounds the nesting depth (ANTLR recurses once per
// level), lexer error tokens are reported once and hidden from the parser,
// and every syntax error is rephrased through the DiagnosticEngine.
#include "parse/parse.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "PSyncLexer.h"
#include "PSyncParser.h"
#include "antlr4-runtime.h"

namespace psync {

namespace {

using P = PSyncParser;

// Maps ANTLR character indices (code points) back to byte offsets.
class OffsetMap {
 public:
  explicit OffsetMap(std::string_view text) : size_(static_cast<uint32_t>(text.size())) {
    line_starts_.push_back(0);
    for (uint32_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    bool ascii = true;
    for (char c : text)
      if (static_cast<unsigned char>(c) >= 0x80) { ascii = false; break; }
    if (ascii) return;
    for (uint32_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts_.push_back(i);
    starts_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byte(size_t cp) const {
    if (starts_.empty()) return static_cast<uint32_t>(std::min<size_t>(cp, size_));
    return cp < starts_.size() ? starts_[cp] : starts_.back();
  }
  // The byte offset of a 1-based line and 0-based code-point column: the only
  // position a token conjured by ANTLR's error recovery carries.
  uint32_t byte_at(size_t line, size_t column) const {
    if (line == 0 || line > line_starts_.size()) return size_;
    uint32_t b = line_starts_[line - 1];
    size_t cp = starts_.empty() ? b : std::lower_bound(starts_.begin(), starts_.end(), b) - starts_.begin();
    return byte(cp + column);
  }

 private:
  uint32_t size_;
  std::vector<uint32_t> line_starts_;
  std::vector<uint32_t> starts_;  // byte offset of each code point, when not ASCII
};

std::string quote_token_text(std::string text) {
  if (text.size() > 24) text = text.substr(0, 21) + "...";
  std::string out = "'";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A readable name for a token the user wrote.
std::string describe_token(antlr4::Token* t) {
  if (!t || t->getType() == antlr4::Token::EOF) return "end of file";
  switch (t->getType()) {
    case PSyncLexer::ID: return "identifier " + quote_token_text(t->getText());
    case PSyncLexer::INT: return "number " + quote_token_text(t->getText());
    case PSyncLexer::DURATION: return "duration " + quote_token_text(t->getText());
    default: return quote_token_text(t->getText());
  }
}

// A readable description of what the parser expected at an error.
std::string describe_expected(const antlr4::misc::IntervalSet& set, const antlr4::dfa::Vocabulary& vocab) {
  auto has = [&](size_t t) { return set.contains(t); };
  if (has(PSyncLexer::ID) && has(PSyncLexer::INT) && has(PSyncLexer::TRUE)) {
    if (has(PSyncLexer::IF) && has(PSyncLexer::DECIDE)) return "a statement or '}'";
    return "an expression";
  }
  if (has(PSyncLexer::INT_T) && has(PSyncLexer::BOOL_T)) return "a type";
  if (has(PSyncLexer::ROUND) && has(PSyncLexer::VAR) && has(PSyncLexer::INVARIANT))
    return "a declaration (var, let, const, input, output, fn, type, import, round, invariant, property, liveness, assume)";
  if (has(PSyncLexer::SEND) && has(PSyncLexer::UPDATE))
    return "a round item (var, send, update, receive, finish, progress) or '}'";
  if (has(PSyncLexer::TIMEOUT) && has(PSyncLexer::WAIT))
    return "a progress clause (timeout D, go when C, wait, strict, sync K)";
  std::vector<std::string> names;
  for (auto t : set.toList()) {
    if (t == static_cast<ssize_t>(antlr4::Token::EOF)) { names.push_back("end of file"); continue; }
    if (t == PSyncLexer::ID) { names.push_back("an identifier"); continue; }
    if (t == PSyncLexer::INT) { names.push_back("a number"); continue; }
    if (t == PSyncLexer::DURATION) { names.push_back("a duration such as 10ms"); continue; }
    std::string lit = vocab.getLiteralName(t);
    if (lit.empty()) lit = vocab.getDisplayName(t);
    if (lit.empty() || lit[0] != '\'') continue;
    names.push_back(lit);
  }
  if (names.empty()) return "something else";
  if (names.size() > 6) return names[0] + ", " + names[1] + ", " + names[2] + " or another token";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

class SyntaxErrorListener : public antlr4::BaseErrorListener {
 public:
  SyntaxErrorListener(DiagnosticEngine& diags, uint32_t file, const OffsetMap& map, std::string_view text,
                      std::vector<uint32_t>& error_offsets)
      : diags_(diags), file_(file), map_(map), text_(text), error_offsets_(error_offsets) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t,
                   const std::string& antlr_msg, std::exception_ptr) override {
    SourceRange range{file_, 0, 0};
    if (offending) {
      range.begin = map_.byte(offending->getStartIndex());
      range.end = offending->getType() == antlr4::Token::EOF
                      ? range.begin
                      : map_.byte(offending->getStopIndex() + 1);
      if (offending->getType() == antlr4::Token::EOF) {
        // Point just after the last character of the file, on its last line,
        // rather than at an empty line past the end.
        uint32_t at = static_cast<uint32_t>(text_.size());
        while (at > 0 && (text_[at - 1] == '\n' || text_[at - 1] == '\r')) --at;
        range.begin = range.end = at;
      }
    }
    error_offsets_.push_back(range.begin);
    std::string message;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser) {
      antlr4::misc::IntervalSet expected;
      try {
        expected = parser->getExpectedTokens();
      } catch (...) {
      }
      std::string found = describe_token(offending);
      if (antlr_msg.rfind("missing ", 0) == 0) {
        message = "expected " + describe_expected(expected, parser->getVocabulary()) + " before " + found;
      } else if (!expected.isEmpty()) {
        message = "unexpected " + found + "; expected " + describe_expected(expected, parser->getVocabulary());
      } else {
        message = "unexpected " + found;
      }
    } else {
      message = antlr_msg;
    }
    diags_.error("syntax-error", range, message);
  }

 private:
  DiagnosticEngine& diags_;
  uint32_t file_;
  const OffsetMap& map_;
  std::string_view text_;
  std::vector<uint32_t>& error_offsets_;
};

// ANTLR's recovery, except that a keyword that starts a declaration or a
// round item is never deleted as "extraneous": the parser resynchronises
// on it instead, so an error in one declaration does not swallow the next.
class PSyncErrorStrategy : public antlr4::DefaultErrorStrategy {
 protected:
  static bool starts_declaration(size_t t) {
    switch (t) {
      case PSyncLexer::ROUND: case PSyncLexer::VAR: case PSyncLexer::LET: case PSyncLexer::CONST:
      case PSyncLexer::INPUT: case PSyncLexer::OUTPUT: case PSyncLexer::FN: case PSyncLexer::TYPE:
      case PSyncLexer::IMPORT: case PSyncLexer::INVARIANT: case PSyncLexer::PROPERTY:
      case PSyncLexer::LIVENESS: case PSyncLexer::ASSUME: case PSyncLexer::SEND: case PSyncLexer::UPDATE:
      case PSyncLexer::RECEIVE: case PSyncLexer::FINISH: case PSyncLexer::PROGRESS:
        return true;
      default:
        return false;
    }
  }
  antlr4::Token* singleTokenDeletion(antlr4::Parser* recognizer) override {
    if (starts_declaration(recognizer->getCurrentToken()->getType())) return nullptr;
    return DefaultErrorStrategy::singleTokenDeletion(recognizer);
  }
};

// Token pre-scan: reports lexical errors once, hides them from the parser,
// and refuses input nested deeper than the limits (see ParseLimits).
bool prescan_tokens(antlr4::CommonTokenStream& tokens, DiagnosticEngine& diags, uint32_t file,
                    const OffsetMap& map, const ParseLimits& limits, std::vector<uint32_t>& error_offsets) {
  tokens.fill();
  int depth = 0, chain = 0, else_chain = 0;
  bool after_close_brace = false;
  auto range_of = [&](antlr4::Token* t) {
    return SourceRange{file, map.byte(t->getStartIndex()), map.byte(t->getStopIndex() + 1)};
  };
  size_t count = 0;
  for (antlr4::Token* t : tokens.getTokens()) {
    size_t type = t->getType();
    if (++count > static_cast<size_t>(limits.max_tokens)) {
      diags.error("file-too-large", range_of(t),
                  "the file has more than " + std::to_string(limits.max_tokens) +
                      " tokens; a psync program is limited to that size");
      return false;
    }
    if (type == PSyncLexer::ERROR_CHAR || type == PSyncLexer::UNTERMINATED_COMMENT) {
      error_offsets.push_back(range_of(t).begin);
      if (type == PSyncLexer::ERROR_CHAR) {
        diags.error("unexpected-character", range_of(t),
                    "unexpected character " + quote_token_text(t->getText()) + " in program text");
      } else {
        SourceRange r = range_of(t);
        r.end = r.begin + 2;
        diags.error("unterminated-comment", r, "unterminated block comment: '/*' has no matching '*/'");
      }
      if (auto* w = dynamic_cast<antlr4::WritableToken*>(t)) w->setChannel(antlr4::Token::HIDDEN_CHANNEL);
      continue;
    }
    if (t->getChannel() != antlr4::Token::DEFAULT_CHANNEL) continue;
    std::string text = t->getText();  // getText() returns by value: a view would dangle
    if (after_close_brace && type != PSyncLexer::ELSE) else_chain = 0;
    after_close_brace = false;
    if (text == "(" || text == "[" || text == "{") {
      if (++depth > limits.max_bracket_depth) {
        diags.error("nesting-too-deep", range_of(t),
                    "brackets nested more than " + std::to_string(limits.max_bracket_depth) +
                        " levels deep; simplify the expression");
        return false;
      }
      if (text == "{") chain = 0;
    } else if (text == ")" || text == "]" || text == "}") {
      if (depth > 0) --depth;
      if (text == "}") { chain = 0; after_close_brace = true; }
    } else if (type == PSyncLexer::ELSE) {
      if (++else_chain > limits.max_operator_chain) {
        diags.error("nesting-too-deep", range_of(t),
                    "more than " + std::to_string(limits.max_operator_chain) + " 'else if' branches in one chain");
        return false;
      }
    } else if (type == PSyncLexer::ID || type == PSyncLexer::INT || type == PSyncLexer::DURATION ||
               type == PSyncLexer::TRUE || type == PSyncLexer::FALSE || type == PSyncLexer::NONE ||
               text == "," || text == ":" ) {
      // operands and separators do not nest
    } else if (type == PSyncLexer::VAR || type == PSyncLexer::LET || type == PSyncLexer::SEND ||
               type == PSyncLexer::IF || type == PSyncLexer::DECIDE || type == PSyncLexer::FOR ||
               type == PSyncLexer::ROUND || type == PSyncLexer::INVARIANT || type == PSyncLexer::PROPERTY ||
               type == PSyncLexer::LIVENESS || type == PSyncLexer::ASSUME || type == PSyncLexer::FN ||
               type == PSyncLexer::CONST || text == ";" || text == "=") {
      chain = 0;
    } else if (++chain > limits.max_operator_chain) {
      diags.error("expression-too-complex", range_of(t),
                  "expression has more than " + std::to_string(limits.max_operator_chain) +
                      " operators in a row; split it with let bindings");
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ builder

// The labelled-alternative contexts are leaf classes, so an exact typeid
// test replaces dynamic_cast (which dominated the builder's profile).
template <typename T, typename From>
T* as(From* ctx) {
  return ctx && typeid(*ctx) == typeid(T) ? static_cast<T*>(ctx) : nullptr;
}

class AstBuilder {
 public:
  AstBuilder(DiagnosticEngine& diags, uint32_t file, const OffsetMap& map, const ParseLimits& limits,
             const std::vector<uint32_t>& error_offsets)
      : diags_(diags), file_(file), map_(map), limits_(limits), error_offsets_(error_offsets) {}

  std::unique_ptr<Program> build(P::FileContext* ctx) {
    auto prog = std::make_unique<Program>();
    if (auto* h = ctx->header()) {
      if (auto* ph = as<P::ProtocolHeaderContext>(h)) {
        prog->name = id_text(ph->ID());
        prog->name_range = range(ph->ID());
      } else if (auto* mh = as<P::ModuleHeaderContext>(h)) {
        prog->is_module = true;
        prog->name = id_text(mh->ID());
        prog->name_range = range(mh->ID());
      }
    }
    for (auto* d : ctx->decl()) build_decl(d, *prog);
    return prog;
  }

 private:
  // ---------------------------------------------------------- locations
  SourceRange range(antlr4::Token* start, antlr4::Token* stop) const {
    if (!start) return {file_, 0, 0};
    if (start->getStartIndex() == static_cast<size_t>(-1)) {
      // "<missing ID>" from error recovery: no index, only a line and column.
      uint32_t b = map_.byte_at(start->getLine(), start->getCharPositionInLine());
      return {file_, b, b};
    }
    uint32_t b = map_.byte(start->getStartIndex());
    uint32_t e = b;
    if (stop && stop->getStopIndex() != static_cast<size_t>(-1) && stop->getStopIndex() + 1 > start->getStartIndex())
      e = map_.byte(stop->getStopIndex() + 1);
    if (start->getType() == antlr4::Token::EOF) e = b;
    return {file_, b, e};
  }
  SourceRange range(antlr4::ParserRuleContext* ctx) const {
    if (!ctx) return {file_, 0, 0};
    return range(ctx->getStart(), ctx->getStop());
  }
  SourceRange range(antlr4::tree::TerminalNode* node) const {
    if (!node) return {file_, 0, 0};
    return range(node->getSymbol(), node->getSymbol());
  }
  static bool present(antlr4::tree::TerminalNode* node) {
    // ANTLR's recovery conjures tokens like "<missing ID>" with no position.
    return node && node->getSymbol() && node->getSymbol()->getStartIndex() != static_cast<size_t>(-1) &&
           node->getSymbol()->getTokenIndex() != static_cast<size_t>(-1);
  }
  static std::string id_text(antlr4::tree::TerminalNode* node) {
    return present(node) ? node->getText() : std::string("<error>");
  }

  // ---------------------------------------------------------- literals
  std::optional<int64_t> parse_int(antlr4::tree::TerminalNode* node) {
    if (!present(node)) return std::nullopt;
    std::string text = node->getText();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      diags_.error("integer-overflow", range(node),
                   "integer literal " + quote_token_text(text) + " does not fit in 64 bits (maximum 9223372036854775807)");
      return std::nullopt;
    }
    return v;
  }

  std::optional<int64_t> parse_duration_us(antlr4::tree::TerminalNode* node) {
    if (!present(node)) return std::nullopt;
    std::string text = node->getText();
    size_t digits = text.find_first_not_of("0123456789");
    std::string unit = text.substr(digits);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, v);
    int64_t scale = unit == "us" ? 1 : unit == "ms" ? 1000 : 1000000;
    if (ec != std::errc() || v > INT64_MAX / scale) {
      diags_.error("duration-overflow", range(node), "duration " + quote_token_text(text) + " is too large");
      return std::nullopt;
    }
    (void)ptr;
    return v * scale;
  }

  // ---------------------------------------------------------- types
  TypeExprPtr build_type(P::TypeContext* ctx, int depth = 0) {
    auto t = std::make_unique<TypeExpr>();
    t->range = range(ctx);
    if (!ctx || depth > limits_.max_expr_depth) {
      t->kind = TypeExprKind::Named;
      t->name = "<error>";
      return t;
    }
    if (auto* c = as<P::OptionTypeContext>(ctx)) {
      t->kind = TypeExprKind::Option;
      t->elems.push_back(build_type(c->base, depth + 1));
    } else if (as<P::IntTypeContext>(ctx)) {
      t->kind = TypeExprKind::Int;
    } else if (as<P::BoolTypeContext>(ctx)) {
      t->kind = TypeExprKind::Bool;
    } else if (as<P::PidTypeContext>(ctx)) {
      t->kind = TypeExprKind::Pid;
    } else if (as<P::SetTypeContext>(ctx)) {
      t->kind = TypeExprKind::PidSet;
    } else if (auto* c = as<P::TupleTypeContext>(ctx)) {
      t->kind = TypeExprKind::Tuple;
      for (auto* e : c->type()) t->elems.push_back(build_type(e, depth + 1));
    } else if (as<P::UnitTypeContext>(ctx)) {
      t->kind = TypeExprKind::Unit;
    } else if (auto* c = as<P::ArrayTypeContext>(ctx)) {
      t->kind = TypeExprKind::Array;
      t->elems.push_back(build_type(c->type(), depth + 1));
      t->name = id_text(c->ID());
      if (t->name != "n" && present(c->ID()))
        diags_.error("array-size-not-n", range(c->ID()),
                     "array size must be 'n' (arrays are indexed by process id), found '" + t->name + "'");
    } else if (auto* c = as<P::RecordTypeContext>(ctx)) {
      t->kind = TypeExprKind::Record;
      for (auto* f : c->fieldType()) {
        t->field_names.push_back(id_text(f->ID()));
        t->elems.push_back(build_type(f->type(), depth + 1));
      }
    } else if (auto* c = as<P::NamedTypeContext>(ctx)) {
      t->kind = TypeExprKind::Named;
      t->name = id_text(c->ID());
    } else {
      t->kind = TypeExprKind::Named;
      t->name = "<error>";
    }
    return t;
  }

  // ---------------------------------------------------------- expressions
  ExprPtr make(ExprKind kind, SourceRange r) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->range = r;
    return e;
  }
  ExprPtr error_expr(SourceRange r) { return make(ExprKind::Error, r); }

  VarDeclPtr make_var(VarKind kind, antlr4::tree::TerminalNode* id) {
    auto v = std::make_unique<VarDecl>();
    v->kind = kind;
    v->name = id_text(id);
    v->range = range(id);
    return v;
  }

  ExprPtr build_expr(P::ExprContext* ctx, int depth = 0) {
    if (!ctx) return error_expr({file_, 0, 0});
    SourceRange r = range(ctx);
    if (depth > limits_.max_expr_depth) {
      if (!depth_reported_) {
        diags_.error("expression-too-complex", r,
                     "expression nested more than " + std::to_string(limits_.max_expr_depth) + " levels deep");
        depth_reported_ = true;
      }
      return error_expr(r);
    }
    int d = depth + 1;
    if (auto* c = as<P::PrimaryExprContext>(ctx)) return build_primary(c->primary(), d);
    if (auto* c = as<P::MemberExprContext>(ctx)) {
      auto e = make(ExprKind::Member, r);
      e->args.push_back(build_expr(c->expr(), d));
      e->name = c->memberName() ? c->memberName()->getText() : "<error>";
      e->has_call_parens = c->call != nullptr;
      if (c->args())
        for (auto* a : c->args()->expr()) e->args.push_back(build_expr(a, d));
      return e;
    }
    if (auto* c = as<P::TupleIndexExprContext>(ctx)) {
      auto e = make(ExprKind::TupleIndex, r);
      e->args.push_back(build_expr(c->expr(), d));
      e->int_value = parse_int(c->INT()).value_or(0);
      return e;
    }
    if (auto* c = as<P::IndexExprContext>(ctx)) {
      auto e = make(ExprKind::Index, r);
      e->args.push_back(build_expr(c->expr(0), d));
      e->args.push_back(build_expr(c->expr(1), d));
      return e;
    }
    if (auto* c = as<P::UnaryExprContext>(ctx)) {
      // Fold a minus sign into a literal so that -9223372036854775808 works.
      if (c->op && c->op->getText() == "-") {
        if (auto* pe = as<P::PrimaryExprContext>(c->expr())) {
          if (auto* lit = as<P::IntLitContext>(pe->primary())) {
            if (present(lit->INT()) && lit->INT()->getText() == "9223372036854775808") {
              auto e = make(ExprKind::IntLit, r);
              e->int_value = INT64_MIN;
              return e;
            }
          }
        }
      }
      auto e = make(ExprKind::Unary, r);
      e->unary_op = c->op && c->op->getText() == "!" ? UnaryOp::Not : UnaryOp::Neg;
      e->args.push_back(build_expr(c->expr(), d));
      return e;
    }
    if (auto* c = as<P::MulExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
    if (auto* c = as<P::AddExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
    if (auto* c = as<P::RelExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
    if (auto* c = as<P::EqExprContext>(ctx)) return binary(c->expr(0), c->op, c->expr(1), r, d);
    if (auto* c = as<P::AndExprContext>(ctx)) return binary_op(BinaryOp::And, c->expr(0), c->expr(1), r, d);
    if (auto* c = as<P::OrExprContext>(ctx)) return binary_op(BinaryOp::Or, c->expr(0), c->expr(1), r, d);
    if (auto* c = as<P::ImpliesExprContext>(ctx))
      return binary_op(BinaryOp::Implies, c->expr(0), c->expr(1), r, d);
    if (auto* c = as<P::CondExprContext>(ctx)) {
      auto e = make(ExprKind::Cond, r);
      for (size_t i = 0; i < 3; ++i) e->args.push_back(build_expr(c->expr(i), d));
      return e;
    }
    if (auto* c = as<P::QuantExprContext>(ctx)) {
      auto e = make(ExprKind::Quant, r);
      e->bool_value = c->quant && c->quant->getType() == PSyncLexer::FORALL;
      for (auto* id : c->ID()) e->params.push_back(make_var(VarKind::QuantVar, id));
      e->args.push_back(build_expr(c->expr(), d));
      return e;
    }
    if (auto* c = as<P::LambdaExprContext>(ctx)) {
      auto e = make(ExprKind::Lambda, r);
      if (auto* s = as<P::SingleLambdaParamContext>(c->lambdaParams())) {
        e->params.push_back(make_var(VarKind::LambdaParam, s->ID()));
      } else if (auto* m = as<P::MultiLambdaParamsContext>(c->lambdaParams())) {
        for (auto* id : m->ID()) e->params.push_back(make_var(VarKind::LambdaParam, id));
      }
      e->args.push_back(build_expr(c->expr(), d));
      return e;
    }
    return error_expr(r);
  }

  ExprPtr binary(P::ExprContext* l, antlr4::Token* op, P::ExprContext* rhs, SourceRange r, int d) {
    static const std::pair<const char*, BinaryOp> ops[] = {
        {"*", BinaryOp::Mul}, {"/", BinaryOp::Div}, {"%", BinaryOp::Mod}, {"+", BinaryOp::Add},
        {"-", BinaryOp::Sub}, {"<", BinaryOp::Lt},  {"<=", BinaryOp::Le}, {">", BinaryOp::Gt},
        {">=", BinaryOp::Ge}, {"==", BinaryOp::Eq}, {"!=", BinaryOp::Ne}};
    BinaryOp bop = BinaryOp::Add;
    std::string text = op ? op->getText() : "+";
    for (auto& [s, o] : ops)
      if (text == s) bop = o;
    return binary_op(bop, l, rhs, r, d);
  }

  ExprPtr binary_op(BinaryOp op, P::ExprContext* l, P::ExprContext* rhs, SourceRange r, int d) {
    auto e = make(ExprKind::Binary, r);
    e->binary_op = op;
    e->args.push_back(build_expr(l, d));
    e->args.push_back(build_expr(rhs, d));
    return e;
  }

  ExprPtr build_primary(P::PrimaryContext* ctx, int d) {
    if (!ctx) return error_expr({file_, 0, 0});
    SourceRange r = range(ctx);
    if (auto* c = as<P::IntLitContext>(ctx)) {
      auto v = parse_int(c->INT());
      if (!v) return error_expr(r);
      auto e = make(ExprKind::IntLit, r);
      e->int_value = *v;
      return e;
    }
    if (auto* c = as<P::BoolLitContext>(ctx)) {
      auto e = make(ExprKind::BoolLit, r);
      e->bool_value = c->TRUE() != nullptr;
      return e;
    }
    if (as<P::NoneLitContext>(ctx)) return make(ExprKind::NoneLit, r);
    if (auto* c = as<P::SomeLitContext>(ctx)) {
      auto e = make(ExprKind::Some, r);
      e->args.push_back(build_expr(c->expr(), d));
      return e;
    }
    if (auto* c = as<P::OldExprContext>(ctx)) {
      auto e = make(ExprKind::Old, r);
      e->args.push_back(build_expr(c->expr(), d));
      return e;
    }
    if (auto* c = as<P::CallExprContext>(ctx)) {
      auto e = make(ExprKind::Call, r);
      e->name = c->callee ? c->callee->getText() : "<error>";
      if (c->args())
        for (auto* a : c->args()->expr()) e->args.push_back(build_expr(a, d));
      return e;
    }
    if (auto* c = as<P::NameExprContext>(ctx)) {
      auto e = make(ExprKind::Name, r);
      e->name = id_text(c->ID());
      return e;
    }
    if (as<P::UnitLitContext>(ctx)) return make(ExprKind::UnitLit, r);
    if (auto* c = as<P::ParenExprContext>(ctx)) {
      // One alternative for (e) and (a, b, ...): ANTLR then needs no
      // lookahead to the closing parenthesis at every nesting level.
      if (c->expr().size() == 1) return build_expr(c->expr(0), d);
      auto e = make(ExprKind::Tuple, r);
      for (auto* x : c->expr()) e->args.push_back(build_expr(x, d));
      return e;
    }
    if (auto* c = as<P::ArrayLitContext>(ctx)) {
      auto e = make(ExprKind::ArrayFill, r);
      e->args.push_back(build_expr(c->expr(), d));
      if (present(c->ID()) && c->ID()->getText() != "n")
        diags_.error("array-size-not-n", range(c->ID()),
                     "array size must be 'n' (arrays are indexed by process id), found '" + c->ID()->getText() + "'");
      return e;
    }
    if (auto* c = as<P::RecordLitContext>(ctx)) {
      auto e = make(ExprKind::Record, r);
      if (present(c->ID())) e->name = c->ID()->getText();
      for (auto* f : c->fieldInit()) {
        e->field_names.push_back(id_text(f->ID()));
        e->field_ranges.push_back(range(f->ID()));
        e->args.push_back(build_expr(f->expr(), d));
      }
      return e;
    }
    return error_expr(r);
  }

  // ---------------------------------------------------------- statements
  std::vector<StmtPtr> build_block(P::BlockContext* ctx, int depth) {
    std::vector<StmtPtr> out;
    if (!ctx) return out;
    for (auto* s : ctx->stmt())
      if (auto st = build_stmt(s, depth + 1)) out.push_back(std::move(st));
    return out;
  }

  StmtPtr make_stmt(StmtKind kind, SourceRange r) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->range = r;
    return s;
  }

  StmtPtr build_if(P::IfChainContext* c, int depth) {
    auto s = make_stmt(StmtKind::If, range(c));
    s->cond = build_expr(c->expr(), depth);
    s->body = build_block(c->block(0), depth);
    if (c->ELSE()) {
      s->has_else = true;
      if (c->ifChain()) {
        if (depth > limits_.max_expr_depth) return s;
        s->else_body.push_back(build_if(c->ifChain(), depth + 1));
      } else {
        s->else_body = build_block(c->block(1), depth);
      }
    }
    return s;
  }

  StmtPtr build_stmt(P::StmtContext* ctx, int depth) {
    if (!ctx) return nullptr;
    SourceRange r = range(ctx);
    if (auto* c = as<P::LocalVarStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::LocalVar, r);
      s->var = make_var(VarKind::Local, c->ID());
      s->var->mutable_ = true;
      if (c->type()) s->var->type_expr = build_type(c->type());
      s->var->init = build_expr(c->expr(), depth);
      return s;
    }
    if (auto* c = as<P::LocalLetStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::LocalVar, r);
      s->var = make_var(VarKind::Local, c->ID());
      if (c->type()) s->var->type_expr = build_type(c->type());
      s->var->init = build_expr(c->expr(), depth);
      return s;
    }
    if (auto* c = as<P::IfStmtContext>(ctx)) return build_if(c->ifChain(), depth);
    if (auto* c = as<P::ForStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::For, r);
      s->var = make_var(VarKind::LoopVar, c->ID());
      s->cond = build_expr(c->expr(0), depth);
      if (c->DOTDOT()) s->range_end = build_expr(c->expr(1), depth);
      s->body = build_block(c->block(), depth);
      return s;
    }
    if (auto* c = as<P::DecideStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::Decide, r);
      s->value = build_expr(c->expr(), depth);
      return s;
    }
    if (as<P::HaltStmtContext>(ctx)) return make_stmt(StmtKind::Halt, r);
    if (as<P::GoStmtContext>(ctx)) return make_stmt(StmtKind::Go, r);
    if (auto* c = as<P::AssignStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::Assign, r);
      std::string op = c->op ? c->op->getText() : "=";
      s->assign_op = op == "+=" ? AssignOp::Add : op == "-=" ? AssignOp::Sub : op == "*=" ? AssignOp::Mul : AssignOp::Set;
      s->target = build_expr(c->expr(0), depth);
      s->value = build_expr(c->expr(1), depth);
      return s;
    }
    if (auto* c = as<P::ExprStmtContext>(ctx)) {
      auto s = make_stmt(StmtKind::ExprStmt, r);
      s->value = build_expr(c->expr(), depth);
      return s;
    }
    return nullptr;  // empty statement
  }

  // ---------------------------------------------------------- declarations
  VarDeclPtr top_var(VarKind kind, antlr4::tree::TerminalNode* id, P::TypeContext* type, P::ExprContext* init) {
    auto v = make_var(kind, id);
    if (type) v->type_expr = build_type(type);
    if (init) v->init = build_expr(init);
    v->mutable_ = kind == VarKind::Var || kind == VarKind::RoundVar;
    return v;
  }

  void build_decl(P::DeclContext* ctx, Program& prog) {
    size_t vars_before = prog.consts.size() + prog.inputs.size() + prog.outputs.size() + prog.vars.size() + prog.lets.size();
    size_t fns_before = prog.fns.size(), rounds_before = prog.rounds.size(), specs_before = prog.specs.size();
    build_decl_inner(ctx, prog);
    if (!poisoned(ctx)) return;
    size_t vars_after = prog.consts.size() + prog.inputs.size() + prog.outputs.size() + prog.vars.size() + prog.lets.size();
    if (vars_after > vars_before) {
      for (auto* list : {&prog.consts, &prog.inputs, &prog.outputs, &prog.vars, &prog.lets})
        if (!list->empty() && list->back()->range.begin >= range(ctx).begin) list->back()->poisoned = true;
    }
    if (prog.fns.size() > fns_before) prog.fns.back()->poisoned = true;
    if (prog.rounds.size() > rounds_before) prog.rounds.back().poisoned = true;
    if (prog.specs.size() > specs_before) prog.specs.back().poisoned = true;
  }

  void build_decl_inner(P::DeclContext* ctx, Program& prog) {
    if (auto* c = as<P::ImportDeclContext>(ctx)) {
      prog.imports.push_back({id_text(c->ID()), range(ctx)});
    } else if (auto* c = as<P::ConstDeclContext>(ctx)) {
      prog.consts.push_back(top_var(VarKind::Const, c->ID(), c->type(), c->expr()));
    } else if (auto* c = as<P::InputDeclContext>(ctx)) {
      prog.inputs.push_back(top_var(VarKind::Input, c->ID(), c->type(), nullptr));
    } else if (auto* c = as<P::OutputDeclContext>(ctx)) {
      prog.outputs.push_back(top_var(VarKind::Output, c->ID(), c->type(), nullptr));
    } else if (auto* c = as<P::VarDeclContext>(ctx)) {
      prog.vars.push_back(top_var(VarKind::Var, c->ID(), c->type(), c->expr()));
    } else if (auto* c = as<P::LetDeclContext>(ctx)) {
      prog.lets.push_back(top_var(VarKind::Let, c->ID(), c->type(), c->expr()));
    } else if (auto* c = as<P::TypeDeclContext>(ctx)) {
      prog.types.push_back({id_text(c->ID()), range(c->ID()), build_type(c->type()), nullptr});
    } else if (auto* c = as<P::FnDeclContext>(ctx)) {
      auto fn = std::make_unique<FnDecl>();
      fn->name = id_text(c->ID());
      fn->range = range(ctx);
      fn->name_range = range(c->ID());
      if (c->params())
        for (auto* p : c->params()->param()) {
          auto v = make_var(VarKind::Param, p->ID());
          v->type_expr = build_type(p->type());
          fn->params.push_back(std::move(v));
        }
      fn->result_type_expr = build_type(c->type());
      fn->body = build_expr(c->expr());
      prog.fns.push_back(std::move(fn));
    } else if (auto* c = as<P::RoundDeclContext>(ctx)) {
      prog.rounds.push_back(build_round(c, static_cast<int>(prog.rounds.size())));
    } else if (auto* c = as<P::InvariantDeclContext>(ctx)) {
      prog.specs.push_back(spec(SpecKind::Invariant, c->ID(), ctx, nullptr, c->expr()));
    } else if (auto* c = as<P::PropertyDeclContext>(ctx)) {
      prog.specs.push_back(spec(SpecKind::Property, c->ID(), ctx, nullptr, c->expr()));
    } else if (auto* c = as<P::AssumeDeclContext>(ctx)) {
      prog.specs.push_back(spec(SpecKind::Assume, c->ID(), ctx, nullptr, c->expr()));
    } else if (auto* c = as<P::LivenessDeclContext>(ctx)) {
      Spec s = spec(SpecKind::Liveness, c->ID(), ctx, c->expr(0), c->expr(1));
      s.after_rounds = parse_int(c->INT()).value_or(0);
      if (present(c->INT()) && s.after_rounds <= 0)
        diags_.error("bad-liveness-bound", range(c->INT()), "liveness needs at least 1 round after which the goal holds");
      prog.specs.push_back(std::move(s));
    }
  }

  Spec spec(SpecKind kind, antlr4::tree::TerminalNode* id, antlr4::ParserRuleContext* ctx, P::ExprContext* pred,
            P::ExprContext* body) {
    Spec s;
    s.kind = kind;
    s.name = id_text(id);
    s.range = range(ctx);
    s.name_range = range(id);
    if (pred) s.pred = build_expr(pred);
    s.body = build_expr(body);
    return s;
  }

  Round build_round(P::RoundDeclContext* c, int index) {
    Round rd;
    rd.name = id_text(c->ID());
    rd.range = range(c);
    rd.name_range = range(c->ID());
    rd.index = index;
    for (auto* item : c->roundItem()) {
      SourceRange r = range(item);
      if (auto* v = as<P::RoundVarContext>(item)) {
        rd.vars.push_back(top_var(VarKind::RoundVar, v->ID(), v->type(), v->expr()));
      } else if (auto* s = as<P::SendItemContext>(item)) {
        Send send;
        send.range = r;
        send.value = build_expr(s->expr(0));
        if (auto* de = as<P::DestExprContext>(s->dest())) {
          send.dest = DestKind::Expr;
          send.dest_expr = build_expr(de->expr());
        }
        if (s->IF()) send.guard = build_expr(s->expr(1));
        rd.sends.push_back(std::move(send));
      } else if (auto* u = as<P::UpdateItemContext>(item)) {
        if (rd.update) duplicate_item("update", r);
        Handler h{r, {}, build_block(u->block(), 0)};
        h.params.push_back(make_var(VarKind::Mailbox, u->ID()));
        rd.update = std::move(h);
      } else if (auto* rc = as<P::ReceiveItemContext>(item)) {
        if (rd.receive) duplicate_item("receive", r);
        Handler h{r, {}, build_block(rc->block(), 0)};
        h.params.push_back(make_var(VarKind::Sender, rc->ID(0)));
        h.params.push_back(make_var(VarKind::Message, rc->ID(1)));
        rd.receive = std::move(h);
      } else if (auto* f = as<P::FinishItemContext>(item)) {
        if (rd.finish) duplicate_item("finish", r);
        Handler h{r, {}, build_block(f->block(), 0)};
        h.params.push_back(make_var(VarKind::TimedOut, f->ID()));
        rd.finish = std::move(h);
      } else if (auto* p = as<P::ProgressItemContext>(item)) {
        if (rd.progress.range.valid()) duplicate_item("progress", r);
        rd.progress.range = r;
        for (auto* clause : p->progressClause()) build_progress(clause, rd.progress);
      }
    }
    return rd;
  }

  void duplicate_item(const char* what, SourceRange r) {
    diags_.error("duplicate-round-item", r, std::string("a round has at most one '") + what + "'");
  }

  void build_progress(P::ProgressClauseContext* ctx, Progress& pr) {
    if (auto* c = as<P::TimeoutClauseContext>(ctx)) {
      pr.timeout_us = parse_duration_us(c->DURATION());
    } else if (auto* c = as<P::GoWhenClauseContext>(ctx)) {
      pr.go_when = build_expr(c->expr());
    } else if (as<P::WaitClauseContext>(ctx)) {
      pr.wait = true;
    } else if (auto* c = as<P::StrictClauseContext>(ctx)) {
      pr.strict = true;
      if (c->INT()) pr.strict_bound = parse_int(c->INT());
    } else if (auto* c = as<P::SyncClauseContext>(ctx)) {
      pr.sync = parse_int(c->INT());
    }
  }

  DiagnosticEngine& diags_;
  uint32_t file_;
  const OffsetMap& map_;
  const ParseLimits& limits_;
  bool depth_reported_ = false;
  const std::vector<uint32_t>& error_offsets_;

  // A declaration is poisoned when a syntax error lies inside it or right
  // after it (where a missing token was expected): sema then declares it
  // but does not check it, so one typo does not cascade.
  bool poisoned(antlr4::ParserRuleContext* ctx) const {
    SourceRange r = range(ctx);
    if (ctx && ctx->exception) return true;
    for (uint32_t off : error_offsets_)
      if (off > r.begin && off <= r.end + 1) return true;
    return false;
  }
};

}  // namespace

std::unique_ptr<Program> parse_file(uint32_t file_id, const SourceManager& sources, DiagnosticEngine& diags,
                                    const ParseLimits& limits) {
  const SourceFile& file = sources.file(file_id);
  const std::string& text = file.text();
  size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    uint32_t b = static_cast<uint32_t>(bad);
    diags.error("invalid-utf8", {file_id, b, b + 1},
                "source file is not valid UTF-8 (bad byte sequence here); save it as UTF-8");
    return std::make_unique<Program>();
  }
  OffsetMap map(text);
  antlr4::ANTLRInputStream input(text);
  PSyncLexer lexer(&input);
  lexer.removeErrorListeners();  // the ERROR_CHAR token makes lexing total
  antlr4::CommonTokenStream tokens(&lexer);
  std::vector<uint32_t> error_offsets;
  if (!prescan_tokens(tokens, diags, file_id, map, limits, error_offsets)) return std::make_unique<Program>();

  // Two-stage parsing: the fast SLL prediction first, bailing out at the
  // first error; only then the full LL prediction with error recovery and
  // diagnostics (the usual ANTLR 4 recipe; SLL suffices for valid input).
  PSyncParser parser(&tokens);
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  PSyncParser::FileContext* tree = nullptr;
  try {
    tree = parser.file();
  } catch (const antlr4::ParseCancellationException&) {
    tree = nullptr;
  }
  SyntaxErrorListener listener(diags, file_id, map, text, error_offsets);
  if (!tree) {
    tokens.seek(0);
    parser.reset();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<PSyncErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    tree = parser.file();
  }
  AstBuilder builder(diags, file_id, map, limits, error_offsets);
  auto program = builder.build(tree);
  if (program->name.empty() && !diags.has_errors()) {
    diags.error("missing-header", {file_id, 0, 0}, "a file must start with 'protocol Name' or 'module Name'");
  }
  return program;
}

}  // namespace psync
