// frontend_helpers.h: run the front end on a string and keep what it said.
#pragma once

#include <memory>
#include <string>

#include "sema/frontend.h"

namespace psync::test {

struct Checked {
  std::unique_ptr<Compilation> c = std::make_unique<Compilation>();
  CollectingConsumer diags;
  bool ok = false;

  bool has_error(const std::string& id) const {
    for (auto& d : diags.diagnostics)
      if (d.severity == Severity::Error && d.id == id) return true;
    return false;
  }
  bool has_warning(const std::string& id) const {
    for (auto& d : diags.diagnostics)
      if (d.severity == Severity::Warning && d.id == id) return true;
    return false;
  }
  int errors() const {
    int k = 0;
    for (auto& d : diags.diagnostics) k += d.severity == Severity::Error;
    return k;
  }
};

inline std::unique_ptr<Checked> check_text(const std::string& text) {
  auto r = std::make_unique<Checked>();
  DiagnosticEngine engine(r->c->sources, r->diags);
  FrontendOptions opts;
  opts.import_dirs.push_back(std::string(PSYNC_SOURCE_DIR) + "/stdlib");
  r->ok = run_frontend_on_text(*r->c, "test.psync", text, engine, opts);
  engine.flush();
  return r;
}

/// A protocol skeleton with one closed round; `body` goes in the update.
inline std::string protocol_with_update(const std::string& decls, const std::string& body,
                                        const std::string& send = "send x to all") {
  return "protocol T\ninput init: int\noutput decision: int\nvar x: int = init\n" + decls + "\nround a {\n  " +
         send + "\n  update(mbox) {\n" + body + "\n  }\n}\n";
}

}  // namespace psync::test
