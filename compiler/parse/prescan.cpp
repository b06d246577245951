// prescan.cpp: the first pass over a file's tokens, before ANTLR parses
// them: lexical errors are reported once and hidden from the parser, and
// input nested deeper than ParseLimits is refused (ANTLR recurses once per
// level). Also the byte offsets of ANTLR's code-point positions.
#include <cstdio>

#include "parse/builder.h"

namespace psync::parse {

OffsetMap::OffsetMap(std::string_view text) : size_(static_cast<uint32_t>(text.size())) {
  line_starts_.push_back(0);
  for (uint32_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  bool ascii = true;
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return;
  for (uint32_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts_.push_back(i);
  starts_.push_back(static_cast<uint32_t>(text.size()));
}

uint32_t OffsetMap::byte_at(size_t line, size_t column) const {
  if (line == 0 || line > line_starts_.size()) return size_;
  uint32_t b = line_starts_[line - 1];
  size_t cp = starts_.empty() ? b : std::lower_bound(starts_.begin(), starts_.end(), b) - starts_.begin();
  return byte(cp + column);
}

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
    if (type == PSyncLexer::ERROR_CHAR || type == PSyncLexer::UNTERMINATED_COMMENT ||
        type == PSyncLexer::UNTERMINATED_STRING) {
      error_offsets.push_back(range_of(t).begin);
      if (type == PSyncLexer::ERROR_CHAR) {
        diags.error("unexpected-character", range_of(t),
                    "unexpected character " + quote_token_text(t->getText()) + " in program text");
      } else if (type == PSyncLexer::UNTERMINATED_STRING) {
        diags.error("unterminated-string", range_of(t), "unterminated string: '\"' has no closing '\"' on its line");
        // Parsed as the string it starts, so that the error does not cascade.
        if (auto* ct = dynamic_cast<antlr4::CommonToken*>(t)) {
          ct->setType(PSyncLexer::STRING);
          continue;
        }
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
               type == PSyncLexer::STRING || text == "," || text == ":" ) {
      // operands and separators do not nest
    } else if (type == PSyncLexer::VAR || type == PSyncLexer::LET || type == PSyncLexer::SEND ||
               type == PSyncLexer::IF || type == PSyncLexer::DECIDE || type == PSyncLexer::FOR ||
               type == PSyncLexer::ROUND || type == PSyncLexer::INVARIANT || type == PSyncLexer::PROPERTY ||
               type == PSyncLexer::LIVENESS || type == PSyncLexer::ASSUME || type == PSyncLexer::FN || type == PSyncLexer::BYZANTINE ||
               type == PSyncLexer::CONST || type == PSyncLexer::MATCH || type == PSyncLexer::RETURN ||
               type == PSyncLexer::LOG || type == PSyncLexer::MODEL || type == PSyncLexer::ENUM ||
               type == PSyncLexer::OUTPUT || type == PSyncLexer::INPUT || text == ";" || text == "=" ||
               text == "=>") {
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

}  // namespace psync::parse
