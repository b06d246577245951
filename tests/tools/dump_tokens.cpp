// dump_tokens.cpp: prints the tokens of psync files as the real lexer
// (grammar/PSync.g4, parse/tokens.h) sees them, one JSON object per line,
// for tm_crosscheck.js, which compares the TextMate grammar with it.
// usage: psync-dump-tokens FILE...
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "parse/tokens.h"

int main(int argc, char** argv) {
  const char* kinds[] = {"keyword", "identifier", "integer", "duration", "punctuation",
                         "comment", "doc-comment", "other", "error"};
  for (int i = 1; i < argc; ++i) {
    psync::SourceManager sources;
    std::string err;
    uint32_t id = sources.load(argv[i], err);
    if (!id) {
      std::fprintf(stderr, "psync-dump-tokens: cannot open '%s': %s\n", argv[i], err.c_str());
      return 2;
    }
    for (const auto& t : psync::lex_file(id, sources)) {
      nlohmann::json line = {{"file", argv[i]}, {"kind", kinds[static_cast<int>(t.kind)]},
                             {"begin", t.range.begin}, {"end", t.range.end}, {"text", t.text}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
  }
  return 0;
}
