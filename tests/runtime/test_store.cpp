// test_store.cpp: the --data-dir log (store/log.h) on a real directory:
// records survive a reopen, a torn or corrupt tail is cut off, another
// replica's log is refused, a second process is locked out, compaction keeps
// what recovery needs, and CRC-32C matches its published check value.
#include "store/log.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

using namespace psync::store;
namespace fs = std::filesystem;

namespace {

const Identity kId{0xABCDEF, 3, 1};

struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "psync-store-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

std::vector<std::byte> state_bytes(uint8_t seed, size_t n = 24) {
  std::vector<std::byte> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = std::byte(uint8_t(seed + i));
  return s;
}

// Writes a small history: incarnation 7, instance 0 decided 42 and retired,
// instance 1 at round 3.
void write_history(const std::string& dir) {
  Recovered r;
  auto log = Log::open(dir, kId, r);
  CHECK(r.incarnation == 0);
  log->append_incarnation(7);
  log->append_round(0, 0, 11, -1, state_bytes(1));
  log->append_decision(0, 2, "42", false);
  log->append_finished(0, true);
  log->append_round(1, 3, 99, -1, state_bytes(5));
  log->commit();
  CHECK(log->counters().log_commits == 2);  // the header at creation, then this group
}

}  // namespace

TEST_CASE("CRC-32C matches the published check value") {
  const std::string text = "123456789";
  CHECK(crc32c(std::as_bytes(std::span(text.data(), text.size()))) == 0xE3069283u);
}

TEST_CASE("the log: committed records come back after a reopen") {
  TempDir d;
  write_history(d.str());
  Recovered r;
  auto log = Log::open(d.str(), kId, r);
  CHECK(r.incarnation == 7);
  CHECK(r.truncated_bytes == 0);
  REQUIRE(r.decisions.count(0) == 1);
  CHECK(r.decisions[0].value == "42");
  CHECK(r.decisions[0].round == 2);
  CHECK(r.finished.at(0) == true);
  CHECK(r.rounds.count(0) == 0);  // retired: nothing to resume
  REQUIRE(r.rounds.count(1) == 1);
  CHECK(r.rounds[1].round == 3);
  CHECK(r.rounds[1].rng == 99);
  CHECK(r.rounds[1].state == state_bytes(5));
}

TEST_CASE("the log: uncommitted records are not on disk") {
  TempDir d;
  {
    Recovered r;
    auto log = Log::open(d.str(), kId, r);
    log->append_decision(3, 1, "7", false);
    CHECK(log->has_pending());
    // destroyed without commit: as if the process died before the fsync
  }
  Recovered r;
  auto log = Log::open(d.str(), kId, r);
  CHECK(r.decisions.empty());
}

TEST_CASE("the log: a torn tail is detected and truncated, at every cut point") {
  TempDir d;
  write_history(d.str());
  const fs::path file = d.path / "log";
  const auto full = fs::file_size(file);
  std::vector<char> image(full);
  std::ifstream(file, std::ios::binary).read(image.data(), std::streamsize(full));
  // Where each record ends: parse the whole image once.
  const auto whole = parse_log(std::as_bytes(std::span(image.data(), image.size())), kId);
  REQUIRE(whole.valid_bytes == full);
  int cuts = 0;
  for (size_t cut = 1; cut < full; ++cut) {
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(image.data(), std::streamsize(cut));
    Recovered r;
    auto log = Log::open(d.str(), kId, r);
    // Whatever survives is a prefix of records; the file is cut back to it.
    CHECK(r.bytes + r.truncated_bytes == cut);
    if (r.bytes > 0) CHECK(fs::file_size(file) == r.bytes);  // (an empty log gets a fresh header)
    if (!r.decisions.empty()) CHECK(r.decisions.at(0).value == "42");
    if (r.rounds.count(1)) CHECK(r.rounds.at(1).state == state_bytes(5));
    // And the log still takes new records after the cut.
    log->append_incarnation(100 + cut);
    log->commit();
    log.reset();
    Recovered again;
    auto reopened = Log::open(d.str(), kId, again);
    CHECK(again.truncated_bytes == 0);
    CHECK(again.incarnation == 100 + cut);
    ++cuts;
  }
  CHECK(cuts == int(full - 1));
}

TEST_CASE("the log: a flipped bit stops recovery at that record") {
  TempDir d;
  write_history(d.str());
  const fs::path file = d.path / "log";
  const auto full = fs::file_size(file);
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<char> image(full);
    {
      std::ifstream in(file, std::ios::binary);
      in.read(image.data(), std::streamsize(full));
    }
    std::vector<char> flipped = image;
    const size_t at = rng() % full;
    flipped[at] = char(flipped[at] ^ char(1 << (rng() % 8)));
    const auto pr = parse_log(std::as_bytes(std::span(flipped.data(), flipped.size())), kId);
    // Never past the flipped byte, never a wrong value.
    CHECK(pr.valid_bytes <= at);
    for (const auto& [inst, dec] : pr.recovered.decisions) CHECK(dec.value == "42");
  }
}

TEST_CASE("the log: another replica's, protocol's or cluster's data dir is refused with one line") {
  TempDir d;
  write_history(d.str());
  Recovered r;
  CHECK_THROWS_WITH_AS(Log::open(d.str(), {kId.fingerprint, 3, 2}, r), doctest::Contains("replica 1"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Log::open(d.str(), {kId.fingerprint + 1, 3, 1}, r), doctest::Contains("another protocol"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Log::open(d.str(), {kId.fingerprint, 5, 1}, r), doctest::Contains("cluster of 3"),
                       std::runtime_error);
}

TEST_CASE("the log: a second process (or a second open) is locked out") {
  TempDir d;
  Recovered r;
  auto first = Log::open(d.str(), kId, r);
  Recovered r2;
  CHECK_THROWS_WITH_AS(Log::open(d.str(), kId, r2), doctest::Contains("locked"), std::runtime_error);
  first.reset();
  CHECK_NOTHROW(Log::open(d.str(), kId, r2));
}

TEST_CASE("the log: compaction keeps what recovery needs and drops the rest") {
  TempDir d;
  Recovered r;
  auto log = Log::open(d.str(), kId, r);
  log->append_incarnation(5);
  for (uint64_t i = 0; i < 100; ++i) {
    log->append_round(i, 0, i, -1, state_bytes(uint8_t(i), 200));
    log->append_decision(i, 1, std::to_string(i * 3), false);
    log->append_finished(i, true);
  }
  log->append_round(100, 4, 1234, -1, state_bytes(9));
  log->commit();
  const uint64_t before = log->file_bytes();
  Decision kept{1, true, "297"};
  RoundState running{4, 1234, -1, state_bytes(9)};
  Log::Snapshot snap;
  snap.incarnation = 5;
  snap.finished_below = 99;
  snap.finished = {{99, true}};
  snap.decisions = {{99, &kept}};
  snap.rounds = {{100, &running}};
  log->compact(snap);
  CHECK(log->file_bytes() < before / 10);
  CHECK(log->counters().log_compactions == 1);
  log->append_decision(100, 6, "1", false);
  log->commit();
  log.reset();
  Recovered after;
  auto reopened = Log::open(d.str(), kId, after);
  CHECK(after.incarnation == 5);
  CHECK(after.finished_below == 99);
  CHECK(after.finished.size() == 1);
  CHECK(after.decisions.at(99).value == "297");
  CHECK(after.decisions.at(99).learned);
  CHECK(after.decisions.at(100).value == "1");
  CHECK(after.rounds.at(100).rng == 1234);
  CHECK(!fs::exists(d.path / "log.new"));
}
