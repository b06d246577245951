// session.cpp: one interactive exploration, stepped with the checker's own
// machinery (runtime/check: Proto for the descriptor, LocalSteps for every
// way a process can end a round, round::run_send for the send), so that a
// round taken here is a round the checker explores and the node runs.
#include "session.h"

#include "engine.h"  // runtime/check internals: Proto, Chooser, describe, format_words
#include "local.h"
#include "round/round.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

namespace psync::explore {

using nlohmann::json;
namespace cd = psync::check::detail;

namespace {

// Past this many rounds a step is refused: the history is kept in memory.
constexpr size_t kMaxRounds = 100000;
// The feasible heard-of sets of the next round are listed up to this n.
constexpr int kMaxFeasibleN = 8;

struct SendAlt {
  std::vector<uint8_t> unit;  // state after send, then the outbox
  std::vector<int64_t> choices;
  std::vector<std::string> events;
};

struct Outcome {
  std::vector<uint8_t> state;
  std::vector<int64_t> choices;
  std::vector<std::string> events;
};

// The rounds of a loaded counterexample, what replay needs of them.
struct TraceRound {
  std::vector<uint64_t> ho;
  std::vector<bool> crashed;         // simulate: crashed by the end of the round
  std::vector<std::string> choices;  // "send W, update W" per process, as capture_step writes it
  std::vector<std::string> vars;     // the states after, as printed by the checker
};

struct LoadedTrace {
  std::string spec, kind, detail;
  std::vector<std::string> initial_vars;
  std::vector<TraceRound> rounds;
};

json set_to_json(uint64_t set, int n) {
  json a = json::array();
  for (int i = 0; i < n; ++i)
    if (set >> i & 1) a.push_back(i);
  return a;
}

json proc_to_json(const check::TraceProcess& p, int i) {
  return {{"p", i},
          {"vars", p.vars},
          {"decided", p.decided},
          {"halted", p.halted},
          {"conflict", p.conflict},
          {"range_error", p.range_error},
          {"crashed", p.crashed}};
}

// "send W, update W" -> ("W", "W"), the halves capture_step joins.
std::pair<std::string, std::string> split_choices(const std::string& c) {
  std::string send, update;
  if (c.rfind("send ", 0) == 0) {
    const size_t k = c.find(", update ");
    send = c.substr(5, k == std::string::npos ? std::string::npos : k - 5);
    if (k != std::string::npos) update = c.substr(k + 9);
  } else if (c.rfind("update ", 0) == 0) {
    update = c.substr(7);
  }
  return {send, update};
}

std::string words_or_empty(const std::vector<int64_t>& w) { return w.empty() ? "" : cd::format_words(w); }

}  // namespace

struct SessionImpl {
  struct Frame {
    int64_t round = 0;
    std::vector<std::vector<uint8_t>> states;
    // Crashed processes (as `simulate --crash` crashes them): they neither
    // send nor update any more; their state stays as it was.
    std::vector<bool> crashed;
  };
  // What the page shows of one round besides the trace step.
  struct StepInfo {
    std::vector<size_t> send_outcomes, outcomes, picked;
    bool from_replay = false;
    std::vector<std::string> mismatches;  // replay: where this run left the trace
  };

  const psync_protocol_desc& d;
  ExploreOptions o;
  cd::Proto P;
  std::string error;
  std::vector<std::vector<int64_t>> inputs;  // per process; a bytes input holds an index into P.bytes_domain
  std::vector<Frame> frames;                 // frames[0]: the initial states
  std::vector<check::TraceStep> steps;       // steps[k] leads from frames[k] to frames[k + 1]
  std::vector<StepInfo> info;
  std::vector<std::string> initial_mismatches;
  bool has_trace = false;
  LoadedTrace trace;
  cd::LocalSteps local;

  SessionImpl(const psync_protocol_desc& desc, const ExploreOptions& opts) : d(desc), o(opts) {}

  int n() const { return o.n; }
  const Frame& now() const { return frames.back(); }

  std::pair<int64_t, int64_t> domain_of(uint32_t k) const {
    if (d.inputs[k].kind == PSYNC_KIND_BYTES) return {0, int64_t(P.bytes_domain.size()) - 1};
    return cd::input_domain(d.inputs[k], n(), o.values_lo, o.values_hi);
  }

  // Defaults: process i's k-th input is the (i + k)-th value of its domain,
  // cyclically, so that processes start out disagreeing.
  std::vector<std::vector<int64_t>> default_inputs() const {
    std::vector<std::vector<int64_t>> in(static_cast<size_t>(n()));
    for (int i = 0; i < n(); ++i)
      for (uint32_t k = 0; k < d.num_inputs; ++k) {
        auto [lo, hi] = domain_of(k);
        in[size_t(i)].push_back(lo + int64_t((uint64_t(i) + k) % uint64_t(hi - lo + 1)));
      }
    return in;
  }

  // The initial states for `in`; init's coin() and random() take their first outcome.
  void start(std::vector<std::vector<int64_t>> in) {
    inputs = std::move(in);
    frames.assign(1, Frame{});
    steps.clear();
    info.clear();
    initial_mismatches.clear();
    for (int i = 0; i < n(); ++i) {
      std::vector<uint8_t> s(P.ss, 0);
      psync_env env = P.env(i, 0);
      const std::vector<int64_t> words = P.input_words(inputs[size_t(i)].data());
      P.chooser.begin_exhaustive();
      d.init(s.data(), &env, words.data());
      frames[0].states.push_back(std::move(s));
    }
    frames[0].crashed.assign(size_t(n()), false);
  }

  std::vector<SendAlt> send_alternatives(int j, int64_t r) {
    std::vector<SendAlt> alts;
    const size_t unit = P.ss + 8 + size_t(n()) * P.msg_size(r);
    const psync_env env = P.env(j, r);
    if (now().crashed[size_t(j)]) {  // sends nothing, stays as it is
      SendAlt a;
      a.unit.assign(unit, 0);
      std::memcpy(a.unit.data(), now().states[size_t(j)].data(), P.ss);
      alts.push_back(std::move(a));
      return alts;
    }
    cd::Chooser& ch = P.chooser;
    ch.begin_exhaustive();
    do {
      SendAlt a;
      a.unit.assign(unit, 0);
      std::memcpy(a.unit.data(), now().states[size_t(j)].data(), P.ss);
      ch.events.clear();
      round::run_send(P.round_of(r), env, a.unit.data(), a.unit.data() + P.ss);
      bool dup = false;
      for (const SendAlt& b : alts) dup = dup || b.unit == a.unit;
      if (dup) continue;
      a.choices.assign(ch.script.begin(), ch.script.begin() + long(ch.pos));
      a.events = ch.events;
      alts.push_back(std::move(a));
    } while (ch.advance());
    return alts;
  }

  // Who sent to process i, and where each message is, given the sends taken.
  uint64_t senders_to(int i, int64_t r, const std::vector<const SendAlt*>& sent, const uint8_t** msg) const {
    const size_t msz = P.msg_size(r);
    uint64_t senders = 0;
    for (int j = 0; j < n(); ++j) {
      const uint8_t* box = sent[size_t(j)]->unit.data() + P.ss;
      if (uint64_t(cd::load_word(box, 0)) >> i & 1) {
        senders |= uint64_t{1} << j;
        msg[j] = box + 8 + size_t(i) * msz;
      }
    }
    return senders;
  }

  // Every distinct way process i can end round r having heard exactly
  // `want` (local.h), and every heard set it could end with at all.
  std::vector<Outcome> outcomes_of(int i, int64_t r, const std::vector<const SendAlt*>& sent, uint64_t want,
                                   std::vector<uint64_t>* feasible) {
    const uint8_t* msg[PSYNC_MAX_N] = {};
    const uint64_t senders = senders_to(i, r, sent, msg);
    const uint8_t* post = sent[size_t(i)]->unit.data();
    std::vector<Outcome> out;
    P.chooser.capture = true;
    local.run(P, i, r, post, senders, msg,
              [&](const uint8_t* st, uint64_t heard, const int64_t* choices, size_t count, cd::OutcomeEvents ev) {
                if (feasible && std::find(feasible->begin(), feasible->end(), heard) == feasible->end())
                  feasible->push_back(heard);
                if (heard != want) return;
                for (const Outcome& x : out)
                  if (std::memcmp(x.state.data(), st, P.ss) == 0) return;
                out.push_back({std::vector<uint8_t>(st, st + P.ss), std::vector<int64_t>(choices, choices + count),
                               std::vector<std::string>(ev.lines, ev.lines + ev.count)});
              });
    return out;
  }

  // One round from the current frame. `ho[i]` is masked with who sent to
  // i (and is empty for a halted process). With `guide`, the coin outcomes
  // and arrival orders are those of a trace's round, found by the checker's
  // own labels for them; `pick`/`send_pick` choose otherwise.
  // `crashing[i]`: process i crashes in this round, as `simulate` crashes
  // it: it sends, then takes no update (its messages reach whom `ho` says).
  std::string take_round(const std::vector<uint64_t>& ho, const std::vector<bool>& automatic,
                         const std::vector<bool>& crashing, const std::vector<size_t>& send_pick,
                         const std::vector<size_t>& pick, const TraceRound* guide) {
    if (steps.size() >= kMaxRounds) return "the explorer keeps at most " + std::to_string(kMaxRounds) + " rounds";
    const int64_t r = now().round;
    const size_t msz = P.msg_size(r);
    StepInfo si;
    si.from_replay = guide != nullptr;
    std::vector<std::vector<SendAlt>> sends(static_cast<size_t>(n()));
    std::vector<const SendAlt*> sent(static_cast<size_t>(n()));
    for (int j = 0; j < n(); ++j) {
      auto& alts = sends[size_t(j)] = send_alternatives(j, r);
      size_t k = send_pick[size_t(j)];
      if (guide) {
        const std::string want = split_choices(guide->choices[size_t(j)]).first;
        k = 0;
        while (k < alts.size() && words_or_empty(alts[k].choices) != want) ++k;
        if (k == alts.size()) {
          si.mismatches.push_back("p" + std::to_string(j) + ": no send outcome labelled \"" + want + "\"");
          k = 0;
        }
      }
      if (k >= alts.size())
        return "p" + std::to_string(j) + "'s send has " + std::to_string(alts.size()) + " outcome(s), not #" +
               std::to_string(k);
      sent[size_t(j)] = &alts[k];
      si.send_outcomes.push_back(alts.size());
    }
    check::TraceStep st;
    st.round = r;
    st.round_name = P.round_of(r).name ? P.round_of(r).name : "";
    Frame next;
    next.round = r + 1;
    for (int i = 0; i < n(); ++i) next.crashed.push_back(now().crashed[size_t(i)] || crashing[size_t(i)]);
    for (int i = 0; i < n(); ++i) {
      const std::string send_label = words_or_empty(sent[size_t(i)]->choices);
      if (next.crashed[size_t(i)]) {  // no update: the state after its send (if any)
        st.choices.push_back(send_label.empty() ? "" : "send " + send_label);
        st.ho.push_back(0);
        st.events.push_back(sent[size_t(i)]->events);
        st.after.push_back(P.describe(sent[size_t(i)]->unit.data(), i, r + 1));
        st.after.back().crashed = true;
        si.outcomes.push_back(1);
        si.picked.push_back(0);
        if (guide && st.after.back().vars != guide->vars[size_t(i)])
          si.mismatches.push_back("p" + std::to_string(i) + " ends in " + st.after.back().vars + ", the trace shows " +
                                  guide->vars[size_t(i)]);
        next.states.emplace_back(sent[size_t(i)]->unit.begin(), sent[size_t(i)]->unit.begin() + long(P.ss));
        continue;
      }
      const uint8_t* msg[PSYNC_MAX_N] = {};
      const uint64_t senders = senders_to(i, r, sent, msg);
      const bool halted = cd::is_halted(sent[size_t(i)]->unit.data());
      uint64_t want = halted ? 0 : ho[size_t(i)] & senders;
      if (!halted && automatic[size_t(i)]) want = largest_feasible(i, r, sent);
      std::vector<uint64_t> feasible;
      std::vector<Outcome> outs = outcomes_of(i, r, sent, want, &feasible);
      if (outs.empty()) {
        std::sort(feasible.begin(), feasible.end());
        std::string can;
        for (size_t k = 0; k < feasible.size() && k < 8; ++k) can += (k ? " " : "") + cd::format_set(feasible[k], n());
        if (feasible.size() > 8) can += " ...";
        return "p" + std::to_string(i) + " cannot end round " + std::to_string(r) + " having heard exactly " +
               cd::format_set(want, n()) + " (its round closes before); it can end having heard " + can;
      }
      size_t k = pick[size_t(i)];
      if (guide) {
        const TraceRound& g = *guide;
        const std::string want_label = split_choices(g.choices[size_t(i)]).second;
        k = 0;
        while (k < outs.size() && words_or_empty(outs[k].choices) != want_label) ++k;
        if (k == outs.size()) {  // no label: take the state the trace shows
          k = 0;
          while (k < outs.size() && P.print_state(outs[k].state.data(), i, r + 1) != g.vars[size_t(i)]) ++k;
        }
        if (k == outs.size()) {
          si.mismatches.push_back("p" + std::to_string(i) + ": no outcome matches the trace's");
          k = 0;
        }
      }
      if (k >= outs.size())
        return "p" + std::to_string(i) + " has " + std::to_string(outs.size()) + " outcome(s) with HO " +
               cd::format_set(want, n()) + ", not #" + std::to_string(k);
      si.outcomes.push_back(outs.size());
      si.picked.push_back(k);
      // The labels and events as the checker's counterexamples give them.
      std::string c;
      if (!send_label.empty()) c += "send " + send_label;
      const std::string upd = words_or_empty(outs[k].choices);
      if (!upd.empty()) c += std::string(c.empty() ? "" : ", ") + "update " + upd;
      st.choices.push_back(c);
      st.ho.push_back(want);
      std::vector<std::string> ev = sent[size_t(i)]->events;
      ev.insert(ev.end(), outs[k].events.begin(), outs[k].events.end());
      st.events.push_back(std::move(ev));
      st.after.push_back(P.describe(outs[k].state.data(), i, r + 1));
      if (guide && st.after.back().vars != guide->vars[size_t(i)])
        si.mismatches.push_back("p" + std::to_string(i) + " ends in " + st.after.back().vars + ", the trace shows " +
                                guide->vars[size_t(i)]);
      next.states.push_back(std::move(outs[k].state));
    }
    for (int j = 0; j < n(); ++j) {
      const uint8_t* box = sent[size_t(j)]->unit.data() + P.ss;
      const uint64_t to = uint64_t(cd::load_word(box, 0));
      for (int i = 0; i < n(); ++i) {
        if (!(to >> i & 1)) continue;
        check::TraceMessage m;
        m.from = j;
        m.to = i;
        m.delivered = (st.ho[size_t(i)] >> j & 1) != 0;
        const uint8_t* slot = box + 8 + size_t(i) * msz;
        for (size_t w = 0; w + 8 <= msz; w += 8) m.words.push_back(cd::load_word(slot, w));
        m.value = P.print_msg(slot, j, r);  // as counterexamples print it: some(0), {1, 3}
        st.messages.push_back(std::move(m));
      }
    }
    frames.push_back(std::move(next));
    steps.push_back(std::move(st));
    info.push_back(std::move(si));
    return "";
  }

  // "Hear all who sent", or where the round closes first (`go when`), the
  // largest set it can end with: its own message first, then lower pids.
  uint64_t largest_feasible(int i, int64_t r, const std::vector<const SendAlt*>& sent) {
    std::vector<uint64_t> feasible;
    outcomes_of(i, r, sent, ~uint64_t{0}, &feasible);
    uint64_t best = 0;
    auto rank = [&](uint64_t m) { return std::make_tuple(std::popcount(m), m >> i & 1, ~m); };
    for (uint64_t m : feasible)
      if (rank(m) > rank(best)) best = m;
    return best;
  }

  std::vector<const void*> ptrs(const Frame& f) const {
    std::vector<const void*> p;
    for (const auto& s : f.states) p.push_back(s.data());
    return p;
  }

  // Each spec's verdict over the rounds taken: the first frame (or round)
  // where it failed, or that it holds so far. Liveness needs every heard-of
  // vector, which one run does not give: the page says so.
  json spec_verdicts() const {
    json out = json::array();
    for (uint32_t s = 0; s < d.num_specs; ++s) {
      const psync_spec_desc& sp = d.specs[s];
      json v = {{"name", sp.name ? sp.name : ""}, {"kind", cd::spec_kind_name(sp.kind)}};
      int64_t failed_at = -1;  // the round after which it failed (-1: holds; 0: initially)
      if (sp.kind == PSYNC_SPEC_INVARIANT) {
        for (size_t f = 0; f < frames.size() && failed_at < 0; ++f) {
          psync_env env = P.env(0, frames[f].round);
          if (!sp.eval(ptrs(frames[f]).data(), &env)) failed_at = frames[f].round;
        }
      } else if (sp.kind == PSYNC_SPEC_PROPERTY) {
        for (size_t f = 0; f + 1 < frames.size() && failed_at < 0; ++f) {
          psync_env env = P.env(0, frames[f].round);
          if (!sp.eval2(ptrs(frames[f]).data(), ptrs(frames[f + 1]).data(), &env)) failed_at = frames[f + 1].round;
        }
      } else if (sp.kind == PSYNC_SPEC_ASSUME) {  // does every HO vector taken satisfy it?
        for (size_t f = 0; f + 1 < frames.size() && failed_at < 0; ++f) {
          psync_env env = P.env(0, frames[f].round);
          if (!sp.pred(ptrs(frames[f]).data(), steps[f].ho.data(), &env)) failed_at = frames[f + 1].round;
        }
      } else {
        v["status"] = "not judged";
        v["why"] = "liveness quantifies over every heard-of vector; run psyncc check";
        out.push_back(std::move(v));
        continue;
      }
      v["status"] = failed_at < 0 ? "holds" : "violated";
      if (failed_at >= 0) v["at_round"] = failed_at;
      out.push_back(std::move(v));
    }
    return out;
  }

  // The heard sets each process could end the next round with (first send
  // outcomes), which the page offers as one-click choices.
  json feasible_next() {
    json out = json::array();
    if (n() > kMaxFeasibleN) return out;
    const int64_t r = now().round;
    std::vector<std::vector<SendAlt>> sends;
    std::vector<const SendAlt*> sent;
    for (int j = 0; j < n(); ++j) sends.push_back(send_alternatives(j, r));
    for (int j = 0; j < n(); ++j) sent.push_back(&sends[size_t(j)][0]);
    for (int i = 0; i < n(); ++i) {
      std::vector<uint64_t> feasible;
      if (now().crashed[size_t(i)]) {
        out.push_back(json::array());
        continue;
      }
      outcomes_of(i, r, sent, ~uint64_t{0}, &feasible);
      std::sort(feasible.begin(), feasible.end(), [](uint64_t a, uint64_t b) {
        return std::popcount(a) != std::popcount(b) ? std::popcount(a) > std::popcount(b) : a < b;
      });
      json sets = json::array();
      for (uint64_t m : feasible) sets.push_back(set_to_json(m, n()));
      out.push_back(std::move(sets));
    }
    return out;
  }
};

Session::Session(const psync_protocol_desc& desc, const ExploreOptions& opts)
    : impl_(std::make_unique<SessionImpl>(desc, opts)) {
  SessionImpl& s = *impl_;
  s.error = s.P.setup(desc, opts.n, opts.consts);
  if (s.error.empty() && s.P.has_bytes_inputs())
    s.error = s.P.set_bytes_domain(opts.bytes_values, opts.values_lo, opts.values_hi);
  if (s.error.empty()) s.start(s.default_inputs());
}

Session::~Session() = default;

const std::string& Session::error() const { return impl_->error; }

std::string Session::reset(const json& inputs) {
  SessionImpl& s = *impl_;
  std::vector<std::vector<int64_t>> in = s.default_inputs();
  if (!inputs.is_null()) {
    if (!inputs.is_array() || inputs.size() != size_t(s.n()))
      return "inputs: expected an array of " + std::to_string(s.n()) + " arrays (one per process)";
    for (int i = 0; i < s.n(); ++i) {
      const json& row = inputs[size_t(i)];
      if (!row.is_array() || row.size() != s.d.num_inputs)
        return "inputs[" + std::to_string(i) + "]: expected " + std::to_string(s.d.num_inputs) + " integers";
      for (uint32_t k = 0; k < s.d.num_inputs; ++k) {
        if (!row[k].is_number_integer()) return "inputs[" + std::to_string(i) + "]: expected integers";
        const int64_t v = row[k].get<int64_t>();
        auto [lo, hi] = s.domain_of(k);
        if (v < lo || v > hi)
          return "input `" + std::string(s.d.inputs[k].name) + "` of p" + std::to_string(i) + " is " +
                 std::to_string(v) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi);
        in[size_t(i)][k] = v;
      }
    }
  }
  s.has_trace = false;
  s.start(std::move(in));
  return "";
}

namespace {

// A per-process list of indices (optional, default 0).
std::string read_picks(const json& req, const char* key, int n, std::vector<size_t>& out) {
  out.assign(size_t(n), 0);
  if (!req.contains(key) || req[key].is_null()) return "";
  const json& a = req[key];
  if (!a.is_array() || a.size() != size_t(n))
    return std::string(key) + ": expected an array of " + std::to_string(n) + " indices";
  for (int i = 0; i < n; ++i) {
    const json& k = a[size_t(i)];
    if (!k.is_number_integer() || k.get<int64_t>() < 0) return std::string(key) + ": expected non-negative integers";
    out[size_t(i)] = size_t(k.get<int64_t>());
  }
  return "";
}

// A set of pids as JSON (a list) -> a bitset; "" or the reason it is not one.
std::string read_set(const json& a, int n, uint64_t& set) {
  set = 0;
  if (!a.is_array()) return "expected a list of process ids";
  for (const json& v : a) {
    if (!v.is_number_integer()) return "expected a list of process ids";
    const int64_t p = v.get<int64_t>();
    if (p < 0 || p >= n) return "process id " + std::to_string(p) + " out of range 0.." + std::to_string(n - 1);
    set |= uint64_t{1} << p;
  }
  return "";
}

}  // namespace

std::string Session::step(const json& req) {
  SessionImpl& s = *impl_;
  if (!req.is_object()) return "expected a JSON object";
  // null (the whole vector or one entry): all who sent, as far as the round can take them.
  std::vector<uint64_t> ho(size_t(s.n()), 0);
  std::vector<bool> automatic(size_t(s.n()), true);
  if (req.contains("ho") && !req["ho"].is_null()) {
    const json& h = req["ho"];
    if (!h.is_array() || h.size() != size_t(s.n()))
      return "ho: expected an array of " + std::to_string(s.n()) + " entries (a list of pids, or null for all)";
    for (int i = 0; i < s.n(); ++i) {
      if (h[size_t(i)].is_null()) continue;
      automatic[size_t(i)] = false;
      if (std::string e = read_set(h[size_t(i)], s.n(), ho[size_t(i)]); !e.empty())
        return "ho[" + std::to_string(i) + "]: " + e;
    }
  }
  std::vector<size_t> pick, send_pick;
  if (std::string e = read_picks(req, "pick", s.n(), pick); !e.empty()) return e;
  if (std::string e = read_picks(req, "send_pick", s.n(), send_pick); !e.empty()) return e;
  std::vector<bool> crashing(size_t(s.n()), false);
  if (req.contains("crash") && !req["crash"].is_null()) {
    uint64_t set = 0;
    if (std::string e = read_set(req["crash"], s.n(), set); !e.empty()) return "crash: " + e;
    for (int i = 0; i < s.n(); ++i) crashing[size_t(i)] = (set >> i & 1) != 0;
  }
  return s.take_round(ho, automatic, crashing, send_pick, pick, nullptr);
}

std::string Session::undo() {
  SessionImpl& s = *impl_;
  if (s.steps.empty()) return "nothing to undo: this is the initial state";
  s.frames.pop_back();
  s.steps.pop_back();
  s.info.pop_back();
  return "";
}

std::string Session::load_trace(const json& t) {
  SessionImpl& s = *impl_;
  if (!t.is_object()) return "a trace is a JSON object (psyncc check --trace-json)";
  const std::string name = s.d.name ? s.d.name : "";
  if (!t.contains("protocol") || !t["protocol"].is_string() || !t.contains("n") || !t["n"].is_number_integer())
    return "not a trace of psyncc check --trace-json: no \"protocol\" or \"n\"";
  if (t["protocol"].get<std::string>() != name)
    return "the trace is of protocol " + t["protocol"].get<std::string>() + ", this explorer runs " + name;
  if (t["n"].get<int64_t>() != s.n())
    return "the trace has n = " + std::to_string(t["n"].get<int64_t>()) + ", this explorer runs n = " +
           std::to_string(s.n()) + " (restart with -n " + std::to_string(t["n"].get<int64_t>()) + ")";
  if (s.P.has_bytes_inputs()) return "traces of protocols with bytes<K> inputs cannot be replayed yet";
  LoadedTrace lt;
  std::vector<std::vector<int64_t>> in;
  try {
    const json& v = t.at("violation");
    lt.spec = v.value("spec", "");
    lt.kind = v.value("kind", "");
    lt.detail = v.value("detail", "");
    const json& ins = t.at("inputs");
    if (!ins.is_array() || ins.size() != size_t(s.n())) return "\"inputs\": expected one array per process";
    for (const json& row : ins) {
      if (!row.is_array() || row.size() != s.d.num_inputs)
        return "\"inputs\": expected " + std::to_string(s.d.num_inputs) + " values per process";
      in.push_back(row.get<std::vector<int64_t>>());
    }
    for (const json& p : t.at("initial")) lt.initial_vars.push_back(p.at("vars").get<std::string>());
    const json& rounds = t.at("rounds");
    if (!rounds.is_array()) return "\"rounds\": expected an array";
    for (size_t k = 0; k < rounds.size(); ++k) {
      const json& r = rounds[k];
      if (r.at("round").get<int64_t>() != int64_t(k))
        return "\"rounds\"[" + std::to_string(k) + "] is round " + std::to_string(r.at("round").get<int64_t>()) +
               "; a trace starts at round 0 and has one entry per round";
      TraceRound tr;
      const json& ho = r.at("ho");
      const json& ch = r.at("choices");
      const json& after = r.at("after");
      if (!ho.is_array() || ho.size() != size_t(s.n()) || !ch.is_array() || ch.size() != size_t(s.n()) ||
          !after.is_array() || after.size() != size_t(s.n()))
        return "\"rounds\"[" + std::to_string(k) + "]: \"ho\", \"choices\" and \"after\" need one entry per process";
      for (int i = 0; i < s.n(); ++i) {
        uint64_t set = 0;
        if (std::string e = read_set(ho[size_t(i)], s.n(), set); !e.empty())
          return "\"rounds\"[" + std::to_string(k) + "].ho[" + std::to_string(i) + "]: " + e;
        tr.ho.push_back(set);
        tr.choices.push_back(ch[size_t(i)].get<std::string>());
        tr.vars.push_back(after[size_t(i)].at("vars").get<std::string>());
        tr.crashed.push_back(after[size_t(i)].value("crashed", false));
      }
      lt.rounds.push_back(std::move(tr));
    }
  } catch (const json::exception& e) {
    return std::string("not a trace of psyncc check --trace-json: ") + e.what();
  }
  if (lt.initial_vars.size() != size_t(s.n())) return "\"initial\": expected one entry per process";
  s.start(std::move(in));
  for (int i = 0; i < s.n(); ++i) {
    const std::string mine = s.P.print_state(s.frames[0].states[size_t(i)].data(), i, 0);
    if (mine != lt.initial_vars[size_t(i)])
      s.initial_mismatches.push_back("p" + std::to_string(i) + " starts in " + mine + ", the trace shows " +
                                     lt.initial_vars[size_t(i)]);
  }
  s.trace = std::move(lt);
  s.has_trace = true;
  return "";
}

std::string Session::replay_next() {
  SessionImpl& s = *impl_;
  if (!s.has_trace) return "no trace loaded (POST one to /api/trace)";
  for (size_t k = 0; k < s.info.size(); ++k)
    if (!s.info[k].from_replay) return "round " + std::to_string(k) + " was stepped by hand: undo back to it to resume the replay";
  const size_t k = s.steps.size();
  if (k >= s.trace.rounds.size()) return "the replay is complete (" + std::to_string(k) + " rounds)";
  const TraceRound& g = s.trace.rounds[k];
  const std::vector<size_t> first(size_t(s.n()), 0);
  std::vector<bool> crashing(size_t(s.n()), false);
  for (int i = 0; i < s.n(); ++i) crashing[size_t(i)] = g.crashed[size_t(i)] && !s.now().crashed[size_t(i)];
  return s.take_round(g.ho, std::vector<bool>(size_t(s.n()), false), crashing, first, first, &g);
}

json Session::view() const {
  SessionImpl& s = *impl_;
  const int n = s.n();
  json v;
  v["protocol"] = s.d.name ? s.d.name : "";
  v["n"] = n;
  v["round"] = s.now().round;
  const psync_round_desc& next = s.P.round_of(s.now().round);
  v["next_round_name"] = next.name ? next.name : "";
  json consts = json::array();
  for (uint32_t c = 0; c < s.d.num_consts; ++c)
    consts.push_back({{"name", s.d.consts[c].name}, {"value", s.P.consts[s.d.consts[c].offset]}});
  v["consts"] = consts;
  json ins = json::array();
  for (uint32_t k = 0; k < s.d.num_inputs; ++k) {
    auto [lo, hi] = s.domain_of(k);
    json in = {{"name", s.d.inputs[k].name}, {"lo", lo}, {"hi", hi}};
    if (s.d.inputs[k].kind == PSYNC_KIND_BYTES) {
      json labels = json::array();
      const std::vector<std::string>& bv = s.o.bytes_values;
      for (int64_t x = lo; x <= hi; ++x)
        labels.push_back(bv.empty() ? std::to_string(s.o.values_lo + x) : bv[size_t(x)]);
      in["labels"] = labels;
    } else if (s.d.inputs[k].kind == PSYNC_KIND_ENUM) {
      json labels = json::array();
      for (uint32_t x = 0; x < s.d.inputs[k].num_variants; ++x) labels.push_back(s.d.inputs[k].variants[x]);
      in["labels"] = labels;
    }
    ins.push_back(std::move(in));
  }
  v["input_fields"] = ins;
  v["inputs"] = s.inputs;
  json initial = json::array();
  for (int i = 0; i < n; ++i) initial.push_back(proc_to_json(s.P.describe(s.frames[0].states[size_t(i)].data(), i, 0), i));
  v["initial"] = initial;
  json rounds = json::array();
  for (size_t k = 0; k < s.steps.size(); ++k) {
    const check::TraceStep& st = s.steps[k];
    const SessionImpl::StepInfo& si = s.info[k];
    json r = {{"round", st.round}, {"name", st.round_name}};
    json ho = json::array(), after = json::array(), msgs = json::array();
    for (int i = 0; i < n; ++i) {
      ho.push_back(set_to_json(st.ho[size_t(i)], n));
      after.push_back(proc_to_json(st.after[size_t(i)], i));
    }
    for (const check::TraceMessage& m : st.messages)
      msgs.push_back({{"from", m.from}, {"to", m.to}, {"delivered", m.delivered}, {"payload", cd::format_words(m.words)},
                     {"value", m.value.empty() ? cd::format_words(m.words) : m.value}});
    r["ho"] = ho;
    r["messages"] = msgs;
    r["choices"] = st.choices;
    r["events"] = st.events;
    r["after"] = after;
    r["send_outcomes"] = si.send_outcomes;
    r["outcomes"] = si.outcomes;
    r["picked"] = si.picked;
    r["from_replay"] = si.from_replay;
    r["mismatches"] = si.mismatches;
    rounds.push_back(std::move(r));
  }
  v["rounds"] = rounds;
  v["specs"] = s.spec_verdicts();
  v["feasible"] = s.feasible_next();
  v["can_undo"] = !s.steps.empty();
  if (s.has_trace) {
    bool on_track = true;
    for (const auto& si : s.info) on_track = on_track && si.from_replay;
    v["replay"] = {{"spec", s.trace.spec},
                   {"kind", s.trace.kind},
                   {"detail", s.trace.detail},
                   {"total", s.trace.rounds.size()},
                   {"next", s.steps.size()},
                   {"on_track", on_track},
                   {"initial_mismatches", s.initial_mismatches}};
  } else {
    v["replay"] = nullptr;
  }
  return v;
}

}  // namespace psync::explore
