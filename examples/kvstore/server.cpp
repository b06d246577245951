// server.cpp: psync-kvstore, a replicated key-value store. Each process is one
// replica of a replicated log (psync::Replica over the LogLastVoting protocol
// compiled at build time) and serves clients over TCP with line-delimited
// JSON (README.md). Every command, reads included, goes through the log and
// is applied in log order by kvstore::Store, so replies are linearizable;
// --stale-reads is the deliberately broken variant whose gets read the local
// map. `--local N` starts N replicas on loopback as child processes.
#include "store.h"

#include "psync/replica.hpp"

#include <utility>  // before Asio: g++ 12 in C++20 needs std::exchange declared
#include <boost/asio.hpp>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstring>
#include <cstdio>
#include <deque>
#include <memory>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

extern "C" const psync_protocol_desc psync_protocol;  // the compiled LogLastVoting (CMakeLists.txt)
extern char** environ;

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr size_t kMaxLine = 64 * 1024;        // a request line; longer ones get an error and are skipped
constexpr size_t kMaxQueued = 1 << 20;        // replies queued to a client that does not read: then it is closed
constexpr size_t kMaxPendingPerClient = 1000; // requests of one connection awaiting their decision

struct Options {
  int id = 0;
  std::vector<std::string> cluster;
  std::string cluster_file;  // a cluster TOML file, with public keys (psyncc keygen)
  std::string key_file;      // this replica's secret key
  std::string listen;
  std::string transport = "udp";
  double drop = 0;
  std::string delay = "0";
  uint64_t seed = 1;
  uint64_t window = 32;
  bool stale_reads = false;
  bool stats = false;
  bool quiet = false;
  bool describe = false;
  double duplicate = 0;
  std::string data_dir;
  int local = 0;
  int port = 7000;
};

std::pair<std::string, std::string> split_host_port(const std::string& hp) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::runtime_error("'" + hp + "': expected HOST:PORT");
  std::string host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, hp.substr(colon + 1)};
}

// Durations as "300ms", "2s", "150us" or plain microseconds.
int64_t parse_duration_us(const std::string& s) {
  size_t used = 0;
  const double v = std::stod(s, &used);
  const std::string unit = s.substr(used);
  const double scale = unit.empty() || unit == "us" ? 1 : unit == "ms" ? 1e3 : unit == "s" ? 1e6 : -1;
  if (scale < 0 || v < 0) throw std::runtime_error("bad duration '" + s + "' (e.g. 300ms, 2s)");
  return int64_t(v * scale);
}

// The client side: connections, their request lines, and the replies the
// store produces as the log is applied.
class KvServer {
 public:
  KvServer(asio::io_context& io, psync::Replica& replica, const Options& o)
      : io_(io), replica_(replica), acceptor_(io), stale_reads_(o.stale_reads) {
    replica_.on_decision([this](const psync::Decision& d) { apply_decision(d); });
    auto [host, port] = split_host_port(o.listen);
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, port, ec);
    if (ec || results.empty()) throw std::runtime_error("--listen: cannot resolve '" + o.listen + "'");
    const tcp::endpoint ep = *results.begin();
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("--listen: cannot listen on " + o.listen + ": " + ec.message());
  }

  void start() { accept_next(); }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& w : conns_)
      if (auto c = w.lock()) c->socket.close(ignored);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::pair<std::string, uint64_t>> counters() const {
    return {{"kv_commands_applied", store_.applied()},
            {"kv_duplicate_requests_skipped", store_.duplicates_skipped()},
            {"kv_malformed_commands", store_.malformed_commands()},
            {"kv_keys", store_.size()},
            {"kv_clients_accepted", clients_accepted_},
            {"kv_requests", requests_},
            {"kv_replies", replies_},
            {"kv_errors_sent", errors_sent_},
            {"kv_stale_reads", stale_reads_served_},
            {"kv_clients_dropped_slow", clients_dropped_slow_}};
  }

 private:
  struct Conn {
    explicit Conn(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::array<char, 8192> buf{};
    std::string line;
    bool skipping = false;  // inside a too-long line: drop until its newline
    std::deque<std::string> out;
    size_t out_bytes = 0;
    bool writing = false;
    size_t pending = 0;
  };
  using ConnPtr = std::shared_ptr<Conn>;

  void accept_next() {
    auto c = std::make_shared<Conn>(io_);
    acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        ++clients_accepted_;
        boost::system::error_code ignored;
        c->socket.set_option(tcp::no_delay(true), ignored);
        std::erase_if(conns_, [](const std::weak_ptr<Conn>& w) { return w.expired(); });
        conns_.push_back(c);
        read_more(c);
      }
      accept_next();
    });
  }

  void read_more(const ConnPtr& c) {
    c->socket.async_read_some(asio::buffer(c->buf), [this, c](const boost::system::error_code& ec, size_t n) {
      if (ec) return close(c);
      take_bytes(c, std::string_view(c->buf.data(), n));
      if (c->socket.is_open()) read_more(c);
    });
  }

  void take_bytes(const ConnPtr& c, std::string_view bytes) {
    while (!bytes.empty() && c->socket.is_open()) {  // closed meanwhile (too slow a reader): the rest is dropped
      const size_t nl = bytes.find('\n');
      const std::string_view part = bytes.substr(0, nl);
      if (!c->skipping) {
        if (c->line.size() + part.size() > kMaxLine) {
          c->skipping = true;
          c->line.clear();
          send_error(c, "null", "request line longer than " + std::to_string(kMaxLine) + " bytes");
        } else {
          c->line.append(part);
        }
      }
      if (nl == std::string_view::npos) return;
      if (!c->skipping) {
        std::string line = std::move(c->line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) take_request(c, line);
      }
      c->line.clear();
      c->skipping = false;
      bytes.remove_prefix(nl + 1);
    }
  }

  void take_request(const ConnPtr& c, const std::string& line) {
    ++requests_;
    std::string error, id;
    std::optional<kvstore::Request> r = kvstore::parse_request(line, error, id);
    if (!r) return send_error(c, id, error);
    if (stale_reads_ && r->command.op == kvstore::Command::Op::Get) {
      ++stale_reads_served_;
      return send_line(c, store_.read_local(r->id_json, r->command.key));
    }
    // A retry of a request this replica has applied (the client's first
    // replica failed after the log took it): its first reply, not a second
    // application.
    if (const std::string* reply = store_.reply_of(r->id_json)) return send_line(c, *reply);
    if (c->pending >= kMaxPendingPerClient) return send_error(c, r->id_json, "too many pending requests");
    using psync::ProposeResult;
    const std::string command = kvstore::encode_command(r->command);
    switch (replica_.propose(r->id_json, command)) {
      case ProposeResult::Accepted:
      case ProposeResult::AlreadyPending:
        ++c->pending;
        waiters_[r->id_json].push_back(c);
        return;
      case ProposeResult::AlreadyDecided:
        if (const std::string* reply = store_.reply_of(r->id_json)) return send_line(c, *reply);
        return send_error(c, r->id_json, "request id already used");
      case ProposeResult::TooLarge:
        return send_error(c, r->id_json, "command too large: " + std::to_string(command.size()) +
                                             " bytes in the log, at most " +
                                             std::to_string(replica_.max_value_size(r->id_json.size())) +
                                             " with this id");
      case ProposeResult::Overloaded: return send_error(c, r->id_json, "the replica is overloaded; retry later");
      case ProposeResult::Stopped: return send_error(c, r->id_json, "the replica is stopping");
    }
  }

  // The log's entries, in log order: the same at every replica.
  void apply_decision(const psync::Decision& d) {
    const std::string& reply = store_.apply(d.id, d.seq, d.value);
    auto it = waiters_.find(d.id);
    if (it == waiters_.end()) return;
    for (auto& w : it->second)
      if (auto c = w.lock()) {
        --c->pending;
        send_line(c, reply);
      }
    waiters_.erase(it);
  }

  // The id comes back as its JSON text, exactly as the client sent it.
  void send_error(const ConnPtr& c, const std::string& id_json, const std::string& message) {
    ++errors_sent_;
    std::string escaped;
    for (char ch : message) {
      if (ch == '"' || ch == '\\') escaped += '\\';
      if (static_cast<unsigned char>(ch) < 0x20) continue;
      escaped += ch;
    }
    write_line(c, "{\"id\":" + id_json + ",\"error\":\"" + escaped + "\"}");
  }
  void send_line(const ConnPtr& c, const std::string& line) {
    ++replies_;
    write_line(c, line);
  }

  void write_line(const ConnPtr& c, std::string line) {
    if (!c->socket.is_open()) return;
    if (c->out_bytes > kMaxQueued) {
      ++clients_dropped_slow_;
      return close(c);
    }
    line += '\n';
    c->out_bytes += line.size();
    c->out.push_back(std::move(line));
    flush(c);
  }

  void flush(const ConnPtr& c) {
    if (c->writing || c->out.empty()) return;
    c->writing = true;
    auto batch = std::make_shared<std::string>();
    while (!c->out.empty()) {
      *batch += c->out.front();
      c->out.pop_front();
    }
    asio::async_write(c->socket, asio::buffer(*batch), [this, c, batch](const boost::system::error_code& ec, size_t) {
      c->writing = false;
      c->out_bytes -= std::min(c->out_bytes, batch->size());
      if (ec) return close(c);
      flush(c);
    });
  }

  void close(const ConnPtr& c) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }

  asio::io_context& io_;
  psync::Replica& replica_;
  tcp::acceptor acceptor_;
  bool stale_reads_;
  kvstore::Store store_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<Conn>>> waiters_;  // request id -> connections
  std::vector<std::weak_ptr<Conn>> conns_;
  uint64_t clients_accepted_ = 0, requests_ = 0, replies_ = 0, errors_sent_ = 0, stale_reads_served_ = 0,
           clients_dropped_slow_ = 0;
};

int run_replica(const Options& o) {
  psync::ReplicaOptions ro;
  ro.id = o.id;
  ro.cluster = o.cluster;
  ro.cluster_file = o.cluster_file;
  ro.key_file = o.key_file;
  ro.transport = o.transport;
  ro.window = o.window;
  ro.drop = o.drop;
  ro.duplicate = o.duplicate;
  ro.data_dir = o.data_dir;
  ro.delay_us = parse_duration_us(o.delay);
  ro.seed = o.seed;
  asio::io_context io(1);
  psync::Replica replica(io, psync_protocol, ro);
  KvServer server(io, replica, o);
  replica.start();
  server.start();
  if (!o.quiet)
    std::fprintf(stderr, "psync-kvstore: replica %d of %d, clients on %s (port %u)%s\n", o.id,
                 replica.cluster_size(), o.listen.c_str(), unsigned(server.port()),
                 o.stale_reads ? ", STALE READS (broken on purpose)" : "");
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
    replica.stop();
  });
  io.run();
  if (o.stats) {
    std::string line = "{\"stats\":{\"id\":" + std::to_string(o.id);
    for (auto& [k, v] : replica.counters()) line += ",\"" + k + "\":" + std::to_string(v);
    for (auto& [k, v] : server.counters()) line += ",\"" + k + "\":" + std::to_string(v);
    line += "}}\n";
    std::fputs(line.c_str(), stderr);
  }
  return 0;
}

// --local N: N replicas on 127.0.0.1 as child processes of this one; clients
// connect to ports P .. P+N-1, the replicas talk on P+N .. P+2N-1. Ctrl-C
// (or SIGTERM) stops them all; a replica killed on its own leaves the others
// running, as in a real cluster.
int run_local(const Options& o, const char* self) {
  std::vector<std::string> peers;
  for (int i = 0; i < o.local; ++i) peers.push_back("127.0.0.1:" + std::to_string(o.port + o.local + i));
  std::string cluster;
  for (auto& p : peers) cluster += (cluster.empty() ? "" : ",") + p;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<pid_t> children;
  for (int i = 0; i < o.local; ++i) {
    std::vector<std::string> args = {self, "--id", std::to_string(i), "--cluster", cluster, "--listen",
                                     "127.0.0.1:" + std::to_string(o.port + i), "--transport", o.transport,
                                     "--drop", std::to_string(o.drop), "--delay", o.delay, "--seed",
                                     std::to_string(o.seed + uint64_t(i)), "--window", std::to_string(o.window)};
    if (o.stale_reads) args.push_back("--stale-reads");
    if (o.stats) args.push_back("--stats");
    if (o.quiet) args.push_back("--quiet");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (int err = posix_spawn(&pid, self, nullptr, &attr, argv.data(), environ); err != 0) {
      std::fprintf(stderr, "psync-kvstore: cannot start replica %d: %s\n", i, std::strerror(err));
      for (pid_t c : children) kill(c, SIGTERM);
      return 1;
    }
    children.push_back(pid);
  }
  posix_spawnattr_destroy(&attr);
  std::fprintf(stdout, "psync-kvstore: %d replicas on 127.0.0.1, clients on ports %d..%d; Ctrl-C stops them\n",
               o.local, o.port, o.port + o.local - 1);
  std::fflush(stdout);
  // A reaped child leaves `children`: its pid must never be signalled
  // again (and kill(-1, ...) would signal every process we may signal).
  bool stopping = false;
  while (!children.empty()) {
    int sig = 0;
    sigwait(&set, &sig);
    if ((sig == SIGINT || sig == SIGTERM) && !stopping) {
      stopping = true;
      for (pid_t c : children) kill(c, SIGTERM);
    }
    std::erase_if(children, [](pid_t c) {
      int status = 0;
      return waitpid(c, &status, WNOHANG) == c;
    });
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"psync-kvstore: a replicated key-value store on psync (examples/kvstore/README.md)"};
  app.add_option("--id", o.id, "this replica, 0 .. n-1");
  app.add_option("--cluster", o.cluster, "HOST:PORT of every replica's log traffic, by id (comma-separated)")
      ->delimiter(',');
  app.add_option("--cluster-file", o.cluster_file,
                 "a cluster TOML file instead of --cluster; with public keys (psyncc keygen), packets are "
                 "authenticated")
      ->check(CLI::ExistingFile);
  app.add_option("--key", o.key_file, "this replica's secret key file (psyncc keygen), for a keyed --cluster-file")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", o.listen, "HOST:PORT for clients");
  app.add_option("--local", o.local, "start N replicas on 127.0.0.1 as child processes")->check(CLI::Range(1, 15));
  app.add_option("--port", o.port, "with --local: clients on PORT .. PORT+N-1, replicas on the next N")
      ->check(CLI::Range(1, 65000));
  app.add_option("--transport", o.transport, "udp or tcp between replicas")->check(CLI::IsMember({"udp", "tcp"}));
  app.add_option("--drop", o.drop, "drop this fraction of incoming replica messages (fault injection)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--duplicate", o.duplicate,
                 "UDP: take this fraction of received datagrams a second time (fault injection)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--data-dir", o.data_dir,
                 "keep the replica's log in DIR (created if missing): a replica restarted on it gets its store "
                 "back and rejoins");
  app.add_flag("--describe", o.describe, "print the log protocol's name and fingerprint as one JSON line and exit");
  app.add_option("--delay", o.delay, "delay incoming replica messages by up to this long (e.g. 200ms)");
  app.add_option("--seed", o.seed, "seed of the injected faults");
  app.add_option("--window", o.window, "log instances run at once")->check(CLI::Range(1, 1024));
  app.add_flag("--stale-reads", o.stale_reads,
               "BROKEN ON PURPOSE: answer get from the local map, not through the log (not linearizable)");
  app.add_flag("--stats", o.stats, "print the counters as one JSON line on stderr at exit");
  app.add_flag("--quiet", o.quiet, "no start-up line");
  try {
    app.parse(argc, argv);
    parse_duration_us(o.delay);
    if (o.describe) {
      std::printf("{\"protocol\":\"%s\",\"fingerprint\":%llu}\n", psync_protocol.name,
                  (unsigned long long)psync_protocol.fingerprint);
      return 0;
    }
    if (o.local > 0) {
      if (!o.cluster.empty() || !o.cluster_file.empty() || !o.key_file.empty() || !o.listen.empty() ||
          !o.data_dir.empty())
        throw std::runtime_error("--local takes no --cluster, --cluster-file, --key, --listen or --data-dir");
      char self[4096];
      const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
      if (len <= 0) throw std::runtime_error("cannot find this program's path in /proc/self/exe");
      self[len] = '\0';
      return run_local(o, self);
    }
    if (!o.cluster.empty() && !o.cluster_file.empty()) throw std::runtime_error("give --cluster or --cluster-file, not both");
    if ((o.cluster.empty() && o.cluster_file.empty()) || o.listen.empty())
      throw std::runtime_error("give --cluster (or --cluster-file) and --listen (or --local N)");
    if (!o.cluster.empty() && (o.id < 0 || size_t(o.id) >= o.cluster.size()))
      throw std::runtime_error("--id must be 0 .. " + std::to_string(o.cluster.size() - 1));
    return run_replica(o);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "psync-kvstore: error: %s\n", e.what());
    return 2;
  }
}
