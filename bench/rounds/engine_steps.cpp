// engine_steps.cpp: the round engine alone, n processes of one compiled
// protocol in one thread. Every message and decided notice goes through one
// FIFO queue; the clock advances one microsecond per delivery, so no round
// times out and a run is the same sequence of engine calls every time. Under
// `valgrind --tool=callgrind` it counts the engine's instructions per round
// and per instance exactly, which the node's CPU time on this shared VM
// cannot resolve (bench/README.md, "Issue 11, wave 11: the engine").
//
// The engine is configured as the node configures it (lingering with the
// pause after deciding, catch-ups settled after each delivery, the round
// latency recorded); each process keeps `--window` instances running and
// starts an instance when a peer's message for it arrives first, as the
// node does. There is no transport, no authentication, no decision output
// and no timer wheel: what is left is the engine, the generated code and
// this driver's queue.
//
//   engine-steps-lv [-n 3] [--instances 20000] [--window 100]
//
// prints one JSON line: deliveries, rounds per instance, timeouts (0 unless
// the queue empties with instances waiting), decisions, and the wall-clock
// nanoseconds per instance per process (a rough figure; callgrind's count is
// the exact one).
#include "engine/engine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

extern "C" const psync_protocol_desc psync_protocol;

namespace {

using namespace psync::engine;

struct Delivery {
  uint64_t instance;
  int64_t round;
  int32_t from, to;
  bool decided, notice;
  uint32_t length;
  std::byte payload[64];
};

std::deque<Delivery> queue;

class Process final : public Host {
 public:
  Process(const Layout& layout, const std::vector<int64_t>& consts, int32_t n, int32_t me, uint64_t instances)
      : layout_(layout), consts_(consts), me_(me), slot_of_(instances, nullptr), done_(instances, 0) {
    config.n = n;
    config.me = me;
    config.seed = 1;
    config.linger_rounds = 2;  // the node's defaults with lingering on
    config.linger_us = 100'000;
    config.pause_after_decide = true;
    config.defer_catch_up = true;
    config.round_latency = &latency_;
    inputs_.resize(std::max<uint32_t>(layout.desc->num_inputs, 1));
  }

  Config config;
  Counters counters;
  uint64_t decisions = 0;

  // Starts instance `id` here, in a recycled object if there is one.
  Instance& start(uint64_t id, int64_t now) {
    for (size_t k = 0; k < inputs_.size(); ++k) inputs_[k] = int64_t((id * 7919 + uint64_t(me_) * 104729 + k) % 100);
    const std::span<const int64_t> in(inputs_.data(), layout_.desc->num_inputs);
    Instance* inst;
    if (!free_.empty()) {
      inst = free_.back();
      free_.pop_back();
      inst->reset(id, in);
    } else {
      pool_.push_back(std::make_unique<Instance>(layout_, config, consts_.data(), id, in, *this, counters));
      inst = pool_.back().get();
    }
    slot_of_[id] = inst;
    ++live_;
    inst->start(now);
    return *inst;
  }
  Instance* running(uint64_t id) const { return slot_of_[id]; }
  bool done(uint64_t id) const { return done_[id] != 0; }

  // After every call into an instance: settle a pending catch-up (the node
  // does so once per receive batch; here every delivery is one), retire a
  // finished instance and keep the window full.
  void after(Instance& inst, int64_t now) {
    if (inst.catch_up_pending()) inst.settle(now);
    if (!inst.finished()) return;
    slot_of_[inst.id()] = nullptr;
    done_[inst.id()] = 1;
    --live_;
    free_.push_back(&inst);
    fill(now);
  }
  void fill(int64_t now) {
    if (filling_) return;
    filling_ = true;
    while (live_ < window_ && next_ < slot_of_.size()) {
      const uint64_t id = next_++;
      if (!done_[id] && slot_of_[id] == nullptr) after(start(id, now), now);
    }
    filling_ = false;
  }
  void set_window(uint64_t w) { window_ = w; }
  template <typename F>
  void each_running(F&& f) {
    for (Instance* inst : slot_of_)
      if (inst != nullptr) f(*inst);
  }

  void send_message(uint64_t instance, int64_t round, int32_t to, std::span<const std::byte> payload,
                    bool decided) override {
    Delivery d{instance, round, me_, to, decided, false, uint32_t(payload.size()), {}};
    if (payload.size() > sizeof d.payload) {
      std::fprintf(stderr, "engine-steps: a %zu-byte message is larger than the queue's %zu\n", payload.size(),
                   sizeof d.payload);
      std::exit(2);
    }
    std::memcpy(d.payload, payload.data(), payload.size());
    queue.push_back(d);
  }
  void announce_decided(uint64_t instance, int64_t round, uint64_t to) override {
    for (int32_t p = 0; p < config.n; ++p)
      if ((to >> p) & 1) queue.push_back(Delivery{instance, round, me_, p, true, true, 0, {}});
  }
  void report_decision(uint64_t, int64_t, const void*) override { ++decisions; }

 private:
  const Layout& layout_;
  const std::vector<int64_t>& consts_;
  const int32_t me_;
  LatencyHistogram latency_;
  std::vector<int64_t> inputs_;
  std::vector<Instance*> slot_of_;  // by instance id: running here, or null
  std::vector<uint8_t> done_;
  std::vector<std::unique_ptr<Instance>> pool_;
  std::vector<Instance*> free_;
  uint64_t next_ = 0, live_ = 0, window_ = 1;
  bool filling_ = false;
};

uint64_t number(const char* text, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) {
    std::fprintf(stderr, "engine-steps: %s wants a positive integer, not '%s'\n", what, text);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int32_t n = 3;
  uint64_t instances = 20'000, window = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: %s [-n N] [--instances K] [--window W]\n", argv[0]);
      return 2;
    }
    if (a == "-n") n = int32_t(std::min<uint64_t>(number(argv[++i], "-n"), PSYNC_MAX_N));
    else if (a == "--instances") instances = number(argv[++i], "--instances");
    else if (a == "--window") window = number(argv[++i], "--window");
    else {
      std::fprintf(stderr, "engine-steps: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const psync_protocol_desc& desc = psync_protocol;
  const Layout layout = Layout::compute(desc, n);
  std::vector<int64_t> consts(std::max<uint32_t>(desc.num_consts, 1));
  desc.const_defaults(n, consts.data());
  std::vector<std::unique_ptr<Process>> procs;
  for (int32_t p = 0; p < n; ++p) {
    procs.push_back(std::make_unique<Process>(layout, consts, n, p, instances));
    procs.back()->set_window(window);
  }

  const auto t0 = std::chrono::steady_clock::now();
  int64_t now = 1;
  uint64_t deliveries = 0;
  for (auto& p : procs) p->fill(now);
  while (true) {
    if (queue.empty()) {
      // Nothing in flight: the earliest deadline fires (a pause after
      // deciding that nobody ended, or a round waiting for a message that
      // will not come).
      int64_t earliest = kNoDeadline;
      for (auto& p : procs) p->each_running([&](Instance& inst) { earliest = std::min(earliest, inst.deadline_us()); });
      if (earliest == kNoDeadline) break;
      now = std::max(now, earliest);
      for (auto& p : procs) {
        std::vector<Instance*> due;
        p->each_running([&](Instance& inst) {
          if (inst.deadline_us() <= now) due.push_back(&inst);
        });
        for (Instance* inst : due) {
          inst->on_timer(now);
          p->after(*inst, now);
        }
      }
      continue;
    }
    const Delivery d = queue.front();
    queue.pop_front();
    ++now;
    ++deliveries;
    Process& p = *procs[size_t(d.to)];
    if (p.done(d.instance)) continue;
    Instance* inst = p.running(d.instance);
    if (inst == nullptr) {
      if (d.notice) continue;
      inst = &p.start(d.instance, now);  // a peer runs it already: join
    }
    if (d.decided) inst->peer_decided(d.from);
    if (!d.notice && !inst->finished()) inst->receive(d.from, d.round, {d.payload, d.length}, now);
    p.after(*inst, now);
  }
  const double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());

  uint64_t rounds = 0, timeouts = 0, decisions = 0;
  for (auto& p : procs) {
    rounds += p->counters.rounds_completed;
    timeouts += p->counters.timeouts;
    decisions += p->decisions;
  }
  const double per = double(n) * double(instances);
  std::printf(
      "{\"n\":%d,\"instances\":%llu,\"window\":%llu,\"deliveries\":%llu,\"rounds_per_instance\":%.3f,"
      "\"timeouts\":%llu,\"decisions\":%llu,\"ns_per_instance_per_process\":%.1f}\n",
      n, (unsigned long long)instances, (unsigned long long)window, (unsigned long long)deliveries, double(rounds) / per,
      (unsigned long long)timeouts, (unsigned long long)decisions, ns / per);
  return decisions == uint64_t(per) ? 0 : 1;
}
