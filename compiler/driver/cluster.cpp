// cluster.cpp: the local cluster behind `psyncc run`. Plain POSIX: free
// loopback ports, a cluster TOML file, fork/exec, poll on the children's
// stdout, and a cleanup that always reaps every child (Ctrl-C included).
#include "driver/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace psync {

namespace fs = std::filesystem;

namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A port that is free for both UDP and TCP on 127.0.0.1 right now.
int free_port(std::set<int>& taken) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (udp < 0 || bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (udp >= 0) close(udp);
      continue;
    }
    socklen_t len = sizeof a;
    getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    bool tcp_ok = tcp >= 0 && bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (tcp >= 0) close(tcp);
    close(udp);
    if (tcp_ok && !taken.count(port)) {
      taken.insert(port);
      return port;
    }
  }
  return -1;
}

// Finds `"key":` in a flat JSON object and returns the raw value text.
bool json_field(const std::string& line, const std::string& key, std::string& out) {
  std::string pat = "\"" + key + "\":";
  size_t at = line.find(pat);
  if (at == std::string::npos) return false;
  size_t b = at + pat.size();
  size_t e = b;
  int depth = 0;
  bool in_string = false;
  for (; e < line.size(); ++e) {
    char c = line[e];
    if (in_string) {
      if (c == '\\') ++e;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') {
      if (depth == 0) break;
      --depth;
    } else if (c == ',' && depth == 0) break;
  }
  out = line.substr(b, e - b);
  return !out.empty();
}

bool to_int(const std::string& s, int64_t& v) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(s.c_str(), &end, 10);
  if (errno || end == s.c_str() || *end) return false;
  v = x;
  return true;
}

int64_t percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

}  // namespace

bool parse_decision_line(const std::string& line, Decision& d) {
  if (line.empty() || line[0] != '{' || line.find("\"stats\"") != std::string::npos) return false;
  std::string id, inst, round, value, us;
  int64_t v;
  if (!json_field(line, "id", id) || !json_field(line, "instance", inst) || !json_field(line, "round", round) ||
      !json_field(line, "value", value) || !json_field(line, "us", us))
    return false;
  if (!to_int(id, v)) return false;
  d.id = static_cast<int>(v);
  if (!to_int(inst, v)) return false;
  d.instance = static_cast<uint64_t>(v);
  if (!to_int(round, d.round) || !to_int(us, d.us)) return false;
  d.value = value;
  return true;
}

ClusterResult run_cluster(const ClusterOptions& o) {
  ClusterResult res;
  res.exit_status.assign(o.n, 0);
  res.stderr_tail.assign(o.n, "");
  char tmpl[] = "/tmp/psync-run-XXXXXX";
  if (!mkdtemp(tmpl)) {
    res.error = "cannot create a temporary directory";
    return res;
  }
  fs::path dir(tmpl);
  std::set<int> taken;
  {
    std::ofstream toml(dir / "cluster.toml");
    toml << "# written by psyncc run\n";
    for (int i = 0; i < o.n; ++i) {
      int port = free_port(taken);
      if (port < 0) {
        res.error = "no free loopback port";
        fs::remove_all(dir);
        return res;
      }
      toml << "[[process]]\nid = " << i << "\naddress = \"127.0.0.1:" << port << "\"\n";
    }
  }

  struct sigaction sa{};
  struct sigaction old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  g_interrupted = 0;

  std::vector<pid_t> pids(o.n, -1);
  std::vector<int> out_fd(o.n, -1), err_fd(o.n, -1);
  std::vector<std::string> out_buf(o.n), err_buf(o.n);
  for (int i = 0; i < o.n; ++i) {
    int op[2], ep[2];
    if (pipe(op) != 0 || pipe(ep) != 0) {
      res.error = "pipe failed";
      break;
    }
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);  // a terminal's Ctrl-C reaches psyncc, which stops the children itself
      dup2(op[1], 1);
      dup2(ep[1], 2);
      close(op[0]);
      close(op[1]);
      close(ep[0]);
      close(ep[1]);
      std::vector<std::string> args{o.binary, "--id", std::to_string(i), "--cluster", (dir / "cluster.toml").string(),
                                    "--transport", o.transport};
      args.insert(args.end(), o.node_args.begin(), o.node_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    pids[i] = pid;
    out_fd[i] = op[0];
    err_fd[i] = ep[0];
  }

  const int64_t start = now_us();
  std::vector<bool> killed(o.n, false);
  std::vector<bool> done(o.n, false);
  auto all_done = [&] { return std::all_of(done.begin(), done.end(), [](bool b) { return b; }); };
  auto drain = [&](int i, int fd, bool is_err) {
    char buf[4096];
    ssize_t k = read(fd, buf, sizeof buf);
    if (k <= 0) {
      close(fd);
      (is_err ? err_fd : out_fd)[i] = -1;
      return;
    }
    std::string& b = is_err ? err_buf[i] : out_buf[i];
    b.append(buf, static_cast<size_t>(k));
    if (is_err) {
      if (o.show_logs) (void)!write(2, buf, static_cast<size_t>(k));
      if (b.size() > 8192) b.erase(0, b.size() - 8192);
      return;
    }
    size_t nl;
    while ((nl = b.find('\n')) != std::string::npos) {
      std::string line = b.substr(0, nl);
      b.erase(0, nl + 1);
      Decision d;
      if (parse_decision_line(line, d)) res.decisions.push_back(d);
    }
  };

  while (!all_done()) {
    if (g_interrupted) {
      res.interrupted = true;
      break;
    }
    int64_t elapsed = now_us() - start;
    if (elapsed > o.time_limit_us) {
      res.timed_out = true;
      break;
    }
    for (auto& [who, at] : o.kills)
      if (who >= 0 && who < o.n && !killed[who] && elapsed >= at && pids[who] > 0) {
        kill(pids[who], SIGKILL);
        killed[who] = true;
      }
    std::vector<pollfd> fds;
    std::vector<std::pair<int, bool>> owner;
    for (int i = 0; i < o.n; ++i) {
      if (out_fd[i] >= 0) fds.push_back({out_fd[i], POLLIN, 0}), owner.push_back({i, false});
      if (err_fd[i] >= 0) fds.push_back({err_fd[i], POLLIN, 0}), owner.push_back({i, true});
    }
    if (!fds.empty()) {
      poll(fds.data(), fds.size(), 20);
      for (size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) drain(owner[k].first, fds[k].fd, owner[k].second);
    } else {
      usleep(5000);
    }
    for (int i = 0; i < o.n; ++i) {
      if (done[i] || pids[i] <= 0) {
        done[i] = true;
        continue;
      }
      int status = 0;
      if (out_fd[i] < 0 && err_fd[i] < 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
        done[i] = true;
        res.exit_status[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
    }
  }

  // Cleanup: every child still running is stopped, then reaped.
  for (int i = 0; i < o.n; ++i)
    if (!done[i] && pids[i] > 0) kill(pids[i], SIGTERM);
  int64_t grace = now_us();
  for (int i = 0; i < o.n; ++i) {
    if (done[i] || pids[i] <= 0) continue;
    int status = 0;
    while (waitpid(pids[i], &status, WNOHANG) == 0) {
      if (now_us() - grace > 1'000'000) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
        break;
      }
      usleep(2000);
    }
    res.exit_status[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  for (int i = 0; i < o.n; ++i) {
    while (out_fd[i] >= 0) drain(i, out_fd[i], false);
    while (err_fd[i] >= 0) drain(i, err_fd[i], true);
    res.stderr_tail[i] = err_buf[i];
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return res;
}

int print_summary(const ClusterOptions& o, const ClusterResult& r, std::FILE* out) {
  if (!r.error.empty()) {
    std::fprintf(stderr, "psyncc: error: %s\n", r.error.c_str());
    return 2;
  }
  std::set<int> killed;
  for (auto& [who, at] : o.kills) killed.insert(who);
  std::map<uint64_t, std::vector<const Decision*>> by_instance;
  for (auto& d : r.decisions) by_instance[d.instance].push_back(&d);
  bool ok = !by_instance.empty();
  int disagreements = 0, incomplete = 0;
  std::vector<int64_t> rounds, latencies;
  for (auto& [inst, ds] : by_instance) {
    std::set<std::string> values;
    std::set<int> who;
    for (auto* d : ds) {
      values.insert(d->value);
      who.insert(d->id);
      rounds.push_back(d->round);
      latencies.push_back(d->us);
    }
    int expected = o.n - static_cast<int>(killed.size());
    bool agree = values.size() == 1;
    bool complete = static_cast<int>(who.size()) >= expected;
    if (!agree) ++disagreements;
    if (!complete) ++incomplete;
    if (by_instance.size() <= 20 || !agree) {
      std::string vs;
      for (auto& v : values) vs += (vs.empty() ? "" : ", ") + v;
      std::fprintf(out, "instance %llu: %zu/%d decided, value%s %s%s\n", static_cast<unsigned long long>(inst),
                   who.size(), o.n, values.size() == 1 ? "" : "s", vs.c_str(),
                   agree ? "" : "   <-- DISAGREEMENT");
    }
  }
  ok = ok && disagreements == 0 && incomplete == 0;
  std::fprintf(out, "replicas: %d (%zu killed), instances with decisions: %zu, agreement: %s, incomplete: %d\n", o.n,
               killed.size(), by_instance.size(), disagreements ? "VIOLATED" : "yes", incomplete);
  if (!rounds.empty()) {
    std::fprintf(out, "rounds to decide: p50 %lld  p90 %lld  p99 %lld  max %lld\n",
                 static_cast<long long>(percentile(rounds, 0.5)), static_cast<long long>(percentile(rounds, 0.9)),
                 static_cast<long long>(percentile(rounds, 0.99)), static_cast<long long>(percentile(rounds, 1.0)));
    std::fprintf(out, "time to decide (us since start): p50 %lld  p90 %lld  p99 %lld  max %lld\n",
                 static_cast<long long>(percentile(latencies, 0.5)), static_cast<long long>(percentile(latencies, 0.9)),
                 static_cast<long long>(percentile(latencies, 0.99)), static_cast<long long>(percentile(latencies, 1.0)));
  }
  if (r.timed_out) std::fprintf(out, "stopped: the time limit was reached\n");
  if (r.interrupted) std::fprintf(out, "stopped: interrupted\n");
  for (int i = 0; i < o.n; ++i) {
    int st = r.exit_status[i];
    if (st != 0 && !killed.count(i)) {
      std::fprintf(out, "replica %d exited with %s %d\n", i, st < 0 ? "signal" : "status", st < 0 ? -st : st);
      if (!r.stderr_tail[i].empty()) std::fprintf(out, "  its last log lines:\n%s", r.stderr_tail[i].c_str());
      ok = false;
    }
  }
  if (r.interrupted) return 130;
  return ok ? 0 : 1;
}

}  // namespace psync
