// auth.h: the cryptography of authenticated channels, on libsodium. Each
// replica has an X25519 key pair (key files written by `psyncc keygen`; the
// cluster file lists every public key). Two replicas derive a pair of
// directional keys from their key pairs with crypto_kx (X25519 + BLAKE2b),
// so that only the two of them can MAC the packets between them: no member
// can forge another member's messages (the "authenticated channels" of the
// Byzantine HO algorithms). A packet's MAC is the Poly1305 tag of
// XChaCha20-Poly1305 over the whole packet as associated data, with the
// sender's incarnation, the receiver's incarnation and the packet counter as
// the 24-byte nonce (unique per key, since counters only grow within an
// incarnation). Replays are caught by ReplayWindow (net/session.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace psync::net {

inline constexpr size_t kKeyBytes = 32;
using Key = std::array<uint8_t, kKeyBytes>;

struct KeyPair {
  Key public_key{};
  Key secret_key{};
};

// A fresh key pair from the system's random source.
KeyPair generate_key_pair();
// The public key that belongs to a secret key.
Key public_key_of(const Key& secret_key);

// Lower-case hex, 64 digits for a key.
std::string to_hex(std::span<const uint8_t> bytes);
// Exactly 64 hex digits (either case); nullopt otherwise.
std::optional<Key> key_from_hex(const std::string& text);

// Key files are small TOML files:
//   secret: `secret_key = "<64 hex>"` (written with mode 0600)
//   public: `public_key = "<64 hex>"`
// Both carry a comment naming the replica. Writing refuses to overwrite an
// existing file. Errors are one line (std::runtime_error) naming the file.
void write_secret_key_file(const std::string& path, const KeyPair& pair, int32_t id);
void write_public_key_file(const std::string& path, const Key& public_key, int32_t id);
// Reads a secret key file and returns the pair (the public half derived).
KeyPair read_secret_key_file(const std::string& path);

// The two directional keys between `me` and `peer`: `tx` MACs what me sends
// to peer, `rx` verifies what peer sends to me. The lower id plays crypto_kx's
// client. False if the peer's public key is unusable (a low-order point).
struct ChannelKeys {
  Key tx{};
  Key rx{};
};
bool derive_channel_keys(int32_t me, const KeyPair& mine, int32_t peer, const Key& peer_public, ChannelKeys& out);

// XChaCha20-Poly1305 under `key` with nonce N is ChaCha20-Poly1305 (IETF)
// under the subkey HChaCha20(key, N[0..16)) with the nonce 0^4 || N[16..24)
// (draft-irtf-cfrg-xchacha-03, §2.3). A packet's N[0..16) is the two
// incarnations, the same for every packet of a channel between them, so a
// MacCache keeps the last subkey it made for one channel key and direction:
// a packet then costs the ChaCha20 block and the Poly1305 pass, not an
// HChaCha20 too. The tags are the same. One cache per channel key and
// direction (the session keeps one for each peer's tx and rx).
class MacCache {
 public:
  // The subkey for `key` and these 16 nonce bytes, made anew only when they
  // differ from the last call's. `key` must be the same in every call.
  const uint8_t* subkey(const Key& key, const std::byte* nonce_head);

 private:
  std::array<std::byte, 16> head_{};
  Key subkey_{};
  bool valid_ = false;
};

// The MAC of `packet` (every byte before its last kMacSize), written into
// those last kMacSize bytes; the nonce is packet[13..37) (wire.h).
void mac_packet(const Key& key, std::span<std::byte> packet, MacCache& cache);
// Whether the last kMacSize bytes of `packet` are its MAC under `key`.
bool verify_packet_mac(const Key& key, std::span<const std::byte> packet, MacCache& cache);

}  // namespace psync::net
