// service.cpp: psync::Service (psync/replica.hpp), the line-delimited JSON
// protocol of docs/service.md over TCP, on top of a Replica. Each client
// connection reads requests a line at a time and gets replies and errors
// as lines; decisions go to the clients that proposed them and, in log
// order, to subscribers. Nothing a client sends can disturb the replica:
// every malformed request gets an error line, and every buffer is bounded
// (a line, the replies queued for a client, its pending proposals).
#include "psync/replica.hpp"

#include "abi/typed_values.h"

#include <utility>  // before Asio: g++ 12 in C++20 needs std::exchange declared
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace psync {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

#define PSYNC_SERVICE_COUNTERS(X)                                                  \
  X(clients_accepted)                                                              \
  X(clients_closed)                                                                \
  X(requests)                  /* lines read */                                    \
  X(proposals)                 /* propose requests handed to the replica */        \
  X(replies)                   /* decisions sent to the clients that proposed */   \
  X(subscription_lines)        /* decisions streamed to subscribers */             \
  X(errors_sent)               /* error lines, every cause below included */       \
  X(malformed_requests)        /* not JSON, not an object, a key or value wrong */ \
  X(lines_too_long)            /* longer than the line bound: skipped */           \
  X(proposals_refused)         /* too large, overloaded, too many pending */       \
  X(reads_paused)              /* a client's replies piled up: stopped reading */

struct ServiceCounters {
#define PSYNC_X(name) uint64_t name = 0;
  PSYNC_SERVICE_COUNTERS(PSYNC_X)
#undef PSYNC_X
};

namespace {

// Bounds (docs/service.md, "Limits").
constexpr size_t kMaxLine = 64 * 1024;          // a request line, newline excluded
constexpr size_t kHighWater = 1 << 20;           // queued output before a client stops being read / fed
constexpr size_t kMaxPendingPerClient = 10'000;  // proposals of one connection awaiting their decision
constexpr size_t kMaxIdBytes = 256;              // a request id, as JSON text

std::pair<std::string, uint16_t> split_host_port(const std::string& hp) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::runtime_error("--serve '" + hp + "': expected HOST:PORT");
  std::string host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = hp.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    throw std::runtime_error("--serve '" + hp + "': the port must be 0..65535");
  return {host, uint16_t(p)};
}

// A request id as the log stores it: the id's JSON text, so that the reply
// can give it back exactly as it came ("7" and 7 are different ids). An id
// made by the C++ API is not JSON and is sent as a string.
std::string id_json(const std::string& stored) {
  if (json::accept(stored)) return stored;
  return json(stored).dump();
}

std::string decision_line(const Decision& d, bool with_id_first, bool duplicate) {
  std::string line = with_id_first ? "{\"id\":" + id_json(d.id) + ",\"seq\":" + std::to_string(d.seq)
                                   : "{\"seq\":" + std::to_string(d.seq);
  line += ",\"instance\":" + std::to_string(d.instance);
  if (!with_id_first) line += ",\"id\":" + id_json(d.id);
  line += ",\"value\":" + bytes_to_json(d.value);
  if (duplicate) line += ",\"duplicate\":true";
  return line + "}\n";
}

}  // namespace

struct Service::Impl {
  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::array<char, 16 * 1024> buf{};
    std::string line;            // the partial line read so far
    bool skipping = false;       // inside a line that was too long: drop until its newline
    std::deque<std::string> out;
    size_t out_bytes = 0;
    bool writing = false;
    bool reading = false;
    bool closed = false;
    size_t pending = 0;          // proposals awaiting their decision
    bool subscribed = false;
    uint64_t next_seq = 0;       // subscribers: the next log entry to send
  };

  Impl(asio::io_context& io, Replica& replica, const std::string& host_port)
      : io_(io), replica_(replica), acceptor_(io), alive_(std::make_shared<bool>(true)) {
    std::tie(host_, port_) = split_host_port(host_port);
  }
  ~Impl() { *alive_ = false; }

  void start() {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec || results.empty()) throw std::runtime_error("--serve: cannot resolve '" + host_ + "'");
    const tcp::endpoint ep = *results.begin();
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("--serve: cannot listen on " + host_ + ":" + std::to_string(port_) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    replica_.on_decision([this, alive = alive_](const Decision& d) {
      if (*alive) decided(d);
    });
    accept();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& c : conns_) close(*c);
    conns_.clear();
  }

  // ------------------------------------------------------------ connections

  void accept() {
    auto conn = std::make_shared<Conn>(io_);
    acceptor_.async_accept(conn->socket, [this, conn, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive || stopped_) return;
      if (!ec) {
        ++counters_.clients_accepted;
        boost::system::error_code ignored;
        conn->socket.set_option(tcp::no_delay(true), ignored);
        conns_.insert(conn);
        read(conn);
      }
      accept();
    });
  }

  void close(Conn& c) {
    if (c.closed) return;
    c.closed = true;
    ++counters_.clients_closed;
    boost::system::error_code ec;
    c.socket.shutdown(tcp::socket::shutdown_both, ec);
    c.socket.close(ec);
  }

  void drop(const std::shared_ptr<Conn>& c) {
    close(*c);
    conns_.erase(c);
  }

  void read(const std::shared_ptr<Conn>& c) {
    if (c->closed || c->reading) return;
    if (c->out_bytes > kHighWater) {  // the client does not read its replies: stop reading its requests
      ++counters_.reads_paused;
      return;
    }
    c->reading = true;
    c->socket.async_read_some(asio::buffer(c->buf), [this, c, alive = alive_](const boost::system::error_code& ec,
                                                                                  size_t n) {
      if (!*alive) return;
      c->reading = false;
      if (ec) {
        drop(c);
        return;
      }
      take_bytes(c, std::string_view(c->buf.data(), n));
      read(c);
    });
  }

  void take_bytes(const std::shared_ptr<Conn>& c, std::string_view data) {
    while (!data.empty() && !c->closed) {
      const size_t nl = data.find('\n');
      const std::string_view piece = data.substr(0, nl);
      if (!c->skipping) {
        if (c->line.size() + piece.size() > kMaxLine) {
          ++counters_.lines_too_long;
          error(c, "null", "request line longer than " + std::to_string(kMaxLine) + " bytes; skipped");
          c->skipping = true;
          c->line.clear();
        } else {
          c->line += piece;
        }
      }
      if (nl == std::string_view::npos) return;
      if (!c->skipping) {
        std::string line;
        line.swap(c->line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) handle_line(c, line);
      }
      c->skipping = false;
      data.remove_prefix(nl + 1);
    }
  }

  // ------------------------------------------------------------ requests

  void handle_line(const std::shared_ptr<Conn>& c, const std::string& line) {
    ++counters_.requests;
    json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) return malformed(c, "null", "malformed JSON");
    if (!req.is_object()) return malformed(c, "null", "a request is a JSON object");
    std::string id = "null";
    if (auto it = req.find("id"); it != req.end()) {
      if (!it->is_string() && !it->is_number_integer()) return malformed(c, "null", "\"id\" must be a string or an integer");
      id = it->dump();
      if (id.size() > kMaxIdBytes)
        return malformed(c, "null", "\"id\" longer than " + std::to_string(kMaxIdBytes) + " bytes");
    }
    for (auto it = req.begin(); it != req.end(); ++it) {
      static const std::unordered_set<std::string> known = {"id", "propose", "propose_hex", "subscribe", "from"};
      if (!known.count(it.key())) return malformed(c, id, "unknown key \"" + it.key() + "\"");
    }
    if (req.contains("subscribe")) return subscribe(c, req, id);
    if (req.contains("from")) return malformed(c, id, "\"from\" goes with \"subscribe\"");
    const bool text = req.contains("propose"), hex = req.contains("propose_hex");
    if (text == hex) return malformed(c, id, "give exactly one of \"propose\" and \"propose_hex\"");
    if (id == "null") return malformed(c, id, "a proposal needs an \"id\"");
    const json& v = text ? req["propose"] : req["propose_hex"];
    if (!v.is_string()) return malformed(c, id, std::string("\"") + (text ? "propose" : "propose_hex") + "\" must be a string");
    std::string value = v.get<std::string>();
    if (hex) {
      std::string err;
      auto decoded = parse_bytes_text("hex:" + value, err);
      // err reads "'hex:...': why"; keep the why.
      if (!decoded) return malformed(c, id, "\"propose_hex\": " + err.substr(err.find("': ") + 3));
      value = std::move(*decoded);
    }
    propose(c, id, value);
  }

  void propose(const std::shared_ptr<Conn>& c, const std::string& id, const std::string& value) {
    if (c->pending >= kMaxPendingPerClient) {
      ++counters_.proposals_refused;
      return error(c, id, "too many pending proposals on this connection (" + std::to_string(kMaxPendingPerClient) +
                               "); wait for replies");
    }
    ++counters_.proposals;
    switch (replica_.propose(id, value)) {
      case ProposeResult::Accepted:
      case ProposeResult::AlreadyPending:
        waiters_[id].push_back(c);
        ++c->pending;
        return;
      case ProposeResult::AlreadyDecided:
        ++counters_.replies;
        return send(c, decision_line(*replica_.find(id), true, true));
      case ProposeResult::TooLarge:
        ++counters_.proposals_refused;
        return error(c, id, "value too large: " + std::to_string(value.size()) + " bytes, at most " +
                                 std::to_string(replica_.max_value_size(id.size())) + " with this id");
      case ProposeResult::Overloaded:
        ++counters_.proposals_refused;
        return error(c, id, "the replica is overloaded; retry later");
      case ProposeResult::Stopped:
        ++counters_.proposals_refused;
        return error(c, id, "the replica is stopping");
    }
  }

  void subscribe(const std::shared_ptr<Conn>& c, const json& req, const std::string& id) {
    const json& s = req["subscribe"];
    if (!s.is_boolean() || !s.get<bool>()) return malformed(c, id, "\"subscribe\" must be true");
    if (req.contains("propose") || req.contains("propose_hex"))
      return malformed(c, id, "a request either proposes or subscribes");
    uint64_t from = 0;
    if (auto it = req.find("from"); it != req.end()) {
      if (!it->is_number_unsigned()) return malformed(c, id, "\"from\" must be a log position, 0 or more");
      from = it->get<uint64_t>();
    }
    if (c->subscribed) return malformed(c, id, "this connection is subscribed already");
    c->subscribed = true;
    c->next_seq = from;
    pump(c);
  }

  void malformed(const std::shared_ptr<Conn>& c, const std::string& id, const std::string& why) {
    ++counters_.malformed_requests;
    error(c, id, why);
  }

  void error(const std::shared_ptr<Conn>& c, const std::string& id, const std::string& why) {
    ++counters_.errors_sent;
    send(c, "{\"id\":" + id + ",\"error\":" + json(why).dump() + "}\n");
  }

  // ------------------------------------------------------------ decisions

  void decided(const Decision& d) {
    auto it = waiters_.find(d.id);
    if (it != waiters_.end()) {
      const std::string line = decision_line(d, true, false);
      for (auto& w : it->second)
        if (auto c = w.lock(); c && !c->closed) {
          --c->pending;
          ++counters_.replies;
          send(c, line);
        }
      waiters_.erase(it);
    }
    for (auto& c : conns_)
      if (c->subscribed) pump(c);
  }

  // Feeds a subscriber the log from its position while its queue is short;
  // the rest follows as its writes complete, so a slow reader costs nothing
  // but its place in the log.
  void pump(const std::shared_ptr<Conn>& c) {
    while (!c->closed && c->next_seq < replica_.log_size() && c->out_bytes < kHighWater) {
      ++counters_.subscription_lines;
      send(c, decision_line(replica_.log_entry(c->next_seq++), false, false));
    }
  }

  // ------------------------------------------------------------ writing

  void send(const std::shared_ptr<Conn>& c, std::string line) {
    if (c->closed) return;
    c->out_bytes += line.size();
    c->out.push_back(std::move(line));
    flush(c);
  }

  void flush(const std::shared_ptr<Conn>& c) {
    if (c->writing || c->out.empty() || c->closed) return;
    auto batch = std::make_shared<std::string>();
    while (!c->out.empty() && batch->size() < 64 * 1024) {
      *batch += c->out.front();
      c->out.pop_front();
    }
    c->writing = true;
    asio::async_write(c->socket, asio::buffer(*batch),
                      [this, self = c, batch, alive = alive_](const boost::system::error_code& ec, size_t) {
                        if (!*alive) return;
                        self->writing = false;
                        self->out_bytes -= batch->size();
                        if (ec) {
                          drop(self);
                          return;
                        }
                        if (self->subscribed) pump(self);
                        flush(self);
                        read(self);  // resumes a client paused for its backlog
                      });
  }

  std::vector<std::pair<std::string, uint64_t>> counter_list() const {
    std::vector<std::pair<std::string, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, counters_.name);
    PSYNC_SERVICE_COUNTERS(PSYNC_X)
#undef PSYNC_X
    out.emplace_back("clients_connected", conns_.size());
    return out;
  }

  asio::io_context& io_;
  Replica& replica_;
  tcp::acceptor acceptor_;
  std::shared_ptr<bool> alive_;
  std::string host_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::unordered_set<std::shared_ptr<Conn>> conns_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<Conn>>> waiters_;
  ServiceCounters counters_;
};

Service::Service(asio::io_context& io, Replica& replica, const std::string& host_port)
    : impl_(std::make_unique<Impl>(io, replica, host_port)) {}
Service::~Service() = default;
void Service::start() { impl_->start(); }
uint16_t Service::port() const { return impl_->port_; }
std::vector<std::pair<std::string, uint64_t>> Service::counters() const { return impl_->counter_list(); }
void Service::stop() { impl_->stop(); }

}  // namespace psync
