// config.cpp: command line (CLI11) and cluster file (toml++) parsing for the
// node, with every error turned into one line that names the culprit.
#include "node/config.h"

#include "abi/typed_values.h"
#include "abi/values.h"

#include "util/cmdline_cli11.h"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

namespace psync::node {

namespace {

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

const char* kind_name(psync_kind k) {
  switch (k) {
    case PSYNC_KIND_INT: return "int";
    case PSYNC_KIND_BOOL: return "bool";
    case PSYNC_KIND_PID: return "pid";
    case PSYNC_KIND_PIDSET: return "set<pid>";
    case PSYNC_KIND_BYTES: return "bytes value";
    default: return "composite";
  }
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A value in [0, bound) from 64 random bits, by a multiplication instead of
// a 64-bit division (which showed in profiles: every started instance draws
// its inputs): the high half of r * bound (D. Lemire, "Fast random integer
// generation in an interval", ACM TOMACS 29(1), 2019), biased by at most
// bound / 2^64. 0 for bound 0.
uint64_t below(uint64_t r, uint64_t bound) { return uint64_t((unsigned __int128)r * bound >> 64); }

// Splits "name=value" and finds name among `fields`.
std::pair<size_t, std::string> find_field(const std::string& arg, const psync_field* fields, uint32_t count,
                                          const char* flag, const char* what) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(std::string(flag) + " '" + arg + "': expected name=value");
  const std::string name = arg.substr(0, eq);
  for (uint32_t i = 0; i < count; ++i)
    if (name == fields[i].name) return {i, arg.substr(eq + 1)};
  std::string known;
  for (uint32_t i = 0; i < count; ++i) known += (i ? ", " : "") + std::string(fields[i].name);
  throw ConfigError(std::string(flag) + " '" + arg + "': the protocol has no " + what + " named '" + name + "'" +
                    (count ? " (it has: " + known + ")" : " (it has none)"));
}

}  // namespace

int64_t parse_value(const std::string& text, psync_kind kind, int32_t n, const std::string& what) {
  switch (kind) {
    case PSYNC_KIND_INT:
      if (auto v = parse_int(text)) return *v;
      throw ConfigError(what + ": '" + text + "' is not an int");
    case PSYNC_KIND_BOOL:
      if (text == "true" || text == "1") return 1;
      if (text == "false" || text == "0") return 0;
      throw ConfigError(what + ": '" + text + "' is not a bool (true or false)");
    case PSYNC_KIND_PID:
      if (auto v = parse_int(text); v && *v >= 0 && *v < n) return *v;
      throw ConfigError(what + ": '" + text + "' is not a pid in 0.." + std::to_string(n - 1));
    case PSYNC_KIND_PIDSET: {
      if (text.size() < 2 || text.front() != '{' || text.back() != '}')
        throw ConfigError(what + ": '" + text + "' is not a set<pid> (write {0+2+3} or {})");
      const std::string body = text.substr(1, text.size() - 2);
      uint64_t bits = 0;
      if (!body.empty())
        for (const std::string& p : split(body, '+')) {
          auto v = parse_int(p);
          if (!v || *v < 0 || *v >= n)
            throw ConfigError(what + ": '" + p + "' in '" + text + "' is not a pid in 0.." + std::to_string(n - 1));
          bits |= uint64_t{1} << *v;
        }
      return int64_t(bits);
    }
    default:
      throw ConfigError(what + ": values of a composite type cannot be given on the command line");
  }
}

int64_t parse_value(const std::string& text, const psync_field& field, int32_t n, const std::string& what) {
  if (field.kind != PSYNC_KIND_ENUM) return parse_value(text, psync_kind(field.kind), n, what);
  int64_t value = 0;
  std::string error;
  if (!parse_field_value(field, text, n, value, error)) throw ConfigError(what + ": " + error);
  return value;
}

InputSpec parse_input_spec(const std::string& text, psync_kind kind, int32_t n, const std::string& name) {
  const psync_field field{name.c_str(), uint32_t(kind), 0, nullptr, 0, 0};
  return parse_input_spec(text, field, n);
}

InputSpec parse_input_spec(const std::string& text, const psync_field& field, int32_t n) {
  const psync_kind kind = psync_kind(field.kind);
  const std::string name = field.name;
  InputSpec spec;
  const std::string what = "--input " + name;
  if (text == "random" || text.rfind("random:", 0) == 0) {
    spec.mode = InputSpec::Mode::Random;
    if (text.size() > 7) {
      auto b = parse_int(text.substr(7));
      if (!b || *b <= 0) throw ConfigError(what + "=" + text + ": the bound after random: must be a positive int");
      spec.random_bound = *b;
    }
    return spec;
  }
  if (text.empty()) throw ConfigError(what + ": missing value");
  if (kind != PSYNC_KIND_PIDSET && text.find(',') != std::string::npos) {
    spec.mode = InputSpec::Mode::List;
    for (const std::string& item : split(text, ',')) spec.values.push_back(parse_value(item, field, n, what));
    return spec;
  }
  spec.values.push_back(parse_value(text, field, n, what));
  return spec;
}

InputSpec parse_bytes_input_spec(const std::string& text, int64_t capacity, const std::string& name) {
  InputSpec spec;
  spec.capacity = capacity;
  const std::string what = "--input " + name;
  if (text == "random") {
    spec.mode = InputSpec::Mode::Random;
    return spec;
  }
  auto one = [&](const std::string& item) {
    std::string error;
    auto v = parse_bytes_text(item, error);
    if (!v) throw ConfigError(what + ": " + error);
    if (int64_t(v->size()) > capacity)
      throw ConfigError(what + ": the value has " + std::to_string(v->size()) + " bytes; bytes<" +
                        std::to_string(capacity) + "> holds at most " + std::to_string(capacity));
    spec.bytes.push_back(std::move(*v));
  };
  if (text.rfind("str:", 0) != 0 && text.find(',') != std::string::npos) {
    spec.mode = InputSpec::Mode::List;
    for (const std::string& item : split(text, ',')) one(item);
    return spec;
  }
  one(text);
  return spec;
}

std::vector<int64_t> inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n,
                                         uint64_t instance, std::vector<std::vector<int64_t>>* buffers) {
  std::vector<int64_t> out(desc.num_inputs);
  fill_inputs_for_instance(desc, o, n, instance, out, buffers);
  return out;
}

void fill_inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n, uint64_t instance,
                              std::span<int64_t> out, std::vector<std::vector<int64_t>>* buffers) {
  fill_inputs_for_instance(desc, o, n, instance, out, buffers, random_input_key(o));
}

uint64_t random_input_key(const Options& o) { return splitmix(splitmix(o.seed) ^ uint64_t(o.id) * 0x100000001b3ull); }

void fill_inputs_for_instance(const psync_protocol_desc& desc, const Options& o, int32_t n, uint64_t instance,
                              std::span<int64_t> out, std::vector<std::vector<int64_t>>* buffers, uint64_t key) {
  for (uint32_t i = 0; i < desc.num_inputs && i < out.size(); ++i) {
    const InputSpec& s = o.inputs[i];
    if (desc.inputs[i].kind == PSYNC_KIND_BYTES) {
      if (buffers == nullptr) throw ConfigError("bytes inputs need a buffer for their values");
      std::string value;
      if (s.mode == InputSpec::Mode::Random) {
        uint64_t r = splitmix(key ^ instance * 0x9E3779B97F4A7C15ull ^ i);
        const uint64_t len = 1 + below(r, uint64_t(std::min<int64_t>(s.capacity, 8)));
        for (uint64_t k = 0; k < len; ++k) {
          r = splitmix(r);
          value += char('a' + below(r, 26));
        }
      } else {
        value = s.mode == InputSpec::Mode::List ? s.bytes[instance % s.bytes.size()] : s.bytes[0];
      }
      buffers->push_back(bytes_input_buffer(value));
      out[i] = int64_t(reinterpret_cast<uintptr_t>(buffers->back().data()));
      continue;
    }
    switch (s.mode) {
      case InputSpec::Mode::Constant: out[i] = s.values[0]; break;
      case InputSpec::Mode::List: out[i] = s.values[instance % s.values.size()]; break;
      case InputSpec::Mode::Random: {
        const uint64_t r = splitmix(key ^ instance * 0x9E3779B97F4A7C15ull ^ i);
        switch (psync_kind(desc.inputs[i].kind)) {
          case PSYNC_KIND_BOOL: out[i] = int64_t(r & 1); break;
          case PSYNC_KIND_PID: out[i] = int64_t(below(r, uint64_t(n))); break;
          case PSYNC_KIND_PIDSET: out[i] = int64_t(n >= 64 ? r : r & ((uint64_t{1} << n) - 1)); break;
          case PSYNC_KIND_ENUM: out[i] = int64_t(below(r, desc.inputs[i].num_variants)); break;
          default: out[i] = int64_t(below(r, uint64_t(s.random_bound))); break;
        }
        break;
      }
    }
  }
}

std::vector<ClusterMember> parse_cluster(const std::string& text, const std::string& source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                      std::string(e.description()));
  }
  const toml::array* procs = doc["process"].as_array();
  if (procs == nullptr || procs->empty())
    throw ConfigError(source + ": no [[process]] entries (each needs id = N and address = \"host:port\")");
  std::vector<ClusterMember> members;
  for (size_t i = 0; i < procs->size(); ++i) {
    const toml::table* t = (*procs)[i].as_table();
    const std::string where = source + ": process #" + std::to_string(i + 1);
    if (t == nullptr) throw ConfigError(where + ": must be a table");
    for (auto&& [key, value] : *t) {
      (void)value;
      if (key != "id" && key != "address" && key != "public_key")
        throw ConfigError(where + ": unknown key '" + std::string(key.str()) + "'");
    }
    auto id = (*t)["id"].value<int64_t>();
    if (!id) throw ConfigError(where + ": missing integer 'id'");
    auto addr = (*t)["address"].value<std::string>();
    if (!addr) throw ConfigError(where + ": missing string 'address' (\"host:port\")");
    const size_t colon = addr->rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw ConfigError(where + ": address '" + *addr + "' is not host:port");
    std::string host = addr->substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port = parse_int(addr->substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535)
      throw ConfigError(where + ": port in '" + *addr + "' must be 1..65535");
    std::optional<net::Key> public_key;
    if (t->contains("public_key")) {
      auto text = (*t)["public_key"].value<std::string>();
      if (!text) throw ConfigError(where + ": public_key must be a string of 64 hex digits");
      public_key = net::key_from_hex(*text);
      if (!public_key) throw ConfigError(where + ": public_key '" + *text + "' is not 64 hex digits");
    }
    members.push_back({int32_t(std::clamp<int64_t>(*id, -1, INT32_MAX)), host, uint16_t(*port), public_key});
    if (*id < 0 || *id >= int64_t(procs->size()))
      throw ConfigError(where + ": id " + std::to_string(*id) + " is outside 0.." + std::to_string(procs->size() - 1) +
                        " (ids must be 0..n-1)");
  }
  if (members.size() > PSYNC_MAX_N)
    throw ConfigError(source + ": " + std::to_string(members.size()) + " processes; at most " +
                      std::to_string(PSYNC_MAX_N) + " are supported");
  // Keys on every process or on none: a half-keyed cluster would leave some
  // channels unauthenticated without anyone noticing.
  for (const ClusterMember& m : members)
    if (m.public_key.has_value() != members.front().public_key.has_value())
      throw ConfigError(source + ": process " + std::to_string(m.id) + (m.public_key ? " has" : " has no") +
                        " public_key but process " + std::to_string(members.front().id) +
                        (members.front().public_key ? " has one" : " has none") +
                        ": list a key for every process, or for none");
  std::vector<ClusterMember> by_id(members.size());
  std::vector<bool> seen(members.size(), false);
  for (const ClusterMember& m : members) {
    if (seen[size_t(m.id)]) throw ConfigError(source + ": id " + std::to_string(m.id) + " appears twice");
    seen[size_t(m.id)] = true;
    by_id[size_t(m.id)] = m;
  }
  for (size_t i = 0; i < by_id.size(); ++i)
    for (size_t j = i + 1; j < by_id.size(); ++j)
      if (by_id[i].host == by_id[j].host && by_id[i].port == by_id[j].port)
        throw ConfigError(source + ": processes " + std::to_string(i) + " and " + std::to_string(j) +
                          " share the address " + by_id[i].host + ":" + std::to_string(by_id[i].port));
  return by_id;
}

bool cluster_is_keyed(const std::vector<ClusterMember>& cluster) {
  return !cluster.empty() && cluster.front().public_key.has_value();
}

std::vector<ClusterMember> load_cluster(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read cluster file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_cluster(ss.str(), path);
}

std::optional<Options> parse_command_line(const psync_protocol_desc& desc, int argc, char** argv) {
  using cmdline::Duration;
  using cmdline::Integer;
  using cmdline::Unsigned;
  Options o;
  std::vector<std::string> inputs, consts;
  std::string transport = "udp";
  CLI::App app{std::string("psync node for protocol ") + desc.name};
  app.add_option("--id", o.id, "this process's id in the cluster")->required()->transform(Integer(0, PSYNC_MAX_N - 1));
  app.add_option("--cluster", o.cluster_path, "cluster TOML file ([[process]] id, address)")->required();
  app.add_option("--input", inputs, "name=value | name=random[:K] | name=v1,v2,... (per instance)");
  app.add_option("--const", consts, "name=value, overriding the protocol's default");
  app.add_option("--timeout", o.timeout_us, "default round timeout (e.g. 20ms)")->transform(Duration(1));
  app.add_option("--timeout-ceiling", o.timeout_ceiling_us,
                 "the adaptive timeout grows with round latency and the window up to this (0 = no adaptation)")
      ->transform(Duration());
  app.add_option("--transport", transport, "udp or tcp");
  app.add_option("--instances", o.instances, "consensus instances to run")->transform(Unsigned(1, cmdline::kMaxInstances));
  app.add_option("--window", o.window, "instances in flight at once")->transform(Unsigned(1, cmdline::kMaxInstances));
  app.add_flag("--stats", o.stats, "print counters to stderr at exit");
  app.add_option("--drop", o.drop, "drop each received message with this probability")
      ->transform(cmdline::Probability());
  app.add_option("--delay", o.delay_us, "delay each received message by up to this duration")->transform(Duration());
  app.add_option("--duplicate", o.duplicate,
                 "UDP: take each received datagram a second time, after the rest of its batch, with this probability")
      ->transform(cmdline::Probability());
  app.add_flag("--lie", o.lie,
               "Byzantine: send each peer a random value of the round's message type, or nothing (needs `byzantine f`)");
  app.add_option("--seed", o.seed, "seed for random inputs, coin(), random(k) and fault injection")
      ->transform(Unsigned(0));
  auto* after_decide = app.add_option("--after-decide", o.after_decide, "rounds to keep running after deciding")
                           ->transform(Integer(0, kMaxRoundsOption));
  app.add_option("--linger", o.linger_us,
                 "after deciding, run on until every peer has decided, for at most this long and --linger-rounds (0 = no lingering)")
      ->transform(Duration());
  auto* linger_rounds =
      app.add_option("--linger-rounds", o.linger_rounds,
                     "lingering gives up once both this many rounds and --linger have passed (default 4 phases, >= 8)")
          ->transform(Integer(0, kMaxRoundsOption));
  app.add_option("--catch-up-grace", o.catch_up_grace_us,
                 "wait this long before catching up, for messages in flight (0 = none)")
      ->transform(Duration());
  app.add_option("--start-wait", o.start_wait_us, "wait up to this long for the handshake with every peer before round 0")
      ->transform(Duration());
  app.add_option("--max-rounds", o.max_rounds, "give up on an instance after this many rounds (0 = never)")
      ->transform(Integer(0, kMaxRoundsOption));
  app.add_option("--time-limit", o.time_limit_us, "stop after this long (0 = never)")->transform(Duration());
  app.add_option("--byzantine", o.byzantine_f, "catch up only once f+1 senders are ahead (n > 3f)")
      ->transform(Integer(0, PSYNC_MAX_N));
  app.add_flag("--catch-up-sends", o.catch_up_sends, "send in rounds skipped by catch-up");
  app.add_option("--future-bound", o.future_bound, "future messages buffered per instance")
      ->transform(Integer(0, kMaxFutureBound));
  app.add_option("--max-datagram", o.max_datagram, "UDP: bytes per datagram when batching frames")
      ->transform(Unsigned(128, 65000));
  app.add_flag("--no-gso", o.no_gso,
               "UDP: send each datagram with its own system call and read them one by one (no GSO/GRO batches)");
  app.add_flag("--quiet", o.quiet, "no log lines on stderr (the warning of a keyless cluster excepted)");
  app.add_option("--key", o.key_path, "this replica's secret key file (psyncc keygen); required when the cluster file lists public keys");
  app.add_option("--data-dir", o.data_dir, "keep a durable log here: a restart recovers the replica's state (docs/reliability.md)");
  app.add_option("--stay", o.stay_us,
                 "after finishing every instance, keep answering peers that are behind, until they are done or silent for this long (0 = exit at once)")
      ->transform(Duration());
  app.add_option("--serve", o.serve,
                 "HOST:PORT: serve a replicated log to clients, line-delimited JSON over TCP (docs/service.md)");
  app.add_flag("--check-config", o.check_only,
               "check the command line and the cluster file, then exit (0, or 2 with the error)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    throw ConfigError(msg.empty() ? "bad command line" : msg);
  }

  if (transport == "udp") o.transport = TransportKind::Udp;
  else if (transport == "tcp") o.transport = TransportKind::Tcp;
  else throw ConfigError("--transport '" + transport + "': expected udp or tcp");
  if (o.duplicate > 0 && o.transport == TransportKind::Tcp)
    throw ConfigError("--duplicate applies to --transport udp (TCP delivers each byte once)");
  if (after_decide->count() == 0) o.after_decide = -1;
  if (linger_rounds->count() == 0) o.linger_rounds = -1;

  o.cluster = load_cluster(o.cluster_path);
  const int32_t n = int32_t(o.cluster.size());
  if (o.id < 0 || o.id >= n)
    throw ConfigError("--id " + std::to_string(o.id) + " is not in the cluster (ids 0.." + std::to_string(n - 1) + ")");
  if (cluster_is_keyed(o.cluster)) {
    if (o.key_path.empty())
      throw ConfigError(o.cluster_path + " lists public keys: give this replica's secret key with --key FILE");
    try {
      o.key_pair = net::read_secret_key_file(o.key_path);
    } catch (const std::runtime_error& e) {
      throw ConfigError(std::string("--key: ") + e.what());
    }
    if (o.key_pair->public_key != *o.cluster[size_t(o.id)].public_key)
      throw ConfigError("--key " + o.key_path + ": its public key is not the one " + o.cluster_path +
                        " lists for process " + std::to_string(o.id));
  } else if (!o.key_path.empty()) {
    throw ConfigError("--key " + o.key_path + ": " + o.cluster_path +
                      " lists no public keys (psyncc keygen --cluster adds them)");
  }
  // Bracha's f+1 rule assumes n > 3f (Inf. Comput. 75(2), 1987); a larger
  // budget describes no system the rule was made for.
  if (3 * o.byzantine_f >= n)
    throw ConfigError("--byzantine " + std::to_string(o.byzantine_f) + ": a Byzantine budget f needs n > 3f, and the cluster has " +
                      std::to_string(n) + " process" + (n == 1 ? "" : "es") +
                      (n > 3 ? " (f <= " + std::to_string((n - 1) / 3) + ")" : " (only f = 0)"));

  o.consts.assign(desc.num_consts, 0);
  if (desc.num_consts > 0) desc.const_defaults(n, o.consts.data());
  for (const std::string& c : consts) {
    auto [index, value] = find_field(c, desc.consts, desc.num_consts, "--const", "const");
    o.const_texts.emplace_back(desc.consts[index].name, value);
    o.consts[size_t(desc.consts[index].offset)] =
        parse_value(value, desc.consts[index], n, "--const " + std::string(desc.consts[index].name));
  }
  o.inputs.assign(desc.num_inputs, InputSpec{});
  std::vector<bool> given(desc.num_inputs, false);
  for (const std::string& in : inputs) {
    auto [index, value] = find_field(in, desc.inputs, desc.num_inputs, "--input", "input");
    if (given[index]) throw ConfigError("--input " + std::string(desc.inputs[index].name) + " is given twice");
    given[index] = true;
    o.input_texts.emplace_back(desc.inputs[index].name, value);
    o.inputs[index] = desc.inputs[index].kind == PSYNC_KIND_BYTES
                          ? parse_bytes_input_spec(value, desc.input_types[index]->count, desc.inputs[index].name)
                          : parse_input_spec(value, desc.inputs[index], n);
  }
  if (!o.serve.empty()) {
    // The service proposes clients' values through the first bytes input.
    uint32_t k = 0;
    while (k < desc.num_inputs && desc.inputs[k].kind != PSYNC_KIND_BYTES) ++k;
    if (k == desc.num_inputs || desc.output.kind != PSYNC_KIND_BYTES)
      throw ConfigError(std::string("--serve: protocol ") + desc.name +
                        " cannot back a replicated log: it needs a bytes<K> input for proposals and a bytes<K> "
                        "output (docs/service.md)");
    if (given[k])
      throw ConfigError(std::string("--serve: input ") + desc.inputs[k].name + " carries client proposals; do not give it");
    given[k] = true;
  }
  for (uint32_t i = 0; i < desc.num_inputs; ++i)
    if (!given[i])
      throw ConfigError(std::string("missing --input ") + desc.inputs[i].name + "=... (" +
                        (desc.inputs[i].kind == PSYNC_KIND_INT ? "an " : "a ") +
                        kind_name(psync_kind(desc.inputs[i].kind)) + ", 'random', or a list)");
  if (o.after_decide < 0) {
    o.after_decide = 2;
    for (uint32_t i = 0; i < desc.num_consts; ++i)
      if (std::string(desc.consts[i].name) == "after_decide") {
        o.after_decide = o.consts[desc.consts[i].offset];
        if (o.after_decide < 0 || o.after_decide > kMaxRoundsOption)
          throw ConfigError("const after_decide = " + std::to_string(o.after_decide) + ": expected 0.." +
                            std::to_string(kMaxRoundsOption) + " rounds");
      }
  }
  if (o.linger_rounds < 0) o.linger_rounds = std::max<int64_t>(8, 4 * int64_t(desc.num_rounds));
  return o;
}

}  // namespace psync::node
