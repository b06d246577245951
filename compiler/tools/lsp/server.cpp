// server.cpp: the language server (server.h): the JSON-RPC message loop, the
// lifecycle (initialize, shutdown, exit), the open documents and their
// analyses, and one handler per LSP method. JSON is nlohmann-json.
#include "tools/lsp/server.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "parse/tokens.h"
#include "sema/frontend.h"
#include "tools/format/format.h"
#include "tools/lsp/jsonrpc.h"
#include "tools/lsp/positions.h"
#include "tools/query/query.h"
#include "psync_version.h"  // generated: cmake/version.cmake

namespace psync::lsp {

using json = nlohmann::json;

namespace {

// JSON-RPC 2.0 and LSP error codes.
enum ErrorCode {
  ParseError = -32700,
  InvalidRequest = -32600,
  MethodNotFound = -32601,
  InvalidParams = -32602,
  InternalError = -32603,
  ServerNotInitialized = -32002,
  RequestFailed = -32803,
};

struct RpcError : std::runtime_error {
  int code;
  RpcError(int c, const std::string& message) : std::runtime_error(message), code(c) {}
};

// ---------------------------------------------------------------- params

const json& member(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) throw RpcError(InvalidParams, where + " must be an object");
  auto it = obj.find(key);
  if (it == obj.end()) throw RpcError(InvalidParams, where + "." + key + " is missing");
  return *it;
}

std::string string_member(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_string()) throw RpcError(InvalidParams, where + "." + key + " must be a string");
  return v.get<std::string>();
}

uint32_t uint_member(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
    throw RpcError(InvalidParams, where + "." + key + " must be an unsigned integer");
  return v.get<uint32_t>();
}

Position position_member(const json& params) {
  const json& p = member(params, "position", "params");
  return {uint_member(p, "line", "params.position"), uint_member(p, "character", "params.position")};
}

// ---------------------------------------------------------------- documents

struct Document {
  std::string uri;
  std::string path;  ///< the file name the front end reports (the URI's path)
  std::string text;
  int64_t version = 0;
  std::unique_ptr<Compilation> comp;
  std::vector<Diagnostic> diagnostics;
};

class Server {
 public:
  Server(std::ostream& out, const ServerOptions& options) : out_(out), import_dirs_(options.import_dirs) {}

  /// Handles one frame; true once the client asked the server to exit.
  bool handle(const Frame& frame);
  int exit_status() const { return shutdown_ ? 0 : 1; }

 private:
  // ---- messages
  void send(const json& msg) { write_frame(out_, msg.dump(-1, ' ', false, json::error_handler_t::replace)); }
  void respond(const json& id, json result) { send({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}); }
  void respond_error(const json& id, int code, const std::string& message) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
  }
  void notify(const std::string& method, json params) {
    send({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
  }
  void log_error(const std::string& message) { notify("window/logMessage", {{"type", 1}, {"message", message}}); }
  void handle_message(const json& msg);
  void handle_request(const json& id, const std::string& method, const json& params);
  void handle_notification(const std::string& method, const json& params);

  // ---- methods
  json initialize(const json& params);
  void did_open(const json& params);
  void did_change(const json& params);
  void did_close(const json& params);
  json hover(const json& params);
  json definition(const json& params);
  json document_symbol(const json& params);
  json formatting(const json& params);

  // ---- documents and positions
  Document& document(const json& params);
  void analyze(Document& doc);
  void publish_diagnostics(const Document& doc);
  json range_json(const Document& doc, SourceRange r) const;
  json location_json(const Document& doc, SourceRange r) const;
  std::optional<json> import_location(const Document& doc, uint32_t offset) const;

  std::ostream& out_;
  std::vector<std::string> import_dirs_;
  Encoding encoding_ = Encoding::Utf16;
  bool initialized_ = false;
  bool shutdown_ = false;
  bool exit_ = false;
  std::map<std::string, Document> docs_;
};

// ---------------------------------------------------------------- the message loop

bool Server::handle(const Frame& frame) {
  if (frame.status == Frame::BadHeader) {
    respond_error(nullptr, ParseError, "bad message header: " + frame.error);
    return false;
  }
  json msg;
  try {
    msg = json::parse(frame.body);
  } catch (const json::parse_error& e) {
    respond_error(nullptr, ParseError, std::string("the message is not valid JSON: ") + e.what());
    return false;
  }
  handle_message(msg);
  return exit_;
}

void Server::handle_message(const json& msg) {
  if (!msg.is_object()) {
    respond_error(nullptr, InvalidRequest, "a message must be a JSON object (batches are not part of the LSP)");
    return;
  }
  bool has_id = msg.contains("id");
  json id = nullptr;
  if (has_id) {
    id = msg["id"];
    if (!id.is_number_integer() && !id.is_string()) {
      respond_error(nullptr, InvalidRequest, "id must be an integer or a string");
      return;
    }
  }
  auto version = msg.find("jsonrpc");
  if (version == msg.end() || *version != "2.0") {
    respond_error(id, InvalidRequest, "jsonrpc must be \"2.0\"");
    return;
  }
  auto method = msg.find("method");
  if (method == msg.end()) {
    if (has_id && (msg.contains("result") || msg.contains("error"))) return;  // a response: we send no requests
    respond_error(id, InvalidRequest, "the message has no method");
    return;
  }
  if (!method->is_string()) {
    respond_error(id, InvalidRequest, "method must be a string");
    return;
  }
  json params = json::object();
  if (auto p = msg.find("params"); p != msg.end() && !p->is_null()) {  // null: as if omitted
    if (!p->is_object() && !p->is_array()) {
      respond_error(id, InvalidRequest, "params must be an object or an array");
      return;
    }
    params = *p;
  }
  if (has_id)
    handle_request(id, method->get<std::string>(), params);
  else
    handle_notification(method->get<std::string>(), params);
}

void Server::handle_request(const json& id, const std::string& method, const json& params) {
  try {
    if (method == "initialize") {
      if (initialized_) throw RpcError(InvalidRequest, "initialize was already received");
      respond(id, initialize(params));
      return;
    }
    if (!initialized_) throw RpcError(ServerNotInitialized, "the server has not been initialized");
    if (shutdown_) throw RpcError(InvalidRequest, "the server is shutting down: only 'exit' is accepted");
    json result;
    if (method == "shutdown") {
      shutdown_ = true;
      result = nullptr;
    } else if (method == "textDocument/hover") {
      result = hover(params);
    } else if (method == "textDocument/definition") {
      result = definition(params);
    } else if (method == "textDocument/documentSymbol") {
      result = document_symbol(params);
    } else if (method == "textDocument/formatting") {
      result = formatting(params);
    } else {
      throw RpcError(MethodNotFound, "unknown method '" + method + "'");
    }
    respond(id, std::move(result));
  } catch (const RpcError& e) {
    respond_error(id, e.code, e.what());
  } catch (const json::exception& e) {
    respond_error(id, InvalidParams, e.what());
  } catch (const std::exception& e) {
    respond_error(id, InternalError, std::string("internal error: ") + e.what());
  }
}

void Server::handle_notification(const std::string& method, const json& params) {
  if (method == "exit") {
    exit_ = true;
    return;
  }
  if (!initialized_ || shutdown_) return;  // dropped, as the LSP says
  try {
    if (method == "textDocument/didOpen") {
      did_open(params);
    } else if (method == "textDocument/didChange") {
      did_change(params);
    } else if (method == "textDocument/didClose") {
      did_close(params);
    }
    // initialized, didSave, $/cancelRequest, $/setTrace and unknown
    // notifications need nothing.
  } catch (const std::exception& e) {
    log_error("psyncc lsp: " + method + ": " + e.what());
  }
}

// ---------------------------------------------------------------- lifecycle

json Server::initialize(const json& params) {
  if (!params.is_object()) throw RpcError(InvalidParams, "params must be an object");
  // Prefer UTF-8 positions when the client offers them (LSP 3.17).
  encoding_ = Encoding::Utf16;
  std::string encoding = "utf-16";
  if (auto caps = params.find("capabilities"); caps != params.end() && caps->is_object()) {
    if (auto general = caps->find("general"); general != caps->end() && general->is_object()) {
      if (auto encs = general->find("positionEncodings"); encs != general->end() && encs->is_array()) {
        for (const json& e : *encs)
          if (e == "utf-8") {
            encoding_ = Encoding::Utf8;
            encoding = "utf-8";
          }
      }
    }
  }
  if (auto opts = params.find("initializationOptions"); opts != params.end() && opts->is_object()) {
    if (auto dirs = opts->find("importDirs"); dirs != opts->end()) {
      if (!dirs->is_array()) throw RpcError(InvalidParams, "initializationOptions.importDirs must be an array");
      for (const json& d : *dirs) {
        if (!d.is_string()) throw RpcError(InvalidParams, "initializationOptions.importDirs holds strings");
        import_dirs_.push_back(d.get<std::string>());
      }
    }
  }
  initialized_ = true;
  return {
      {"capabilities",
       {{"positionEncoding", encoding},
        {"textDocumentSync", {{"openClose", true}, {"change", 2}}},
        {"hoverProvider", true},
        {"definitionProvider", true},
        {"documentSymbolProvider", true},
        {"documentFormattingProvider", true}}},
      {"serverInfo", {{"name", "psyncc"}, {"version", PSYNC_VERSION}}},
  };
}

// ---------------------------------------------------------------- documents

Document& Server::document(const json& params) {
  std::string uri = string_member(member(params, "textDocument", "params"), "uri", "params.textDocument");
  auto it = docs_.find(uri);
  if (it == docs_.end()) throw RpcError(InvalidParams, "document '" + uri + "' is not open");
  return it->second;
}

void Server::did_open(const json& params) {
  const json& td = member(params, "textDocument", "params");
  Document doc;
  doc.uri = string_member(td, "uri", "params.textDocument");
  doc.text = string_member(td, "text", "params.textDocument");
  if (auto v = td.find("version"); v != td.end() && v->is_number_integer()) doc.version = v->get<int64_t>();
  doc.path = uri_to_path(doc.uri);
  Document& stored = docs_[doc.uri] = std::move(doc);
  analyze(stored);
  publish_diagnostics(stored);
}

void Server::did_change(const json& params) {
  Document& doc = document(params);
  const json& changes = member(params, "contentChanges", "params");
  if (!changes.is_array()) throw RpcError(InvalidParams, "params.contentChanges must be an array");
  // Validate every change before applying any, so a bad one leaves the
  // document as it was.
  std::string text = doc.text;
  for (const json& change : changes) {
    std::string replacement = string_member(change, "text", "params.contentChanges[]");
    auto range = change.find("range");
    if (range == change.end()) {
      text = std::move(replacement);
      continue;
    }
    LineIndex index(text, encoding_);
    Position start{uint_member(member(*range, "start", "range"), "line", "range.start"),
                   uint_member(member(*range, "start", "range"), "character", "range.start")};
    Position end{uint_member(member(*range, "end", "range"), "line", "range.end"),
                 uint_member(member(*range, "end", "range"), "character", "range.end")};
    uint32_t a = index.offset(start), b = index.offset(end);
    if (b < a) throw RpcError(InvalidParams, "a change's range ends before it starts");
    text.replace(a, b - a, replacement);
  }
  doc.text = std::move(text);
  if (auto v = member(params, "textDocument", "params").find("version");
      v != member(params, "textDocument", "params").end() && v->is_number_integer())
    doc.version = v->get<int64_t>();
  analyze(doc);
  publish_diagnostics(doc);
}

void Server::did_close(const json& params) {
  Document& doc = document(params);
  notify("textDocument/publishDiagnostics", {{"uri", doc.uri}, {"diagnostics", json::array()}});
  docs_.erase(doc.uri);
}

void Server::analyze(Document& doc) {
  doc.comp = std::make_unique<Compilation>();
  CollectingConsumer collected;
  FrontendOptions options;
  options.import_dirs = import_dirs_;
  try {
    DiagnosticEngine diags(doc.comp->sources, collected);
    run_frontend_on_text(*doc.comp, doc.path, doc.text, diags, options);
  } catch (const std::exception& e) {
    Diagnostic d;
    d.id = "internal-error";
    d.message = std::string("psyncc internal error: ") + e.what();
    collected.diagnostics.push_back(d);
  }
  doc.diagnostics = std::move(collected.diagnostics);
  if (!doc.comp->program) doc.comp->program = std::make_unique<Program>();
}

json Server::range_json(const Document& doc, SourceRange r) const {
  Position a, b;
  if (r.valid() && r.file == doc.comp->main_file) {
    LineIndex index(doc.text, encoding_);
    a = index.position(r.begin);
    b = index.position(r.end);
  } else if (r.valid()) {
    const std::string& text = doc.comp->sources.file(r.file).text();
    LineIndex index(text, encoding_);
    a = index.position(r.begin);
    b = index.position(r.end);
  }
  return {{"start", {{"line", a.line}, {"character", a.character}}},
          {"end", {{"line", b.line}, {"character", b.character}}}};
}

json Server::location_json(const Document& doc, SourceRange r) const {
  std::string uri = r.file == doc.comp->main_file ? doc.uri : path_to_uri(doc.comp->sources.file(r.file).name());
  return {{"uri", uri}, {"range", range_json(doc, r)}};
}

void Server::publish_diagnostics(const Document& doc) {
  json list = json::array();
  uint32_t main = doc.comp->main_file;
  for (const Diagnostic& d : doc.diagnostics) {
    // Editing a module is normal; only psyncc's command line needs a protocol.
    if (d.id == "not-a-protocol" && doc.comp->program->is_module) continue;
    std::string message = d.message;
    SourceRange at = d.range;
    if (at.valid() && at.file != main) {
      // An error inside an imported module: shown at the top of this file.
      const SourceFile& f = doc.comp->sources.file(at.file);
      LineCol lc = f.line_col(at.begin);
      message = f.name() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column) + ": " + message;
      at = {};
    }
    json related = json::array();
    for (const Diagnostic& note : d.notes) {
      if (note.range.valid())
        related.push_back({{"location", location_json(doc, note.range)}, {"message", note.message}});
      else
        message += "\nnote: " + note.message;
    }
    json item = {{"range", range_json(doc, at)},
                 {"severity", d.severity == Severity::Error ? 1 : d.severity == Severity::Warning ? 2 : 3},
                 {"code", d.id},
                 {"source", "psyncc"},
                 {"message", message}};
    if (!related.empty()) item["relatedInformation"] = std::move(related);
    list.push_back(std::move(item));
  }
  notify("textDocument/publishDiagnostics", {{"uri", doc.uri}, {"version", doc.version}, {"diagnostics", list}});
}

// ---------------------------------------------------------------- queries

json Server::hover(const json& params) {
  Document& doc = document(params);
  uint32_t offset = LineIndex(doc.text, encoding_).offset(position_member(params));
  const Compilation& c = *doc.comp;
  query::Node node = query::node_at(*c.program, c.main_file, offset);
  if (node.kind == query::NodeKind::None) return nullptr;
  std::string text = query::describe(*c.program, node, c.sources);
  if (text.empty()) return nullptr;
  return {{"contents", {{"kind", "markdown"}, {"value", text}}}, {"range", range_json(doc, node.range)}};
}

// `import m` names a module file: its location is the file itself.
std::optional<json> Server::import_location(const Document& doc, uint32_t offset) const {
  const Compilation& c = *doc.comp;
  std::vector<SourceToken> tokens = lex_file(c.main_file, c.sources);
  const SourceToken* prev = nullptr;
  for (const SourceToken& t : tokens) {
    if (t.is_comment()) continue;
    if (t.kind == TokenKind::Identifier && t.range.begin <= offset && offset <= t.range.end && prev &&
        prev->text == "import") {
      std::string suffix = "/" + t.text + ".psync";
      for (uint32_t id = 1; id <= c.sources.size(); ++id) {
        const std::string& name = c.sources.file(id).name();
        if (id != c.main_file && (name == t.text + ".psync" || (name.size() > suffix.size() &&
                                                                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)))
          return json{{"uri", path_to_uri(name)},
                      {"range", {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", 0}, {"character", 0}}}}}};
      }
      return std::nullopt;
    }
    prev = &t;
  }
  return std::nullopt;
}

json Server::definition(const json& params) {
  Document& doc = document(params);
  uint32_t offset = LineIndex(doc.text, encoding_).offset(position_member(params));
  const Compilation& c = *doc.comp;
  query::Node node = query::node_at(*c.program, c.main_file, offset);
  SourceRange target = query::definition(*c.program, node);
  if (target.valid()) return location_json(doc, target);
  if (auto loc = import_location(doc, offset)) return *loc;
  return nullptr;
}

json Server::document_symbol(const json& params) {
  Document& doc = document(params);
  std::function<json(const query::Symbol&)> convert = [&](const query::Symbol& s) {
    json children = json::array();
    for (const auto& c : s.children) children.push_back(convert(c));
    json out = {{"name", s.name.empty() ? std::string("?") : s.name},
                {"kind", static_cast<int>(s.kind)},
                {"range", range_json(doc, s.range)},
                {"selectionRange", range_json(doc, s.selection)},
                {"children", children}};
    if (!s.detail.empty()) out["detail"] = s.detail;
    return out;
  };
  json list = json::array();
  for (const auto& s : query::document_symbols(*doc.comp->program, doc.comp->main_file)) list.push_back(convert(s));
  return list;
}

json Server::formatting(const json& params) {
  Document& doc = document(params);
  std::string errors;
  std::optional<std::string> formatted = format_text(doc.path, doc.text, &errors);
  if (!formatted) throw RpcError(RequestFailed, "cannot format a file with syntax errors");
  if (*formatted == doc.text) return json::array();
  Position end = LineIndex(doc.text, encoding_).position(static_cast<uint32_t>(doc.text.size()));
  return json::array({{{"range",
                        {{"start", {{"line", 0}, {"character", 0}}},
                         {"end", {{"line", end.line}, {"character", end.character}}}}},
                       {"newText", *formatted}}});
}

}  // namespace

int run_language_server(std::istream& in, std::ostream& out, const ServerOptions& options) {
  Server server(out, options);
  for (;;) {
    Frame frame = read_frame(in);
    if (frame.status == Frame::Eof) return server.exit_status();  // the client went away
    if (server.handle(frame)) return server.exit_status();
  }
}

}  // namespace psync::lsp
