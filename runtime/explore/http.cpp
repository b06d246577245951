// http.cpp: a small HTTP/1.1 server on Boost.Asio for the explorer (http.h).
// Single-threaded: every connection is a chain of async operations on one
// io_context, so a slow client never blocks another, and the handler (the
// session) is never called concurrently.
#include "http.h"

#include <utility>  // before Asio: boost/asio/awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <memory>
#include <string_view>

namespace psync::explore {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 403: return "Forbidden";
    case 411: return "Length Required";
    case 415: return "Unsupported Media Type";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Error";
  }
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  std::string esc;
  for (char c : message) {
    if (c == '"' || c == '\\') esc += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    esc += c;
  }
  r.body = "{\"error\":\"" + esc + "\"}\n";
  return r;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket sock, const HttpLimits& limits, const HttpHandler& handler)
      : sock_(std::move(sock)), timer_(sock_.get_executor()), buf_(limits.max_header_bytes), limits_(limits),
        handler_(handler) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::seconds(limits_.deadline_seconds));
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->close();  // the deadline passed
    });
    asio::async_read_until(sock_, buf_, "\r\n\r\n", [self](const boost::system::error_code& ec, size_t n) {
      self->on_header(ec, n);
    });
  }

 private:
  void on_header(const boost::system::error_code& ec, size_t header_len) {
    if (ec == asio::error::not_found) return reply(error_response(431, "request header larger than the limit"));
    if (ec) return close();
    std::string head(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + long(header_len));
    buf_.consume(header_len);
    // Request line: METHOD SP TARGET SP HTTP/1.x
    const size_t eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    const size_t a = line.find(' '), b = line.rfind(' ');
    if (a == std::string::npos || a == b || line.compare(b + 1, 7, "HTTP/1.") != 0)
      return reply(error_response(400, "malformed request line"));
    req_.method = line.substr(0, a);
    std::string target = line.substr(a + 1, b - a - 1);
    if (target.empty() || target[0] != '/') return reply(error_response(400, "the target must be a path"));
    req_.path = target.substr(0, target.find('?'));
    // Headers: only the body's framing matters here.
    size_t content_length = 0;
    bool has_length = false;
    for (size_t pos = eol + 2; pos < head.size();) {
      const size_t end = head.find("\r\n", pos);
      const std::string_view h(head.data() + pos, (end == std::string::npos ? head.size() : end) - pos);
      pos = end == std::string::npos ? head.size() : end + 2;
      if (h.empty()) continue;
      const size_t colon = h.find(':');
      if (colon == std::string_view::npos) return reply(error_response(400, "malformed header line"));
      const std::string name = lower(trim(h.substr(0, colon)));
      const std::string_view value = trim(h.substr(colon + 1));
      if (name == "host") req_.host = std::string(value);
      if (name == "content-type") req_.content_type = lower(value);
      if (name == "transfer-encoding")
        return reply(error_response(501, "chunked request bodies are not supported; send Content-Length"));
      if (name == "content-length") {
        if (value.empty() || value.size() > 12 || !std::all_of(value.begin(), value.end(), [](char c) {
              return c >= '0' && c <= '9';
            }))
          return reply(error_response(400, "bad Content-Length"));
        content_length = std::stoull(std::string(value));
        has_length = true;
      }
    }
    if (content_length > limits_.max_body_bytes)
      return reply(error_response(413, "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes"));
    if (req_.method == "POST" && !has_length) return reply(error_response(411, "a POST needs Content-Length"));
    // What async_read_until read past the header is the start of the body.
    const size_t have = std::min(content_length, buf_.size());
    req_.body.assign(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + long(have));
    buf_.consume(have);
    if (have == content_length) return dispatch();
    req_.body.resize(content_length);
    auto self = shared_from_this();
    asio::async_read(sock_, asio::buffer(req_.body.data() + have, content_length - have),
                     [self](const boost::system::error_code& e, size_t) {
                       if (e) return self->close();
                       self->dispatch();
                     });
  }

  void dispatch() {
    HttpResponse res;
    try {
      res = handler_(req_);
    } catch (const std::exception& e) {
      res = error_response(500, std::string("internal error: ") + e.what());
    }
    reply(std::move(res));
  }

  void reply(HttpResponse res) {
    out_ = "HTTP/1.1 " + std::to_string(res.status) + " " + reason_phrase(res.status) + "\r\n";
    out_ += "Content-Type: " + res.content_type + "\r\n";
    out_ += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
    out_ += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
    out_ += res.body;
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(out_), [self](const boost::system::error_code& ec, size_t) {
      if (ec) return self->close();
      boost::system::error_code ignore;
      self->sock_.shutdown(tcp::socket::shutdown_send, ignore);
      // Closing with unread request bytes (a refused oversized request)
      // would reset the connection and could destroy the answer in flight:
      // read and drop what the client still sends, for a short while.
      self->timer_.expires_after(std::chrono::seconds(2));
      self->timer_.async_wait([self](const boost::system::error_code& e) {
        if (!e) self->close();
      });
      self->drain();
    });
  }

  void drain() {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(sink_), [self](const boost::system::error_code& ec, size_t) {
      if (ec) return self->close();  // EOF: the client has closed its side
      self->drain();
    });
  }

  void close() {
    boost::system::error_code ignore;
    timer_.cancel();
    sock_.close(ignore);
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  asio::streambuf buf_;
  const HttpLimits& limits_;
  const HttpHandler& handler_;
  HttpRequest req_;
  std::string out_;
  char sink_[4096];
};

void accept_next(tcp::acceptor& acceptor, const HttpLimits& limits, const HttpHandler& handler) {
  // Pointers, not references, into serve_http's frame, which outlives io.run().
  acceptor.async_accept([a = &acceptor, l = &limits, h = &handler](const boost::system::error_code& ec,
                                                                    tcp::socket sock) {
    if (!a->is_open()) return;
    if (!ec) std::make_shared<Connection>(std::move(sock), *l, *h)->start();
    accept_next(*a, *l, *h);
  });
}

}  // namespace

std::string serve_http(uint16_t port, const HttpLimits& limits, const HttpHandler& handler,
                       const std::function<void(uint16_t)>& listening) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  const tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
  if (acceptor.open(ep.protocol(), ec); !ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& e, int) {
    if (e) return;
    boost::system::error_code ignore;
    acceptor.close(ignore);
    io.stop();
  });
  listening(acceptor.local_endpoint().port());
  accept_next(acceptor, limits, handler);
  io.run();
  return "";
}

}  // namespace psync::explore
