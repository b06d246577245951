// diagnostics.h: one emitter for every message psyncc prints.
// Producers (lexer, parser, sema, codegen, driver) call DiagnosticEngine;
// a DiagnosticConsumer decides where the formatted result goes (the
// console, a string in a unit test).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "source/source.h"

namespace psync {

enum class Severity { Error, Warning, Note };

/// A single diagnostic. `id` is a stable kebab-case name, printed after the
/// message in brackets, that tests and users can grep for.
struct Diagnostic {
  Severity severity = Severity::Error;
  std::string id;
  SourceRange range;
  std::string message;
  std::vector<Diagnostic> notes;
};

class DiagnosticConsumer {
 public:
  virtual ~DiagnosticConsumer() = default;
  virtual void consume(const Diagnostic& d, const std::string& formatted) = 0;
};

/// Writes formatted diagnostics to stderr.
class StreamConsumer : public DiagnosticConsumer {
 public:
  void consume(const Diagnostic& d, const std::string& formatted) override;
};

/// Keeps every diagnostic, for tests.
class CollectingConsumer : public DiagnosticConsumer {
 public:
  void consume(const Diagnostic& d, const std::string& formatted) override {
    diagnostics.push_back(d);
    text += formatted;
  }
  std::vector<Diagnostic> diagnostics;
  std::string text;
};

class DiagnosticEngine {
 public:
  DiagnosticEngine(const SourceManager& sources, DiagnosticConsumer& consumer)
      : sources_(sources), consumer_(consumer) {}
  ~DiagnosticEngine() { flush(); }
  DiagnosticEngine(const DiagnosticEngine&) = delete;
  DiagnosticEngine& operator=(const DiagnosticEngine&) = delete;

  /// After this many errors the engine reports once that it stops, then
  /// drops further diagnostics (binary garbage would otherwise print MBs).
  static constexpr int kMaxErrors = 50;
  static constexpr int kMaxWarnings = 50;

  void report(Diagnostic d);
  void error(std::string id, SourceRange range, std::string message);
  void warning(std::string id, SourceRange range, std::string message);
  /// Attaches a note to the most recent diagnostic.
  void note(SourceRange range, std::string message);

  int error_count() const { return errors_; }
  int warning_count() const { return warnings_; }
  bool has_errors() const { return errors_ > 0; }
  const SourceManager& sources() const { return sources_; }

  /// file:line:col: severity: message [id], the source line, a caret line.
  std::string format(const Diagnostic& d) const;
  /// Emits what is pending (a diagnostic waits for its notes).
  void flush();

 private:
  const SourceManager& sources_;
  DiagnosticConsumer& consumer_;
  std::vector<Diagnostic> pending_;
  int errors_ = 0;
  int warnings_ = 0;
  bool capped_ = false;
};

}  // namespace psync
