// store.h: the key-value state machine of psync-kvstore. Commands (put, get,
// cas) are decided by the replicated log and applied here in log order, so
// every replica computes the same map and the same reply for each request.
// No sockets, no clock: the unit tests drive it directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kvstore {

// One client request, as it is carried in the log.
struct Command {
  enum class Op { Put, Get, Cas } op = Op::Get;
  std::string key;
  std::string value;                    // put: the new value; cas: the new value
  std::optional<std::string> expected;  // cas: the value expected (nullopt: the key must be absent)
};

// One request line of a client (README.md, "Protocol").
struct Request {
  std::string id_json;  // the client's request id as JSON text ("\"c1-7\"" or "7")
  Command command;
};

// Reads one request line; on a problem returns nullopt, sets `error` to the
// message for the client and `id_json` to the request's id when it had a
// readable one ("null" otherwise).
std::optional<Request> parse_request(std::string_view line, std::string& error, std::string& id_json);
// The compact form stored in the log (a JSON object) and back.
std::string encode_command(const Command& c);
std::optional<Command> decode_command(std::string_view bytes);

class Store {
 public:
  // Applies the command of request `id` decided at log position `seq` and
  // returns the reply line for its client (JSON, no newline). A request id
  // that was applied already is not applied again: its first reply is
  // returned (a client's retry through another replica).
  const std::string& apply(const std::string& id_json, uint64_t seq, std::string_view command_bytes);
  // The reply of an applied request, if any.
  const std::string* reply_of(const std::string& id_json) const;
  // A read of the local map, without the log: only --stale-reads uses it,
  // the deliberately broken variant that the linearizability test catches.
  std::string read_local(const std::string& id_json, const std::string& key) const;

  uint64_t applied() const { return applied_; }
  uint64_t duplicates_skipped() const { return duplicates_skipped_; }
  uint64_t malformed_commands() const { return malformed_; }
  size_t size() const { return map_.size(); }

 private:
  std::map<std::string, std::string> map_;
  std::unordered_map<std::string, std::string> replies_;  // request id (JSON text) -> its reply
  uint64_t applied_ = 0;
  uint64_t duplicates_skipped_ = 0;
  uint64_t malformed_ = 0;
};

}  // namespace kvstore
