// batch.h: what a replicated log's consensus instance decides — a batch of
// client requests packed into the protocol's bytes<K> value (docs/service.md,
// "The log"). An entry is varint(id length), the id, varint(value length),
// the value; a batch is entries back to back; the empty batch is a no-op.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace psync::replica {

struct Entry {
  std::string id;
  std::string value;
};

// Bytes one entry takes in a batch.
size_t entry_size(size_t id_bytes, size_t value_bytes);
// Appends an entry (the caller checked that it fits).
void append_entry(std::string& batch, std::string_view id, std::string_view value);
// The entries of a batch; false when it is malformed (a lying length), with
// the entries before the damage in `out`.
bool decode_batch(std::string_view batch, std::vector<Entry>& out);

}  // namespace psync::replica
