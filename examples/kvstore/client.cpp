// client.cpp: psync-kv, the command-line client of psync-kvstore: put, get and
// cas (README.md). It sends one request to one replica and, when that replica
// cannot be reached or does not answer in time, sends the same request with
// the same id to the next one: the store applies a request id at most once,
// so a retried command takes effect at most once.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <netdb.h>
#include <poll.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::pair<std::string, std::string> split_host_port(const std::string& hp) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::runtime_error("'" + hp + "': expected HOST:PORT");
  std::string host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, hp.substr(colon + 1)};
}

int ms_left(Clock::time_point deadline) {
  return int(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

// Connects without blocking past the deadline; -1 on failure.
int connect_by_deadline(const std::string& host_port, Clock::time_point deadline) {
  auto [host, port] = split_host_port(host_port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return -1;
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return -1;
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, ms_left(deadline)) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One attempt at one replica: the reply line, or "" when the replica could
// not be reached or did not answer before the deadline.
std::string ask_replica(const std::string& host_port, const std::string& request, Clock::time_point deadline) {
  const int fd = connect_by_deadline(host_port, deadline);
  if (fd < 0) return "";
  std::string out = request + "\n", in;
  size_t sent = 0;
  while (true) {
    pollfd p{fd, short(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
    if (poll(&p, 1, ms_left(deadline)) != 1) break;
    if ((p.revents & POLLOUT) && sent < out.size()) {
      const ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, size_t(n));
      if (const size_t nl = in.find('\n'); nl != std::string::npos) {
        close(fd);
        return in.substr(0, nl);
      }
    }
  }
  close(fd);
  return "";
}

std::string random_id() {
  std::random_device rd;
  const uint64_t r = (uint64_t(rd()) << 32) ^ rd();
  char buf[32];
  std::snprintf(buf, sizeof buf, "kv-%016llx", (unsigned long long)r);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> replicas = {"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"};
  std::string id, timeout_text = "2s", op;
  std::vector<std::string> args;
  int passes = 3;
  bool raw = false, absent = false;
  CLI::App app{"psync-kv: put, get and cas against psync-kvstore replicas"};
  app.add_option("--replicas", replicas, "HOST:PORT of the replicas to try, in order (comma-separated)")
      ->delimiter(',')
      ->allow_extra_args(false)  // one comma-separated word: the operation follows
      ->envname("PSYNC_KV_REPLICAS");
  app.add_option("--id", id, "request id (default: a random one); a retry with the same id is applied at most once");
  app.add_option("--timeout", timeout_text, "how long to wait for one replica's answer (e.g. 2s, 500ms)");
  app.add_option("--passes", passes, "times to go round the replicas before giving up")->check(CLI::Range(1, 100));
  app.add_flag("--json", raw, "print the replica's reply line as it came");
  app.add_flag("--absent", absent, "cas: expect the key to be absent (give no OLD)");
  app.add_option("op", op, "put KEY VALUE | get KEY | cas KEY OLD NEW")->required()->check(
      CLI::IsMember({"put", "get", "cas"}));
  app.add_option("args", args, "the operation's arguments");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  int64_t timeout_ms = 0;
  {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(timeout_text, &used);
    } catch (const std::exception&) {
    }
    const std::string unit = timeout_text.substr(std::min(used, timeout_text.size()));
    const double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : -1;
    if (v <= 0 || scale < 0) {
      std::fprintf(stderr, "psync-kv: error: --timeout '%s': expected a duration such as 2s or 500ms\n",
                   timeout_text.c_str());
      return 2;
    }
    timeout_ms = int64_t(v * scale);
  }
  const size_t want = op == "put" ? 2 : op == "get" ? 1 : absent ? 2 : 3;
  if (args.size() != want) {
    std::fprintf(stderr, "psync-kv: error: %s takes %s\n", op.c_str(),
                 op == "put" ? "KEY VALUE" : op == "get" ? "KEY" : absent ? "KEY NEW (with --absent)" : "KEY OLD NEW");
    return 2;
  }
  if (id.empty()) id = random_id();
  json req = {{"id", id}, {"op", op}, {"key", args[0]}};
  if (op == "put") req["value"] = args[1];
  if (op == "cas") {
    req["old"] = absent ? json(nullptr) : json(args[1]);
    req["new"] = args.back();
  }
  const std::string line = req.dump();
  for (int pass = 0; pass < passes; ++pass)
    for (const std::string& r : replicas) {
      std::string reply_text;
      try {
        reply_text = ask_replica(r, line, Clock::now() + std::chrono::milliseconds(timeout_ms));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "psync-kv: error: --replicas %s\n", e.what());
        return 2;
      }
      if (reply_text.empty()) {
        std::fprintf(stderr, "psync-kv: no answer from %s; trying the next replica with the same id\n", r.c_str());
        continue;
      }
      const json reply = json::parse(reply_text, nullptr, false);
      if (reply.is_discarded() || !reply.is_object()) {
        std::fprintf(stderr, "psync-kv: unreadable reply from %s: %s\n", r.c_str(), reply_text.c_str());
        continue;
      }
      if (reply.contains("error")) {
        const std::string e = reply["error"].is_string() ? reply["error"].get<std::string>() : reply_text;
        if (e.find("retry later") != std::string::npos || e.find("stopping") != std::string::npos) {
          std::fprintf(stderr, "psync-kv: %s: %s; trying the next replica\n", r.c_str(), e.c_str());
          continue;
        }
        std::fprintf(stderr, "psync-kv: error: %s\n", e.c_str());
        return 2;
      }
      if (raw) {
        std::printf("%s\n", reply_text.c_str());
      } else if (op == "put") {
        std::printf("ok\n");
      } else {
        const json& v = reply["value"];
        if (op == "get") {
          std::printf("%s\n", v.is_string() ? v.get<std::string>().c_str() : "(absent)");
          return v.is_string() ? 0 : 1;
        }
        if (reply.value("ok", false)) {
          std::printf("ok\n");
        } else {
          std::printf("failed: the value is %s\n", v.is_string() ? v.dump().c_str() : "absent");
          return 1;
        }
      }
      return 0;
    }
  std::fprintf(stderr, "psync-kv: error: no replica answered (%zu tried, %d times each); request id %s\n",
               replicas.size(), passes, id.c_str());
  return 3;
}
