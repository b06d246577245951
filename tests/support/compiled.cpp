// compiled.cpp: the front end and the JIT behind compiled.h, with a cache so
// that each file is compiled once per test process.
#include "compiled.h"

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "codegen/codegen.h"
#include "sema/frontend.h"

namespace psync::test {

std::string source_file(const std::string& relative) { return std::string(PSYNC_SOURCE_DIR) + "/" + relative; }

const psync_protocol_desc& compiled(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<JitProtocol>> cache;
  const std::string file = !path.empty() && path[0] == '/' ? path : source_file(path);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(file); it != cache.end()) return *it->second->descriptor();

  Compilation c;
  CollectingConsumer diags;
  DiagnosticEngine engine(c.sources, diags);
  FrontendOptions options;
  options.import_dirs.push_back(source_file("stdlib"));
  const bool ok = run_frontend(c, file, engine, options);
  engine.flush();
  if (!ok) {
    std::string text = diags.text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    throw std::runtime_error(file + " does not compile:\n" + text);
  }
  std::string error;
  std::unique_ptr<JitProtocol> jit = jit_compile(*c.program, c.sources, 2, error);
  if (!jit) throw std::runtime_error(file + ": JIT compilation failed: " + error);
  return *cache.emplace(file, std::move(jit)).first->second->descriptor();
}

}  // namespace psync::test
