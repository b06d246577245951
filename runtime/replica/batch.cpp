// batch.cpp: encoding and decoding of the batches a log instance decides.
#include "replica/batch.h"

namespace psync::replica {

namespace {

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

bool read_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 35; shift += 7) {  // lengths below 2^35 are plenty
    if (pos >= in.size()) return false;
    const auto b = static_cast<unsigned char>(in[pos++]);
    v |= uint64_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool read_field(std::string_view in, size_t& pos, std::string& out) {
  uint64_t len;
  if (!read_varint(in, pos, len) || len > in.size() - pos) return false;
  out.assign(in.substr(pos, size_t(len)));
  pos += size_t(len);
  return true;
}

}  // namespace

size_t entry_size(size_t id_bytes, size_t value_bytes) {
  return varint_size(id_bytes) + id_bytes + varint_size(value_bytes) + value_bytes;
}

void append_entry(std::string& batch, std::string_view id, std::string_view value) {
  append_varint(batch, id.size());
  batch += id;
  append_varint(batch, value.size());
  batch += value;
}

bool decode_batch(std::string_view batch, std::vector<Entry>& out) {
  size_t pos = 0;
  while (pos < batch.size()) {
    Entry e;
    if (!read_field(batch, pos, e.id) || !read_field(batch, pos, e.value)) return false;
    out.push_back(std::move(e));
  }
  return true;
}

}  // namespace psync::replica
