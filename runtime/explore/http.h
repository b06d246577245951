// http.h: the explorer's embedded HTTP/1.1 server, a single-threaded Boost.Asio
// loop bound to 127.0.0.1 (http.cpp). One request per connection
// (`Connection: close`), bounded header and body sizes, a deadline per
// connection. Asio stays in http.cpp.
#ifndef PSYNC_EXPLORE_HTTP_H
#define PSYNC_EXPLORE_HTTP_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace psync::explore {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query string
  std::string host;          // the Host header
  std::string content_type;  // the Content-Type header
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;  // request line and headers; larger: 431
  size_t max_body_bytes = 8u << 20;     // Content-Length above it: 413
  int deadline_seconds = 30;            // a connection that takes longer is closed
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Listens on 127.0.0.1:port (0: any free port), calls `listening` with the
// bound port, and serves until SIGINT or SIGTERM. Malformed requests get a
// 4xx with a one-line message; the handler sees only well-formed ones.
// Returns "" after a signal, or why it could not listen.
std::string serve_http(uint16_t port, const HttpLimits& limits, const HttpHandler& handler,
                       const std::function<void(uint16_t)>& listening);

}  // namespace psync::explore

#endif  // PSYNC_EXPLORE_HTTP_H
