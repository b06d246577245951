// typed_values.cpp: sizes, shape checks and the JSON form of values described by
// psync_type (typed_values.h), and bytes values as command lines write them.
#include "abi/typed_values.h"
#include "abi/values.h"
#include "node/json.h"  // the one JSON string escaper (header-only)

#include <cstring>

namespace psync {

namespace {

constexpr int kMaxTypeDepth = 32;

std::string check_type(const psync_type* t, int depth) {
  if (t == nullptr) return "a type description is missing";
  if (depth > kMaxTypeDepth) return "a type description nests more than 32 levels";
  auto elems = [&](uint32_t count) -> std::string {
    if (t->elems == nullptr) return "a composite type description has no element types";
    for (uint32_t i = 0; i < count; ++i)
      if (std::string e = check_type(t->elems[i], depth + 1); !e.empty()) return e;
    return "";
  };
  switch (psync_type_kind(t->kind)) {
    case PSYNC_TYPE_UNIT:
    case PSYNC_TYPE_INT:
    case PSYNC_TYPE_BOOL:
    case PSYNC_TYPE_PID:
    case PSYNC_TYPE_PIDSET: return "";
    case PSYNC_TYPE_OPTION:
    case PSYNC_TYPE_ARRAY: return elems(1);
    case PSYNC_TYPE_TUPLE: return elems(t->count);
    case PSYNC_TYPE_RECORD:
      if (t->count > 0 && t->names == nullptr) return "a record type description has no field names";
      for (uint32_t i = 0; i < t->count; ++i)
        if (t->names[i] == nullptr) return "a record type description has a field without a name";
      return elems(t->count);
    case PSYNC_TYPE_BYTES:
      if (t->count < 1 || t->count > kMaxBytesCapacityAbi)
        return "a bytes type description has capacity " + std::to_string(t->count) + " (must be 1.." +
               std::to_string(kMaxBytesCapacityAbi) + ")";
      return "";
    case PSYNC_TYPE_ENUM:
      if (t->count < 1 || t->count > 64 || t->names == nullptr)
        return "an enum type description has " + std::to_string(t->count) + " variants (must be 1 to 64, named)";
      for (uint32_t i = 0; i < t->count; ++i)
        if (t->names[i] == nullptr) return "an enum type description has a variant without a name";
      return "";
    case PSYNC_TYPE_SET:
      if (t->count < 1 || t->count > 64) return "a set type description has " + std::to_string(t->count) +
                                                 " members (must be 1 to 64)";
      if (t->elems == nullptr || t->elems[0] == nullptr) return "a set type description has no element type";
      if (t->elems[0]->kind == PSYNC_TYPE_INT) return "";
      if (t->elems[0]->kind != PSYNC_TYPE_ENUM || t->elems[0]->count != t->count)
        return "a set type description's elements are neither ints nor its enum's variants";
      return check_type(t->elems[0], depth + 1);
  }
  return "a type description has unknown kind " + std::to_string(t->kind);
}

int64_t load_word(const void* p, uint64_t word) {
  int64_t v;
  std::memcpy(&v, static_cast<const char*>(p) + 8 * word, 8);
  return v;
}

// The one-word kinds as values.h's printer sees them (one printer for a word
// whether it is a field or part of a composite).
psync_field word_field(const psync_type& t) {
  psync_field f{};
  switch (psync_type_kind(t.kind)) {
    case PSYNC_TYPE_BOOL: f.kind = PSYNC_KIND_BOOL; break;
    case PSYNC_TYPE_PID: f.kind = PSYNC_KIND_PID; break;
    case PSYNC_TYPE_PIDSET: f.kind = PSYNC_KIND_PIDSET; break;
    case PSYNC_TYPE_ENUM:
      f.kind = PSYNC_KIND_ENUM;
      f.variants = t.names;
      f.num_variants = t.count;
      break;
    default: f.kind = PSYNC_KIND_INT; break;
  }
  return f;
}

void append_value(std::string& out, const psync_type& t, const char* p, int32_t n) {
  switch (psync_type_kind(t.kind)) {
    case PSYNC_TYPE_UNIT: out += "null"; return;
    case PSYNC_TYPE_INT:
    case PSYNC_TYPE_PID:
    case PSYNC_TYPE_BOOL:
    case PSYNC_TYPE_PIDSET:
    case PSYNC_TYPE_ENUM: out += field_value_json(word_field(t), load_word(p, 0)); return;
    case PSYNC_TYPE_SET: {
      // Members in bit order: variant names for set<E>, lo + i for set<lo..hi>.
      const uint64_t bits = uint64_t(load_word(p, 0));
      const psync_type& e = *t.elems[0];
      const psync_field ef = word_field(e);
      out += '[';
      bool first = true;
      for (uint32_t i = 0; i < t.count && i < 64; ++i)
        if ((bits >> i) & 1) {
          if (!first) out += ',';
          first = false;
          out += e.kind == PSYNC_TYPE_ENUM ? field_value_json(ef, int64_t(i)) : std::to_string(t.lo + int64_t(i));
        }
      out += ']';
      return;
    }
    case PSYNC_TYPE_OPTION:
      if (load_word(p, 0) == 0) out += "null";
      else append_value(out, *t.elems[0], p + 8, n);
      return;
    case PSYNC_TYPE_TUPLE:
    case PSYNC_TYPE_RECORD: {
      const bool rec = t.kind == PSYNC_TYPE_RECORD;
      out += rec ? '{' : '[';
      uint64_t off = 0;
      for (uint32_t i = 0; i < t.count; ++i) {
        if (i) out += ',';
        if (rec) {
          node::append_json_string(out, t.names[i]);
          out += ':';
        }
        append_value(out, *t.elems[i], p + 8 * off, n);
        off += value_words(*t.elems[i], n);
      }
      out += rec ? '}' : ']';
      return;
    }
    case PSYNC_TYPE_ARRAY: {
      const uint64_t w = value_words(*t.elems[0], n);
      out += '[';
      for (int32_t i = 0; i < n; ++i) {
        if (i) out += ',';
        append_value(out, *t.elems[0], p + 8 * w * uint64_t(i), n);
      }
      out += ']';
      return;
    }
    case PSYNC_TYPE_BYTES: {
      const int64_t raw = load_word(p, 0);
      const size_t len = size_t(raw < 0 ? 0 : raw > int64_t(t.count) ? int64_t(t.count) : raw);
      out += bytes_to_json(std::string_view(p + 8, len));
      return;
    }
  }
  out += "null";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string check_type_description(const psync_type* t) { return check_type(t, 0); }

bool is_word_type(const psync_type& t) {
  return t.kind == PSYNC_TYPE_INT || t.kind == PSYNC_TYPE_BOOL || t.kind == PSYNC_TYPE_PID ||
         t.kind == PSYNC_TYPE_PIDSET || t.kind == PSYNC_TYPE_ENUM || t.kind == PSYNC_TYPE_SET;
}

uint64_t value_words(const psync_type& t, int32_t n) {
  switch (psync_type_kind(t.kind)) {
    case PSYNC_TYPE_UNIT: return 0;
    case PSYNC_TYPE_INT:
    case PSYNC_TYPE_BOOL:
    case PSYNC_TYPE_PID:
    case PSYNC_TYPE_PIDSET:
    case PSYNC_TYPE_ENUM:
    case PSYNC_TYPE_SET: return 1;
    case PSYNC_TYPE_OPTION: return 1 + value_words(*t.elems[0], n);
    case PSYNC_TYPE_ARRAY: return uint64_t(n) * value_words(*t.elems[0], n);
    case PSYNC_TYPE_TUPLE:
    case PSYNC_TYPE_RECORD: {
      uint64_t w = 0;
      for (uint32_t i = 0; i < t.count; ++i) w += value_words(*t.elems[i], n);
      return w;
    }
    case PSYNC_TYPE_BYTES: return 1 + (uint64_t(t.count) + 7) / 8;
  }
  return 0;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // cut short
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += extra + 1;
  }
  return true;
}

std::string bytes_to_json(std::string_view bytes) {
  std::string out;
  if (is_valid_utf8(bytes)) {
    node::append_json_string(out, bytes);
    return out;
  }
  static const char* const kHex = "0123456789abcdef";
  out = "{\"hex\":\"";
  for (char ch : bytes) {
    const unsigned char c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out + "\"}";
}

std::string value_to_json(const psync_type& t, const void* value, int32_t n) {
  std::string out;
  append_value(out, t, static_cast<const char*>(value), n);
  return out;
}

std::optional<std::string> parse_bytes_text(std::string_view text, std::string& error) {
  if (text.substr(0, 4) == "str:") return std::string(text.substr(4));
  if (text.substr(0, 4) != "hex:") return std::string(text);
  const std::string_view digits = text.substr(4);
  if (digits.size() % 2 != 0) {
    // Appended, not `"'" + std::string(...)`: g++ 12 at -O3 reports a false
    // -Wrestrict on a literal plus a string (GCC bug 105651).
    error.assign(1, '\'').append(text).append("': hex needs an even number of digits");
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 2) {
    const int hi = hex_digit(digits[i]), lo = hex_digit(digits[i + 1]);
    if (hi < 0 || lo < 0) {
      error.assign(1, '\'').append(text).append("': '").append(digits.substr(i, 2)).append("' is not a hex byte");
      return std::nullopt;
    }
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::vector<int64_t> bytes_input_buffer(std::string_view bytes) {
  std::vector<int64_t> buf(1 + (bytes.size() + 7) / 8, 0);
  buf[0] = int64_t(bytes.size());
  if (!bytes.empty()) std::memcpy(buf.data() + 1, bytes.data(), bytes.size());
  return buf;
}

}  // namespace psync
