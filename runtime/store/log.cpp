// log.cpp: the --data-dir log: records, group commit, recovery with torn-tail
// truncation, compaction (see log.h).
#include "store/log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace psync::store {

namespace fs = std::filesystem;

namespace {

enum RecordType : uint8_t { kHeader = 1, kIncarnation = 2, kRound = 3, kDecision = 4, kFinished = 5, kFinishedBelow = 6 };
constexpr char kMagic[8] = {'P', 'S', 'Y', 'N', 'C', 'L', 'O', 'G'};
constexpr uint32_t kLogVersion = 1;
constexpr uint32_t kMaxRecord = 16u << 20;  // far above any state: a length beyond it is corruption

// CRC-32C, reflected polynomial 0x82F63B78, one table (Sarwate).
struct CrcTable {
  uint32_t t[256];
  CrcTable() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};

uint32_t crc32c_table(const uint8_t* p, size_t n, uint32_t crc) {
  static const CrcTable table;
  for (size_t i = 0; i < n; ++i) crc = table.t[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = uint32_t(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p++);
    --n;
  }
  return c32;
}
#endif

template <typename T>
void put(std::vector<std::byte>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

void put_bytes(std::vector<std::byte>& out, const void* p, size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  out.insert(out.end(), b, b + n);
}

// Reads fixed-width fields from a record body; any shortfall marks it bad.
struct Reader {
  std::span<const std::byte> b;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (b.size() - at < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, b.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::span<const std::byte> rest() {
    auto r = b.subspan(at);
    at = b.size();
    return r;
  }
  bool done() const { return ok && at == b.size(); }
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string errno_text() { return std::strerror(errno); }

void fsync_dir(const std::string& dir) {
  const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

void write_all(int fd, const std::byte* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("cannot write the data dir log '" + path + "': " + errno_text());
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

uint32_t crc32c(std::span<const std::byte> bytes, uint32_t crc) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  crc = ~crc;
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  crc = hw ? crc32c_sse42(p, bytes.size(), crc) : crc32c_table(p, bytes.size(), crc);
#else
  crc = crc32c_table(p, bytes.size(), crc);
#endif
  return ~crc;
}

std::vector<std::pair<const char*, uint64_t>> counter_list(const Counters& c) {
  std::vector<std::pair<const char*, uint64_t>> out;
#define PSYNC_X(name) out.emplace_back(#name, c.name);
  PSYNC_STORE_COUNTERS(PSYNC_X)
#undef PSYNC_X
  return out;
}

ParseResult parse_log(std::span<const std::byte> image, const Identity& id) {
  ParseResult r;
  Recovered& rec = r.recovered;
  size_t at = 0;
  bool first = true;
  while (image.size() - at >= 8) {
    uint32_t len = 0, crc = 0;
    std::memcpy(&len, image.data() + at, 4);
    std::memcpy(&crc, image.data() + at + 4, 4);
    if (len == 0 || len > kMaxRecord || image.size() - at - 8 < len) break;
    const auto body = image.subspan(at + 8, len);
    if (crc32c(body) != crc) break;
    Reader rd{body};
    const uint8_t type = rd.get<uint8_t>();
    if (first && type != kHeader) break;
    bool good = true;
    switch (type) {
      case kHeader: {
        char magic[8];
        for (char& c : magic) c = char(rd.get<uint8_t>());
        const uint32_t version = rd.get<uint32_t>();
        const uint64_t fp = rd.get<uint64_t>();
        const uint32_t n = rd.get<uint32_t>(), who = rd.get<uint32_t>();
        good = first && rd.done() && std::memcmp(magic, kMagic, 8) == 0;
        if (good && (version != kLogVersion || fp != id.fingerprint || int32_t(n) != id.n || int32_t(who) != id.id)) {
          r.identity_ok = false;
          r.error = version != kLogVersion ? "log format version " + std::to_string(version) + ", expected " +
                                                 std::to_string(kLogVersion)
                    : fp != id.fingerprint ? "it belongs to another protocol, or to this one built by another psyncc (fingerprint " +
                                                 std::to_string(fp) + ", this binary's " + std::to_string(id.fingerprint) + ")"
                    : int32_t(n) != id.n   ? "it belongs to a cluster of " + std::to_string(n) + " processes"
                                           : "it belongs to replica " + std::to_string(who);
          return r;
        }
        break;
      }
      case kIncarnation: {
        const uint64_t inc = rd.get<uint64_t>();
        good = rd.done();
        if (good) rec.incarnation = std::max(rec.incarnation, inc);
        break;
      }
      case kRound: {
        const uint64_t inst = rd.get<uint64_t>();
        RoundState s;
        s.round = rd.get<int64_t>();
        s.rng = rd.get<uint64_t>();
        s.decided_round = rd.get<int64_t>();
        const auto st = rd.rest();
        good = rd.ok;
        if (good && inst >= rec.finished_below && !rec.finished.count(inst)) {
          s.state.assign(st.begin(), st.end());
          rec.rounds[inst] = std::move(s);
        }
        break;
      }
      case kDecision: {
        const uint64_t inst = rd.get<uint64_t>();
        Decision d;
        d.round = rd.get<int64_t>();
        d.learned = rd.get<uint8_t>() != 0;
        const auto v = rd.rest();
        good = rd.ok;
        if (good && !rec.decisions.count(inst)) {  // the first decision stands
          d.value.assign(reinterpret_cast<const char*>(v.data()), v.size());
          rec.decisions[inst] = std::move(d);
        }
        break;
      }
      case kFinished: {
        const uint64_t inst = rd.get<uint64_t>();
        const bool decided = rd.get<uint8_t>() != 0;
        good = rd.done();
        if (good && inst >= rec.finished_below) {
          rec.finished[inst] = decided;
          rec.rounds.erase(inst);
        }
        break;
      }
      case kFinishedBelow: {
        const uint64_t below = rd.get<uint64_t>();
        good = rd.done();
        if (good && below > rec.finished_below) {
          rec.finished_below = below;
          rec.finished.erase(rec.finished.begin(), rec.finished.lower_bound(below));
          rec.rounds.erase(rec.rounds.begin(), rec.rounds.lower_bound(below));
        }
        break;
      }
      default: good = false;
    }
    if (!good) break;  // a record that checks out but makes no sense: treat as corruption
    first = false;
    at += 8 + len;
    ++rec.records;
  }
  r.valid_bytes = at;
  rec.bytes = at;
  return r;
}

Log::Log(std::string dir, int fd, int lock_fd, const Identity& id)
    : dir_(std::move(dir)), fd_(fd), lock_fd_(lock_fd), id_(id) {}

Log::~Log() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::unique_ptr<Log> Log::open(const std::string& dir, const Identity& id, Recovered& out) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create the data dir '" + dir + "': " + ec.message());
  const std::string lock_path = dir + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) fail("cannot open '" + lock_path + "': " + errno_text());
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string why = errno == EWOULDBLOCK ? "another process is using it" : errno_text();
    ::close(lock_fd);
    fail("data dir '" + dir + "' is locked: " + why);
  }
  const std::string path = dir + "/log";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    ::close(lock_fd);
    fail("cannot open the data dir log '" + path + "': " + errno_text());
  }
  std::unique_ptr<Log> log(new Log(dir, fd, lock_fd, id));
  struct stat st{};
  if (::fstat(fd, &st) != 0) fail("cannot read '" + path + "': " + errno_text());
  std::vector<std::byte> image(size_t(st.st_size));
  size_t got = 0;
  while (got < image.size()) {
    const ssize_t r = ::pread(fd, image.data() + got, image.size() - got, off_t(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail("cannot read the data dir log '" + path + "': " + errno_text());
    got += size_t(r);
  }
  ParseResult parsed = parse_log(image, id);
  if (!parsed.identity_ok) fail("data dir '" + dir + "' cannot be used here: " + parsed.error);
  out = std::move(parsed.recovered);
  if (parsed.valid_bytes < image.size()) {
    // A torn tail (the process died in the middle of a write) or a corrupt
    // record: everything from it on is cut off. Commits are all-or-nothing
    // from the sender's view, since nothing left before its fdatasync.
    out.truncated_bytes = image.size() - parsed.valid_bytes;
    log->counters_.log_truncated_bytes = out.truncated_bytes;
    if (::ftruncate(fd, off_t(parsed.valid_bytes)) != 0 || ::fsync(fd) != 0)
      fail("cannot truncate the torn tail of '" + path + "': " + errno_text());
  }
  log->file_bytes_ = parsed.valid_bytes;
  if (::lseek(fd, off_t(parsed.valid_bytes), SEEK_SET) < 0) fail("cannot seek in '" + path + "': " + errno_text());
  if (parsed.valid_bytes == 0) {
    log->append_header();
    log->commit();
    fsync_dir(dir);
  }
  return log;
}

void Log::append_record(std::span<const std::byte> body) {
  const uint32_t len = uint32_t(body.size());
  const uint32_t crc = crc32c(body);
  put(buffer_, len);
  put(buffer_, crc);
  buffer_.insert(buffer_.end(), body.begin(), body.end());
  ++counters_.log_records;
  counters_.log_bytes += 8 + body.size();
}

void Log::append_header() {
  body_.clear();
  put<uint8_t>(body_, kHeader);
  put_bytes(body_, kMagic, 8);
  put<uint32_t>(body_, kLogVersion);
  put<uint64_t>(body_, id_.fingerprint);
  put<uint32_t>(body_, uint32_t(id_.n));
  put<uint32_t>(body_, uint32_t(id_.id));
  append_record(body_);
}

void Log::append_incarnation(uint64_t incarnation) {
  body_.clear();
  put<uint8_t>(body_, kIncarnation);
  put<uint64_t>(body_, incarnation);
  append_record(body_);
}

void Log::append_round(uint64_t instance, int64_t round, uint64_t rng, int64_t decided_round,
                       std::span<const std::byte> state) {
  body_.clear();
  put<uint8_t>(body_, kRound);
  put<uint64_t>(body_, instance);
  put<int64_t>(body_, round);
  put<uint64_t>(body_, rng);
  put<int64_t>(body_, decided_round);
  body_.insert(body_.end(), state.begin(), state.end());
  append_record(body_);
}

void Log::append_decision(uint64_t instance, int64_t round, std::string_view value, bool learned) {
  body_.clear();
  put<uint8_t>(body_, kDecision);
  put<uint64_t>(body_, instance);
  put<int64_t>(body_, round);
  put<uint8_t>(body_, learned ? 1 : 0);
  put_bytes(body_, value.data(), value.size());
  append_record(body_);
}

void Log::append_finished(uint64_t instance, bool decided) {
  body_.clear();
  put<uint8_t>(body_, kFinished);
  put<uint64_t>(body_, instance);
  put<uint8_t>(body_, decided ? 1 : 0);
  append_record(body_);
}

void Log::commit() {
  if (buffer_.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  write_all(fd_, buffer_.data(), buffer_.size(), dir_ + "/log");
  if (::fdatasync(fd_) != 0) fail("cannot sync the data dir log '" + dir_ + "/log': " + errno_text());
  file_bytes_ += buffer_.size();
  buffer_.clear();
  ++counters_.log_commits;
  counters_.log_commit_us += uint64_t(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}

void Log::compact(const Snapshot& s) {
  commit();
  const std::string path = dir_ + "/log", fresh = dir_ + "/log.new";
  const int fd = ::open(fresh.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create '" + fresh + "': " + errno_text());
  append_header();
  append_incarnation(s.incarnation);
  body_.clear();
  put<uint8_t>(body_, kFinishedBelow);
  put<uint64_t>(body_, s.finished_below);
  append_record(body_);
  for (const auto& [inst, decided] : s.finished) append_finished(inst, decided);
  for (const auto& [inst, d] : s.decisions) append_decision(inst, d->round, d->value, d->learned);
  for (const auto& [inst, r] : s.rounds) append_round(inst, r->round, r->rng, r->decided_round, r->state);
  write_all(fd, buffer_.data(), buffer_.size(), fresh);
  if (::fsync(fd) != 0 || ::rename(fresh.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    fail("cannot compact the data dir log '" + path + "': " + why);
  }
  fsync_dir(dir_);
  ::close(fd_);
  fd_ = fd;
  ::lseek(fd_, 0, SEEK_END);
  file_bytes_ = buffer_.size();
  buffer_.clear();
  ++counters_.log_compactions;
}

}  // namespace psync::store
