// test_target.cpp: the machine code is generated for (codegen.h,
// TargetSpec): the portable default, `native` with the host's real
// features, --mattr and the errors; and the JIT at every -O level.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "codegen/codegen.h"
#include "frontend_helpers.h"
#include "lockstep.h"

using namespace psync;
using namespace psync::test;

namespace {

TargetSpec resolved(const std::string& triple, const std::string& cpu, const std::string& features) {
  TargetSpec in{triple, cpu, features}, out;
  std::string error;
  INFO(error);
  REQUIRE(resolve_target(in, out, error));
  return out;
}

std::string resolve_error(const std::string& triple, const std::string& cpu, const std::string& features) {
  TargetSpec in{triple, cpu, features}, out;
  std::string error;
  CHECK_FALSE(resolve_target(in, out, error));
  return error;
}

// The "flags" line of /proc/cpuinfo: what the kernel says this CPU can run.
std::set<std::string> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

bool has_item(const std::string& list, const std::string& item) {
  return ("," + list + ",").find("," + item + ",") != std::string::npos;
}

}  // namespace

TEST_CASE("target: the default is the host triple with a portable CPU") {
  TargetSpec t = resolved("", "", "");
  CHECK(is_host_triple(t.triple));
  CHECK(t.features.empty());
#if defined(__x86_64__)
  CHECK(t.cpu == "x86-64-v2");
#elif defined(__aarch64__)
  CHECK(t.cpu == "generic");
#endif
  CHECK(resolved("aarch64-linux-gnu", "", "").cpu == "generic");
  CHECK(resolved("x86_64-linux-gnu", "", "").cpu == "x86-64-v2");
  CHECK(resolved("aarch64-linux-gnu", "", "").triple == "aarch64-unknown-linux-gnu");
}

TEST_CASE("target: native is the host CPU with the features it really has") {
  TargetSpec t = resolved("", "native", "");
  CHECK_FALSE(t.cpu.empty());
  CHECK(t.features == host_cpu_features());
#if defined(__x86_64__) && defined(__linux__)
  // A VM may report a CPU model (znver4) and mask some of its features
  // (AVX-512): each feature must be on exactly when the kernel lists it.
  std::set<std::string> flags = cpuinfo_flags();
  REQUIRE(flags.count("sse2"));
  const std::pair<const char*, const char*> features[] = {
      {"sse4_2", "sse4.2"}, {"popcnt", "popcnt"}, {"avx", "avx"}, {"avx2", "avx2"}, {"avx512f", "avx512f"}};
  for (auto [cpuinfo, llvm] : features) {
    INFO(cpuinfo);
    CHECK(has_item(t.features, std::string(flags.count(cpuinfo) ? "+" : "-") + llvm));
  }
#endif
}

TEST_CASE("target: --mattr comes after the CPU's own features, so it wins") {
  TargetSpec t = resolved("", "native", "-avx2,+popcnt");
  CHECK(t.features.size() > std::string(",-avx2,+popcnt").size());
  CHECK(t.features.substr(t.features.size() - 14) == ",-avx2,+popcnt");
  CHECK(resolved("x86_64-linux-gnu", "skylake", "-avx512f").features == "-avx512f");
}

TEST_CASE("target: unknown triples, CPUs and features are errors") {
  CHECK(resolve_error("pdp11-dec-unix", "", "").find("unknown or unsupported target 'pdp11-dec-unix'") == 0);
  CHECK(resolve_error("x86_64-linux-gnu", "cortex-a72", "").find("unknown CPU 'cortex-a72'") == 0);
  CHECK(resolve_error("aarch64-linux-gnu", "znver4", "").find("unknown CPU 'znver4'") == 0);
  CHECK(resolve_error("x86_64-linux-gnu", "", "avx2").find("bad --mattr item 'avx2'") == 0);
  CHECK(resolve_error("x86_64-linux-gnu", "", "+avx2,+sve").find("bad --mattr item '+sve'") == 0);
  CHECK(resolve_error("aarch64-linux-gnu", "native", "").find("--mcpu native") == 0);
}

TEST_CASE("jit: a protocol with vectorisable loops computes the same at -O0..-O3") {
  // Sums and counts over a mailbox of 8 ints, and an array indexed by pid:
  // loops that the optimiser vectorises for the host's vector width.
  const std::string text = R"(protocol VectorLoops
input init: int
output decision: int
var votes: [int; n] = [0; n]
round exchange {
  send init to all
  update(mbox) {
    for p in mbox.senders { votes[p] = votes[p] + mbox[p] * 2 }
    var t: int = 0
    for p in mbox.senders { t = t + votes[p] }
    decide(t + mbox.sum(m => m * m) + mbox.count(m => m > init))
  }
}
)";
  std::vector<std::vector<int64_t>> inputs;
  for (int64_t k = 1; k <= 8; ++k) inputs.push_back({k});
  // For process 2 (init 3): 2 * 36 + 204 + 5 (inputs 4..8 exceed 3).
  for (int opt = 0; opt <= 3; ++opt) {
    INFO("-O" << opt);
    auto front = check_text(text);
    INFO(front->diags.text);
    REQUIRE(front->ok);
    std::string error;
    auto jit = jit_compile(*front->c->program, front->c->sources, opt, error);
    INFO(error);
    REQUIRE(jit);
    Lockstep ls(*jit->descriptor(), 8, inputs);
    ls.step();
    REQUIRE(ls.decided(2));
    CHECK(ls.decision(2) == 2 * 36 + 204 + 5);
  }
}
