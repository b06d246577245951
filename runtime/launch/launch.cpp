// launch.cpp: the local cluster behind `psyncc run`. Plain POSIX: free
// loopback ports, a cluster TOML file, a --check-config run of the binary,
// fork/exec, poll on the children's stdout and stderr, and a cleanup that
// always reaps every child (Ctrl-C included).
#include "launch/launch.h"

#include "launch/keys.h"
#include "util/cmdline.h"

#include <psync/abi.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace psync::launch {

namespace fs = std::filesystem;

namespace {

constexpr size_t kStderrTail = 8192;
constexpr size_t kShownWhenMany = 10;  // incomplete instances listed when there are more than 20

volatile sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int decode_wait_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status); }

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

std::vector<std::string> replica_args(const ClusterOptions& o, const fs::path& cluster_file, int id) {
  const fs::path dir = cluster_file.parent_path();
  std::vector<std::string> args{o.binary,
                                "--id",
                                std::to_string(id),
                                "--cluster",
                                cluster_file.string(),
                                "--transport",
                                o.transport,
                                "--instances",
                                std::to_string(o.instances),
                                "--time-limit",
                                cmdline::format_duration_us(o.time_limit_us)};
  if (o.keys) args.insert(args.end(), {"--key", (dir / "keys" / ("replica-" + std::to_string(id) + ".key")).string()});
  if (!o.data_dir.empty())
    args.insert(args.end(), {"--data-dir", (fs::path(o.data_dir) / ("replica-" + std::to_string(id))).string()});
  args.insert(args.end(), o.node_args.begin(), o.node_args.end());
  return args;
}

// fork + exec with stdout and stderr on pipes; the child gets its own
// process group, so that a terminal's Ctrl-C reaches only the launcher,
// which then stops the children itself. With crash_at_start the child dies
// of SIGKILL before exec.
pid_t spawn(const std::vector<std::string>& args, int& out_fd, int& err_fd, bool crash_at_start = false) {
  int op[2], ep[2];
  if (pipe(op) != 0) return -1;
  if (pipe(ep) != 0) {
    close(op[0]);
    close(op[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(op[1], 1);
    dup2(ep[1], 2);
    close(op[0]);
    close(op[1]);
    close(ep[0]);
    close(ep[1]);
    if (crash_at_start) raise(SIGKILL);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(op[1]);
  close(ep[1]);
  if (pid < 0) {
    close(op[0]);
    close(ep[0]);
    return -1;
  }
  out_fd = op[0];
  err_fd = ep[0];
  return pid;
}

// "…/proto: error: --input init: 'x' is not an int" -> "--input init: 'x' is not an int"
std::string node_error_line(const std::string& err) {
  std::string line = err.substr(0, err.find('\n'));
  const size_t at = line.find(": error: ");
  return at == std::string::npos ? line : line.substr(at + 9);
}

// Runs replica 0's command line with --check-config: the node parses and
// checks everything (inputs, consts, every numeric flag against the cluster)
// and exits 0, or 2 with one line. Empty on success.
std::string check_config(const ClusterOptions& o, const fs::path& cluster_file, bool& config_error) {
  std::vector<std::string> args = replica_args(o, cluster_file, 0);
  args.push_back("--check-config");
  int out_fd = -1, err_fd = -1;
  const pid_t pid = spawn(args, out_fd, err_fd);
  if (pid < 0) return std::string("cannot start ") + o.binary + ": " + std::strerror(errno);
  std::string err;
  const int64_t deadline = now_us() + 30'000'000;
  bool timed_out = false;
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (now_us() > deadline) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, 100) <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[k].fd);
        (k == 0 ? out_fd : err_fd) = -1;
      } else if (k == 1 && err.size() < kStderrTail) {
        err.append(buf, size_t(got));
      }
    }
  }
  if (timed_out) {
    kill(pid, SIGKILL);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) return o.binary + " --check-config did not finish within 30 s";
  const int code = decode_wait_status(status);
  if (code == 0) return "";
  if (code == 2) {
    config_error = true;
    return node_error_line(err);
  }
  std::string detail = node_error_line(err);
  return o.binary + " --check-config " +
         (code < 0 ? "was killed by signal " + std::to_string(-code) : "exited with status " + std::to_string(code)) +
         (detail.empty() ? "" : ": " + detail);
}

std::string join_ids(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : ", ") + std::to_string(id);
  return s;
}

std::string describe_end(const Replica& r) {
  if (r.stopped) return "did not stop at the time limit and was stopped by psyncc run";
  if (r.status < 0) {
    const char* name = strsignal(-r.status);
    return "was killed by signal " + std::to_string(-r.status) + (name ? std::string(" (") + name + ")" : "");
  }
  std::string s = "exited with status " + std::to_string(r.status);
  if (r.status == 1) s += " (an instance ended undecided)";
  if (r.status == 2) s += " (it could not start)";
  return s;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix, std::string& error) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);  // $TMPDIR, else /tmp
  if (ec) {
    error = "no temporary directory: " + ec.message() + " (check $TMPDIR)";
    return "";
  }
  std::string tmpl = (base / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) {
    error = "cannot create a temporary directory in " + base.string() + ": " + std::strerror(errno);
    return "";
  }
  return tmpl;
}

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

bool parse_final_line(const std::string& line, FinalState& f) {
  if (line.empty() || line[0] != '{') return false;
  const size_t at = line.find("\"final\":{");
  if (at == std::string::npos) return false;
  std::string id, inst, round;
  int64_t v;
  if (!json_field(line, "id", id) || !json_field(line, "instance", inst) || !json_field(line, "round", round)) return false;
  if (!to_int(id, v)) return false;
  f.id = static_cast<int>(v);
  if (!to_int(inst, v)) return false;
  f.instance = static_cast<uint64_t>(v);
  if (!to_int(round, f.round)) return false;
  // The object runs to its closing brace; node JSON strings never hold braces unescaped.
  const size_t open = at + 8, close = line.find('}', open);
  if (close == std::string::npos) return false;
  f.outputs = line.substr(open, close - open + 1);
  std::string state;
  f.state.clear();
  if (json_field(line.substr(close + 1), "state", state) && state.size() >= 2 && state.front() == '"' &&
      state.back() == '"')
    f.state = state.substr(1, state.size() - 2);
  return true;
}

ClusterResult run_cluster(const ClusterOptions& o) {
  ClusterResult res;
  res.replicas.assign(size_t(o.n), Replica{});
  std::string dir_error;
  const std::string dir_name = make_temp_dir("psync-run", dir_error);
  if (dir_name.empty()) {
    res.error = dir_error;
    return res;
  }
  const fs::path dir(dir_name);
  const fs::path cluster_file = dir / "cluster.toml";
  std::set<int> taken;
  {
    std::vector<ClusterEntry> entries;
    for (int i = 0; i < o.n && res.error.empty(); ++i) {
      int port = free_port(taken);
      if (port < 0) res.error = "no free loopback port";
      entries.push_back({i, "127.0.0.1:" + std::to_string(port)});
    }
    std::vector<std::string> public_keys;
    if (res.error.empty() && o.keys) {
      std::vector<int> ids;
      for (const ClusterEntry& e : entries) ids.push_back(e.id);
      for (const ReplicaKeys& k : generate_keys((dir / "keys").string(), ids, res.error)) public_keys.push_back(k.public_hex);
    }
    if (res.error.empty() && o.keys) {
      write_keyed_cluster(cluster_file.string(), entries, public_keys, "written by psyncc run", res.error);
    } else if (res.error.empty()) {
      std::ofstream toml(cluster_file);
      toml << "# written by psyncc run (keyless)\n";
      for (const ClusterEntry& e : entries) toml << "[[process]]\nid = " << e.id << "\naddress = \"" << e.address << "\"\n";
    }
  }
  if (res.error.empty()) res.error = check_config(o, cluster_file, res.config_error);
  if (!res.error.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    return res;
  }

  if (o.on_start) o.on_start();

  struct sigaction sa{};
  struct sigaction old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  g_interrupted = 0;

  const size_t n = size_t(o.n);
  std::vector<pid_t> pids(n, -1);
  std::vector<int> out_fd(n, -1), err_fd(n, -1);
  std::vector<std::string> out_buf(n), err_buf(n);
  // Before the first fork: each replica's own clock, and so its time limit,
  // starts later, so that one stopping at its limit ends at or after it here.
  const int64_t start = now_us();
  for (size_t i = 0; i < n; ++i) {
    // A kill at time 0 is a crash before the replica runs at all: its child
    // kills itself before exec. (Killing it from here raced with a loaded
    // machine, on which it could send its first messages first.)
    bool crash_at_start = false;
    for (const Kill& k : o.kills) crash_at_start = crash_at_start || (size_t(k.replica) == i && k.after_us <= 0);
    res.replicas[i].killed = crash_at_start;
    pids[i] = spawn(replica_args(o, cluster_file, int(i)), out_fd[i], err_fd[i], crash_at_start);
    if (pids[i] < 0) {
      res.error = std::string("cannot start replica ") + std::to_string(i) + ": " + std::strerror(errno);
      break;
    }
  }

  std::vector<bool> done(n, false);
  for (size_t i = 0; i < n; ++i) done[i] = pids[i] < 0;
  auto all_done = [&] { return std::all_of(done.begin(), done.end(), [](bool b) { return b; }); };
  auto drain = [&](size_t i, int fd, bool is_err) {
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
      if (b.size() > kStderrTail) b.erase(0, b.size() - kStderrTail);
      return;
    }
    size_t nl;
    while ((nl = b.find('\n')) != std::string::npos) {
      std::string line = b.substr(0, nl);
      b.erase(0, nl + 1);
      Decision d;
      FinalState f;
      if (parse_decision_line(line, d)) res.decisions.push_back(d);
      else if (parse_final_line(line, f)) res.finals.push_back(f);
    }
  };

  // Each replica stops itself at the time limit; the grace covers its
  // start-up and shutdown. Only one that overstays it is stopped here.
  const int64_t deadline = o.time_limit_us + o.stop_grace_us;
  while (res.error.empty() && !all_done()) {
    if (g_interrupted) {
      res.interrupted = true;
      break;
    }
    const int64_t elapsed = now_us() - start;
    if (elapsed > deadline) break;
    for (const Kill& k : o.kills) {
      const size_t who = size_t(k.replica);
      if (k.replica >= 0 && who < n && !done[who] && !res.replicas[who].killed && elapsed >= k.after_us) {
        kill(pids[who], SIGKILL);
        res.replicas[who].killed = true;
      }
    }
    std::vector<pollfd> fds;
    std::vector<std::pair<size_t, bool>> owner;
    for (size_t i = 0; i < n; ++i) {
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
    for (size_t i = 0; i < n; ++i) {
      int status = 0;
      if (!done[i] && out_fd[i] < 0 && err_fd[i] < 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
        done[i] = true;
        res.replicas[i].status = decode_wait_status(status);
        res.replicas[i].ended_us = now_us() - start;
      }
    }
  }

  // Whoever still runs is stopped: SIGTERM, then SIGKILL after a second.
  for (size_t i = 0; i < n; ++i)
    if (!done[i]) {
      kill(pids[i], SIGTERM);
      res.replicas[i].stopped = true;
    }
  const int64_t grace = now_us();
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    int status = 0;
    while (waitpid(pids[i], &status, WNOHANG) == 0) {
      if (now_us() - grace > 1'000'000) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
        break;
      }
      usleep(2000);
    }
    res.replicas[i].status = decode_wait_status(status);
    res.replicas[i].ended_us = now_us() - start;
  }
  for (size_t i = 0; i < n; ++i) {
    while (out_fd[i] >= 0) drain(i, out_fd[i], false);
    while (err_fd[i] >= 0) drain(i, err_fd[i], true);
    res.replicas[i].stderr_tail = err_buf[i];
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return res;
}

Summary summarize(const ClusterOptions& o, const ClusterResult& r) {
  Summary s;
  if (!r.error.empty()) {
    s.exit_status = 2;
    return s;
  }
  std::vector<bool> killed(size_t(o.n), false);
  for (size_t i = 0; i < r.replicas.size() && i < killed.size(); ++i) killed[i] = r.replicas[i].killed;
  s.expected_deciders = int(std::count(killed.begin(), killed.end(), false));

  std::map<uint64_t, std::vector<const Decision*>> by_instance;
  for (const Decision& d : r.decisions)
    if (d.instance < o.instances && d.id >= 0 && d.id < o.n) by_instance[d.instance].push_back(&d);
  s.with_decisions = by_instance.size();

  std::vector<InstanceLine> incomplete_lines;
  auto judge = [&](uint64_t inst, const std::vector<const Decision*>* ds) {
    InstanceLine line;
    line.instance = inst;
    std::set<std::string> values;
    std::set<int> who;
    int live_deciders = 0;
    if (ds)
      for (const Decision* d : *ds) {
        values.insert(d->value);
        if (who.insert(d->id).second && !killed[size_t(d->id)]) ++live_deciders;
      }
    line.deciders = int(who.size());
    line.values.assign(values.begin(), values.end());
    line.complete = !who.empty() && live_deciders == s.expected_deciders;
    const bool agree = values.size() <= 1 || !o.decides;
    if (!o.decides) line.complete = true;  // nothing to decide: not "incomplete"
    if (!agree) ++s.disagreements;
    if (!line.complete) ++s.incomplete;
    if (o.instances <= 20 || !agree) s.shown.push_back(line);
    else if (!line.complete) incomplete_lines.push_back(line);
  };
  // Instances that nobody decided have no decision to find them by. Up to 20
  // instances, walk every id; past that, judge the decided ones, count the
  // rest, and name the first undecided ids.
  if (o.instances <= 20) {
    for (uint64_t i = 0; i < o.instances; ++i) {
      auto it = by_instance.find(i);
      judge(i, it == by_instance.end() ? nullptr : &it->second);
    }
  } else {
    for (auto& [inst, ds] : by_instance) judge(inst, &ds);
    if (o.decides) s.incomplete += o.instances - s.with_decisions;
    auto decided = by_instance.begin();  // walked alongside: O(decided + named)
    for (uint64_t i = 0, named = 0; o.decides && i < o.instances && named < kShownWhenMany; ++i) {
      while (decided != by_instance.end() && decided->first < i) ++decided;
      if (decided != by_instance.end() && decided->first == i) continue;
      incomplete_lines.push_back({i, 0, {}, false});
      ++named;
    }
    std::sort(incomplete_lines.begin(), incomplete_lines.end(),
              [](const InstanceLine& a, const InstanceLine& b) { return a.instance < b.instance; });
    if (incomplete_lines.size() > kShownWhenMany) incomplete_lines.resize(kShownWhenMany);
    s.shown.insert(s.shown.end(), incomplete_lines.begin(), incomplete_lines.end());
    std::sort(s.shown.begin(), s.shown.end(),
              [](const InstanceLine& a, const InstanceLine& b) { return a.instance < b.instance; });
  }
  const auto shown_incomplete =
      std::count_if(s.shown.begin(), s.shown.end(), [](const InstanceLine& l) { return !l.complete; });
  s.incomplete_not_shown = s.incomplete - uint64_t(shown_incomplete);

  bool cluster_failure = false;
  for (size_t i = 0; i < r.replicas.size(); ++i) {
    const Replica& rep = r.replicas[i];
    if (rep.killed || (r.interrupted && rep.stopped)) continue;
    if (!rep.stopped && rep.status == 1 && rep.ended_us >= o.time_limit_us) {
      s.at_time_limit.push_back(int(i));
    } else if (rep.stopped || rep.status != 0) {
      s.failed.push_back(int(i));
      cluster_failure = cluster_failure || (!rep.stopped && rep.status == 2);
    }
  }
  if (o.invariants) {
    s.invariants = evaluate_final_invariants(*o.invariants, o.n, o.instances, r.finals);
    for (const InstanceInvariants& v : s.invariants) s.invariant_violations += !v.violated.empty();
  }
  if (r.interrupted) s.exit_status = 130;
  else if (cluster_failure) s.exit_status = 2;
  else
    s.exit_status = s.disagreements == 0 && s.incomplete == 0 && s.failed.empty() && s.at_time_limit.empty() &&
                            s.invariant_violations == 0
                        ? 0
                        : 1;
  return s;
}

// The invariants over the final states: each violation and each instance
// that could not be judged (up to kShownWhenMany of those), then one line.
static void print_final_invariants(const ClusterOptions& o, const Summary& s, std::FILE* out) {
  if (!o.invariants) {
    std::fprintf(out, "invariants: not evaluated on the final states (psyncc check checks them)\n");
    return;
  }
  uint64_t evaluated = 0, unjudged = 0;
  for (const InstanceInvariants& v : s.invariants) {
    const auto inst = static_cast<unsigned long long>(v.instance);
    if (v.evaluated) ++evaluated;
    for (const std::string& name : v.violated)
      std::fprintf(out, "instance %llu: invariant `%s` VIOLATED on the final states (round %lld)\n", inst, name.c_str(),
                   static_cast<long long>(v.round));
    if (!v.evaluated && ++unjudged <= kShownWhenMany)
      std::fprintf(out, "instance %llu: invariants not evaluated: %s\n", inst, v.why_not.c_str());
  }
  const psync_protocol_desc& d = *o.invariants->desc;
  std::string names;
  for (uint32_t k = 0; k < d.num_specs; ++k)
    if (d.specs[k].kind == PSYNC_SPEC_INVARIANT) names += (names.empty() ? "" : ", ") + std::string(d.specs[k].name);
  std::string skipped;
  for (const std::string& x : o.invariants->not_evaluated) skipped += (skipped.empty() ? "" : ", ") + x;
  std::fprintf(out, "invariants on the final states: %s; %llu of %llu instance(s) evaluated, %llu violated%s%s\n",
               names.empty() ? "(none)" : names.c_str(), static_cast<unsigned long long>(evaluated),
               static_cast<unsigned long long>(o.instances), static_cast<unsigned long long>(s.invariant_violations),
               skipped.empty() ? "" : "; not evaluated here: ", skipped.c_str());
}

int print_summary(const ClusterOptions& o, const ClusterResult& r, std::FILE* out) {
  const Summary s = summarize(o, r);
  if (!r.error.empty()) {
    std::fprintf(stderr, "psyncc: error: %s\n", r.error.c_str());
    return s.exit_status;
  }
  if (!o.decides) {
    // No decision to agree on: each instance's final output vars, grouped.
    std::map<uint64_t, std::map<std::string, std::vector<int>>> finals;
    for (const FinalState& f : r.finals)
      if (f.instance < o.instances) finals[f.instance][f.outputs].push_back(f.id);
    uint64_t shown = 0;
    for (auto& [inst, groups] : finals) {
      if (++shown > kShownWhenMany) break;
      std::string text;
      for (auto& [outputs, ids] : groups) {
        std::vector<int> sorted = ids;
        std::sort(sorted.begin(), sorted.end());
        text += (text.empty() ? "" : "; ") + outputs + " at replica" + (sorted.size() == 1 ? " " : "s ") + join_ids(sorted);
      }
      if (groups.size() != 1 || groups.begin()->first != "{}")
        std::fprintf(out, "instance %llu: final outputs %s\n", static_cast<unsigned long long>(inst), text.c_str());
    }
    print_final_invariants(o, s, out);
    int killed = 0;
    for (const Replica& rep : r.replicas) killed += rep.killed;
    std::fprintf(out, "replicas: %d (%d killed), the protocol declares no decision: agreement not checked\n", o.n,
                 killed);
  }
  for (const InstanceLine& line : s.shown) {
    if (!o.decides) break;
    std::string vs;
    for (const std::string& v : line.values) vs += (vs.empty() ? "" : ", ") + v;
    const bool agree = line.values.size() <= 1;
    std::fprintf(out, "instance %llu: %d/%d decided%s%s%s%s\n", static_cast<unsigned long long>(line.instance),
                 line.deciders, o.n, line.values.empty() ? "" : line.values.size() == 1 ? ", value " : ", values ",
                 vs.c_str(), agree ? "" : "   <-- DISAGREEMENT", line.deciders == 0 ? "   <-- UNDECIDED" : "");
  }
  if (s.incomplete_not_shown > 0)
    std::fprintf(out, "... and %llu more incomplete instance(s)\n",
                 static_cast<unsigned long long>(s.incomplete_not_shown));
  int killed = 0;
  for (const Replica& rep : r.replicas) killed += rep.killed;
  if (o.decides)
  std::fprintf(out,
               "replicas: %d (%d killed), instances with decisions: %llu of %llu, agreement: %s, incomplete: %llu\n",
               o.n, killed, static_cast<unsigned long long>(s.with_decisions),
               static_cast<unsigned long long>(o.instances), s.disagreements ? "VIOLATED" : "yes",
               static_cast<unsigned long long>(s.incomplete));
  std::vector<int64_t> rounds, latencies;
  for (const Decision& d : r.decisions) {
    rounds.push_back(d.round);
    latencies.push_back(d.us);
  }
  if (!rounds.empty()) {
    std::fprintf(out, "rounds to decide: p50 %lld  p90 %lld  p99 %lld  max %lld\n",
                 static_cast<long long>(percentile(rounds, 0.5)), static_cast<long long>(percentile(rounds, 0.9)),
                 static_cast<long long>(percentile(rounds, 0.99)), static_cast<long long>(percentile(rounds, 1.0)));
    std::fprintf(out, "time to decide (us since start): p50 %lld  p90 %lld  p99 %lld  max %lld\n",
                 static_cast<long long>(percentile(latencies, 0.5)), static_cast<long long>(percentile(latencies, 0.9)),
                 static_cast<long long>(percentile(latencies, 0.99)), static_cast<long long>(percentile(latencies, 1.0)));
  }
  if (!s.at_time_limit.empty())
    std::fprintf(out, "stopped: the time limit (%s) was reached; replica%s %s stopped there with instances undecided\n",
                 cmdline::format_duration_us(o.time_limit_us).c_str(), s.at_time_limit.size() == 1 ? "" : "s",
                 join_ids(s.at_time_limit).c_str());
  if (r.interrupted) std::fprintf(out, "stopped: interrupted\n");
  for (int i : s.failed) {
    const Replica& rep = r.replicas[size_t(i)];
    std::fprintf(out, "replica %d %s\n", i, describe_end(rep).c_str());
    if (!rep.stderr_tail.empty()) {
      std::fprintf(out, "  its last log lines:\n%s", rep.stderr_tail.c_str());
      if (rep.stderr_tail.back() != '\n') std::fputc('\n', out);
    }
  }
  return s.exit_status;
}

}  // namespace psync::launch
