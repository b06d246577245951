// embedded_log.cpp: a downstream application on psync::replica. It runs three
// replicas of a replicated log in its own io_context (loopback UDP between
// them), proposes PROPOSALS values spread over the three, and checks that
// the decision callbacks of all three saw the same log, holding every
// proposal exactly once. Exit 0 and "PASS ..." on success, 3 when a port
// cannot be bound, 1 on a failed check.
// usage: embedded_log PORT0 PORT1 PORT2 PROPOSALS
#include <psync/replica.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" const psync_protocol_desc psync_protocol;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PORT0 PORT1 PORT2 PROPOSALS\n", argv[0]);
    return 2;
  }
  const int n = 3;
  const size_t proposals = std::strtoul(argv[4], nullptr, 10);
  std::vector<std::string> cluster;
  for (int i = 0; i < n; ++i) cluster.push_back(std::string("127.0.0.1:") + argv[1 + i]);

  boost::asio::io_context io;
  boost::asio::steady_timer deadline(io, std::chrono::seconds(60));
  std::vector<std::unique_ptr<psync::Replica>> replicas;
  std::vector<std::vector<psync::Decision>> logs(n);
  bool done = false;
  // With the replicas stopped and the deadline cancelled, io.run() returns.
  auto stop_all = [&] {
    for (auto& r : replicas) r->stop();
    deadline.cancel();
  };
  for (int i = 0; i < n; ++i) {
    psync::ReplicaOptions o;
    o.id = i;
    o.cluster = cluster;
    replicas.push_back(std::make_unique<psync::Replica>(io, psync_protocol, o));
    replicas.back()->on_decision([&, i](const psync::Decision& d) {
      logs[size_t(i)].push_back(d);
      bool all = true;
      for (auto& l : logs) all = all && l.size() >= proposals;
      if (all && !done) {
        done = true;
        boost::asio::post(io, stop_all);  // not from inside the replica's own callback
      }
    });
  }
  try {
    for (auto& r : replicas) r->start();
  } catch (const std::exception& e) {  // a port taken meanwhile: the caller retries with others
    std::fprintf(stderr, "cannot start: %s\n", e.what());
    return 3;
  }

  // Every proposal through propose(); ids made up by the replicas.
  std::map<std::string, std::string> proposed;  // id -> value
  for (size_t k = 0; k < proposals; ++k) {
    const std::string value = "value-" + std::to_string(k);
    proposed[replicas[k % n]->propose(value)] = value;
  }

  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (!ec && !done) {
      std::fprintf(stderr, "FAIL: the logs hold %zu, %zu, %zu of %zu entries after 60 s\n", logs[0].size(),
                   logs[1].size(), logs[2].size(), proposals);
      stop_all();
    }
  });
  io.run();

  if (!done) return 1;
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    if (logs[size_t(i)].size() != proposals) {
      std::fprintf(stderr, "FAIL: replica %d logged %zu entries, expected %zu\n", i, logs[size_t(i)].size(), proposals);
      ++failures;
      continue;
    }
    std::map<std::string, int> seen;
    for (size_t s = 0; s < proposals; ++s) {
      const psync::Decision& d = logs[size_t(i)][s];
      const psync::Decision& ref = logs[0][s];
      if (d.seq != s) ++failures, std::fprintf(stderr, "FAIL: replica %d entry %zu has seq %llu\n", i, s, (unsigned long long)d.seq);
      if (d.id != ref.id || d.value != ref.value || d.instance != ref.instance)
        ++failures, std::fprintf(stderr, "FAIL: replica %d differs from replica 0 at entry %zu\n", i, s);
      auto it = proposed.find(d.id);
      if (it == proposed.end() || it->second != d.value)
        ++failures, std::fprintf(stderr, "FAIL: replica %d entry %zu (%s) was never proposed\n", i, s, d.id.c_str());
      if (++seen[d.id] > 1) ++failures, std::fprintf(stderr, "FAIL: replica %d logs %s twice\n", i, d.id.c_str());
    }
    if (replicas[size_t(i)]->log_size() != proposals) ++failures;
  }
  if (failures > 0) return 1;
  uint64_t entries = 0;
  for (auto& [name, v] : replicas[0]->counters())
    if (name == "log_entries") entries = v;
  std::printf("PASS: 3 embedded replicas agree on a log of %zu proposals (replica 0 counted %llu entries, last instance %llu)\n",
              proposals, (unsigned long long)entries, (unsigned long long)logs[0].back().instance);
  return 0;
}
