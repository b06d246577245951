// parse.cpp: parse_file, the entry point of the parser stage: the UTF-8
// check, the generated lexer, the token pre-scan (prescan.cpp), the generated
// parser in two stages, and the AstBuilder (build_decls.cpp, build_exprs.cpp).
// This file also turns ANTLR's syntax errors into sentences.
#include "parse/builder.h"

namespace psync {

namespace parse {

namespace {

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
    if (has(PSyncLexer::IF) && has(PSyncLexer::RETURN)) return "a statement or '}'";
    return "an expression";
  }
  if (has(PSyncLexer::INT_T) && has(PSyncLexer::BOOL_T)) return "a type";
  if (has(PSyncLexer::PID_T) && has(PSyncLexer::ID) && has(PSyncLexer::INT))
    return "a set's element type: 'pid', an enum, or an int range such as 0..16";
  if (has(PSyncLexer::ROUND) && has(PSyncLexer::VAR) && has(PSyncLexer::INVARIANT))
    return "a declaration (var, let, const, input, output, fn, type, enum, import, round, invariant, property, "
           "liveness, assume)";
  if (has(PSyncLexer::SEND) && has(PSyncLexer::UPDATE))
    return "a round item (var, send, for, update, receive, finish, progress) or '}'";
  if (has(PSyncLexer::TIMEOUT) && has(PSyncLexer::WAIT))
    return "a progress clause (timeout D, go when C, wait, strict, sync K)";
  std::vector<std::string> names;
  for (auto t : set.toList()) {
    if (t == static_cast<ssize_t>(antlr4::Token::EOF)) { names.push_back("end of file"); continue; }
    if (t == PSyncLexer::ID) { names.push_back("an identifier"); continue; }
    if (t == PSyncLexer::INT) { names.push_back("a number"); continue; }
    if (t == PSyncLexer::DURATION) { names.push_back("a duration such as 10ms"); continue; }
    if (t == PSyncLexer::STRING) { names.push_back("a string"); continue; }
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
      case PSyncLexer::LIVENESS: case PSyncLexer::ASSUME: case PSyncLexer::BYZANTINE: case PSyncLexer::SEND: case PSyncLexer::UPDATE:
      case PSyncLexer::RECEIVE: case PSyncLexer::FINISH: case PSyncLexer::PROGRESS: case PSyncLexer::ENUM:
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

}  // namespace

}  // namespace parse

std::unique_ptr<Program> parse_file(uint32_t file_id, const SourceManager& sources, DiagnosticEngine& diags,
                                    const ParseLimits& limits) {
  using namespace parse;
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
