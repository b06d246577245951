// frontend.cpp: load -> parse -> resolve imports -> merge -> sema.
#include "sema/frontend.h"

#include <pthread.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace psync {

namespace fs = std::filesystem;

std::vector<std::string> default_import_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("PSYNC_STDLIB"); env && *env) dirs.emplace_back(env);
  // Next to the executable after installation: <prefix>/bin/../share/psync/stdlib.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share" / "psync" / "stdlib").string());
  dirs.emplace_back(PSYNC_BUILD_STDLIB_DIR);
  dirs.emplace_back(PSYNC_INSTALL_STDLIB_DIR);
  return dirs;
}

namespace {

// Moves the declarations of an imported module in front of the program's own.
template <typename T>
void prepend(std::vector<T>& into, std::vector<T>& from) {
  for (auto& x : into) from.push_back(std::move(x));
  into = std::move(from);
}

template <typename T>
void append(std::vector<T>& into, std::vector<T>& from) {
  for (auto& x : from) into.push_back(std::move(x));
}

void mark_imported(Program& m) {
  for (auto* list : {&m.consts, &m.inputs, &m.outputs, &m.vars, &m.lets})
    for (auto& v : *list) v->from_import = true;
  for (auto& f : m.fns) f->from_import = true;
  for (auto& s : m.specs) s.from_import = true;
}

class ImportResolver {
 public:
  ImportResolver(Compilation& c, DiagnosticEngine& d, const FrontendOptions& o) : c_(c), d_(d), o_(o) {
    dirs_ = o.import_dirs;
    for (auto& dir : default_import_dirs()) dirs_.push_back(dir);
  }

  // Resolves the imports of `prog` (depth first) and merges them into it.
  // The imported declarations go in front of the program's own, in import
  // order (each module after the modules it imports), so that a module may
  // call the fns of a module imported before it.
  void resolve(Program& prog, int depth) {
    std::vector<Import> imports = std::move(prog.imports);
    prog.imports.clear();
    Program merged;
    for (auto& imp : imports) {
      if (loaded_.count(imp.module)) continue;
      loaded_.insert(imp.module);
      if (depth > 16) {
        d_.error("import-too-deep", imp.range, "imports nested more than 16 levels deep");
        continue;
      }
      std::string path;
      for (auto& dir : dirs_) {
        fs::path p = fs::path(dir) / (imp.module + ".psync");
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) {
          path = p.string();
          break;
        }
      }
      if (path.empty()) {
        std::string searched;
        for (auto& dir : dirs_) searched += (searched.empty() ? "" : ", ") + dir;
        d_.error("unknown-module", imp.range, "cannot find module '" + imp.module + "'");
        d_.note({}, "looked for " + imp.module + ".psync in: " + searched + " (add a directory with -I)");
        continue;
      }
      std::string err;
      uint32_t id = c_.sources.load(path, err);
      if (!id) {
        d_.error("unreadable-module", imp.range, "cannot read module '" + path + "': " + err);
        continue;
      }
      auto mod = parse_file(id, c_.sources, d_, o_.limits);
      if (!mod->is_module && !mod->name.empty()) {
        d_.error("import-not-module", imp.range,
                 "'" + imp.module + "' is a protocol, not a module; only modules can be imported");
        continue;
      }
      resolve(*mod, depth + 1);
      for (auto& b : mod->byzantine)  // not merged: the importer states its own fault model
        d_.error("byzantine-in-module", b.range,
                 "a module cannot declare a fault model: 'byzantine f' belongs to the protocol that imports it");
      mark_imported(*mod);
      append(merged.types, mod->types);
      append(merged.consts, mod->consts);
      append(merged.inputs, mod->inputs);
      append(merged.outputs, mod->outputs);
      append(merged.vars, mod->vars);
      append(merged.lets, mod->lets);
      append(merged.fns, mod->fns);
      append(merged.specs, mod->specs);
    }
    prepend(prog.types, merged.types);
    prepend(prog.consts, merged.consts);
    prepend(prog.inputs, merged.inputs);
    prepend(prog.outputs, merged.outputs);
    prepend(prog.vars, merged.vars);
    prepend(prog.lets, merged.lets);
    prepend(prog.fns, merged.fns);
    prepend(prog.specs, merged.specs);
  }

 private:
  Compilation& c_;
  DiagnosticEngine& d_;
  const FrontendOptions& o_;
  std::vector<std::string> dirs_;
  std::set<std::string> loaded_;
};

bool finish_frontend(Compilation& c, uint32_t id, DiagnosticEngine& diags, const FrontendOptions& options) {
  c.main_file = id;
  bool ok = false;
  run_with_large_stack([&] {
    c.program = parse_file(id, c.sources, diags, options.limits);
    if (c.program->is_module)
      diags.error("not-a-protocol", c.program->name_range,
                  "'" + c.program->name + "' is a module; psyncc compiles protocols (modules are imported)");
    if (options.parse_only) {
      ok = !diags.has_errors();
      return;
    }
    ImportResolver(c, diags, options).resolve(*c.program, 0);
    if (diags.has_errors()) {
      // Still type-check, to report every error of the file in one run, but
      // only when the tree is complete enough (a header was parsed). Parts
      // with syntax errors are skipped (poisoned), and "never read" warnings
      // would only be noise.
      SemaOptions quiet = options.sema;
      quiet.warn_unused = false;
      quiet.after_syntax_errors = true;
      if (!c.program->name.empty()) check_program(*c.program, c.types, diags, quiet);
      ok = false;
      return;
    }
    ok = check_program(*c.program, c.types, diags, options.sema);
  });
  diags.flush();
  return ok && !diags.has_errors();
}

}  // namespace

bool run_frontend(Compilation& c, const std::string& path, DiagnosticEngine& diags, const FrontendOptions& options) {
  std::string err;
  uint32_t id = c.sources.load(path, err);
  if (!id) {
    diags.error("cannot-open", {}, "cannot open '" + path + "': " + err);
    diags.flush();
    c.program = std::make_unique<Program>();
    return false;
  }
  return finish_frontend(c, id, diags, options);
}

bool run_frontend_on_text(Compilation& c, const std::string& name, std::string text, DiagnosticEngine& diags,
                          const FrontendOptions& options) {
  uint32_t id = c.sources.add(name, std::move(text));
  return finish_frontend(c, id, diags, options);
}

void run_with_large_stack(const std::function<void()>& fn) {
  struct Job {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } job{&fn, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256u << 20);
  pthread_t thread;
  auto body = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    try {
      (*j->fn)();
    } catch (...) {
      j->error = std::current_exception();
    }
    return nullptr;
  };
  if (pthread_create(&thread, &attr, body, &job) != 0) {
    pthread_attr_destroy(&attr);
    fn();  // could not get a thread: run here
    return;
  }
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace psync
