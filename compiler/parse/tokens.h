// tokens.h: a file's tokens as the editor tools see them (psyncc fmt, the
// language server): the code tokens and the comments that the parser never
// sees (the ANTLR lexer puts them on the hidden channel), in file order,
// with byte ranges. White space is left out. The lexer is the parser's own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "source/source.h"

namespace psync {

enum class TokenKind {
  Keyword,      ///< a word the grammar reserves: protocol, round, if, int...
  Identifier,
  Integer,
  Duration,     ///< 10ms, 500us, 2s
  Punctuation,  ///< operators and brackets: ( ) { } == && ...
  Comment,      ///< // ... or /* ... */
  DocComment,   ///< /// ...
  Other,        ///< any other token of the grammar (a literal kind added later)
  Error,        ///< a character no token accepts, an unterminated comment
};

struct SourceToken {
  TokenKind kind = TokenKind::Error;
  SourceRange range;
  std::string text;
  bool is_comment() const { return kind == TokenKind::Comment || kind == TokenKind::DocComment; }
};

/// Lexes one file already added to the SourceManager. Never fails: an
/// invalid UTF-8 file gives no tokens, and bad characters are Error tokens.
std::vector<SourceToken> lex_file(uint32_t file_id, const SourceManager& sources);

}  // namespace psync
