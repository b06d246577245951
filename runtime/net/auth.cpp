// auth.cpp: key pairs, key files, pairwise channel keys and packet MACs on
// libsodium (see auth.h for the construction).
#include "net/auth.h"

#include "net/wire.h"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace psync::net {

namespace {

static_assert(kKeyBytes == crypto_kx_PUBLICKEYBYTES && kKeyBytes == crypto_kx_SECRETKEYBYTES);
static_assert(kKeyBytes == crypto_kx_SESSIONKEYBYTES);
static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kMacSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);

void ensure_sodium() {
  // Idempotent and thread-safe; fails only without a random source.
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot initialise (no random source?)");
}

// Writes `text` to a new file with `mode`, refusing to replace one.
void write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot create key file '" + path + "': " + std::strerror(errno) +
                             (errno == EEXIST ? " (refusing to overwrite a key)" : ""));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("cannot write key file '" + path + "': " + why);
    }
    done += size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw std::runtime_error("cannot write key file '" + path + "': " + std::strerror(errno));
}

// The value of `name = "..."` in a key file: the only non-comment line.
std::string read_key_line(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read key file '" + path + "': " + std::strerror(errno));
  std::string line, value;
  int line_no = 0;
  bool found = false;
  while (std::getline(in, line)) {
    ++line_no;
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const size_t eq = line.find('=');
    std::string key = line.substr(start, eq == std::string::npos ? std::string::npos : eq - start);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (eq == std::string::npos || key != name)
      throw std::runtime_error(where + ": expected " + name + " = \"<64 hex digits>\"");
    if (found) throw std::runtime_error(where + ": " + name + " appears twice");
    const size_t q1 = line.find('"', eq);
    const size_t q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
    if (q2 == std::string::npos) throw std::runtime_error(where + ": " + name + " must be a quoted hex string");
    const size_t rest = line.find_first_not_of(" \t\r", q2 + 1);
    if (rest != std::string::npos && line[rest] != '#')
      throw std::runtime_error(where + ": unexpected text after the key");
    value = line.substr(q1 + 1, q2 - q1 - 1);
    found = true;
  }
  if (!found) throw std::runtime_error("key file '" + path + "' has no " + name);
  return value;
}

}  // namespace

KeyPair generate_key_pair() {
  ensure_sodium();
  KeyPair k;
  crypto_kx_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

Key public_key_of(const Key& secret_key) {
  ensure_sodium();
  Key pk{};
  crypto_scalarmult_base(pk.data(), secret_key.data());
  return pk;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::optional<Key> key_from_hex(const std::string& text) {
  if (text.size() != 2 * kKeyBytes) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Key k{};
  for (size_t i = 0; i < kKeyBytes; ++i) {
    const int hi = digit(text[2 * i]), lo = digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k[i] = uint8_t(hi * 16 + lo);
  }
  return k;
}

void write_secret_key_file(const std::string& path, const KeyPair& pair, int32_t id) {
  std::ostringstream text;
  text << "# psync secret key of replica " << id << ": keep it private (node --key FILE)\n"
       << "secret_key = \"" << to_hex(pair.secret_key) << "\"\n";
  write_new_file(path, text.str(), 0600);
}

void write_public_key_file(const std::string& path, const Key& public_key, int32_t id) {
  std::ostringstream text;
  text << "# psync public key of replica " << id << " (the cluster file's public_key)\n"
       << "public_key = \"" << to_hex(public_key) << "\"\n";
  write_new_file(path, text.str(), 0644);
}

KeyPair read_secret_key_file(const std::string& path) {
  const std::string hex = read_key_line(path, "secret_key");
  auto sk = key_from_hex(hex);
  if (!sk) throw std::runtime_error("key file '" + path + "': secret_key must be 64 hex digits");
  KeyPair k;
  k.secret_key = *sk;
  k.public_key = public_key_of(*sk);
  return k;
}

bool derive_channel_keys(int32_t me, const KeyPair& mine, int32_t peer, const Key& peer_public, ChannelKeys& out) {
  ensure_sodium();
  // crypto_kx gives the client (rx, tx) and the server (rx, tx) such that the
  // client's tx is the server's rx: one key per direction.
  const int r = me < peer ? crypto_kx_client_session_keys(out.rx.data(), out.tx.data(), mine.public_key.data(),
                                                          mine.secret_key.data(), peer_public.data())
                          : crypto_kx_server_session_keys(out.rx.data(), out.tx.data(), mine.public_key.data(),
                                                          mine.secret_key.data(), peer_public.data());
  return r == 0;
}

static_assert(crypto_core_hchacha20_INPUTBYTES == 16 && crypto_core_hchacha20_OUTPUTBYTES == kKeyBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12 && kNonceSize == 16 + 8);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kMacSize);

const uint8_t* MacCache::subkey(const Key& key, const std::byte* nonce_head) {
  if (!valid_ || std::memcmp(head_.data(), nonce_head, head_.size()) != 0) {
    std::memcpy(head_.data(), nonce_head, head_.size());
    crypto_core_hchacha20(subkey_.data(), reinterpret_cast<const unsigned char*>(nonce_head), key.data(), nullptr);
    valid_ = true;
  }
  return subkey_.data();
}

namespace {

// The IETF nonce under the subkey: four zero bytes, then the last 8 bytes
// of the packet's 24-byte nonce (its counter).
std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> ietf_nonce(const std::byte* nonce) {
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> n{};
  std::memcpy(n.data() + 4, nonce + 16, 8);
  return n;
}

}  // namespace

void mac_packet(const Key& key, std::span<std::byte> packet, MacCache& cache) {
  const size_t ad = packet.size() - kMacSize;
  const std::byte* nonce = packet.data() + kIncarnationOffset;
  const auto n = ietf_nonce(nonce);
  unsigned long long maclen = 0;
  unsigned char no_text[1] = {0};  // nothing is encrypted; the API wants a pointer
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      no_text, reinterpret_cast<unsigned char*>(packet.data() + ad), &maclen, nullptr, 0,
      reinterpret_cast<const unsigned char*>(packet.data()), ad, nullptr, n.data(), cache.subkey(key, nonce));
}

bool verify_packet_mac(const Key& key, std::span<const std::byte> packet, MacCache& cache) {
  if (packet.size() < kPacketOverhead) return false;
  const size_t ad = packet.size() - kMacSize;
  const std::byte* nonce = packet.data() + kIncarnationOffset;
  const auto n = ietf_nonce(nonce);
  unsigned char no_text[1] = {0};
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
             no_text, nullptr, no_text, 0, reinterpret_cast<const unsigned char*>(packet.data() + ad),
             reinterpret_cast<const unsigned char*>(packet.data()), ad, n.data(), cache.subkey(key, nonce)) == 0;
}

}  // namespace psync::net
