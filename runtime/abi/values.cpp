// values.cpp: parsing and printing the one-word values of values.h.
#include "abi/values.h"

#include <charconv>

namespace psync {

namespace {

bool parse_int(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Built by appending: g++ 12 at -O3 reports a false -Wrestrict on
// `"literal" + std::string` (GCC bug 105651).
std::string quoted(std::string_view s, char mark = '\'') {
  std::string q(1, mark);
  q += s;
  q += mark;
  return q;
}

}  // namespace

const char* field_kind_name(uint32_t kind) {
  switch (kind) {
    case PSYNC_KIND_INT: return "int";
    case PSYNC_KIND_BOOL: return "bool";
    case PSYNC_KIND_PID: return "pid";
    case PSYNC_KIND_PIDSET: return "set<pid>";
    case PSYNC_KIND_ENUM: return "enum";
    default: return "composite";
  }
}

bool parse_field_value(const psync_field& f, std::string_view text, int32_t n, int64_t& value, std::string& error) {
  const std::string last = std::to_string(n - 1);
  switch (f.kind) {
    case PSYNC_KIND_INT:
      if (parse_int(text, value)) return true;
      error = quoted(text) + " is not an int";
      return false;
    case PSYNC_KIND_BOOL:
      if (text == "true" || text == "1") return value = 1, true;
      if (text == "false" || text == "0") return value = 0, true;
      error = quoted(text) + " is not a bool (true or false)";
      return false;
    case PSYNC_KIND_PID:
      if (parse_int(text, value) && value >= 0 && value < n) return true;
      error = quoted(text) + " is not a pid in 0.." + last;
      return false;
    case PSYNC_KIND_PIDSET: {
      if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
        error = quoted(text) + " is not a set<pid> (write {0+2+3} or {})";
        return false;
      }
      std::string_view body = text.substr(1, text.size() - 2);
      uint64_t bits = 0;
      while (!body.empty()) {
        size_t plus = body.find('+');
        std::string_view item = body.substr(0, plus);
        int64_t p = 0;
        if (!parse_int(item, p) || p < 0 || p >= n) {
          error = quoted(item) + " in " + quoted(text) + " is not a pid in 0.." + last;
          return false;
        }
        bits |= uint64_t{1} << p;
        body = plus == std::string_view::npos ? std::string_view() : body.substr(plus + 1);
      }
      value = int64_t(bits);
      return true;
    }
    case PSYNC_KIND_ENUM: {
      for (uint32_t k = 0; k < f.num_variants; ++k)
        if (f.variants[k] != nullptr && text == f.variants[k]) return value = int64_t(k), true;
      if (parse_int(text, value) && value >= 0 && value < int64_t(f.num_variants)) return true;
      std::string names;
      for (uint32_t k = 0; k < f.num_variants; ++k) names += (k ? ", " : "") + std::string(f.variants[k]);
      error = quoted(text) + " is not one of " + names;
      return false;
    }
    default:
      error = "values of a composite type cannot be given on the command line";
      return false;
  }
}

std::string field_value_json(const psync_field& f, int64_t word) {
  switch (f.kind) {
    case PSYNC_KIND_BOOL: return word ? "true" : "false";
    case PSYNC_KIND_PIDSET: {
      std::string s = "[";
      for (int i = 0; i < 64; ++i)
        if ((uint64_t(word) >> i) & 1) {
          if (s.size() > 1) s += ',';
          s += std::to_string(i);
        }
      return s + "]";
    }
    case PSYNC_KIND_ENUM:
      // Variant names are identifiers: no character needs escaping.
      if (word >= 0 && word < int64_t(f.num_variants) && f.variants[word] != nullptr)
        return quoted(f.variants[word], '"');
      return std::to_string(word);
    default: return std::to_string(word);
  }
}

}  // namespace psync
