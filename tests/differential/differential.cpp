// differential.cpp: holds the node to what the checker explores. For each
// protocol it runs clusters of the node's round engine (engine::Instance)
// over a fake network and a fake clock, with message loss, delay,
// duplication and late starts (so rounds time out, close early, are caught
// up and skipped), records every local transition each process takes and
// every message it sends, and then asks the checker's local step
// (check::local_step, the explorer's successor relation for one process)
// whether that transition and those messages are among its outcomes.
//
// usage: psync-differential [--runs K] [-n N]... [--mutate state|message] FILE.psync...
// Exit status 0 if every transition is covered, 1 on the first that is not
// (with the seed, the process, the round and both sides), 2 on bad usage.
//
// --mutate shows that the comparison can fail: before comparing, it
// corrupts what was recorded of each run (the node itself runs unchanged),
// flipping the lowest bit of the last word of the first recorded post-state
// (`state`) or of the first byte of the first recorded message (`message`).
// A deterministic protocol must then fail on the first run.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "codegen/codegen.h"
#include "abi/typed_values.h"
#include "engine/engine.h"
#include "sema/frontend.h"

namespace {

using psync::engine::Instance;

struct Transition {
  int64_t round;
  std::vector<std::byte> before, after;
  uint64_t heard;
};

struct Message {
  int64_t time;
  uint64_t seq;
  int32_t from, to;
  int64_t round;
  std::vector<std::byte> payload;
  bool operator>(const Message& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct Network;

// One process: the engine's host, recording what it sends and does.
struct Process : psync::engine::Host {
  int32_t me = 0;
  Network* net = nullptr;
  std::unique_ptr<Instance> inst;
  int64_t start_us = 0;
  std::vector<Transition> transitions;
  std::map<std::pair<int64_t, int32_t>, std::vector<std::byte>> sent;  // (round, to) -> payload
  bool sent_twice = false;

  void send_message(uint64_t, int64_t round, int32_t to, std::span<const std::byte> payload, bool) override;
  void report_decision(uint64_t, int64_t, const void*) override {}
  void round_completed(uint64_t, int64_t round, std::span<const std::byte> before, std::span<const std::byte> after,
                       uint64_t heard) override {
    transitions.push_back({round, {before.begin(), before.end()}, {after.begin(), after.end()}, heard});
  }
};

// The fake network: each message is lost, delayed or duplicated at random.
struct Network {
  std::mt19937_64 rng;
  double loss = 0.1, dup = 0.05;
  int64_t max_delay_us = 1500;
  int64_t now = 0;
  uint64_t seq = 0;
  std::priority_queue<Message, std::vector<Message>, std::greater<>> queue;

  void post(int32_t from, int32_t to, int64_t round, std::span<const std::byte> payload) {
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng) < loss) return;
    int copies = u(rng) < dup ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      int64_t delay = std::uniform_int_distribution<int64_t>(0, max_delay_us)(rng);
      queue.push({now + delay, seq++, from, to, round, {payload.begin(), payload.end()}});
    }
  }
};

void Process::send_message(uint64_t, int64_t round, int32_t to, std::span<const std::byte> payload, bool) {
  auto [it, fresh] = sent.try_emplace({round, to}, payload.begin(), payload.end());
  if (!fresh) sent_twice = true;  // at most one message per destination and round
  net->post(me, to, round, payload);
}

enum class Mutation { None, State, Message };

struct Totals {
  uint64_t runs = 0, transitions = 0, messages = 0;
  psync::engine::Counters counters;
};

void add_counters(psync::engine::Counters& into, const psync::engine::Counters& c) {
#define PSYNC_X(name) into.name += c.name;
  PSYNC_ENGINE_COUNTERS(PSYNC_X)
#undef PSYNC_X
}

std::string describe(const psync_protocol_desc& d, int n, int me, int64_t round, const void* state) {
  std::vector<int64_t> consts(d.num_consts);
  if (d.const_defaults) d.const_defaults(n, consts.data());
  psync_env env{};
  env.n = n;
  env.me = me;
  env.round = round;
  env.phase = round / d.num_rounds;
  env.consts = consts.data();
  char buf[4096];
  int32_t len = d.print_state(state, &env, buf, sizeof buf);
  return len < 0 ? std::string("?") : std::string(buf, std::min<size_t>(size_t(len), sizeof buf - 1));
}

// One seeded run at n processes; returns "" or what went wrong.
std::string run_one(const psync_protocol_desc& desc, int n, uint64_t seed, Mutation mutation, Totals& totals) {
  Network net;
  net.rng.seed(seed * 0x9E3779B97F4A7C15ull + uint64_t(n));
  std::uniform_real_distribution<double> u(0, 1);
  const double losses[] = {0.0, 0.1, 0.3};
  const int64_t delays[] = {200, 1500, 40'000};
  net.loss = losses[seed % 3];
  net.max_delay_us = delays[(seed / 3) % 3];

  psync::engine::Layout layout = psync::engine::Layout::compute(desc, n);
  std::vector<int64_t> consts(desc.num_consts);
  if (desc.const_defaults) desc.const_defaults(n, consts.data());
  psync::engine::Config config;
  config.n = n;
  config.default_timeout_us = 1000;
  config.after_decide_rounds = 2;
  config.max_rounds = 6 * int64_t(desc.num_rounds) + 6;
  config.catch_up_grace_us = (seed / 9) % 2 == 0 ? 0 : 300;
  config.suppress_catch_up_sends = (seed / 18) % 2 == 0;
  config.record_rounds = true;
  config.seed = seed;

  std::vector<psync::engine::Config> configs(static_cast<size_t>(n), config);
  std::vector<psync::engine::Counters> counters(static_cast<size_t>(n));
  std::vector<Process> procs(static_cast<size_t>(n));
  // bytes<K> inputs: init reads a [length][bytes] buffer (abi.h) that must
  // outlive the instances' start; the values are the texts "0" .. "2".
  std::vector<std::vector<int64_t>> bytes_buffers;
  for (int i = 0; i < n; ++i) {
    Process& p = procs[size_t(i)];
    p.me = i;
    p.net = &net;
    configs[size_t(i)].me = i;
    // A third of the processes start late, up to a few timeouts behind.
    if (u(net.rng) < 0.33) p.start_us = std::uniform_int_distribution<int64_t>(0, 5000)(net.rng);
    std::vector<int64_t> inputs;
    for (uint32_t k = 0; k < desc.num_inputs; ++k) {
      switch (desc.inputs[k].kind) {
        case PSYNC_KIND_BOOL: inputs.push_back(int64_t(net.rng() % 2)); break;
        case PSYNC_KIND_PID: inputs.push_back(int64_t(net.rng() % uint64_t(n))); break;
        case PSYNC_KIND_PIDSET: inputs.push_back(int64_t(net.rng() & psync::round::all_of(n))); break;
        case PSYNC_KIND_BYTES:
          bytes_buffers.push_back(psync::bytes_input_buffer(std::to_string(net.rng() % 3)));
          inputs.push_back(int64_t(reinterpret_cast<uintptr_t>(bytes_buffers.back().data())));
          break;
        default: inputs.push_back(int64_t(net.rng() % 3)); break;
      }
    }
    p.inst = std::make_unique<Instance>(layout, configs[size_t(i)], consts.data(), 0, inputs, p, counters[size_t(i)]);
  }

  // The clock jumps from event to event: starts, arrivals, deadlines.
  for (int steps = 0; steps < 1'000'000; ++steps) {
    int64_t next = psync::engine::kNoDeadline;
    if (!net.queue.empty()) next = net.queue.top().time;
    for (auto& p : procs) {
      if (p.inst->status() == psync::engine::Status::Idle) next = std::min(next, p.start_us);
      else if (!p.inst->finished()) next = std::min(next, p.inst->deadline_us());
    }
    if (next == psync::engine::kNoDeadline) break;
    net.now = std::max(net.now, next);
    for (auto& p : procs)
      if (p.inst->status() == psync::engine::Status::Idle && p.start_us <= net.now) p.inst->start(net.now);
    while (!net.queue.empty() && net.queue.top().time <= net.now) {
      Message m = net.queue.top();
      net.queue.pop();
      Process& to = procs[size_t(m.to)];
      // Nobody listens before a process starts: the datagram is lost.
      if (to.inst->status() == psync::engine::Status::Running) to.inst->receive(m.from, m.round, m.payload, net.now);
    }
    for (auto& p : procs)
      if (p.inst->status() == psync::engine::Status::Running && p.inst->deadline_us() <= net.now)
        p.inst->on_timer(net.now);
  }

  // --mutate: corrupt the first record of the first process that has one.
  for (Process& p : procs) {
    if (mutation == Mutation::State && !p.transitions.empty() && p.transitions[0].after.size() >= 8) {
      p.transitions[0].after[p.transitions[0].after.size() - 8] ^= std::byte{1};
      break;
    }
    if (mutation == Mutation::Message && !p.sent.empty() && !p.sent.begin()->second.empty()) {
      p.sent.begin()->second[0] ^= std::byte{1};
      break;
    }
  }

  // Every transition against the checker's local step.
  for (const Process& p : procs) {
    if (p.sent_twice) return "p" + std::to_string(p.me) + " sent two messages to one peer in one round";
    for (const Transition& t : p.transitions) {
      std::vector<const void*> incoming(size_t(n), nullptr);
      for (int j = 0; j < n; ++j) {
        if (j == p.me) continue;
        auto it = procs[size_t(j)].sent.find({t.round, p.me});
        if (it != procs[size_t(j)].sent.end()) incoming[size_t(j)] = it->second.data();
      }
      psync::check::LocalStep step = psync::check::local_step(desc, n, {}, p.me, t.round, t.before.data(), incoming);
      if (!step.error.empty()) return "local_step: " + step.error;
      ++totals.transitions;
      bool covered = false;
      for (const auto& s : step.states)
        covered = covered || (s.size() == t.after.size() && std::memcmp(s.data(), t.after.data(), s.size()) == 0);
      if (!covered) {
        // Appended piece by piece: `"p" + std::to_string(...)` gets a false
        // -Wrestrict from g++ 12 at -O3.
        std::string why = "p";
        for (const std::string& piece :
             {std::to_string(p.me), std::string(" round "), std::to_string(t.round), std::string(" heard "),
              std::to_string(t.heard), std::string(": the node went from\n    "),
              describe(desc, n, p.me, t.round, t.before.data()), std::string("\n  to\n    "),
              describe(desc, n, p.me, t.round + 1, t.after.data()),
              std::string("\n  which is not among the checker's "), std::to_string(step.states.size()),
              std::string(" outcomes:")})
          why += piece;
        for (const auto& s : step.states) why += "\n    " + describe(desc, n, p.me, t.round + 1, s.data());
        return why;
      }
      // The messages it sent in this round come from one of the outboxes.
      const uint64_t msz = layout.msg_size[layout.decl_of(t.round)];
      bool sends_ok = false;
      for (const auto& ob : step.outboxes) {
        uint64_t presence;
        std::memcpy(&presence, ob.data(), 8);
        bool all = true;
        for (int to = 0; to < n && all; ++to) {
          auto it = p.sent.find({t.round, to});
          if (it == p.sent.end()) continue;
          ++totals.messages;
          all = ((presence >> to) & 1) && it->second.size() == msz &&
                std::memcmp(ob.data() + 8 + uint64_t(to) * msz, it->second.data(), msz) == 0;
        }
        sends_ok = sends_ok || all;
      }
      if (!sends_ok)
        return "p" + std::to_string(p.me) + " round " + std::to_string(t.round) +
               " sent messages that no outcome of its send produces, from " +
               describe(desc, n, p.me, t.round, t.before.data());
    }
  }
  for (const auto& c : counters) add_counters(totals.counters, c);
  ++totals.runs;
  return "";
}

struct Loaded {
  std::unique_ptr<psync::Compilation> c;
  std::unique_ptr<psync::JitProtocol> jit;
};

bool load(const std::string& path, Loaded& out) {
  out.c = std::make_unique<psync::Compilation>();
  psync::StreamConsumer console;
  psync::DiagnosticEngine diags(out.c->sources, console);
  psync::FrontendOptions opts;
  opts.sema.warn_unused = false;
  if (!psync::run_frontend(*out.c, path, diags, opts)) return false;
  std::string error;
  out.jit = psync::jit_compile(*out.c->program, out.c->sources, 2, error);
  if (!out.jit) std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
  return out.jit != nullptr;
}

}  // namespace

constexpr const char* kUsage =
    "usage: psync-differential [--runs K] [-n N]... [--mutate state|message] FILE.psync...\n";

int main(int argc, char** argv) {
  uint64_t runs = 60;
  Mutation mutation = Mutation::None;
  std::vector<int> ns;
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    if (arg == "--runs" && a + 1 < argc) {
      runs = std::strtoull(argv[++a], nullptr, 10);
    } else if (arg == "-n" && a + 1 < argc) {
      ns.push_back(std::atoi(argv[++a]));
    } else if (arg == "--mutate" && a + 1 < argc) {
      const std::string kind = argv[++a];
      if (kind != "state" && kind != "message") {
        std::fputs(kUsage, stderr);
        return 2;
      }
      mutation = kind == "state" ? Mutation::State : Mutation::Message;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fputs(kUsage, stderr);
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (ns.empty()) ns = {3, 4};
  if (files.empty() || runs == 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  for (int n : ns)
    if (n < 1 || n > 8) {
      std::fprintf(stderr, "psync-differential: -n must be in 1..8\n");
      return 2;
    }
  for (const std::string& f : files) {
    Loaded l;
    if (!load(f, l)) return 2;
    const psync_protocol_desc& d = *l.jit->descriptor();
    Totals t;
    for (int n : ns)
      for (uint64_t seed = 1; seed <= runs; ++seed) {
        std::string why = run_one(d, n, seed, mutation, t);
        if (!why.empty()) {
          std::fprintf(stderr, "%s: n=%d seed=%llu: %s\n", f.c_str(), n, static_cast<unsigned long long>(seed),
                       why.c_str());
          return 1;
        }
      }
    const auto& c = t.counters;
    std::printf("%s: %llu runs, %llu transitions and %llu messages covered; %llu timeouts, %llu closed early, "
                "%llu catch-ups, %llu rounds skipped, %llu messages after close\n",
                f.c_str(), static_cast<unsigned long long>(t.runs), static_cast<unsigned long long>(t.transitions),
                static_cast<unsigned long long>(t.messages), static_cast<unsigned long long>(c.timeouts),
                static_cast<unsigned long long>(c.rounds_ended_by_go + c.rounds_ended_full),
                static_cast<unsigned long long>(c.catch_ups), static_cast<unsigned long long>(c.rounds_skipped),
                static_cast<unsigned long long>(c.messages_after_close_dropped));
    // The runs must reach what the test claims to cover.
    if (t.transitions == 0 || c.timeouts == 0 || c.catch_ups == 0) {
      std::fprintf(stderr, "%s: the runs never timed out or caught up: the test covers too little\n", f.c_str());
      return 1;
    }
  }
  return 0;
}
