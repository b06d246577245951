// explore.cpp: run_explore, the routes of the explorer's page: the static
// assets embedded at build time (assets.h, generated from web/) and the
// JSON endpoints over one Session (runtime/explore/README.md lists them).
#include "explore.h"

#include "assets.h"
#include "http.h"
#include "session.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace psync::explore {

using nlohmann::json;

namespace {

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

HttpResponse refused(int status, const std::string& why) { return json_response(status, json{{"error", why}}); }

const Asset* find_asset(const std::string& path) {
  const std::string name = path == "/" ? "index.html" : path.substr(1);
  for (size_t i = 0; i < kNumAssets; ++i)
    if (name == kAssets[i].name) return &kAssets[i];
  return nullptr;
}

// The JSON endpoints: each POST changes the session (or is refused with a
// 400 and the reason) and answers with the whole view. Only this machine
// may drive it: the Host must name the loopback address (a page elsewhere
// cannot reach it by DNS rebinding), and a POST must carry JSON, which a
// cross-site form cannot send without a preflight this server never grants.
HttpResponse route(Session& s, uint16_t port, const HttpRequest& req) {
  const std::string p = ":" + std::to_string(port);
  if (req.host != "127.0.0.1" + p && req.host != "localhost" + p)
    return refused(403, "Host must be 127.0.0.1" + p + " or localhost" + p);
  if (req.path.rfind("/api/", 0) != 0) {
    const Asset* a = find_asset(req.path);
    if (!a) return refused(404, "no page " + req.path);
    if (req.method != "GET") return refused(405, req.path + " takes GET");
    HttpResponse r;
    r.content_type = a->type;
    r.body.assign(reinterpret_cast<const char*>(a->data), a->size);
    return r;
  }
  const std::string verb = req.path.substr(5);
  if (verb == "state") {
    if (req.method != "GET") return refused(405, req.path + " takes GET");
    return json_response(200, s.view());
  }
  if (verb != "step" && verb != "undo" && verb != "reset" && verb != "trace" && verb != "replay")
    return refused(404, "no endpoint " + req.path);
  if (req.method != "POST") return refused(405, req.path + " takes POST");
  if (req.content_type.rfind("application/json", 0) != 0)
    return refused(415, "a POST to the API carries Content-Type: application/json");
  json body;
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return refused(400, "the body is not JSON");
  }
  std::string why;
  if (verb == "step") why = s.step(body.is_null() ? json::object() : body);
  else if (verb == "undo") why = s.undo();
  else if (verb == "reset") why = s.reset(body.is_object() && body.contains("inputs") ? body["inputs"] : json());
  else if (verb == "trace") why = s.load_trace(body);
  else why = s.replay_next();
  if (!why.empty()) return refused(400, why);
  return json_response(200, s.view());
}

}  // namespace

int run_explore(const psync_protocol_desc& desc, const ExploreOptions& opts, std::FILE* out) {
  Session session(desc, opts);
  if (!session.error().empty()) {
    std::fprintf(stderr, "psyncc: error: %s\n", session.error().c_str());
    return 2;
  }
  HttpLimits limits;
  limits.max_body_bytes = opts.max_body_bytes;
  uint16_t bound = 0;
  const std::string error = serve_http(
      opts.port, limits, [&](const HttpRequest& req) { return route(session, bound, req); },
      [&](uint16_t port) {
        bound = port;
        std::fprintf(out, "psyncc explore: http://127.0.0.1:%u/\n", unsigned(port));
        std::fprintf(out, "psyncc explore: %s with n=%d; stop with Ctrl-C\n", desc.name ? desc.name : "?", opts.n);
        std::fflush(out);
      });
  if (!error.empty()) {
    std::fprintf(stderr, "psyncc: error: %s\n", error.c_str());
    return 2;
  }
  return 0;
}

}  // namespace psync::explore
