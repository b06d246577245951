// engine.cpp: the descriptor seen from the checker's side: validation (the
// node's own, runtime/abi/validate.h), consts, the coin()/random() hooks,
// state printing.
#include "engine.h"

#include "abi/validate.h"
#include "abi/typed_values.h"
#include "util/peak_rss.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace psync::check::detail {

namespace {

int32_t hook_coin(void* self, const psync_env*) {
  return static_cast<int32_t>(static_cast<Chooser*>(self)->choose(2));
}

int64_t hook_random(void* self, const psync_env*, int64_t k) {
  if (k <= 0) return 0;
  return static_cast<Chooser*>(self)->choose(k);
}

void hook_decided(void*, const psync_env*, const void*) {}

void hook_conflict(void* self, const psync_env*, const void*) {
  static_cast<Chooser*>(self)->conflict_seen = true;
}

void hook_log(void* self, const psync_env*, const char* text, uint64_t len) {
  auto* ch = static_cast<Chooser*>(self);
  if (ch->capture) ch->events.push_back("log: " + std::string(text, static_cast<size_t>(len)));
}

void hook_range_error(void* self, const psync_env*, int64_t value, const char* where) {
  auto* ch = static_cast<Chooser*>(self);
  if (ch->capture) ch->events.push_back("range error: " + describe_range_error(value, where));
}

}  // namespace

std::string Proto::set_bytes_domain(const std::vector<std::string>& values, int64_t lo, int64_t hi) {
  std::vector<std::string> texts = values;
  if (texts.empty())
    for (int64_t v = lo; v <= hi; ++v) texts.push_back(std::to_string(v));
  bytes_domain.clear();
  for (const std::string& t : texts) {
    for (uint32_t k = 0; k < d->num_inputs; ++k)
      if (d->inputs[k].kind == PSYNC_KIND_BYTES && t.size() > d->input_types[k]->count)
        return "bytes value \"" + t + "\" is longer than input `" + d->inputs[k].name + "` can hold (" +
               std::to_string(d->input_types[k]->count) + " bytes)";
    bytes_domain.push_back(bytes_input_buffer(t));
  }
  if (bytes_domain.empty()) return "empty bytes domain";
  return "";
}

bool Proto::has_bytes_inputs() const {
  for (uint32_t k = 0; k < d->num_inputs; ++k)
    if (d->inputs[k].kind == PSYNC_KIND_BYTES) return true;
  return false;
}

std::vector<int64_t> Proto::input_words(const int64_t* in) const {
  std::vector<int64_t> words(in, in + d->num_inputs);
  for (uint32_t k = 0; k < d->num_inputs; ++k)
    if (d->inputs[k].kind == PSYNC_KIND_BYTES)
      words[k] = int64_t(reinterpret_cast<uintptr_t>(bytes_domain[size_t(in[k])].data()));
  return words;
}

std::string Proto::setup(const psync_protocol_desc& desc, int n_,
                         const std::vector<std::pair<std::string, int64_t>>& overrides) {
  d = &desc;
  n = n_;
  // The node runs the same validation: what the checker accepts, it runs.
  if (std::string e = validate_descriptor(desc, n); !e.empty()) return e;
  ss = static_cast<size_t>(desc.state_size(n));
  msz.clear();
  for (uint32_t k = 0; k < desc.num_rounds; ++k) msz.push_back(static_cast<size_t>(desc.rounds[k].msg_size(n)));
  consts.assign(desc.num_consts, 0);
  if (desc.num_consts > 0) desc.const_defaults(n, consts.data());
  for (const auto& [name, value] : overrides) {
    bool found = false;
    for (uint32_t c = 0; c < desc.num_consts; ++c)
      if (name == desc.consts[c].name) {
        consts[desc.consts[c].offset] = value;
        found = true;
      }
    if (!found) return "no const named `" + name + "`";
  }
  invariants.clear(); properties.clear(); liveness.clear(); assumes.clear();
  for (uint32_t s = 0; s < desc.num_specs; ++s) {
    switch (desc.specs[s].kind) {
      case PSYNC_SPEC_INVARIANT: invariants.push_back(static_cast<int>(s)); break;
      case PSYNC_SPEC_PROPERTY: properties.push_back(static_cast<int>(s)); break;
      case PSYNC_SPEC_LIVENESS: liveness.push_back(static_cast<int>(s)); break;
      default: assumes.push_back(static_cast<int>(s)); break;  // validated: PSYNC_SPEC_ASSUME
    }
  }
  hooks.self = &chooser;
  hooks.coin = hook_coin;
  hooks.random = hook_random;
  hooks.decided = hook_decided;
  hooks.conflict = hook_conflict;
  hooks.log = hook_log;
  hooks.range_error = hook_range_error;
  return "";
}

std::string Proto::print_state(const void* state, int me, int64_t round) const {
  if (!d->print_state) return "";
  psync_env e = env(me, round);
  char buf[256];
  int32_t len = d->print_state(state, &e, buf, sizeof buf);
  if (len < 0) return "";
  if (static_cast<size_t>(len) < sizeof buf) return std::string(buf, static_cast<size_t>(len));
  std::string big(static_cast<size_t>(len) + 1, '\0');
  d->print_state(state, &e, big.data(), big.size());
  big.resize(static_cast<size_t>(len));
  return big;
}

std::string Proto::print_msg(const uint8_t* msg, int me, int64_t round) const {
  const psync_round_desc& rd = round_of(round);
  const size_t size = msg_size(round);
  if (!rd.print_msg) {
    std::vector<int64_t> words(size / 8);
    std::memcpy(words.data(), msg, words.size() * 8);
    return format_words(words);
  }
  psync_env e = env(me, round);
  char buf[128];
  int32_t len = rd.print_msg(msg, &e, buf, sizeof buf);
  if (len < 0) return "";
  if (static_cast<size_t>(len) < sizeof buf) return std::string(buf, static_cast<size_t>(len));
  std::string big(static_cast<size_t>(len) + 1, '\0');
  rd.print_msg(msg, &e, big.data(), big.size());
  big.resize(static_cast<size_t>(len));
  return big;
}

TraceProcess Proto::describe(const void* state, int me, int64_t round) const {
  TraceProcess p;
  if (header_word(state, 1) == PSYNC_HALTED_FAULTY) {  // byzantine.h: no state of its own
    p.faulty = true;
    p.vars = "(Byzantine: sends anything)";
    return p;
  }
  p.vars = print_state(state, me, round);
  p.decided = is_decided(state);
  p.halted = is_halted(state);
  p.conflict = has_conflict(state);
  p.range_error = has_range_error(state);
  return p;
}

std::string describe_range_error(int64_t value, const char* where) {
  // `where` is "file:line:col: what" (psync_hooks.range_error).
  std::string w = where ? where : "";
  size_t split = w.find(": ");
  std::string what = split == std::string::npos ? w : w.substr(split + 2);
  std::string pos = split == std::string::npos ? "" : " (" + w.substr(0, split) + ")";
  return (what.empty() ? std::string("a value") : what) + " is " + std::to_string(value) + ", out of range" + pos;
}

std::string spec_kind_name(uint32_t kind) {
  switch (kind) {
    case PSYNC_SPEC_INVARIANT: return "invariant";
    case PSYNC_SPEC_PROPERTY: return "property";
    case PSYNC_SPEC_LIVENESS: return "liveness";
    case PSYNC_SPEC_ASSUME: return "assume";
    default: return "spec";
  }
}

std::string format_set(uint64_t set, int n) {
  std::string s = "{";
  bool first = true;
  for (int i = 0; i < n; ++i)
    if (set >> i & 1) {
      if (!first) s += ',';
      s += std::to_string(i);
      first = false;
    }
  return s + "}";
}

std::string format_words(const std::vector<int64_t>& words) {
  if (words.size() == 1) return std::to_string(words[0]);
  std::string s = "(";
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(words[i]);
  }
  return s + ")";
}

std::string write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return "cannot open " + path + " for writing";
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  return ok ? "" : "cannot write " + path;
}

// The process's own high-water mark (util/peak_rss.h): getrusage's
// ru_maxrss would also count the image of whatever forked psyncc.
uint64_t peak_rss_bytes() { return util::peak_rss_kib() * 1024; }

}  // namespace psync::check::detail
