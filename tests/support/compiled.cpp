// compiled.cpp: the front end and the JIT behind compiled.h, with a cache so
// that each file (or text) is compiled once per test process.
#include "compiled.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "codegen/codegen.h"
#include "sema/frontend.h"

namespace psync::test {

std::string source_file(const std::string& relative) { return std::string(PSYNC_SOURCE_DIR) + "/" + relative; }

namespace {

// Compiles once per key: `frontend` runs the front end into `c`, and `label`
// names the source in errors.
const psync_protocol_desc& compile_once(const std::string& key, const std::string& label,
                                        const std::function<bool(Compilation&, DiagnosticEngine&,
                                                                 const FrontendOptions&)>& frontend) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<JitProtocol>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(key); it != cache.end()) return *it->second->descriptor();

  Compilation c;
  CollectingConsumer diags;
  DiagnosticEngine engine(c.sources, diags);
  FrontendOptions options;
  options.import_dirs.push_back(source_file("stdlib"));
  const bool ok = frontend(c, engine, options);
  engine.flush();
  if (!ok) {
    std::string text = diags.text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    throw std::runtime_error(label + " does not compile:\n" + text);
  }
  std::string error;
  std::unique_ptr<JitProtocol> jit = jit_compile(*c.program, c.sources, 2, error);
  if (!jit) throw std::runtime_error(label + ": JIT compilation failed: " + error);
  return *cache.emplace(key, std::move(jit)).first->second->descriptor();
}

}  // namespace

const psync_protocol_desc& compiled(const std::string& path) {
  const std::string file = !path.empty() && path[0] == '/' ? path : source_file(path);
  // Keys of files are absolute paths; those of texts start with "text:".
  return compile_once(file, file, [&](Compilation& c, DiagnosticEngine& d, const FrontendOptions& o) {
    return run_frontend(c, file, d, o);
  });
}

const psync_protocol_desc& compiled_text(const std::string& name, const std::string& text) {
  return compile_once("text:" + text, name, [&](Compilation& c, DiagnosticEngine& d, const FrontendOptions& o) {
    return run_frontend_on_text(c, name, text, d, o);
  });
}

}  // namespace psync::test
