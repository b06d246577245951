// validate.cpp: the rules of validate.h, in the order a driver meets the
// fields. Each rule is something the node, the checker or the simulator
// relies on without testing it again (docs/abi.md, "Validation").
#include "abi/validate.h"
#include "abi/typed_values.h"

#include <algorithm>
#include <concepts>
#include <cinttypes>
#include <cstdio>
#include <string_view>
#include <vector>

namespace psync {

namespace {

// Messages are built by appending, piece by piece: `"literal" + std::string`
// trips a false -Wrestrict in g++ 12 at -O3.
void add(std::string& s, std::string_view piece) { s += piece; }
template <std::integral T>
void add(std::string& s, T number) {
  s += std::to_string(number);
}
template <typename... Pieces>
std::string join(const Pieces&... pieces) {
  std::string s;
  (add(s, pieces), ...);
  return s;
}

template <typename... Pieces>
std::string fail(const Pieces&... why) {
  return join("bad protocol descriptor: ", why...);
}

std::string quoted(const char* name) { return join("`", name, "`"); }

constexpr uint32_t kKnownRoundFlags =
    PSYNC_ROUND_EVENT | PSYNC_ROUND_WAIT | PSYNC_ROUND_STRICT | PSYNC_ROUND_HAS_TIMEOUT;

// Inputs and consts are set from the command line, one word each.
bool is_scalar_kind(uint32_t kind) {
  return (kind >= PSYNC_KIND_INT && kind <= PSYNC_KIND_PIDSET) || kind == PSYNC_KIND_ENUM;
}

// An enum field names its variants; other kinds name none.
std::string check_variants(const psync_field& f, const std::string& what) {
  if (f.kind != PSYNC_KIND_ENUM) {
    if (f.variants != nullptr || f.num_variants != 0) return fail(what, " is not an enum but lists variants");
    return "";
  }
  if (f.variants == nullptr || f.num_variants == 0 || f.num_variants > 64)
    return fail(what, " is an enum with ", f.num_variants, " variants (must be 1 to 64, with their names)");
  for (uint32_t k = 0; k < f.num_variants; ++k)
    if (f.variants[k] == nullptr) return fail(what, " has no name for variant ", k);
  return "";
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%" PRIx32, v);
  return buf;
}

// A one-word field of the state (an input, the output): word-aligned and past
// the process header. Whether it lies inside the state depends on n.
std::string check_field_offset(const psync_field& f, const std::string& what) {
  if (f.offset % 8 != 0 || f.offset < sizeof(psync_proc_header))
    return fail(what, " has offset ", f.offset, " (must be a multiple of 8 past the ", sizeof(psync_proc_header),
                "-byte process header)");
  return "";
}

std::string check_rounds(const psync_protocol_desc& d) {
  if (d.num_rounds == 0 || d.rounds == nullptr) return fail("the protocol has no rounds");
  for (uint32_t i = 0; i < d.num_rounds; ++i) {
    const psync_round_desc& r = d.rounds[i];
    if (r.name == nullptr) return fail("round ", i, " has no name");
    const std::string what = join("round ", quoted(r.name));
    if ((r.flags & ~kKnownRoundFlags) != 0) return fail(what, " has unknown flags ", hex(r.flags & ~kKnownRoundFlags));
    if ((r.flags & PSYNC_ROUND_WAIT) && (r.flags & PSYNC_ROUND_HAS_TIMEOUT))
      return fail(what, " has both `wait` and a timeout");
    if (r.timeout != nullptr && !(r.flags & PSYNC_ROUND_HAS_TIMEOUT))
      return fail(what, " has a timeout function but not PSYNC_ROUND_HAS_TIMEOUT");
    if ((r.flags & PSYNC_ROUND_HAS_TIMEOUT) && r.timeout == nullptr && r.timeout_us <= 0)
      return fail(what, " has timeout ", r.timeout_us, " us (must be positive)");
    if (r.strict_bound < 0) return fail(what, " has a negative strict bound");
    if (r.sync_k < 0) return fail(what, " has a negative `sync k`");
    if (r.msg_size == nullptr) return fail(what, " has no msg_size");
    if (r.send == nullptr) return fail(what, " has no send");
    if (r.msg_type != nullptr)  // version 7; NULL in a hand-written descriptor
      if (std::string e = check_type_description(r.msg_type); !e.empty()) return fail(what, "'s message type: ", e);
    if (r.flags & PSYNC_ROUND_EVENT) {
      if (r.receive == nullptr || r.finish == nullptr) return fail("event ", what, " lacks receive or finish");
      if (r.update != nullptr) return fail("event ", what, " has an update");
    } else {
      if (r.update == nullptr) return fail("closed ", what, " has no update");
      if (r.receive != nullptr || r.finish != nullptr) return fail("closed ", what, " has receive or finish");
    }
  }
  return "";
}

// The psync_type of a field must agree with its kind: a one-word kind with
// the same type kind (an enum with as many variants), BYTES with a bytes
// type, OTHER with any type no other kind names (composites, set<E>).
bool type_matches_field(const psync_type& t, const psync_field& f) {
  switch (f.kind) {
    case PSYNC_KIND_INT: return t.kind == PSYNC_TYPE_INT;
    case PSYNC_KIND_BOOL: return t.kind == PSYNC_TYPE_BOOL;
    case PSYNC_KIND_PID: return t.kind == PSYNC_TYPE_PID;
    case PSYNC_KIND_PIDSET: return t.kind == PSYNC_TYPE_PIDSET;
    case PSYNC_KIND_ENUM: return t.kind == PSYNC_TYPE_ENUM && t.count == f.num_variants;
    case PSYNC_KIND_BYTES: return t.kind == PSYNC_TYPE_BYTES;
    case PSYNC_KIND_OTHER:
      return t.kind != PSYNC_TYPE_INT && t.kind != PSYNC_TYPE_BOOL && t.kind != PSYNC_TYPE_PID &&
             t.kind != PSYNC_TYPE_PIDSET && t.kind != PSYNC_TYPE_ENUM && t.kind != PSYNC_TYPE_BYTES &&
             t.kind != PSYNC_TYPE_UNIT;
  }
  return false;
}

std::string check_inputs_and_output(const psync_protocol_desc& d) {
  if (d.num_inputs > 0 && d.inputs == nullptr) return fail(d.num_inputs, " inputs but no input table");
  if (d.num_inputs > 0 && d.input_types == nullptr) return fail(d.num_inputs, " inputs but no input_types");
  for (uint32_t i = 0; i < d.num_inputs; ++i) {
    const psync_field& f = d.inputs[i];
    if (f.name == nullptr) return fail("input ", i, " has no name");
    const std::string what = join("input ", quoted(f.name));
    if (!is_scalar_kind(f.kind) && f.kind != PSYNC_KIND_BYTES)
      return fail(what, " has kind ", f.kind, " (must be int, bool, pid, set<pid>, an enum or bytes)");
    if (std::string e = check_variants(f, what); !e.empty()) return e;
    if (std::string e = check_type_description(d.input_types[i]); !e.empty()) return fail(what, ": ", e);
    if (!type_matches_field(*d.input_types[i], f)) return fail(what, ": its type does not match its kind");
    if (std::string e = check_field_offset(f, what); !e.empty()) return e;
    // Inputs are one word or bytes<K>: their sizes do not depend on n.
    const uint64_t end = f.offset + 8 * value_words(*d.input_types[i], 1);
    for (uint32_t j = 0; j < i; ++j) {
      const uint64_t jend = d.inputs[j].offset + 8 * value_words(*d.input_types[j], 1);
      if (d.inputs[j].offset < end && f.offset < jend)
        return fail("inputs ", quoted(d.inputs[j].name), " and ", quoted(f.name), " overlap at offset ", f.offset);
    }
  }
  if (d.num_output_vars > 0 && d.output_vars == nullptr) return fail(d.num_output_vars, " output vars but no table");
  for (uint32_t i = 0; i < d.num_output_vars; ++i) {
    const psync_field& f = d.output_vars[i];
    if (f.name == nullptr) return fail("output var ", i, " has no name");
    const std::string what = join("output var ", quoted(f.name));
    if (!is_scalar_kind(f.kind))
      return fail(what, " has kind ", f.kind, " (must be int, bool, pid, set<pid> or an enum)");
    if (std::string e = check_variants(f, what); !e.empty()) return e;
    if (std::string e = check_field_offset(f, what); !e.empty()) return e;
  }
  if (d.max_pid_constant >= 0 && d.max_pid_constant_site == nullptr)
    return fail("max_pid_constant ", d.max_pid_constant, " has no site");
  const psync_field& o = d.output;
  if (o.kind > PSYNC_KIND_BYTES) return fail("the output has unknown kind ", o.kind);
  if (o.kind == PSYNC_KIND_NONE) return "";
  if (o.name == nullptr) return fail("the output has a kind but no name");
  const std::string what = join("output ", quoted(o.name));
  if (std::string e = check_variants(o, what); !e.empty()) return e;
  if (std::string e = check_type_description(d.output_type); !e.empty()) return fail(what, ": ", e);
  if (!type_matches_field(*d.output_type, o)) return fail(what, ": its type does not match its kind");
  if (std::string e = check_field_offset(o, what); !e.empty()) return e;
  for (uint32_t j = 0; j < d.num_inputs; ++j) {
    const uint64_t jend = d.inputs[j].offset + 8 * value_words(*d.input_types[j], 1);
    if (d.inputs[j].offset <= o.offset && o.offset < jend)
      return fail(what, " overlaps input ", quoted(d.inputs[j].name), " at offset ", o.offset);
  }
  return "";
}

std::string check_consts(const psync_protocol_desc& d) {
  if (d.num_consts == 0) return "";
  if (d.consts == nullptr) return fail(d.num_consts, " consts but no const table");
  if (d.const_defaults == nullptr) return fail(d.num_consts, " consts but no const_defaults");
  for (uint32_t i = 0; i < d.num_consts; ++i) {
    const psync_field& c = d.consts[i];
    if (c.name == nullptr) return fail("const ", i, " has no name");
    const std::string what = join("const ", quoted(c.name));
    if (!is_scalar_kind(c.kind))
      return fail(what, " has kind ", c.kind, " (must be int, bool, pid, set<pid> or an enum)");
    if (std::string e = check_variants(c, what); !e.empty()) return e;
    if (c.offset >= d.num_consts) return fail(what, " has index ", c.offset, " (there are ", d.num_consts, " consts)");
    for (uint32_t j = 0; j < i; ++j)
      if (d.consts[j].offset == c.offset)
        return fail("consts ", quoted(d.consts[j].name), " and ", quoted(c.name), " share index ", c.offset);
  }
  return "";
}

std::string check_specs(const psync_protocol_desc& d) {
  if (d.num_specs > 0 && d.specs == nullptr) return fail(d.num_specs, " specs but no spec table");
  for (uint32_t i = 0; i < d.num_specs; ++i) {
    const psync_spec_desc& s = d.specs[i];
    if (s.name == nullptr) return fail("spec ", i, " has no name");
    // Each kind has exactly the evaluators its drivers call; the others are null.
    bool eval = false, eval2 = false, pred = false;
    const char* kind = "";
    switch (s.kind) {
      case PSYNC_SPEC_INVARIANT: kind = "invariant"; eval = true; break;
      case PSYNC_SPEC_PROPERTY: kind = "property"; eval2 = true; break;
      case PSYNC_SPEC_LIVENESS: kind = "liveness"; eval = pred = true; break;
      case PSYNC_SPEC_ASSUME: kind = "assume"; pred = true; break;
      default: return fail("spec ", quoted(s.name), " has unknown kind ", s.kind);
    }
    const std::string what = join(kind, " ", quoted(s.name));
    if ((s.eval != nullptr) != eval) return fail(what, eval ? " has no eval" : " has an eval it does not use");
    if ((s.eval2 != nullptr) != eval2) return fail(what, eval2 ? " has no eval2" : " has an eval2 it does not use");
    if ((s.pred != nullptr) != pred) return fail(what, pred ? " has no pred" : " has a pred it does not use");
    // Version 5: a shape only where there is a pred, pred_local iff LOCAL,
    // MONOTONE only qualifying a RESIDUAL.
    const uint32_t known = PSYNC_HO_UNIFORM | PSYNC_HO_LOCAL | PSYNC_HO_RESIDUAL | PSYNC_HO_MONOTONE;
    if ((s.ho_shape & ~known) != 0) return fail(what, " has unknown ho_shape bits ", s.ho_shape & ~known);
    if (s.ho_shape != 0 && !pred) return fail(what, " has an ho_shape but no predicate");
    if ((s.pred_local != nullptr) != ((s.ho_shape & PSYNC_HO_LOCAL) != 0))
      return fail(what, s.pred_local ? " has a pred_local without PSYNC_HO_LOCAL" : " has PSYNC_HO_LOCAL but no pred_local");
    if ((s.ho_shape & PSYNC_HO_MONOTONE) && !(s.ho_shape & PSYNC_HO_RESIDUAL))
      return fail(what, " has PSYNC_HO_MONOTONE without PSYNC_HO_RESIDUAL");
    if (s.kind == PSYNC_SPEC_LIVENESS && s.after_rounds == 0)
      return fail(what, " has after_rounds 0 (must be at least 1)");
  }
  return "";
}

}  // namespace

std::string validate_descriptor_shape(const psync_protocol_desc& d) {
  if (d.abi_version != PSYNC_ABI_VERSION)
    return fail("built for ABI version ", d.abi_version, ", this driver implements version ", PSYNC_ABI_VERSION);
  if (d.name == nullptr) return fail("the protocol has no name");
  if ((d.flags & ~uint32_t{PSYNC_PROTO_MODEL}) != 0) return fail("unknown protocol flags ", hex(d.flags));
  if (d.state_size == nullptr) return fail("no state_size");
  if (d.init == nullptr) return fail("no init");
  if (d.phase_words != nullptr && (d.phase_modulus == 0 || (d.phase_flags & ~uint32_t{PSYNC_PHASE_MOD_N}) != 0))
    return fail("phase_words with phase_modulus ", d.phase_modulus, " and phase_flags ", hex(d.phase_flags),
                " (the modulus must be at least 1; the only flag is PSYNC_PHASE_MOD_N)");
  if ((d.stale_words != nullptr || d.stale_flags != 0) && d.phase_words == nullptr)
    return fail("stale_words or stale_flags without phase_words");
  if ((d.stale_flags & ~uint32_t{PSYNC_STALE_WHOLE_BALLOTS}) != 0)
    return fail("unknown stale_flags ", hex(d.stale_flags), " (the only flag is PSYNC_STALE_WHOLE_BALLOTS)");
  for (auto check : {check_rounds, check_inputs_and_output, check_consts, check_specs})
    if (std::string e = check(d); !e.empty()) return e;
  return "";
}

std::string validate_descriptor(const psync_protocol_desc& d, int32_t n) {
  if (std::string e = validate_descriptor_shape(d); !e.empty()) return e;
  if (n < 1 || n > PSYNC_MAX_N) return join("n = ", n, " is outside 1..", PSYNC_MAX_N);
  // Not a malformed descriptor but a protocol that cannot run at this n:
  // it names a process that would not exist (docs/language.md §14.2).
  if (d.max_pid_constant >= n)
    return join(d.name, " names process ", d.max_pid_constant, " (", d.max_pid_constant_site,
                "), which does not exist with n = ", n, "; run it with n > ", d.max_pid_constant);
  const uint64_t ss = d.state_size(n);
  if (ss % 8 != 0 || ss < sizeof(psync_proc_header) || ss > kMaxStateBytes)
    return fail("state_size(", n, ") = ", ss, " (must be a multiple of 8 from ", sizeof(psync_proc_header), " to ",
                kMaxStateBytes, ")");
  auto inside = [&](const psync_field& f, uint64_t words, const char* what) -> std::string {
    if (uint64_t(f.offset) + 8 * words > ss)
      return fail(what, " ", quoted(f.name), " at offset ", f.offset, " lies outside the state (state_size(", n,
                  ") = ", ss, ")");
    return "";
  };
  for (uint32_t i = 0; i < d.num_inputs; ++i)
    if (std::string e = inside(d.inputs[i], value_words(*d.input_types[i], n), "input"); !e.empty()) return e;
  for (uint32_t i = 0; i < d.num_output_vars; ++i)
    if (std::string e = inside(d.output_vars[i], 1, "output var"); !e.empty()) return e;
  if (d.output.kind != PSYNC_KIND_NONE)
    if (std::string e = inside(d.output, value_words(*d.output_type, n), "output"); !e.empty()) return e;
  for (uint32_t i = 0; i < d.num_rounds; ++i) {
    const psync_round_desc& r = d.rounds[i];
    const uint64_t ms = r.msg_size(n);
    if (ms % 8 != 0 || ms > kMaxMessageBytes)
      return fail("round ", quoted(r.name), ": msg_size(", n, ") = ", ms, " (must be a multiple of 8 up to ",
                  kMaxMessageBytes, ")");
    if (r.msg_type != nullptr && 8 * value_words(*r.msg_type, n) != ms)
      return fail("round ", quoted(r.name), ": msg_size(", n, ") = ", ms, " but its message type takes ",
                  8 * value_words(*r.msg_type, n), " bytes");
    if (r.sync_k > n)
      return fail("round ", quoted(r.name), " waits for `sync ", r.sync_k, "` with n = ", n, ": it could never start");
    // Version 8: dead words are whole words of the state past the header.
    if (d.dead_words != nullptr) {
      std::vector<uint32_t> words(d.dead_words(n, i, nullptr, 0));
      if (!words.empty()) d.dead_words(n, i, words.data(), static_cast<uint32_t>(words.size()));
      for (uint32_t off : words)
        if (off % 8 != 0 || off < sizeof(psync_proc_header) || off + 8 > ss)
          return fail("dead_words(", n, ", ", i, ") gave byte ", off, " (must be a whole word past the header, inside "
                      "state_size(", n, ") = ", ss, ")");
    }
    // Version 9: stale words are some of the phase words.
    if (d.stale_words != nullptr) {
      std::vector<uint32_t> phase(d.phase_words(n, nullptr, 0));
      if (!phase.empty()) d.phase_words(n, phase.data(), static_cast<uint32_t>(phase.size()));
      std::vector<uint32_t> words(d.stale_words(n, i, nullptr, 0));
      if (!words.empty()) d.stale_words(n, i, words.data(), static_cast<uint32_t>(words.size()));
      for (uint32_t w : words)
        if (std::find(phase.begin(), phase.end(), w) == phase.end())
          return fail("stale_words(", n, ", ", i, ") gave word ", hex(w), ", which is not one of phase_words(", n, ")");
    }
  }
  return "";
}

}  // namespace psync
