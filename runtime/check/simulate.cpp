// simulate.cpp: random executions of the compiled protocol. Each run draws
// inputs, heard-of sets (a message is lost with probability `loss`), arrival
// orders and crashes (a process crashes at the start of a round with
// probability `crash`: its messages of that round reach a random subset,
// then it is silent and frozen), checking every spec as it goes. Rounds run
// through round/round.h, as on the node. Run i uses seed+i, and a violating
// run is replayed with recording on to produce its trace. Under `byzantine
// f`, each run picks f faulty processes that lie at random (byzantine.h).
#include "byzantine.h"
#include "engine.h"
#include "round/round.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace psync::check {
namespace detail {
namespace {

class Simulator {
 public:
  Simulator(const psync_protocol_desc& desc, const SimulateOptions& opts) : d_(desc), o_(opts) {}
  SimulateResult run();

 private:
  struct Outcome {
    bool violation = false;
    bool assume_unsat = false;
    bool good_window = false;  // a liveness predicate held for its K rounds from a phase boundary
    int decided_round = -1;    // rounds until every live process decided
  };
  Outcome run_one(uint64_t seed, Trace* trace);
  void violate(Trace* trace, int spec, const std::string& kind, const std::string& detail);

  const psync_protocol_desc& d_;
  SimulateOptions o_;
  Proto P_;
  ByzantineModel byz_;
  int n_ = 0;
  size_t ss_ = 0;
  int rounds_ = 0;
};

void Simulator::violate(Trace* trace, int spec, const std::string& kind, const std::string& detail) {
  if (!trace) return;
  trace->spec = spec >= 0 && d_.specs[spec].name ? d_.specs[spec].name : kind;
  trace->spec_kind = kind;
  trace->detail = detail;
}

Simulator::Outcome Simulator::run_one(uint64_t seed, Trace* trace) {
  Outcome out;
  Rng rng(seed);
  Chooser& ch = P_.chooser;
  ch.rng = &rng;
  ch.capture = trace != nullptr;  // the replay of a violating run records logs and range errors
  ch.events.clear();
  std::vector<std::vector<std::string>> events(static_cast<size_t>(n_));
  size_t max_msz = *std::max_element(P_.msz.begin(), P_.msz.end());
  size_t obx_max = 8 + static_cast<size_t>(n_) * max_msz;
  std::vector<uint8_t> cur(static_cast<size_t>(n_) * ss_, 0), nxt(cur.size()), post(cur.size());
  std::vector<uint8_t> outbox(static_cast<size_t>(n_) * obx_max), mbox(obx_max);
  std::vector<char> crashed(static_cast<size_t>(n_), 0), crashing(static_cast<size_t>(n_), 0);
  std::vector<std::string> choices(static_cast<size_t>(n_)), update_choices(static_cast<size_t>(n_));
  const void* cp[PSYNC_MAX_N];
  const void* np[PSYNC_MAX_N];
  for (int i = 0; i < n_; ++i) {
    cp[i] = cur.data() + static_cast<size_t>(i) * ss_;
    np[i] = nxt.data() + static_cast<size_t>(i) * ss_;
  }
  auto proc = [&](std::vector<uint8_t>& v, int i) { return v.data() + static_cast<size_t>(i) * ss_; };
  auto take_choices = [&](const char* what) {
    std::string s;
    if (!ch.script.empty()) s = std::string(what) + " " + format_words(ch.script);
    ch.script.clear();
    ch.arity.clear();
    ch.pos = 0;
    return s;
  };

  // Inputs and initial states.
  if (trace) {
    trace->protocol = d_.name ? d_.name : "";
    trace->n = n_;
    trace->seed = static_cast<int64_t>(seed);
  }
  for (int i = 0; i < n_; ++i) {
    std::vector<int64_t> in;
    for (uint32_t k = 0; k < d_.num_inputs; ++k) {
      auto [lo, hi] = d_.inputs[k].kind == PSYNC_KIND_BYTES  // an index into the bytes domain
                          ? std::pair<int64_t, int64_t>(0, int64_t(P_.bytes_domain.size()) - 1)
                          : input_domain(d_.inputs[k], n_, o_.values_lo, o_.values_hi);
      in.push_back(lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo) + 1)));
    }
    psync_env env = P_.env(i, 0);
    take_choices("");
    d_.init(proc(cur, i), &env, P_.input_words(in.data()).data());
    take_choices("");
    if (trace) {
      trace->inputs.push_back(in);
      trace->initial.push_back(P_.describe(proc(cur, i), i, 0));
    }
  }
  if (byz_.on()) {  // f distinct faulty processes, fixed for the run
    uint64_t faulty = 0;
    for (int k = 0; k < byz_.f; ++k) {
      int pick = static_cast<int>(rng.below(static_cast<uint64_t>(n_ - k)));
      for (int i = 0; i < n_; ++i)
        if (!(faulty >> i & 1) && pick-- == 0) {
          faulty |= uint64_t{1} << i;
          make_faulty(proc(cur, i), ss_);
          if (trace) trace->initial[static_cast<size_t>(i)] = P_.describe(proc(cur, i), i, 0);
          break;
        }
    }
  }
  {
    psync_env env = P_.env(0, 0);
    for (int s : P_.invariants)
      if (!d_.specs[s].eval(cp, &env)) {
        out.violation = true;
        violate(trace, s, "invariant", std::string("invariant ") + d_.specs[s].name + " is false in an initial state");
        return out;
      }
    for (int i = 0; i < n_; ++i)
      if (has_range_error(proc(cur, i))) {
        out.violation = true;
        violate(trace, -2, "range", "p" + std::to_string(i) + ": a value out of range in its initial state (an input or a "
                                    "var's initialiser)");
        return out;
      }
  }

  std::vector<uint64_t> live_hist(d_.num_specs, 0);  // bit k: the predicate held k rounds ago
  uint64_t ho[PSYNC_MAX_N];
  for (int r = 0; r < rounds_; ++r) {
    const psync_round_desc& rd = P_.round_of(r);
    size_t msz = P_.msg_size(r);
    size_t obx = 8 + static_cast<size_t>(n_) * msz;
    TraceStep step;
    step.round = r;
    step.round_name = rd.name ? rd.name : "";

    // Crashes, then sends.
    for (int i = 0; i < n_; ++i) {
      crashing[static_cast<size_t>(i)] = !crashed[static_cast<size_t>(i)] && o_.crash > 0 && rng.unit() < o_.crash;
      choices[static_cast<size_t>(i)].clear();
      events[static_cast<size_t>(i)].clear();
    }
    std::memcpy(post.data(), cur.data(), cur.size());
    for (int i = 0; i < n_; ++i) {
      uint8_t* ob = outbox.data() + static_cast<size_t>(i) * obx_max;
      std::memset(ob, 0, obx);
      if (crashed[static_cast<size_t>(i)]) continue;
      if (byz_.on() && is_faulty(proc(post, i))) {  // a value or nothing to each receiver
        const size_t values = byz_.count[static_cast<size_t>(r % static_cast<int64_t>(d_.num_rounds))];
        uint32_t pick[PSYNC_MAX_N];
        for (int j = 0; j < n_; ++j) pick[j] = static_cast<uint32_t>(rng.below(values + 1));
        write_lies(byz_, P_, i, r, pick, ob);
        continue;
      }
      psync_env env = P_.env(i, r);
      ch.events.clear();
      round::run_send(rd, env, proc(post, i), ob);  // a halted process sends nothing
      events[static_cast<size_t>(i)] = ch.events;
      choices[static_cast<size_t>(i)] = take_choices("send");
    }
    auto sent = [&](int j, int i) { return (load_word(outbox.data() + static_cast<size_t>(j) * obx_max, 0) >> i & 1) != 0; };
    auto payload = [&](int j, int i) { return outbox.data() + static_cast<size_t>(j) * obx_max + 8 + static_cast<size_t>(i) * msz; };

    // Heard-of sets: self always heard; others lost with probability `loss`;
    // a crashing sender reaches each peer with probability 1/2 on top.
    auto draw_ho = [&]() {
      for (int i = 0; i < n_; ++i) {
        uint64_t h = 0;
        for (int j = 0; j < n_; ++j) {
          bool heard = j == i ? !crashed[static_cast<size_t>(j)] : (!crashed[static_cast<size_t>(j)] && rng.unit() >= o_.loss);
          if (heard && crashing[static_cast<size_t>(j)] && j != i) heard = rng.below(2) == 1;
          if (heard) h |= uint64_t{1} << j;
        }
        ho[i] = h;
      }
    };
    // Each process ends the round as the node would (round/round.h): its
    // own message first, then the drawn messages in a random arrival order,
    // stopping where the round closes. Its heard-of set is then who it
    // heard; bits of processes that sent it nothing stay as drawn.
    std::vector<std::vector<std::string>> update_events(static_cast<size_t>(n_));
    auto run_round = [&]() {
      std::memcpy(nxt.data(), post.data(), post.size());
      for (int i = 0; i < n_; ++i) {
        update_choices[static_cast<size_t>(i)].clear();
        update_events[static_cast<size_t>(i)].clear();
        if (crashed[static_cast<size_t>(i)] || crashing[static_cast<size_t>(i)] || is_halted(proc(nxt, i))) continue;
        uint64_t senders = 0;
        for (int j = 0; j < n_; ++j)
          if (sent(j, i)) senders |= uint64_t{1} << j;
        psync_env env = P_.env(i, r);
        const round::Step rstep(rd, env, msz);
        round::Cursor c;
        ch.events.clear();
        const bool own = (ho[i] >> i & 1) && (senders >> i & 1);
        rstep.open(c, proc(nxt, i), mbox.data(), own ? payload(i, i) : nullptr);
        int order[PSYNC_MAX_N];
        int k = 0;
        for (int j = 0; j < n_; ++j)
          if (j != i && (ho[i] >> j & 1) && (senders >> j & 1)) order[k++] = j;
        for (int a = k - 1; a > 0; --a) std::swap(order[a], order[rng.below(static_cast<uint64_t>(a) + 1)]);
        for (int a = 0; a < k && c.open(); ++a) rstep.offer(c, proc(nxt, i), mbox.data(), order[a], payload(order[a], i));
        rstep.complete(c, proc(nxt, i), mbox.data());
        update_events[static_cast<size_t>(i)] = ch.events;
        ho[i] = (ho[i] & ~senders) | c.heard;
        update_choices[static_cast<size_t>(i)] = take_choices("update");
      }
    };
    bool admitted = false;
    for (int attempt = 0; attempt < (P_.assumes.empty() ? 1 : 1000) && !admitted; ++attempt) {
      draw_ho();
      run_round();
      psync_env env = P_.env(0, r);
      admitted = true;
      for (int s : P_.assumes) admitted = admitted && d_.specs[s].pred(cp, ho, &env);
    }
    if (!admitted) {
      out.assume_unsat = true;
      return out;
    }
    {
      psync_env env = P_.env(0, r);
      for (int s : P_.liveness)
        live_hist[static_cast<size_t>(s)] = live_hist[static_cast<size_t>(s)] << 1 | (d_.specs[s].pred(cp, ho, &env) ? 1 : 0);
    }
    for (int i = 0; i < n_; ++i) {
      auto& c = choices[static_cast<size_t>(i)];
      const auto& u = update_choices[static_cast<size_t>(i)];
      if (!u.empty()) c += (c.empty() ? "" : ", ") + u;
      auto& ev = events[static_cast<size_t>(i)];
      ev.insert(ev.end(), update_events[static_cast<size_t>(i)].begin(), update_events[static_cast<size_t>(i)].end());
    }
    for (int i = 0; i < n_; ++i)
      if (crashing[static_cast<size_t>(i)]) crashed[static_cast<size_t>(i)] = 1;

    if (trace) {
      for (int i = 0; i < n_; ++i) {
        step.ho.push_back(ho[i]);
        step.choices.push_back(choices[static_cast<size_t>(i)]);
        step.events.push_back(events[static_cast<size_t>(i)]);
        TraceProcess p = P_.describe(proc(nxt, i), i, r + 1);
        p.crashed = crashed[static_cast<size_t>(i)] != 0;
        step.after.push_back(p);
        for (int to = 0; to < n_; ++to)
          if (sent(i, to) && !is_faulty(proc(cur, to))) {  // what a liar hears is of no consequence
            TraceMessage msg;
            msg.from = i;
            msg.to = to;
            msg.delivered = (ho[to] >> i & 1) && !crashed[static_cast<size_t>(to)] && !is_halted(proc(cur, to));
            const uint8_t* slot = outbox.data() + static_cast<size_t>(i) * obx_max + 8 + static_cast<size_t>(to) * msz;
            for (size_t w = 0; w + 8 <= msz; w += 8) msg.words.push_back(load_word(slot, w));
            msg.value = P_.print_msg(slot, i, r);
            step.messages.push_back(std::move(msg));
          }
      }
      trace->steps.push_back(std::move(step));
    }

    // Specs on the new states.
    psync_env env = P_.env(0, r);
    for (int s : P_.properties)
      if (!d_.specs[s].eval2(cp, np, &env)) {
        out.violation = true;
        violate(trace, s, "property", std::string("property ") + d_.specs[s].name + " is false across round " + std::to_string(r));
        return out;
      }
    psync_env env_next = P_.env(0, r + 1);
    for (int s : P_.invariants)
      if (!d_.specs[s].eval(np, &env_next)) {
        out.violation = true;
        violate(trace, s, "invariant", std::string("invariant ") + d_.specs[s].name + " is false after round " + std::to_string(r));
        return out;
      }
    // After the user's specs: at equal length those are the better report.
    for (int i = 0; i < n_; ++i)
      if (has_conflict(proc(nxt, i))) {
        out.violation = true;
        violate(trace, -1, "conflict", "p" + std::to_string(i) + " decided two different values in round " + std::to_string(r));
        return out;
      }
    for (int i = 0; i < n_; ++i)
      if (has_range_error(proc(nxt, i))) {
        out.violation = true;
        std::string what = "a value out of range where a process id or a set element was expected";
        for (const std::string& e : events[static_cast<size_t>(i)])
          if (e.rfind("range error: ", 0) == 0) what = e.substr(13);
        violate(trace, -2, "range", "p" + std::to_string(i) + " in round " + std::to_string(r) + ": " + what);
        return out;
      }
    for (int s : P_.liveness) {
      int k = static_cast<int>(d_.specs[s].after_rounds);
      if (k == 0 || k > 63 || r + 1 < k || (r + 1 - k) % static_cast<int>(d_.num_rounds) != 0) continue;
      uint64_t need = (uint64_t{1} << k) - 1;
      if ((live_hist[static_cast<size_t>(s)] & need) == need) out.good_window = true;
      if ((live_hist[static_cast<size_t>(s)] & need) == need && !d_.specs[s].eval(np, &env_next)) {
        out.violation = true;
        if (trace) trace->liveness_from = r + 1 - k;
        violate(trace, s, "liveness",
                std::string("liveness ") + d_.specs[s].name + ": " + std::to_string(k) +
                    " rounds satisfying its predicate, from round " + std::to_string(r + 1 - k) + ", end with its goal false");
        return out;
      }
    }
    cur.swap(nxt);
    for (int i = 0; i < n_; ++i) {
      cp[i] = cur.data() + static_cast<size_t>(i) * ss_;
      np[i] = nxt.data() + static_cast<size_t>(i) * ss_;
    }
    bool all_decided = true, all_stopped = true;
    for (int i = 0; i < n_; ++i) {
      bool dead = crashed[static_cast<size_t>(i)] != 0 || is_faulty(proc(cur, i));  // only correct ones must decide
      all_decided = all_decided && (dead || is_decided(proc(cur, i)));
      all_stopped = all_stopped && (dead || is_halted(proc(cur, i)));
    }
    if (all_decided && out.decided_round < 0) out.decided_round = r + 1;
    if (all_stopped) break;
  }
  return out;
}

SimulateResult Simulator::run() {
  SimulateResult res;
  auto start = std::chrono::steady_clock::now();
  std::string err = P_.setup(d_, o_.n, o_.consts);
  if (err.empty() && o_.values_lo > o_.values_hi) err = "empty value range";
  if (err.empty()) err = P_.set_bytes_domain(o_.bytes_values, o_.values_lo, o_.values_hi);
  if (err.empty()) err = setup_byzantine(P_, o_.values_lo, o_.values_hi, false, byz_);
  if (err.empty() && !(o_.loss >= 0 && o_.loss <= 1 && o_.crash >= 0 && o_.crash <= 1))
    err = "loss and crash must be probabilities in [0, 1]";
  if (!err.empty()) {
    res.verdict = Verdict::kError;
    res.error = err;
    return res;
  }
  n_ = o_.n;
  ss_ = P_.ss;
  rounds_ = o_.rounds >= 0 ? o_.rounds : std::max(30, 10 * static_cast<int>(d_.num_rounds));
  res.decide_histogram.assign(static_cast<size_t>(rounds_) + 1, 0);
  for (uint64_t k = 0; k < o_.runs; ++k) {
    if (o_.stop != nullptr && *o_.stop != 0) res.stopped = *o_.stop == 2 ? "SIGTERM" : "SIGINT";
    else if (o_.time_limit_s > 0 &&
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= o_.time_limit_s)
      res.stopped = "time limit";
    if (!res.stopped.empty()) break;
    uint64_t seed = o_.seed + k;
    Outcome out = run_one(seed, nullptr);
    ++res.runs;
    if (out.assume_unsat) ++res.runs_assume_unsat;
    if (out.decided_round >= 0 && !out.violation) {
      ++res.runs_decided;
      ++res.decide_histogram[static_cast<size_t>(out.decided_round)];
    } else if (!out.violation && !out.assume_unsat) {
      ++res.runs_undecided;
      if (out.good_window) ++res.runs_undecided_good_window;
    }
    if (out.violation) {
      res.verdict = Verdict::kViolation;
      run_one(seed, &res.trace);  // the same seed again, recording
      break;
    }
  }
  P_.chooser.rng = nullptr;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace
}  // namespace detail

SimulateResult simulate(const psync_protocol_desc& desc, const SimulateOptions& opts) {
  detail::Simulator sim(desc, opts);
  return sim.run();
}

}  // namespace psync::check
