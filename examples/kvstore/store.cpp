// store.cpp: parsing client requests, the log encoding of commands, and the
// key-value state machine that applies decided commands in log order.
#include "store.h"

#include <nlohmann/json.hpp>

namespace kvstore {

using nlohmann::json;

namespace {

constexpr size_t kMaxIdBytes = 128;   // a request id, as JSON text
constexpr size_t kMaxKeyBytes = 256;  // a key

std::optional<std::string> string_field(const json& o, const char* name, std::string& error) {
  auto it = o.find(name);
  if (it == o.end()) {
    error = std::string("missing \"") + name + "\"";
    return std::nullopt;
  }
  if (!it->is_string()) {
    error = std::string("\"") + name + "\" must be a string";
    return std::nullopt;
  }
  return it->get<std::string>();
}

// The log keeps a request id as its JSON text; one that is not JSON (put on
// the log by some other proposer) comes back as a string.
json id_value(const std::string& id_json) {
  json id = json::parse(id_json, nullptr, false);
  return id.is_discarded() ? json(id_json) : id;
}

}  // namespace

std::optional<Request> parse_request(std::string_view line, std::string& error, std::string& id_json) {
  id_json = "null";
  json o = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (o.is_discarded()) {
    error = "malformed JSON";
    return std::nullopt;
  }
  if (!o.is_object()) {
    error = "a request is a JSON object";
    return std::nullopt;
  }
  Request r;
  auto id = o.find("id");
  if (id != o.end() && (id->is_string() || id->is_number_integer())) id_json = id->dump();
  if (id == o.end()) {
    error = "missing \"id\"";
    return std::nullopt;
  }
  if (!id->is_string() && !id->is_number_integer()) {
    error = "\"id\" must be a string or an integer";
    return std::nullopt;
  }
  if (id_json.size() > kMaxIdBytes) {
    id_json = "null";
    error = "\"id\" longer than " + std::to_string(kMaxIdBytes) + " bytes";
    return std::nullopt;
  }
  r.id_json = id_json;
  for (auto& [k, v] : o.items()) {
    if (k != "id" && k != "op" && k != "key" && k != "value" && k != "old" && k != "new") {
      error = "unknown key \"" + k + "\"";
      return std::nullopt;
    }
  }
  auto op = string_field(o, "op", error);
  if (!op) return std::nullopt;
  auto key = string_field(o, "key", error);
  if (!key) return std::nullopt;
  if (key->size() > kMaxKeyBytes) {
    error = "key longer than " + std::to_string(kMaxKeyBytes) + " bytes";
    return std::nullopt;
  }
  Command& c = r.command;
  c.key = std::move(*key);
  auto refuse_others = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (o.contains(n)) {
        error = "\"" + *op + "\" takes no \"" + n + "\"";
        return true;
      }
    return false;
  };
  if (*op == "put") {
    c.op = Command::Op::Put;
    if (refuse_others({"old", "new"})) return std::nullopt;
    auto v = string_field(o, "value", error);
    if (!v) return std::nullopt;
    c.value = std::move(*v);
  } else if (*op == "get") {
    c.op = Command::Op::Get;
    if (refuse_others({"value", "old", "new"})) return std::nullopt;
  } else if (*op == "cas") {
    c.op = Command::Op::Cas;
    if (refuse_others({"value"})) return std::nullopt;
    auto old = o.find("old");
    if (old == o.end()) {
      error = "missing \"old\" (a string, or null for an absent key)";
      return std::nullopt;
    }
    if (!old->is_null() && !old->is_string()) {
      error = "\"old\" must be a string or null";
      return std::nullopt;
    }
    if (old->is_string()) c.expected = old->get<std::string>();
    auto nv = string_field(o, "new", error);
    if (!nv) return std::nullopt;
    c.value = std::move(*nv);
  } else {
    error = "unknown op \"" + *op + "\" (put, get or cas)";
    return std::nullopt;
  }
  return r;
}

// In the log a command is a JSON array: ["put",key,value], ["get",key] or
// ["cas",key,old-or-null,new]. Short, and readable in a subscriber's stream.
std::string encode_command(const Command& c) {
  switch (c.op) {
    case Command::Op::Put: return json::array({"put", c.key, c.value}).dump();
    case Command::Op::Get: return json::array({"get", c.key}).dump();
    case Command::Op::Cas:
      return json::array({"cas", c.key, c.expected ? json(*c.expected) : json(nullptr), c.value}).dump();
  }
  return "[]";
}

std::optional<Command> decode_command(std::string_view bytes) {
  json a = json::parse(bytes, nullptr, false);
  if (a.is_discarded() || !a.is_array() || a.size() < 2 || !a[0].is_string() || !a[1].is_string())
    return std::nullopt;
  Command c;
  const std::string op = a[0].get<std::string>();
  c.key = a[1].get<std::string>();
  if (op == "put" && a.size() == 3 && a[2].is_string()) {
    c.op = Command::Op::Put;
    c.value = a[2].get<std::string>();
  } else if (op == "get" && a.size() == 2) {
    c.op = Command::Op::Get;
  } else if (op == "cas" && a.size() == 4 && (a[2].is_null() || a[2].is_string()) && a[3].is_string()) {
    c.op = Command::Op::Cas;
    if (a[2].is_string()) c.expected = a[2].get<std::string>();
    c.value = a[3].get<std::string>();
  } else {
    return std::nullopt;
  }
  return c;
}

const std::string& Store::apply(const std::string& id_json, uint64_t seq, std::string_view command_bytes) {
  if (auto it = replies_.find(id_json); it != replies_.end()) {
    ++duplicates_skipped_;
    return it->second;
  }
  json reply = json::object();
  reply["id"] = id_value(id_json);
  reply["seq"] = seq;
  std::optional<Command> c = decode_command(command_bytes);
  if (!c) {
    // Only a request that bypassed psync-kvstore's parsing (another program
    // proposing on the same log) gets here; it changes nothing.
    ++malformed_;
    reply["error"] = "not a key-value command";
    return replies_.emplace(id_json, reply.dump()).first->second;
  }
  ++applied_;
  auto cur = map_.find(c->key);
  const json current = cur == map_.end() ? json(nullptr) : json(cur->second);
  switch (c->op) {
    case Command::Op::Put:
      reply["op"] = "put";
      map_[c->key] = c->value;
      break;
    case Command::Op::Get:
      reply["op"] = "get";
      reply["value"] = current;
      break;
    case Command::Op::Cas: {
      reply["op"] = "cas";
      const bool match = c->expected ? cur != map_.end() && cur->second == *c->expected : cur == map_.end();
      reply["ok"] = match;
      reply["value"] = current;  // the value the cas compared against
      if (match) map_[c->key] = c->value;
      break;
    }
  }
  return replies_.emplace(id_json, reply.dump()).first->second;
}

const std::string* Store::reply_of(const std::string& id_json) const {
  auto it = replies_.find(id_json);
  return it == replies_.end() ? nullptr : &it->second;
}

std::string Store::read_local(const std::string& id_json, const std::string& key) const {
  json reply = json::object();
  reply["id"] = id_value(id_json);
  reply["op"] = "get";
  auto cur = map_.find(key);
  reply["value"] = cur == map_.end() ? json(nullptr) : json(cur->second);
  return reply.dump();
}

}  // namespace kvstore
