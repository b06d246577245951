// tokens.cpp: lex_file, the token list of the editor tools. It runs the
// generated lexer (the parser's own) and keeps the hidden-channel comments
// that parse_file drops, so that psyncc fmt can put them back.
#include "parse/tokens.h"

#include <cctype>

#include "parse/builder.h"

namespace psync {

std::vector<SourceToken> lex_file(uint32_t file_id, const SourceManager& sources) {
  using parse::OffsetMap;
  std::vector<SourceToken> out;
  const std::string& text = sources.file(file_id).text();
  if (find_invalid_utf8(text) != std::string_view::npos) return out;
  OffsetMap map(text);
  antlr4::ANTLRInputStream input(text);
  PSyncLexer lexer(&input);
  lexer.removeErrorListeners();  // ERROR_CHAR makes lexing total
  const antlr4::dfa::Vocabulary& vocab = lexer.getVocabulary();
  for (auto token = lexer.nextToken(); token->getType() != antlr4::Token::EOF; token = lexer.nextToken()) {
    size_t type = token->getType();
    if (type == PSyncLexer::WS) continue;
    SourceToken t;
    t.range = {file_id, map.byte(token->getStartIndex()), map.byte(token->getStopIndex() + 1)};
    t.text = text.substr(t.range.begin, t.range.end - t.range.begin);
    switch (type) {
      case PSyncLexer::DOC_COMMENT: t.kind = TokenKind::DocComment; break;
      case PSyncLexer::LINE_COMMENT: case PSyncLexer::BLOCK_COMMENT: t.kind = TokenKind::Comment; break;
      case PSyncLexer::ERROR_CHAR: case PSyncLexer::UNTERMINATED_COMMENT: t.kind = TokenKind::Error; break;
      case PSyncLexer::ID: t.kind = TokenKind::Identifier; break;
      case PSyncLexer::INT: t.kind = TokenKind::Integer; break;
      case PSyncLexer::DURATION: t.kind = TokenKind::Duration; break;
      default: {
        // Tokens spelled by a literal in the grammar: a word is a keyword,
        // anything else punctuation. Other kinds (a string literal, say)
        // have no literal spelling.
        std::string lit = vocab.getLiteralName(type);
        if (lit.size() > 2 && lit.front() == '\'')
          t.kind = std::isalpha(static_cast<unsigned char>(lit[1])) ? TokenKind::Keyword : TokenKind::Punctuation;
        else
          t.kind = TokenKind::Other;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace psync
